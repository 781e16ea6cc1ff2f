/**
 * The SQLite ledger keeps what a client's calls share once. A line's columns are of two kinds:
 * its own (id, time, tokens, cost, status, latency, tags) and those it shares with the other calls
 * of its client (who called, through which key, what model, priced in which version). The shared
 * ones are kept once per distinct set, as a row of `ledger_contexts`; each row of `ledger_rows`
 * names its context by number. The view `ledger_lines` joins the two back into the ledger's
 * columns, so every read is the same SQL on SQLite and on PostgreSQL (whose table stays wide).
 *
 * Why: binding a value from JavaScript costs more than SQLite's insert of it, and the shared
 * columns were twenty of a gateway line's texts; a row now binds one number instead, and is a
 * third the bytes (docs/architecture.md#the-ledger-on-sqlite).
 */
import type Database from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { compileSnapshot } from '../../core/compile.js';
import { DIMENSIONS } from '../../core/dimensions.js';
import type { LedgerLine } from '../../core/ledger.js';
import { LEDGER_COLUMNS, type Column } from '../sql/columns.js';
import { sqliteDialect, type Database as Schema } from '../sql/dialect.js';

/**
 * The shared columns: every dimension but the agent run (a run's calls are a few of its
 * client's), and the fields the spool also writes once per client. Tags stay a line's own: they
 * are free, and may name one call (a ticket, a job).
 */
const SHARED: ReadonlySet<string> = new Set<string>([
  ...DIMENSIONS.filter((d) => d !== 'agent_run'),
  'source', 'endpoint', 'stream', 'currency', 'price_version', 'spend_category', 'org_currency', 'human_review',
]);

const CONTEXT_COLUMNS: readonly Column[] = LEDGER_COLUMNS.filter((c) => SHARED.has(c.name));
export const ROW_COLUMNS: readonly Column[] = LEDGER_COLUMNS.filter((c) => !SHARED.has(c.name));

const quoted = (name: string): string => `"${name}"`;
const definition = (c: Column): string => `${quoted(c.name)} ${sqliteDialect.columnType(c.type)}${c.notNull ? ' NOT NULL' : ''}`;

/** A context's key: its stored values as a JSON array, as SQLite's json_array and JSON.stringify both write them. */
const keySql = (alias: string): string => `json_array(${CONTEXT_COLUMNS.map((c) => `${alias}.${quoted(c.name)}`).join(', ')})`;

/** The ledger's columns, in their order, from a row and its context. */
const VIEW = `CREATE VIEW ledger_lines AS SELECT ${LEDGER_COLUMNS.map((c) => `${SHARED.has(c.name) ? 'c' : 'r'}.${quoted(c.name)}`).join(', ')}
  FROM ledger_rows r JOIN ledger_contexts c ON c.id = r.context`;

/**
 * Migration 0016 on SQLite: the wide `ledger_lines` table becomes contexts, rows and the view
 * of the same name. Each distinct set of shared values becomes one context; every line is
 * copied, in its order, naming its context. One statement each, in the migration's transaction.
 */
export async function splitLedger(db: Kysely<Schema>): Promise<void> {
  const shared = CONTEXT_COLUMNS.map((c) => quoted(c.name));
  const own = ROW_COLUMNS.map((c) => quoted(c.name));
  const statements = [
    `CREATE TABLE ledger_contexts (id INTEGER PRIMARY KEY, signature TEXT NOT NULL UNIQUE, ${CONTEXT_COLUMNS.map(definition).join(', ')})`,
    `CREATE TABLE ledger_rows (${ROW_COLUMNS.map((c) => (c.name === 'id' ? 'id TEXT NOT NULL PRIMARY KEY' : definition(c))).join(', ')}, context INTEGER NOT NULL)`,
    // Bare columns beside GROUP BY come from one row of the group: every row of a key holds the same values.
    `INSERT INTO ledger_contexts (signature, ${shared.join(', ')}) SELECT ${keySql('l')}, ${shared.map((s) => `l.${s}`).join(', ')} FROM ledger_lines l GROUP BY 1 ORDER BY min(l.rowid)`,
    `INSERT INTO ledger_rows (${own.join(', ')}, context) SELECT ${own.map((s) => `l.${s}`).join(', ')}, c.id
      FROM ledger_lines l JOIN ledger_contexts c ON c.signature = ${keySql('l')} ORDER BY l.rowid`,
    'DROP TABLE ledger_lines',
    'CREATE INDEX ledger_rows_ts_id ON ledger_rows (ts, id)',
    VIEW,
    ...sqliteDialect.appendOnly('ledger_rows'),
    ...sqliteDialect.appendOnly('ledger_contexts'),
  ];
  for (const s of statements) await sql.raw(s).execute(db);
}

/** A line's shared values as stored (booleans as 0/1, none as null), and whether a line's are still some stored ones. */
const sharedValues = compileSnapshot<LedgerLine>(CONTEXT_COLUMNS.map((c) => {
  if (c.path === null) throw new Error(`shared column ${c.name} must be read from a field`);
  return c.type === 'bool' ? `(l.${c.path} ? 1 : 0)` : `(l.${c.path} ?? null)`;
}));

/** Contexts kept in memory before the cache starts over (the table keeps them all; a miss looks there). */
const MAX_KNOWN = 50_000;

/**
 * The context each line names, on the writer's connection: the last line's when a line shares
 * its values (a client's calls come in runs), else from a cache by key, else found or added in
 * the table. Contexts added in a transaction are forgotten if it rolls back.
 */
export class ContextIds {
  private readonly known = new Map<string, number>();
  private last: { readonly values: readonly unknown[]; readonly id: number } | null = null;
  /** Keys cached since the last commit. */
  private added: string[] = [];
  private readonly insert: Database.Statement;
  private readonly find: Database.Statement;

  constructor(writer: Database.Database) {
    const names = CONTEXT_COLUMNS.map((c) => quoted(c.name));
    this.insert = writer.prepare(`INSERT OR IGNORE INTO ledger_contexts (signature, ${names.join(', ')}) VALUES (${['?', ...names.map(() => '?')].join(', ')})`);
    this.find = writer.prepare('SELECT id FROM ledger_contexts WHERE signature = ?').pluck();
  }

  /** The id of the line's context; inside the transaction that inserts the line. */
  of(l: LedgerLine): number {
    const last = this.last;
    if (last !== null && sharedValues.same(last.values, l)) return last.id;
    const values = sharedValues.read(l);
    const key = JSON.stringify(values);
    let id = this.known.get(key);
    if (id === undefined) {
      const added = this.insert.run(key, ...values);
      id = Number(added.changes === 1 ? added.lastInsertRowid : (this.find.get(key) as bigint));
      if (this.known.size >= MAX_KNOWN) this.known.clear();
      this.known.set(key, id);
      this.added.push(key);
    }
    this.last = { values, id };
    return id;
  }

  /** The transaction committed: its contexts are in the table. */
  committed(): void {
    if (this.added.length) this.added = [];
  }

  /** The transaction rolled back: its contexts are not. */
  rolledBack(): void {
    for (const k of this.added) this.known.delete(k);
    this.added = [];
    this.last = null;
  }
}
