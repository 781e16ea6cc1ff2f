#!/usr/bin/env node
/**
 * The `bursar` command: `start` runs the server; everything else talks to a running Bursar
 * through the admin API (tables in the terminal, --json for scripts).
 */
import { setFlagsFromString } from 'node:v8';
import { Command } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { clientSettings } from '../config/client.js';
import { AdminClient, CliError, type CliContext } from './client.js';
import { registerAccessCommands } from './access.js';
import { registerReportCommands } from './reports.js';
import { registerRoutingCommands } from './routing.js';
import { registerBudgetCommands } from './budgets.js';
import { registerBillingCommands } from './billing.js';
import { registerPlanningCommands } from './planning.js';
import { registerDatabaseCommands } from './database.js';

const program = new Command('bursar')
  .description('Bursar: the AI spend control plane')
  .option('--url <url>', 'Bursar to talk to (env BURSAR_URL; default http://127.0.0.1:4000)')
  .option('--token <token>', 'admin token (env BURSAR_TOKEN; default: data/admin-token)')
  .option('--json', 'print JSON instead of tables')
  .showHelpAfterError();

const ctx: CliContext = {
  client: () => new AdminClient(clientSettings(program.opts<{ url?: string; token?: string }>())),
  json: () => program.opts<{ json?: boolean }>().json === true,
  print: (value, render) => console.log(ctx.json() ? JSON.stringify(value, null, 2) : render()),
};

program
  .command('start')
  .description('start Bursar (gateway, admin API and metrics on one port)')
  .option('-c, --config <path>', 'bursar.yaml to use (env BURSAR_CONFIG; default ./bursar.yaml if present)')
  .action(async (o: { config?: string }) => {
    // V8 lets the old generation grow to about twice its live size before collecting; a 1.5x
    // ceiling keeps the gateway's peak memory ~50 MB lower at no measurable cost (docs/benchmarks.md).
    setFlagsFromString('--heap-growing-percent=50');
    const config = loadConfig(o.config ? { configPath: o.config } : {});
    const { startBursar } = await import('../app.js');
    // Handlers first: a signal that arrives while starting (or right after the banner) still stops cleanly.
    let stopping: Promise<void> | null = null;
    const starting = startBursar(config);
    const stop = (signal: string): void => {
      process.stderr.write(`\n${signal}: finishing calls in flight, then stopping\n`);
      stopping ??= starting.then((b) => b.close());
      stopping.then(() => process.exit(0), (err: unknown) => {
        console.error(err);
        process.exit(1);
      });
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
    const b = await starting;
    const providers = config.providers.map((p) => p.id).join(', ');
    process.stderr.write(
      `\nBursar is listening on ${b.url}\n` +
        `  providers: ${providers}${config.simulated ? ' (simulated: no provider configured, so answers come from the built-in simulator)' : ''}\n` +
        `  data: ${config.dataDir}\n` +
        (b.firstAdminToken ? `  first admin token written to ${config.dataDir}/admin-token (the CLI reads it from there)\n` : '') +
        `  try: bursar keys create --label my-first-key\n\n`,
    );
  });

program
  .command('config-check')
  .description('validate bursar.yaml and the environment without starting')
  .option('-c, --config <path>', 'bursar.yaml to check')
  .action((o: { config?: string }) => {
    const c = loadConfig(o.config ? { configPath: o.config } : {});
    console.log(`${c.file ?? '(defaults)'} is valid: ${c.org.departments.size} departments, ${c.org.users.size} users, ${c.providers.length} providers${c.simulated ? ' (simulated)' : ''}.`);
  });

program
  .command('backup <file>')
  .description('write a consistent copy of the local database (safe while Bursar runs)')
  .action(async (file: string) => {
    const { backupDatabase } = await import('./backup.js');
    const settings = clientSettings(program.opts<{ url?: string; token?: string }>());
    const r = await backupDatabase(settings.dataDir, file);
    console.log(`backed up ${r.source} to ${r.destination} (${r.pages} pages)`);
  });

registerAccessCommands(program, ctx);
registerReportCommands(program, ctx);
registerRoutingCommands(program, ctx);
registerBudgetCommands(program, ctx);
registerBillingCommands(program, ctx);
registerPlanningCommands(program, ctx);
registerDatabaseCommands(program, ctx);

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError) {
    console.error(err.message);
    process.exit(2);
  }
  if (err instanceof CliError) {
    console.error(`error: ${err.message}`);
    process.exit(1);
  }
  console.error(err);
  process.exit(1);
});
