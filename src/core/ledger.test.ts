import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chargePairs } from '../../test/helpers/counters.js';
import { budgetChargesJson, parseBudgetCharges, type BudgetCharges } from './ledger.js';

const round = (charges: BudgetCharges) => parseBudgetCharges(JSON.parse(budgetChargesJson(charges)) as unknown[]);
const of = (pairs: readonly { key: string; nano: bigint }[]): BudgetCharges => ({ keys: pairs.map((p) => p.key), nanos: pairs.map((p) => p.nano) });

describe('budget charges as JSON', () => {
  it('write each amount once, before the keys charged it', () => {
    const charges = of([
      { key: 'company|1764547200000|', nano: 62_250n },
      { key: 'per-user|1764547200000|bob', nano: 62_250n },
      { key: 'emea|1764547200000|', nano: 53_001n },
    ]);
    expect(budgetChargesJson(charges)).toBe('["62250","company|1764547200000|","per-user|1764547200000|bob","53001","emea|1764547200000|"]');
    expect(budgetChargesJson(of([]))).toBe('[]');
  });

  it('read back what they wrote, whatever the keys and amounts, and whichever runs of keys came before', () => {
    const key = fc.tuple(fc.string(), fc.integer({ min: 0, max: 3 }), fc.string()).map(([b, w, m]) => `${b}|${w}|${m}`);
    // Runs of one amount on keys seen before, as most calls charge; and other amounts and keys.
    const charge = fc.record({ key: fc.constantFrom('a|1|', 'b|1|', 'c|1|x').chain((k) => fc.oneof(fc.constant(k), key)), nano: fc.oneof(fc.constantFrom(62_250n, 7n), fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n })) });
    fc.assert(fc.property(fc.array(fc.array(charge, { maxLength: 8 }), { minLength: 1, maxLength: 6 }), (lines) => {
      for (const pairs of lines) expect(chargePairs(round(of(pairs)))).toEqual(pairs);
    }));
  });

  it('read the pairs of one key and one amount that earlier versions wrote', () => {
    expect(parseBudgetCharges([['company|1764547200000|', '62250'], ['per-user|1764547200000|bob', '-3']])).toEqual({
      keys: ['company|1764547200000|', 'per-user|1764547200000|bob'],
      nanos: [62_250n, -3n],
    });
  });
});
