/**
 * The embedded default: one SQLite file (WAL mode) holds the ledger, the config records and
 * the audit log. Appends use their own connection and prepared statements in one transaction
 * per batch (new contexts, rows, daily rollups, budget totals: the ledger is contexts and rows,
 * read through the view ledger_lines, contexts.ts); the ledger's reports read through a pool of
 * worker threads (read-pool.ts); everything else goes through the shared Kysely code.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { LedgerLine } from '../../core/ledger.js';
import type { AppendResult, BudgetTotals, LedgerStore } from '../../core/ports.js';
import { compileCells } from '../sql/columns.js';
import { ContextIds, ROW_COLUMNS } from './contexts.js';
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

/** A row's own columns' values (booleans as 0/1); its context's number follows them. */
const rowCells = compileCells(ROW_COLUMNS, (b) => (b ? 1 : 0));
const ROW_WIDTH = ROW_COLUMNS.length + 1;
const ROW_NAMES = [...ROW_COLUMNS.map((c) => c.name), 'context'];
const ROW_NOT_NULL = [...ROW_COLUMNS.map((c) => c.notNull), true];

/** Prepared statements kept per shape before the cache starts over (shapes are few: what kinds of line a batch holds). */
const MAX_SHAPES = 64;

/**
 * Inserts lines' rows by statements that name only the columns some line of the statement has a
 * value for; the rest are left to their default, NULL. Binding a value from JavaScript costs more
 * than SQLite's insert of it, and a gateway call fills about half of a row's columns.
 */
class LineInserter {
  private readonly statements = new Map<string, Database.Statement>();
  /** Every column's value for the rows of one statement, reused from statement to statement (read only up to what it wrote). */
  private readonly cells: unknown[] = [];

  constructor(private readonly writer: Driver) {}

  /** Inserts lines[from, to), each naming contexts[i]; returns how many were added (a line already there is ignored). */
  run(lines: readonly LedgerLine[], contexts: readonly number[], from: number, to: number): number {
    const cells = this.cells;
    const used = new Uint8Array(ROW_WIDTH);
    let k = 0;
    for (let j = from; j < to; j++, k += ROW_WIDTH) {
      rowCells(lines[j]!, cells, k, used);
      cells[k + ROW_WIDTH - 1] = contexts[j];
    }
    const shape: number[] = [];
    for (let c = 0; c < ROW_WIDTH; c++) if (used[c] || ROW_NOT_NULL[c]) shape.push(c);
    const values: unknown[] = new Array((to - from) * shape.length);
    let n = 0;
    for (let row = 0; row < k; row += ROW_WIDTH) for (const c of shape) values[n++] = cells[row + c];
    return this.statement(shape, to - from).run(...values).changes;
  }

  private statement(shape: readonly number[], rows: number): Database.Statement {
    const key = `${rows}:${shape.join(',')}`;
    let st = this.statements.get(key);
    if (!st) {
      if (this.statements.size >= MAX_SHAPES) this.statements.clear();
      const names = shape.map((c) => `"${ROW_NAMES[c]}"`).join(', ');
      const row = `(${shape.map(() => '?').join(', ')})`;
      st = this.writer.prepare(`INSERT OR IGNORE INTO ledger_rows (${names}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}`);
      this.statements.set(key, st);
    }
    return st;
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
    const inserter = new LineInserter(writer);
    const contexts = new ContextIds(writer);
    const upsert = (table: string, columns: readonly string[], set: string) =>
      writer.prepare(`INSERT INTO ${table} (${columns.map((c) => `"${c}"`).join(', ')}) VALUES (${columns.map(() => '?').join(', ')}) ON CONFLICT("${columns[0]}") DO UPDATE SET ${set}`);
    const statements = new Map(DERIVED.map((r) => [r, upsert(r.table, r.columns, r.onConflict)]));
    const total = upsert(TOTALS_TABLE, TOTALS_COLUMNS, TOTALS_ON_CONFLICT);

    // New lines are the rule (ids are fresh UUIDv7s): insert them 64 to a statement, the rest
    // in halving statements (32, 16, ... 1), so a few statement sizes serve every batch size.
    // Only a replay meets lines already there; then each line goes alone, to learn which were added.
    const allNew = writer.transaction((batch: readonly LedgerLine[], ids: readonly number[]) => {
      let added = 0;
      let i = 0;
      for (let rows = ROWS_PER_STATEMENT; rows >= 1; rows >>= 1) {
        for (; i + rows <= batch.length; i += rows) added += inserter.run(batch, ids, i, i + rows);
      }
      if (added !== batch.length) throw SOME_PRESENT;
    });
    const eachNew = (batch: readonly LedgerLine[], ids: readonly number[]) => batch.filter((_, i) => inserter.run(batch, ids, i, i + 1) === 1);
    const insert = writer.transaction((lines: readonly LedgerLine[]) => {
      // Contexts first, outside the fast path's savepoint: its rollback must not take them.
      const ids = lines.map((l) => contexts.of(l));
      let added = lines;
      try {
        allNew(lines, ids);
      } catch (err) {
        if (err !== SOME_PRESENT) throw err;
        added = eachNew(lines, ids);
      }
      for (const [r, rows] of derivedValues(added)) for (const row of rows) statements.get(r)!.run(...row);
      for (const t of totalsValues(added)) total.run(...t);
      return added;
    });
    this.insert = (lines) => {
      try {
        const added = insert(lines);
        contexts.committed();
        return added;
      } catch (err) {
        contexts.rolledBack();
        throw err;
      }
    };
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
