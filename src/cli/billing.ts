/**
 * `bursar import` and `bursar imports`: cost files that did not pass through the gateway
 * (provider exports, FOCUS files, Bursar's CSV for seats, GPU hours and the rest), with a
 * progress bar on large files. `bursar allocations`: rules, runs, statements and drill-downs;
 * `bursar export`. Downloads stream to their file with a running count of lines.
 */
import { createWriteStream, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { IMPORT_FORMATS } from '../billing/formats.js';
import type { ImportSummary } from '../billing/imports.js';
import type { AllocationRule } from '../billing/rules.js';
import type { RunBody } from '../billing/runs.js';
import type { Reconciliation } from '../billing/reconcile.js';
import { CliError, readSpec, table, type CliContext } from './client.js';

/** Files above this size show a progress bar (on a terminal). */
const BAR_FROM_BYTES = 5 * 1024 * 1024;

const summaryText = (s: ImportSummary, repeated: boolean) =>
  repeated
    ? `${s.id}: this file was imported before (${s.imported_at} by ${s.imported_by}); nothing added`
    : `${s.id}: ${s.rows} rows, ${s.added} lines added${s.already_present ? `, ${s.already_present} already in the ledger` : ''}; ${s.totals.map((t) => `${t.amount} ${t.currency}`).join(', ') || 'no cost'} from ${s.from ?? '-'} to ${s.to ?? '-'}`;

/**
 * Saves a CSV (or page) the API streams, to a file or standard output, as it arrives. On a
 * terminal, while the bytes go to a file or a pipe, a counter of lines and megabytes shows the
 * export is moving (its total is not known before the end).
 */
async function save(ctx: CliContext, path: string, output: string | undefined): Promise<void> {
  const out = output ? createWriteStream(output) : process.stdout;
  const counter = !ctx.json() && process.stderr.isTTY && (output !== undefined || !process.stdout.isTTY)
    ? new SingleBar({ format: 'downloading: {value} lines, {mb} MB', stream: process.stderr, fps: 5 }, Presets.shades_classic)
    : null;
  let lines = 0;
  let bytes = 0;
  counter?.start(0, 0, { mb: '0.0' });
  try {
    await ctx.client().download(path, out, (chunk) => {
      bytes += chunk.byteLength;
      for (const b of chunk) if (b === 10) lines++;
      counter?.update(lines, { mb: (bytes / 1e6).toFixed(1) });
    });
  } catch (err) {
    // No half-written file that looks like an export.
    if (output) {
      (out as WriteStream).destroy();
      rmSync(output, { force: true });
    }
    throw err;
  } finally {
    counter?.stop();
  }
  if (output) await new Promise<void>((resolve, reject) => (out as WriteStream).end((err?: Error | null) => (err ? reject(err) : resolve())));
}

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

  const imports = program.command('imports').description('the imports so far, and one in full');
  imports
    .command('list', { isDefault: true })
    .description('the imports so far: file, rows, lines added, totals')
    .action(async () => {
      const r = await ctx.client().call<{ data: ImportSummary[] }>('GET', '/imports');
      ctx.print(r.data, () => table(['id', 'format', 'file', 'rows', 'added', 'totals', 'period', 'by', 'at'], r.data.map((s) => [
        s.id, s.format, s.file_name, s.rows, s.added, s.totals.map((t) => `${t.amount} ${t.currency}`).join('\n'), `${s.from?.slice(0, 10) ?? '-'} .. ${s.to?.slice(0, 10) ?? '-'}`, s.imported_by, s.imported_at,
      ])));
    });
  imports.command('show <id>').description('one import: its file, rows, lines added and totals').action(async (id: string) => {
    const s = await ctx.client().call<ImportSummary>('GET', `/imports/${encodeURIComponent(id)}`);
    ctx.print(s, () => `${summaryText(s, false)}\n${s.format} file ${s.file_name ?? '-'} (sha256 ${s.sha256}), imported by ${s.imported_by} at ${s.imported_at}`);
  });

  const alloc = program.command('allocations').description('allocation rules, runs and statements: who pays for what (docs/billing.md#allocation)');
  const rules = alloc.command('rules').description('the allocation rules in force, in the order they apply');
  rules.command('list', { isDefault: true }).action(async () => {
    const r = await ctx.client().call<{ data: (AllocationRule & { managed_by: string })[] }>('GET', '/allocations/rules');
    ctx.print(r.data, () => table(['order', 'rule', 'method', 'match', 'how', 'mode', 'from'], r.data.map((x) => [
      x.order ?? 1000, x.id, x.method, Object.entries(x.match).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join('|') : typeof v === 'object' ? JSON.stringify(v) : v}`).join(' ') || 'every line',
      x.driver ?? (x.split ? Object.entries(x.split).map(([d, p]) => `${d} ${p}%`).join(', ') : x.share ? `${x.share}% to ${x.among?.join(', ')}` : x.price ? `${x.price.amount}/${x.price.per} +${x.price.markup_percent}%` : ''),
      x.mode ?? 'by budget category', x.managed_by === 'api' ? 'api' : 'bursar.yaml',
    ])));
  });
  rules.command('create <file>').description('a rule from a YAML or JSON file').action(async (file: string) => {
    const r = await ctx.client().call<{ id: string }>('POST', '/allocations/rules', readSpec(file));
    ctx.print(r, () => `created allocation rule ${r.id}`);
  });
  rules.command('set <id> <file>').action(async (id: string, file: string) => {
    const r = await ctx.client().call<{ id: string }>('PUT', `/allocations/rules/${encodeURIComponent(id)}`, readSpec(file));
    ctx.print(r, () => `changed allocation rule ${r.id}`);
  });
  rules.command('remove <id>').action(async (id: string) => {
    await ctx.client().call('DELETE', `/allocations/rules/${encodeURIComponent(id)}`);
    ctx.print({ removed: id }, () => `removed allocation rule ${id}`);
  });

  const statementTable = (run: RunBody) => [
    `${run.id}: ${run.period} (${run.status}), ${run.lines} lines, ${run.source_total_rounded} ${run.currency}${run.corrects ? `, corrects ${run.corrects}` : ''}`,
    table(['department', 'cost centre', 'chargeback', 'showback', 'total'], run.departments.map((d) => [d.department, d.cost_centre, d.chargeback, d.showback, d.total])),
    `unallocated: ${run.unallocated.amount} ${run.currency} on ${run.unallocated.lines} lines${Object.keys(run.unallocated.reasons).length ? ` (${Object.entries(run.unallocated.reasons).map(([r, n]) => `${n}: ${r}`).join('; ')})` : ''}`,
  ].join('\n');
  alloc.command('run <period>').description('allocate a month (YYYY-MM) by the rules in force; a draft until finalised')
    .option('--corrects <run>', 'a finalised run of the same month this one corrects')
    .action(async (period: string, o: { corrects?: string }) => {
      const r = await ctx.client().call<RunBody>('POST', '/allocations/runs', { period, ...(o.corrects ? { corrects: o.corrects } : {}) });
      ctx.print(r, () => statementTable(r));
    });
  alloc.command('runs').description('every run').action(async () => {
    const r = await ctx.client().call<{ data: RunBody[] }>('GET', '/allocations/runs');
    ctx.print(r.data, () => table(['run', 'period', 'status', 'lines', 'total', 'unallocated', 'corrects', 'by', 'at'], r.data.map((x) => [x.id, x.period, x.status, x.lines, `${x.source_total_rounded} ${x.currency}`, x.unallocated.amount, x.corrects, x.created_by, x.created_at])));
  });
  alloc.command('show <run>').action(async (id: string) => {
    const r = await ctx.client().call<RunBody>('GET', `/allocations/runs/${encodeURIComponent(id)}`);
    ctx.print(r, () => statementTable(r));
  });
  alloc.command('finalize <run>').description('make a run final: immutable, a change is a new run that corrects it').action(async (id: string) => {
    const r = await ctx.client().call<RunBody>('POST', `/allocations/runs/${encodeURIComponent(id)}/finalize`);
    ctx.print(r, () => `${r.id} is final`);
  });
  alloc.command('remove <run>').description('remove a draft run').action(async (id: string) => {
    await ctx.client().call('DELETE', `/allocations/runs/${encodeURIComponent(id)}`);
    ctx.print({ removed: id }, () => `removed ${id}`);
  });
  alloc.command('statement <run>').description('a run\'s statement as CSV, or as an HTML page with a chart (all departments, or one)')
    .option('--department <id>', 'one department, or "unallocated"')
    .option('--html', 'a page to read, mail or archive')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (id: string, o: { department?: string; output?: string; html?: boolean }) => {
      const q = new URLSearchParams({ format: o.html ? 'html' : 'csv', ...(o.department ? { department: o.department } : {}) });
      await save(ctx, `/allocations/runs/${encodeURIComponent(id)}/statement?${q}`, o.output);
    });
  alloc.command('journal <run>').description('a run\'s journal entries as CSV, balanced per entry (a correction reverses the run it corrects first)')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (id: string, o: { output?: string }) => {
      await save(ctx, `/allocations/runs/${encodeURIComponent(id)}/journal`, o.output);
    });
  alloc.command('lines <run>').description('the drill-down: each ledger line\'s part for one department, as CSV')
    .requiredOption('--department <id>', 'a department, or "unallocated"')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (id: string, o: { department: string; output?: string }) => {
      await save(ctx, `/allocations/runs/${encodeURIComponent(id)}/lines?department=${encodeURIComponent(o.department)}`, o.output);
    });
  alloc.command('metric <name> <period> <values...>').description('a driver metric for a month, e.g. revenue 2026-11 marketing=1200000 support=300000')
    .action(async (name: string, period: string, values: string[]) => {
      const r = await ctx.client().call('POST', '/allocations/metrics', { name, period, values: Object.fromEntries(values.map((v) => v.split('='))) });
      ctx.print(r, () => `metric ${name} for ${period} set; rules use it as driver metric:${name}`);
    });

  program
    .command('export <format>')
    .description('export the ledger: focus (FOCUS 1.2 CSV; with --run, an allocation run\'s allocated rows with FOCUS 1.3 allocation columns)')
    .option('--from <date>', 'start (default: first of this month, UTC)')
    .option('--to <date>', 'end, exclusive (default: now)')
    .option('--run <run>', 'an allocation run: its month, one row per allocated part')
    .option('-o, --output <file>', 'write to a file instead of standard output')
    .action(async (format: string, o: { from?: string; to?: string; run?: string; output?: string }) => {
      if (format !== 'focus') throw new CliError(`Cannot export "${format}"; the formats are: focus.`);
      const q = new URLSearchParams({ ...(o.from ? { from: o.from } : {}), ...(o.to ? { to: o.to } : {}), ...(o.run ? { run: o.run } : {}) });
      await save(ctx, `/exports/focus?${q}`, o.output);
    });

  const showReconciliation = (r: Reconciliation) => [
    `${r.id}: ${r.provider} from ${r.from.slice(0, 10)} to ${r.to.slice(0, 10)}${r.true_up ? ` (trued up: ${r.true_up.lines} correction lines)` : ''}`,
    table(['day', 'model', 'project', 'metered', 'invoiced', 'variance', '%'], r.rows.map((x) => [x.day, x.model, x.project, `${x.metered} ${x.currency}`, x.invoiced, x.variance, x.variance_percent])),
    r.totals.map((t) => `total: metered ${t.metered} ${t.currency}, invoiced ${t.invoiced}, variance ${t.variance}`).join('\n'),
  ].join('\n');
  program
    .command('reconcile <format> <file>')
    .description('compare a provider\'s cost export (openai-costs, anthropic-costs) with what the gateway metered, per day, model and project; adds nothing to the ledger')
    .option('--provider <id>', 'the provider\'s id in bursar.yaml (default: openai, anthropic)')
    .option('--map <pairs>', 'provider project or workspace id -> project, e.g. proj_abc=campaign-ai')
    .option('--true-up', 'then book the variance as correction lines, in proportion to metered cost')
    .action(async (format: string, file: string, o: { provider?: string; map?: string; trueUp?: boolean }) => {
      let data: Buffer;
      try {
        data = readFileSync(file);
      } catch (err) {
        throw new CliError(`Cannot read ${file}: ${(err as Error).message}`);
      }
      const q = new URLSearchParams({ format, file_name: basename(file), ...(o.provider ? { provider: o.provider } : {}), ...(o.map ? { map: o.map } : {}) });
      const r = await ctx.client().send<Reconciliation>(`/reconciliations?${q}`, data);
      const up = o.trueUp ? await ctx.client().call<{ lines: number; total: { currency: string; amount: string }[] }>('POST', `/reconciliations/${r.id}/true-up`) : null;
      ctx.print(up ? { ...r, true_up: up } : r, () => `${showReconciliation(r)}${up ? `\ntrued up: ${up.lines} correction lines, ${up.total.map((t) => `${t.amount} ${t.currency}`).join(', ')}` : ''}`);
    });
  const recs = program.command('reconciliations').description('reconciliations so far, and their true-ups');
  recs.command('list', { isDefault: true }).action(async () => {
    const r = await ctx.client().call<{ data: Reconciliation[] }>('GET', '/reconciliations');
    ctx.print(r.data, () => table(['id', 'provider', 'from', 'to', 'metered', 'invoiced', 'variance', 'trued up'], r.data.map((x) => [
      x.id, x.provider, x.from.slice(0, 10), x.to.slice(0, 10), x.totals.map((t) => `${t.metered} ${t.currency}`).join('\n'), x.totals.map((t) => t.invoiced).join('\n'), x.totals.map((t) => t.variance).join('\n'), x.true_up ? x.true_up.at : 'no',
    ])));
  });
  recs.command('show <id>').option('--csv', 'the variance rows as CSV').action(async (id: string, o: { csv?: boolean }) => {
    if (o.csv) return void process.stdout.write(await ctx.client().call<string>('GET', `/reconciliations/${encodeURIComponent(id)}?format=csv`));
    const r = await ctx.client().call<Reconciliation>('GET', `/reconciliations/${encodeURIComponent(id)}`);
    ctx.print(r, () => showReconciliation(r));
  });
  recs.command('true-up <id>').description('book a reconciliation\'s variance as correction lines').action(async (id: string) => {
    const r = await ctx.client().call<{ lines: number; total: { currency: string; amount: string }[] }>('POST', `/reconciliations/${encodeURIComponent(id)}/true-up`);
    ctx.print(r, () => `${r.lines} correction lines, ${r.total.map((t) => `${t.amount} ${t.currency}`).join(', ') || 'nothing to correct'}`);
  });
}
