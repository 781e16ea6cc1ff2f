/**
 * Where spend concentrates, and what is paid for but unused.
 *
 * - Concentration: the share of a period's gateway spend that the top few percent of users,
 *   workflows or keys create, who they are, and the habits behind it: long prompts (average
 *   input tokens per call) and the share of their spend on the strongest tier of a route.
 * - Unused subscriptions: imported seats (kind `seat`) that no one used through the gateway in
 *   the period: a seat line for a user with no calls, or a department's seats beyond its users
 *   who made calls.
 */
import { assertRole, type Actor } from '../access/actor.js';
import { BursarError } from '../core/errors.js';
import { decimalText, NANO, percentText } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import { reportQuery } from './usage.js';

const CONCENTRATION_BY = ['user', 'workflow', 'key', 'agent', 'project', 'application'] as const;

export interface ConcentrationReport {
  readonly from: string;
  readonly to: string;
  readonly by: string;
  readonly currency: string;
  readonly members: number;
  readonly top_percent: number;
  readonly top_count: number;
  readonly total: string;
  readonly top_total: string;
  /** The top members' share of the spend, in percent (two decimals). */
  readonly top_share_percent: string;
  readonly top: readonly { name: string; cost: string; share_percent: string; calls: number; avg_input_tokens: number; premium_share_percent: string }[];
}

const pct = (part: bigint, whole: bigint) => percentText(part, whole) ?? '0.00';

export async function concentration(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, now = new Date()): Promise<ConcentrationReport[]> {
  assertRole(actor, ['admin', 'finance'], 'read spend concentration');
  const { by: byRaw, top_percent: topRaw, ...rest } = query as { by?: string; top_percent?: string };
  const by = byRaw ?? 'user';
  if (!(CONCENTRATION_BY as readonly string[]).includes(by)) throw new BursarError('validation_failed', `by: use one of ${CONCENTRATION_BY.join(', ')}.`, { param: 'by' });
  const topPercent = topRaw === undefined ? 5 : Number(topRaw);
  if (!Number.isFinite(topPercent) || topPercent <= 0 || topPercent > 100) throw new BursarError('validation_failed', 'top_percent: a number above 0 and at most 100, e.g. 5.', { param: 'top_percent' });
  const { from, to } = reportQuery(rest, now);
  const rows = (await ledger.aggregate({ from, to, groupBy: [by as 'user', 'source', 'tier'] })).filter((r) => r.group.source === 'gateway' && r.group[by] !== null);
  const byCurrency = new Map<string, Map<string, { cost: bigint; calls: number; input: number; premium: bigint }>>();
  for (const r of rows) {
    let m = byCurrency.get(r.currency);
    if (!m) byCurrency.set(r.currency, (m = new Map()));
    const name = String(r.group[by]);
    const e = m.get(name) ?? { cost: 0n, calls: 0, input: 0, premium: 0n };
    e.cost += r.costNano;
    e.calls += r.requests;
    e.input += r.tokens.input + r.tokens.cached_input + r.tokens.cache_write;
    if (r.group.tier === 'premium') e.premium += r.costNano;
    m.set(name, e);
  }
  return [...byCurrency].sort(([a], [b]) => a.localeCompare(b)).map(([currency, m]) => {
    const all = [...m].sort(([an, a], [bn, b]) => (b.cost > a.cost ? 1 : b.cost < a.cost ? -1 : an.localeCompare(bn)));
    const total = all.reduce((s, [, e]) => s + e.cost, 0n);
    const count = Math.max(1, Math.ceil((all.length * topPercent) / 100));
    const top = all.slice(0, count);
    const topTotal = top.reduce((s, [, e]) => s + e.cost, 0n);
    return {
      from: new Date(from).toISOString(), to: new Date(to).toISOString(), by, currency, members: all.length, top_percent: topPercent, top_count: top.length,
      total: decimalText(total), top_total: decimalText(topTotal), top_share_percent: pct(topTotal, total),
      top: top.map(([name, e]) => ({ name, cost: decimalText(e.cost), share_percent: pct(e.cost, total), calls: e.calls, avg_input_tokens: e.calls ? Math.round(e.input / e.calls) : 0, premium_share_percent: pct(e.premium, e.cost) })),
    };
  });
}

export interface UnusedSeat {
  readonly line: string;
  readonly description: string | null;
  readonly department: string | null;
  readonly user: string | null;
  /** Seats on the line, and how many of them no one used. */
  readonly seats: string;
  readonly unused: string;
  /** The line's cost, and the unused seats' share of it. */
  readonly cost: string;
  readonly unused_cost: string;
  readonly currency: string;
}

/** Seats imported for a period that no call in it used. */
export async function unusedSeats(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, now = new Date()): Promise<UnusedSeat[]> {
  assertRole(actor, ['admin', 'finance'], 'read unused subscriptions');
  const { from, to } = reportQuery(query, now);
  const active = new Map<string, Set<string>>(); // department -> users with calls
  const activeUsers = new Set<string>();
  for (const r of await ledger.aggregate({ from, to, groupBy: ['source', 'department', 'user'] })) {
    if (r.group.source !== 'gateway' || !r.group.user || r.requests === 0) continue;
    activeUsers.add(r.group.user);
    const d = r.group.department ?? '';
    (active.get(d) ?? active.set(d, new Set()).get(d)!).add(r.group.user);
  }
  const out: UnusedSeat[] = [];
  for await (const l of ledger.scan({ from, to })) {
    if (l.source !== 'import' || l.endpoint !== 'seat') continue;
    const seats = l.quantityNano ?? NANO;
    let unused: bigint;
    if (l.dims.user) unused = activeUsers.has(l.dims.user) ? 0n : seats;
    else {
      const used = BigInt(active.get(l.dims.department ?? '')?.size ?? 0) * NANO;
      unused = seats > used ? seats - used : 0n;
    }
    if (unused === 0n) continue;
    out.push({
      line: l.id, description: l.description, department: l.dims.department, user: l.dims.user, seats: decimalText(seats), unused: decimalText(unused),
      cost: decimalText(l.costNano), unused_cost: decimalText((l.costNano * unused) / seats), currency: l.currency,
    });
  }
  return out;
}
