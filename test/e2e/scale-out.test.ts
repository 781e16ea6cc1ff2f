/**
 * Scale-out on the real PostgreSQL and Redis: three replicas in-process, each with its own
 * spool, sharing one ledger, one config and one set of counters.
 * - hard caps at several levels hold exactly under hundreds of concurrent calls spread over
 *   the replicas, and the counters equal the ledger;
 * - a change made on one replica is in force on the others at once;
 * - Redis away: hard budgets refuse (budget_unavailable), soft ones flow; back: nothing counted
 *   twice; Redis emptied: the counters are rebuilt from the ledger;
 * - PostgreSQL away: calls flow, their lines wait in the spool, and land once when it is back.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { LedgerLine } from '../../src/core/ledger.js';
import { chargePairs } from '../helpers/counters.js';
import { eventually, ORG_YAML, type TestBursar } from '../helpers/bursar.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { postgresUrl, redisUrl } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const YAML = `${ORG_YAML.replace('users:\n', 'users:\n  - { id: eve, department: marketing }\n')}
ledger: { flush_ms: 50 }
budgets:
  - { id: marketing-cap, name: Marketing, scope: { department: marketing }, window: month, limit: { amount: "0.0120", currency: USD } }
  - { id: campaign-cap, name: Campaign, scope: { project: campaign-ai }, window: month, limit: { amount: "0.0060", currency: USD } }
  - { id: marketing-people, name: Marketing per person, scope: { department: marketing }, per: user, window: day, limit: { amount: "0.0050", currency: USD } }
  - { id: support-requests, name: Support requests, scope: { department: support }, window: month, limit: { requests: 60 } }
  - { id: finance-soft, name: Finance, scope: { department: finance }, window: month, limit: { amount: "100", currency: USD }, enforcement: soft }
  - { id: platform-allow, name: Platform, scope: { department: platform }, window: month, limit: { amount: "100", currency: USD }, on_counter_outage: allow }
routes:
  - { id: faq, tiers: { standard: gpt-4o-mini }, default_tier: standard, cache: { ttl_seconds: 600, share: department } }
  - { id: legal, owner: alice, tiers: { premium: gpt-4o, economy: gpt-4o-mini }, default_tier: economy, exceptions: approval }
`;

type Outcome = { ok: true; id: string } | { ok: false; status: number; code: string };

async function call(t: TestBursar, secret: string, content: string, maxTokens = 40, model = 'gpt-4o', headers: Record<string, string> = {}): Promise<Outcome> {
  try {
    const { response } = await t
      .openai(secret, headers)
      .chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: maxTokens })
      .withResponse();
    return { ok: true, id: response.headers.get('x-request-id')! };
  } catch (e) {
    const err = e as { status?: number; code?: string };
    if (err.status === undefined) throw e;
    return { ok: false, status: err.status, code: String(err.code) };
  }
}

/** Every line of the shared ledger, once every replica has written and counted what it holds. */
async function allLines(c: Cluster): Promise<LedgerLine[]> {
  for (const r of c.replicas) await r.settled();
  return c.replicas[0]!.lines();
}

/** What the ledger charged each budget's counters, summed per budget. */
function chargedByBudget(lines: readonly LedgerLine[]): Map<string, { nano: bigint; requests: number }> {
  const out = new Map<string, { nano: bigint; requests: number }>();
  for (const l of lines) {
    for (const ch of chargePairs(l.budgetCharges)) {
      const id = ch.key.split('|')[0]!;
      const s = out.get(id) ?? { nano: 0n, requests: 0 };
      out.set(id, { nano: s.nano + ch.nano, requests: s.requests + 1 });
    }
  }
  return out;
}

interface Status { members: { member: string | null; used: { amount: string }; reserved: { amount: string }; requests: { used: number } }[] }
const nano = (amount: string): bigint => {
  const [whole, frac = ''] = amount.split('.');
  return BigInt(whole!) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
};

describe('three replicas on one PostgreSQL and one Redis', () => {
  let c: Cluster;
  beforeAll(async () => {
    // Answers take a little while, so that many calls are in flight at once on every replica.
    c = await startCluster(3, YAML, { sim: { fault: () => ({ kind: 'delay', ms: 20 }) } });
  });
  afterAll(() => c.close());

  it('hold hard caps at several levels exactly under hundreds of concurrent calls, and count what the ledger holds', async () => {
    const [r0] = c.replicas;
    const keys = await Promise.all([
      r0!.key({ project: 'campaign-ai', user: 'alice' }),
      r0!.key({ department: 'marketing', user: 'eve' }),
      r0!.key({ department: 'marketing', user: 'alice' }),
      r0!.key({ department: 'support' }),
    ]);
    const calls = Array.from({ length: 320 }, (_, i) => call(c.replicas[i % 3]!, keys[i % 4]!.secret, `question ${i}`));
    const outcomes = await Promise.all(calls);
    const refusals = outcomes.filter((o): o is Extract<Outcome, { ok: false }> => !o.ok);
    // Every refusal is a budget's, and every key met one.
    expect(new Set(refusals.map((r) => `${r.status} ${r.code}`))).toEqual(new Set(['429 budget_exceeded']));
    for (let k = 0; k < 4; k++) expect(outcomes.filter((o, i) => i % 4 === k && !o.ok).length).toBeGreaterThan(0);

    const lines = await allLines(c);
    expect(lines.filter((l) => l.status === 'ok').length).toBe(outcomes.filter((o) => o.ok).length);
    const charged = chargedByBudget(lines);
    // The overshoot is exactly 0 on every level.
    expect(charged.get('marketing-cap')!.nano).toBeLessThanOrEqual(12_000_000n);
    expect(charged.get('campaign-cap')!.nano).toBeLessThanOrEqual(6_000_000n);
    expect(charged.get('support-requests')!.requests).toBe(60);
    const perPerson = new Map<string, bigint>();
    for (const l of lines) for (const ch of chargePairs(l.budgetCharges)) if (ch.key.startsWith('marketing-people|')) perPerson.set(ch.key, (perPerson.get(ch.key) ?? 0n) + ch.nano);
    expect(perPerson.size).toBe(2);
    for (const v of perPerson.values()) expect(v).toBeLessThanOrEqual(5_000_000n);

    // Every replica reads the same counters, and they hold exactly what the ledger holds.
    for (const r of c.replicas) {
      const dept = (await r.admin<Status>('GET', '/budgets/marketing-cap')).body.members[0]!;
      expect(nano(dept.used.amount)).toBe(charged.get('marketing-cap')!.nano);
      expect(dept.reserved.amount).toBe('0');
      const support = (await r.admin<Status>('GET', '/budgets/support-requests')).body.members[0]!;
      expect(support.requests.used).toBe(60);
    }
  });

  it('agree on changes within moments: a key revoked, a budget lowered, an override approved', async () => {
    const [r0, r1, r2] = c.replicas as [TestBursar, TestBursar, TestBursar];
    const k = await r0.key({ department: 'platform' });
    // The key made on r0 works on r2 as soon as the API answered (a miss waits for the changes in flight).
    expect(await call(r2, k.secret, 'hello', 5)).toMatchObject({ ok: true });
    const token = (await r0.admin<{ secret: string }>('POST', '/tokens', { label: 'ops', role: 'admin' })).body.secret;
    expect((await r1.admin('GET', '/whoami', undefined, token)).status).toBe(200);

    const revoked = Date.now();
    expect((await r0.admin('POST', `/keys/${k.id}/revoke`)).status).toBe(200);
    await eventually(async () => expect(await call(r1, k.secret, 'again', 5)).toMatchObject({ ok: false, status: 401 }));
    await eventually(async () => expect(await call(r2, k.secret, 'again', 5)).toMatchObject({ ok: false, status: 401 }));
    const revokedIn = Date.now() - revoked;

    const budget = { id: 'finance-cap', name: 'Finance hard', scope: { department: 'finance' }, window: 'month', limit: { amount: '5.00', currency: 'USD' }, owner: 'alice' };
    expect((await r0.admin('POST', '/budgets', budget)).status).toBe(201);
    const g = await r0.key({ department: 'finance', user: 'carol' });
    await eventually(async () => expect((await r2.admin<Status>('GET', '/budgets/finance-cap')).status).toBe(200));
    expect((await r1.admin('PUT', '/budgets/finance-cap', { ...budget, limit: { amount: '0.000001', currency: 'USD' } })).status).toBe(200);
    await eventually(async () => expect(await call(r2, g.secret, 'too dear now', 5)).toMatchObject({ ok: false, code: 'budget_exceeded' }));

    const owner = (await r0.admin<{ secret: string }>('POST', '/tokens', { label: 'alice', role: 'member', user: 'alice' })).body.secret;
    const o = await r0.admin<{ id: string }>('POST', '/budgets/finance-cap/overrides', { amount: '1.00', reason: 'launch' }, owner);
    expect((await r1.admin('POST', `/overrides/${o.body.id}/approve`, { note: 'ok' }, owner)).status).toBe(200);
    await eventually(async () => expect(await call(r2, g.secret, 'now it may', 5)).toMatchObject({ ok: true }));
    // LISTEN/NOTIFY carries a change in milliseconds; the figure is in docs/benchmarks.md.
    expect(revokedIn).toBeLessThan(5_000);
  });

  it("share a route's response cache through Redis, and an exception approved on one replica serves on the others", async () => {
    const [r0, r1, r2] = c.replicas as [TestBursar, TestBursar, TestBursar];
    const k = await r0.key({ department: 'platform' });
    const ask = async (r: TestBursar) =>
      (await r.openai(k.secret).chat.completions.create({ model: 'route:faq', messages: [{ role: 'user', content: 'Opening hours?' }], max_tokens: 20 }).withResponse()).response.headers;
    expect((await ask(r0)).get('x-bursar-cache')).toBe('miss');
    const hit = await ask(r1);
    expect(hit.get('x-bursar-cache')).toBe('hit');
    expect((await ask(r2)).get('x-bursar-cache')).toBe('hit');
    await r1.settled();
    expect(await r1.line(hit.get('x-request-id')!)).toMatchObject({ cacheHit: true, costNano: 0n });

    const premium = (r: TestBursar) => call(r, k.secret, 'x', 5, 'route:legal/premium', { 'x-bursar-exception': 'a filing' });
    expect(await premium(r2)).toMatchObject({ ok: false, code: 'exception_needs_approval' });
    const asked = (await r0.admin<{ id: string }>('POST', '/exceptions', { route: 'legal', tier: 'premium', for: { key: k.id }, reason: 'filing' })).body;
    expect((await r1.admin('POST', `/exceptions/${asked.id}/approve`, {})).status).toBe(200);
    await eventually(async () => expect(await premium(r2)).toMatchObject({ ok: true }));
  });
});

describe('Redis unavailable', () => {
  let proxy: TcpProxy;
  let c: Cluster;
  beforeAll(async () => {
    const u = new URL(redisUrl());
    proxy = await startTcpProxy(u.hostname, Number(u.port || 6379));
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    c = await startCluster(2, YAML, { urls: { redis: u.toString() } });
  });
  afterAll(async () => {
    await c.close();
    await proxy.close();
  });
  afterEach(() => proxy.restore());

  it('refuses calls of hard budgets, lets soft ones through, and counts them once when Redis is back', async () => {
    const [r0, r1] = c.replicas as [TestBursar, TestBursar];
    const hard = await r0.key({ department: 'support' });
    const soft = await r0.key({ department: 'finance' });
    const allow = await r0.key({ department: 'platform' });
    expect(await call(r0, soft.secret, 'before', 10)).toMatchObject({ ok: true });
    await r0.settled();

    proxy.cut();
    const refused = await call(r1, hard.secret, 'during', 10);
    expect(refused).toMatchObject({ ok: false, status: 503, code: 'budget_unavailable' });
    const during = [await call(r0, soft.secret, 'during 1', 10), await call(r1, soft.secret, 'during 2', 10), await call(r1, allow.secret, 'during 3', 10)];
    expect(during.every((o) => o.ok)).toBe(true);
    // Their lines are in the ledger; counting them waits for Redis (settled() would wait too).
    for (const r of c.replicas) await r.b.writer.flush();
    const metrics = await (await fetch(`${r1.url}/metrics`)).text();
    expect(metrics).toMatch(/bursar_budget_outage_admissions_total 2/);
    expect(metrics).toMatch(/bursar_budget_settlements_pending [1-9]/);

    proxy.restore();
    await eventually(async () => expect(await call(r1, hard.secret, 'after', 10)).toMatchObject({ ok: true }), 15_000);
    const lines = await allLines(c);
    const ledger = chargedByBudget(lines);
    await eventually(async () => {
      for (const id of ['finance-soft', 'platform-allow', 'support-requests']) {
        const s = (await r0.admin<Status>('GET', `/budgets/${id}`)).body.members[0]!;
        expect({ id, nano: nano(s.used.amount), requests: s.requests.used }).toEqual({ id, nano: ledger.get(id)!.nano, requests: ledger.get(id)!.requests });
      }
    }, 10_000);
    expect(ledger.get('finance-soft')!.requests).toBe(3);
    expect(ledger.get('platform-allow')!.requests).toBe(1);
  });

  it('starts a replica while Redis is away: hard budgets refuse until it is back', async () => {
    proxy.cut();
    const late = await c.add();
    const k = await late.key({ department: 'support' });
    expect(await call(late, k.secret, 'while away', 5)).toMatchObject({ ok: false, status: 503, code: 'budget_unavailable' });
    proxy.restore();
    // Every replica, the late one and those whose connections were cut, serves again.
    for (const r of c.replicas) await eventually(async () => expect(await call(r, k.secret, 'back', 5)).toMatchObject({ ok: true }), 15_000);
  });

  it('rebuilds the counters from the ledger when Redis lost its data', async () => {
    const [r0, r1] = c.replicas as [TestBursar, TestBursar];
    const k = await r0.key({ department: 'support' });
    for (let i = 0; i < 3; i++) expect(await call(r1, k.secret, `q${i}`, 5)).toMatchObject({ ok: true });
    const before = chargedByBudget(await allLines(c)).get('support-requests')!.requests;
    // As if Redis restarted without persistence: every key of the installation is gone.
    const keys = await c.redis.keys(`{${c.prefix}}:*`);
    expect(keys.length).toBeGreaterThan(0);
    await c.redis.del(...keys);
    // The next call finds the counters missing; a replica rebuilds them from the ledger.
    await eventually(async () => expect(await call(r0, k.secret, 'after the loss', 5)).toMatchObject({ ok: true }), 15_000);
    await allLines(c);
    const s = (await r1.admin<Status>('GET', '/budgets/support-requests')).body.members[0]!;
    expect(s.requests.used).toBe(before + 1);
  });
});

describe('PostgreSQL unavailable', () => {
  let proxy: TcpProxy;
  let c: Cluster;
  beforeAll(async () => {
    const u = new URL(postgresUrl());
    proxy = await startTcpProxy(u.hostname, Number(u.port || 5432));
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    c = await startCluster(2, YAML, { urls: { database: u.toString() } });
  });
  afterAll(async () => {
    proxy.restore();
    await c.close();
    await proxy.close();
  });

  it('keeps admitting calls, spools their lines, and writes each once when it is back', async () => {
    const [r0, r1] = c.replicas as [TestBursar, TestBursar];
    const k = await r0.key({ department: 'support' });
    expect(await call(r1, k.secret, 'before', 5)).toMatchObject({ ok: true });
    await r1.settled();

    proxy.cut();
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => call(c.replicas[i % 2]!, k.secret, `during ${i}`, 5)));
    expect(during.every((o) => o.ok)).toBe(true);
    // The writers hold the lines (in their spools, on disk) and keep retrying.
    await eventually(async () => expect(r0.b.writer.pending + r1.b.writer.pending).toBe(20));

    proxy.restore();
    const lines = await eventually(async () => {
      const all = await allLines(c);
      expect(all.filter((l) => l.status === 'ok').length).toBe(21);
      return all;
    }, 20_000);
    const ids = new Set(lines.map((l) => l.id));
    for (const o of during) expect(ids.has((o as { id: string }).id)).toBe(true);
    expect(ids.size).toBe(lines.length);
    // Counted once on the budget, as the ledger holds them.
    const s = (await r0.admin<Status>('GET', '/budgets/support-requests')).body.members[0]!;
    expect(s.requests.used).toBe(21);
  });
});
