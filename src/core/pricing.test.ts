import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { costOf, costTotal, PriceBook, worstCaseCost, type ModelPrice, type Usage } from './pricing.js';

const M = 1_000_000_000n; // one currency unit per million tokens = 1000 nano per token

const price = (over: Partial<ModelPrice> = {}): ModelPrice => ({
  provider: 'p', model: 'm', aliases: [], kind: 'chat', currency: 'USD', effectiveFrom: 0,
  rates: { input: 3n * M, cached_input: 3n * M / 10n, cache_write: 375n * M / 100n, cache_write_1h: 6n * M, output: 15n * M },
  longContext: null, tiers: {}, toolCalls: { web_search: 10_000_000n }, perRequest: 0n, version: 'p/m@1970-01-01', ...over,
});

const usage = (u: Partial<Usage>): Usage => ({ input: 0, cached_input: 0, cache_write: 0, output: 0, reasoning: 0, ...u });

describe('costOf', () => {
  it('prices each token kind at its rate', () => {
    const c = costOf(price(), usage({ input: 1000, cached_input: 2000, cache_write: 100, cacheWrite1h: 40, output: 500, toolCalls: { web_search: 2 } }));
    // 1000*3000 + 2000*300 + 60*3750 + 40*6000 + 500*15000 (nano) + 2 searches * $0.01
    expect(c.parts.input).toBe(3_000_000n);
    expect(c.parts.cached_input).toBe(600_000n);
    expect(c.parts.cache_write).toBe(225_000n + 240_000n);
    expect(c.parts.output).toBe(7_500_000n);
    expect(c.parts.tools).toBe(20_000_000n);
    expect(c.total).toBe(3_000_000n + 600_000n + 465_000n + 7_500_000n + 20_000_000n);
  });

  it('rounds once per call, half up, to the nano-unit', () => {
    // 1 token at $0.15 per million = 150 nano; 1 token at $0.0375/M = 37.5 nano -> 38.
    expect(costOf(price({ rates: { input: 37_500_000n, output: 0n } }), usage({ input: 1 })).total).toBe(38n);
    expect(costOf(price({ rates: { input: 37_500_000n, output: 0n } }), usage({ input: 3 })).total).toBe(113n); // 112.5
  });

  it('applies the long-context rates above the threshold, to the whole call', () => {
    const p = price({ longContext: { aboveInputTokens: 200_000, rates: { input: 6n * M, output: 225n * M / 10n } } });
    expect(costOf(p, usage({ input: 200_000 })).total).toBe(200_000n * 3000n);
    expect(costOf(p, usage({ input: 200_001, output: 10 })).total).toBe(200_001n * 6000n + 10n * 22_500n);
  });

  it('applies a tier, and keeps the long-context surcharge in proportion when the tier has none', () => {
    const p = price({ tiers: { batch: { input: 15n * M / 10n, output: 75n * M / 10n } }, longContext: { aboveInputTokens: 100, rates: { input: 6n * M, output: 30n * M } } });
    expect(costOf(p, usage({ input: 10, tier: 'batch' })).total).toBe(15_000n);
    expect(costOf(p, usage({ input: 200, tier: 'batch' })).total).toBe(200n * 3000n); // 1.5 * 6/3
    expect(costOf(p, usage({ input: 10, tier: 'unknown-tier' })).total).toBe(30_000n);
  });

  it('parts always sum to the total, and the total without its parts is the same: no nano-unit lost or made (property)', () => {
    const rate = fc.bigInt({ min: 0n, max: 200n * M });
    fc.assert(
      fc.property(
        fc.record({ input: rate, output: rate, cached_input: rate, cache_write: rate, reasoning: rate }),
        fc.record({
          input: fc.nat(2_000_000), cached_input: fc.nat(2_000_000), cache_write: fc.nat(200_000),
          output: fc.nat(200_000), reasoning: fc.nat(200_000), cacheWrite1h: fc.nat(100_000),
        }),
        (rates, u) => {
          const c = costOf(price({ rates }), usage(u));
          const sum = Object.values(c.parts).reduce((a, b) => a + b, 0n);
          expect(typeof c.total).toBe('bigint');
          expect(sum).toBe(c.total);
          const withTools = usage({ ...u, toolCalls: { web_search: u.input % 3 } });
          expect(costTotal(price({ rates }), withTools)).toBe(costOf(price({ rates }), withTools).total);
          expect(c.total >= 0n).toBe(true);
        },
      ),
    );
  });

  it('the worst case is never below the actual cost of a call within its bounds (property)', () => {
    fc.assert(
      fc.property(fc.nat(100_000), fc.nat(100_000), fc.nat(100_000), fc.nat(32_000), fc.nat(32_000), (input, cached, write, out, reasoning) => {
        const p = price({ perRequest: 5n });
        const bound = input + cached + write;
        const worst = worstCaseCost(p, bound, out + reasoning);
        expect(worst >= costOf(p, usage({ input, cached_input: cached, cache_write: write, output: out, reasoning })).total).toBe(true);
      }),
    );
  });
});

describe('PriceBook', () => {
  const v1 = price({ model: 'gpt-x', aliases: ['gpt-x-latest'], effectiveFrom: Date.UTC(2025, 0, 1), version: 'v1' });
  const v2 = price({ model: 'gpt-x', effectiveFrom: Date.UTC(2026, 0, 1), version: 'v2' });
  const book = new PriceBook([v1, v2]);

  it('finds the price in force at a date, by name, alias or dated snapshot', () => {
    expect(book.lookup('p', 'gpt-x', Date.UTC(2025, 5, 1))?.version).toBe('v1');
    expect(book.lookup('p', 'gpt-x', Date.UTC(2026, 5, 1))?.version).toBe('v2');
    expect(book.lookup('p', 'gpt-x-2026-03-01', Date.UTC(2026, 5, 1))?.version).toBe('v2');
    expect(book.lookup('p', 'gpt-x-latest', Date.UTC(2025, 5, 1))?.version).toBe('v1');
    expect(book.lookup('p', 'gpt-x', Date.UTC(2024, 5, 1))).toBeUndefined();
    expect(book.lookup('other', 'gpt-x', Date.now())).toBeUndefined();
  });
});
