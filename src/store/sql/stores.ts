/** What opening either SQL database gives: the ledger, config and event stores over one connection pool. */
import type { Kysely } from 'kysely';
import type { LedgerStore } from '../../core/ports.js';
import type { SqlConfigStore } from './config-store.js';
import type { Database } from './dialect.js';
import type { SqlEventLog } from './events.js';

export interface SqlStores {
  readonly kind: 'sqlite' | 'postgres';
  readonly ledger: LedgerStore;
  readonly config: SqlConfigStore;
  readonly events: SqlEventLog;
  /** The query layer underneath (backups, copies, tests). */
  readonly db: Kysely<Database>;
  close(): Promise<void>;
}
