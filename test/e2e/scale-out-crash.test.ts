/**
 * A replica killed with kill -9 mid-flight, in scale-out mode, as an operator runs it (the
 * built binary as a process, next to an in-process replica on the same PostgreSQL and Redis):
 * its reservations expire and the budget is usable again within the lease time; restarted, it
 * puts its in-flight calls in the ledger, charged at their worst case and flagged, none twice.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/providers/simulator/server.js';
import { eventually } from '../helpers/bursar.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { callThrough, startProcess } from '../helpers/process.js';
import { redisUrl } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';

let dir: string;
let sim: Simulator;
let c: Cluster;

const content = (body: Record<string, unknown>): string => String((body.messages as { content: string }[])[0]!.content);

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-scale-crash-'));
  // Streams asking "stall ..." never finish on their own: they are surely in flight at the kill.
  sim = new Simulator({ eventDelayMs: 5, fault: (r) => (content(r.body).startsWith('stall') ? { kind: 'stall', afterEvents: 3 } : undefined) });
  await sim.start();
  const yaml = `
departments: [{ id: support, cost_centre: SUPP }, { id: platform, cost_centre: PLAT }]
providers:
  - { id: openai, dialect: openai, base_url: "${sim.url}", api_key: { env: SIM_KEY } }
ledger: { flush_ms: 50 }
budget_policy: { lease_seconds: 2 }
budgets:
  - { id: support-calls, name: Support calls, scope: { department: support }, window: month, limit: { requests: 6 } }
  - { id: platform-calls, name: Platform calls, scope: { department: platform }, window: month, limit: { requests: 1000 }, on_counter_outage: allow }
`;
  writeFileSync(join(dir, 'bursar.yaml'), yaml);
  c = await startCluster(1, yaml, { env: { SIM_KEY: 'sk-sim' } });
});

afterAll(async () => {
  await c?.close();
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Status { members: { requests: { used: number; limit: number } }[] }

describe('kill -9 of a replica', () => {
  it('frees its reservations within the lease time, and its in-flight calls land in the ledger once', async () => {
    const inProcess = c.replicas[0]!;
    const k = await inProcess.key({ department: 'support' });
    const env = { ...c.env, SIM_KEY: 'sk-sim' };
    const first = await startProcess(dir, env);
    const call = (url: string, text: string, stream = false) => callThrough(url, k.secret, { model: 'gpt-4o-mini', max_tokens: 20, stream, messages: [{ role: 'user', content: text }] });

    expect(await call(first.url, 'one that ends')).toMatchObject({ status: 200 });
    // Its final line is in the ledger within flush_ms (a line still in memory at a kill comes back unsettled).
    await eventually(async () => expect(((await (await fetch(`${first.url}/readyz`)).json()) as { ledger_pending: number }).ledger_pending).toBe(0));
    const stalled = Array.from({ length: 5 }, (_, i) => call(first.url, `stall ${i}`, true));
    while (sim.requests.filter((r) => content(r.body).startsWith('stall')).length < 5) await new Promise((r) => setTimeout(r, 10));
    // Six requests a month: one used, five held by the stalled calls. The other replica refuses.
    expect(await call(inProcess.url, 'refused')).toMatchObject({ status: 429 });

    first.child.kill('SIGKILL');
    await first.exited;
    await Promise.all(stalled);
    // Nobody renews the dead replica's leases: within their 2 s the room is free again.
    const killedAt = Date.now();
    await eventually(async () => expect(await call(inProcess.url, 'after the kill')).toMatchObject({ status: 200 }), 10_000);
    expect(Date.now() - killedAt).toBeLessThan(10_000);

    // Restarted on its data folder, it writes what its spool held: the in-flight calls, unsettled.
    const second = await startProcess(dir, env);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr()).toBe(0);
    await inProcess.settled();
    const lines = await inProcess.lines();
    const ids = lines.map((l) => l.id);
    expect(new Set(ids).size).toBe(ids.length);
    const unsettled = lines.filter((l) => l.status === 'unsettled');
    expect(unsettled.length).toBe(5);
    for (const l of unsettled) {
      expect(l.usageExact).toBe(false);
      expect(l.costNano).toBeGreaterThan(0n);
    }
    // The counters hold what the ledger holds: each line once. (Seven of six: the dead replica's
    // calls may have cost money after their leases ran out; docs/operations.md says so.)
    const billed = lines.filter((l) => l.budgetCharges?.keys.length).length;
    expect(billed).toBe(7);
    const s = (await inProcess.admin<Status>('GET', '/budgets/support-calls')).body.members[0]!;
    expect(s.requests).toEqual({ used: 7, limit: 6 });
  });

  it('rebuilds the counters at restart when it died with committed lines it had not counted yet', async () => {
    const inProcess = c.replicas[0]!;
    const k = await inProcess.key({ department: 'platform' });
    // This replica reaches Redis through a proxy, to lose it on demand.
    const u = new URL(redisUrl());
    const proxy = await startTcpProxy(u.hostname, Number(u.port || 6379));
    u.hostname = '127.0.0.1';
    u.port = String(proxy.port);
    const env = { ...c.env, SIM_KEY: 'sk-sim', BURSAR_REDIS_URL: u.toString() };
    const dead = mkdtempSync(join(tmpdir(), 'bursar-scale-uncounted-'));
    writeFileSync(join(dead, 'bursar.yaml'), readFileSync(join(dir, 'bursar.yaml')));
    try {
      const first = await startProcess(dead, env);
      const call = (url: string, text: string) => callThrough(url, k.secret, { model: 'gpt-4o-mini', max_tokens: 20, messages: [{ role: 'user', content: text }] });
      expect(await call(first.url, 'counted')).toMatchObject({ status: 200 });
      await eventually(async () => expect((await inProcess.admin<Status>('GET', '/budgets/platform-calls')).body.members[0]!.requests.used).toBe(1));
      // Redis goes away: the calls still go (the budget allows it), their lines reach
      // PostgreSQL, and counting them waits for Redis, in the replica's memory...
      proxy.cut();
      for (let i = 0; i < 4; i++) expect(await call(first.url, `uncounted ${i}`)).toMatchObject({ status: 200 });
      await eventually(async () => expect(((await (await fetch(`${first.url}/readyz`)).json()) as { ledger_pending: number }).ledger_pending).toBe(0));
      // ...which dies with it.
      first.child.kill('SIGKILL');
      await first.exited;
      proxy.restore();
      await inProcess.settled();
      const inLedger = (await inProcess.lines()).filter((l) => l.dims.department === 'platform').length;
      expect(inLedger).toBe(5);
      const before = (await inProcess.admin<Status>('GET', '/budgets/platform-calls')).body.members[0]!;
      expect(before.requests.used).toBe(1);
      // Its spool still holds those calls: the restart rebuilds the counters from the ledger.
      const second = await startProcess(dead, env);
      second.child.kill('SIGTERM');
      expect(await second.exited, second.stderr()).toBe(0);
      const after = (await inProcess.admin<Status>('GET', '/budgets/platform-calls')).body.members[0]!;
      expect(after.requests.used).toBe(5);
    } finally {
      await proxy.close();
      rmSync(dead, { recursive: true, force: true });
    }
  });
});
