/** The in-process budget counters against the shared conformance suite. */
import { describe, expect, it } from 'vitest';
import { MemoryCounters } from '../../src/budgets/counters-memory.js';
import { charge as chargeOf, charges, held, paid } from '../helpers/counters.js';
import { budgetCountersSuite } from './budget-counters.suite.js';

budgetCountersSuite('in-process', async () => {
  let now = 1_700_000_000_000;
  const counters = new MemoryCounters(() => now);
  return {
    counters,
    advance: async (ms) => {
      now += ms;
    },
    close: () => counters.close(),
  };
});

describe('in-process counters, counted when a call ends', () => {
  const limit = { nano: 100n, tokens: null, requests: null };
  const charge = (key: string, nano: bigint) => chargeOf(key, nano, limit, 10);

  it('replace a call\'s reservation with its line\'s charges at once, and drop its lease', async () => {
    const counters = new MemoryCounters(() => 0);
    expect(counters.reserveNow('c1', held(charge('a', 60n), charge('b', 60n)), 1000)).toEqual({ ok: true });
    counters.settleNow('c1', charges(paid('a', 7n), paid('b', 7n)), 4);
    expect(counters.leaseCount).toBe(0);
    const s = await counters.read(['a', 'b']);
    expect(s.get('a')).toEqual({ nano: 7n, tokens: 4, requests: 1, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });
    expect(s.get('b')).toEqual(s.get('a'));
    // The room the worst case held is free again: 93 of 100 left.
    expect(counters.reserveNow('c2', held(charge('a', 93n)), 1000)).toEqual({ ok: true });
    expect(counters.reserveNow('c3', held(charge('a', 1n)), 1000)).toMatchObject({ ok: false, key: 'a' });
  });

  it('count a line on counters other than its reservation\'s, and one whose lease is gone', async () => {
    const counters = new MemoryCounters(() => 0);
    counters.reserveNow('c1', held(charge('a', 50n)), 1000);
    counters.settleNow('c1', charges(paid('b', 5n)), 1);
    counters.settleNow('gone', charges(paid('b', 6n)), 1);
    const s = await counters.read(['a', 'b']);
    expect(s.get('a')).toMatchObject({ nano: 0n, reservedNano: 0n });
    expect(s.get('b')).toMatchObject({ nano: 11n, requests: 2, reservedNano: 0n });
  });

  it('report each counter counted on once, from its money used at the last report to now', async () => {
    const counters = new MemoryCounters(() => 0);
    await counters.load({ amounts: [{ key: 'a', nano: 40n, tokens: 0, requests: 1 }], snapshot: null });
    expect(counters.counted()).toEqual([]);
    counters.settleNow('c1', charges(paid('a', 5n), paid('b', 5n)), 1);
    counters.settleNow('c2', charges(paid('a', 6n)), 1);
    expect(counters.counted()).toEqual([{ key: 'a', from: 40n, to: 51n }, { key: 'b', from: 0n, to: 5n }]);
    expect(counters.counted()).toEqual([]);
    counters.settleNow('c3', charges(paid('a', 1n)), 1);
    expect(counters.counted()).toEqual([{ key: 'a', from: 51n, to: 52n }]);
  });
});
