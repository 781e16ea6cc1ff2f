/**
 * The read side of the ledger, shared by the SQLite and PostgreSQL adapters: reports grouped
 * by any dimension (whole days from the daily rollups, the rest from the lines), one line by
 * id, and a paged scan of a period.
 */
import { sql, type RawBuilder } from 'kysely';
import { isDimension, TAG_KEY } from '../../core/dimensions.js';
import { EXTRA_GROUPS, OUTCOME_DIMENSIONS, type AgentRunTotals, type AgentSummary, type FirstMatchGroups, type FirstMatchQuery, type LedgerLine, type LineMatch, type Outcome, type OutcomeDimension, type OutcomeTotals, type RunVerdictTotals, type UsageGroup, type UsageQuery, type UsageRow } from '../../core/ledger.js';
import type { ScanQuery } from '../../core/ports.js';
import { rowToLine, toBigInt, toNumber, TOKEN_COLUMNS, usageRow } from './columns.js';
import type { Db, SqlDialect } from './dialect.js';
import { AGENT_RUNS, aggregateRollups, dayPlan, mergeRows, negated, servingRollup } from './rollups.js';

const EXTRA: ReadonlySet<string> = new Set(EXTRA_GROUPS);

/** The SQL expression a report groups by; refuses anything not on the list. */
export function groupExpression(group: UsageGroup, d: SqlDialect): RawBuilder<unknown> {
  if (group === 'day') return d.day('ts');
  if (group === 'month') return d.month('ts');
  if (group === 'hour') return d.hour('ts');
  if (group === 'cache_hit') return sql`case when cache_hit then 'true' else 'false' end`;
  if (group.startsWith('tag:')) {
    const key = group.slice(4);
    if (!TAG_KEY.test(key)) throw new RangeError(`"${key}" is not a valid tag key`);
    return d.tag(key);
  }
  if (isDimension(group) || EXTRA.has(group)) return sql.ref(group);
  throw new RangeError(`cannot group by "${group}"`);
}

/** GROUP BY 1, 2, ... n: the first n selected columns. */
export function byPosition(n: number): RawBuilder<unknown>[] {
  return Array.from({ length: n }, (_, i) => sql.raw(String(i + 1)));
}

/**
 * How a range reads the rollups (dayPlan), with nothing to take away from the last day when no
 * line lies after the range's end: a range "until now" ends a moment before it is read, and then
 * the day's rollup row is its whole last day. One indexed look.
 */
async function readPlan(db: Db, from: number, to: number): Promise<ReturnType<typeof dayPlan>> {
  const plan = dayPlan(from, to, Date.now());
  if (!plan.subtract) return plan;
  const after = await db.selectFrom('ledger_lines').select('id').where('ts', '>=', plan.subtract[0]).where('ts', '<', plan.subtract[1]).limit(1).execute();
  return after.length ? plan : { ...plan, subtract: null };
}

/** A usage report: whole UTC days from the rollups when they keep what it asks for, the edges from the lines. */
export async function aggregate(db: Db, d: SqlDialect, q: UsageQuery): Promise<UsageRow[]> {
  for (const g of q.groupBy) groupExpression(g, d);
  for (const dim of Object.keys(q.where ?? {})) if (!isDimension(dim)) throw new RangeError(`cannot filter by "${dim}"`);
  const rollup = servingRollup(q);
  if (!rollup) return aggregateLines(db, d, q);
  const plan = await readPlan(db, q.from, q.to);
  if (plan.end <= plan.first) return aggregateLines(db, d, q);
  const { first, end, subtract } = plan;
  const parts = await Promise.all([
    aggregateRollups(db, rollup, q, first, end),
    q.from < first ? aggregateLines(db, d, { ...q, to: first }) : [],
    subtract ? aggregateLines(db, d, { ...q, from: subtract[0], to: subtract[1] }).then((rows) => rows.map(negated))
      : end < q.to ? aggregateLines(db, d, { ...q, from: end }) : [],
  ]);
  // A group whose lines all came after `to` adds up to nothing.
  return mergeRows(parts, q.groupBy).filter((r) => r.requests !== 0);
}

/** A usage report read from the lines themselves. */
export async function aggregateLines(db: Db, d: SqlDialect, q: UsageQuery): Promise<UsageRow[]> {
  let query = db.selectFrom('ledger_lines').where('ts', '>=', q.from).where('ts', '<', q.to);
  for (const [dim, values] of Object.entries(q.where ?? {})) {
    if (!isDimension(dim)) throw new RangeError(`cannot filter by "${dim}"`);
    if (!values || values.length === 0) return [];
    query = query.where(dim, 'in', [...values]);
  }
  const groups = q.groupBy.map((g) => groupExpression(g, d));
  const rows = await query
    .select((eb) => [
      ...groups.map((g, i) => g.as(`g${i}`)),
      eb.ref('currency').as('currency'),
      eb.fn.countAll().as('requests'),
      ...Object.values(TOKEN_COLUMNS).map((c) => eb.fn.sum(c).as(c)),
      eb.fn.sum('cost_nano').as('cost_nano'),
      eb.fn.sum('org_cost_nano').as('org_cost_nano'),
      sql`sum(case when usage_exact then 0 else 1 end)`.as('estimated'),
      ...(q.routing ? [
        sql`sum(case when baseline_org_nano is null then 0 else 1 end)`.as('routed'),
        sql`sum(case when baseline_org_nano is null then 0 else org_cost_nano end)`.as('routed_org_cost_nano'),
        sql`sum(coalesce(baseline_org_nano, 0))`.as('baseline_org_nano'),
        sql`sum(case when baseline_org_nano is not null and cache_hit then 1 else 0 end)`.as('cache_hits'),
        sql`sum(case when baseline_org_nano is not null and cache_hit then coalesce(avoided_org_nano, 0) else 0 end)`.as('avoided_org_nano'),
      ] : []),
    ])
    // By position: PostgreSQL does not see two parameterised expressions (a tag key) as the same.
    .groupBy(byPosition(groups.length + 1))
    .orderBy('cost_nano', 'desc')
    .execute();
  return rows.map((r: Record<string, unknown>) => usageRow(r, q.groupBy));
}


export async function getLine(db: Db, id: string): Promise<LedgerLine | undefined> {
  const row = await db.selectFrom('ledger_lines').selectAll().where('id', '=', id).executeTakeFirst();
  return row ? rowToLine(row) : undefined;
}

/** A match as SQL: every field given, ANDed (lists as IN); nothing given matches every line. */
function matchSql(m: LineMatch, d: SqlDialect): RawBuilder<unknown> {
  const parts: RawBuilder<unknown>[] = [];
  const oneOf = (col: RawBuilder<unknown>, values: readonly string[]) => sql`${col} in (${sql.join(values.map((v) => sql`${v}`))})`;
  if (m.source !== undefined) parts.push(sql`source = ${m.source}`);
  if (m.kind) parts.push(oneOf(sql.ref('endpoint'), m.kind));
  if (m.spend_category) parts.push(oneOf(sql.ref('spend_category'), m.spend_category));
  for (const [k, v] of Object.entries(m.tags ?? {})) {
    if (!TAG_KEY.test(k)) throw new RangeError(`"${k}" is not a valid tag key`);
    parts.push(sql`${d.tag(k)} = ${v}`);
  }
  for (const [dim, values] of Object.entries(m.dims ?? {})) {
    if (!isDimension(dim)) throw new RangeError(`cannot match on "${dim}"`);
    parts.push(oneOf(sql.ref(dim), values ?? []));
  }
  return parts.length ? sql`(${sql.join(parts, sql` and `)})` : sql`1 = 1`;
}

/** The index of the first match that takes a line, -1 for none (literals: PostgreSQL types them). */
function firstMatchSql(matches: readonly LineMatch[], d: SqlDialect): RawBuilder<number> {
  if (matches.length === 0) return sql<number>`-1`;
  return sql<number>`case ${sql.join(matches.map((m, i) => sql`when ${matchSql(m, d)} then ${sql.lit(i)}`), sql` `)} else -1 end`;
}

/**
 * A period grouped by the first match that takes each line, department, project and budget
 * category, and for the matches asked apart by what allocating a line reads (its cost, tokens,
 * quantity). The lines are read once: a fenced subquery works out each line's match (the `CASE`
 * is evaluated once a line, though the grouping uses it twice), and the engine groups the rows.
 * The first and last ids come from the (ts, id) index, in the same statement (one snapshot):
 * carried through the grouping, the ids made it sort rows twice as wide.
 */
export async function firstMatchGroups(db: Db, d: SqlDialect, q: FirstMatchQuery): Promise<FirstMatchGroups> {
  const called = sql`source = 'gateway' and status <> 'refused'`;
  const tokens = sql.join(Object.values(TOKEN_COLUMNS).map((c) => sql.ref(c)), sql` + `);
  const period = sql`from ledger_lines where ts >= ${q.from} and ts < ${q.to}`;
  const limit = q.apart?.limit;
  const lines = sql`select ${firstMatchSql(q.matches, d)} as ri, department, project, budget_category, org_cost_nano as cost, ${tokens} as tokens, quantity_nano as quantity,
    case when ${called} then 1 else 0 end as called, case when endpoint = 'gpu_hours' and quantity_nano is not null then quantity_nano else 0 end as gpu
    ${period} ${d.fence}`;
  // A column's value where the line's match is one of `indexes`, else null (one group for the rest).
  const apart = (indexes: readonly number[] | undefined, column: string) =>
    indexes?.length ? sql`case when ri in (${sql.join(indexes.map((i) => sql.lit(i)))}) then ${sql.ref(column)} end` : sql`null`;
  const { rows } = await sql<Record<string, unknown>>`select ri, department, project, budget_category,
    ${apart(q.apart?.cost, 'cost')} as line_cost, ${apart(q.apart?.tokens, 'tokens')} as line_tokens, ${apart(q.apart?.quantity, 'quantity')} as line_quantity,
    count(*) as n, sum(case when cost <> 0 then 1 else 0 end) as costed, sum(cost) as cost, sum(called * tokens) as tokens, sum(called) as requests,
    sum(called * cost) as gw_cost, sum(gpu) as gpu, (select min(id) ${period}) as first_id, (select max(id) ${period}) as last_id
    from (${lines}) l group by ${sql.join(byPosition(7))} ${limit === undefined ? sql`` : sql`limit ${sql.lit(limit + 1)}`}`.execute(db);
  if (limit !== undefined && rows.length > limit) return { groups: [], complete: false, firstId: null, lastId: null };
  const bigOrNull = (v: unknown) => (v === null || v === undefined ? null : toBigInt(v));
  const groups = rows.map((r) => ({
    index: toNumber(r.ri), department: (r.department as string | null) ?? null, project: (r.project as string | null) ?? null, budgetCategory: (r.budget_category as string | null) ?? null,
    lines: toNumber(r.n), costed: toNumber(r.costed), orgCostNano: toBigInt(r.cost ?? 0), tokens: toBigInt(r.tokens ?? 0), requests: toNumber(r.requests),
    gatewayOrgCostNano: toBigInt(r.gw_cost ?? 0), gpuNano: toBigInt(r.gpu ?? 0),
    lineCost: bigOrNull(r.line_cost), lineTokens: bigOrNull(r.line_tokens), lineQuantity: bigOrNull(r.line_quantity),
  }));
  return { groups, complete: true, firstId: (rows[0]?.first_id as string | null | undefined) ?? null, lastId: (rows[0]?.last_id as string | null | undefined) ?? null };
}

/** Records outcomes, replacing one already recorded for the same call or run. */
export async function recordOutcomes(db: Db, outcomes: readonly Outcome[]): Promise<void> {
  if (outcomes.length === 0) return;
  const rows = outcomes.map((o) => ({
    id: o.id, ts: o.ts, accepted: o.accepted === null ? null : o.accepted ? 1 : 0, units_nano: o.unitsNano, unit: o.unit, value_nano: o.valueNano, currency: o.currency,
    ...Object.fromEntries(OUTCOME_DIMENSIONS.map((d) => [d, o.dims[d]])),
  }));
  await db.insertInto('outcomes').values(rows as never).onConflict((oc) => oc.column('id').doUpdateSet((eb) => Object.fromEntries(
    ['ts', 'accepted', 'units_nano', 'unit', 'value_nano', 'currency', ...OUTCOME_DIMENSIONS].map((c) => [c, eb.ref(`excluded.${c}` as never)]),
  ) as never)).execute();
}

export async function outcomeTotals(db: Db, d: SqlDialect, q: { from: number; to: number; groupBy: readonly OutcomeDimension[]; interval?: 'day' | 'hour' }): Promise<OutcomeTotals[]> {
  for (const g of q.groupBy) if (!(OUTCOME_DIMENSIONS as readonly string[]).includes(g)) throw new RangeError(`cannot group outcomes by "${g}"`);
  const groups = [...q.groupBy.map((g) => sql.ref(g)), ...(q.interval ? [d[q.interval]('ts')] : [])];
  const names = [...q.groupBy, ...(q.interval ? [q.interval] : [])];
  const rows = await db
    .selectFrom('outcomes')
    .where('ts', '>=', q.from)
    .where('ts', '<', q.to)
    .select([
      ...groups.map((g, i) => g.as(`g${i}`)), sql.ref('currency').as('currency'),
      sql`count(*)`.as('n'), sql`sum(case when accepted = 1 then 1 else 0 end)`.as('accepted'), sql`sum(units_nano)`.as('units'), sql`sum(value_nano)`.as('value'),
    ] as never[])
    .groupBy(byPosition(groups.length + 1))
    .execute();
  const out = new Map<string, { group: Record<string, string | null>; outcomes: number; accepted: number; unitsNano: bigint; value: { currency: string; nano: bigint }[] }>();
  for (const r of rows as Record<string, unknown>[]) {
    const group = Object.fromEntries(names.map((g, i) => [g, (r[`g${i}`] as string | null) ?? null]));
    const k = JSON.stringify(group);
    let t = out.get(k);
    if (!t) out.set(k, (t = { group, outcomes: 0, accepted: 0, unitsNano: 0n, value: [] }));
    t.outcomes += toNumber(r.n);
    t.accepted += toNumber(r.accepted);
    t.unitsNano += toBigInt(r.units ?? 0);
    if (r.currency !== null && r.currency !== undefined && r.value !== null && r.value !== undefined) t.value.push({ currency: String(r.currency), nano: toBigInt(r.value) });
  }
  return [...out.values()];
}

const groupOf = (r: Record<string, unknown>, groupBy: readonly string[]) => Object.fromEntries(groupBy.map((g, i) => [g, (r[`g${i}`] as string | null) ?? null]));

function runGroups(groupBy: readonly OutcomeDimension[]): RawBuilder<unknown>[] {
  for (const g of groupBy) if (!(OUTCOME_DIMENSIONS as readonly string[]).includes(g)) throw new RangeError(`cannot group agent runs by "${g}"`);
  return groupBy.map((g, i) => sql`nullif(r.${sql.ref(g)}, '') as ${sql.ref(`g${i}`)}`);
}

/** The runs of a period: those whose last call falls in it (each run is in one period, whole). */
const inPeriod = (q: { from: number; to: number }) => sql`r.last_ts >= ${q.from} and r.last_ts < ${q.to}`;

/** A run's cost and its currency: as priced, or in the organisation's when priced in several currencies (or none). */
const MIXED = sql`r.currency in ('', '*')`;
const RUN_CURRENCY = sql`case when ${MIXED} then r.org_currency else r.currency end`;
const RUN_COST = sql`case when ${MIXED} then r.org_cost_nano else r.cost_nano end`;

/** The agent runs whose last call falls in a period, whole: a row of the agent-run table each, in the group of its first call. */
export async function agentRuns(db: Db, q: { from: number; to: number; groupBy: readonly OutcomeDimension[] }): Promise<AgentRunTotals[]> {
  const { rows } = await sql<Record<string, unknown>>`
    select ${sql.join([...runGroups(q.groupBy), sql`r.agent_run as run`, sql`${RUN_CURRENCY} as currency`])}, r.calls - r.refused as calls, r.refused, r.loop_refused, ${RUN_COST} as cost, r.last_ts
    from ${sql.table(AGENT_RUNS.table)} r where ${inPeriod(q)}`.execute(db);
  return rows.map((r) => ({
    group: groupOf(r, q.groupBy), run: String(r.run), currency: String(r.currency), calls: toNumber(r.calls), refused: toNumber(r.refused),
    loopRefused: toNumber(r.loop_refused), costNano: toBigInt(r.cost ?? 0), lastTs: toNumber(r.last_ts),
  }));
}

/**
 * The runs of a period that a refusal stopped (blocked) or that were abandoned (cost something,
 * no outcome, and idle since `idleBefore` or ended cancelled), counted per group and currency in
 * SQL: a row per run is read, a few rows come back.
 */
export async function runVerdicts(db: Db, q: { from: number; to: number; groupBy: readonly OutcomeDimension[]; idleBefore: number }): Promise<RunVerdictTotals[]> {
  const groups = runGroups(q.groupBy);
  const { rows } = await sql<Record<string, unknown>>`
    select ${sql.join([...groups, sql`${RUN_CURRENCY} as currency`])}, case when r.refused > 0 then 'blocked' else 'abandoned' end as verdict, count(*) as runs, sum(${RUN_COST}) as cost
    from ${sql.table(AGENT_RUNS.table)} r
    where ${inPeriod(q)} and (r.refused > 0 or (r.org_cost_nano > 0 and (r.last_ts < ${q.idleBefore} or r.cancelled_ts = r.last_ts)
      and not exists (select 1 from outcomes o where o.id = 'run:' || r.agent_run)))
    group by ${sql.join(byPosition(groups.length + 2))}`.execute(db);
  return rows.map((r) => ({ group: groupOf(r, q.groupBy), currency: String(r.currency), verdict: r.verdict === 'blocked' ? 'blocked' : 'abandoned', runs: toNumber(r.runs), costNano: toBigInt(r.cost ?? 0) }));
}

/** The longest run's rank: its calls taken from this, zero-padded to this many digits (no run makes 10^12 calls). */
const LONGEST_WIDTH = 12;
const LONGEST_PAD = 10 ** LONGEST_WIDTH - 1;

/**
 * Per agent: its runs of a period (those whose last call falls in it, whole), their calls,
 * refusals and cost, and its longest run; a run counts for the agent, department and user of
 * its first call. One grouped read of a row per run.
 */
export async function agentSummary(db: Db, d: SqlDialect, q: { from: number; to: number; department?: readonly string[]; user?: readonly string[] }): Promise<AgentSummary[]> {
  if (q.department?.length === 0 || q.user?.length === 0) return [];
  // The longest run: the most calls, ties to the first run id (the same answer on both engines).
  // One pass: the least of (a large number less the calls, zero-padded) then the run id.
  const rank = sql`${d.padded(sql`${sql.lit(LONGEST_PAD)} - r.calls`, LONGEST_WIDTH)} || r.agent_run`;
  const { rows } = await sql<Record<string, unknown>>`
    select r.agent, count(*) as runs, sum(r.calls) as calls, sum(r.refused) as refused, sum(r.loop_refused) as loop_refused, sum(r.org_cost_nano) as cost,
      min(${rank}) as longest, max(r.calls) as longest_calls
    from ${sql.table(AGENT_RUNS.table)} r
    where ${inPeriod(q)} and r.agent <> ''
      ${q.department ? sql`and r.department in (${sql.join(q.department)})` : sql``} ${q.user ? sql`and r.${sql.ref('user')} in (${sql.join(q.user)})` : sql``}
    group by r.agent order by sum(r.org_cost_nano) desc, r.agent`.execute(db);
  return rows.map((r) => ({
    agent: String(r.agent), runs: toNumber(r.runs), calls: toNumber(r.calls), refused: toNumber(r.refused), loopRefused: toNumber(r.loop_refused),
    orgCostNano: toBigInt(r.cost ?? 0), longestRun: String(r.longest).slice(LONGEST_WIDTH), longestRunCalls: toNumber(r.longest_calls),
  }));
}

/** Pages through a period by (ts, id), so memory stays flat on any size; `only` narrows it to the lines an SQL condition takes. */
export async function* scan(db: Db, q: ScanQuery, pageSize = 5000, d?: SqlDialect, only?: RawBuilder<unknown>): AsyncIterable<LedgerLine> {
  let after: { ts: number; id: string } | null = null;
  const keep = q.firstMatch && d ? sql`${firstMatchSql(q.firstMatch.matches, d)} in (${sql.join(q.firstMatch.keep.map((i) => sql.lit(i)))})` : only ?? null;
  if (q.firstMatch && q.firstMatch.keep.length === 0) return;
  for (;;) {
    const base = db.selectFrom('ledger_lines');
    let query = (q.columns ? base.select(['id', 'ts', ...q.columns] as never[]) : base.selectAll()).where('ts', '<', q.to);
    if (keep) query = query.where(keep as never);
    const cursor: { ts: number; id: string } | null = after;
    // A row-value comparison, so that the (ts, id) index seeks to the page (an OR of the two made both engines sort the rest of the period, every page).
    query = cursor ? query.where((eb) => eb(eb.refTuple('ts', 'id'), '>', eb.tuple(cursor.ts, cursor.id))) : query.where('ts', '>=', q.from);
    const rows = await query.orderBy('ts').orderBy('id').limit(pageSize).execute();
    for (const r of rows) yield rowToLine(r as Record<string, unknown>);
    if (rows.length < pageSize) return;
    const last = rows[rows.length - 1] as Record<string, unknown>;
    after = { ts: Number(last.ts), id: String(last.id) };
  }
}

/**
 * What both SQL ledger stores read alike; each adds how it appends and reads budget totals.
 * Reads go to `reads` (on SQLite, a pool of worker threads), the outcomes written to `db`.
 */
export abstract class SqlLedgerReads {
  constructor(
    protected readonly db: Db,
    private readonly dialect: SqlDialect,
    private readonly reads: Db = db,
  ) {}

  get(id: string): Promise<LedgerLine | undefined> {
    return getLine(this.reads, id);
  }

  aggregate(query: UsageQuery): Promise<UsageRow[]> {
    return aggregate(this.reads, this.dialect, query);
  }

  scan(query: ScanQuery): AsyncIterable<LedgerLine> {
    return scan(this.reads, query, 5000, this.dialect);
  }

  firstMatchGroups(query: FirstMatchQuery): Promise<FirstMatchGroups> {
    return firstMatchGroups(this.reads, this.dialect, query);
  }

  recordOutcomes(outcomes: readonly Outcome[]): Promise<void> {
    return recordOutcomes(this.db, outcomes);
  }

  outcomeTotals(query: { from: number; to: number; groupBy: readonly OutcomeDimension[]; interval?: 'day' | 'hour' }): Promise<OutcomeTotals[]> {
    return outcomeTotals(this.reads, this.dialect, query);
  }

  agentSummary(query: { from: number; to: number; department?: readonly string[]; user?: readonly string[] }): Promise<AgentSummary[]> {
    return agentSummary(this.reads, this.dialect, query);
  }

  agentRuns(query: { from: number; to: number; groupBy: readonly OutcomeDimension[] }): Promise<AgentRunTotals[]> {
    return agentRuns(this.reads, query);
  }

  runVerdicts(query: { from: number; to: number; groupBy: readonly OutcomeDimension[]; idleBefore: number }): Promise<RunVerdictTotals[]> {
    return runVerdicts(this.reads, query);
  }

  async close(): Promise<void> {}
}
