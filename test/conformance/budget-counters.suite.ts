/**
 * The BudgetCounters conformance suite: the in-process and the Redis counters run these same
 * tests, including a property test over random sequences of reserve, settle, release and lease
 * expiry: used never passes a limit, and nothing leaks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BudgetCounters, BudgetTotals, CounterAmount, CounterLimit, Settlement } from '../../src/core/ports.js';
import { amount, charge, held, money, paid, settled } from '../helpers/counters.js';

export interface CountersFixture {
  /** Fresh counters, not attached yet. */
  readonly counters: BudgetCounters;
  /** Moves the counters' clock forward (lease expiry). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

export interface CountersSuiteOptions {
  /** Runs of the property test (each opens fresh counters). */
  readonly propertyRuns?: number;
}

const settlement = (lease: string, tokens: number, ...charges: ReturnType<typeof paid>[]): Settlement[] => [settled(lease, tokens, ...charges)];
const totals = (...amounts: CounterAmount[]): BudgetTotals => ({ amounts, snapshot: null });
const nothing = async (): Promise<BudgetTotals> => totals();

export function budgetCountersSuite(name: string, openFresh: () => Promise<CountersFixture>, opts: CountersSuiteOptions = {}): void {
  /** Counters attached to an empty ledger, as a node finds them after its start. */
  const open = async (): Promise<CountersFixture> => {
    const f = await openFresh();
    await f.counters.attach(nothing);
    return f;
  };

  describe(`BudgetCounters conformance: ${name}`, () => {
    it('reserves on every counter or on none', async () => {
      const f = await open();
      try {
        const c = f.counters;
        expect(await c.reserve('a', held(charge('x', 60n, money(100n)), charge('y', 10n, money(1000n))), 60_000)).toEqual({ ok: true });
        const refused = await c.reserve('b', held(charge('y', 10n, money(1000n)), charge('x', 50n, money(100n))), 60_000);
        expect(refused).toMatchObject({ ok: false, key: 'x', what: 'money' });
        const s = await c.read(['x', 'y']);
        expect(s.get('x')).toMatchObject({ nano: 0n, reservedNano: 60n });
        expect(s.get('y')).toMatchObject({ nano: 0n, reservedNano: 10n });
      } finally {
        await f.close();
      }
    });

    it('settles the actual amount, frees the rest, and counts tokens and requests', async () => {
      const f = await open();
      try {
        const c = f.counters;
        const lim: CounterLimit = { nano: 100n, tokens: 500, requests: 2 };
        await c.reserve('a', held(charge('x', 80n, lim, 300)), 60_000);
        expect(await c.settle(settlement('a', 120, paid('x', 30n)), null)).toEqual(new Map([['x', 30n]]));
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 30n, tokens: 120, requests: 1, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });
        expect(await c.reserve('b', held(charge('x', 70n, lim, 380)), 60_000)).toEqual({ ok: true });
        expect(await c.reserve('c', held(charge('x', 0n, lim, 0)), 60_000)).toMatchObject({ ok: false, what: 'requests' });
        await c.release('b');
        expect(await c.reserve('d', held(charge('x', 1n, lim, 381)), 60_000)).toMatchObject({ ok: false, what: 'tokens' });
      } finally {
        await f.close();
      }
    });

    it('shrinks an ended call to its actual amounts until it is settled, keeping its expiry', async () => {
      const f = await open();
      try {
        const c = f.counters;
        const lim = money(100n);
        await c.reserve('a', held(charge('x', 80n, lim, 300), charge('y', 80n, null, 300)), 60_000);
        await c.shrink(settled('a', 120, paid('x', 30n), paid('y', 30n)));
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 0n, reservedNano: 30n, reservedTokens: 120, reservedRequests: 1 });
        // The room the estimate held is free at once; the actual amount is still held.
        expect(await c.reserve('b', held(charge('x', 70n, lim)), 60_000)).toEqual({ ok: true });
        expect(await c.reserve('c', held(charge('x', 1n, lim)), 60_000)).toMatchObject({ ok: false, what: 'money' });
        await c.settle(settlement('a', 120, paid('x', 30n), paid('y', 30n)), null);
        expect((await c.read(['x', 'y'])).get('y')).toMatchObject({ nano: 30n, tokens: 120, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });
        // A lease already settled, or never taken, is left alone.
        await c.shrink(settled('a', 0, paid('x', 5n)));
        await c.shrink(settled('nobody', 0, paid('x', 5n)));
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 30n, reservedNano: 70n });
        // A shrunk lease still expires when its holder stops renewing it.
        await c.reserve('d', held(charge('z', 50n, lim)), 1_000);
        await c.shrink(settled('d', 0, paid('z', 20n)));
        await f.advance(1_001);
        expect((await c.read(['z'])).get('z')).toMatchObject({ nano: 0n, reservedNano: 0n });
      } finally {
        await f.close();
      }
    });


    it('shrinks and settles on the settlement\'s own counters, whatever counters or order the lease reserved', async () => {
      const f = await open();
      try {
        const c = f.counters;
        await c.reserve('a', held(charge('x', 80n, money(100n), 300), charge('y', 40n, null, 300)), 60_000);
        // The settlement names y before x, and a counter the lease never reserved on.
        await c.shrink(settled('a', 10, paid('y', 4n), paid('x', 8n), paid('w', 2n)));
        const shrunk = await c.read(['x', 'y', 'w']);
        expect(shrunk.get('x')).toMatchObject({ reservedNano: 8n, reservedTokens: 10, reservedRequests: 1 });
        expect(shrunk.get('y')).toMatchObject({ reservedNano: 4n, reservedTokens: 10, reservedRequests: 1 });
        expect(shrunk.get('w')).toMatchObject({ reservedNano: 2n, reservedTokens: 10, reservedRequests: 1 });
        expect(await c.settle(settlement('a', 10, paid('x', 8n), paid('y', 4n)), null)).toEqual(new Map([['x', 8n], ['y', 4n]]));
        const after = await c.read(['x', 'y', 'w']);
        for (const [k, nano] of [['x', 8n], ['y', 4n], ['w', 0n]] as const) {
          expect(after.get(k)).toMatchObject({ nano, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });
        }
      } finally {
        await f.close();
      }
    });
    it('lets a counter without a limit count past anything', async () => {
      const f = await open();
      try {
        await f.counters.reserve('a', held(charge('soft', 10n ** 15n, null)), 60_000);
        await f.counters.settle(settlement('a', 0, paid('soft', 10n ** 15n)), null);
        expect((await f.counters.read(['soft'])).get('soft')!.nano).toBe(10n ** 15n);
      } finally {
        await f.close();
      }
    });

    it('expires a lease nobody renews, keeps one that is renewed, and still counts a late settlement', async () => {
      const f = await open();
      try {
        const c = f.counters;
        await c.reserve('dead', held(charge('x', 90n, money(100n))), 1_000);
        await c.reserve('alive', held(charge('y', 90n, money(100n))), 1_000);
        await f.advance(600);
        await c.renew(['alive'], 1_000);
        await f.advance(600);
        expect(await c.reserve('n1', held(charge('x', 90n, money(100n))), 1_000)).toEqual({ ok: true });
        expect(await c.reserve('n2', held(charge('y', 20n, money(100n))), 1_000)).toMatchObject({ ok: false });
        await c.settle(settlement('dead', 0, paid('x', 5n)), null);
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 5n, reservedNano: 90n });
      } finally {
        await f.close();
      }
    });

    it('lists the counters under a prefix', async () => {
      const f = await open();
      try {
        await f.counters.load(totals(amount('b|1|alice', 1n), amount('b|1|bob', 2n), amount('b|2|alice', 3n)));
        expect([...(await f.counters.scan('b|1|')).keys()].sort()).toEqual(['b|1|alice', 'b|1|bob']);
      } finally {
        await f.close();
      }
    });

    it('loads amounts spent before a restart', async () => {
      const f = await open();
      try {
        await f.counters.load(totals(amount('x', 70n, 5, 3), amount('x', 10n, 0, 1)));
        expect((await f.counters.read(['x'])).get('x')).toMatchObject({ nano: 80n, tokens: 5, requests: 4 });
        expect(await f.counters.reserve('a', held(charge('x', 21n, money(100n))), 1000)).toMatchObject({ ok: false });
      } finally {
        await f.close();
      }
    });

    it('settles a batch of calls at once, and reports the money used after on each counter', async () => {
      const f = await open();
      try {
        const c = f.counters;
        await c.reserve('a', held(charge('x', 50n, money(100n)), charge('y', 50n, money(100n))), 60_000);
        await c.reserve('b', held(charge('x', 40n, money(100n))), 60_000);
        const after = await c.settle([settled('a', 0, paid('x', 20n), paid('y', 30n)), settled('b', 0, paid('x', 5n))], null);
        expect(after).toEqual(new Map([['x', 25n], ['y', 30n]]));
        const s = await c.read(['x', 'y']);
        expect(s.get('x')).toMatchObject({ nano: 25n, requests: 2, reservedNano: 0n, reservedRequests: 0 });
        expect(s.get('y')).toMatchObject({ nano: 30n, requests: 1, reservedNano: 0n });
      } finally {
        await f.close();
      }
    });

    it('counts a settlement whose lease it never saw (a line replayed after a restart)', async () => {
      const f = await open();
      try {
        expect(await f.counters.settle(settlement('unknown', 0, paid('x', 7n)), null)).toEqual(new Map([['x', 7n]]));
        expect((await f.counters.read(['x'])).get('x')).toMatchObject({ nano: 7n, reservedNano: 0n });
      } finally {
        await f.close();
      }
    });

    it('rebuilds on the first attach only, from the totals the rebuild reads', async () => {
      const f = await openFresh();
      try {
        let rebuilds = 0;
        const rebuild = async (): Promise<BudgetTotals> => {
          rebuilds++;
          return totals(amount('x', 40n, 10, 2));
        };
        expect(await f.counters.attach(rebuild)).toBe(true);
        expect(await f.counters.attach(rebuild)).toBe(false);
        expect(rebuilds).toBe(1);
        expect((await f.counters.read(['x'])).get('x')).toMatchObject({ nano: 40n, tokens: 10, requests: 2 });
      } finally {
        await f.close();
      }
    });

    it('rebuilds counters that hold the ledger again when forced, keeping reservations; idle once counted', async () => {
      const f = await openFresh();
      try {
        const c = f.counters;
        expect(await c.attach(async () => totals(amount('x', 40n, 10, 2)))).toBe(true);
        await c.reserve('a', held(charge('x', 5n, money(100n), 1, 1)), 60_000);
        // The ledger holds more than the counters (a node died before counting it).
        expect(await c.attach(async () => totals(amount('x', 70n, 20, 3)))).toBe(false);
        expect(await c.attach(async () => totals(amount('x', 70n, 20, 3)), { force: true })).toBe(true);
        expect((await c.read(['x'])).get('x')).toEqual({ nano: 70n, tokens: 20, requests: 3, reservedNano: 5n, reservedTokens: 1, reservedRequests: 1 });
        await c.settle(settlement('a', 1, paid('x', 5n)), null);
        await c.idle();
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 75n, reservedNano: 0n });
      } finally {
        await f.close();
      }
    });

    it('sets used amounts on load: counters the totals omit go to zero, reservations in flight stay', async () => {
      const f = await open();
      try {
        const c = f.counters;
        await c.settle(settlement('', 0, paid('x', 30n), paid('y', 20n)), null);
        await c.reserve('a', held(charge('x', 15n, money(100n), 3, 1)), 60_000);
        await c.load(totals(amount('x', 50n, 8, 4)));
        const s = await c.read(['x', 'y']);
        expect(s.get('x')).toEqual({ nano: 50n, tokens: 8, requests: 4, reservedNano: 15n, reservedTokens: 3, reservedRequests: 1 });
        expect(s.get('y')).toMatchObject({ nano: 0n, tokens: 0, requests: 0 });
        await c.settle(settlement('a', 0, paid('x', 10n)), null);
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 60n, reservedNano: 0n });
      } finally {
        await f.close();
      }
    });

    it('never lets used pass a limit, and leaks nothing, over random sequences (property)', async () => {
      type Op =
        | { t: 'reserve'; keys: number[]; amount: number }
        | { t: 'settle'; pick: number; fraction: number }
        | { t: 'shrink'; pick: number; fraction: number; reversed: boolean }
        | { t: 'release'; pick: number }
        | { t: 'die'; pick: number }
        | { t: 'tick'; ms: number };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ t: fc.constant('reserve' as const), keys: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }), amount: fc.integer({ min: 1, max: 400 }) }),
        fc.record({ t: fc.constant('settle' as const), pick: fc.nat(), fraction: fc.integer({ min: 0, max: 100 }) }),
        fc.record({ t: fc.constant('shrink' as const), pick: fc.nat(), fraction: fc.integer({ min: 0, max: 100 }), reversed: fc.boolean() }),
        fc.record({ t: fc.constant('release' as const), pick: fc.nat() }),
        fc.record({ t: fc.constant('die' as const), pick: fc.nat() }),
        fc.record({ t: fc.constant('tick' as const), ms: fc.integer({ min: 0, max: 3000 }) }),
      );
      const limits = [1000n, 500n, 2000n, 750n];
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 60 }), async (ops) => {
          const f = await open();
          try {
            const c = f.counters;
            // shrunk: the amount its call ended at (its line's charges, settled as they are).
            const open_: { id: string; keys: number[]; amount: number; shrunk: bigint | null }[] = [];
            const dead: string[] = [];
            let n = 0;
            for (const o of ops) {
              if (o.t === 'reserve') {
                const id = `l${n++}`;
                const r = await c.reserve(id, held(...o.keys.map((k) => charge(`k${k}`, BigInt(o.amount), money(limits[k]!)))), 2_000);
                if (r.ok) open_.push({ id, keys: o.keys, amount: o.amount, shrunk: null });
              } else if (o.t === 'settle' && open_.length) {
                const [l] = open_.splice(o.pick % open_.length, 1);
                // A provider that honours the output cap never costs more than the reservation.
                const actual = l!.shrunk ?? BigInt(Math.floor((l!.amount * o.fraction) / 100));
                await c.settle([settled(l!.id, 0, ...l!.keys.map((k) => paid(`k${k}`, actual)))], null);
              } else if (o.t === 'shrink' && open_.length) {
                // The call ended; its line waits to be committed. Its charges may name the counters in another order.
                const l = open_[o.pick % open_.length]!;
                l.shrunk ??= BigInt(Math.floor((l.amount * o.fraction) / 100));
                const keys = o.reversed ? [...l.keys].reverse() : l.keys;
                await c.shrink(settled(l.id, 0, ...keys.map((k) => paid(`k${k}`, l.shrunk!))));
              } else if (o.t === 'release' && open_.length) {
                const [l] = open_.splice(o.pick % open_.length, 1);
                await c.release(l!.id);
              } else if (o.t === 'die' && open_.length) {
                // Its holder is gone: it will never settle, nor renew.
                dead.push(open_.splice(o.pick % open_.length, 1)[0]!.id);
              } else if (o.t === 'tick') {
                await f.advance(o.ms);
                await c.renew(open_.map((l) => l.id), 2_000);
              }
              const s = await c.read(['k0', 'k1', 'k2', 'k3']);
              limits.forEach((lim, i) => {
                const e = s.get(`k${i}`)!;
                expect(e.nano + e.reservedNano <= lim).toBe(true);
                expect(e.reservedNano >= 0n).toBe(true);
              });
            }
            // Everything settled or released, and the dead leases expired: nothing stays reserved.
            for (const l of open_.splice(0)) await c.release(l.id);
            await f.advance(10_000);
            const s = await c.read(['k0', 'k1', 'k2', 'k3']);
            for (const e of s.values()) expect([e.reservedNano, e.reservedTokens, e.reservedRequests]).toEqual([0n, 0, 0]);
          } finally {
            await f.close();
          }
        }),
        { numRuns: opts.propertyRuns ?? 150 },
      );
    });
  });
}
