/**
 * The admin API's billing routes: imports of cost files, allocation rules, runs and statements. A file is the request body as it is
 * (CSV, JSON or Parquet bytes: JSON is not parsed on the way in, so its numbers stay exact);
 * the options are query parameters. With `accept: application/x-ndjson` the answer is a stream
 * of progress lines ending with the summary, which the CLI draws as a progress bar.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { stringify } from 'csv-stringify/sync';
import { stringify as stringifyStream } from 'csv-stringify';
import { asBursarError, BursarError, errorBody } from '../core/errors.js';
import { decimalText } from '../core/money.js';
import type { ManagedRecords } from '../config/managed.js';
import type { AllocationService } from '../billing/runs.js';
import { ordered, type AllocationRule } from '../billing/rules.js';
import { JOURNAL_COLUMNS } from '../billing/journal.js';
import { statementHtml } from '../billing/statement-html.js';
import { allocatedRows, FOCUS_COLUMNS, focusRow, type FocusContext, type FocusRow } from '../billing/focus.js';
import { assertRole, type Actor } from '../access/actor.js';
import type { LedgerStore } from '../core/ports.js';
import { reportQuery } from '../reports/usage.js';
import type { ImportService } from '../billing/imports.js';
import type { ReconciliationService } from '../billing/reconcile.js';

/** The largest file an import takes. */
export const IMPORT_BODY_LIMIT = 1024 * 1024 * 1024;

const actorOf = (req: FastifyRequest): Actor => req.actor!;

/** Query parameters as import options: `map=proj_a=campaign-ai,proj_b=support-bot`. */
function optionsOf(q: Record<string, string | undefined>): Record<string, unknown> {
  const { map, progress: _p, ...rest } = q;
  const pairs = (map ?? '').split(',').filter(Boolean).map((p) => p.split('='));
  return { ...rest, ...(map !== undefined ? { map: Object.fromEntries(pairs.map(([k = '', v = '']) => [k.trim(), v.trim()])) } : {}) };
}

export async function billingRoutes(app: FastifyInstance, d: { readonly imports: ImportService; readonly reconciliations: ReconciliationService }): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.post<{ Querystring: Record<string, string | undefined> }>('/imports', { bodyLimit: IMPORT_BODY_LIMIT }, async (req, reply) => {
    const file = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const options = optionsOf(req.query);
    if (!String(req.headers.accept ?? '').includes('application/x-ndjson')) {
      const summary = await d.imports.run(file, options, actorOf(req));
      return reply.code(summary.repeated ? 200 : 201).send(summary);
    }
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson' });
    try {
      const summary = await d.imports.run(file, options, actorOf(req), (p) => out.write(`${JSON.stringify({ progress: p })}\n`));
      out.end(`${JSON.stringify({ done: summary })}\n`);
    } catch (err) {
      out.end(`${JSON.stringify(errorBody(asBursarError(err), 'openai'))}\n`);
    }
  });
  app.get('/imports', async (req) => ({ data: await d.imports.list(actorOf(req)) }));
  // Reconciliation: a provider's cost export against what the gateway metered; a true-up books the variance.
  app.post<{ Querystring: Record<string, string | undefined> }>('/reconciliations', async (req, reply) =>
    reply.code(201).send(await d.reconciliations.reconcile(Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0), optionsOf(req.query), actorOf(req))));
  app.get('/reconciliations', async (req) => ({ data: await d.reconciliations.list(actorOf(req)) }));
  app.get<{ Params: { id: string }; Querystring: { format?: string } }>('/reconciliations/:id', async (req, reply) => {
    const { version: _v, ...rec } = await d.reconciliations.get(req.params.id, actorOf(req));
    if (req.query.format !== 'csv') return rec;
    const head = ['provider', 'day', 'model', 'project', 'currency', 'metered', 'invoiced', 'variance', 'variance_percent'];
    const rows = rec.rows.map((r) => [rec.provider, r.day, r.model ?? '', r.project ?? '', r.currency, r.metered, r.invoiced, r.variance, r.variance_percent ?? '']);
    return reply.header('content-type', 'text/csv; charset=utf-8').send(stringify([head, ...rows], { escape_formulas: true }));
  });
  app.post<{ Params: { id: string } }>('/reconciliations/:id/true-up', async (req, reply) => reply.code(201).send(await d.reconciliations.trueUp(req.params.id, actorOf(req))));
  app.get<{ Params: { id: string } }>('/imports/:id', async (req) => d.imports.get(req.params.id, actorOf(req)));
}

/** Allocation rules (as code through the API), metrics for drivers, and allocation runs with their statements. */
export function registerAllocationRoutes(app: FastifyInstance, d: { readonly allocations: AllocationService; readonly rules: ManagedRecords<AllocationRule>; readonly ledger: LedgerStore; readonly focus: FocusContext }): void {
  // The ledger as FOCUS 1.2 CSV: a period's lines, or (with run) a run's allocated rows with FOCUS 1.3's allocation columns.
  app.get<{ Querystring: { from?: string; to?: string; run?: string } }>('/exports/focus', async (req, reply) => {
    const actor = actorOf(req);
    assertRole(actor, ['admin', 'finance'], 'export the ledger');
    const run = req.query.run ? await d.allocations.get(req.query.run, actor) : null;
    const range = run ? { from: Date.parse(run.from), to: Date.parse(run.to) } : reportQuery({ ...(req.query.from ? { from: req.query.from } : {}), ...(req.query.to ? { to: req.query.to } : {}) }, new Date());
    reply.hijack();
    const out = reply.raw;
    const name = run ? `focus-${run.id}` : `focus-${new Date(range.from).toISOString().slice(0, 10)}-${new Date(range.to).toISOString().slice(0, 10)}`;
    out.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${name}.csv"` });
    const csv = stringifyStream({ escape_formulas: true, header: true, columns: [...FOCUS_COLUMNS] });
    csv.pipe(out);
    const write = async (row: FocusRow) => {
      if (!csv.write(FOCUS_COLUMNS.map((c) => row[c] ?? ''))) await new Promise((r) => csv.once('drain', r));
    };
    if (run) {
      for await (const { line, allocated } of d.allocations.allocations(run)) for (const row of allocatedRows(line, allocated, d.focus)) await write(row);
    } else {
      for await (const l of d.ledger.scan(range)) if (l.costNano !== 0n) await write(focusRow(l, d.focus));
    }
    csv.end();
  });

  app.get('/allocations/rules', async () => {
    const all = await d.rules.list();
    const by = new Map(all.map((m) => [m.spec.id, m.managed_by]));
    return { data: ordered(all.map((m) => m.spec)).map((r) => ({ ...r, managed_by: by.get(r.id) })) };
  });
  app.post('/allocations/rules', async (req, reply) => reply.code(201).send(await d.rules.create(req.body, actorOf(req))));
  app.put<{ Params: { id: string } }>('/allocations/rules/:id', async (req) => d.rules.update(req.params.id, req.body, actorOf(req)));
  app.delete<{ Params: { id: string } }>('/allocations/rules/:id', async (req, reply) => {
    await d.rules.remove(req.params.id, actorOf(req));
    return reply.code(204).send();
  });
  app.post('/allocations/metrics', async (req, reply) => reply.code(201).send(await d.allocations.setMetric(req.body, actorOf(req))));

  app.post('/allocations/runs', async (req, reply) => reply.code(201).send(await d.allocations.run(req.body, actorOf(req))));
  app.get('/allocations/runs', async (req) => ({ data: await d.allocations.list(actorOf(req)) }));
  app.get<{ Params: { id: string } }>('/allocations/runs/:id', async (req) => d.allocations.get(req.params.id, actorOf(req)));
  app.post<{ Params: { id: string } }>('/allocations/runs/:id/finalize', async (req) => d.allocations.finalize(req.params.id, actorOf(req)));
  app.delete<{ Params: { id: string } }>('/allocations/runs/:id', async (req, reply) => {
    await d.allocations.remove(req.params.id, actorOf(req));
    return reply.code(204).send();
  });
  // A statement: the run's rows (for one department, or all), as JSON or CSV; the same bytes every time.
  app.get<{ Params: { id: string }; Querystring: { department?: string; format?: string } }>('/allocations/runs/:id/statement', async (req, reply) => {
    const run = await d.allocations.get(req.params.id, actorOf(req));
    const dept = req.query.department;
    const rows = run.statement.filter((r) => dept === undefined || (dept === 'unallocated' ? r.department === null : r.department === dept));
    if (req.query.format === 'html') return reply.header('content-type', 'text/html; charset=utf-8').send(statementHtml(run, d.focus.org, dept ?? null));
    if (req.query.format !== 'csv') return { run: run.id, period: run.period, status: run.status, currency: run.currency, rows };
    const head = ['run', 'period', 'status', 'department', 'cost_centre', 'project', 'project_code', 'mode', 'rule', 'method', 'lines', 'currency', 'amount', 'amount_rounded'];
    const body = rows.map((r) => [run.id, run.period, run.status, r.department ?? 'unallocated', r.cost_centre ?? '', r.project ?? '', r.project_code ?? '', r.mode, r.rule, r.method, r.lines, run.currency, r.amount, r.rounded]);
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${run.id}${dept ? `-${dept}` : ''}.csv"`).send(stringify([head, ...body], { escape_formulas: true }));
  });
  // Journal entries (CSV): balanced per entry, a correction's reversing the run it corrects.
  app.get<{ Params: { id: string } }>('/allocations/runs/:id/journal', async (req, reply) => {
    const rows = await d.allocations.journal(req.params.id, actorOf(req));
    const body = rows.map((r) => JOURNAL_COLUMNS.map((c) => r[c]));
    return reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="${req.params.id}-journal.csv"`).send(stringify([[...JOURNAL_COLUMNS], ...body], { escape_formulas: true }));
  });
  // The drill-down: each line's part for one department, recomputed from the ledger (refused if the ledger changed since the run).
  app.get<{ Params: { id: string }; Querystring: { department?: string } }>('/allocations/runs/:id/lines', async (req, reply) => {
    const run = await d.allocations.get(req.params.id, actorOf(req));
    const dept = req.query.department;
    if (!dept) throw new BursarError('validation_failed', 'department: name a department (or "unallocated").', { param: 'department' });
    if (!(await d.allocations.unchanged(run))) {
      throw new BursarError('conflict', `The ledger's lines for ${run.period} changed since run "${run.id}" (a late import or correction); its lines cannot be shown as it read them. Run the period again${run.status === 'final' ? ` with corrects: ${run.id}` : ''}.`);
    }
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'text/csv; charset=utf-8', 'content-disposition': `attachment; filename="${run.id}-${dept}-lines.csv"` });
    const csv = stringifyStream({ escape_formulas: true, header: true, columns: ['line_id', 'ts', 'source', 'kind', 'description', 'department', 'project', 'workflow', 'user', 'model', 'rule', 'method', 'mode', 'line_cost', 'part', 'currency'] });
    csv.pipe(out);
    for await (const { line: l, allocated: a, nano } of d.allocations.lines(run, dept === 'unallocated' ? null : dept)) {
      const ok = csv.write([l.id, new Date(l.ts).toISOString(), l.source, l.endpoint ?? '', l.description ?? '', l.dims.department ?? '', l.dims.project ?? '', l.dims.workflow ?? '', l.dims.user ?? '', l.dims.model ?? '', a.rule, a.method, a.mode, decimalText(l.orgCostNano), decimalText(nano), run.currency]);
      if (!ok) await new Promise((r) => csv.once('drain', r));
    }
    csv.end();
  });
}
