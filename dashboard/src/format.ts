/**
 * Amounts arrive as exact decimal strings; they are shown rounded to the currency's minor unit
 * by Intl (which formats decimal strings exactly) and only turned into numbers to draw charts.
 */
const formats = new Map<string, Intl.NumberFormat>();

export function money(amount: string | null | undefined, currency: string): string {
  if (amount === null || amount === undefined) return '—';
  let f = formats.get(currency);
  if (!f) {
    f = new Intl.NumberFormat('en-GB', { style: 'currency', currency });
    formats.set(currency, f);
  }
  return f.format(amount as `${number}`);
}

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
