/**
 * `bursar import` and `bursar imports`: cost files that did not pass through the gateway
 * (provider exports, FOCUS files, Bursar's CSV for seats, GPU hours and the rest), with a
 * progress bar on large files.
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { IMPORT_FORMATS } from '../billing/formats.js';
import type { ImportSummary } from '../billing/imports.js';
import { CliError, table, type CliContext } from './client.js';

/** Files above this size show a progress bar (on a terminal). */
const BAR_FROM_BYTES = 5 * 1024 * 1024;

const summaryText = (s: ImportSummary, repeated: boolean) =>
  repeated
    ? `${s.id}: this file was imported before (${s.imported_at} by ${s.imported_by}); nothing added`
    : `${s.id}: ${s.rows} rows, ${s.added} lines added${s.already_present ? `, ${s.already_present} already in the ledger` : ''}; ${s.totals.map((t) => `${t.amount} ${t.currency}`).join(', ') || 'no cost'} from ${s.from ?? '-'} to ${s.to ?? '-'}`;

export function registerBillingCommands(program: Command, ctx: CliContext): void {
  program
    .command('import <format> <file>')
    .description(`import a cost file: ${IMPORT_FORMATS.join(', ')} (docs/billing.md#imports); the same file twice adds nothing, a file with an error adds nothing`)
    .option('--department <id>').option('--team <id>').option('--project <id>').option('--user <id>')
    .option('--application <id>').option('--workflow <id>').option('--environment <id>')
    .option('--category <category>', 'spend category for rows that name none: production_inference, development, experimental, embedded_saas')
    .option('--cost <column>', 'FOCUS: BilledCost (default) or EffectiveCost')
    .option('--map <pairs>', 'provider project or workspace id -> project, e.g. proj_abc=campaign-ai,wrkspc_1=support-bot')
    .action(async (format: string, file: string, o: Record<string, string | undefined>) => {
      let data: Buffer;
      try {
        data = readFileSync(file);
      } catch (err) {
        throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
      }
      const q = new URLSearchParams({ format, file_name: basename(file) });
      for (const k of ['department', 'team', 'project', 'user', 'application', 'workflow', 'environment', 'cost', 'map'] as const) if (o[k]) q.set(k, o[k]!);
      if (o.category) q.set('spend_category', o.category);
      const bar = !ctx.json() && process.stderr.isTTY && data.length >= BAR_FROM_BYTES ? new SingleBar({ format: '{phase} [{bar}] {value}/{total}', stream: process.stderr }, Presets.shades_classic) : null;
      let result: (ImportSummary & { repeated: boolean }) | null = null;
      bar?.start(1, 0, { phase: 'reading' });
      try {
        await ctx.client().stream(`/imports?${q}`, data, (line) => {
          const p = line.progress as { phase: string; rows?: number; done?: number; of?: number } | undefined;
          if (p?.phase === 'read') {
            bar?.setTotal(p.rows ?? 0);
            bar?.update(0, { phase: 'writing' });
          }
          if (p?.phase === 'write') bar?.update(p.done ?? 0);
          if (line.done) result = line.done as ImportSummary & { repeated: boolean };
        });
      } finally {
        bar?.stop();
      }
      if (!result) throw new CliError('Bursar ended the import without a summary; list imports with `bursar imports` to see whether it landed.');
      const r: ImportSummary & { repeated: boolean } = result;
      ctx.print(r, () => summaryText(r, r.repeated));
    });

  program
    .command('imports')
    .description('the imports so far: file, rows, lines added, totals')
    .action(async () => {
      const r = await ctx.client().call<{ data: ImportSummary[] }>('GET', '/imports');
      ctx.print(r.data, () => table(['id', 'format', 'file', 'rows', 'added', 'totals', 'period', 'by', 'at'], r.data.map((s) => [
        s.id, s.format, s.file_name, s.rows, s.added, s.totals.map((t) => `${t.amount} ${t.currency}`).join('\n'), `${s.from?.slice(0, 10) ?? '-'} .. ${s.to?.slice(0, 10) ?? '-'}`, s.imported_by, s.imported_at,
      ])));
    });
}
