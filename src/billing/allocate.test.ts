/**
 * Conservation, proved by property: for every rule type, any line's parts sum exactly to its
 * cost; and parts rounded to a currency's minor unit sum exactly to their total rounded alike.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { blankLine, type LedgerLine } from '../core/ledger.js';
import { divRound } from '../core/money.js';
import { allocateLine, internalPrice, roundParts, type AllocationContext } from './allocate.js';
import { allocationRuleSchema, type AllocationRule } from './rules.js';
import { smoothShare } from './runs.js';

const DEPTS = ['finance', 'legal', 'marketing', 'platform', 'support'];

const line = (cost: bigint, department: string | null, extra: Partial<LedgerLine> = {}): LedgerLine => {
  const b = blankLine('l1', 0);
  return { ...b, dims: { ...b.dims, department }, costNano: cost, orgCostNano: cost, tokens: { input: 1200, cached_input: 0, cache_write: 0, output: 300, reasoning: 0 }, ...extra };
};

const RULES: Record<string, AllocationRule> = {
  direct: allocationRuleSchema.parse({ id: 'd', method: 'direct' }),
  even: allocationRuleSchema.parse({ id: 'e', method: 'even', among: ['legal', 'marketing', 'support'] }),
  fixed: allocationRuleSchema.parse({ id: 'f', method: 'fixed', split: { marketing: '33.333333', support: '33.333333', legal: '33.333334' } }),
  proportional: allocationRuleSchema.parse({ id: 'p', method: 'proportional', driver: 'headcount' }),
  beneficiary: allocationRuleSchema.parse({ id: 'b', method: 'beneficiary', share: '30', among: ['marketing', 'legal'] }),
  pool: allocationRuleSchema.parse({ id: 'o', method: 'pool', among: ['marketing', 'support'] }),
  internal_price: allocationRuleSchema.parse({ id: 'i', method: 'internal_price', price: { per: 'million_tokens', amount: '2.5', markup_percent: '15' }, recovers_to: 'platform' }),
};

describe('allocation', () => {
  it('conserves every line exactly, for every rule type, and rounds parts to the cent without losing one', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...Object.keys(RULES)),
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.option(fc.constantFrom(...DEPTS), { nil: null }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 5, maxLength: 5 }),
        (kind, cost, department, headcount) => {
          const ctx: AllocationContext = { departments: DEPTS, driver: () => new Map(DEPTS.map((d, i) => [d, headcount[i]!])) };
          const a = allocateLine(line(cost, department), [RULES[kind]!], ctx);
          const parts = a.parts.map((p) => p.nano);
          expect(parts.reduce((x, y) => x + y, 0n)).toBe(cost);
          expect(new Set(a.parts.map((p) => p.department)).size).toBe(a.parts.length);
          // Rounded to a minor unit (cents: 10^7 nano), the parts sum to the rounded total.
          const rounded = roundParts(parts, 10_000_000n);
          expect(rounded.reduce((x, y) => x + y, 0n)).toBe(divRound(cost, 10_000_000n) * 10_000_000n);
          for (const r of rounded) expect(r % 10_000_000n).toBe(0n);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('smooths a cost into shares that sum to it exactly, whatever the months', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), fc.integer({ min: 2, max: 36 }), (cost, months) => {
      const shares = Array.from({ length: months }, (_, k) => smoothShare(cost, months, k));
      expect(shares.reduce((a, b) => a + b, 0n)).toBe(cost);
      expect(shares.every((x) => x - shares[shares.length - 1]! <= 1n && x - shares[shares.length - 1]! >= -1n)).toBe(true);
    }));
  });

  it('splits as each method says', () => {
    const ctx: AllocationContext = { departments: DEPTS, driver: () => new Map([['marketing', 3n], ['support', 1n]]) };
    const parts = (kind: string, cost: bigint, dept: string | null = 'support') => Object.fromEntries(allocateLine(line(cost, dept), [RULES[kind]!], ctx).parts.map((p) => [p.department ?? 'unallocated', p.nano]));
    expect(parts('direct', 100n)).toEqual({ support: 100n });
    expect(parts('direct', 100n, null)).toEqual({ unallocated: 100n });
    expect(parts('even', 100n)).toEqual({ legal: 34n, marketing: 33n, support: 33n });
    expect(parts('proportional', 100n)).toEqual({ marketing: 75n, support: 25n });
    expect(parts('beneficiary', 1000n)).toEqual({ support: 700n, marketing: 150n, legal: 150n });
    // 1,500 tokens at 2.5 a million, plus 15%: 0.0043125 recovered from support; platform carries the rest.
    expect(internalPrice(RULES.internal_price!.price!, line(0n, 'support'))).toBe(4_312_500n);
    expect(parts('internal_price', 5_000_000n)).toEqual({ support: 4_312_500n, platform: 687_500n });
    // A driver that is zero everywhere leaves the cost visible as unallocated, never guessed.
    const zero: AllocationContext = { departments: DEPTS, driver: () => new Map() };
    expect(allocateLine(line(100n, 'support'), [RULES.proportional!], zero)).toMatchObject({ parts: [{ department: null, nano: 100n }], reason: expect.stringContaining('driver headcount is zero') });
  });

  it('refuses rules that cannot conserve: fixed splits not totalling 100, missing drivers', () => {
    expect(allocationRuleSchema.safeParse({ id: 'x', method: 'fixed', split: { a: '60', b: '30' } }).error!.issues[0]!.message).toContain('total 60 + 30, not 100');
    expect(allocationRuleSchema.safeParse({ id: 'x', method: 'proportional' }).error!.issues[0]!.path).toEqual(['driver']);
    expect(allocationRuleSchema.safeParse({ id: 'x', method: 'internal_price', price: { per: 'call', amount: '0.01' } }).error!.issues[0]!.path).toEqual(['recovers_to']);
  });
});
