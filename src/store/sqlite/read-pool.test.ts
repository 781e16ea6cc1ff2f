import Database from 'better-sqlite3';
import { Kysely, sql } from 'kysely';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { SqliteReadDialect, SqliteReadPool } from './read-pool.js';

let dir: string;
let file: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-reads-'));
  file = join(dir, 'r.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec('create table t (id integer primary key, big integer, name text)');
  const insert = db.prepare('insert into t (big, name) values (?, ?)');
  for (let i = 0; i < 100; i++) insert.run(BigInt(2 ** 53) + BigInt(i), `n${i}`);
  db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the SQLite read pool', () => {
  it('reads on worker threads, exactly, at most one worker per slot however many reads wait', async () => {
    const pool = new SqliteReadPool(file, 2);
    try {
      const reads = Array.from({ length: 20 }, (_, i) => pool.read('select big, name from t where id = ?', [i + 1]));
      expect(pool.workers).toBe(2);
      const rows = await Promise.all(reads);
      expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => ({ big: BigInt(2 ** 53) + BigInt(i), name: `n${i}` })));
    } finally {
      await pool.close();
    }
    expect(pool.workers).toBe(0);
    await expect(pool.read('select 1', [])).rejects.toThrow(/closed/);
  });

  it('gives an error back with its code, refuses writes, and stays usable', async () => {
    const pool = new SqliteReadPool(file, 1);
    try {
      await expect(pool.read('select nope from t', [])).rejects.toMatchObject({ code: 'SQLITE_ERROR', message: expect.stringMatching(/no such column/) });
      await expect(pool.read("insert into t (name) values ('x')", [])).rejects.toMatchObject({ code: 'SQLITE_READONLY' });
      expect(await pool.read('select count(*) as n from t', [])).toEqual([{ n: 100n }]);
      // Through Kysely: queries run, transactions are refused.
      const db = new Kysely<{ t: { id: number; name: string } }>({ dialect: new SqliteReadDialect(pool) });
      expect(await db.selectFrom('t').select('name').where('id', '=', 3).execute()).toEqual([{ name: 'n2' }]);
      await expect(db.transaction().execute(async (trx) => sql`select 1`.execute(trx))).rejects.toThrow(/reads only/);
    } finally {
      await pool.close();
    }
  });

  it('stops a worker that waited long enough for work, and starts one for the next read', async () => {
    const pool = new SqliteReadPool(file, 2, 20);
    try {
      await pool.read('select 1', []);
      expect(pool.workers).toBe(1);
      await vi.waitFor(() => expect(pool.workers).toBe(0), { timeout: 10_000 });
      expect(await pool.read('select 2 as two', [])).toEqual([{ two: 2n }]);
    } finally {
      await pool.close();
    }
  });

  it('fails the reads of a reader that dies or is closed mid-read, and reads on with a new one', async () => {
    const pool = new SqliteReadPool(file, 1);
    try {
      // A read that runs for seconds (a recursive count) while the pool closes: the read fails at
      // once, and closing does not wait for SQLite to finish it.
      await pool.read('select 1', []);
      const slow = pool.read('with recursive n(i) as (select 1 union all select i + 1 from n where i < 200000000) select count(*) from n', []);
      await new Promise((r) => setTimeout(r, 50));
      await Promise.all([expect(slow).rejects.toThrow(/closed/), pool.close()]);
    } finally {
      await pool.close();
    }
    const again = new SqliteReadPool(file, 1);
    try {
      expect(await again.read('select count(*) as n from t', [])).toEqual([{ n: 100n }]);
    } finally {
      await again.close();
    }
  });
});
