// An allocation run over a month of N ledger lines (default 10 million), 50 departments and 20
// rules of every method, on SQLite: the time and peak RSS of `AllocationService.run`, as
// `bursar allocations run` runs it on the server. The lines are written first (not timed):
// gateway calls spread over the departments, plus imported seats, GPU hours and fees.
//   node bench/allocation.mjs [lines=10000000] [dir]
// WORKFLOWS=400 spreads the calls over 400 workflows instead of 40, so that the rules over
// workflows split about one call in twenty instead of two in five (a company where most calls
// are their own department's and a few shared workflows split).
// COSTS=varied gives nearly every call its own cost and token count (by
// default: a hundred costs, fifty token counts), so that hardly two lines of a splitting rule allocate alike: the worst case for a
// run, which allocates each group of lines alike once.
// With a dir that already holds the lines (a previous run's), they are not written again.
// Run after `npm run build`.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { blankLine } from '../dist/core/ledger.js';
import { OrgTree } from '../dist/core/org.js';
import { FxTable } from '../dist/core/fx.js';
import { openSqlite } from '../dist/store/sqlite/open.js';
import { uuidv7 } from '../dist/gateway/ids.js';
import { allocationRuleSchema } from '../dist/billing/rules.js';
import { AllocationService } from '../dist/billing/runs.js';

const N = Number(process.argv[2] ?? 10_000_000);
const WORKFLOWS = Number(process.env.WORKFLOWS ?? 40);
const VARIED = process.env.COSTS === 'varied';
const dir = process.argv[3] ?? `/tmp/bench-allocation-${N}${WORKFLOWS === 40 ? '' : `-w${WORKFLOWS}`}${VARIED ? '-varied' : ''}`;
const DEPTS = Array.from({ length: 50 }, (_, i) => `dept-${String(i).padStart(2, '0')}`);
const org = new OrgTree({
  departments: DEPTS.map((id, i) => ({ id, name: id, costCentre: `CC${i}`, manager: null })),
  teams: [],
  projects: DEPTS.map((d, i) => ({ id: `proj-${i}`, name: `p${i}`, code: `P-${i}`, department: d, team: null })),
  users: [],
});
const START = Date.UTC(2026, 9, 1); // October 2026
const MONTH_MS = 31 * 86_400_000;
const KINDS = ['seat', 'gpu_hours', 'platform_fee', 'vector_storage', 'other'];

function line(i) {
  const ts = START + Math.floor((i / N) * MONTH_MS);
  const b = blankLine(uuidv7(ts), ts);
  const dept = DEPTS[i % 50];
  if (i % 1000 === 0) {
    // An imported cost: one in a thousand lines.
    const kind = KINDS[(i / 1000) % 5];
    return { ...b, source: 'import', endpoint: kind, dims: { ...b.dims, department: i % 3000 === 0 ? null : dept }, costNano: 25_000_000_000n + BigInt(i % 997), orgCostNano: 25_000_000_000n + BigInt(i % 997), quantityNano: 3_000_000_000n, spendCategory: kind === 'seat' ? 'embedded_saas' : 'production_inference' };
  }
  const spread = VARIED ? (i * 7919) % 1_000_003 : i % 100;
  const cost = 62_250n + BigInt(spread);
  return {
    ...b, endpoint: 'chat',
    dims: { ...b.dims, department: dept, cost_centre: `CC${i % 50}`, project: `proj-${i % 50}`, user: `u${i % 3000}`, workflow: `w${i % WORKFLOWS}`, provider: 'openai', model: i % 4 ? 'gpt-4o-mini' : 'gpt-4.1', budget_category: i % 10 === 0 ? 'sandbox' : 'production' },
    tokens: { input: 231 + (VARIED ? spread % 4000 : i % 50), cached_input: 0, cache_write: 0, output: 46, reasoning: 0 }, costNano: cost, orgCostNano: cost, httpStatus: 200, latencyMs: 2,
  };
}

const pct = (i) => String(100 / (i + 2)).slice(0, 6);
const rules = [
  { id: 'seats', match: { source: 'import', kind: 'seat' }, method: 'proportional', driver: 'headcount' },
  { id: 'gpu', match: { kind: 'gpu_hours' }, method: 'proportional', driver: 'tokens' },
  { id: 'fees', match: { kind: 'platform_fee' }, method: 'fixed', split: { 'dept-00': '50', 'dept-01': '30', 'dept-02': '20' } },
  { id: 'storage', match: { kind: 'vector_storage' }, method: 'even' },
  { id: 'other', match: { kind: 'other' }, method: 'proportional', driver: 'requests', among: DEPTS.slice(0, 10) },
  // Fifteen rules over the calls: beneficiary splits, internal prices, direct, by workflow.
  ...Array.from({ length: 5 }, (_, k) => ({ id: `benefit-${k}`, match: { workflow: [`w${k}`, `w${k + 5}`] }, method: 'beneficiary', share: '30', among: DEPTS.slice(k * 5, k * 5 + 5) })),
  ...Array.from({ length: 5 }, (_, k) => ({ id: `priced-${k}`, match: { workflow: `w${10 + k}`, model: 'gpt-4.1' }, method: 'internal_price', price: { per: 'million_tokens', amount: '0.30', markup_percent: '12.5' }, recovers_to: 'dept-49' })),
  ...Array.from({ length: 4 }, (_, k) => ({ id: `fixed-${k}`, match: { workflow: `w${20 + k}` }, method: 'fixed', split: { [DEPTS[k]]: '60', [DEPTS[k + 10]]: '40' } })),
  { id: 'direct-rest', match: { source: 'gateway' }, method: 'direct' },
].map((r, i) => allocationRuleSchema.parse({ ...r, order: (i + 1) * 10 }));
void pct;

const fresh = !existsSync(join(dir, 'bursar.db'));
mkdirSync(dir, { recursive: true });
const stores = await openSqlite(join(dir, 'bursar.db'));
if (fresh) {
  const t0 = performance.now();
  for (let i = 0; i < N; i += 10_000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 10_000); j++) batch.push(line(j));
    await stores.ledger.append(batch);
  }
  console.error(`wrote ${N} lines in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
const service = new AllocationService({
  ledger: stores.ledger, store: stores.config, org, calendar: { zone: 'UTC', weekStart: 1, fiscalYearStartMonth: 1 }, orgCurrency: 'USD',
  headcount: Object.fromEntries(DEPTS.map((d, i) => [d, 10 + i])), fx: new FxTable([]), rules: () => rules,
});
const actor = { label: 'bench', role: 'admin', department: null, user: null };
if (global.gc) global.gc();
const base = process.memoryUsage().rss;
let peak = base;
const sample = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 25);
const t0 = performance.now();
const run = await service.run({ period: '2026-10' }, actor);
const secs = (performance.now() - t0) / 1000;
clearInterval(sample);
peak = Math.max(peak, process.memoryUsage().rss);
console.log('| lines | departments | rules | run s | lines/s | peak RSS MB | statement rows | unallocated |');
console.log('|---:|---:|---:|---:|---:|---:|---:|---:|');
console.log(`| ${run.lines.toLocaleString('en')} | ${DEPTS.length} | ${rules.length} | ${secs.toFixed(1)} | ${Math.round(run.lines / secs).toLocaleString('en')} | ${Math.round(peak / 1048576)} | ${run.statement.length} | ${run.unallocated.amount} ${run.currency} |`);
await stores.close();
