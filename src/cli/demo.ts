/**
 * `bursar demo`: a newcomer's first five minutes. Seeds a folder with the demo organisation and
 * a month of traffic (src/demo/seed.ts), then serves it like `bursar start`, printing what to
 * open and a sign-in token for each role. Run again on the same folder, it serves what is there.
 */
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig } from '../config/load.js';
import { demoDirProblem, demoEnv, seedDemo, type DemoSummary } from '../demo/seed.js';
import { CliError } from './client.js';
import { serve } from './serve.js';

const SIGN_IN_FILE = 'sign-in.txt';

/** What to open and how to sign in, with this URL (kept in the folder, since tokens are shown only once). */
function signInText(s: DemoSummary, dir: string): string {
  const width = Math.max(...s.tokens.map((t) => t.label.length));
  const admin = s.tokens.find((t) => t.role === 'admin')!;
  const calls = s.calls.toLocaleString('en-GB');
  return (
    `Acme Retail: six departments, a month of AI traffic (${calls} calls, ${s.refused} refused, ${s.outcomes.toLocaleString('en-GB')} outcomes), a spend spike on ${s.spikeDay}.\n\n` +
    `Sign in (dashboard or CLI) as:\n` +
    s.tokens.map((t) => `  ${t.role.padEnd(8)} ${t.label.padEnd(width)}  ${t.secret}\n`).join('') +
    `\nFrom the CLI, in another terminal:\n` +
    `  export BURSAR_URL={url} BURSAR_TOKEN=${admin.secret}\n` +
    `  ./bursar usage --group-by department,day        # spend by department, day by day\n` +
    `  ./bursar budgets list                           # near thresholds, one run out, an override waiting\n` +
    `  ./bursar anomalies && ./bursar events           # the spike, thresholds crossed, refusals\n` +
    `  ./bursar unit-economics --group-by workflow     # cost per accepted output\n` +
    `  ./bursar savings                                # what downgrades and fallbacks saved\n` +
    `  ./bursar allocations runs                       # last month's chargeback (${s.allocationRun})\n` +
    `  ./bursar audit list\n\n` +
    `bursar.yaml: ${relative(process.cwd(), s.configPath) || s.configPath}; data: ${relative(process.cwd(), s.dataDir) || s.dataDir}. ` +
    `Stop with Ctrl-C; \`bursar demo --dir ${dir}\` serves it again.\n`
  );
}

export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .description('fill a demo organisation with a month of AI traffic, then serve it (docs/demo.md)')
    .option('--dir <dir>', 'folder for the demo bursar.yaml and data', 'demo')
    .option('--port <port>', 'port to serve on (env BURSAR_PORT; default 4000)')
    .option('--seed-only', 'seed the folder and stop, without serving it')
    .action(async (o: { dir: string; port?: string; seedOnly?: boolean }) => {
      const dir = resolve(o.dir);
      const signIn = join(dir, SIGN_IN_FILE);
      const dataDir = join(dir, 'data');
      if (!existsSync(signIn)) {
        const problem = demoDirProblem(dir);
        if (problem) throw new CliError(problem);
        const tty = process.stderr.isTTY;
        const s = await seedDemo({
          dir,
          progress: (done, of) => process.stderr.write(tty ? `\rseeding: day ${done} of ${of}` : done === of ? `seeded ${of} days\n` : ''),
        });
        if (tty) process.stderr.write('\n');
        process.stderr.write(`seeded in ${(s.ms / 1000).toFixed(1)} s\n`);
        writeFileSync(signIn, signInText(s, o.dir), { mode: 0o600 });
        chmodSync(signIn, 0o600);
      }
      const text = readFileSync(signIn, 'utf8');
      if (o.seedOnly) {
        process.stderr.write(`\n${text.replaceAll('{url}', 'http://127.0.0.1:4000')}`);
        return;
      }
      const config = loadConfig({ configPath: join(dir, 'bursar.yaml'), env: demoEnv(dataDir, o.port ?? process.env.BURSAR_PORT ?? '4000') });
      await serve(config, (b) => `\nThe Bursar demo is listening on ${b.url}: open ${b.url}/ for the dashboard.\n${text.replaceAll('{url}', b.url)}\n`);
    });
}
