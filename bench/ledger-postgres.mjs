// The ledger on PostgreSQL: sustained append rate (batched, as the writers of one and of three
// replicas send it), then a month of 10 million lines and the time of that month's spend report
// grouped by department and model (monthly partitions and daily rollups), with an arbitrary range
// (rollups plus the raw edges) and, for scale, the same report straight from the lines.
//   node bench/ledger-postgres.mjs [lines=10000000]
// Needs `npm run build` and PostgreSQL (BURSAR_BENCH_DATABASE_URL, default the local one);
// uses, and drops first, the schema bench_ledger. Prints markdown.
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { blankLine } from '../dist/core/ledger.js';
import { uuidv7 } from '../dist/gateway/ids.js';
import { openPostgres } from '../dist/store/postgres/open.js';
import { aggregateLines } from '../dist/store/sql/ledger-queries.js';
import { postgresDialect } from '../dist/store/sql/dialect.js';

const N = Number(process.argv[2] ?? 10_000_000);
const URL_ = process.env.BURSAR_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const SCHEMA = 'bench_ledger';
const DEPTS = ['marketing', 'support', 'legal', 'finance', 'platform', 'sales', 'hr', 'engineering'];
const MODELS = ['gpt-4o-mini', 'gpt-4.1', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'gemini-2.5-flash', 'gpt-4o', 'o4-mini'];
const MONTH = Date.UTC(2026, 9, 1); // October 2026
const MONTH_END = Date.UTC(2026, 10, 1);
const STEP = (MONTH_END - MONTH) / N;

// Each user belongs to one department and project, holds one key, and works in two workflows
// with three models: a day has about 2,000 x 2 x 3 combinations, as a company's traffic would.
function line(i, ts) {
  const b = blankLine(uuidv7(ts), ts);
  const u = (i * 7919) % 2000;
  const d = u % DEPTS.length;
  return {
    ...b,
    dims: {
      ...b.dims, department: DEPTS[d], cost_centre: `CC${d}`, project: `p${u % 60}`, user: `u${u}`, workflow: `w${(u + (i % 2)) % 40}`,
      provider: (u + i) % 3 === 0 ? 'anthropic' : 'openai', model: MODELS[(u + (i % 3)) % MODELS.length], key: `key_${u}`, environment: 'production',
    },
    tags: i % 7 === 0 ? { ticket: `T-${i % 5000}` } : null,
    endpoint: 'chat', tokens: { input: 231 + (i % 500), cached_input: 0, cache_write: 0, output: 46 + (i % 300), reasoning: 0 },
    costNano: 62_250n + BigInt(i % 10_000), priceVersion: 'bench@1', httpStatus: 200, latencyMs: 900, ttfbMs: 300,
    spendCategory: 'production_inference',
    budgetCharges: { keys: [`dept-${DEPTS[d]}|2026-10|`], nanos: [62_250n] },
  };
}

async function resetSchema() {
  const c = new pg.Client({ connectionString: URL_ });
  await c.connect();
  await c.query(`drop schema if exists ${SCHEMA} cascade`);
  await c.end();
}

/** Appends lines [from, to) in batches, from `writers` concurrent writers; returns lines/s. */
async function fill(store, from, to, batch, writers, at) {
  let next = from;
  const start = performance.now();
  let last = start;
  const worker = async () => {
    for (;;) {
      const i = next;
      if (i >= to) return;
      next = Math.min(to, i + batch);
      const lines = [];
      for (let j = i; j < next; j++) lines.push(line(j, at(j)));
      await store.append(lines);
      const now = performance.now();
      if (now - last > 30_000) {
        last = now;
        process.stderr.write(`  ${next.toLocaleString('en')} lines, ${Math.round((next - from) / ((now - start) / 1000)).toLocaleString('en')}/s\n`);
      }
    }
  };
  await Promise.all(Array.from({ length: writers }, worker));
  return (to - from) / ((performance.now() - start) / 1000);
}

async function timeIt(fn, runs) {
  const ms = [];
  let rows;
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    rows = await fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { median: ms[Math.floor(ms.length / 2)], max: ms.at(-1), rows: rows.length };
}

await resetSchema();
const stores = await openPostgres({ url: URL_, schema: SCHEMA, poolSize: 8 });
const admin = new pg.Client({ connectionString: URL_ });
await admin.connect();
const pgVersion = (await admin.query('show server_version')).rows[0].server_version;
await admin.end();
const out = [];
out.push(`Ledger on PostgreSQL ${pgVersion}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}; lines as the gateway writes them (8 departments, 60 projects, 2,000 users and keys, 40 workflows, 7 models; one budget charge each).`);
out.push('');

// 1. Sustained append rate: one writer (one replica) and three (three replicas), batches as the
// writer sends them. These lines go in November, apart from the month measured below.
out.push('| append | batch | writers | lines/s |');
out.push('|---|---:|---:|---:|');
const APPEND_N = Math.min(N, 600_000);
let base = 0;
const nov = (j) => MONTH_END + 86_400_000 + j;
for (const [batch, writers] of [[500, 1], [2000, 1], [2000, 3]]) {
  const rate = await fill(stores.ledger, 1_000_000_000 + base, 1_000_000_000 + base + APPEND_N, batch, writers, nov);
  base += APPEND_N;
  out.push(`| store.append (UNNEST insert + rollups + budget totals, one transaction per batch) | ${batch} | ${writers} | ${Math.round(rate).toLocaleString('en')} |`);
  process.stderr.write(`${out.at(-1)}\n`);
}
out.push('');

// 2. A month of N lines, then its report.
process.stderr.write(`filling October 2026 with ${N.toLocaleString('en')} lines...\n`);
const fillStart = performance.now();
const fillRate = await fill(stores.ledger, 0, N, 2000, 3, (j) => MONTH + Math.floor(j * STEP));
const fillSecs = (performance.now() - fillStart) / 1000;
const c = new pg.Client({ connectionString: URL_, options: `-c search_path=${SCHEMA}` });
await c.connect();
await c.query('analyze');
const size = (await c.query(`select pg_size_pretty(sum(pg_total_relation_size(format('%I.%I', schemaname, tablename)))) as s from pg_tables where schemaname = $1`, [SCHEMA])).rows[0].s;
const rollupRows = (await c.query('select count(*)::int as n from ledger_rollups')).rows[0].n;
await c.end();
out.push(`Filled ${N.toLocaleString('en')} lines in ${fillSecs.toFixed(0)} s (${Math.round(fillRate).toLocaleString('en')} lines/s, 3 writers, batches of 2,000); schema size ${size}; ${rollupRows.toLocaleString('en')} rollup rows.`);
out.push('');
out.push('| report over the month of 10M lines, grouped by department and model | rows | median ms | max ms (of 5) |');
out.push('|---|---:|---:|---:|');
const groupBy = ['department', 'model'];
const month = await timeIt(() => stores.ledger.aggregate({ from: MONTH, to: MONTH_END, groupBy, where: {} }), 5);
out.push(`| the calendar month (whole days: rollups only) | ${month.rows} | ${month.median.toFixed(0)} | ${month.max.toFixed(0)} |`);
const edges = await timeIt(() => stores.ledger.aggregate({ from: MONTH + 2 * 86_400_000 + 13 * 3_600_000, to: MONTH + 20 * 86_400_000 + 9 * 3_600_000, groupBy, where: {} }), 5);
out.push(`| 3 Oct 13:00 to 21 Oct 09:00 (rollups, and the lines of the two part days) | ${edges.rows} | ${edges.median.toFixed(0)} | ${edges.max.toFixed(0)} |`);
const one = await timeIt(() => stores.ledger.aggregate({ from: MONTH, to: MONTH_END, groupBy, where: { department: ['marketing'] } }), 5);
out.push(`| the month, one department (a manager's view) | ${one.rows} | ${one.median.toFixed(0)} | ${one.max.toFixed(0)} |`);
const raw = await timeIt(() => aggregateLines(stores.db, postgresDialect, { from: MONTH, to: MONTH_END, groupBy, where: {} }), 1);
out.push(`| for scale: the month straight from the 10M lines, without rollups | ${raw.rows} | ${raw.median.toFixed(0)} | ${raw.max.toFixed(0)} |`);
await stores.close();
console.log(out.join('\n'));
