/**
 * The embedded default: one SQLite file (WAL mode) holds the ledger, the config records and
 * the audit log. Appends use their own connection and a prepared statement in one transaction
 * per batch; everything else goes through the shared Kysely code.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Kysely, SqliteDialect } from 'kysely';
import type { LedgerLine, UsageQuery, UsageRow } from '../../core/ledger.js';
import type { LedgerStore, ScanQuery } from '../../core/ports.js';
import { LEDGER_COLUMNS } from '../sql/columns.js';
import { SqlConfigStore } from '../sql/config-store.js';
import { sqliteDialect, type Database as Schema } from '../sql/dialect.js';
import { SqlEventLog } from '../sql/events.js';
import { aggregate, getLine, scan } from '../sql/ledger-queries.js';
import { migrate } from '../sql/migrations.js';

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

/** Pushes a line's column values onto `out`, converted for SQLite (booleans as 0/1, JSON as text). */
function pushValues(out: unknown[], l: LedgerLine): void {
  for (const c of LEDGER_COLUMNS) {
    const v = c.get(l);
    out.push(v === null ? null : c.type === 'bool' ? (v ? 1 : 0) : c.type === 'json' ? JSON.stringify(v) : v);
  }
}

export class SqliteLedgerStore implements LedgerStore {
  private readonly insert: (lines: readonly LedgerLine[]) => number;

  constructor(
    private readonly writer: Driver,
    private readonly db: Kysely<Schema>,
  ) {
    const names = LEDGER_COLUMNS.map((c) => `"${c.name}"`).join(', ');
    const row = `(${LEDGER_COLUMNS.map(() => '?').join(', ')})`;
    const sqlFor = (n: number) => `INSERT OR IGNORE INTO ledger_lines (${names}) VALUES ${Array.from({ length: n }, () => row).join(', ')}`;
    const many = writer.prepare(sqlFor(ROWS_PER_STATEMENT));
    const one = writer.prepare(sqlFor(1));
    this.insert = writer.transaction((lines: readonly LedgerLine[]) => {
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
      return added;
    });
  }

  async append(lines: readonly LedgerLine[]): Promise<number> {
    return lines.length ? this.insert(lines) : 0;
  }

  get(id: string): Promise<LedgerLine | undefined> {
    return getLine(this.db, id);
  }

  aggregate(query: UsageQuery): Promise<UsageRow[]> {
    return aggregate(this.db, sqliteDialect, query);
  }

  scan(query: ScanQuery): AsyncIterable<LedgerLine> {
    return scan(this.db, query);
  }

  async close(): Promise<void> {}
}

export interface SqliteStores {
  readonly ledger: SqliteLedgerStore;
  readonly config: SqlConfigStore;
  readonly events: SqlEventLog;
  readonly db: Kysely<Schema>;
  close(): Promise<void>;
}

/** Opens (and migrates) the SQLite database at `file`; ":memory:" is not supported (two connections share the file). */
export async function openSqlite(file: string): Promise<SqliteStores> {
  mkdirSync(dirname(file), { recursive: true });
  const main = openConnection(file, 16 * 1024);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: main }) });
  await migrate(db, sqliteDialect);
  const writer = openConnection(file, 2 * 1024);
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await db.destroy();
    writer.close();
  };
  return {
    ledger: new SqliteLedgerStore(writer, db),
    config: new SqlConfigStore(db, sqliteDialect),
    events: new SqlEventLog(db),
    db,
    close,
  };
}
