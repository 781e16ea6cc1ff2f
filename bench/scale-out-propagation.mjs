// How long a change made on one replica takes to be in force on another (scale-out mode): two
// replicas in this process on the local PostgreSQL and Redis; the change is made through A's
// admin API, and B is called in a tight loop until it acts on it. Measured from A's answer to
// B's first call that obeys. Each figure includes one call to B (~1 ms), so it is an upper bound.
//   node bench/scale-out-propagation.mjs [rounds=200]
// Needs `npm run build`; uses, and drops, the schema bench_propagation and Redis prefix bench-propagation.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import pg from 'pg';
import { startBursar } from '../dist/app.js';
import { loadConfig } from '../dist/config/load.js';
import { Simulator } from '../dist/providers/simulator/server.js';

const ROUNDS = Number(process.argv[2] ?? 200);
const DB = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const REDIS = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const TOKEN = 'bench-admin-token-0123456789abcdef0123456789';
const YAML = `
departments: [{ id: support, cost_centre: SUPP }, { id: finance, cost_centre: FIN }]
users: [{ id: bob, department: support }]
providers: [{ id: openai, dialect: openai, simulate: true }]
`;

const c = new pg.Client({ connectionString: DB });
await c.connect();
await c.query('drop schema if exists bench_propagation cascade');
const redis = new Redis(REDIS);
const stale = await redis.keys('{bench-propagation}:*');
if (stale.length) await redis.del(...stale);

const sim = new Simulator();
await sim.start();
const dirs = [];
async function replica() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prop-'));
  dirs.push(dir);
  const env = {
    BURSAR_DATA_DIR: dir, BURSAR_PORT: '0', BURSAR_LOG_LEVEL: 'error', BURSAR_ADMIN_TOKEN: TOKEN,
    BURSAR_DATABASE_URL: DB, BURSAR_DATABASE_SCHEMA: 'bench_propagation', BURSAR_REDIS_URL: REDIS, BURSAR_REDIS_PREFIX: 'bench-propagation',
  };
  return startBursar(loadConfig({ yaml: YAML, env }), { simulator: sim, logDestination: new Writable({ write: (_c, _e, cb) => cb() }) });
}
const a = await replica();
const b = await replica();

const admin = async (r, method, path, body) => {
  const res = await fetch(`${r.url}/admin/v1${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  if (res.status >= 400) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return res.json();
};
const call = async (r, secret) => {
  const res = await fetch(`${r.url}/v1/chat/completions`, {
    method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }),
  });
  await res.arrayBuffer();
  return res.status;
};
/** From now until B answers `status` to the key. */
async function until(secret, status) {
  const t0 = performance.now();
  for (;;) {
    if ((await call(b, secret)) === status) return performance.now() - t0;
  }
}
const pct = (xs, p) => xs.slice().sort((x, y) => x - y)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

const created = [];
const revoked = [];
const lowered = [];
const budget = { id: 'finance-cap', name: 'Finance', scope: { department: 'finance' }, window: 'month', limit: { amount: '100', currency: 'USD' } };
await admin(a, 'POST', '/budgets', budget);
const fin = await admin(a, 'POST', '/keys', { label: 'fin', department: 'finance' });
for (let i = 0; i < ROUNDS; i++) {
  // A key made on A: B takes it on its first call (an unknown key waits for one barrier).
  const k = await admin(a, 'POST', '/keys', { label: `k${i}`, department: 'support' });
  created.push(await until(k.secret, 200));
  await admin(a, 'POST', `/keys/${k.id}/revoke`);
  revoked.push(await until(k.secret, 401));
  await admin(a, 'PUT', '/budgets/finance-cap', { ...budget, limit: { amount: '0.000000001', currency: 'USD' } });
  lowered.push(await until(fin.secret, 429));
  await admin(a, 'PUT', '/budgets/finance-cap', budget);
  await until(fin.secret, 200);
}

console.log(`Change propagation between two replicas (PostgreSQL LISTEN/NOTIFY), ${ROUNDS} rounds each, node ${process.version}, ${new Date().toISOString().slice(0, 10)}`);
console.log('| change made on replica A | in force on replica B after: p50 ms | p99 ms | max ms |');
console.log('|---|---:|---:|---:|');
for (const [name, xs] of [['key created (B\'s first call succeeds)', created], ['key revoked (B refuses it)', revoked], ['budget lowered (B refuses)', lowered]]) {
  console.log(`| ${name} | ${pct(xs, 50).toFixed(1)} | ${pct(xs, 99).toFixed(1)} | ${Math.max(...xs).toFixed(1)} |`);
}
await a.close();
await b.close();
await sim.close();
await c.query('drop schema if exists bench_propagation cascade');
await c.end();
const left = await redis.keys('{bench-propagation}:*');
if (left.length) await redis.del(...left);
redis.disconnect();
for (const d of dirs) rmSync(d, { recursive: true, force: true });
