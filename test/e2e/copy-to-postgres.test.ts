/**
 * Moving an embedded installation to PostgreSQL with `bursar copy-to-postgres`, as an operator
 * does it: the SQLite installation stops, the command copies it, a scale-out replica starts on
 * the copy, and the keys, budgets, ledger and audit log are all there; a second run adds nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestBursar } from '../helpers/bursar.js';
import { CLUSTER_ADMIN } from '../helpers/cluster.js';
import { CLI } from '../helpers/process.js';
import { clearRedisPrefix, postgresUrl, redisUrl, requireRedis, uniquePrefix } from '../helpers/services.js';

const run = promisify(execFile);
const schema = uniquePrefix('copy').replace(/-/g, '_');
const prefix = uniquePrefix('copy');
const dir = mkdtempSync(join(tmpdir(), 'bursar-copy-'));

const YAML = `
departments: [{ id: support, cost_centre: SUPP }]
users: [{ id: bob, department: support }]
providers: [{ id: openai, dialect: openai, simulate: true }]
`;

afterAll(async () => {
  const c = new pg.Client({ connectionString: postgresUrl() });
  await c.connect();
  await c.query(`drop schema if exists ${schema} cascade`);
  await c.end();
  const redis = await requireRedis();
  await clearRedisPrefix(redis, prefix);
  redis.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

interface Status { members: { used: { amount: string }; requests: { used: number } }[] }

describe('bursar copy-to-postgres', () => {
  it('moves keys, budgets, the ledger and the audit log, losing nothing, and is safe to run twice', async () => {
    const env = { BURSAR_ADMIN_TOKEN: CLUSTER_ADMIN };
    const embedded = await startTestBursar({ yaml: YAML, dataDir: dir, env });
    const k = await embedded.key({ department: 'support', user: 'bob' });
    const budget = { id: 'support-month', name: 'Support', scope: { department: 'support' }, window: 'month', limit: { amount: '50', currency: 'USD' }, owner: 'bob' };
    expect((await embedded.admin('POST', '/budgets', budget)).status).toBe(201);
    for (let i = 0; i < 12; i++) await embedded.openai(k.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `q${i}` }], max_tokens: 20 });
    await embedded.settled();
    const before = (await embedded.admin<Status>('GET', '/budgets/support-month')).body.members[0]!;
    const until = new Date(Date.now() + 1).toISOString();
    const usage = (await embedded.admin<{ rows: unknown[]; totals: unknown[] }>('GET', `/usage?group_by=department,model&to=${until}`)).body;
    const audit = (await embedded.admin<{ data: { seq: number; hash: string }[] }>('GET', '/audit')).body.data;
    await embedded.close();

    const dbEnv = { ...process.env, BURSAR_DATABASE_URL: postgresUrl(), BURSAR_DATABASE_SCHEMA: schema };
    const first = await run(process.execPath, [CLI, 'copy-to-postgres', '--from', dir, '--json'], { env: dbEnv });
    const report = JSON.parse(first.stdout) as { lines: number; linesAdded: number; configRecords: number; auditEntries: number; totals: Record<string, { lines: number }> };
    expect(report).toMatchObject({ lines: 12, linesAdded: 12, auditEntries: audit.length });
    expect(report.totals.USD!.lines).toBe(12);
    // Again: nothing new.
    const again = JSON.parse((await run(process.execPath, [CLI, 'copy-to-postgres', '--from', dir, '--json'], { env: dbEnv })).stdout) as { linesAdded: number };
    expect(again.linesAdded).toBe(0);

    const replica = await startTestBursar({
      yaml: YAML,
      env: { ...env, BURSAR_DATABASE_URL: postgresUrl(), BURSAR_DATABASE_SCHEMA: schema, BURSAR_REDIS_URL: redisUrl(), BURSAR_REDIS_PREFIX: prefix },
    });
    try {
      // The ledger reports as before, to the nano.
      const moved = (await replica.admin<{ rows: unknown[]; totals: unknown[] }>('GET', `/usage?group_by=department,model&to=${until}`)).body;
      expect(moved.rows).toEqual(usage.rows);
      expect(moved.totals).toEqual(usage.totals);
      expect(usage.rows.length).toBeGreaterThan(0);
      // The same key works; the budget is there, and its counters come back from the ledger.
      await replica.openai(k.secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'on postgres' }], max_tokens: 20 });
      await replica.settled();
      const after = (await replica.admin<Status>('GET', '/budgets/support-month')).body.members[0]!;
      expect(after.requests.used).toBe(before.requests.used + 1);
      expect(Number(after.used.amount)).toBeGreaterThan(Number(before.used.amount));
      // The audit chain is whole and carries on.
      const verify = (await replica.admin<{ ok: boolean; entries: number }>('GET', '/audit/verify')).body;
      expect(verify.ok).toBe(true);
      const movedAudit = (await replica.admin<{ data: { seq: number; hash: string }[] }>('GET', '/audit')).body.data;
      for (const e of audit) expect(movedAudit.find((m) => m.seq === e.seq)?.hash).toBe(e.hash);
      const lines = await replica.lines();
      expect(lines.length).toBe(13);
    } finally {
      await replica.close();
    }
  });
});
