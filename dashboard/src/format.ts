/**
 * Amounts arrive as exact decimal strings; they are shown rounded to the currency's minor unit
 * by Intl (which formats decimal strings exactly) and only turned into numbers to draw charts.
 */
const formats = new Map<string, Intl.NumberFormat>();

/**
 * An amount in its currency: to the minor unit, or, below one unit (a call, a run, a thousand
 * tokens), to four significant digits, so that small amounts do not all read as 0.00.
 */
export function money(amount: string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return '—';
  const small = /^-?0\.0/.test(amount) && !/^-?0\.0+$/.test(amount);
  const key = `${currency}|${small}`;
  let f = formats.get(key);
  if (!f) {
    f = new Intl.NumberFormat('en-GB', { style: 'currency', currency, ...(small ? { maximumSignificantDigits: 4 } : {}) });
    formats.set(key, f);
  }
  return f.format(amount as `${number}`);
}

/** Axis ticks: short numbers. */
export const tick = (v: number): string => (Math.abs(v) >= 1000 ? `${(v / 1000).toLocaleString('en-GB', { maximumFractionDigits: 1 })}k` : v.toLocaleString('en-GB', { maximumSignificantDigits: 3 }));

/** A chart's value: fine for pixels, never for sums shown as money. */
export const plot = (amount: string | null | undefined): number => (amount ? Number(amount) : 0);

export const count = (n: number): string => n.toLocaleString('en-GB');

export const percent = (p: number | null | undefined): string => (p === null || p === undefined ? '—' : `${p.toFixed(1)}%`);

/** a / b as a percentage of two exact decimal strings, for display. */
export function share(part: string, whole: string): number | null {
  const w = Number(whole);
  return w === 0 ? null : (Number(part) / w) * 100;
}

export const day = (iso: string): string => iso.slice(0, 10);
export const when = (t: number | string | null | undefined): string => (t === null || t === undefined ? '—' : new Date(t).toISOString().replace('T', ' ').slice(0, 16));

/** An exact decimal string as nano-units, and back: for sums and ratios that must stay exact. */
export function nanoOf(amount: string): bigint {
  const neg = amount.startsWith('-');
  const [whole = '0', frac = ''] = amount.replace('-', '').split('.');
  const n = BigInt(whole) * 1_000_000_000n + BigInt((frac + '000000000').slice(0, 9));
  return neg ? -n : n;
}
export function decimalOf(nano: bigint): string {
  const neg = nano < 0n;
  const a = neg ? -nano : nano;
  return `${neg ? '-' : ''}${a / 1_000_000_000n}.${(a % 1_000_000_000n).toString().padStart(9, '0')}`;
}
