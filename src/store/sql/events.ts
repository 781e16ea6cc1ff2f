/**
 * The budget event log on SQL (SQLite or PostgreSQL): append-only, one row per event id, so
 * recording the same threshold twice in a window records it once.
 */
import type { BudgetEvent, EventLog, EventQuery } from '../../core/ports.js';
import { toNumber } from './columns.js';
import type { Db } from './dialect.js';

export class SqlEventLog implements EventLog {
  constructor(private readonly db: Db) {}

  async record(e: BudgetEvent): Promise<boolean> {
    const r = await this.db
      .insertInto('budget_events')
      .values({ id: e.id, ts: e.ts, kind: e.kind, budget: e.budget, details: JSON.stringify(e.details) })
      .onConflict((oc) => oc.column('id').doNothing())
      .executeTakeFirst();
    return Number(r.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async list(q: EventQuery): Promise<BudgetEvent[]> {
    let query = this.db.selectFrom('budget_events').selectAll().where('ts', '>=', q.since ?? 0);
    if (q.budget) query = query.where('budget', '=', q.budget);
    const rows = await query.orderBy('ts', 'desc').limit(q.limit ?? 200).execute();
    return rows.map((r) => ({ id: r.id, ts: toNumber(r.ts), kind: r.kind, budget: r.budget, details: JSON.parse(r.details) as Record<string, unknown> }));
  }
}
