/**
 * Money in integer nano-units (1e-9 of a currency's major unit), never floats.
 *
 * A single call's cost fits a JS number, but sums over a ledger and imported invoices do not
 * (2^53 nano is only about 9 million units), so every amount is a bigint.
 */

export type Currency = string;

export interface Money {
  readonly nano: bigint;
  readonly currency: Currency;
}

export const NANO = 1_000_000_000n;
const NANO_DIGITS = 9;

/** Minor-unit digits of the currencies people budget in; ISO 4217 default is 2. */
const MINOR_DIGITS: Readonly<Record<string, number>> = {
  JPY: 0, KRW: 0, VND: 0, CLP: 0, ISK: 0, HUF: 2,
  BHD: 3, KWD: 3, OMR: 3, JOD: 3, TND: 3,
};

export function minorDigits(currency: Currency): number {
  return MINOR_DIGITS[currency] ?? 2;
}

export function money(nano: bigint, currency: Currency): Money {
  return { nano, currency };
}

/**
 * Parses a decimal string ("2.50", "-0.000000001", "1e-3" is refused) into nano-units.
 * Refuses more than nine decimal places rather than rounding silently.
 */
export function parseDecimal(text: string): bigint {
  const m = /^(-)?(\d+)(?:\.(\d+))?$/.exec(text.trim());
  if (!m) throw new RangeError(`"${text}" is not a decimal number (use digits and one dot, e.g. "2.50")`);
  const [, sign, whole = '0', frac = ''] = m;
  if (frac.length > NANO_DIGITS) {
    throw new RangeError(`"${text}" has more than ${NANO_DIGITS} decimal places`);
  }
  const nano = BigInt(whole) * NANO + BigInt(frac.padEnd(NANO_DIGITS, '0'));
  return sign ? -nano : nano;
}

/** Exact decimal text of a nano amount, trimmed of trailing zeros but keeping `minDigits`. */
export function decimalText(nano: bigint, minDigits = 0): string {
  const negative = nano < 0n;
  // One conversion to digits, cut into whole and fraction as text: every call's cost header is one.
  const digits = (negative ? -nano : nano).toString();
  const cut = digits.length - NANO_DIGITS;
  const whole = cut > 0 ? digits.slice(0, cut) : '0';
  let frac = cut > 0 ? digits.slice(cut) : digits.padStart(NANO_DIGITS, '0');
  let end = frac.length;
  while (end > 0 && frac.charCodeAt(end - 1) === 48) end--;
  frac = end < minDigits ? frac.slice(0, end).padEnd(minDigits, '0') : frac.slice(0, end);
  return `${negative ? '-' : ''}${whole}${frac ? `.${frac}` : ''}`;
}

/** a * b / d rounded half away from zero, exact for any size. */
export function mulDivRound(a: bigint, b: bigint, d: bigint): bigint {
  if (d === 0n) throw new RangeError('division by zero');
  return divRound(a * b, d);
}

/** n / d rounded half away from zero. */
export function divRound(n: bigint, d: bigint): bigint {
  if (d < 0n) return divRound(-n, -d);
  const q = n / d;
  const r = n % d;
  if (2n * (r < 0n ? -r : r) >= d) return q + (n < 0n ? -1n : 1n);
  return q;
}

/** a / b as exact decimal text with `digits` places (rounded half away from zero); null when b is 0. */
export function ratioText(a: bigint, b: bigint, digits = 2): string | null {
  if (b === 0n) return null;
  return decimalText(divRound(a * 10n ** BigInt(digits), b) * 10n ** BigInt(NANO_DIGITS - digits), digits);
}

/** part / whole in percent, as exact decimal text with `digits` places; null when whole is 0. */
export function percentText(part: bigint, whole: bigint, digits = 2): string | null {
  return ratioText(part * 100n, whole, digits);
}

/** Rounds a nano amount to the currency's minor unit (half away from zero), still in nano. */
export function roundToMinor(nano: bigint, currency: Currency): bigint {
  const step = 10n ** BigInt(NANO_DIGITS - minorDigits(currency));
  return divRound(nano, step) * step;
}

/**
 * Splits `total` into parts proportional to `weights` that sum exactly to `total`
 * (largest remainder; ties go to the earlier index, so the result is deterministic).
 * With all weights zero, the split is even.
 */
export function largestRemainder(total: bigint, weights: readonly bigint[]): bigint[] {
  const n = weights.length;
  if (n === 0) {
    if (total !== 0n) throw new RangeError('cannot split a non-zero amount into no parts');
    return [];
  }
  for (const w of weights) if (w < 0n) throw new RangeError('weights must not be negative');
  let sum = weights.reduce((a, b) => a + b, 0n);
  const ws = sum === 0n ? weights.map(() => 1n) : weights;
  if (sum === 0n) sum = BigInt(n);
  const negative = total < 0n;
  const abs = negative ? -total : total;
  const parts: bigint[] = new Array(n);
  const rems: bigint[] = new Array(n);
  let given = 0n;
  for (let i = 0; i < n; i++) {
    const exact = abs * ws[i]!;
    parts[i] = exact / sum;
    rems[i] = exact % sum;
    given += parts[i]!;
  }
  let left = abs - given; // always < n
  if (left > 0n) {
    const order = [...rems.keys()].sort((a, b) => (rems[b]! > rems[a]! ? 1 : rems[b]! < rems[a]! ? -1 : a - b));
    for (const i of order) {
      if (left === 0n) break;
      parts[i] = parts[i]! + 1n;
      left -= 1n;
    }
  }
  return negative ? parts.map((p) => -p) : parts;
}

const formatters = new Map<string, Intl.NumberFormat>();

/** "£412.50": the amount rounded to the currency's minor unit, with its symbol. */
export function formatMoney(m: Money): string {
  let f = formatters.get(m.currency);
  if (!f) {
    const digits = minorDigits(m.currency);
    f = new Intl.NumberFormat('en-US', {
      style: 'currency', currency: m.currency, minimumFractionDigits: digits, maximumFractionDigits: digits,
    });
    formatters.set(m.currency, f);
  }
  // Intl formats a decimal string exactly (no float on the way).
  return f.format(decimalText(roundToMinor(m.nano, m.currency)) as unknown as number);
}

const precise = new Map<string, Intl.NumberFormat>();

/** Like formatMoney, but keeps every significant digit below the minor unit ("$0.0002079"). */
export function formatMoneyExact(m: Money): string {
  let f = precise.get(m.currency);
  if (!f) {
    f = new Intl.NumberFormat('en-US', { style: 'currency', currency: m.currency, minimumFractionDigits: minorDigits(m.currency), maximumFractionDigits: NANO_DIGITS });
    precise.set(m.currency, f);
  }
  return f.format(decimalText(m.nano) as unknown as number);
}

/** For people: the minor unit ("£412.50"), or every significant digit below one unit ("£0.0012"). */
export function formatAmount(m: Money): string {
  const abs = m.nano < 0n ? -m.nano : m.nano;
  return abs !== 0n && abs < NANO ? formatMoneyExact(m) : formatMoney(m);
}

/** Sum of amounts in one currency; refuses to add across currencies. */
export function sumMoney(items: readonly Money[], currency: Currency): Money {
  let nano = 0n;
  for (const it of items) {
    if (it.currency !== currency) throw new RangeError(`cannot add ${it.currency} to ${currency}`);
    nano += it.nano;
  }
  return { nano, currency };
}
