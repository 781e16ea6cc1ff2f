/**
 * The BudgetCounters conformance suite: the in-process and the Redis counters run these same
 * tests, including a property test over random sequences of reserve, settle, release and lease
 * expiry: used never passes a limit, and nothing leaks.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BudgetCounters, CounterCharge, CounterLimit } from '../../src/core/ports.js';

export interface CountersFixture {
  readonly counters: BudgetCounters;
  /** Moves the counters' clock forward (lease expiry). */
  advance(ms: number): Promise<void>;
  close(): Promise<void>;
}

const money = (nano: bigint): CounterLimit => ({ nano, tokens: null, requests: null });
const charge = (key: string, nano: bigint, limit: CounterLimit | null, tokens = 0, requests = 1): CounterCharge => ({ key, nano, tokens, requests, limit });

export function budgetCountersSuite(name: string, open: () => Promise<CountersFixture>): void {
  describe(`BudgetCounters conformance: ${name}`, () => {
    it('reserves on every counter or on none', async () => {
      const f = await open();
      try {
        const c = f.counters;
        expect(await c.reserve('a', [charge('x', 60n, money(100n)), charge('y', 10n, money(1000n))], 60_000)).toEqual({ ok: true });
        const refused = await c.reserve('b', [charge('y', 10n, money(1000n)), charge('x', 50n, money(100n))], 60_000);
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
        await c.reserve('a', [charge('x', 80n, lim, 300)], 60_000);
        expect(await c.settle('a', [{ key: 'x', nano: 30n, tokens: 120, requests: 1 }])).toEqual(new Map([['x', 30n]]));
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 30n, tokens: 120, requests: 1, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });
        expect(await c.reserve('b', [charge('x', 70n, lim, 380)], 60_000)).toEqual({ ok: true });
        expect(await c.reserve('c', [charge('x', 0n, lim, 0)], 60_000)).toMatchObject({ ok: false, what: 'requests' });
        await c.release('b');
        expect(await c.reserve('d', [charge('x', 1n, lim, 381)], 60_000)).toMatchObject({ ok: false, what: 'tokens' });
      } finally {
        await f.close();
      }
    });

    it('lets a counter without a limit count past anything', async () => {
      const f = await open();
      try {
        await f.counters.reserve('a', [charge('soft', 10n ** 15n, null)], 60_000);
        await f.counters.settle('a', [{ key: 'soft', nano: 10n ** 15n, tokens: 0, requests: 1 }]);
        expect((await f.counters.read(['soft'])).get('soft')!.nano).toBe(10n ** 15n);
      } finally {
        await f.close();
      }
    });

    it('expires a lease nobody renews, keeps one that is renewed, and still counts a late settlement', async () => {
      const f = await open();
      try {
        const c = f.counters;
        await c.reserve('dead', [charge('x', 90n, money(100n))], 1_000);
        await c.reserve('alive', [charge('y', 90n, money(100n))], 1_000);
        await f.advance(600);
        await c.renew(['alive'], 1_000);
        await f.advance(600);
        expect(await c.reserve('n1', [charge('x', 90n, money(100n))], 1_000)).toEqual({ ok: true });
        expect(await c.reserve('n2', [charge('y', 20n, money(100n))], 1_000)).toMatchObject({ ok: false });
        await c.settle('dead', [{ key: 'x', nano: 5n, tokens: 0, requests: 1 }]);
        expect((await c.read(['x'])).get('x')).toMatchObject({ nano: 5n, reservedNano: 90n });
      } finally {
        await f.close();
      }
    });

    it('lists the counters under a prefix', async () => {
      const f = await open();
      try {
        await f.counters.load([{ key: 'b|1|alice', nano: 1n, tokens: 0, requests: 1 }, { key: 'b|1|bob', nano: 2n, tokens: 0, requests: 1 }, { key: 'b|2|alice', nano: 3n, tokens: 0, requests: 1 }]);
        expect([...(await f.counters.scan('b|1|')).keys()].sort()).toEqual(['b|1|alice', 'b|1|bob']);
      } finally {
        await f.close();
      }
    });

    it('loads amounts spent before a restart', async () => {
      const f = await open();
      try {
        await f.counters.load([{ key: 'x', nano: 70n, tokens: 5, requests: 3 }, { key: 'x', nano: 10n, tokens: 0, requests: 1 }]);
        expect((await f.counters.read(['x'])).get('x')).toMatchObject({ nano: 80n, tokens: 5, requests: 4 });
        expect(await f.counters.reserve('a', [charge('x', 21n, money(100n))], 1000)).toMatchObject({ ok: false });
      } finally {
        await f.close();
      }
    });

    it('never lets used pass a limit, and leaks nothing, over random sequences (property)', async () => {
      type Op =
        | { t: 'reserve'; keys: number[]; amount: number }
        | { t: 'settle'; pick: number; fraction: number }
        | { t: 'release'; pick: number }
        | { t: 'die'; pick: number }
        | { t: 'tick'; ms: number };
      const op: fc.Arbitrary<Op> = fc.oneof(
        fc.record({ t: fc.constant('reserve' as const), keys: fc.uniqueArray(fc.integer({ min: 0, max: 3 }), { minLength: 1, maxLength: 4 }), amount: fc.integer({ min: 1, max: 400 }) }),
        fc.record({ t: fc.constant('settle' as const), pick: fc.nat(), fraction: fc.integer({ min: 0, max: 100 }) }),
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
            const open_: { id: string; keys: number[]; amount: number }[] = [];
            const dead: string[] = [];
            let n = 0;
            for (const o of ops) {
              if (o.t === 'reserve') {
                const id = `l${n++}`;
                const r = await c.reserve(id, o.keys.map((k) => charge(`k${k}`, BigInt(o.amount), money(limits[k]!))), 2_000);
                if (r.ok) open_.push({ id, keys: o.keys, amount: o.amount });
              } else if (o.t === 'settle' && open_.length) {
                const [l] = open_.splice(o.pick % open_.length, 1);
                // A provider that honours the output cap never costs more than the reservation.
                const actual = BigInt(Math.floor((l!.amount * o.fraction) / 100));
                await c.settle(l!.id, l!.keys.map((k) => ({ key: `k${k}`, nano: actual, tokens: 0, requests: 1 })));
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
        { numRuns: 150 },
      );
    });
  });
}
