/**
 * A run allocates the lines that allocate alike (same rule, department, project, budget category,
 * cost, and the tokens or quantity of an internal price) once per group, straight from the
 * store's grouped query. Proved by property, on SQLite and PostgreSQL: for any month of lines and
 * rules of every method, the run's statement is exactly the sum of each line's own parts, as the
 * drill-down allocates them one by one.
 */
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../src/core/ledger.js';
import { FxTable } from '../src/core/fx.js';
import { parseDecimal } from '../src/core/money.js';
import { OrgTree } from '../src/core/org.js';
import { glSchema } from '../src/billing/journal.js';
import { allocationRuleSchema } from '../src/billing/rules.js';
import { AllocationService } from '../src/billing/runs.js';
import { openSqlite } from '../src/store/sqlite/open.js';
import type { SqlStores } from '../src/store/sql/stores.js';
import { freshPostgres } from './helpers/services.js';

const DEPTS = ['alpha', 'beta', 'gamma'];
const org = new OrgTree({
  departments: DEPTS.map((id) => ({ id, name: id, costCentre: id.toUpperCase(), manager: null })),
  teams: [],
  projects: DEPTS.map((d) => ({ id: `${d}-p`, name: d, code: `${d}-P`, department: d, team: null })),
  users: [],
});
const RULES = [
  { id: 'seats', match: { source: 'import', kind: 'seat' }, method: 'proportional', driver: 'headcount' },
  { id: 'gpu', match: { kind: 'gpu_hours' }, method: 'proportional', driver: 'tokens', among: ['alpha', 'beta'] },
  { id: 'commitment', match: { kind: 'other', tags: { commitment: 'annual' } }, method: 'even', smooth_months: 3 },
  { id: 'storage', match: { kind: 'other' }, method: 'internal_price', price: { per: 'unit', amount: '0.5', markup_percent: '10' }, recovers_to: 'gamma' },
  { id: 'benefit', match: { workflow: 'w1' }, method: 'beneficiary', share: '30', among: ['beta', 'gamma'], driver: 'requests' },
  { id: 'tokens-priced', match: { workflow: 'w2', model: 'm1' }, method: 'internal_price', price: { per: 'million_tokens', amount: '0.3', markup_percent: '12.5' }, recovers_to: 'gamma' },
  { id: 'call-priced', match: { workflow: 'w3' }, method: 'internal_price', price: { per: 'call', amount: '0.000001' }, recovers_to: 'alpha' },
  { id: 'split', match: { workflow: 'w4' }, method: 'fixed', split: { alpha: '60', beta: '40' }, mode: 'showback' },
  { id: 'sandbox-pool', match: { budget_category: 'sandbox' }, method: 'pool', among: ['alpha', 'beta'] },
  { id: 'calls', match: { source: 'gateway', model: 'm2' }, method: 'direct' },
].map((r, i) => allocationRuleSchema.parse({ ...r, order: (i + 1) * 10 }));

const pick = <const T>(...xs: T[]) => fc.constantFrom(...xs);
/** A line of some month (`month` 0 is the run's, 1 and 2 the months before), from few values so that many lines allocate alike. */
const lineArb = fc.record({
  month: fc.constantFrom(0, 0, 0, 1, 2),
  at: fc.integer({ min: 0, max: 27 * 86_400_000 }),
  source: pick('gateway', 'import'),
  endpoint: pick('chat', 'chat', 'chat', 'seat', 'gpu_hours', 'other'),
  department: pick('alpha', 'beta', 'gamma', null),
  project: pick('alpha-p', null),
  budget_category: pick('production', 'sandbox', null),
  workflow: pick('w1', 'w2', 'w3', 'w4', 'w5'),
  model: pick('m1', 'm2'),
  cost: pick(0n, 7n, 12_345n, 1_000_000_007n, -50n),
  input: pick(0, 10, 1200),
  quantity: pick(null, 1_000_000_000n, 2_500_000_000n),
  status: pick('ok', 'ok', 'refused'),
  tagged: fc.boolean(),
});

type Spec = typeof lineArb extends fc.Arbitrary<infer T> ? T : never;

function ledgerLine(id: string, s: Spec, monthStart: (back: number) => number): LedgerLine {
  const b = blankLine(id, monthStart(s.month) + s.at);
  return {
    ...b, source: s.source, endpoint: s.endpoint, status: s.status, quantityNano: s.quantity, costNano: s.cost, orgCostNano: s.cost,
    tags: s.tagged ? { commitment: 'annual' } : null,
    dims: { ...b.dims, department: s.department, project: s.project, budget_category: s.budget_category, workflow: s.workflow, model: s.model },
    tokens: { input: s.input, cached_input: 1, cache_write: 0, output: 30, reasoning: 2 },
  };
}

const stores: { name: string; open: () => Promise<{ stores: SqlStores; close: () => Promise<void> }> }[] = [
  {
    name: 'sqlite',
    open: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'bursar-runs-'));
      const s = await openSqlite(join(dir, 'bursar.db'));
      return { stores: s, close: async () => { await s.close(); rmSync(dir, { recursive: true, force: true }); } };
    },
  },
  { name: 'postgres', open: () => freshPostgres('runs', 2) },
];

for (const adapter of stores) {
  describe(`allocation runs by groups of lines alike: ${adapter.name}`, () => {
    let f: Awaited<ReturnType<(typeof stores)[number]['open']>>;
    beforeAll(async () => {
      f = await adapter.open();
    });
    afterAll(() => f.close());
    let run = 0;

    // groupLimit 1: a month of more groups than a run holds reads the lines of splitting rules one by one, to the same statement.
    it.each([undefined, 1])('give each statement row exactly the sum of its lines\' own parts, for rules of every method (group limit %s)', async (groupLimit) => {
      const service = new AllocationService({
        ledger: f.stores.ledger, store: f.stores.config, org, calendar: { zone: 'Europe/London', weekStart: 1, fiscalYearStartMonth: 1 }, orgCurrency: 'USD',
        headcount: { alpha: 3, beta: 5, gamma: 0 }, gl: glSchema.parse({}), fx: new FxTable([]), rules: () => RULES, ...(groupLimit ? { groupLimit } : {}),
      });
      const actor = { label: 'test', role: 'admin' as const, department: null, user: null };
      await fc.assert(
        fc.asyncProperty(fc.array(lineArb, { minLength: 1, maxLength: 300 }), async (specs) => {
          // Each run its own month, three months after the last, so that no run sees another's lines.
          const year = 2030 + Math.floor((run * 3) / 12);
          const month = ((run * 3) % 12) + 3;
          const period = `${year}-${String(month).padStart(2, '0')}`;
          const monthStart = (back: number) => Date.UTC(year, month - 1 - back, 1, 1);
          const lines = specs.map((s, i) => ledgerLine(`${period}-${String(i).padStart(4, '0')}`, s, monthStart));
          run++;
          await f.stores.ledger.append(lines);
          const body = await service.run({ period }, actor);
          const expected = new Map<string, { nano: bigint; lines: number }>();
          let count = 0;
          for await (const { line, allocated } of service.allocations(body)) {
            count++;
            for (const p of allocated.parts) {
              const project = p.department !== null && p.department === line.dims.department ? line.dims.project : null;
              const k = [p.department, project, allocated.rule, allocated.mode].join('|');
              const e = expected.get(k) ?? { nano: 0n, lines: 0 };
              expected.set(k, { nano: e.nano + p.nano, lines: e.lines + 1 });
            }
          }
          const stated = new Map(body.statement.map((s) => [[s.department, s.project, s.rule, s.mode].join('|'), { nano: parseDecimal(s.amount), lines: s.lines }]));
          expect(stated).toEqual(expected);
          expect(body.lines).toBe(count);
          expect(await service.unchanged(body)).toBe(true);
          await service.remove(body.id, actor);
        }),
        { numRuns: 30 },
      );
    });
  });
}
