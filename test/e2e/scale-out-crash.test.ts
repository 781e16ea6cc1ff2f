/**
 * A replica killed with kill -9 mid-flight, in scale-out mode, as an operator runs it (the
 * built binary as a process, next to an in-process replica on the same PostgreSQL and Redis):
 * its reservations expire and the budget is usable again within the lease time; restarted, it
 * puts its in-flight calls in the ledger, charged at their worst case and flagged, none twice.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/providers/simulator/server.js';
import { eventually } from '../helpers/bursar.js';
import { startCluster, type Cluster } from '../helpers/cluster.js';
import { callThrough, startProcess } from '../helpers/process.js';

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
departments: [{ id: support, cost_centre: SUPP }]
providers:
  - { id: openai, dialect: openai, base_url: "${sim.url}", api_key: { env: SIM_KEY } }
ledger: { flush_ms: 50 }
budget_policy: { lease_seconds: 2 }
budgets:
  - { id: support-calls, name: Support calls, scope: { department: support }, window: month, limit: { requests: 6 } }
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
    const billed = lines.filter((l) => l.budgetCharges?.length).length;
    expect(billed).toBe(7);
    const s = (await inProcess.admin<Status>('GET', '/budgets/support-calls')).body.members[0]!;
    expect(s.requests).toEqual({ used: 7, limit: 6 });
  });
});
