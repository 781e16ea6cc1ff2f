/**
 * What differs between SQLite and PostgreSQL, in one small object; everything else in the SQL
 * stores is shared Kysely code.
 */
import { sql, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { ColumnType } from './columns.js';

export interface ConfigRecordRow {
  kind: string;
  id: string;
  body: string;
  version: number | bigint | string;
  updated_at: number | bigint | string;
}

export interface AuditRow {
  seq: number | bigint | string;
  ts: number | bigint | string;
  actor: string;
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
}

export interface BudgetEventRow {
  id: string;
  ts: number | bigint | string;
  kind: string;
  budget: string;
  details: string;
}

export interface Database {
  ledger_lines: Record<string, unknown>;
  config_records: ConfigRecordRow;
  audit_log: AuditRow;
  budget_events: BudgetEventRow;
  outcomes: Record<string, unknown>;
}

export type Db = Kysely<Database>;

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** PostgreSQL partitions the ledger by month (its primary key is then (id, ts)). */
  readonly partitioned: boolean;
  columnType(type: ColumnType): string;
  /** Calendar day (UTC) of an epoch-ms column, as 'YYYY-MM-DD'. */
  day(column: string): RawBuilder<string>;
  month(column: string): RawBuilder<string>;
  /** The UTC hour of an epoch-ms column, as 'YYYY-MM-DDTHH'. */
  hour(column: string): RawBuilder<string>;
  /** The value of one tag of the JSON tags column. */
  tag(key: string): RawBuilder<string | null>;
  /** A non-negative integer as text of `width` digits, zeros in front, so that text order is numeric order. */
  padded(value: RawBuilder<unknown>, width: number): RawBuilder<string>;
  /**
   * Ends a subquery so that the planner runs it as it stands instead of merging it into the
   * outer query, which would evaluate its expressions again wherever the outer query uses them.
   */
  readonly fence: RawBuilder<unknown>;
  /** Serialises appends to the audit chain across connections (and, for PostgreSQL, across replicas). */
  lockAudit(trx: Transaction<Database>): Promise<void>;
  /** Statements that make a table reject UPDATE and DELETE. */
  appendOnly(table: string): string[];
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  partitioned: false,
  columnType: (t) => (t === 'bool' || t === 'int' || t === 'bigint' ? 'integer' : 'text'),
  day: (c) => sql<string>`strftime('%Y-%m-%d', ${sql.ref(c)} / 1000, 'unixepoch')`,
  month: (c) => sql<string>`strftime('%Y-%m', ${sql.ref(c)} / 1000, 'unixepoch')`,
  hour: (c) => sql<string>`strftime('%Y-%m-%dT%H', ${sql.ref(c)} / 1000, 'unixepoch')`,
  tag: (k) => sql<string | null>`json_extract(tags, ${`$."${k}"`})`,
  padded: (v, w) => sql<string>`substr(${sql.lit('0'.repeat(w))} || ${v}, ${sql.lit(-w)})`,
  // SQLite does not flatten a subquery with a LIMIT into an aggregate query.
  fence: sql`limit -1`,
  // One connection per process, and Kysely's SQLite driver runs one transaction at a time.
  lockAudit: async () => {},
  appendOnly: (table) => [
    `CREATE TRIGGER IF NOT EXISTS ${table}_no_update BEFORE UPDATE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
    `CREATE TRIGGER IF NOT EXISTS ${table}_no_delete BEFORE DELETE ON ${table} BEGIN SELECT RAISE(ABORT, '${table} is append-only'); END`,
  ],
};

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  partitioned: true,
  columnType: (t) => (t === 'bool' ? 'boolean' : t === 'int' ? 'integer' : t === 'bigint' ? 'bigint' : 'text'),
  day: (c) => sql<string>`to_char(to_timestamp(${sql.ref(c)} / 1000.0) at time zone 'UTC', 'YYYY-MM-DD')`,
  month: (c) => sql<string>`to_char(to_timestamp(${sql.ref(c)} / 1000.0) at time zone 'UTC', 'YYYY-MM')`,
  hour: (c) => sql<string>`to_char(to_timestamp(${sql.ref(c)} / 1000.0) at time zone 'UTC', 'YYYY-MM-DD"T"HH24')`,
  tag: (k) => sql<string | null>`(tags::jsonb ->> ${k})`,
  padded: (v, w) => sql<string>`lpad((${v})::text, ${sql.lit(w)}, '0')`,
  fence: sql`offset 0`,
  // Every replica appends to one chain: a transaction-scoped advisory lock orders them.
  lockAudit: async (trx) => {
    await sql`select pg_advisory_xact_lock(7305011)`.execute(trx);
  },
  appendOnly: (table) => [
    `CREATE OR REPLACE FUNCTION bursar_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$`,
    `DROP TRIGGER IF EXISTS ${table}_append_only ON ${table}`,
    `CREATE TRIGGER ${table}_append_only BEFORE UPDATE OR DELETE ON ${table} FOR EACH ROW EXECUTE FUNCTION bursar_append_only()`,
  ],
};
