/**
 * Currency conversion with an effective-dated rate table. Rates are integers: nano-units of the
 * target currency per one unit of the source, so "0.79" GBP per USD is 790_000_000n. A missing
 * direct rate is taken from its inverse; the same currency converts at 1.
 */
import { divRound, NANO } from './money.js';

export interface FxRate {
  readonly from: string;
  readonly to: string;
  /** Nano-units of `to` per one unit of `from`. */
  readonly rate: bigint;
  /** Epoch ms from which the rate applies. */
  readonly effectiveFrom: number;
}

export interface Converted {
  readonly nano: bigint;
  /** The rate used, as nano-units of the target per unit of the source (NANO when none was needed). */
  readonly rate: bigint;
}

export type Rounding = 'nearest' | 'up' | 'down';

function divide(n: bigint, d: bigint, rounding: Rounding): bigint {
  if (rounding === 'nearest') return divRound(n, d);
  const q = n / d;
  const r = n % d;
  if (r === 0n) return q;
  if (rounding === 'up') return n > 0n ? q + 1n : q;
  return n < 0n ? q - 1n : q;
}

export class FxTable {
  private readonly rates = new Map<string, FxRate[]>();

  constructor(rates: readonly FxRate[]) {
    for (const r of rates) {
      if (r.rate <= 0n) throw new RangeError(`FX rate ${r.from}->${r.to} must be positive`);
      const k = `${r.from}>${r.to}`;
      const list = this.rates.get(k) ?? [];
      list.push(r);
      list.sort((a, b) => b.effectiveFrom - a.effectiveFrom);
      this.rates.set(k, list);
    }
  }

  private find(from: string, to: string, at: number): FxRate | undefined {
    return this.rates.get(`${from}>${to}`)?.find((r) => r.effectiveFrom <= at);
  }

  /** Whether `from` can be converted to `to` at `at`. */
  has(from: string, to: string, at: number): boolean {
    return from === to || this.find(from, to, at) !== undefined || this.find(to, from, at) !== undefined;
  }

  /** Converts an amount; throws a RangeError naming the missing rate. */
  convert(nano: bigint, from: string, to: string, at: number, rounding: Rounding = 'nearest'): Converted {
    if (from === to) return { nano, rate: NANO };
    const direct = this.find(from, to, at);
    if (direct) return { nano: divide(nano * direct.rate, NANO, rounding), rate: direct.rate };
    const inverse = this.find(to, from, at);
    if (inverse) return { nano: divide(nano * NANO, inverse.rate, rounding), rate: divide(NANO * NANO, inverse.rate, 'nearest') };
    throw new RangeError(`no FX rate from ${from} to ${to} in force on ${new Date(at).toISOString().slice(0, 10)}; add one under fx: in bursar.yaml`);
  }
}
