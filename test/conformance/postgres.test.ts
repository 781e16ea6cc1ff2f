/** The PostgreSQL adapters against the shared conformance suites, each test in a schema of its own. */
import pg from 'pg';
import { openPostgres } from '../../src/store/postgres/open.js';
import { postgresUrl, uniquePrefix } from '../helpers/services.js';
import { configStoreSuite } from './config-store.suite.js';
import { ledgerStoreSuite } from './ledger-store.suite.js';

async function fresh() {
  const url = postgresUrl();
  const schema = uniquePrefix('pg').replace(/-/g, '_');
  const stores = await openPostgres({ url, schema, poolSize: 4 }).catch((err: unknown) => {
    throw new Error(`these tests need PostgreSQL at ${url}: ${err instanceof Error ? err.message : String(err)}`);
  });
  return {
    stores,
    peer: async () => (await openPostgres({ url, schema, poolSize: 2 })).config,
    close: async () => {
      await stores.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}

ledgerStoreSuite('postgres', async () => {
  const f = await fresh();
  return { store: f.stores.ledger, close: f.close };
});

configStoreSuite(
  'postgres',
  async () => {
    const f = await fresh();
    return { store: f.stores.config, peer: f.peer, close: f.close };
  },
  true,
);
