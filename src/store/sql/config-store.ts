/**
 * ConfigStore over SQL (SQLite or PostgreSQL through Kysely): versioned JSON records, and an
 * audit entry chained by hash written in the same transaction as the change it records.
 */
import { chainEntry, GENESIS_HASH } from '../../core/audit.js';
import { BursarError } from '../../core/errors.js';
import type {
  AuditEntry, AuditInput, AuditQuery, ConfigStore, RecordChange, RecordWrite, StoredRecord,
} from '../../core/ports.js';
import { toNumber } from './columns.js';
import type { AuditRow, ConfigRecordRow, Db, SqlDialect } from './dialect.js';
import type { Transaction } from 'kysely';
import type { Database } from './dialect.js';

export interface ConfigStoreOptions {
  /** Tells other replicas about a change, inside the transaction that makes it. */
  readonly announce?: (trx: Transaction<Database>, change: { kind: string; id: string }) => Promise<void>;
  /** Waits until the changes other replicas committed so far have been heard (see ConfigStore.sync). */
  readonly sync?: () => Promise<void>;
  readonly onClose?: () => Promise<void>;
}

export class SqlConfigStore implements ConfigStore {
  private readonly listeners = new Set<(c: RecordChange) => void>();

  constructor(
    private readonly db: Db,
    private readonly dialect: SqlDialect,
    private readonly opts: ConfigStoreOptions = {},
  ) {}

  async list(kind: string): Promise<StoredRecord[]> {
    const rows = await this.db.selectFrom('config_records').selectAll().where('kind', '=', kind).orderBy('id').execute();
    return rows.map(toRecord);
  }

  async get(kind: string, id: string): Promise<StoredRecord | undefined> {
    const row = await this.db.selectFrom('config_records').selectAll().where('kind', '=', kind).where('id', '=', id).executeTakeFirst();
    return row ? toRecord(row) : undefined;
  }

  async write(change: RecordWrite, audit: AuditInput): Promise<StoredRecord | null> {
    const result = await this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('config_records').select('version').where('kind', '=', change.kind).where('id', '=', change.id).executeTakeFirst();
      const version = current ? toNumber(current.version) : 0;
      if (change.expectVersion !== undefined && change.expectVersion !== version) {
        throw new BursarError('conflict', `${change.kind} "${change.id}" was changed by someone else (version ${version}, expected ${change.expectVersion}); reload it and try again.`);
      }
      const now = Date.now();
      let record: StoredRecord | null = null;
      if (change.body === null) {
        await trx.deleteFrom('config_records').where('kind', '=', change.kind).where('id', '=', change.id).execute();
      } else {
        record = { kind: change.kind, id: change.id, body: change.body, version: version + 1, updatedAt: now };
        const row = { kind: change.kind, id: change.id, body: JSON.stringify(change.body), version: version + 1, updated_at: now };
        if (current) {
          await trx.updateTable('config_records').set({ body: row.body, version: row.version, updated_at: now }).where('kind', '=', change.kind).where('id', '=', change.id).execute();
        } else {
          await trx.insertInto('config_records').values(row).execute();
        }
      }
      await this.appendAuditIn(trx, audit, now);
      await this.opts.announce?.(trx, { kind: change.kind, id: change.id });
      return record;
    });
    this.emit({ kind: change.kind, id: change.id, record: result });
    return result;
  }

  async sync(): Promise<void> {
    await this.opts.sync?.();
  }

  appendAudit(audit: AuditInput): Promise<AuditEntry> {
    return this.db.transaction().execute((trx) => this.appendAuditIn(trx, audit, Date.now()));
  }

  private async appendAuditIn(trx: Transaction<Database>, audit: AuditInput, now: number): Promise<AuditEntry> {
    await this.dialect.lockAudit(trx);
    const head = await trx.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
    const entry = chainEntry(head ? toNumber(head.seq) + 1 : 1, now, head?.hash ?? GENESIS_HASH, audit);
    await trx
      .insertInto('audit_log')
      .values({ seq: entry.seq, ts: entry.ts, actor: entry.actor, action: entry.action, target: entry.target, details: JSON.stringify(entry.details), prev_hash: entry.prevHash, hash: entry.hash })
      .execute();
    return entry;
  }

  async audit(q: AuditQuery): Promise<AuditEntry[]> {
    let query = this.db.selectFrom('audit_log').selectAll().where('seq', '>', q.afterSeq ?? 0);
    if (q.target) query = query.where('target', '=', q.target);
    const rows = await query.orderBy('seq').limit(q.limit ?? 1000).execute();
    return rows.map(toAudit);
  }

  watch(listener: (c: RecordChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Tells this node's listeners about a change (adapters that relay other nodes' writes call it too). */
  emit(change: RecordChange): void {
    for (const l of this.listeners) l(change);
  }

  close(): Promise<void> {
    this.listeners.clear();
    return this.opts.onClose?.() ?? Promise.resolve();
  }
}

function toRecord(r: ConfigRecordRow): StoredRecord {
  return { kind: r.kind, id: r.id, body: JSON.parse(r.body), version: toNumber(r.version), updatedAt: toNumber(r.updated_at) };
}

function toAudit(r: AuditRow): AuditEntry {
  return {
    seq: toNumber(r.seq), ts: toNumber(r.ts), actor: r.actor, action: r.action, target: r.target,
    details: JSON.parse(r.details), prevHash: r.prev_hash, hash: r.hash,
  };
}
