/**
 * The embedded default: one SQLite file (WAL mode) holds the ledger, the config records and
 * the audit log. Appends use their own connection and prepared statements in one transaction
 * per batch (lines, daily rollups, budget totals); the ledger's reports read through a pool of
 * worker threads (read-pool.ts); everything else goes through the shared Kysely code.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { LedgerLine } from '../../core/ledger.js';
import type { AppendResult, BudgetTotals, LedgerStore } from '../../core/ports.js';
import { LEDGER_COLUMNS } from '../sql/columns.js';
import { SqlConfigStore } from '../sql/config-store.js';
import { sqliteDialect, type Database as Schema } from '../sql/dialect.js';
import { SqlEventLog } from '../sql/events.js';
import { SqlLedgerReads } from '../sql/ledger-queries.js';
import { SqliteReadDialect, SqliteReadPool } from './read-pool.js';
import { migrate } from '../sql/migrations.js';
import type { SqlStores } from '../sql/stores.js';
import {
  TOTALS_ON_CONFLICT, readTotals, derivedValues, totalsValues, DERIVED, TOTALS_COLUMNS, TOTALS_TABLE,
} from '../sql/rollups.js';

type Driver = Database.Database;

/**
 * @param cacheKiB page cache of this connection. Appends touch only the right edge of each
 * B-tree, so the writer needs little; reports read more. (The default 64 MiB per connection
 * filled up under load and was most of the gateway's memory growth.)
 */
function openConnection(file: string, cacheKiB: number): Driver {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode: a commit survives a process crash; only an OS crash can lose the last commits.
  db.pragma('synchronous = NORMAL');
  db.pragma('busy_timeout = 5000');
  db.pragma(`cache_size = -${cacheKiB}`);
  db.defaultSafeIntegers(true);
  return db;
}

/** Rows per INSERT statement: fewer, larger statements cost far less per row than one each. */
const ROWS_PER_STATEMENT = 64;

/** Pushes a line's column values onto `out`, converted for SQLite (booleans as 0/1). */
function pushValues(out: unknown[], l: LedgerLine): void {
  for (const c of LEDGER_COLUMNS) {
    const v = c.get(l);
    out.push(v === null ? null : c.type === 'bool' ? (v ? 1 : 0) : v);
  }
}

/** Thrown inside the fast path's savepoint to undo it when some lines were already there. */
const SOME_PRESENT = Symbol('some lines already present');

export class SqliteLedgerStore extends SqlLedgerReads implements LedgerStore {
  private readonly insert: (lines: readonly LedgerLine[]) => readonly LedgerLine[];

  constructor(
    writer: Driver,
    db: Kysely<Schema>,
    reads: Kysely<Schema>,
  ) {
    super(db, sqliteDialect, reads);
    const names = LEDGER_COLUMNS.map((c) => `"${c.name}"`).join(', ');
    const row = `(${LEDGER_COLUMNS.map(() => '?').join(', ')})`;
    const sqlFor = (n: number) => `INSERT OR IGNORE INTO ledger_lines (${names}) VALUES ${Array.from({ length: n }, () => row).join(', ')}`;
    const many = writer.prepare(sqlFor(ROWS_PER_STATEMENT));
    const one = writer.prepare(sqlFor(1));
    const upsert = (table: string, columns: readonly string[], set: string) =>
      writer.prepare(`INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT("${columns[0]}") DO UPDATE SET ${set}`);
    const statements = new Map(DERIVED.map((r) => [r, upsert(r.table, r.columns, r.onConflict)]));
    const total = upsert(TOTALS_TABLE, TOTALS_COLUMNS, TOTALS_ON_CONFLICT);

    // New lines are the rule (ids are fresh UUIDv7s): insert them 64 to a statement. Only a
    // replay meets lines already there; then each line goes alone, to learn which were added.
    const allNew = writer.transaction((lines: readonly LedgerLine[]) => {
      let added = 0;
      let i = 0;
      for (; i + ROWS_PER_STATEMENT <= lines.length; i += ROWS_PER_STATEMENT) {
        const values: unknown[] = [];
        for (let j = i; j < i + ROWS_PER_STATEMENT; j++) pushValues(values, lines[j]!);
        added += many.run(values).changes;
      }
      for (; i < lines.length; i++) {
        const values: unknown[] = [];
        pushValues(values, lines[i]!);
        added += one.run(values).changes;
      }
      if (added !== lines.length) throw SOME_PRESENT;
    });
    const eachNew = (lines: readonly LedgerLine[]) =>
      lines.filter((l) => {
        const values: unknown[] = [];
        pushValues(values, l);
        return one.run(values).changes === 1;
      });
    this.insert = writer.transaction((lines: readonly LedgerLine[]) => {
      let added = lines;
      try {
        allNew(lines);
      } catch (err) {
        if (err !== SOME_PRESENT) throw err;
        added = eachNew(lines);
      }
      for (const [r, rows] of derivedValues(added)) for (const row of rows) statements.get(r)!.run(row);
      for (const t of totalsValues(added)) total.run(t);
      return added;
    });
  }

  async append(lines: readonly LedgerLine[]): Promise<AppendResult> {
    return { added: lines.length ? this.insert(lines) : [], commit: null };
  }

  async budgetTotals(prefixes: readonly string[]): Promise<BudgetTotals> {
    return { amounts: await readTotals(this.db, prefixes), snapshot: null };
  }

}

/** Opens (and migrates) the SQLite database at `file`; ":memory:" is not supported (two connections share the file). */
export async function openSqlite(file: string): Promise<SqlStores> {
  mkdirSync(dirname(file), { recursive: true });
  const main = openConnection(file, 16 * 1024);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: main }) });
  await migrate(db, sqliteDialect);
  const writer = openConnection(file, 2 * 1024);
  // Reports read off the main thread, side by side (read-pool.ts).
  const reads = new Kysely<Schema>({ dialect: new SqliteReadDialect(new SqliteReadPool(file)) });
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await reads.destroy();
    await db.destroy();
    writer.close();
  };
  return {
    kind: 'sqlite',
    ledger: new SqliteLedgerStore(writer, db, reads),
    config: new SqlConfigStore(db, sqliteDialect),
    events: new SqlEventLog(db),
    db,
    close,
  };
}
