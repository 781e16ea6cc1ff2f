/**
 * The RateLimits conformance suite: the in-process and the Redis rate limits run these same
 * tests, ending with a property test that holds each adapter to the in-process one, step by step.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryRateLimits } from '../../src/budgets/rate-memory.js';
import type { RateCheck, RateLimits } from '../../src/core/ports.js';

export interface RatesFixture {
  readonly rates: RateLimits;
  close(): Promise<void>;
}

export interface RatesSuiteOptions {
  readonly propertyRuns?: number;
}

/** A whole second, so that the expected waits read plainly. */
const T0 = 1_700_000_000_000;
const rpm = (key: string, n: number | null): RateCheck => ({ key, rpm: n, tpm: null });
const tpm = (key: string, n: number | null): RateCheck => ({ key, rpm: null, tpm: n });

export function rateLimitsSuite(name: string, open: () => Promise<RatesFixture>, opts: RatesSuiteOptions = {}): void {
  describe(`RateLimits conformance: ${name}`, () => {
    it('refuses at the rpm until the oldest second leaves the minute', async () => {
      const f = await open();
      try {
        const r = f.rates;
        for (const at of [T0, T0 + 1_000, T0 + 1_500]) expect(await r.hit([rpm('a', 3)], at)).toEqual({ ok: true });
        // The first request (second T0) leaves the minute at T0 + 60 s.
        expect(await r.hit([rpm('a', 3)], T0 + 2_500)).toEqual({ ok: false, key: 'a', what: 'requests', retryAfterMs: 57_500 });
        expect(await r.hit([rpm('a', 3)], T0 + 59_999)).toMatchObject({ ok: false, retryAfterMs: 1 });
        expect(await r.hit([rpm('a', 3)], T0 + 60_000)).toEqual({ ok: true });
        expect(await r.hit([rpm('a', 3)], T0 + 60_100)).toEqual({ ok: false, key: 'a', what: 'requests', retryAfterMs: 900 });
      } finally {
        await f.close();
      }
    });

    it('counts one request on every check, or on none', async () => {
      const f = await open();
      try {
        const r = f.rates;
        expect(await r.hit([rpm('a', 5), rpm('b', 1)], T0)).toEqual({ ok: true });
        expect(await r.hit([rpm('a', 5), rpm('b', 1)], T0)).toMatchObject({ ok: false, key: 'b', what: 'requests' });
        // 'a' holds one request, not two: the refused call counted nowhere.
        expect(await r.hit([rpm('a', 2)], T0)).toEqual({ ok: true });
        expect(await r.hit([rpm('a', 2)], T0)).toMatchObject({ ok: false, key: 'a' });
        // Checks without limits count, and never refuse.
        for (let i = 0; i < 5; i++) expect(await r.hit([rpm('c', null)], T0)).toEqual({ ok: true });
        expect(await r.hit([rpm('c', 5)], T0)).toMatchObject({ ok: false, key: 'c' });
      } finally {
        await f.close();
      }
    });

    it('refuses at the tpm once the tokens of past calls reach it', async () => {
      const f = await open();
      try {
        const r = f.rates;
        await r.addTokens(['a', 'b'], 900, T0);
        expect(await r.hit([tpm('a', 1_000)], T0 + 500)).toEqual({ ok: true });
        await r.addTokens(['a'], 100, T0 + 1_000);
        expect(await r.hit([tpm('a', 1_000)], T0 + 1_200)).toEqual({ ok: false, key: 'a', what: 'tokens', retryAfterMs: 58_800 });
        expect(await r.hit([tpm('b', 1_000)], T0 + 1_200)).toEqual({ ok: true });
        expect(await r.hit([tpm('a', 1_000)], T0 + 60_000)).toEqual({ ok: true });
      } finally {
        await f.close();
      }
    });

    it('answers as the in-process rate limits do, over random sequences (property)', async () => {
      type Op = { t: 'hit'; keys: number[]; rpms: (number | null)[]; tpms: (number | null)[] } | { t: 'tokens'; keys: number[]; n: number } | { t: 'wait'; ms: number };
      const limit = (max: number) => fc.option(fc.integer({ min: 1, max }), { nil: null, freq: 3 });
      const keys = fc.uniqueArray(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 3 });
      const op: fc.Arbitrary<Op> = fc.oneof(
        { arbitrary: fc.record({ t: fc.constant('hit' as const), keys, rpms: fc.array(limit(6), { minLength: 3, maxLength: 3 }), tpms: fc.array(limit(3_000), { minLength: 3, maxLength: 3 }) }), weight: 4 },
        { arbitrary: fc.record({ t: fc.constant('tokens' as const), keys, n: fc.integer({ min: 0, max: 1_000 }) }), weight: 2 },
        { arbitrary: fc.record({ t: fc.constant('wait' as const), ms: fc.integer({ min: 0, max: 30_000 }) }), weight: 2 },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
          const f = await open();
          try {
            const model = new MemoryRateLimits();
            let now = T0 + 123;
            for (const o of ops) {
              if (o.t === 'wait') now += o.ms;
              else if (o.t === 'tokens') {
                const ks = o.keys.map((k) => `k${k}`);
                await f.rates.addTokens(ks, o.n, now);
                await model.addTokens(ks, o.n, now);
              } else {
                const checks = o.keys.map((k) => ({ key: `k${k}`, rpm: o.rpms[k]!, tpm: o.tpms[k]! }));
                expect(await f.rates.hit(checks, now)).toEqual(await model.hit(checks, now));
              }
            }
          } finally {
            await f.close();
          }
        }),
        { numRuns: opts.propertyRuns ?? 100 },
      );
    });
  });
}
