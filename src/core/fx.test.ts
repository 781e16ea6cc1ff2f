import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { FxTable } from './fx.js';

const day = (s: string) => Date.parse(`${s}T00:00:00Z`);
const fx = new FxTable([
  { from: 'USD', to: 'GBP', rate: 800_000_000n, effectiveFrom: day('2026-01-01') },
  { from: 'USD', to: 'GBP', rate: 750_000_000n, effectiveFrom: day('2026-07-01') },
  { from: 'EUR', to: 'USD', rate: 1_250_000_000n, effectiveFrom: day('2026-01-01') },
]);

describe('FxTable', () => {
  it('uses the rate in force on the day', () => {
    expect(fx.convert(10_000_000_000n, 'USD', 'GBP', day('2026-03-01'))).toEqual({ nano: 8_000_000_000n, rate: 800_000_000n });
    expect(fx.convert(10_000_000_000n, 'USD', 'GBP', day('2026-08-01')).nano).toBe(7_500_000_000n);
    expect(() => fx.convert(1n, 'USD', 'GBP', day('2025-06-01'))).toThrow(/no FX rate from USD to GBP in force on 2025-06-01/);
  });

  it('inverts a rate it only has the other way, and converts a currency to itself at 1', () => {
    expect(fx.convert(1_250_000_000n, 'USD', 'EUR', day('2026-03-01')).nano).toBe(1_000_000_000n);
    expect(fx.convert(123n, 'JPY', 'JPY', 0)).toEqual({ nano: 123n, rate: 1_000_000_000n });
    expect(fx.has('GBP', 'USD', day('2026-03-01'))).toBe(true);
    expect(fx.has('GBP', 'EUR', day('2026-03-01'))).toBe(false);
  });

  it('rounds up for a worst case and down for what is left, never by more than a nano-unit (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 10n ** 18n }), (n) => {
      const at = day('2026-03-01');
      const near = fx.convert(n, 'USD', 'EUR', at, 'nearest').nano;
      const up = fx.convert(n, 'USD', 'EUR', at, 'up').nano;
      const down = fx.convert(n, 'USD', 'EUR', at, 'down').nano;
      expect(down <= near && near <= up && up - down <= 1n).toBe(true);
      expect(down * 1_250_000_000n <= n * 1_000_000_000n && up * 1_250_000_000n >= n * 1_000_000_000n).toBe(true);
    }));
  });
});
