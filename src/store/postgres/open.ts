/**
 * The scale-out store: one PostgreSQL database holds the ledger (partitioned by month), its
 * rollups and budget totals, the config records, the audit log and the budget events, shared
 * by every replica. Appends go in one transaction per batch through UNNEST (one statement
 * however many lines); config changes reach the other replicas through LISTEN/NOTIFY, sent
 * in the transaction that makes them, so a committed change is always announced.
 */
import { randomUUID } from 'node:crypto';
import { CompiledQuery, Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { LedgerLine } from '../../core/ledger.js';
import type { AppendResult, BudgetTotals, LedgerStore } from '../../core/ports.js';
import { LEDGER_COLUMNS, type ColumnType } from '../sql/columns.js';
import { SqlConfigStore } from '../sql/config-store.js';
import { postgresDialect, type Database as Schema } from '../sql/dialect.js';
import { SqlEventLog } from '../sql/events.js';
import { SqlLedgerReads } from '../sql/ledger-queries.js';
import { assertMigrated, migrate } from '../sql/migrations.js';
import { ChangeListener } from './changes.js';
import { TOTALS_ON_CONFLICT, readTotals, derivedValues, DERIVED, totalsValues, TOTALS_COLUMNS, TOTALS_TABLE } from '../sql/rollups.js';
import type { SqlStores } from '../sql/stores.js';

const ARRAY_TYPE: Record<ColumnType, string> = { text: 'text[]', int: 'int4[]', bigint: 'int8[]', bool: 'bool[]', json: 'text[]' };

/** Month partitions are named ledger_lines_pYYYYMM and hold [first of month, first of next) in UTC. */
function monthOf(ts: number): { name: string; from: number; to: number } {
  const d = new Date(ts);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  return { name: `ledger_lines_p${y}${String(m + 1).padStart(2, '0')}`, from: Date.UTC(y, m, 1), to: Date.UTC(y, m + 1, 1) };
}

/** One statement that inserts rows given as one array per column. */
function unnestInsert(table: string, columns: readonly string[], types: readonly string[], onConflict: string): string {
  const arrays = types.map((t, i) => `$${i + 1}::${t}`).join(', ');
  return `INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) SELECT * FROM unnest(${arrays}) ${onConflict}`;
}

/** Rows as one array per column, bigints as text. */
function byColumn(rows: readonly (readonly (string | number | bigint)[])[], width: number): unknown[][] {
  const columns = Array.from({ length: width }, () => [] as unknown[]);
  for (const r of rows) r.forEach((v, i) => columns[i]!.push(typeof v === 'bigint' ? v.toString() : v));
  return columns;
}

/** Upserts rows sorted by their key, so that replicas adding to the same rows lock them in the same order (no deadlocks). */
const byKey = <T extends readonly unknown[]>(rows: T[]): T[] => rows.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : String(a[0]) > String(b[0]) ? 1 : 0));

export class PostgresLedgerStore extends SqlLedgerReads implements LedgerStore {
  private readonly partitions = new Set<string>();
  private readonly insertSql = unnestInsert('ledger_lines', LEDGER_COLUMNS.map((c) => c.name), LEDGER_COLUMNS.map((c) => ARRAY_TYPE[c.type]), 'ON CONFLICT DO NOTHING RETURNING id');
  private readonly rollupSql = new Map(DERIVED.map((r) => [
    r,
    unnestInsert(r.table, r.columns, r.columns.map((c) => (r.sumColumns.includes(c) ? 'int8[]' : 'text[]')), `ON CONFLICT (k) DO UPDATE SET ${r.onConflict}`),
  ] as const));
  private readonly totalsSql = unnestInsert(TOTALS_TABLE, TOTALS_COLUMNS, ['text[]', 'int8[]', 'int8[]', 'int8[]'], `ON CONFLICT (key) DO UPDATE SET ${TOTALS_ON_CONFLICT}`);

  constructor(db: Kysely<Schema>) {
    super(db, postgresDialect);
  }

  async append(lines: readonly LedgerLine[]): Promise<AppendResult> {
    if (lines.length === 0) return { added: [], commit: null };
    await this.ensurePartitions(lines);
    const columns = LEDGER_COLUMNS.map(() => [] as unknown[]);
    for (const l of lines) {
      LEDGER_COLUMNS.forEach((c, i) => {
        const v = c.get(l);
        columns[i]!.push(v === null ? null : typeof v === 'bigint' ? v.toString() : v);
      });
    }
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await trx.executeQuery<{ id: string }>(CompiledQuery.raw(this.insertSql, columns));
      const ids = new Set(rows.map((r) => r.id));
      const added = ids.size === lines.length ? lines : lines.filter((l) => ids.has(l.id));
      // The rollups and budget totals of the lines added, in the same transaction: one statement each.
      if (added.length) {
        for (const [r, rows] of derivedValues(added)) await trx.executeQuery(CompiledQuery.raw(this.rollupSql.get(r)!, byColumn(byKey(rows), r.columns.length)));
        const totals = totalsValues(added);
        if (totals.length) await trx.executeQuery(CompiledQuery.raw(this.totalsSql, byColumn(byKey(totals), TOTALS_COLUMNS.length)));
      }
      const xid = await sql<{ xid: string }>`select pg_current_xact_id()::text as xid`.execute(trx);
      return { added, commit: xid.rows[0]!.xid };
    });
  }

  async budgetTotals(prefixes: readonly string[]): Promise<BudgetTotals> {
    // One snapshot for the totals and the snapshot id: a line's commit is visible in it exactly when it is summed.
    return this.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute(async (trx) => {
        const snap = await sql<{ s: string }>`select pg_current_snapshot()::text as s`.execute(trx);
        return { amounts: await readTotals(trx, prefixes), snapshot: snap.rows[0]!.s };
      });
  }


  /** Creates the month partitions a batch needs (once per process and month; replicas racing to create one is fine). */
  private async ensurePartitions(lines: readonly LedgerLine[]): Promise<void> {
    for (const l of lines) {
      const p = monthOf(l.ts);
      if (this.partitions.has(p.name)) continue;
      try {
        await sql.raw(`CREATE TABLE IF NOT EXISTS ${p.name} PARTITION OF ledger_lines FOR VALUES FROM (${p.from}) TO (${p.to})`).execute(this.db);
      } catch (err) {
        // 42P07: created meanwhile by another replica; 23505: the same race, seen in the catalogue.
        const code = (err as { code?: string }).code;
        if (code !== '42P07' && code !== '23505') throw err;
      }
      this.partitions.add(p.name);
    }
  }
}

export interface PostgresOptions {
  /** postgres://user:password@host:port/database */
  readonly url: string;
  /** The schema that holds Bursar's tables (default "public"); created if missing. */
  readonly schema?: string;
  /** Connections in the pool. */
  readonly poolSize?: number;
  /** Apply pending migrations (false: refuse to start while some are pending). */
  readonly migrate?: boolean;
  /** Called when the change listener loses its connection (it reconnects by itself). */
  readonly onListenError?: (err: unknown) => void;
}

const IDENTIFIER = /^[a-z_][a-z0-9_]{0,40}$/;

/** Opens (and migrates) the PostgreSQL database, and starts listening for other replicas' config changes. */
export async function openPostgres(o: PostgresOptions): Promise<SqlStores> {
  const schema = o.schema ?? 'public';
  if (!IDENTIFIER.test(schema)) throw new Error(`BURSAR_DATABASE_SCHEMA "${schema}" must be a plain identifier (lower-case letters, digits, _)`);
  const pool = new pg.Pool({ connectionString: o.url, max: o.poolSize ?? 10, options: `-c search_path=${schema}` });
  // An idle connection that breaks (PostgreSQL restarted) must not take the process down.
  pool.on('error', () => {});
  const db = new Kysely<Schema>({ dialect: new PostgresDialect({ pool }) });
  try {
    if (schema !== 'public') await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
    if (o.migrate === false) await assertMigrated(db, postgresDialect, schema);
    else await migrate(db, postgresDialect, schema);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  const node = randomUUID();
  const channel = `bursar_config_${schema}`;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await listener.close();
    await db.destroy();
  };
  const config = new SqlConfigStore(db, postgresDialect, {
    announce: async (trx, c) => {
      await sql`select pg_notify(${channel}, ${JSON.stringify({ node, kind: c.kind, id: c.id })})`.execute(trx);
    },
    sync: () => listener.barrier(),
    onClose: close,
  });
  const listener = new ChangeListener({ url: o.url, schema, channel, node, onChange: (c) => config.emit(c), onError: o.onListenError ?? (() => {}) });
  try {
    await listener.start();
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { kind: 'postgres', ledger: new PostgresLedgerStore(db), config, events: new SqlEventLog(db), db, close };
}
