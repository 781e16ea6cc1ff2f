/**
 * The cost files Bursar imports, each read into the same rows: a charge period, what was
 * charged for (kind, description, quantity and unit), its exact cost and currency, and its
 * attribution (dimensions and tags). Amounts are read from their text, never through a float,
 * so an imported cost is exactly what the file says.
 *
 * - `csv`: Bursar's documented CSV for what has no export of its own (docs/billing.md#csv).
 * - `openai-costs`: the OpenAI organization costs API's JSON (a page, or a list of pages).
 * - `anthropic-costs`: the Anthropic Admin API's cost report JSON (amounts in cents).
 * - `focus`: a FOCUS 1.x cost and usage file, CSV or Parquet, from a cloud's billing export.
 */
import { Readable } from 'node:stream';
import { parse as parseLossless } from 'lossless-json';
import { isDimension, TAG_KEY, type Dimension } from '../core/dimensions.js';

export const IMPORT_FORMATS = ['csv', 'openai-costs', 'anthropic-costs', 'focus'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

export const SPEND_CATEGORIES = ['production_inference', 'development', 'experimental', 'embedded_saas'] as const;
export type SpendCategory = (typeof SPEND_CATEGORIES)[number];

/** What a line of the documented CSV may charge for; it becomes the line's `endpoint`. */
export const CHARGE_KINDS = ['inference', 'seat', 'gpu_hours', 'vector_storage', 'platform_fee', 'human_review', 'other'] as const;

export interface ImportRow {
  /** Where in the file, for errors: "line 12", "data[3].results[1]". */
  readonly at: string;
  /**
   * What identifies the charge in its source (a provider's bucket and line item), or '' where
   * only the row's whole content does (CSV, FOCUS): it makes the line's id.
   */
  readonly key: string;
  readonly start: number;
  readonly end: number;
  readonly kind: string;
  readonly description: string | null;
  readonly quantityNano: bigint | null;
  readonly unit: string | null;
  readonly costNano: bigint;
  readonly currency: string;
  readonly spendCategory: SpendCategory | null;
  readonly dims: Partial<Record<Dimension, string>>;
  readonly tags: Record<string, string>;
}

/** A row the file cannot give: where, and what is wrong. */
export class RowError extends Error {
  constructor(readonly at: string, message: string) {
    super(message);
  }
}

const NANO_DIGITS = 9;

/**
 * A decimal's text (digits, one dot, optional exponent, as JSON and CSV numbers have) as
 * nano-units, exactly; `shift` divides by a power of ten first (2: an amount in cents).
 */
export function decimalNano(text: string, at: string, what: string, shift = 0): bigint {
  const m = /^([-+])?(\d*)(?:\.(\d*))?(?:[eE]([-+]?\d+))?$/.exec(text.trim());
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) throw new RowError(at, `${what} "${text}" is not a number (e.g. 12.50)`);
  const digits = `${m[2] ?? ''}${m[3] ?? ''}`.replace(/^0+(?=\d)/, '');
  const scale = (m[3] ?? '').length - Number(m[4] ?? 0) + shift; // value = digits * 10^-scale
  const exp = NANO_DIGITS - scale;
  let nano: bigint;
  if (exp >= 0) nano = BigInt(digits || '0') * 10n ** BigInt(exp);
  else {
    const cut = digits.slice(0, Math.max(0, digits.length + exp));
    const rest = digits.slice(Math.max(0, digits.length + exp));
    if (/[1-9]/.test(rest)) throw new RowError(at, `${what} "${text}" has more than nine decimal places`);
    nano = BigInt(cut || '0');
  }
  return m[1] === '-' ? -nano : nano;
}

const DAY = 86_400_000;

function dateMs(text: string, at: string, what: string): number {
  const t = text.trim();
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(t) ? Date.parse(`${t}T00:00:00Z`) : Date.parse(t);
  if (!Number.isFinite(ms)) throw new RowError(at, `${what} "${text}" is not a date (YYYY-MM-DD, or an ISO date-time)`);
  return ms;
}

/** A tag key from a source with other rules: lower case, other characters as "_". */
function tagKey(k: string): string | null {
  const key = k.toLowerCase().replace(/[^a-z0-9_.-]/g, '_').replace(/^[^a-z]+/, '').slice(0, 63);
  return TAG_KEY.test(key) ? key : null;
}

/** A tag value made safe: printable, no separators, at most 128 characters; empty is dropped. */
function tagValue(v: unknown): string | null {
  const s = String(v ?? '').replace(/[\p{Cc};=,]/gu, ' ').trim().slice(0, 128);
  return s === '' ? null : s;
}

function currencyOf(text: unknown, at: string): string {
  const c = String(text ?? '').trim().toUpperCase();
  if (!/^[A-Z]{3}$/.test(c)) throw new RowError(at, `currency "${String(text ?? '')}" is not an ISO 4217 code (e.g. USD)`);
  return c;
}

// ------------------------------------------------------------------ Bursar's CSV

const CSV_DIMENSIONS: readonly Dimension[] = ['department', 'cost_centre', 'team', 'project', 'project_code', 'user', 'application', 'workflow', 'agent', 'environment', 'provider', 'model'];

function* slices(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

/**
 * The records of a CSV file with a header, one at a time (a large file is never held whole as
 * records), each with its line number; `lower`: header names in lower case.
 */
async function* csvRecords(buf: Buffer, lower: boolean): AsyncGenerator<{ record: Record<string, string>; line: number }> {
  const columns = lower ? (h: string[]) => h.map((c) => c.trim().toLowerCase()) : (h: string[]) => h.map((c) => c.trim());
  // Fed in slices, so that backpressure holds: one whole chunk would be parsed into records at once.
  // Parsers are loaded on the first import of their format: the gateway itself never needs them.
  const { parse: parseCsvStream } = await import('csv-parse');
  const parser = Readable.from(slices(buf, 64 * 1024)).pipe(parseCsvStream({ columns, bom: true, skip_empty_lines: true, trim: true, info: true }));
  try {
    for await (const r of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) yield { record: r.record, line: r.info.lines };
  } catch (err) {
    if (err instanceof RowError) throw err;
    const e = err as { lines?: number; message: string };
    throw new RowError(`line ${e.lines ?? '?'}`, `not valid CSV: ${e.message}`);
  } finally {
    parser.destroy();
  }
}

const CSV_COLUMNS: ReadonlySet<string> = new Set(['date', 'end_date', 'kind', 'description', 'quantity', 'unit', 'unit_price', 'amount', 'currency', 'spend_category', 'tags', ...CSV_DIMENSIONS]);

export async function* readBursarCsv(buf: Buffer): AsyncGenerator<ImportRow> {
  let first = true;
  for await (const { record, line } of csvRecords(buf, true)) {
    if (first) {
      const unknown = Object.keys(record).find((h) => !CSV_COLUMNS.has(h));
      if (unknown !== undefined) throw new RowError('line 1', `unknown column "${unknown}"; the columns are ${[...CSV_COLUMNS].join(', ')}`);
      first = false;
    }
    yield csvRow(record, line);
  }
}

function csvRow(r: Record<string, string>, line: number): ImportRow {
  const at = `line ${line}`;
  const need = (c: string) => {
    const v = r[c];
    if (v === undefined || v === '') throw new RowError(at, `${c} is empty; every line needs one`);
    return v;
  };
  const start = dateMs(need('date'), at, 'date');
  const end = r.end_date ? dateMs(r.end_date, at, 'end_date') : start + DAY;
  if (end <= start) throw new RowError(at, 'end_date must be after date');
  const kind = need('kind');
  if (!(CHARGE_KINDS as readonly string[]).includes(kind)) throw new RowError(at, `kind "${kind}" is not one of ${CHARGE_KINDS.join(', ')}`);
  const quantity = r.quantity ? decimalNano(r.quantity, at, 'quantity') : null;
  let cost: bigint;
  if (r.amount) {
    cost = decimalNano(r.amount, at, 'amount');
    if (r.unit_price && quantity !== null && (decimalNano(r.unit_price, at, 'unit_price') * quantity) / 1_000_000_000n !== cost) {
      throw new RowError(at, `amount ${r.amount} is not quantity × unit_price (${r.quantity} × ${r.unit_price}); give one of them`);
    }
  } else if (r.unit_price) {
    const product = decimalNano(r.unit_price, at, 'unit_price') * (quantity ?? 1_000_000_000n);
    if (product % 1_000_000_000n !== 0n) throw new RowError(at, `quantity × unit_price has more than nine decimal places; give the amount`);
    cost = product / 1_000_000_000n;
  } else throw new RowError(at, 'give amount, or unit_price (with quantity)');
  const category = r.spend_category || (kind === 'seat' ? 'embedded_saas' : null);
  if (category && !(SPEND_CATEGORIES as readonly string[]).includes(category)) throw new RowError(at, `spend_category "${category}" is not one of ${SPEND_CATEGORIES.join(', ')}`);
  const dims: Partial<Record<Dimension, string>> = {};
  for (const d of CSV_DIMENSIONS) if (r[d]) dims[d] = r[d]!;
  const tags: Record<string, string> = {};
  for (const pair of (r.tags ?? '').split(';').filter((p) => p.trim() !== '')) {
    const [k = '', ...v] = pair.split('=');
    if (!TAG_KEY.test(k.trim()) || v.length === 0) throw new RowError(at, `tags "${pair}" is not key=value (keys: lower-case letters, digits, "_", "-", ".")`);
    tags[k.trim()] = v.join('=').trim();
  }
  return {
    at, key: '', start, end, kind, description: r.description || null, quantityNano: quantity, unit: r.unit || null,
    costNano: cost, currency: currencyOf(need('currency'), at), spendCategory: (category as SpendCategory | null) ?? null, dims, tags,
  };
}

// ------------------------------------------------------------------ provider exports

/**
 * Every result of a provider's cost export, with where it is (for errors) and its bucket's
 * period: the file is a page or a list of pages (paginated downloads put together), each page's
 * `data` a list of time buckets, each with `results`. `period` reads a bucket's start and end.
 */
function eachResult(
  buf: Buffer, parse: (text: string) => unknown, bucketKind: string,
  period: (bucket: Record<string, unknown>, where: string) => { start: number; end: number } | null,
  row: (result: Record<string, unknown>, at: string, start: number, end: number) => ImportRow,
): ImportRow[] {
  let json: unknown;
  try {
    json = parse(buf.toString('utf8'));
  } catch (err) {
    throw new RowError('file', `not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(json) ? json : [json];
  const out: ImportRow[] = [];
  list.forEach((page, p) => {
    const data = (page as { data?: unknown })?.data;
    if (!Array.isArray(data)) throw new RowError(Array.isArray(json) ? `[${p}]` : 'file', 'has no "data" list; export the costs with the provider\'s costs API');
    data.forEach((b, i) => {
      const bucket = (b ?? {}) as Record<string, unknown>;
      const where = `data[${i}]${p ? ` of page ${p + 1}` : ''}`;
      const span = period(bucket, where);
      if (!span || !Array.isArray(bucket.results)) throw new RowError(where, `is not a ${bucketKind}`);
      bucket.results.forEach((r, j) => out.push(row((r ?? {}) as Record<string, unknown>, `${where}.results[${j}]`, span.start, span.end)));
    });
  });
  return out;
}

/** The OpenAI organization costs JSON: buckets of results, amounts as JSON numbers in the currency's units. */
export function readOpenAiCosts(buf: Buffer): ImportRow[] {
  // Numbers stay as their text: 0.06 is read as 0.06, not as the nearest float.
  return eachResult(buf, (text) => parseLossless(text, null, (v: string) => v), 'costs bucket (start_time, end_time, results)',
    (b) => {
      if (b.start_time === undefined) return null;
      const start = Number(b.start_time) * 1000;
      return { start, end: b.end_time === undefined ? start + DAY : Number(b.end_time) * 1000 };
    },
    (r0, at, start, end) => {
      const r = r0 as { amount?: { value?: string; currency?: string }; line_item?: string | null; project_id?: string | null };
      if (r.amount?.value === undefined) throw new RowError(at, 'has no amount.value');
      const tags: Record<string, string> = {};
      if (r.project_id) tags.openai_project = r.project_id;
      return {
        at, key: `${start}|${r.line_item ?? ''}|${r.project_id ?? ''}`, start, end, kind: 'inference', description: r.line_item ?? null,
        quantityNano: null, unit: null, costNano: decimalNano(String(r.amount.value), at, 'amount.value'), currency: currencyOf(r.amount.currency ?? 'usd', at),
        spendCategory: null, dims: { provider: 'openai' }, tags,
      };
    });
}

/** The Anthropic cost report JSON: buckets of results, amounts as decimal strings in cents. */
export function readAnthropicCosts(buf: Buffer): ImportRow[] {
  return eachResult(buf, JSON.parse, 'cost report bucket (starting_at, ending_at, results)',
    (b, where) => {
      if (typeof b.starting_at !== 'string') return null;
      const start = dateMs(b.starting_at, where, 'starting_at');
      return { start, end: typeof b.ending_at === 'string' ? dateMs(b.ending_at, where, 'ending_at') : start + DAY };
    },
    (r0, at, start, end) => {
      const r = r0 as Record<string, string | null | undefined>;
      if (typeof r.amount !== 'string') throw new RowError(at, 'has no amount (a decimal string in cents)');
      const tags: Record<string, string> = {};
      for (const [k, tag] of [['workspace_id', 'anthropic_workspace'], ['cost_type', 'cost_type'], ['token_type', 'token_type'], ['service_tier', 'service_tier'], ['context_window', 'context_window']] as const) {
        const v = tagValue(r[k]);
        if (v) tags[tag] = v;
      }
      return {
        at, key: `${start}|${r.workspace_id ?? ''}|${r.description ?? ''}|${r.model ?? ''}|${r.cost_type ?? ''}|${r.token_type ?? ''}|${r.service_tier ?? ''}|${r.context_window ?? ''}`,
        start, end, kind: 'inference', description: r.description ?? null, quantityNano: null, unit: null,
        // Cents to the currency's units: "123.45" USD is $1.2345.
        costNano: decimalNano(r.amount, at, 'amount', 2), currency: currencyOf(r.currency ?? 'USD', at),
        spendCategory: null, dims: { provider: 'anthropic', ...(r.model ? { model: r.model } : {}) }, tags,
      };
    });
}

// ------------------------------------------------------------------ FOCUS

/**
 * FOCUS rows (1.0 to 1.3; 1.3 names the provider ServiceProviderName). Cost: BilledCost, what
 * the invoice charges (or EffectiveCost, amortised, when asked). Tags whose keys are Bursar
 * dimensions (department, project, ...) attribute the row; the others are kept as tags.
 */
function focusRow(r: Record<string, unknown>, at: string, cost: 'BilledCost' | 'EffectiveCost'): ImportRow {
  const text = (c: string): string | null => {
    const v = r[c];
    if (v === null || v === undefined || v === '') return null;
    if (v instanceof Date) return v.toISOString();
    // A Parquet DOUBLE or DECIMAL arrives as a float: to the nearest nano-unit (its own precision is less).
    if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(9);
    return String(v);
  };
  const need = (c: string) => {
    const v = text(c);
    if (v === null) throw new RowError(at, `${c} is empty; FOCUS requires it`);
    return v;
  };
  const start = dateMs(need('ChargePeriodStart'), at, 'ChargePeriodStart');
  const end = dateMs(need('ChargePeriodEnd'), at, 'ChargePeriodEnd');
  const dims: Partial<Record<Dimension, string>> = {};
  const tags: Record<string, string> = {};
  const provider = text('ServiceProviderName') ?? text('ProviderName');
  if (provider) tags.focus_provider = tagValue(provider) ?? '';
  for (const [c, tag] of [['ServiceName', 'focus_service'], ['SubAccountId', 'focus_sub_account'], ['ResourceId', 'focus_resource'], ['ChargeCategory', 'focus_charge_category']] as const) {
    const v = tagValue(text(c));
    if (v) tags[tag] = v;
  }
  const rawTags = r.Tags;
  if (rawTags !== null && rawTags !== undefined && rawTags !== '') {
    let parsed: unknown = rawTags;
    if (typeof rawTags === 'string') {
      try {
        parsed = JSON.parse(rawTags);
      } catch {
        throw new RowError(at, 'Tags is not a JSON object');
      }
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const key = k.toLowerCase();
      if (isDimension(key) && typeof v === 'string' && v !== '') dims[key] = v;
      else {
        const tk = tagKey(k);
        const tv = tagValue(v);
        if (tk && tv) tags[tk] = tv;
      }
    }
  }
  const quantity = text('ConsumedQuantity');
  return {
    at, key: '', start, end, kind: (text('ChargeCategory') ?? 'usage').toLowerCase(), description: text('ChargeDescription'),
    quantityNano: quantity === null ? null : decimalNano(quantity, at, 'ConsumedQuantity'), unit: text('ConsumedUnit'),
    costNano: decimalNano(need(cost), at, cost), currency: currencyOf(need('BillingCurrency'), at), spendCategory: null, dims, tags,
  };
}

const PARQUET_MAGIC = Buffer.from('PAR1');

export async function* readFocus(buf: Buffer, cost: 'BilledCost' | 'EffectiveCost' = 'BilledCost'): AsyncGenerator<ImportRow> {
  if (buf.length >= 8 && buf.subarray(0, 4).equals(PARQUET_MAGIC)) {
    const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.length) as ArrayBuffer;
    const { parquetReadObjects } = await import('hyparquet');
    let rows: Record<string, unknown>[];
    try {
      rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
    } catch (err) {
      throw new RowError('file', `not a readable Parquet file: ${(err as Error).message}`);
    }
    for (let i = 0; i < rows.length; i++) {
      yield focusRow(Object.fromEntries(Object.entries(rows[i]!).map(([k, v]) => [k, typeof v === 'bigint' ? v.toString() : v])), `row ${i + 1}`, cost);
    }
    return;
  }
  for await (const { record, line } of csvRecords(buf, false)) yield focusRow(record, `line ${line}`, cost);
}

/** A file's rows, one at a time: it can be read twice (checked whole, then written) without holding its lines. */
export async function* readImport(format: ImportFormat, buf: Buffer, opts: { readonly cost?: 'BilledCost' | 'EffectiveCost' } = {}): AsyncGenerator<ImportRow> {
  switch (format) {
    case 'csv':
      return yield* readBursarCsv(buf);
    case 'openai-costs':
      return yield* readOpenAiCosts(buf);
    case 'anthropic-costs':
      return yield* readAnthropicCosts(buf);
    case 'focus':
      return yield* readFocus(buf, opts.cost);
  }
}
