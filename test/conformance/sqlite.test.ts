/** The SQLite adapters against the shared conformance suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect, sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import type { LedgerLine } from '../../src/core/ledger.js';
import type { LedgerStore } from '../../src/core/ports.js';
import { LEDGER_COLUMNS } from '../../src/store/sql/columns.js';
import { sqliteDialect, type Database as Schema } from '../../src/store/sql/dialect.js';
import { migrateTo } from '../../src/store/sql/migrations.js';
import { addDerived, DAILY } from '../../src/store/sql/rollups.js';
import type { SqlStores } from '../../src/store/sql/stores.js';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { configStoreSuite } from './config-store.suite.js';
import { ledgerStoreSuite, line } from './ledger-store.suite.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 10, 1);

async function fresh() {
  const dir = mkdtempSync(join(tmpdir(), 'bursar-conf-'));
  const stores = await openSqlite(join(dir, 'bursar.db'));
  return {
    stores,
    close: async () => {
      await stores.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

ledgerStoreSuite('sqlite', async () => {
  const f = await fresh();
  return { store: f.stores.ledger, close: f.close };
});

configStoreSuite('sqlite', async () => {
  const f = await fresh();
  return { store: f.stores.config, close: f.close };
});

/**
 * An installation at 0008, as its gateway wrote it: the ledger one wide table, each line's day in
 * the daily rollup (the later rollups and tables did not exist yet).
 */
async function at0008(file: string, lines: readonly LedgerLine[]): Promise<void> {
  const driver = new Database(file);
  const db = new Kysely<Schema>({ dialect: new SqliteDialect({ database: driver }) });
  try {
    await migrateTo(db, sqliteDialect, '0008_outcomes');
    for (let i = 0; i < lines.length; i += 100) {
      const rows = lines.slice(i, i + 100).map((l) => Object.fromEntries(LEDGER_COLUMNS.map((c) => {
        const v = c.get(l);
        return [c.name, typeof v === 'boolean' ? Number(v) : v];
      })));
      await db.insertInto('ledger_lines').values(rows).execute();
    }
    await addDerived(db, lines, [DAILY]);
  } finally {
    await db.destroy();
  }
}

describe('upgrades from 0008 (0012-0015: the summary, run, agent-run and departments\' rollups; 0016: contexts on SQLite)', () => {
  it('derive the rollups from the lines, split the ledger into contexts and rows, and read as a ledger that never changed', async () => {
    const lines = Array.from({ length: 500 }, (_, i) => {
      const l = line(`m-${i}`, { ts: T0 + i * 600_000, model: i % 3 ? 'gpt-4o' : 'gpt-4o-mini', status: i % 9 === 0 ? 'cancelled' : 'ok', costNano: BigInt(10 + i), tags: i % 5 ? { job: `j${i}` } : null });
      return { ...l, dims: { ...l.dims, workflow: `w${i % 2}`, agent_run: `run-${i % 7}`, user: i % 4 ? `u${i % 3}` : null } };
    });
    const read = async (s: LedgerStore) => ({
      runs: await s.agentRuns({ from: T0, to: T0 + 4 * DAY, groupBy: ['workflow'] }),
      byDay: await s.aggregate({ from: T0, to: T0 + 4 * DAY, groupBy: ['agent_run', 'day', 'status'] }),
      byModel: await s.aggregate({ from: T0, to: T0 + 4 * DAY, groupBy: ['department', 'model', 'day', 'status'] }),
      byUser: await s.aggregate({ from: T0 + 3_600_000, to: T0 + 2 * DAY, groupBy: ['user', 'tag:job'] }),
    });
    const today = await fresh();
    const old = mkdtempSync(join(tmpdir(), 'bursar-conf-'));
    try {
      await today.stores.ledger.append(lines);
      const expected = await read(today.stores.ledger);
      // Seven runs over four days, each day with calls ok and cancelled.
      // (Every cancelled call, i % 9 === 0, is on gpt-4o-mini: three model and status pairs a day.)
      expect([expected.runs.length, expected.byDay.length, expected.byModel.length]).toEqual([7, 7 * 4 * 2, 4 * 3]);

      await at0008(join(old, 'bursar.db'), lines);
      const upgraded = await openSqlite(join(old, 'bursar.db'));
      try {
        expect(await read(upgraded.ledger)).toEqual(await read(today.stores.ledger));
        const ids = lines.map((l) => l.id).sort();
        for (const id of [ids[0]!, ids[123]!, ids[499]!]) expect(await upgraded.ledger.get(id)).toEqual(await today.stores.ledger.get(id));
        // One context per set of shared values, made from the lines as the gateway would have made it.
        const contexts = async (s: SqlStores) => Number((await sql<{ n: number }>`select count(*) as n from ledger_contexts`.execute(s.db)).rows[0]!.n);
        expect(await contexts(upgraded)).toBe(await contexts(today.stores));
        // A like line names the context the upgrade made, and adds to the rows summed from the summary.
        const rows = async () => Number((await sql<{ n: number }>`select count(*) as n from ledger_rollups_departments`.execute(upgraded.db)).rows[0]!.n);
        const [n, c] = [await rows(), await contexts(upgraded)];
        await upgraded.ledger.append([{ ...lines[0]!, id: 'm-again' }]);
        expect([await rows(), await contexts(upgraded)]).toEqual([n, c]);
      } finally {
        await upgraded.close();
      }
    } finally {
      await today.close();
      rmSync(old, { recursive: true, force: true });
    }
  });
});

describe('contexts', () => {
  it('are forgotten with a batch that rolls back, so no row names a context that is not there', async () => {
    const f = await fresh();
    try {
      const first = line('c-1', { dept: 'legal' });
      // A line that cannot be written (a cost SQLite cannot take): its batch rolls back, the new context with it.
      await expect(f.stores.ledger.append([{ ...first, costNano: {} as never }])).rejects.toThrow();
      await f.stores.ledger.append([first, line('c-2', { dept: 'legal', status: 'cancelled' })]);
      expect((await f.stores.ledger.get('c-1'))?.dims.department).toBe('legal');
      expect((await f.stores.ledger.get('c-2'))?.status).toBe('cancelled');
      const n = (await sql<{ n: number }>`select count(*) as n from ledger_contexts`.execute(f.stores.db)).rows[0]!.n;
      expect(Number(n)).toBe(1);
    } finally {
      await f.close();
    }
  });

  it('keep the ledger append-only: its rows and contexts refuse changes, and the view is not a table', async () => {
    const f = await fresh();
    try {
      await f.stores.ledger.append([line('a-1')]);
      await expect(sql`delete from ledger_rows`.execute(f.stores.db)).rejects.toThrow(/append-only/);
      await expect(sql`update ledger_contexts set department = 'x'`.execute(f.stores.db)).rejects.toThrow(/append-only/);
      await expect(sql`delete from ledger_lines`.execute(f.stores.db)).rejects.toThrow(/view/);
    } finally {
      await f.close();
    }
  });
});
