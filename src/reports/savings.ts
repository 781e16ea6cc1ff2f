/**
 * The savings report: what routing saved against the models the calls asked for. Every routed
 * line carries its baseline (its tokens priced on the model it asked for: the model named, or
 * the route's tier before a downgrade) beside its actual cost, both in the organisation's
 * currency; grouped by route, tier and downgrade, the differences are what each route and each
 * rung of its ladder saved. A fallback to a dearer model shows as a negative saving. Response-cache
 * hits cost nothing: their whole baseline is saved, and `cache_avoided` says how much of that
 * the cache saved (what the kept answers would have cost on the models that made them).
 */
import { BursarError } from '../core/errors.js';
import { DIMENSIONS, isDimension, type Dimension } from '../core/dimensions.js';
import { decimalText } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import { visibleDepartments, visibleUser, type Actor } from '../access/actor.js';
import { reportQuery } from './usage.js';

export const SAVINGS_DEFAULT_GROUPS: readonly Dimension[] = ['route', 'tier', 'downgraded_from', 'baseline_model', 'model'];

export interface SavingsRow {
  readonly group: Readonly<Record<string, string | null>>;
  readonly requests: number;
  /** What the calls cost, what they would have cost on the models asked for, and the difference: exact decimals in `currency`. */
  readonly cost: string;
  readonly baseline: string;
  readonly saved: string;
  /** Calls answered from the response cache, and what they would have cost on the models that made the kept answers. */
  readonly cache_hits: number;
  readonly cache_avoided: string;
}

export interface SavingsReport {
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  readonly group_by: readonly string[];
  readonly rows: readonly SavingsRow[];
  readonly total: Omit<SavingsRow, 'group'>;
}

type Sum = { group: Record<string, string | null>; requests: number; cost: bigint; baseline: bigint; hits: number; avoided: bigint };

const rowOf = (s: Omit<Sum, 'group'>) => ({
  requests: s.requests, cost: decimalText(s.cost), baseline: decimalText(s.baseline), saved: decimalText(s.baseline - s.cost), cache_hits: s.hits, cache_avoided: decimalText(s.avoided),
});

export async function savingsReport(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, orgCurrency: string, now = new Date()): Promise<SavingsReport> {
  const { from, to, groupBy: groupText } = reportQuery(query, now);
  const groupBy = groupText ? groupText.split(',').map((s) => s.trim()).filter(Boolean) : SAVINGS_DEFAULT_GROUPS;
  for (const g of groupBy) {
    if (!isDimension(g)) throw new BursarError('validation_failed', `Cannot group savings by "${g}". Use any of: ${DIMENSIONS.join(', ')}.`, { param: 'group_by' });
  }

  // Served by the summary rollup where it can (a member's own view reads their lines).
  const where: Partial<Record<Dimension, readonly string[]>> = {};
  const depts = visibleDepartments(actor);
  if (depts) where.department = depts;
  const user = visibleUser(actor);
  if (user) where.user = [user];
  const sums = new Map<string, Sum>();
  const total = { requests: 0, cost: 0n, baseline: 0n, hits: 0, avoided: 0n };
  for (const r of await ledger.aggregate({ from, to, groupBy: groupBy as Dimension[], where, routing: true })) {
    const x = r.routing;
    if (!x || x.routed === 0) continue;
    // Rows come per line currency; the sums are all in the organisation's.
    const k = JSON.stringify(r.group);
    let s = sums.get(k);
    if (!s) sums.set(k, (s = { group: { ...r.group }, requests: 0, cost: 0n, baseline: 0n, hits: 0, avoided: 0n }));
    for (const t of [s, total]) {
      t.requests += x.routed;
      t.cost += x.costNano;
      t.baseline += x.baselineNano;
      t.hits += x.cacheHits;
      t.avoided += x.avoidedNano;
    }
  }
  const rows = [...sums.values()].sort((a, b) => (b.baseline - b.cost > a.baseline - a.cost ? 1 : b.baseline - b.cost < a.baseline - a.cost ? -1 : 0));
  return {
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    currency: orgCurrency,
    group_by: groupBy,
    rows: rows.map((s) => ({ group: s.group, ...rowOf(s) })),
    total: rowOf(total),
  };
}
