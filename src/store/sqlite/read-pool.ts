/**
 * Reports' reads on SQLite, off the main thread. better-sqlite3 is synchronous: a report that
 * reads for 50 ms on the main thread stalls every call through the gateway for as long, and two
 * reads of one report wait for each other. Here each read goes to a worker thread with its own
 * read-only connection (WAL: it sees every committed append), so reads leave the event loop
 * free and the reads of one report run side by side, one per core.
 *
 * Workers start on the first read and stop after a while without any, so a gateway that serves
 * no reports holds none. The Kysely dialect below makes the pool a query layer like any other:
 * the shared SQL read code runs on it unchanged.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler,
  type DatabaseConnection, type DatabaseIntrospector, type Dialect, type Driver, type Kysely, type QueryResult,
} from 'kysely';

/** The worker: one read-only connection, each statement prepared once. (CommonJS: an eval'd worker has `require`.) */
const WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.module);
const db = new Database(workerData.file, { readonly: true, fileMustExist: true });
db.pragma('busy_timeout = 5000');
db.pragma('cache_size = -' + workerData.cacheKiB);
db.defaultSafeIntegers(true);
const statements = new Map();
parentPort.on('message', ({ sql, parameters }) => {
  try {
    let st = statements.get(sql);
    if (!st) {
      if (statements.size >= 500) statements.clear();
      statements.set(sql, (st = db.prepare(sql)));
    }
    parentPort.postMessage({ rows: st.reader ? st.all(parameters) : (st.run(parameters), []) });
  } catch (err) {
    parentPort.postMessage({ error: { message: err.message, code: err.code } });
  }
});
`;

interface Job {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  readonly resolve: (rows: unknown[]) => void;
  readonly reject: (err: Error) => void;
}

interface Reader {
  readonly worker: Worker;
  job: Job | null;
  idle: NodeJS.Timeout | null;
}

export class SqliteReadPool {
  private readonly readers = new Set<Reader>();
  private readonly queue: Job[] = [];
  private readonly module = createRequire(import.meta.url).resolve('better-sqlite3');
  private closed = false;

  /**
   * @param size workers at most (one per core by default).
   * @param idleMs how long a worker waits for work before it stops.
   */
  constructor(
    private readonly file: string,
    private readonly size = Math.max(1, Math.min(2, availableParallelism())),
    private readonly idleMs = 30_000,
    private readonly cacheKiB = 16 * 1024,
  ) {}

  /** Workers running now. */
  get workers(): number {
    return this.readers.size;
  }

  /** Runs one statement on a free worker (or the next one free); resolves with its rows. */
  read(sql: string, parameters: readonly unknown[]): Promise<unknown[]> {
    if (this.closed) return Promise.reject(new Error('the SQLite read pool is closed'));
    return new Promise((resolve, reject) => {
      this.queue.push({ sql, parameters, resolve, reject });
      this.dispatch();
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const j of this.queue.splice(0)) j.reject(new Error('the SQLite read pool is closed'));
    await Promise.all([...this.readers].map((r) => this.stop(r)));
  }

  /** A started reader with no job, if any. */
  private free(): Reader | undefined {
    for (const r of this.readers) if (r.job === null) return r;
    return undefined;
  }

  private dispatch(): void {
    while (this.queue.length) {
      let reader = this.free();
      if (!reader && this.readers.size < this.size) reader = this.start();
      if (!reader) return;
      const job = this.queue.shift()!;
      if (reader.idle) clearTimeout(reader.idle);
      reader.idle = null;
      reader.job = job;
      // Held while it reads (a pending read keeps the process up), let go while idle.
      reader.worker.ref();
      try {
        reader.worker.postMessage({ sql: job.sql, parameters: job.parameters });
      } catch (err) {
        // Parameters that cannot be sent: the read fails, the reader stays free.
        reader.job = null;
        reader.worker.unref();
        job.reject(err as Error);
      }
    }
  }

  private start(): Reader {
    const worker = new Worker(WORKER, { eval: true, workerData: { module: this.module, file: this.file, cacheKiB: this.cacheKiB } });
    const reader: Reader = { worker, job: null, idle: null };
    worker.on('message', (m: { rows?: unknown[]; error?: { message: string; code?: string } }) => {
      const job = reader.job;
      reader.job = null;
      reader.worker.unref();
      if (job) {
        if (m.error) job.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
        else job.resolve(m.rows!);
      }
      if (!this.closed) {
        reader.idle = setTimeout(() => void this.stop(reader), this.idleMs).unref();
        this.dispatch();
      }
    });
    // A worker that dies fails its read; the next read starts another.
    const died = (err: Error) => {
      if (!this.readers.delete(reader)) return;
      reader.job?.reject(err);
      reader.job = null;
      if (reader.idle) clearTimeout(reader.idle);
      this.dispatch();
    };
    worker.on('error', died);
    worker.on('exit', (code) => died(new Error(`a SQLite reader thread stopped (exit code ${code})`)));
    worker.unref();
    this.readers.add(reader);
    return reader;
  }

  private async stop(reader: Reader): Promise<void> {
    if (reader.idle) clearTimeout(reader.idle);
    this.readers.delete(reader);
    const busy = reader.job;
    reader.job = null;
    const stopped = reader.worker.terminate();
    if (!busy) return void (await stopped);
    // Only on close can a reader stop mid-read. Its read fails now; the thread ends when SQLite
    // next hands back control, which closing does not wait for (a long report would hold it up).
    busy.reject(new Error('the SQLite read pool is closed'));
    reader.worker.unref();
    void stopped.catch(() => {});
  }
}

/** Kysely over the read pool: reads only (a transaction, or a stream, is refused). */
export class SqliteReadDialect implements Dialect {
  constructor(private readonly pool: SqliteReadPool) {}

  createAdapter() {
    return new SqliteAdapter();
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }

  createIntrospector(db: Kysely<unknown>): DatabaseIntrospector {
    return new SqliteIntrospector(db);
  }

  createDriver(): Driver {
    const pool = this.pool;
    const connection: DatabaseConnection = {
      async executeQuery<R>(q: CompiledQuery): Promise<QueryResult<R>> {
        return { rows: (await pool.read(q.sql, q.parameters)) as R[] };
      },
      // eslint-disable-next-line require-yield
      async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
        throw new Error('the SQLite read pool does not stream: page through the rows instead');
      },
    };
    const readOnly = async () => {
      throw new Error('the SQLite read pool runs reads only: write through the main connection');
    };
    return {
      init: async () => {},
      acquireConnection: async () => connection,
      beginTransaction: readOnly,
      commitTransaction: readOnly,
      rollbackTransaction: readOnly,
      releaseConnection: async () => {},
      destroy: () => this.pool.close(),
    };
  }
}
