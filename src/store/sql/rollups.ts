/**
 * What the append transaction derives from the lines it adds, kept in the same transaction so
 * it can never disagree with them (a replayed line is skipped, so it is never summed twice):
 *
 * - Daily rollups: one row per UTC day and combination of the dimensions reports group by.
 *   Reports over whole days read the rollups; the partial days at the edges of a range, and
 *   groupings the rollups do not keep (tags, agent runs), read the lines. Absent dimensions
 *   are stored as '' and read back as null.
 * - Budget totals: what the lines charged each budget counter, so rebuilding the counters
 *   (at start, or when Redis lost them) reads a few rows instead of a month of lines.
 */
import { sql, type RawBuilder } from 'kysely';
import type { Dimension } from '../../core/dimensions.js';
import type { LedgerLine, UsageGroup, UsageQuery, UsageRow } from '../../core/ledger.js';
import type { CounterAmount } from '../../core/ports.js';
import { toBigInt, toNumber, usageRow } from './columns.js';
import type { Db, SqlDialect } from './dialect.js';

/** The dimensions a rollup row keeps (agent runs are too many, and stay in the lines). */
export const ROLLUP_DIMS = [
  'department', 'cost_centre', 'team', 'project', 'project_code', 'user', 'user_group', 'application', 'workflow', 'agent',
  'environment', 'data_class', 'route', 'tier', 'provider', 'model', 'requested_model', 'fallback_model', 'key', 'budget_owner', 'budget_category',
] as const satisfies readonly Dimension[];

const ROLLUP_EXTRA = ['status', 'endpoint', 'source', 'currency'] as const;
/** The columns that make a rollup row's identity, also joined into its key column `k`. */
export const ROLLUP_KEY_COLUMNS = ['day', ...ROLLUP_DIMS, ...ROLLUP_EXTRA] as const;
export const ROLLUP_SUM_COLUMNS = ['requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'cost_nano', 'org_cost_nano', 'estimated'] as const;
/** Every column of a rollup row, in the order rollupValues gives them. */
export const ROLLUP_COLUMNS = ['k', ...ROLLUP_KEY_COLUMNS, ...ROLLUP_SUM_COLUMNS] as const;

export const ROLLUP_TABLE = 'ledger_rollups';
export const TOTALS_TABLE = 'budget_totals';
export const TOTALS_COLUMNS = ['key', 'nano', 'tokens', 'requests'] as const;
const DAY = 86_400_000;

export const dayOf = (ts: number): string => new Date(ts - (((ts % DAY) + DAY) % DAY)).toISOString().slice(0, 10);

type Sums = [requests: number, input: number, cachedInput: number, cacheWrite: number, output: number, reasoning: number, cost: bigint, orgCost: bigint, estimated: number];

/** Sums lines into rollup rows, one per day and combination: each row's values in ROLLUP_COLUMNS order. */
export function rollupValues(lines: readonly LedgerLine[]): (string | number | bigint)[][] {
  const rows = new Map<string, { key: string[]; sums: Sums }>();
  for (const l of lines) {
    const d = l.dims;
    const key = [dayOf(l.ts)];
    for (const dim of ROLLUP_DIMS) key.push(d[dim] ?? '');
    key.push(l.status, l.endpoint ?? '', l.source, l.currency);
    const k = key.join('\u0001');
    let r = rows.get(k);
    if (!r) rows.set(k, (r = { key, sums: [0, 0, 0, 0, 0, 0, 0n, 0n, 0] }));
    const s = r.sums;
    const t = l.tokens;
    s[0]++;
    s[1] += t.input;
    s[2] += t.cached_input;
    s[3] += t.cache_write;
    s[4] += t.output;
    s[5] += t.reasoning;
    s[6] += l.costNano;
    s[7] += l.orgCostNano;
    if (!l.usageExact) s[8]++;
  }
  return [...rows].map(([k, r]) => [k, ...r.key, ...r.sums]);
}

/** What lines charged each budget counter: [key, nano, tokens, requests] per counter. */
export function totalsValues(lines: readonly LedgerLine[]): [string, bigint, number, number][] {
  const out = new Map<string, [string, bigint, number, number]>();
  for (const l of lines) {
    if (!l.budgetCharges) continue;
    const t = l.tokens;
    const tokens = t.input + t.cached_input + t.cache_write + t.output + t.reasoning;
    for (const c of l.budgetCharges) {
      const cur = out.get(c.key);
      if (cur) {
        cur[1] += c.nano;
        cur[2] += tokens;
        cur[3] += 1;
      } else out.set(c.key, [c.key, c.nano, tokens, 1]);
    }
  }
  return [...out.values()];
}

/** The SET clause of an upsert that adds the new row's sums to the stored ones. */
export function addOnConflict(table: string, columns: readonly string[]): string {
  return columns.map((c) => `"${c}" = ${table}."${c}" + excluded."${c}"`).join(', ');
}

/** Adds what `lines` derive to the rollups and budget totals (in the caller's transaction). */
export async function addDerived(db: Db, lines: readonly LedgerLine[]): Promise<void> {
  const chunks = <T>(rows: readonly T[], n: number): T[][] => Array.from({ length: Math.ceil(rows.length / n) }, (_, i) => rows.slice(i * n, i * n + n));
  const upsert = async (table: string, columns: readonly string[], rows: readonly (readonly unknown[])[], sums: readonly string[]) => {
    for (const chunk of chunks(rows, 200)) {
      await sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))})
        values ${sql.join(chunk.map((r) => sql`(${sql.join(r)})`))}
        on conflict (${sql.ref(columns[0]!)}) do update set ${sql.raw(addOnConflict(table, sums))}`.execute(db);
    }
  };
  await upsert(ROLLUP_TABLE, ROLLUP_COLUMNS, rollupValues(lines), ROLLUP_SUM_COLUMNS);
  await upsert(TOTALS_TABLE, TOTALS_COLUMNS, totalsValues(lines), TOTALS_COLUMNS.slice(1));
}

/** Creates the rollup and budget-totals tables (migration 0003); the caller backfills them. */
export async function createDerivedTables(db: Db, d: SqlDialect): Promise<void> {
  const bigint = sql.raw(d.columnType('bigint'));
  let t = db.schema.createTable(ROLLUP_TABLE).ifNotExists().addColumn('k', 'text', (b) => b.primaryKey());
  for (const c of ROLLUP_KEY_COLUMNS) t = t.addColumn(c, 'text', (b) => b.notNull());
  for (const c of ROLLUP_SUM_COLUMNS) t = t.addColumn(c, bigint, (b) => b.notNull());
  await t.execute();
  await db.schema.createIndex(`${ROLLUP_TABLE}_day`).ifNotExists().on(ROLLUP_TABLE).column('day').execute();
  // Keys are compared byte by byte (prefix ranges), whatever the database's collation.
  await db.schema
    .createTable(TOTALS_TABLE)
    .ifNotExists()
    .addColumn('key', sql.raw(d.name === 'postgres' ? 'text collate "C"' : 'text'), (b) => b.primaryKey())
    .addColumn('nano', bigint, (b) => b.notNull())
    .addColumn('tokens', bigint, (b) => b.notNull())
    .addColumn('requests', bigint, (b) => b.notNull())
    .execute();
  if (d.name === 'postgres') {
    // Every batch adds to rows in place. Half-empty pages let PostgreSQL update them where they
    // are (HOT: no new index entries, dead versions pruned on the page) instead of bloating the
    // table and its indexes with a dead version per batch; and vacuum them soon after.
    for (const table of [ROLLUP_TABLE, TOTALS_TABLE]) {
      await sql`alter table ${sql.table(table)} set (fillfactor = 50, autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.05)`.execute(db);
    }
  }
}

/** The first string after every string that starts with `prefix` (byte order). */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

/** Reads the budget totals under some prefixes (in the caller's transaction, for a snapshot). */
export async function readTotals(db: Db, prefixes: readonly string[]): Promise<CounterAmount[]> {
  const out: CounterAmount[] = [];
  for (const p of new Set(prefixes)) {
    const range = p === '' ? sql`` : sql`where ${sql.ref('key')} >= ${p} and ${sql.ref('key')} < ${prefixEnd(p)}`;
    const { rows } = await sql<Record<string, unknown>>`select * from ${sql.table(TOTALS_TABLE)} ${range}`.execute(db);
    for (const r of rows) out.push({ key: String(r.key), nano: toBigInt(r.nano), tokens: toNumber(r.tokens), requests: toNumber(r.requests) });
  }
  return out;
}

const ROLLUP_GROUPS: ReadonlySet<string> = new Set([...ROLLUP_DIMS, ...ROLLUP_EXTRA, 'day', 'month']);

/** Whether a query's groups and filters are all kept by the rollups. */
export function rollupCanServe(q: UsageQuery): boolean {
  return q.groupBy.every((g) => ROLLUP_GROUPS.has(g)) && Object.keys(q.where ?? {}).every((k) => ROLLUP_GROUPS.has(k));
}

/** The whole UTC days inside [from, to), or null if there are none. */
export function wholeDays(from: number, to: number): { first: number; end: number } | null {
  const first = Math.ceil(from / DAY) * DAY;
  const end = Math.floor(to / DAY) * DAY;
  return end > first ? { first, end } : null;
}

function rollupGroup(g: UsageGroup): RawBuilder<unknown> {
  return g === 'month' ? sql`substr(${sql.ref('day')}, 1, 7)` : sql.ref(g);
}

/** A usage query over whole days [first, end), from the rollups. */
export async function aggregateRollups(db: Db, q: UsageQuery, first: number, end: number): Promise<UsageRow[]> {
  let query = db.selectFrom(ROLLUP_TABLE as never).where(sql.ref('day'), '>=', dayOf(first)).where(sql.ref('day'), '<', dayOf(end));
  for (const [dim, values] of Object.entries(q.where ?? {})) {
    if (!values || values.length === 0) return [];
    query = query.where(sql.ref(dim), 'in', [...values]);
  }
  const groups = q.groupBy.map(rollupGroup);
  const rows = (await query
    .select([
      ...groups.map((g, i) => g.as(`g${i}`)),
      sql.ref('currency').as('currency'),
      ...ROLLUP_SUM_COLUMNS.map((c) => sql`sum(${sql.ref(c)})`.as(c)),
    ] as never)
    .groupBy([...groups, sql.ref('currency')] as never)
    .execute()) as Record<string, unknown>[];
  return rows.map((r) => usageRow(r, q.groupBy, true));
}

/** Adds up rows of the same group (the rollup days and the raw edges of one report), dearest first. */
export function mergeRows(parts: readonly (readonly UsageRow[])[], groupBy: readonly string[]): UsageRow[] {
  const out = new Map<string, UsageRow>();
  for (const rows of parts) {
    for (const r of rows) {
      const k = [...groupBy.map((g) => r.group[g] ?? '\u0000'), r.currency].join('\u0001');
      const cur = out.get(k);
      if (!cur) {
        out.set(k, r);
        continue;
      }
      const a = cur.tokens;
      const b = r.tokens;
      out.set(k, {
        group: cur.group,
        currency: cur.currency,
        requests: cur.requests + r.requests,
        tokens: {
          input: a.input + b.input, cached_input: a.cached_input + b.cached_input, cache_write: a.cache_write + b.cache_write,
          output: a.output + b.output, reasoning: a.reasoning + b.reasoning,
        },
        costNano: cur.costNano + r.costNano,
        estimatedLines: cur.estimatedLines + r.estimatedLines,
      });
    }
  }
  return [...out.values()].sort((x, y) => (y.costNano > x.costNano ? 1 : y.costNano < x.costNano ? -1 : 0));
}
