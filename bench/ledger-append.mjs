// Ledger append rate into SQLite: the store alone (one transaction per batch) and the whole
// writer path (spool write per line + batched store appends), for several batch sizes.
//   node bench/ledger-append.mjs [lines=1000000] [varied|one-key]
//   BATCHES=150,1500 node bench/ledger-append.mjs 150000 one-key   # other batch sizes
// varied (default): every dimension varies from line to line, so nearly every line makes its
// own row in each rollup (their worst case). one-key: every line from one key and workflow, as
// the gateway bench's traffic (each rollup keeps a row per batch).
// Prints a markdown table. Run after `npm run build`.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { blankLine } from '../dist/core/ledger.js';
import { openSqlite } from '../dist/store/sqlite/open.js';
import { LedgerWriter } from '../dist/ledger/writer.js';
import { uuidv7 } from '../dist/gateway/ids.js';

const N = Number(process.argv[2] ?? 1_000_000);
const ONE_KEY = process.argv[3] === 'one-key';
const DEPTS = ['marketing', 'support', 'legal', 'finance', 'platform'];
// Gateway lines are keyed by UUIDv7 request ids (time-ordered), as here.
const t00 = Date.now();
const ids = Array.from({ length: N }, (_, i) => uuidv7(t00 + i));
const MODELS = ['gpt-4o-mini', 'gpt-4.1', 'claude-sonnet-4-5', 'claude-haiku-4-5', 'gemini-2.5-flash'];

function line(i, t0) {
  const b = blankLine(ids[i], t0 + i);
  return {
    ...b,
    dims: ONE_KEY
      ? { ...b.dims, department: 'support', cost_centre: 'SUPP', project: 'support-bot', user: 'bob', workflow: 'order-support', provider: 'openai', model: MODELS[0], key: 'key_1' }
      : { ...b.dims, department: DEPTS[i % 5], cost_centre: 'CC' + (i % 5), project: `p${i % 40}`, user: `u${i % 300}`, workflow: `w${i % 25}`, provider: 'openai', model: MODELS[i % 5], key: `key_${i % 100}` },
    tags: ONE_KEY ? { channel: 'web' } : i % 7 === 0 ? { ticket: `T-${i}` } : null,
    endpoint: 'chat', tokens: { input: 231 + (i % 50), cached_input: 0, cache_write: 0, output: 46, reasoning: 0 },
    costNano: 62_250n + BigInt(i % 100), priceVersion: 'openai/gpt-4o-mini@2024-07-18', httpStatus: 200, latencyMs: 2, ttfbMs: 1,
    spendCategory: 'production_inference',
  };
}

async function storeOnly(batch) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-ledger-'));
  const s = await openSqlite(join(dir, 'bursar.db'));
  const t0 = Date.now();
  const lines = Array.from({ length: N }, (_, i) => line(i, t0));
  const start = performance.now();
  for (let i = 0; i < N; i += batch) await s.ledger.append(lines.slice(i, i + batch));
  const secs = (performance.now() - start) / 1000;
  await s.close();
  rmSync(dir, { recursive: true, force: true });
  return N / secs;
}

// The gateway's path: each call's intent group-committed to the spool (here a whole batch of
// calls shares one write), then the final lines batched into the store.
async function writerPath(batch) {
  const dir = mkdtempSync(join(tmpdir(), 'bench-writer-'));
  const s = await openSqlite(join(dir, 'bursar.db'));
  const w = new LedgerWriter(s.ledger, join(dir, 'spool'), { batchSize: batch, flushMs: 50, fsync: false });
  const t0 = Date.now();
  const lines = Array.from({ length: N }, (_, i) => line(i, t0));
  const start = performance.now();
  for (let i = 0; i < N; i += batch) {
    const end = Math.min(N, i + batch);
    let written;
    for (let j = i; j < end; j++) written = w.intent(lines[j]);
    await written;
    for (let j = i; j < end; j++) w.record(lines[j]);
    await w.flush();
  }
  await w.close();
  const secs = (performance.now() - start) / 1000;
  await s.close();
  rmSync(dir, { recursive: true, force: true });
  return N / secs;
}

const rows = [];
for (const batch of (process.env.BATCHES ?? '500,2000,10000').split(',').map(Number)) {
  rows.push([batch, Math.round(await storeOnly(batch)), Math.round(await writerPath(batch))]);
}
console.log(`Ledger append, ${N.toLocaleString('en')} ${ONE_KEY ? 'one-key' : 'varied'} lines per run, SQLite (WAL, synchronous=NORMAL), node ${process.version}`);
console.log('| batch size | store.append lines/s | writer path (intent spooled, final line batched to the store) lines/s |');
console.log('|---:|---:|---:|');
for (const r of rows) console.log(`| ${r[0]} | ${r[1].toLocaleString('en')} | ${r[2].toLocaleString('en')} |`);
