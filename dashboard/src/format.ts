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

export const when = (t: number | string | null | undefined): string => (t === null || t === undefined ? '—' : new Date(t).toISOString().replace('T', ' ').slice(0, 16));
