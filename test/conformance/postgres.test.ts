/** The PostgreSQL adapters against the shared conformance suites, each test in a schema of its own. */
import { describe, expect, it } from 'vitest';
import { openPostgres } from '../../src/store/postgres/open.js';
import { freshPostgres } from '../helpers/services.js';
import { configStoreSuite } from './config-store.suite.js';
import { ledgerStoreSuite } from './ledger-store.suite.js';

async function fresh() {
  const f = await freshPostgres();
  return { ...f, peer: async () => (await openPostgres({ url: f.url, schema: f.schema, poolSize: 2 })).config };
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

describe('PostgreSQL schemas', () => {
  it('migrates an installation in its own schema when another one shares the database', async () => {
    const a = await fresh();
    const b = await fresh();
    try {
      // Each has its own migration tables: b was not fooled by a's.
      await b.stores.config.write({ kind: 'note', id: 'n', body: { x: 1 } }, { actor: 't', action: 'note.put', target: 'note:n', details: {} });
      expect(await a.stores.config.get('note', 'n')).toBeUndefined();
      expect((await b.stores.config.get('note', 'n'))?.body).toEqual({ x: 1 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
