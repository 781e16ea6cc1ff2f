/** The SQLite adapters against the shared conformance suites. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/sqlite/open.js';
import { configStoreSuite } from './config-store.suite.js';
import { ledgerStoreSuite } from './ledger-store.suite.js';

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
