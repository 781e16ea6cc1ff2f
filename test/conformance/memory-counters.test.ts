/** The in-process budget counters against the shared conformance suite. */
import { describe, expect, it } from 'vitest';
import { MemoryCounters } from '../../src/budgets/counters-memory.js';
import type { HeldLease } from '../../src/core/ports.js';
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
  const hold = (counters: MemoryCounters, id: string, ...cs: ReturnType<typeof charge>[]): HeldLease => {
    const h = counters.reserveNow(id, held(...cs), 1000);
    if (!h.ok) throw new Error(`${id} was refused`);
    return h;
  };

  it('replace a call\'s reservation with its line\'s charges at once, and drop its lease', async () => {
    const counters = new MemoryCounters(() => 0);
    const c1 = hold(counters, 'c1', charge('a', 60n), charge('b', 60n));
    expect(counters.leaseCount).toBe(1);
    counters.settleNow(c1, charges(paid('a', 7n), paid('b', 7n)), 4);
    expect(counters.leaseCount).toBe(0);
    const s = await counters.read(['a', 'b']);
    expect(s.get('a')).toEqual({ nano: 7n, tokens: 4, requests: 1, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });
    expect(s.get('b')).toEqual(s.get('a'));
    // The room the worst case held is free again: 93 of 100 left.
    expect(counters.reserveNow('c2', held(charge('a', 93n)), 1000).ok).toBe(true);
    expect(counters.reserveNow('c3', held(charge('a', 1n)), 1000)).toMatchObject({ ok: false, key: 'a' });
  });

  it('count a line on counters other than its reservation\'s, and one whose lease is gone or never was', async () => {
    let now = 0;
    const counters = new MemoryCounters(() => now);
    const c1 = hold(counters, 'c1', charge('a', 50n));
    counters.settleNow(c1, charges(paid('b', 5n)), 1);
    // Settled again (a second end of one call): counted, and nothing more is dropped.
    counters.settleNow(c1, charges(paid('b', 6n)), 1);
    counters.settleNow(null, charges(paid('b', 7n)), 1);
    const s = await counters.read(['a', 'b']);
    expect(s.get('a')).toMatchObject({ nano: 0n, reservedNano: 0n });
    expect(s.get('b')).toMatchObject({ nano: 18n, requests: 3, reservedNano: 0n });
    // A lease that expired before its call ended: its room was freed then, its line is counted now.
    const c2 = hold(counters, 'c2', charge('a', 40n));
    now = 2000;
    expect((await counters.read(['a'])).get('a')).toMatchObject({ reservedNano: 0n });
    counters.settleNow(c2, charges(paid('a', 3n)), 1);
    expect((await counters.read(['a'])).get('a')).toMatchObject({ nano: 3n, reservedNano: 0n });
  });

  it('keep the others held when one in the middle of the list ends, is released or expires', async () => {
    let now = 0;
    const counters = new MemoryCounters(() => now);
    const c1 = hold(counters, 'c1', charge('a', 10n));
    const c2 = hold(counters, 'c2', charge('a', 20n));
    const c3 = hold(counters, 'c3', charge('a', 30n));
    counters.releaseNow(c2);
    counters.releaseNow(c2);
    expect(counters.leaseCount).toBe(2);
    expect((await counters.read(['a'])).get('a')).toMatchObject({ reservedNano: 40n });
    now = 500;
    const c4 = hold(counters, 'c4', charge('a', 5n));
    now = 1200; // c1 and c3 have expired (at 1000); c4 (at 1500) is renewed
    expect((await counters.read(['a'])).get('a')).toMatchObject({ reservedNano: 5n });
    counters.renewAll(1000);
    now = 1800;
    expect((await counters.read(['a'])).get('a')).toMatchObject({ reservedNano: 5n });
    expect(counters.leaseCount).toBe(1);
    counters.settleNow(c4, charges(paid('a', 1n)), 1);
    counters.settleNow(c1, charges(paid('a', 2n)), 1);
    counters.settleNow(c3, charges(paid('a', 3n)), 1);
    expect(counters.leaseCount).toBe(0);
    expect((await counters.read(['a'])).get('a')).toMatchObject({ nano: 6n, requests: 3, reservedNano: 0n });
  });

  it('report each counter counted on once, from its money used at the last report to now', async () => {
    const counters = new MemoryCounters(() => 0);
    await counters.load({ amounts: [{ key: 'a', nano: 40n, tokens: 0, requests: 1 }], snapshot: null });
    expect(counters.counted()).toEqual([]);
    counters.settleNow(null, charges(paid('a', 5n), paid('b', 5n)), 1);
    counters.settleNow(null, charges(paid('a', 6n)), 1);
    expect(counters.counted()).toEqual([{ key: 'a', from: 40n, to: 51n }, { key: 'b', from: 0n, to: 5n }]);
    expect(counters.counted()).toEqual([]);
    counters.settleNow(null, charges(paid('a', 1n)), 1);
    expect(counters.counted()).toEqual([{ key: 'a', from: 51n, to: 52n }]);
  });
});
