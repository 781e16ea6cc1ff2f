// Admission overhead: the cost of admitting one call against N budgets in scope, counting its
// line when it ends (the in-process counters), and recording thresholds when its line is
// committed (lines in batches of 100, as the ledger writer commits them), measured alone,
// without HTTP, and the bytes it allocates per call (which the garbage collector pays for under
// load). Run after `npm run build`.
//   node bench/budget-admission.mjs
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { emptyDims } from '../dist/core/dimensions.js';
import { blankLine, budgetChargesJson } from '../dist/core/ledger.js';
import { FxTable } from '../dist/core/fx.js';
import { openSqlite } from '../dist/store/sqlite/open.js';
import { createLogger } from '../dist/telemetry/log.js';
import { BudgetIndex } from '../dist/budgets/budget-index.js';
import { MemoryCounters } from '../dist/budgets/counters-memory.js';
import { BudgetGuard } from '../dist/budgets/guard.js';
import { MemoryRateLimits } from '../dist/budgets/rate-memory.js';
import { MemoryRunTracker } from '../dist/budgets/agent-runs.js';
import { buildPriceBook } from '../dist/pricebook/load.js';

const SIX = [
  { id: 'company', scope: {}, window: 'month' },
  { id: 'department', scope: { department: 'support' }, window: 'month' },
  { id: 'project', scope: { project: 'support-bot' }, window: 'day' },
  { id: 'per-user', scope: { department: 'support' }, per: 'user', window: 'week' },
  { id: 'model', scope: { model: 'gpt-4o-mini' }, window: 'month' },
  { id: 'key', scope: { key: 'key_bench' }, window: 'month' },
];
// Budgets that do not cover the call, as a real organisation has many: other departments',
// projects', users' and keys'.
const OTHER_DIMS = ['department', 'project', 'user', 'key'];
const others = (n) => Array.from({ length: n }, (_, i) => ({ id: `other-${i}`, scope: { [OTHER_DIMS[i % 4]]: `other-${i}` }, window: 'month' }));

async function measure(budgets) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-admit-'));
  const stores = await openSqlite(join(dir, 'b.db'));
  for (const b of budgets) {
    const spec = { ...b, limit: { amount: '1000000', currency: 'USD' }, enforcement: 'hard', category: 'production', thresholds: [{ at: 50, actions: ['notify'] }, { at: 75, actions: ['notify'] }, { at: 90, actions: ['notify'] }] };
    await stores.config.write({ kind: 'budget', id: b.id, body: { spec, managed_by: 'api', status: 'active', graduated_to: null } }, { actor: 'bench', action: 'budget.create', target: b.id, details: {} });
  }
  const calendar = { zone: 'Europe/London', weekStart: 1, fiscalYearStartMonth: 1 };
  const index = await BudgetIndex.load(stores.config, calendar, 'USD');
  const guard = new BudgetGuard({
    index, counters: new MemoryCounters(), rates: new MemoryRateLimits(), runs: new MemoryRunTracker(), events: stores.events, fx: new FxTable([]), calendar,
    minOutputTokens: 16, leaseMs: 60_000, log: createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() })),
  });
  const price = buildPriceBook([]).lookup('openai', 'gpt-4o-mini', Date.now());
  const dims = { ...emptyDims(), department: 'support', project: 'support-bot', user: 'bob', model: 'gpt-4o-mini', provider: 'openai', key: 'key_bench' };
  const facts = { dims, tags: null, groups: [] };
  let i = 0;
  // Lines are counted as the writer hands them over: a batch at a time (at 5,000 calls a second
  // and the default flush of 200 ms, a thousand; here a hundred).
  let batch = [];
  const one = async () => {
    const a = await guard.admit({ id: `c${i++}`, facts, price, inputBound: 1100, requestedCap: 256, defaultCap: 16384, requestHash: () => 'h' });
    budgetChargesJson(a.reserved); // the worst-case line's charges, as the spool writes them
    const line = { ...blankLine(a.lease, Date.now()), dims, tokens: { input: 231, cached_input: 0, cache_write: 0, output: 46, reasoning: 0 }, costNano: 62_250n, budgetCharges: guard.chargesFor(a, 62_250n, 'USD') };
    budgetChargesJson(line.budgetCharges);
    await guard.finish(a, line);
    batch.push(line);
    if (batch.length === 100) {
      await guard.count(batch, { added: batch, commit: null });
      batch = [];
    }
    return a.covering.length;
  };
  for (let k = 0; k < 20_000; k++) await one();
  let us = 0;
  let bytes = 0;
  let covered = 0;
  if (ALLOC) {
    // The young generation is made large enough (see the parent) that nothing is collected while the calls run.
    const n = 4_000;
    globalThis.gc();
    let collections = 0;
    const gcs = new PerformanceObserver((list) => (collections += list.getEntries().length));
    gcs.observe({ entryTypes: ['gc'] });
    const before = process.memoryUsage().heapUsed;
    for (let k = 0; k < n; k++) covered = await one();
    bytes = (process.memoryUsage().heapUsed - before) / n;
    // The observer hears of collections a moment later.
    await new Promise((resolve) => setTimeout(resolve, 100));
    gcs.disconnect();
    if (collections > 0) throw new Error(`the garbage collector ran ${collections} times while allocations were counted: the figure would be low`);
  } else {
    const n = 100_000;
    const t = performance.now();
    for (let k = 0; k < n; k++) covered = await one();
    us = ((performance.now() - t) * 1000) / n;
  }
  guard.close();
  await stores.close();
  rmSync(dir, { recursive: true, force: true });
  return { us, bytes, covered };
}

const ALLOC = process.argv.includes('--alloc');
const none = await measure([]);
const six = await measure(SIX);
const sixOf56 = await measure([...SIX, ...others(50)]);
const sixOf506 = await measure([...SIX, ...others(500)]);
if (ALLOC) {
  process.stdout.write(JSON.stringify([none.bytes, six.bytes, sixOf56.bytes, sixOf506.bytes]));
} else {
  const child = spawnSync(process.execPath, ['--expose-gc', '--min-semi-space-size=256', '--max-semi-space-size=256', fileURLToPath(import.meta.url), '--alloc'], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`the allocation pass failed: ${child.stderr}`);
  const bytes = JSON.parse(child.stdout);
  console.log(`Budget admission, end and commit per call (in-process counters, node ${process.version})`);
  console.log('| budgets defined | budgets covering the call | µs per call (admit + end + commit) | bytes allocated per call |');
  console.log('|---:|---:|---:|---:|');
  for (const [i, [defined, r]] of [[0, none], [6, six], [56, sixOf56], [506, sixOf506]].entries()) console.log(`| ${defined} | ${r.covered} | ${r.us.toFixed(2)} | ${Math.round(bytes[i])} |`);
}
