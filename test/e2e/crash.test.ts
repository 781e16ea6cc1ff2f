/**
 * Crash safety and graceful stop, on the built binary as an operator runs it:
 * - kill -9 under load, then restart: every call that reached the provider is in the ledger
 *   exactly once, settled or charged at its worst case and flagged unsettled;
 * - SIGTERM under load: calls in flight finish whole, and every one of them is in the ledger.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Simulator } from '../../src/providers/simulator/server.js';
import { callThrough, createKey, startProcess } from '../helpers/process.js';

const ADMIN = 'test-admin-token-0123456789abcdef0123456789';
let dir: string;
let sim: Simulator;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-crash-'));
  sim = new Simulator({ eventDelayMs: 15 });
  await sim.start();
  writeFileSync(join(dir, 'bursar.yaml'), `
departments: [{ id: support, cost_centre: SUPP }]
providers:
  - { id: openai, dialect: openai, base_url: "${sim.url}", api_key: { env: SIM_KEY } }
ledger: { flush_ms: 200 }
`);
});

afterEach(async () => {
  await sim.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = { BURSAR_ADMIN_TOKEN: ADMIN, SIM_KEY: 'sk-sim' };

const createSupportKey = (url: string): Promise<string> => createKey(url, ADMIN, 'support', 'load');

interface Row { id: string; status: string; usage_exact: bigint; cost_nano: bigint; tags: string }

function ledgerRows(): Row[] {
  const db = new Database(join(dir, 'data', 'bursar.db'), { readonly: true });
  db.defaultSafeIntegers(true);
  const rows = db.prepare('select id, status, usage_exact, cost_nano, tags from ledger_lines').all() as Row[];
  db.close();
  return rows;
}

const job = (r: Row): string => (JSON.parse(r.tags) as { job: string }).job;
const markerOf = (body: Record<string, unknown>): string => String((body.messages as { content: string }[])[0]!.content).replace('job ', '');

describe('crash safety', () => {
  it('after kill -9 and a restart, every call the provider saw is in the ledger exactly once', async () => {
    // Streams "stall-*" never finish on their own: they are surely in flight when the process dies.
    sim.options = { eventDelayMs: 5, fault: (r) => (markerOf(r.body).startsWith('stall') ? { kind: 'stall', afterEvents: 3 } : undefined) };
    const first = await startProcess(dir, env);
    const key = await createSupportKey(first.url);
    const call = (marker: string, stream: boolean) =>
      callThrough(first.url, key, { model: 'gpt-4o-mini', max_tokens: 40, stream, messages: [{ role: 'user', content: `job ${marker}` }] }, { 'x-bursar-tags': `job=${marker}` });
    const done = await Promise.all(Array.from({ length: 20 }, (_, i) => call(`ok${i}`, i % 2 === 0)));
    expect(done.every((r) => 'status' in r && r.status === 200)).toBe(true);
    // Their final lines reach the store within flush_ms; wait for that, so they must come back exact.
    for (;;) {
      const ready = (await (await fetch(`${first.url}/readyz`)).json()) as { ledger_pending: number };
      if (ready.ledger_pending === 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const stalled = Array.from({ length: 30 }, (_, i) => call(`stall${i}`, true));
    while (sim.requests.filter((r) => markerOf(r.body).startsWith('stall')).length < 30) await new Promise((r) => setTimeout(r, 10));
    // More load at the moment of the kill: these may or may not reach the provider, and may or may
    // not have their final line in the store; each is in the ledger once, exact or at worst case.
    const racing = Array.from({ length: 20 }, (_, i) => call(`race${i}`, i % 2 === 0));
    first.child.kill('SIGKILL');
    await first.exited;
    await Promise.all([...stalled, ...racing]);
    const reached = new Set(sim.requests.map((r) => markerOf(r.body)));

    const second = await startProcess(dir, env);
    second.child.kill('SIGTERM');
    expect(await second.exited, second.stderr()).toBe(0);

    const rows = ledgerRows();
    const byJob = new Map<string, Row[]>();
    for (const r of rows) byJob.set(job(r), [...(byJob.get(job(r)) ?? []), r]);
    for (const j of reached) expect(byJob.get(j)?.length, `job ${j}`).toBe(1);
    for (const [j, list] of byJob) expect(list.length, `job ${j}`).toBe(1);
    for (let i = 0; i < 20; i++) {
      const r = byJob.get(`ok${i}`)![0]!;
      expect([r.status, r.usage_exact]).toEqual(['ok', 1n]);
    }
    for (let i = 0; i < 30; i++) {
      const r = byJob.get(`stall${i}`)![0]!;
      expect([r.status, r.usage_exact]).toEqual(['unsettled', 0n]);
      expect(r.cost_nano).toBeGreaterThan(0n);
    }
    expect(second.stderr()).not.toContain('Error');
  });
});

describe('graceful stop', () => {
  it('SIGTERM lets calls in flight finish, loses no line, and refuses new calls', async () => {
    const p = await startProcess(dir, env);
    const key = await createSupportKey(p.url);
    const calls = Array.from({ length: 20 }, (_, i) =>
      callThrough(p.url, key, { model: 'gpt-4o-mini', max_tokens: 40, stream: true, messages: [{ role: 'user', content: `job ${i}` }] }, { 'x-bursar-tags': `job=${i}` }),
    );
    // Every call has reached the provider (each stream takes ~0.4 s more): stop now.
    while (sim.requests.length < 20) await new Promise((r) => setTimeout(r, 10));
    p.child.kill('SIGTERM');
    const results = await Promise.all(calls);
    expect(await p.exited).toBe(0);
    for (const r of results) {
      expect('status' in r && r.status).toBe(200);
      expect('text' in r && r.text).toContain('data: [DONE]');
    }
    const late = await callThrough(p.url, key, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'late' }] });
    expect('error' in late).toBe(true);
    const rows = ledgerRows();
    expect(rows.length).toBe(20);
    expect(rows.every((r) => r.status === 'ok' && r.usage_exact === 1n)).toBe(true);
  });
});
