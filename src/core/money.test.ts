import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { decimalText, divRound, formatMoney, formatMoneyExact, largestRemainder, parseDecimal, roundToMinor } from './money.js';

describe('decimals', () => {
  it('parses and prints exactly, refusing what it cannot hold', () => {
    expect(parseDecimal('2.50')).toBe(2_500_000_000n);
    expect(parseDecimal('0.000000001')).toBe(1n);
    expect(parseDecimal('-12')).toBe(-12_000_000_000n);
    expect(() => parseDecimal('0.0000000001')).toThrow(/more than 9 decimal places/);
    expect(() => parseDecimal('1e3')).toThrow(/not a decimal/);
    expect(decimalText(2_500_000_000n)).toBe('2.5');
    expect(decimalText(2_500_000_000n, 2)).toBe('2.50');
    expect(decimalText(-1n)).toBe('-0.000000001');
  });

  it('round-trips any amount, in the shortest form that keeps the digits asked for (property)', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }), fc.integer({ min: 0, max: 9 }), (n, minDigits) => {
      const text = decimalText(n, minDigits);
      expect(parseDecimal(text)).toBe(n);
      expect(text).toMatch(/^-?(0|[1-9]\d*)(\.\d+)?$/);
      const frac = text.split('.')[1] ?? '';
      expect(frac.length).toBeGreaterThanOrEqual(minDigits);
      if (frac.length > minDigits) expect(frac.endsWith('0')).toBe(false);
      if (n === 0n || n === -0n) expect(text.startsWith('-')).toBe(false);
    }));
    expect(decimalText(0n)).toBe('0');
    expect(decimalText(1_000_000_000n, 2)).toBe('1.00');
    expect(decimalText(123_456_789_012n)).toBe('123.456789012');
  });

  it('rounds half away from zero', () => {
    expect(divRound(5n, 2n)).toBe(3n);
    expect(divRound(-5n, 2n)).toBe(-3n);
    expect(divRound(4n, 3n)).toBe(1n);
    expect(roundToMinor(12_345_000_000n + 5_000_000n, 'GBP')).toBe(12_350_000_000n);
    expect(roundToMinor(1_500_000_000n, 'JPY')).toBe(2_000_000_000n);
  });

  it('formats in the currency', () => {
    expect(formatMoney({ nano: 412_504_999_999n, currency: 'GBP' })).toBe('£412.50');
    expect(formatMoney({ nano: 1_000n, currency: 'USD' })).toBe('$0.00');
    expect(formatMoneyExact({ nano: 207_900n, currency: 'USD' })).toBe('$0.0002079');
    expect(formatMoney({ nano: 10n ** 25n, currency: 'EUR' })).toBe('€10,000,000,000,000,000.00');
  });
});

describe('largestRemainder', () => {
  it('splits exactly and deterministically', () => {
    expect(largestRemainder(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(largestRemainder(-100n, [1n, 1n, 1n])).toEqual([-34n, -33n, -33n]);
    expect(largestRemainder(10n, [0n, 0n])).toEqual([5n, 5n]);
    expect(largestRemainder(7n, [70n, 30n])).toEqual([5n, 2n]);
  });

  it('always sums to the total, each part within one unit of its exact share (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 12n }), { minLength: 1, maxLength: 30 }),
        (total, weights) => {
          const parts = largestRemainder(total, weights);
          expect(parts.reduce((a, b) => a + b, 0n)).toBe(total);
          const sum = weights.reduce((a, b) => a + b, 0n);
          if (sum > 0n) {
            parts.forEach((p, i) => {
              const exactTimesSum = total * weights[i]!;
              const diff = p * sum - exactTimesSum;
              expect(diff < 0n ? -diff : diff).toBeLessThan(sum);
            });
          }
        },
      ),
    );
  });
});

describe('ratioText and percentText', () => {
  it('divide exactly to the places asked, rounding half away from zero, and refuse a zero divisor', async () => {
    const { ratioText, percentText } = await import('./money.js');
    expect(percentText(1n, 3n)).toBe('33.33');
    expect(percentText(2n, 3n)).toBe('66.67');
    expect(percentText(-1n, 8n)).toBe('-12.50');
    expect(percentText(3n, 100n, 4)).toBe('3.0000');
    expect(ratioText(40n, 3n)).toBe('13.33');
    expect(ratioText(1n, 0n)).toBeNull();
  });
});
