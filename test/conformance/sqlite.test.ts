/** The SQLite adapters against the shared conformance suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { sqliteDialect } from '../../src/store/sql/dialect.js';
import { migrate } from '../../src/store/sql/migrations.js';
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

describe('migration 0013 (the run rollup by model, with first and last calls)', () => {
  it('rebuilds the run rollup from the lines already in the ledger', async () => {
    const f = await fresh();
    try {
      const lines = Array.from({ length: 500 }, (_, i) => {
        const l = line(`m-${i}`, { ts: T0 + i * 600_000, model: i % 3 ? 'gpt-4o' : 'gpt-4o-mini', status: i % 9 === 0 ? 'cancelled' : 'ok', costNano: BigInt(10 + i) });
        return { ...l, dims: { ...l.dims, workflow: `w${i % 2}`, agent_run: `run-${i % 7}` } };
      });
      await f.stores.ledger.append(lines);
      const runs = () => f.stores.ledger.agentRuns({ from: T0, to: T0 + 4 * DAY, groupBy: ['workflow'] });
      const before = await runs();
      expect(before.length).toBe(2 * 7);
      // As an installation at 0012 would be: the migration not applied, its table empty.
      await sql`delete from ledger_rollups_runs`.execute(f.stores.db);
      await sql`delete from bursar_migrations where name = '0013_run_rollup_spans'`.execute(f.stores.db);
      expect(await runs()).not.toEqual(before);
      expect(await migrate(f.stores.db, sqliteDialect)).toEqual(['0013_run_rollup_spans']);
      expect(await runs()).toEqual(before);
    } finally {
      await f.close();
    }
  });
});
