/**
 * What the append transaction derives from the lines it adds, kept in the same transaction so
 * it can never disagree with them (a replayed line is skipped, so it is never summed twice):
 *
 * - Daily rollups: one row per UTC day and combination of the dimensions reports group by.
 *   Reports over whole days read the rollups; the partial days at the edges of a range, and
 *   groupings the rollups do not keep (tags, agent runs with people), read the lines. Absent
 *   dimensions are stored as '' and read back as null.
 * - Agent runs whole: a row per run over its whole life (and its cost per currency), for the
 *   reports that judge and count runs.
 * - Budget totals: what the lines charged each budget counter, so rebuilding the counters
 *   (at start, or when Redis lost them) reads a few rows instead of a month of lines.
 */
import { sql, type RawBuilder } from 'kysely';
import { compile, fieldPath } from '../../core/compile.js';
import type { Dimension } from '../../core/dimensions.js';
import { OUTCOME_DIMENSIONS, tokenTotal, type LedgerLine, type UsageGroup, type UsageQuery, type UsageRow } from '../../core/ledger.js';
import type { CounterAmount } from '../../core/ports.js';
import { toBigInt, toNumber, usageRow } from './columns.js';
import type { Db, SqlDialect } from './dialect.js';

/** The daily rollup's: every dimension but agent runs (too many to cross with people). */
export const ROLLUP_DIMS = [
  'department', 'cost_centre', 'team', 'project', 'project_code', 'user', 'user_group', 'application', 'workflow', 'agent',
  'environment', 'data_class', 'route', 'tier', 'provider', 'model', 'requested_model', 'fallback_model', 'key', 'budget_owner', 'budget_category',
] as const satisfies readonly Dimension[];

/**
 * The summary's dimensions: the org tree down to project, workflows, agents, routes and models,
 * without the per-person ones (user, user group, key). A day's rows then number the company's
 * workflows and models, not its people, so a month of department, project, workflow or model
 * reports reads thousands of rows however many lines there are.
 */
export const SUMMARY_DIMS = [
  'department', 'cost_centre', 'team', 'project', 'project_code', 'application', 'workflow', 'agent', 'environment', 'data_class',
  'route', 'tier', 'provider', 'model', 'requested_model', 'fallback_model', 'budget_owner', 'budget_category', 'downgraded_from', 'baseline_model',
] as const satisfies readonly Dimension[];

/**
 * The departments' dimensions: the org tree's top, and tiers and models. A day's rows number the
 * departments times the models in use, so the overview, the departments' drill-down, the models'
 * tiers and the anomalies by department read a few hundred rows a day.
 */
const DEPARTMENT_DIMS = ['department', 'cost_centre', 'budget_category', 'tier', 'provider', 'model'] as const satisfies readonly Dimension[];

/**
 * The agent runs' dimensions by day: reports grouped by run and day (the daily agent-loop
 * anomaly) read a row per run and day rather than its lines. Calls outside any run collapse to a
 * few rows per day, as there are no people in it.
 */
const RUN_DIMS = ['department', 'project', 'workflow', 'agent', 'agent_run'] as const satisfies readonly Dimension[];

/** A rollup key that is not a dimension: its name (a report's group) and its value for a line, as the lines' own grouping gives it. */
interface Extra {
  readonly name: string;
  readonly of: (l: LedgerLine) => string;
}
const BASE_EXTRAS: readonly Extra[] = [
  { name: 'status', of: (l) => l.status },
  { name: 'endpoint', of: (l) => l.endpoint ?? '' },
  { name: 'source', of: (l) => l.source },
  { name: 'currency', of: (l) => l.currency },
];
/** Unit economics and the anomalies read cache hits and refusal codes: the newer rollups keep them. */
const OUTCOME_EXTRAS: readonly Extra[] = [
  ...BASE_EXTRAS,
  { name: 'cache_hit', of: (l) => (l.cacheHit ? 'true' : 'false') },
  { name: 'error_code', of: (l) => l.errorCode ?? '' },
];

/** A column a rollup row folds its lines into (their sum, the greatest or the least value), and each line's value. */
interface Sum {
  readonly name: string;
  readonly big: boolean;
  readonly of: (l: LedgerLine) => number | bigint;
  readonly fold?: 'max' | 'min';
}
const routed = (l: LedgerLine): boolean => l.baselineOrgNano !== null;
const BASE_SUMS: readonly Sum[] = [
  { name: 'requests', big: false, of: () => 1 },
  { name: 'input_tokens', big: false, of: (l) => l.tokens.input },
  { name: 'cached_input_tokens', big: false, of: (l) => l.tokens.cached_input },
  { name: 'cache_write_tokens', big: false, of: (l) => l.tokens.cache_write },
  { name: 'output_tokens', big: false, of: (l) => l.tokens.output },
  { name: 'reasoning_tokens', big: false, of: (l) => l.tokens.reasoning },
  { name: 'cost_nano', big: true, of: (l) => l.costNano },
  { name: 'org_cost_nano', big: true, of: (l) => l.orgCostNano },
  { name: 'estimated', big: false, of: (l) => (l.usageExact ? 0 : 1) },
];
/** What the savings report needs: routed calls (those with a baseline), their cost and baseline, cache hits among them. */
const ROUTING_SUMS: readonly Sum[] = [
  { name: 'routed', big: false, of: (l) => (routed(l) ? 1 : 0) },
  { name: 'routed_org_cost_nano', big: true, of: (l) => (routed(l) ? l.orgCostNano : 0n) },
  { name: 'baseline_org_nano', big: true, of: (l) => l.baselineOrgNano ?? 0n },
  { name: 'cache_hits', big: false, of: (l) => (routed(l) && l.cacheHit ? 1 : 0) },
  { name: 'avoided_org_nano', big: true, of: (l) => (routed(l) && l.cacheHit ? (l.avoidedOrgNano ?? 0n) : 0n) },
];

/** When a row's last call started: unit economics judges a run by its last call (idle since, or cancelled). */
const LAST_CALL: Sum = { name: 'last_ts', big: false, of: (l) => l.ts, fold: 'max' };

/**
 * A text column a row keeps beside its key: `first`, the value of its earliest line (by the
 * first_ts sum, then the least id: the first_id attribute, which such a rollup must keep); `same`, the value every line that has one agrees on ('' while none has, '*' once
 * two differ).
 */
interface Attr {
  readonly name: string;
  readonly of: (l: LedgerLine) => string;
  readonly fold: 'first' | 'same';
}

/** Folds a line's value of a `same` attribute into a row's. */
const same = (cur: string, v: string): string => (v === '' || v === cur ? cur : cur === '' ? v : '*');

/** The SET clause of an upsert: each column folded with the stored one (added, the greater or lesser kept, or as its attribute folds). */
function upsertSet(table: string, columns: readonly Pick<Sum, 'name' | 'fold'>[], attrs: readonly Attr[] = []): string {
  const col = (name: string) => [`${table}."${name}"`, `excluded."${name}"`] as const;
  // Every expression reads the stored row as it was, so a first compares first_ts (then first_id,
  // for calls of the same millisecond) before they are folded.
  const [storedFirst, addedFirst] = col('first_ts');
  const [storedId, addedId] = col('first_id');
  const earlier = `(${addedFirst} < ${storedFirst} or (${addedFirst} = ${storedFirst} and ${addedId} < ${storedId}))`;
  return [
    ...attrs.map(({ name, fold }) => {
      const [stored, added] = col(name);
      return `"${name}" = ${fold === 'first' ? `case when ${earlier} then ${added} else ${stored} end`
        : `case when ${added} = '' or ${added} = ${stored} then ${stored} when ${stored} = '' then ${added} else '*' end`}`;
    }),
    ...columns.map(({ name, fold }) => {
      const [stored, added] = col(name);
      return `"${name}" = ${fold ? `case when ${added} ${fold === 'max' ? '>' : '<'} ${stored} then ${added} else ${stored} end` : `${stored} + ${added}`}`;
    }),
  ].join(', ');
}

/**
 * A table the append transaction derives from the lines: one row per combination of its key
 * columns (the UTC day, dimensions, extras; joined into its key column `k`), with sums.
 */
export interface Rollup {
  readonly table: string;
  /** Whether the UTC day is part of each row's key (the usage rollups), or rows span all time (the agent runs). */
  readonly daily: boolean;
  readonly dims: readonly Dimension[];
  readonly sums: readonly Sum[];
  /** The columns that make a row's identity, also joined into its key column `k`. */
  readonly keyColumns: readonly string[];
  readonly extras: readonly Extra[];
  /** Text columns a row keeps beside its key, each folded its way. */
  readonly attrs: readonly Attr[];
  /** Which lines it takes (all, when absent). */
  readonly takes?: (l: LedgerLine) => boolean;
  readonly sumColumns: readonly string[];
  /** Every column of a row, in the order rollupValues gives them. */
  readonly columns: readonly string[];
  /** What a query may group and filter by and still be served here. */
  readonly serves: ReadonlySet<string>;
  readonly routing: boolean;
  /** The SET clause of its upsert: each column folded with the stored one. */
  readonly onConflict: string;
  /** Columns indexed besides `k` (for the daily ones, the day). */
  readonly indexes: readonly string[];
  /** A wider rollup whose rows of a batch it is summed from (fewer than the batch's lines), instead of the lines. */
  readonly from?: Rollup;
  /** The node of a line's key under a day's (or the root's) node: one map per dimension and extra. */
  readonly walk: (from: KeyNode, l: LedgerLine) => KeyNode;
  /** Whether two lines have the same dimensions and extras (and so, on one day, the same row). */
  readonly sameKey: (a: LedgerLine, b: LedgerLine) => boolean;
}

interface RollupSpec {
  readonly dims: readonly Dimension[];
  readonly sums: readonly Sum[];
  readonly extras?: readonly Extra[];
  readonly daily?: boolean;
  readonly attrs?: readonly Attr[];
  readonly takes?: (l: LedgerLine) => boolean;
  readonly indexes?: readonly string[];
  readonly from?: Rollup;
}

function rollup(table: string, spec: RollupSpec): Rollup {
  const { dims, sums, extras = [], daily = true, attrs = [], takes, from } = spec;
  const keyColumns = [...(daily ? ['day'] : []), ...dims, ...extras.map((e) => e.name)];
  const sumColumns = sums.map((s) => s.name);
  if (attrs.some((a) => a.fold === 'first') && !(sumColumns.includes('first_ts') && attrs.some((a) => a.name === 'first_id'))) {
    throw new Error(`${table}: a rollup that keeps its first line's values needs the first_ts sum and the first_id attribute`);
  }
  return {
    table, daily, dims, sums, keyColumns, extras, attrs, ...(takes ? { takes } : {}), sumColumns, columns: ['k', ...keyColumns, ...attrs.map((a) => a.name), ...sumColumns],
    serves: new Set([...dims, ...extras.map((e) => e.name), ...(daily ? ['day', 'month'] : [])]), routing: sums.some((s) => s.name === 'routed'),
    onConflict: upsertSet(table, sums, attrs), indexes: spec.indexes ?? (daily ? ['day'] : []), ...(from ? { from } : {}),
    ...keyCode(dims, extras),
  };
}

/**
 * A rollup's key walk and key comparison, compiled (core/compile.ts): each line of every batch
 * reads each of a rollup's dimensions, and a loop over their names made each read a
 * megamorphic lookup.
 */
function keyCode(dims: readonly Dimension[], extras: readonly Extra[]): Pick<Rollup, 'walk' | 'sameKey'> {
  const scope = { step: stepInto, extra: extras.map((e) => e.of) };
  const parts = [...dims.map((d) => `d.${fieldPath(d)} ?? ''`), ...extras.map((_, i) => `extra[${i}](l)`)];
  const same = [...dims.map((d) => `x.${d} === y.${d}`), ...extras.map((_, i) => `extra[${i}](a) === extra[${i}](b)`)];
  return {
    walk: compile(['n', 'l'], `const d = l.dims;\n${parts.map((p) => `n = step(n, ${p});`).join('\n')}\nreturn n;`, scope),
    sameKey: compile(['a', 'b'], `const x = a.dims, y = b.dims;\nreturn ${same.join(' &&\n  ') || 'true'};`, scope),
  };
}

/**
 * An append's lines summed by every key column of the daily rollups below, in memory only (it
 * has no table): they are summed from its rows, so each line is walked and summed once rather
 * than once per rollup. A batch has many lines and, in real traffic, few such rows.
 */
const BATCH = rollup('(batch)', {
  dims: [...new Set<Dimension>([...ROLLUP_DIMS, ...SUMMARY_DIMS, ...RUN_DIMS])],
  sums: [...BASE_SUMS, ...ROUTING_SUMS, LAST_CALL],
  extras: OUTCOME_EXTRAS,
});
/** Every dimension but agent runs (migration 0003). */
export const DAILY = rollup('ledger_rollups', { dims: ROLLUP_DIMS, sums: BASE_SUMS, extras: BASE_EXTRAS, from: BATCH });
/** The summary (migration 0012): fewer dimensions, and the savings sums. */
export const SUMMARY = rollup('ledger_rollups_summary', { dims: SUMMARY_DIMS, sums: [...BASE_SUMS, ...ROUTING_SUMS], extras: OUTCOME_EXTRAS, from: BATCH });
/** Agent runs by day, with each row's last call (migration 0013; 0012 without it). */
export const RUNS = rollup('ledger_rollups_runs', { dims: RUN_DIMS, sums: [...BASE_SUMS, LAST_CALL], extras: OUTCOME_EXTRAS, from: BATCH });
/** By department, tier and model (migration 0015): the summary's sums, without the savings', summed from its rows. */
export const DEPARTMENTS = rollup('ledger_rollups_departments', { dims: DEPARTMENT_DIMS, sums: BASE_SUMS, extras: BASE_EXTRAS, from: SUMMARY });
/** Narrowest first: a query is served by the first that keeps what it groups and filters by. */
export const ROLLUPS: readonly Rollup[] = [DEPARTMENTS, SUMMARY, RUNS, DAILY];

const inRun = (l: LedgerLine): boolean => l.dims.agent_run !== null && l.source === 'gateway';
/**
 * Each agent run whole (migration 0014): a row per run over its whole life, however many days
 * it spans. Reports of runs (the agents view, unit economics' blocked and abandoned runs) read a
 * row per run: it holds what judging the run needs (its refusals, its first and last call, its
 * last cancelled call), the outcome dimensions of its first call (the group it is counted in), and
 * its cost: in the currency its calls were priced in (`currency`; '*' when they were priced in
 * more than one, '' when none cost anything) and in the organisation's.
 */
export const AGENT_RUNS = rollup('agent_runs', {
  dims: ['agent_run'], daily: false, takes: inRun, indexes: ['last_ts'],
  attrs: [
    // The first call: the earliest, and of calls in the same millisecond the least id.
    { name: 'first_id', of: (l) => l.id, fold: 'first' },
    ...OUTCOME_DIMENSIONS.map((d): Attr => ({ name: d, of: (l) => l.dims[d] ?? '', fold: 'first' })),
    // A refused call costs nothing and may carry the organisation's currency: it does not count.
    { name: 'currency', of: (l) => (l.costNano === 0n ? '' : l.currency), fold: 'same' },
    { name: 'org_currency', of: (l) => l.orgCurrency, fold: 'first' },
  ],
  sums: [
    { name: 'first_ts', big: false, of: (l) => l.ts, fold: 'min' },
    LAST_CALL,
    // 0 when no call was cancelled: a run "ended cancelled" when this equals last_ts.
    { name: 'cancelled_ts', big: false, of: (l) => (l.status === 'cancelled' ? l.ts : 0), fold: 'max' },
    { name: 'calls', big: false, of: () => 1 },
    { name: 'refused', big: false, of: (l) => (l.status === 'refused' ? 1 : 0) },
    { name: 'loop_refused', big: false, of: (l) => (l.errorCode === 'agent_loop' ? 1 : 0) },
    { name: 'cost_nano', big: true, of: (l) => l.costNano },
    { name: 'org_cost_nano', big: true, of: (l) => l.orgCostNano },
  ],
});
/** Every table the append transaction keeps beside the lines, apart from the budget totals. */
export const DERIVED: readonly Rollup[] = [...ROLLUPS, AGENT_RUNS];

export const TOTALS_TABLE = 'budget_totals';
export const TOTALS_COLUMNS = ['key', 'nano', 'tokens', 'requests'] as const;
export const DAY = 86_400_000;

export const dayOf = (ts: number): string => new Date(ts - (((ts % DAY) + DAY) % DAY)).toISOString().slice(0, 10);

type RowValues = (string | number | bigint)[];
/** One step of a row's key: the rows found under the key's parts so far. */
interface KeyNode {
  readonly next: Map<string, KeyNode>;
  row?: RowValues;
}
function stepInto(n: KeyNode, part: string): KeyNode {
  let c = n.next.get(part);
  if (!c) n.next.set(part, (c = { next: new Map() }));
  return c;
}

/** A row's sum with one more value folded in: added, or the greater or lesser kept (numbers or bigints alike). */
const folded = (fold: Sum['fold'], cur: number, v: number): number => (fold === 'max' ? (v > cur ? v : cur) : fold === 'min' ? (v < cur ? v : cur) : cur + v);

/**
 * Sums lines into a rollup's rows, one per key: each row's values in its `columns` order. A
 * line finds its row by walking one map per key part; the key's text (the `k` column) is built
 * only for a new row, as a batch has many lines and few rows.
 */
function rollupValues(lines: readonly LedgerLine[], r: Rollup): RowValues[] {
  const rows: RowValues[] = [];
  const root: KeyNode = { next: new Map() };
  const { dims, extras, sums, attrs, takes } = r;
  const attrAt = 1 + r.keyColumns.length;
  const sumAt = attrAt + attrs.length;
  const firstTs = r.sumColumns.indexOf('first_ts');
  const firstId = attrs.findIndex((a) => a.name === 'first_id');
  // A batch's lines nearly all fall on one day: its name is worked out once per day met.
  let dayStart = NaN;
  let day = '';
  // Lines come in runs of one key (a client's traffic): a line with the previous one's key is in its row.
  let prev: LedgerLine | null = null;
  let node = root;
  for (const l of lines) {
    if (takes && !takes(l)) continue;
    if (r.daily && !(l.ts >= dayStart && l.ts < dayStart + DAY)) {
      [dayStart, day] = [l.ts - (((l.ts % DAY) + DAY) % DAY), dayOf(l.ts)];
      prev = null;
    }
    if (prev === null || !r.sameKey(prev, l)) node = r.walk(r.daily ? stepInto(root, day) : root, l);
    prev = l;
    const d = l.dims;
    const row = node.row;
    if (!row) {
      const parts = [...dims.map((dim) => d[dim] ?? ''), ...extras.map((e) => e.of(l))];
      const k = (r.daily ? day : '') + parts.map((p) => `\u0001${p}`).join('');
      rows.push((node.row = [k, ...(r.daily ? [day] : []), ...parts, ...attrs.map((a) => a.of(l)), ...sums.map((s) => s.of(l))]));
      continue;
    }
    // The attributes before the sums: a first compares first_ts (then first_id) before they are folded.
    if (attrs.length) {
      const at = firstTs >= 0 ? (row[sumAt + firstTs] as number) : NaN;
      const earlier = l.ts < at || (l.ts === at && l.id < (row[attrAt + firstId] as string));
      for (let i = 0; i < attrs.length; i++) {
        const a = attrs[i]!;
        if (a.fold === 'same') row[attrAt + i] = same(row[attrAt + i] as string, a.of(l));
        else if (earlier) row[attrAt + i] = a.of(l);
      }
    }
    for (let i = 0; i < sums.length; i++) row[sumAt + i] = folded(sums[i]!.fold, row[sumAt + i] as number, sums[i]!.of(l) as number);
  }
  return rows;
}

/** Refuses to sum `narrow` from `wide` unless every key column and sum of it is there, folded the same way. */
function assertRollsUp(wide: Rollup, narrow: Rollup): void {
  const missing = [...narrow.keyColumns, ...narrow.sumColumns].filter((c) => !wide.columns.includes(c));
  const refolded = narrow.sums.some((x) => x.fold !== wide.sums.find((w) => w.name === x.name)?.fold);
  if (missing.length || refolded || narrow.attrs.length || !narrow.daily || !wide.daily) {
    throw new Error(`${narrow.table} cannot be summed from ${wide.table} (${missing.join(', ')})`);
  }
}

/** Sums a wider rollup's rows into a narrower one's, with the keys rollupValues gives the same lines. */
function rollUpRows(rows: readonly Readonly<RowValues>[], wide: Rollup, narrow: Rollup): RowValues[] {
  assertRollsUp(wide, narrow);
  const keyAt = narrow.keyColumns.map((c) => wide.columns.indexOf(c));
  const sumAt = narrow.sumColumns.map((c) => wide.columns.indexOf(c));
  const folds = narrow.sums.map((x) => x.fold);
  const first = 1 + keyAt.length;
  const out = new Map<string, RowValues>();
  for (const w of rows) {
    const key = keyAt.map((i) => w[i]!);
    const k = key.join('\u0001');
    const row = out.get(k);
    if (!row) out.set(k, [k, ...key, ...sumAt.map((i) => w[i]!)]);
    else sumAt.forEach((i, n) => (row[first + n] = folded(folds[n], row[first + n] as number, w[i] as number)));
  }
  return [...out.values()];
}

/** Each derived table's rows for some lines: summed from the lines, or from the rows of the wider rollup it names (summed first, once, whatever the order). */
export function derivedValues(lines: readonly LedgerLine[], tables: readonly Rollup[] = DERIVED): Map<Rollup, RowValues[]> {
  const out = new Map<Rollup, RowValues[]>();
  const valuesOf = (r: Rollup): RowValues[] => {
    let rows = out.get(r);
    if (!rows) out.set(r, (rows = r.from ? rollUpRows(valuesOf(r.from), r.from, r) : rollupValues(lines, r)));
    return rows;
  };
  return new Map(tables.map((r) => [r, valuesOf(r)]));
}

/** What lines charged each budget counter: [key, nano, tokens, requests] per counter. */
export function totalsValues(lines: readonly LedgerLine[]): [string, bigint, number, number][] {
  const out = new Map<string, [string, bigint, number, number]>();
  for (const l of lines) {
    if (!l.budgetCharges) continue;
    const tokens = tokenTotal(l.tokens);
    const { keys, nanos } = l.budgetCharges;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      const cur = out.get(key);
      if (cur) {
        cur[1] += nanos[i]!;
        cur[2] += tokens;
        cur[3] += 1;
      } else out.set(key, [key, nanos[i]!, tokens, 1]);
    }
  }
  return [...out.values()];
}

/** The SET clause of the budget totals' upsert: the new row's sums added to the stored ones. */
export const TOTALS_ON_CONFLICT = upsertSet(TOTALS_TABLE, TOTALS_COLUMNS.slice(1).map((name) => ({ name })));

/** Upserts rows into a derived table, 200 to a statement (in the caller's transaction). */
async function upsertRows(db: Db, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], set: string): Promise<void> {
  for (let i = 0; i < rows.length; i += 200) {
    await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
      values ${sql.join(rows.slice(i, i + 200).map((r) => sql`(${sql.join(r)})`))}
      on conflict (${sql.ref(columns[0]!)}) do update set ${sql.raw(set)}`.execute(db);
  }
}

/** Adds what `lines` derive to some derived tables and, unless told not to, the budget totals (in the caller's transaction). */
export async function addDerived(db: Db, lines: readonly LedgerLine[], rollups: readonly Rollup[] = DERIVED, totals = true): Promise<void> {
  for (const [r, rows] of derivedValues(lines, rollups)) await upsertRows(db, r.table, r.columns, rows, r.onConflict);
  if (totals) await upsertRows(db, TOTALS_TABLE, TOTALS_COLUMNS, totalsValues(lines), TOTALS_ON_CONFLICT);
}

/**
 * Fills a daily rollup from a wider one that keeps all its key columns and sums, a day at a
 * time: a few thousand rows a day instead of every line again, summed as the append sums a
 * batch's rows (rollUpRows).
 */
export async function rollUpFrom(db: Db, wide: Rollup, narrow: Rollup): Promise<void> {
  const big = new Map(wide.sums.map((x) => [x.name, x.big]));
  const days = await db.selectFrom(wide.table as never).select(sql.ref('day').as('day') as never).distinct().execute() as { day: string }[];
  for (const { day } of days) {
    const { rows } = await sql<Record<string, unknown>>`select ${sql.join(wide.columns.map((c) => sql.ref(c)))} from ${sql.table(wide.table)} where day = ${day}`.execute(db);
    // As rollupValues gives them: sums as numbers or bigints, the rest as text (the drivers give bigints or strings).
    const values = rows.map((r) => wide.columns.map((c) => (!big.has(c) ? String(r[c]) : big.get(c) ? toBigInt(r[c]) : toNumber(r[c]))));
    await upsertRows(db, narrow.table, narrow.columns, rollUpRows(values, wide, narrow), narrow.onConflict);
  }
}

/** Creates a rollup table; the caller backfills it. */
export async function createRollupTable(db: Db, d: SqlDialect, r: Rollup): Promise<void> {
  const bigint = sql.raw(d.columnType('bigint'));
  let t = db.schema.createTable(r.table).ifNotExists().addColumn('k', 'text', (b) => b.primaryKey());
  for (const c of [...r.keyColumns, ...r.attrs.map((a) => a.name)]) t = t.addColumn(c, 'text', (b) => b.notNull());
  for (const c of r.sumColumns) t = t.addColumn(c, bigint, (b) => b.notNull());
  await t.execute();
  for (const c of r.indexes) await db.schema.createIndex(`${r.table}_${c}`).ifNotExists().on(r.table).column(c).execute();
  if (d.name === 'postgres') await sql`alter table ${sql.table(r.table)} set (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05)`.execute(db);
}

/** Creates the daily rollup and budget-totals tables (migration 0003); the caller backfills them. */
export async function createDerivedTables(db: Db, d: SqlDialect): Promise<void> {
  const bigint = sql.raw(d.columnType('bigint'));
  await createRollupTable(db, d, DAILY);
  // Keys are compared byte by byte (prefix ranges), whatever the database's collation.
  await db.schema
    .createTable(TOTALS_TABLE)
    .ifNotExists()
    .addColumn('key', sql.raw(d.name === 'postgres' ? 'text collate "C"' : 'text'), (b) => b.primaryKey())
    .addColumn('nano', bigint, (b) => b.notNull())
    .addColumn('tokens', bigint, (b) => b.notNull())
    .addColumn('requests', bigint, (b) => b.notNull())
    .execute();
  if (d.name === 'postgres') {
    // Every batch adds to rows in place. Half-empty pages let PostgreSQL update them where they
    // are (HOT: no new index entries, dead versions pruned on the page) instead of bloating the
    // table and its indexes with a dead version per batch; and vacuum them soon after.
    await sql`alter table ${sql.table(TOTALS_TABLE)} set (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05)`.execute(db);
  }
}

/** The first string after every string that starts with `prefix` (byte order). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Reads the budget totals under some prefixes (in the caller's transaction, for a snapshot). */
export async function readTotals(db: Db, prefixes: readonly string[]): Promise<CounterAmount[]> {
  const out: CounterAmount[] = [];
  for (const p of new Set(prefixes)) {
    const range = p === '' ? sql`` : sql`where ${sql.ref('key')} >= ${p} and ${sql.ref('key')} < ${prefixEnd(p)}`;
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(TOTALS_TABLE)} ${range}`.execute(db);
    for (const r of rows) out.push({ key: String(r.key), nano: toBigInt(r.nano), tokens: toNumber(r.tokens), requests: toNumber(r.requests) });
  }
  return out;
}

/** The narrowest rollup that keeps a query's groups and filters (and the savings sums, if it asks for them), or null. */
export function servingRollup(q: UsageQuery): Rollup | null {
  return ROLLUPS.find((r) => (!q.routing || r.routing) && q.groupBy.every((g) => r.serves.has(g)) && Object.keys(q.where ?? {}).every((k) => r.serves.has(k))) ?? null;
}

/**
 * How a range reads the rollups: its whole UTC days [first, end), and its partial last day from
 * whichever side has fewer lines. Either the lines of that day before `to`, or the day's rollup
 * row less the lines from `to` on (`subtract`), which are none at all when `to` is now or
 * later, since no line is stamped after now. So "this month so far" reads rollup rows only.
 */
export function dayPlan(from: number, to: number, now: number): { first: number; end: number; subtract: readonly [number, number] | null } {
  const first = Math.ceil(from / DAY) * DAY;
  let end = Math.floor(to / DAY) * DAY;
  let subtract: readonly [number, number] | null = null;
  if (end < to && end >= first && Math.max(0, Math.min(now, end + DAY) - to) < to - end) {
    // Nothing to take away when `to` is now or later.
    subtract = to < now ? [to, end + DAY] : null;
    end += DAY;
  }
  return { first, end, subtract };
}

/** A row with every sum negated: what the lines to take away from a rollup row add. */
export function negated(r: UsageRow): UsageRow {
  const t = r.tokens;
  const x = r.routing;
  return {
    group: r.group, currency: r.currency, requests: -r.requests,
    tokens: { input: -t.input, cached_input: -t.cached_input, cache_write: -t.cache_write, output: -t.output, reasoning: -t.reasoning },
    costNano: -r.costNano, orgCostNano: -r.orgCostNano, estimatedLines: -r.estimatedLines,
    ...(x ? { routing: { routed: -x.routed, costNano: -x.costNano, baselineNano: -x.baselineNano, cacheHits: -x.cacheHits, avoidedNano: -x.avoidedNano } } : {}),
  };
}

function rollupGroup(g: UsageGroup): RawBuilder<unknown> {
  return g === 'month' ? sql`substr(${sql.ref('day')}, 1, 7)` : sql.ref(g);
}

/** A usage query over whole days [first, end), from a rollup. */
export async function aggregateRollups(db: Db, r: Rollup, q: UsageQuery, first: number, end: number): Promise<UsageRow[]> {
  let query = db.selectFrom(r.table as never).where(sql.ref('day'), '>=', dayOf(first)).where(sql.ref('day'), '<', dayOf(end));
  for (const [dim, values] of Object.entries(q.where ?? {})) {
    if (!values || values.length === 0) return [];
    query = query.where(sql.ref(dim), 'in', [...values]);
  }
  const groups = q.groupBy.map(rollupGroup);
  const rows = (await query
    .select([
      ...groups.map((g, i) => g.as(`g${i}`)),
      sql.ref('currency').as('currency'),
      ...(q.routing ? r.sumColumns : DAILY.sumColumns).map((c) => sql`sum(${sql.ref(c)})`.as(c)),
    ] as never)
    .groupBy([...groups, sql.ref('currency')] as never)
    .execute()) as Record<string, unknown>[];
  return rows.map((r) => usageRow(r, q.groupBy, true));
}

/** Adds up rows of the same group (the rollup days and the raw edges of one report), dearest first. */
export function mergeRows(parts: readonly (readonly UsageRow[])[], groupBy: readonly string[]): UsageRow[] {
  const out = new Map<string, UsageRow>();
  for (const rows of parts) {
    for (const r of rows) {
      const k = [...groupBy.map((g) => r.group[g] ?? '\u0000'), r.currency].join('\u0001');
      const cur = out.get(k);
      if (!cur) {
        out.set(k, r);
        continue;
      }
      const a = cur.tokens;
      const b = r.tokens;
      const x = cur.routing;
      const y = r.routing;
      out.set(k, {
        group: cur.group,
        currency: cur.currency,
        requests: cur.requests + r.requests,
        tokens: {
          input: a.input + b.input, cached_input: a.cached_input + b.cached_input, cache_write: a.cache_write + b.cache_write,
          output: a.output + b.output, reasoning: a.reasoning + b.reasoning,
        },
        costNano: cur.costNano + r.costNano,
        orgCostNano: cur.orgCostNano + r.orgCostNano,
        estimatedLines: cur.estimatedLines + r.estimatedLines,
        ...(x && y ? {
          routing: { routed: x.routed + y.routed, costNano: x.costNano + y.costNano, baselineNano: x.baselineNano + y.baselineNano, cacheHits: x.cacheHits + y.cacheHits, avoidedNano: x.avoidedNano + y.avoidedNano },
        } : {}),
      });
    }
  }
  return [...out.values()].sort((x, y) => (y.costNano > x.costNano ? 1 : y.costNano < x.costNano ? -1 : 0));
}
