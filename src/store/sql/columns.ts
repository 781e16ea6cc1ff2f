/**
 * The ledger table's columns, described once: the migrations create them from this list, the
 * adapters bind and read them with it, so SQLite and PostgreSQL cannot drift apart.
 */
import { compile, fieldPath } from '../../core/compile.js';
import { DIMENSIONS, type Dimension, type Dims } from '../../core/dimensions.js';
import { budgetChargesJson, LINE_SOURCES, parseBudgetCharges, LINE_STATUSES, type LedgerLine, type LineSource, type LineStatus, type Tokens, type UsageRow } from '../../core/ledger.js';

export type ColumnType = 'text' | 'int' | 'bigint' | 'bool' | 'json';

export interface Column {
  readonly name: string;
  readonly type: ColumnType;
  readonly notNull: boolean;
  /** The migration that added the column (the list only grows, at its end). */
  readonly since: number;
  /** Where a line holds the value (`dims.team`, `tokens.input`); null when `get` works it out. */
  readonly path: string | null;
  /** The value to store (bool is converted by the adapter; json is given as its JSON text). */
  readonly get: (l: LedgerLine) => string | number | bigint | boolean | null;
}

/** A column read from a line's field (a path), or worked out by a function. */
const col = (name: string, type: ColumnType, notNull: boolean, read: string | Column['get'], since = 1): Column =>
  typeof read === 'string'
    ? { name, type, notNull, since, path: fieldPath(read), get: compile(['l'], `return l.${read};`) }
    : { name, type, notNull, since, path: null, get: read };

const tokenColumn: Record<keyof Tokens, string> = {
  input: 'input_tokens',
  cached_input: 'cached_input_tokens',
  cache_write: 'cache_write_tokens',
  output: 'output_tokens',
  reasoning: 'reasoning_tokens',
};

export const TOKEN_COLUMNS = tokenColumn;

/** Dimensions added after the first migration: their columns come at the end, with the migration that added them. */
const LATER_DIMENSIONS: ReadonlySet<Dimension> = new Set(['budget_category', 'downgraded_from', 'exception', 'baseline_model']);

export const LEDGER_COLUMNS: readonly Column[] = [
  col('id', 'text', true, 'id'),
  col('source', 'text', true, 'source'),
  col('ts', 'bigint', true, 'ts'),
  ...DIMENSIONS.filter((d) => !LATER_DIMENSIONS.has(d)).map((d) => col(d, 'text', false, `dims.${d}`)),
  col('tags', 'json', false, (l) => (l.tags ? JSON.stringify(l.tags) : null)),
  col('endpoint', 'text', false, 'endpoint'),
  col('stream', 'bool', true, 'stream'),
  ...(Object.keys(tokenColumn) as (keyof Tokens)[]).map((k) => col(tokenColumn[k], 'bigint', true, `tokens.${k}`)),
  col('retrieval_calls', 'int', true, 'retrievalCalls'),
  col('tool_calls', 'int', true, 'toolCalls'),
  col('agent_steps', 'int', true, 'agentSteps'),
  col('cache_hit', 'bool', true, 'cacheHit'),
  col('cost_nano', 'bigint', true, 'costNano'),
  col('currency', 'text', true, 'currency'),
  col('price_version', 'text', false, 'priceVersion'),
  col('status', 'text', true, 'status'),
  col('http_status', 'int', false, 'httpStatus'),
  col('error_code', 'text', false, 'errorCode'),
  col('latency_ms', 'int', false, 'latencyMs'),
  col('ttfb_ms', 'int', false, 'ttfbMs'),
  col('usage_exact', 'bool', true, 'usageExact'),
  col('run_status', 'text', false, 'runStatus'),
  col('accepted_output', 'bool', false, 'acceptedOutput'),
  col('human_review', 'bool', true, 'humanReview'),
  col('block_event', 'text', false, 'blockEvent'),
  col('spend_category', 'text', false, 'spendCategory'),
  // 0002: budgets
  col('budget_category', 'text', false, 'dims.budget_category', 2),
  col('budget_charges', 'json', false, (l) => (l.budgetCharges ? budgetChargesJson(l.budgetCharges) : null), 2),
  col('org_cost_nano', 'bigint', true, 'orgCostNano', 2),
  col('org_currency', 'text', true, 'orgCurrency', 2),
  col('fx_rate', 'bigint', true, 'fxRate', 2),
  // 0004: routing outcomes
  col('downgraded_from', 'text', false, 'dims.downgraded_from', 4),
  col('exception', 'text', false, 'dims.exception', 4),
  col('baseline_model', 'text', false, 'dims.baseline_model', 4),
  col('baseline_org_nano', 'bigint', false, 'baselineOrgNano', 4),
  // 0005: response cache
  col('avoided_org_nano', 'bigint', false, 'avoidedOrgNano', 5),
  // 0006: imports
  col('period_end', 'bigint', false, 'periodEnd', 6),
  col('quantity_nano', 'bigint', false, 'quantityNano', 6),
  col('unit', 'text', false, 'unit', 6),
  col('description', 'text', false, 'description', 6),
  col('import_id', 'text', false, 'importId', 6),
];

/**
 * Copies a line's value of each column into `cells` from `at` (null for none; booleans through
 * `bool`, as the driver stores them) and marks in `used` each column given a value. Compiled
 * (core/compile.ts): the SQLite insert does this for every column of every line, and a loop
 * calling each column's `get` cost three times as much.
 */
export function compileCells(columns: readonly Column[], bool: (b: boolean) => unknown): (l: LedgerLine, cells: unknown[], at: number, used: Uint8Array) => void {
  const lines = columns.map((c, i) => {
    const value = c.type === 'bool' ? 'bool(v)' : 'v';
    return `v = ${c.path === null ? `get[${i}](l)` : `l.${c.path}`}; if (v === null || v === undefined) cells[at + ${i}] = null; else { cells[at + ${i}] = ${value}; used[${i}] = 1; }`;
  });
  return compile(['l', 'cells', 'at', 'used'], `let v;\n${lines.join('\n')}`, { get: columns.map((c) => c.get), bool });
}

type Row = Record<string, unknown>;

const num = (v: unknown): number => (v === null || v === undefined ? 0 : Number(v));
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const big = (v: unknown): bigint => (typeof v === 'bigint' ? v : BigInt(v as string | number));
const bigOrNull = (v: unknown): bigint | null => (v === null || v === undefined ? null : big(v));
const bool = (v: unknown): boolean => v === true || v === 1 || v === 1n || v === 't';
const boolOrNull = (v: unknown): boolean | null => (v === null || v === undefined ? null : bool(v));
const str = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function oneOf<T extends string>(allowed: readonly T[], v: unknown): T {
  const s = String(v);
  if (!(allowed as readonly string[]).includes(s)) throw new Error(`ledger row has unknown value "${s}"`);
  return s as T;
}

/** The token columns of a row (a line, or a sum per group) as Tokens. */
export function tokensOf(r: Row): Tokens {
  return {
    input: num(r.input_tokens), cached_input: num(r.cached_input_tokens), cache_write: num(r.cache_write_tokens),
    output: num(r.output_tokens), reasoning: num(r.reasoning_tokens),
  };
}

/** A stored row back into a LedgerLine; a column the row lacks (a scan of some columns) reads as a blank line's (either dialect: bigint or string integers, 0/1 or true/false). */
export function rowToLine(r: Row): LedgerLine {
  const dims = {} as Dims;
  for (const d of DIMENSIONS as readonly Dimension[]) dims[d] = str(r[d]);
  const tags = r.tags === null || r.tags === undefined ? null : typeof r.tags === 'string' ? JSON.parse(r.tags) : r.tags;
  return {
    id: String(r.id),
    source: r.source === undefined ? 'gateway' : oneOf<LineSource>(LINE_SOURCES, r.source),
    ts: num(r.ts),
    dims,
    tags,
    endpoint: str(r.endpoint),
    stream: bool(r.stream),
    tokens: tokensOf(r),
    retrievalCalls: num(r.retrieval_calls),
    toolCalls: num(r.tool_calls),
    agentSteps: num(r.agent_steps),
    cacheHit: bool(r.cache_hit),
    costNano: big(r.cost_nano ?? 0),
    currency: String(r.currency ?? 'USD'),
    priceVersion: str(r.price_version),
    status: r.status === undefined ? 'ok' : oneOf<LineStatus>(LINE_STATUSES, r.status),
    httpStatus: numOrNull(r.http_status),
    errorCode: str(r.error_code),
    latencyMs: numOrNull(r.latency_ms),
    ttfbMs: numOrNull(r.ttfb_ms),
    usageExact: r.usage_exact === undefined || bool(r.usage_exact),
    runStatus: str(r.run_status),
    acceptedOutput: boolOrNull(r.accepted_output),
    humanReview: bool(r.human_review),
    blockEvent: str(r.block_event),
    spendCategory: str(r.spend_category),
    budgetCharges: charges(r.budget_charges),
    orgCostNano: big(r.org_cost_nano ?? 0),
    orgCurrency: String(r.org_currency ?? r.currency ?? 'USD'),
    fxRate: big(r.fx_rate ?? 1_000_000_000),
    baselineOrgNano: bigOrNull(r.baseline_org_nano),
    avoidedOrgNano: bigOrNull(r.avoided_org_nano),
    periodEnd: numOrNull(r.period_end),
    quantityNano: bigOrNull(r.quantity_nano),
    unit: str(r.unit),
    description: str(r.description),
    importId: str(r.import_id),
  };
}

function charges(v: unknown): LedgerLine['budgetCharges'] {
  if (v === null || v === undefined) return null;
  return parseBudgetCharges((typeof v === 'string' ? JSON.parse(v) : v) as unknown[]);
}

export const toBigInt = big;
export const toNumber = num;

/**
 * A usage row from an aggregate query's row: groups in columns g0, g1..., then currency and
 * the sums. `blankIsNull`: an empty group value means none (rollup keys store '' for null).
 */
export function usageRow(r: Record<string, unknown>, groupBy: readonly string[], blankIsNull = false): UsageRow {
  const group: Record<string, string | null> = {};
  groupBy.forEach((g, i) => {
    const v = r[`g${i}`];
    group[g] = v === null || v === undefined || (blankIsNull && v === '') ? null : String(v);
  });
  return {
    group,
    currency: String(r.currency),
    requests: toNumber(r.requests),
    tokens: tokensOf(r),
    costNano: r.cost_nano === null || r.cost_nano === undefined ? 0n : toBigInt(r.cost_nano),
    orgCostNano: r.org_cost_nano === null || r.org_cost_nano === undefined ? 0n : toBigInt(r.org_cost_nano),
    estimatedLines: toNumber(r.estimated),
    ...(r.routed === undefined ? {} : {
      routing: { routed: toNumber(r.routed), costNano: toBigInt(r.routed_org_cost_nano ?? 0), baselineNano: toBigInt(r.baseline_org_nano ?? 0), cacheHits: toNumber(r.cache_hits), avoidedNano: toBigInt(r.avoided_org_nano ?? 0) },
    }),
  };
}
