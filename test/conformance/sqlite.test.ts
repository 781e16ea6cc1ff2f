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

describe('migrations 0013 to 0015 (the run rollup with last calls; each agent run whole; the departments\' rollup)', () => {
  it('rebuild the run rollup and the agent-run table from the lines, and the departments\' rollup from the summary', async () => {
    const f = await fresh();
    try {
      const lines = Array.from({ length: 500 }, (_, i) => {
        const l = line(`m-${i}`, { ts: T0 + i * 600_000, model: i % 3 ? 'gpt-4o' : 'gpt-4o-mini', status: i % 9 === 0 ? 'cancelled' : 'ok', costNano: BigInt(10 + i) });
        return { ...l, dims: { ...l.dims, workflow: `w${i % 2}`, agent_run: `run-${i % 7}` } };
      });
      await f.stores.ledger.append(lines);
      const read = async () => ({
        runs: await f.stores.ledger.agentRuns({ from: T0, to: T0 + 4 * DAY, groupBy: ['workflow'] }),
        byDay: await f.stores.ledger.aggregate({ from: T0, to: T0 + 4 * DAY, groupBy: ['agent_run', 'day', 'status'] }),
        byModel: await f.stores.ledger.aggregate({ from: T0, to: T0 + 4 * DAY, groupBy: ['department', 'model', 'day', 'status'] }),
      });
      const before = await read();
      // Seven runs over four days, each day with calls ok and cancelled.
      // (Every cancelled call, i % 9 === 0, is on gpt-4o-mini: three model and status pairs a day.)
      expect([before.runs.length, before.byDay.length, before.byModel.length]).toEqual([7, 7 * 4 * 2, 4 * 3]);
      // As an installation at 0012 would be: the migrations not applied, their tables empty.
      for (const table of ['ledger_rollups_runs', 'agent_runs', 'ledger_rollups_departments']) await sql`delete from ${sql.table(table)}`.execute(f.stores.db);
      await sql`delete from bursar_migrations where name in ('0013_run_rollup_spans', '0014_agent_runs', '0015_department_rollup')`.execute(f.stores.db);
      expect(await read()).toMatchObject({ runs: [], byModel: [] });
      expect(await migrate(f.stores.db, sqliteDialect)).toEqual(['0013_run_rollup_spans', '0014_agent_runs', '0015_department_rollup']);
      expect(await read()).toEqual(before);
      // Rows summed from the summary have the keys the append makes: a like line adds to them.
      const rows = async () => Number((await sql<{ n: number }>`select count(*) as n from ledger_rollups_departments`.execute(f.stores.db)).rows[0]!.n);
      const n = await rows();
      await f.stores.ledger.append([{ ...lines[0]!, id: 'm-again' }]);
      expect(await rows()).toBe(n);
    } finally {
      await f.close();
    }
  });
});
