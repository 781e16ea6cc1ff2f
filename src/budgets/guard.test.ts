import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { emptyDims } from '../core/dimensions.js';
import { FxTable } from '../core/fx.js';
import type { ModelPrice } from '../core/pricing.js';
import { openSqlite } from '../store/sqlite/open.js';
import type { SqlStores } from '../store/sql/stores.js';
import { blankLine } from '../core/ledger.js';
import { MemoryRunTracker } from './agent-runs.js';
import { createLogger } from '../telemetry/log.js';
import { Writable } from 'node:stream';
import { BudgetIndex, counterKey } from './budget-index.js';
import { MemoryCounters } from './counters-memory.js';
import { BudgetGuard } from './guard.js';
import { MemoryRateLimits } from './rate-memory.js';
import { BUDGET_KIND } from './model.js';

const M = 1_000_000_000n;
const price: ModelPrice = {
  provider: 'p', model: 'm', aliases: [], kind: 'chat', currency: 'USD', effectiveFrom: 0,
  rates: { input: 1n * M, output: 1n * M }, longContext: null, tiers: {}, toolCalls: {}, perRequest: 0n, version: 'v',
};
const calendar = { zone: 'UTC', weekStart: 1, fiscalYearStartMonth: 1 };
const silent = createLogger('silent', new Writable({ write: (_c, _e, cb) => cb() }) as never);

let stores: SqlStores | null = null;
let dir = '';
afterEach(async () => {
  await stores?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function setup(spec: Record<string, unknown>, clock: { now: number }) {
  dir = mkdtempSync(join(tmpdir(), 'guard-'));
  stores = await openSqlite(join(dir, 'b.db'));
  await stores.config.write({ kind: BUDGET_KIND, id: String(spec.id), body: { spec: { thresholds: [], enforcement: 'hard', category: 'production', scope: {}, ...spec }, managed_by: 'api', status: 'active', graduated_to: null } }, { actor: 't', action: 'budget.create', target: 'b', details: {} });
  const index = await BudgetIndex.load(stores.config, calendar, 'USD');
  const counters = new MemoryCounters(() => clock.now);
  const guard = new BudgetGuard({ index, counters, rates: new MemoryRateLimits(), runs: new MemoryRunTracker(), events: stores.events, fx: new FxTable([]), calendar, minOutputTokens: 1, leaseMs: 60_000, log: silent, now: () => clock.now });
  return { guard, counters, index };
}

const facts = { dims: emptyDims(), tags: null, groups: [] };
const input = (id: string, cap: number) => ({ id, facts, price, inputBound: 0, requestedCap: cap, defaultCap: cap, requestHash: () => id });

describe('BudgetGuard', () => {
  it('carries unused money into the next window, up to the rollover cap', async () => {
    const clock = { now: Date.UTC(2026, 1, 10) };
    const { guard, counters } = await setup({ id: 'b', window: 'month', limit: { amount: '100', currency: 'USD' }, rollover: { max: '30' } }, clock);
    await counters.load({ amounts: [{ key: counterKey('b', Date.UTC(2026, 0, 1), null), nano: 60n * M, tokens: 0, requests: 1 }], snapshot: null });
    // $1 per million output tokens: 130 dollars is 130 million tokens of output.
    const a = await guard.admit(input('c1', 130_000_000));
    expect(a.cap).toBeNull();
    await guard.release(a);
    expect(await guard.admit(input('c2', 130_000_001))).toMatchObject({ cap: 130_000_000, capReason: 'budget:b' });
  });

  it('starts a fresh counter when the window turns', async () => {
    const clock = { now: Date.UTC(2026, 0, 31, 23, 59) };
    const { guard } = await setup({ id: 'b', window: 'month', limit: { amount: '10', currency: 'USD' } }, clock);
    const a = await guard.admit(input('c1', 10_000_000));
    // The call ends: its cost replaces its reservation.
    const line = { ...blankLine('c1', clock.now), costNano: 10n * M, budgetCharges: guard.chargesFor(a, 10n * M, 'USD') };
    expect(guard.finish(a, line)).toBeUndefined();
    await expect(guard.admit(input('c2', 1_000))).rejects.toMatchObject({ code: 'budget_exceeded' });
    clock.now = Date.UTC(2026, 1, 1, 0, 1);
    const b = await guard.admit(input('c3', 1_000));
    expect(b.reserved.keys[0]).toBe(counterKey('b', Date.UTC(2026, 1, 1), null));
  });

  it('counts a changed budget in its new window at once, and a look at a past window does not stick', async () => {
    const clock = { now: Date.UTC(2026, 0, 15, 12) };
    const { guard, index } = await setup({ id: 'b', window: 'month', limit: { amount: '10', currency: 'USD' } }, clock);
    const key = async (id: string) => (await guard.admit(input(id, 1_000))).reserved.keys[0];
    expect(await key('c1')).toBe(counterKey('b', Date.UTC(2026, 0, 1), null));
    // Threshold events of last month's lines read last month's window.
    expect(index.windowOf(index.get('b')!, Date.UTC(2025, 11, 20)).start).toBe(Date.UTC(2025, 11, 1));
    expect(await key('c2')).toBe(counterKey('b', Date.UTC(2026, 0, 1), null));
    const spec = { id: 'b', window: 'day', limit: { amount: '10', currency: 'USD' }, thresholds: [], enforcement: 'hard', category: 'production', scope: {} };
    await stores!.config.write({ kind: BUDGET_KIND, id: 'b', body: { spec, managed_by: 'api', status: 'active', graduated_to: null } }, { actor: 't', action: 'budget.update', target: 'b', details: {} });
    expect(await key('c3')).toBe(counterKey('b', Date.UTC(2026, 0, 15), null));
  });

  it('keeps a running call\'s reservation past its lease time, renewing it while this process runs', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] });
    try {
      const clock = { now: Date.UTC(2026, 1, 10) };
      const { guard } = await setup({ id: 'b', window: 'month', limit: { amount: '100', currency: 'USD' } }, clock);
      // $1 per million output tokens: $60 of the $100 reserved.
      await guard.admit(input('c1', 60_000_000));
      // Three lease times (60 s each) go by, the guard renewing every 20 s.
      for (let i = 0; i < 9; i++) {
        clock.now += 20_000;
        vi.advanceTimersByTime(20_000);
      }
      expect(await guard.admit(input('c2', 60_000_000))).toMatchObject({ cap: 40_000_000, capReason: 'budget:b' });
      guard.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('counts a call when it ends, and records the thresholds passed when lines are committed, none missed', async () => {
    const clock = { now: Date.UTC(2026, 1, 10) };
    const notify = (at: number) => ({ at, actions: ['notify'] });
    const { guard, counters } = await setup({ id: 'b', window: 'month', limit: { amount: '100', currency: 'USD' }, thresholds: [notify(50), notify(75), notify(90)] }, clock);
    const end = async (id: string, dollars: bigint) => {
      const a = await guard.admit(input(id, 1_000));
      const line = { ...blankLine(id, clock.now), costNano: dollars * M, budgetCharges: guard.chargesFor(a, dollars * M, 'USD') };
      guard.finish(a, line);
      return line;
    };
    const thresholds = async () => (await stores!.events.list({ budget: 'b' })).map((e) => e.details.threshold).sort();
    const first = await end('c1', 60n);
    const second = await end('c2', 20n);
    // Both are counted before either line is committed.
    expect((await counters.read([first.budgetCharges!.keys[0]!])).values().next().value).toMatchObject({ nano: 80n * M, requests: 2, reservedNano: 0n });
    await guard.count([first], { added: [first], commit: null });
    expect(await thresholds()).toEqual([50, 75]);
    await guard.count([second], { added: [second], commit: null });
    expect(await thresholds()).toEqual([50, 75]);
    await guard.count([await end('c3', 15n)], { added: [], commit: null });
    expect(await thresholds()).toEqual([50, 75, 90]);
  });

  it('refuses a call that cannot pay for its prompt, whatever the cap', async () => {
    const clock = { now: Date.UTC(2026, 5, 1) };
    const { guard } = await setup({ id: 'b', window: 'day', limit: { amount: '0.000001', currency: 'USD' } }, clock);
    await expect(guard.admit({ ...input('c', 10), inputBound: 5_000 })).rejects.toMatchObject({ code: 'budget_exceeded' });
  });
});
