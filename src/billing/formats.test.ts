import { describe, expect, it } from 'vitest';
import { decimalNano, readBursarCsv } from './formats.js';

describe('decimalNano', () => {
  it('reads decimals exactly, exponents and cents included, and refuses what it cannot hold', () => {
    expect(decimalNano('12.5', 'x', 'a')).toBe(12_500_000_000n);
    expect(decimalNano('-0.000000001', 'x', 'a')).toBe(-1n);
    expect(decimalNano('1.2e-5', 'x', 'a')).toBe(12_000n);
    expect(decimalNano('3E2', 'x', 'a')).toBe(300_000_000_000n);
    expect(decimalNano('.5', 'x', 'a')).toBe(500_000_000n);
    expect(decimalNano('123.45', 'x', 'a', 2)).toBe(1_234_500_000n);
    expect(decimalNano('1.5000000000', 'x', 'a')).toBe(1_500_000_000n);
    expect(() => decimalNano('0.0000000001', 'x', 'a')).toThrow('more than nine decimal places');
    expect(() => decimalNano('1,5', 'line 3', 'amount')).toThrow('amount "1,5" is not a number');
    expect(() => decimalNano('', 'x', 'a')).toThrow('is not a number');
  });
});

describe("Bursar's CSV", () => {
  const rows = async (csv: string) => {
    const out = [];
    for await (const r of readBursarCsv(Buffer.from(csv))) out.push(r);
    return out;
  };

  it('checks amount against quantity × unit_price, and needs one of them', async () => {
    const head = 'date,kind,quantity,unit_price,amount,currency\n';
    expect((await rows(`${head}2026-11-01,seat,3,2.5,7.5,USD\n`))[0]!.costNano).toBe(7_500_000_000n);
    await expect(rows(`${head}2026-11-01,seat,3,2.5,7,USD\n`)).rejects.toThrow('amount 7 is not quantity × unit_price');
    await expect(rows(`${head}2026-11-01,seat,,,,USD\n`)).rejects.toThrow('give amount, or unit_price');
    await expect(rows(`${head}2026-11-01,seat,1,2,"unclosed,USD\n`)).rejects.toThrow(/not valid CSV/);
  });
});
