/**
 * The read side of the ledger, shared by the SQLite and PostgreSQL adapters: reports grouped
 * by any dimension (whole days from the daily rollups, the rest from the lines), one line by
 * id, and a paged scan of a period.
 */
import { sql, type RawBuilder } from 'kysely';
import { isDimension, TAG_KEY } from '../../core/dimensions.js';
import { EXTRA_GROUPS, type LedgerLine, type UsageGroup, type UsageQuery, type UsageRow } from '../../core/ledger.js';
import type { ScanQuery } from '../../core/ports.js';
import { rowToLine, toBigInt, toNumber, tokensOf, TOKEN_COLUMNS, usageRow } from './columns.js';
import type { Db, SqlDialect } from './dialect.js';
import { aggregateRollups, mergeRows, rollupCanServe, wholeDays } from './rollups.js';

const EXTRA: ReadonlySet<string> = new Set(EXTRA_GROUPS);

/** The SQL expression a report groups by; refuses anything not on the list. */
export function groupExpression(group: UsageGroup, d: SqlDialect): RawBuilder<unknown> {
  if (group === 'day') return d.day('ts');
  if (group === 'month') return d.month('ts');
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

/** A usage report: whole UTC days from the rollups when they keep what it asks for, the edges from the lines. */
export async function aggregate(db: Db, d: SqlDialect, q: UsageQuery): Promise<UsageRow[]> {
  for (const g of q.groupBy) groupExpression(g, d);
  for (const dim of Object.keys(q.where ?? {})) if (!isDimension(dim)) throw new RangeError(`cannot filter by "${dim}"`);
  const days = rollupCanServe(q) ? wholeDays(q.from, q.to) : null;
  if (!days) return aggregateLines(db, d, q);
  const parts = await Promise.all([
    aggregateRollups(db, q, days.first, days.end),
    q.from < days.first ? aggregateLines(db, d, { ...q, to: days.first }) : [],
    days.end < q.to ? aggregateLines(db, d, { ...q, from: days.end }) : [],
  ]);
  return mergeRows(parts, q.groupBy);
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
      sql`sum(case when usage_exact then 0 else 1 end)`.as('estimated'),
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

/** Pages through a period by (ts, id), so memory stays flat on any size. */
export async function* scan(db: Db, q: ScanQuery, pageSize = 5000): AsyncIterable<LedgerLine> {
  let after: { ts: number; id: string } | null = null;
  for (;;) {
    const base = db.selectFrom('ledger_lines');
    let query = (q.columns ? base.select(['id', 'ts', ...q.columns] as never[]) : base.selectAll()).where('ts', '<', q.to);
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

/** What both SQL ledger stores read alike; each adds how it appends and reads budget totals. */
export abstract class SqlLedgerReads {
  constructor(
    protected readonly db: Db,
    private readonly dialect: SqlDialect,
  ) {}

  get(id: string): Promise<LedgerLine | undefined> {
    return getLine(this.db, id);
  }

  aggregate(query: UsageQuery): Promise<UsageRow[]> {
    return aggregate(this.db, this.dialect, query);
  }

  scan(query: ScanQuery): AsyncIterable<LedgerLine> {
    return scan(this.db, query);
  }

  async close(): Promise<void> {}
}
