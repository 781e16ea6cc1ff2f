// The dashboard's API calls over a ledger of N lines (default 10 million): each call the
// dashboard's views make, timed at the server over repeated requests (p50, p95, max). The lines
// are written first (not timed), spread over the last 45 days: 50 departments, 3,000 users, 40
// workflows, routes with three tiers and downgrades, 20 agents whose runs make ten calls each,
// and a few refused calls. Bursar then starts on that data (SQLite) as `bursar start` would.
//   node bench/dashboard.mjs [lines=10000000] [dir]     (env: REPEATS, ONLY)
// With a dir that already holds the lines (a previous run's), they are not written again.
// Run after `npm run build`.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { blankLine } from '../dist/core/ledger.js';
import { openSqlite } from '../dist/store/sqlite/open.js';
import { uuidv7 } from '../dist/gateway/ids.js';
import { loadConfig } from '../dist/config/load.js';
import { startBursar } from '../dist/app.js';

const N = Number(process.argv[2] ?? 10_000_000);
const dir = process.argv[3] ?? `/tmp/bench-dashboard-${N}`;
const REPEATS = Number(process.env.REPEATS ?? 40);
const DEPTS = Array.from({ length: 50 }, (_, i) => `dept-${String(i).padStart(2, '0')}`);
const END = Date.now() - 3_600_000;
const SPAN = 45 * 86_400_000;
const TIERS = [['premium', 'gpt-4.1'], ['standard', 'gpt-4o'], ['economy', 'gpt-4o-mini']];

function line(i) {
  const ts = END - SPAN + Math.floor((i / N) * SPAN);
  const b = blankLine(uuidv7(ts), ts);
  const [tier, model] = TIERS[i % 3];
  const agent = i % 10 === 0 ? `agent-${(i / 10) % 20}` : null;
  const refused = i % 200 === 7;
  const cost = refused ? 0n : 62_250n + BigInt(i % 100) * (tier === 'premium' ? 8n : 1n);
  return {
    ...b, endpoint: 'chat', status: refused ? 'refused' : 'ok', errorCode: refused ? 'budget_exceeded' : null,
    dims: {
      ...b.dims, department: DEPTS[i % 50], cost_centre: `CC${i % 50}`, project: `proj-${i % 50}`, user: `u${i % 3000}`, workflow: `w${i % 40}`,
      provider: 'openai', model, route: `route-${i % 8}`, tier, downgraded_from: i % 7 === 0 && tier !== 'premium' ? 'premium' : null, baseline_model: 'gpt-4.1',
      agent, agent_run: agent ? `run-${Math.floor(i / 2000)}-${(i / 10) % 20}` : null, budget_category: i % 10 === 1 ? 'sandbox' : 'production',
    },
    tokens: { input: 231 + (i % 50), cached_input: 0, cache_write: 0, output: 46, reasoning: 0 },
    costNano: cost, orgCostNano: cost, baselineOrgNano: refused ? null : cost * (tier === 'premium' ? 1n : 3n), httpStatus: refused ? 429 : 200, latencyMs: 2,
  };
}

mkdirSync(dir, { recursive: true });
if (!existsSync(join(dir, 'bursar.db'))) {
  const stores = await openSqlite(join(dir, 'bursar.db'));
  const t0 = performance.now();
  for (let i = 0; i < N; i += 10_000) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + 10_000); j++) batch.push(line(j));
    await stores.ledger.append(batch);
    if (i % 1_000_000 === 0) console.error(`  ${i / 1e6}M lines written`);
  }
  await stores.close();
  console.error(`wrote ${N} lines in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}

const yaml = `organisation: { name: Bench, currency: USD }
departments:
${DEPTS.map((d, i) => `  - { id: ${d}, cost_centre: CC${i}, projects: [{ id: proj-${i}, code: P-${i} }] }`).join('\n')}
users:
${DEPTS.map((d, i) => `  - { id: manager-${i}, department: ${d} }`).join('\n')}
budgets:
  - { id: company, window: month, limit: { amount: "100000.00", currency: USD } }
${DEPTS.map((d) => `  - { id: ${d}-prod, scope: { department: ${d} }, window: month, limit: { amount: "1000.00", currency: USD }, owner: manager-0 }`).join('\n')}
`;
writeFileSync(join(dir, 'bursar.yaml'), yaml);
const config = loadConfig({ yaml, env: { BURSAR_DATA_DIR: dir, BURSAR_PORT: '0', BURSAR_LOG_LEVEL: 'warn' } });
const t0 = performance.now();
const b = await startBursar(config);
console.error(`started on ${N} lines in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
const admin = (await b.tokens.issue({ label: 'bench', role: 'admin' }, 'bench')).secret;
const manager = (await b.tokens.issue({ label: 'bench-manager', role: 'manager', department: 'dept-07' }, 'bench')).secret;

const month = new Date(Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), 1)).toISOString();
// As the dashboard asks: whole days.
const thirty = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 - 30 * 86_400_000).toISOString();
const CALLS = [
  ['Overview', '/reports/overview'],
  ['Overview (manager)', '/reports/overview', manager],
  ['Budgets: a budget\'s status', '/budgets/dept-07-prod'],
  ['Budgets: burn-down', `/usage?from=${month}&group_by=day&department=dept-07`],
  ['Budgets: overrides', '/overrides'],
  ['Drill-down: departments', `/usage?from=${month}&group_by=department`],
  ['Drill-down: a department\'s projects', `/usage?from=${month}&group_by=project&department=dept-07`],
  ['Drill-down: a user\'s models', `/usage?from=${month}&group_by=model&department=dept-07&project=proj-7&workflow=w7&user=u7`],
  ['Drill-down: last 30 days', `/usage?from=${thirty}&group_by=department`],
  ['Models: tiers and models', `/usage?from=${month}&group_by=tier,model,source`],
  ['Models: savings', `/reports/savings?from=${month}`],
  ['Agents: runs, cost per run', `/reports/agents?from=${month}`],
  ['Outcomes: unit economics', `/reports/unit-economics?from=${month}&group_by=workflow`],
  // The page's other groupings.
  ...['department', 'project', 'agent', 'model'].map((g) => [`Outcomes: by ${g}`, `/reports/unit-economics?from=${month}&group_by=${g}`]),
  ['Alerts: budget events', '/events'],
  ...['spend', 'failures', 'agent_loops', 'off_hours', 'output_ratio', 'premium_share', 'unproductive'].map((k) => [`Alerts: anomalies (${k})`, `/reports/anomalies?metric=${k}`]),
  ['Alerts: deliveries', '/alerts/deliveries'],
  ['Chargeback: runs', '/allocations/runs'],
  ['Keys', '/keys'],
  ['Audit log', '/audit?limit=100'],
  ['Audit log: verify the chain', '/audit/verify'],
];

// ONLY=<regex> times only the calls whose name matches (e.g. ONLY='Agents|Outcomes').
const only = process.env.ONLY ? new RegExp(process.env.ONLY) : null;
const rows = [];
for (const [name, path, token] of CALLS.filter(([name]) => !only || only.test(name))) {
  const times = [];
  const time = async () => {
    const t = performance.now();
    const res = await fetch(`${b.url}/admin/v1${path}`, { headers: { authorization: `Bearer ${token ?? admin}` } });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${path}: ${res.status}`);
    return performance.now() - t;
  };
  // Three to warm up; a call slower than a second is timed five times only (its p95 is then its worst).
  let warm = 0;
  for (let i = 0; i < 3; i++) warm = Math.max(warm, await time());
  for (let i = 0, n = warm > 1000 ? 5 : REPEATS; i < n; i++) times.push(await time());
  times.sort((x, y) => x - y);
  const q = (p) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)];
  rows.push({ call: name, p50_ms: +q(0.5).toFixed(1), p95_ms: +q(0.95).toFixed(1), max_ms: +times.at(-1).toFixed(1) });
  console.error(`${name}: p95 ${q(0.95).toFixed(1)} ms`);
}
console.table(rows);
await b.close();
