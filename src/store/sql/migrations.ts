/**
 * Versioned, forward-only schema migrations, shared by SQLite and PostgreSQL. A migration is
 * never edited once released; a change is a new migration appended to the list.
 */
import { Migrator, sql, type Kysely, type Migration, type MigrationProvider, type RawBuilder } from 'kysely';
import { OUTCOME_DIMENSIONS, type LedgerLine } from '../../core/ledger.js';
import { LEDGER_COLUMNS } from './columns.js';
import { scan } from './ledger-queries.js';
import { splitLedger } from '../sqlite/contexts.js';
import { addDerived, AGENT_RUNS, createDerivedTables, createRollupTable, DAILY, DEPARTMENTS, rollUpFrom, RUNS, SUMMARY } from './rollups.js';
import type { Database, SqlDialect } from './dialect.js';

type Step = (db: Kysely<Database>, d: SqlDialect) => Promise<void>;

const MIGRATIONS: ReadonlyArray<readonly [string, Step]> = [
  [
    '0001_ledger_config_audit',
    async (db, d) => {
      let table = db.schema.createTable('ledger_lines').ifNotExists();
      for (const c of LEDGER_COLUMNS.filter((x) => x.since === 1)) {
        table = table.addColumn(c.name, sql.raw(d.columnType(c.type)), (b) => {
          let col = c.notNull ? b.notNull() : b;
          if (c.name === 'id' && !d.partitioned) col = col.primaryKey();
          return col;
        });
      }
      // A partitioned table's keys include the partition key: a line keeps its ts, so (id, ts) is as unique as id.
      if (d.partitioned) table = table.addPrimaryKeyConstraint('ledger_lines_pk', ['id', 'ts'] as never[]).modifyEnd(sql`partition by range (ts)`);
      await table.execute();
      await db.schema.createIndex('ledger_lines_ts').ifNotExists().on('ledger_lines').column('ts').execute();

      await db.schema
        .createTable('config_records')
        .ifNotExists()
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('id', 'text', (c) => c.notNull())
        .addColumn('body', 'text', (c) => c.notNull())
        .addColumn('version', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('config_records_pk', ['kind', 'id'])
        .execute();

      await db.schema
        .createTable('audit_log')
        .ifNotExists()
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_target').ifNotExists().on('audit_log').column('target').execute();

      for (const stmt of [...d.appendOnly('ledger_lines'), ...d.appendOnly('audit_log')]) await sql.raw(stmt).execute(db);
    },
  ],
  [
    '0002_budgets',
    async (db, d) => {
      await addLedgerColumns(db, d, 2);
      await db.schema
        .createTable('budget_events')
        .ifNotExists()
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('ts', 'bigint', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('budget', 'text', (c) => c.notNull())
        .addColumn('details', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('budget_events_ts').ifNotExists().on('budget_events').column('ts').execute();
      for (const stmt of d.appendOnly('budget_events')) await sql.raw(stmt).execute(db);
    },
  ],
  [
    '0003_rollups_and_budget_totals',
    async (db, d) => {
      await createDerivedTables(db, d);
      // Installations from before 0003 already hold lines: derive from them, a page at a time.
      await backfill(db, (page) => addDerived(db, page, [DAILY]));
    },
  ],
  ['0004_routing_outcomes', (db, d) => addLedgerColumns(db, d, 4)],
  ['0005_response_cache', (db, d) => addLedgerColumns(db, d, 5)],
  ['0006_imports', (db, d) => addLedgerColumns(db, d, 6)],
  // Scans page through a period by (ts, id): with this index each page is a seek, not a sort of the rest of the period.
  ['0007_ledger_scan_index', async (db) => {
    await db.schema.createIndex('ledger_lines_ts_id').ifNotExists().on('ledger_lines').columns(['ts', 'id']).execute();
    await db.schema.dropIndex('ledger_lines_ts').ifExists().execute();
  }],
  ['0008_outcomes', async (db) => {
    let t = db.schema.createTable('outcomes').ifNotExists()
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('ts', 'bigint', (c) => c.notNull())
      .addColumn('accepted', 'integer')
      .addColumn('units_nano', 'bigint', (c) => c.notNull())
      .addColumn('unit', 'text')
      .addColumn('value_nano', 'bigint')
      .addColumn('currency', 'text');
    for (const dim of OUTCOME_DIMENSIONS) t = t.addColumn(dim, 'text');
    await t.execute();
    await db.schema.createIndex('outcomes_ts').ifNotExists().on('outcomes').column('ts').execute();
  }],
  // The summary and agent-run rollups (docs/operations.md#upgrades): reports by department,
  // project, workflow or model, and of agent runs, read them instead of the per-person daily
  // rollup or the lines. Existing lines are summed into them.
  ['0012_summary_and_run_rollups', async (db, d) => {
    for (const r of [SUMMARY, RUNS]) await createRollupTable(db, d, r);
    await backfill(db, (page) => addDerived(db, page, [SUMMARY, RUNS], false));
  }],
  // The run rollup with each row's first and last call: unit economics judges runs
  // (stopped by a refusal, abandoned) from it instead of the lines. Rebuilt from the lines.
  ['0013_run_rollup_spans', async (db, d) => {
    await db.schema.dropTable(RUNS.table).ifExists().execute();
    await createRollupTable(db, d, RUNS);
    await backfill(db, (page) => addDerived(db, page, [RUNS], false));
  }],
  // Each agent run whole, a row per run: the agents view and unit economics judge and count
  // runs from it instead of grouping a day's rows per run.
  ['0014_agent_runs', async (db, d) => {
    await createRollupTable(db, d, AGENT_RUNS);
    // Only the lines of runs: the rest are read by the database, not carried into JavaScript.
    await backfill(db, (page) => addDerived(db, page, [AGENT_RUNS], false), sql`agent_run is not null`);
  }],
  // The departments' rollup: the overview, the departments' drill-down, tiers and models, and
  // the anomalies by department read a few hundred rows a day. Summed from the summary rollup,
  // which keeps all it needs, rather than from the lines.
  ['0015_department_rollup', async (db, d) => {
    await createRollupTable(db, d, DEPARTMENTS);
    await rollUpFrom(db, SUMMARY, DEPARTMENTS);
  }],
  // SQLite keeps what a client's calls share once, as a context each row names; `ledger_lines`
  // becomes a view of the same columns (sqlite/contexts.ts). Every line is copied. PostgreSQL's
  // table stays as it is. From here on a new ledger column on SQLite goes to ledger_rows or
  // ledger_contexts, and the view is made again.
  ['0016_sqlite_ledger_contexts', async (db, d) => {
    if (d.name === 'sqlite') await splitLedger(db);
  }],
];

/** Feeds every line already in the ledger (or those an SQL condition takes) to `add`, 5,000 at a time. */
async function backfill(db: Kysely<Database>, add: (page: LedgerLine[]) => Promise<void>, only?: RawBuilder<unknown>): Promise<void> {
  let page: LedgerLine[] = [];
  for await (const l of scan(db, { from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER }, 5000, undefined, only)) {
    page.push(l);
    if (page.length === 5000) {
      await add(page);
      page = [];
    }
  }
  if (page.length) await add(page);
}

/** Adds the ledger columns a migration introduced; existing lines get the column's default. */
async function addLedgerColumns(db: Kysely<Database>, d: SqlDialect, since: number): Promise<void> {
  if (d.name === 'sqlite' && since >= 16) throw new Error('on SQLite, ledger_lines is a view from 0016: add the column to ledger_rows or ledger_contexts and make the view again');
  for (const c of LEDGER_COLUMNS.filter((x) => x.since === since)) {
    const fallback = c.type === 'bigint' || c.type === 'int' ? (c.name === 'fx_rate' ? '1000000000' : '0') : c.name === 'org_currency' ? "'USD'" : null;
    await db.schema
      .alterTable('ledger_lines')
      .addColumn(c.name, sql.raw(d.columnType(c.type)), (b) => (c.notNull && fallback !== null ? b.notNull().defaultTo(sql.raw(fallback)) : b))
      .execute();
  }
}

class CodeMigrations implements MigrationProvider {
  constructor(private readonly dialect: SqlDialect) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const [name, step] of MIGRATIONS) out[name] = { up: (db) => step(db as Kysely<Database>, this.dialect) };
    return out;
  }
}

/**
 * `schema`: the PostgreSQL schema of the installation. Named, the migration tables are looked
 * for in it alone (without it, another installation's tables in the same database would count).
 */
const migrator = (db: Kysely<Database>, dialect: SqlDialect, schema?: string) =>
  new Migrator({
    db, provider: new CodeMigrations(dialect), migrationTableName: 'bursar_migrations', migrationLockTableName: 'bursar_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });

const RACED: ReadonlySet<string> = new Set(['3F000', '42P01', '42703']);

/** Applies every pending migration, in order (replicas starting together take turns on a lock). Returns the names applied. */
export async function migrate(db: Kysely<Database>, dialect: SqlDialect, schema?: string): Promise<string[]> {
  for (let attempt = 1; ; attempt++) {
    const { error, results } = await migrator(db, dialect, schema).migrateToLatest();
    if (!error) return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
    // Kysely looks for its tables across every schema of the database; another installation
    // changing its own meanwhile fails that look: a schema dropped (3F000), a table dropped
    // (42P01), or a table read while its columns are being added (42703). It is not ours: look again.
    if (RACED.has(String((error as { code?: string }).code)) && attempt < 5) continue;
    throw error instanceof Error ? error : new Error(String(error));
  }
}

/** Applies the migrations up to and including `name` (tests of upgrades start from an older schema). */
export async function migrateTo(db: Kysely<Database>, dialect: SqlDialect, name: string): Promise<void> {
  const { error } = await migrator(db, dialect).migrateTo(name);
  if (error) throw error instanceof Error ? error : new Error(String(error));
}

/** The migrations not yet applied. */
export async function pendingMigrations(db: Kysely<Database>, dialect: SqlDialect, schema?: string): Promise<string[]> {
  return (await migrator(db, dialect, schema).getMigrations()).filter((m) => m.executedAt === undefined).map((m) => m.name);
}

/** Refuses to go on while migrations are pending (when start-up must not change the schema). */
export async function assertMigrated(db: Kysely<Database>, dialect: SqlDialect, schema?: string): Promise<void> {
  const pending = await pendingMigrations(db, dialect, schema);
  if (pending.length) throw new Error(`the database needs migrations ${pending.join(', ')}: run \`bursar migrate\` first (or start without BURSAR_AUTO_MIGRATE=false)`);
}

export const MIGRATION_NAMES = MIGRATIONS.map(([name]) => name);
