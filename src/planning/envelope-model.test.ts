import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { envelopeSpecSchema, partOf, splitAmount } from './envelope-model.js';

const spec = (over: Record<string, unknown> = {}) =>
  envelopeSpecSchema.parse({ id: 'e', department: 'd', quarter: '2026-Q2', amount: '100', split: { production: 60, scaling: 25, experiments: 15 }, ...over });

describe('an envelope\'s parts', () => {
  it('always total its amount exactly, in whole minor units where the amount is', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 15n }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (cents, a, b) => {
      const [p, s] = a + b > 10_000 ? [a / 2, b / 2] : [a, b];
      const e = spec({ amount: `${cents / 100n}.${(cents % 100n).toString().padStart(2, '0')}`, split: { production: p / 100, scaling: s / 100, experiments: (10_000 - p - s) / 100 } });
      const parts = splitAmount(e, 'USD');
      expect(parts.production + parts.scaling + parts.experiments).toBe(cents * 10_000_000n);
      for (const v of Object.values(parts)) expect(v % 10_000_000n).toBe(0n);
    }));
  });

  it('count budget categories by default, and unmatched spend into `otherwise`', () => {
    const e = spec();
    expect([partOf(e, 'production'), partOf(e, 'pilot'), partOf(e, 'sandbox'), partOf(e, null)]).toEqual(['production', 'scaling', 'experiments', 'production']);
    const byEnv = spec({ count_by: 'environment', map: { experiments: ['dev'], scaling: ['staging'] }, otherwise: 'scaling' });
    expect([partOf(byEnv, 'dev'), partOf(byEnv, 'staging'), partOf(byEnv, 'production')]).toEqual(['experiments', 'scaling', 'scaling']);
  });

  it('refuse a split that does not total 100%, and a value counted twice', () => {
    const issue = (over: Record<string, unknown>) => envelopeSpecSchema.safeParse({ ...spec(), ...over }).error?.issues[0]?.message;
    expect(issue({ split: { production: 60, scaling: 30, experiments: 15 } })).toBe('the parts total 105%, not 100%');
    expect(issue({ count_by: 'tag:stage', map: { production: ['a'], scaling: ['a'] } })).toBe('"a" is already counted into production');
  });
});
