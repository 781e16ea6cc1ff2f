/**
 * Moves an embedded installation to PostgreSQL: config records, the audit log (same sequence
 * numbers and hashes, so the chain still verifies), budget events and every ledger line (with
 * their rollups and budget totals, derived again as they are appended). Safe to run again after
 * an interruption: lines and events already there are skipped, and config and audit are copied
 * in one transaction or not at all. Then both sides are compared, and any difference fails.
 */
import { sql } from 'kysely';
import { verifyChain } from '../core/audit.js';
import type { LedgerLine } from '../core/ledger.js';
import type { AuditEntry } from '../core/ports.js';
import { toNumber } from './sql/columns.js';
import type { SqlStores } from './sql/stores.js';

export interface CopyReport {
  readonly configRecords: number;
  readonly auditEntries: number;
  readonly events: number;
  readonly lines: number;
  readonly linesAdded: number;
  /** Per currency: lines and total cost (nano), the same on both sides. */
  readonly totals: Readonly<Record<string, { lines: number; costNano: string }>>;
}

export class CopyError extends Error {
  override readonly name = 'CopyError';
}

const PAGE = 5000;

export async function copyStores(from: SqlStores, to: SqlStores, progress: (lines: number) => void = () => {}): Promise<CopyReport> {
  const { configRecords, auditEntries } = await copyConfigAndAudit(from, to);
  const events = await copyEvents(from, to);
  let lines = 0;
  let linesAdded = 0;
  let page: LedgerLine[] = [];
  const flush = async () => {
    linesAdded += (await to.ledger.append(page)).added.length;
    lines += page.length;
    page = [];
    progress(lines);
  };
  for await (const l of from.ledger.scan({ from: Number.MIN_SAFE_INTEGER, to: Number.MAX_SAFE_INTEGER })) {
    page.push(l);
    if (page.length === PAGE) await flush();
  }
  if (page.length) await flush();

  const [a, b] = [await ledgerTotals(from), await ledgerTotals(to)];
  if (JSON.stringify(a) !== JSON.stringify(b)) throw new CopyError(`after the copy the ledgers differ: source ${JSON.stringify(a)}, PostgreSQL ${JSON.stringify(b)}; the target already held other lines?`);
  const check = verifyChain(await allAudit(to));
  if (!check.ok) throw new CopyError(`the audit chain on PostgreSQL does not verify (at entry ${check.brokenAt}); nothing was changed at the source`);
  return { configRecords, auditEntries, events, lines, linesAdded, totals: a };
}

/** Config records and audit log together, in one transaction; skipped when the target already holds this same chain. */
async function copyConfigAndAudit(from: SqlStores, to: SqlStores): Promise<{ configRecords: number; auditEntries: number }> {
  const records = await from.db.selectFrom('config_records').selectAll().orderBy('kind').orderBy('id').execute();
  const audit = await from.db.selectFrom('audit_log').selectAll().orderBy('seq').execute();
  const head = await to.db.selectFrom('audit_log').select(['seq', 'hash']).orderBy('seq', 'desc').limit(1).executeTakeFirst();
  const targetRecords = await to.db.selectFrom('config_records').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow();
  if (head || toNumber(targetRecords.n) > 0) {
    const last = audit[audit.length - 1];
    if (head && last && toNumber(head.seq) === toNumber(last.seq) && head.hash === last.hash) return { configRecords: records.length, auditEntries: audit.length };
    throw new CopyError('the PostgreSQL database already holds config records or audit entries of another installation; copy into an empty database (or another BURSAR_DATABASE_SCHEMA)');
  }
  await to.db.transaction().execute(async (trx) => {
    for (let i = 0; i < records.length; i += 500) await trx.insertInto('config_records').values(records.slice(i, i + 500)).execute();
    for (let i = 0; i < audit.length; i += 500) await trx.insertInto('audit_log').values(audit.slice(i, i + 500)).execute();
  });
  return { configRecords: records.length, auditEntries: audit.length };
}

/** Budget events and outcomes, each once by id. */
async function copyEvents(from: SqlStores, to: SqlStores): Promise<number> {
  let n = 0;
  for (const table of ['budget_events', 'outcomes'] as const) {
    const rows = await from.db.selectFrom(table).selectAll().execute();
    for (let i = 0; i < rows.length; i += 500) {
      await to.db.insertInto(table).values(rows.slice(i, i + 500) as never).onConflict((oc) => oc.column('id').doNothing()).execute();
    }
    if (table === 'budget_events') n = rows.length;
  }
  return n;
}

async function ledgerTotals(s: SqlStores): Promise<Record<string, { lines: number; costNano: string }>> {
  const { rows } = await sql<{ currency: string; n: unknown; cost: unknown }>`select currency, count(*) as n, sum(cost_nano) as cost from ledger_lines group by currency order by currency`.execute(s.db);
  return Object.fromEntries(rows.map((r) => [r.currency, { lines: toNumber(r.n), costNano: String(r.cost) }]));
}

async function allAudit(s: SqlStores): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  let after = 0;
  for (;;) {
    const page = await s.config.audit({ afterSeq: after, limit: 1000 });
    out.push(...page);
    if (page.length < 1000) return out;
    after = page[page.length - 1]!.seq;
  }
}
