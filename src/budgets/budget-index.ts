/**
 * Budgets and overrides in memory, for admission on the hot path: loaded once, then kept current
 * from the ConfigStore's change notifications (a lowered budget or a granted override holds on
 * the next call). Also caches each budget's current window, so the calendar is computed once
 * per window rather than once per call.
 */
import type { CallFacts } from '../core/budget.js';
import { NANO, parseDecimal } from '../core/money.js';
import { METRIC_KIND, metricId, metricValues } from '../billing/metrics.js';
import type { ConfigStore, StoredRecord } from '../core/ports.js';
import { follow, type Follower } from '../config/follow.js';
import { BUDGET_KIND, OVERRIDE_KIND, RELEASE_KIND, budgetBodySchema, overrideBodySchema, toBudget, type Budget, type OverrideBody } from './model.js';
import { ScopeIndex } from './scope-index.js';
import { windowAt, type Calendar, type Window } from './windows.js';

export interface Covering {
  readonly budget: Budget;
  readonly window: Window;
  readonly member: string | null;
  /** The counter: "<budget>|<window start>|<member>". */
  readonly key: string;
}

export type Coverage = { readonly covering: Covering[]; readonly expired: Covering | null };

export const counterKey = (budget: string, windowStart: number, member: string | null): string => `${budget}|${windowStart}|${member ?? ''}`;

/** The parts of a counter key (a member may itself hold "|"). */
export function parseCounterKey(key: string): { budget: string; windowStart: number; member: string | null } {
  const a = key.indexOf('|');
  const b = key.indexOf('|', a + 1);
  const member = key.slice(b + 1);
  return { budget: key.slice(0, a), windowStart: Number(key.slice(a + 1, b)), member: member === '' ? null : member };
}

/** Members whose counters a budget keeps cached at most (see BudgetIndex.current). */
const MAX_CACHED_MEMBERS = 10_000;

/** A budget's current window, and its counters in it by member. */
type Current = { readonly window: Window; readonly byMember: Map<string | null, Covering> };

/** A budget as the scope index files it, with its current window: a call reads it there, with no lookup by budget. */
type Slot = { readonly budget: Budget; readonly scope: Budget['scope']; current: Current | null };

/** An approved override or release, its amount parsed once. */
type Grant = { id: string; body: OverrideBody; nano: bigint };

export class BudgetIndex {
  private budgets: Budget[] = [];
  /** Finds the budgets covering a call without matching every budget's scope. */
  private scopes = new ScopeIndex<Slot>([]);
  private readonly byId = new Map<string, Budget>();
  private readonly overrides = new Map<string, { id: string; body: OverrideBody }>();
  private readonly releases = new Map<string, { id: string; body: OverrideBody }>();
  /** Approved overrides and releases by budget, amounts parsed: what admission reads (the maps above keep every record, whatever its status). */
  private inForceOverrides = new Map<string, Grant[]>();
  private inForceReleases = new Map<string, Grant[]>();
  /** Business metrics fed through the API, "<metric>|<YYYY-MM>" -> department -> value: what budgets that are a share of one read. */
  private readonly metrics = new Map<string, ReadonlyMap<string, bigint>>();
  /**
   * Each budget's current window, and its counters in it by member: a call in the same window
   * reuses its Covering (no new objects or keys per call). A new window starts an empty map, and
   * a map of more members than MAX_CACHED_MEMBERS (a budget per agent run) starts over. Keyed by
   * the budget itself, so a changed budget (a new object) starts afresh.
   */
  private readonly current = new WeakMap<Budget, Current>();
  private follower: Follower | null = null;

  private constructor(
    private readonly calendar: Calendar,
    private readonly defaultCurrency: string,
  ) {}

  static async load(store: ConfigStore, calendar: Calendar, defaultCurrency: string, onError?: (err: unknown) => void): Promise<BudgetIndex> {
    const index = new BudgetIndex(calendar, defaultCurrency);
    index.follower = await follow(store, [BUDGET_KIND, OVERRIDE_KIND, RELEASE_KIND, METRIC_KIND], {
      put: (r) => index.put(r),
      remove: (kind, id) => {
        if (kind === BUDGET_KIND) {
          index.byId.delete(id);
        } else if (kind === METRIC_KIND) index.metrics.delete(id);
        else index.approvals(kind).delete(id);
      },
      clear: () => {
        index.byId.clear();
        index.overrides.clear();
        index.releases.clear();
        index.metrics.clear();
      },
      changed: () => index.rebuild(),
    }, onError);
    return index;
  }

  close(): void {
    this.follower?.stop();
  }

  get size(): number {
    return this.budgets.length;
  }

  get(id: string): Budget | undefined {
    return this.byId.get(id);
  }

  all(): readonly Budget[] {
    return this.budgets;
  }

  /** The window of a budget at `at`, computed once per window. */
  windowOf(b: Budget, at: number): Window {
    return this.currentAt(b, at).window;
  }

  private currentAt(b: Budget, at: number): Current {
    const cur = this.current.get(b);
    if (cur && at >= cur.window.start && at < cur.window.end) return cur;
    const window = windowAt(b.window, at, this.calendar);
    // A fixed range asked about outside itself is still the same window.
    if (cur && cur.window.start === window.start && cur.window.end === window.end) return cur;
    const next: Current = { window, byMember: new Map() };
    this.current.set(b, next);
    return next;
  }

  /** Every active budget covering a call, with its window, member and counter; and a covering budget that has expired. */
  covering(facts: CallFacts, at: number): Coverage {
    const covering: Covering[] = [];
    let expired: Covering | null = null;
    for (const slot of this.scopes.find(facts)) {
      const b = slot.budget;
      const member = b.per ? facts.dims[b.per] : null;
      if (b.per && member === null) continue;
      const c = this.counterOf(slot, at, member);
      const window = c.window;
      if ('from' in b.window) {
        if (at < window.start) continue;
        if (at >= window.end) {
          expired ??= c;
          continue;
        }
      }
      covering.push(c);
    }
    return { covering, expired };
  }

  private counterOf(slot: Slot, at: number, member: string | null): Covering {
    const b = slot.budget;
    let cur = slot.current;
    if (!cur || at < cur.window.start || at >= cur.window.end) cur = slot.current = this.currentAt(b, at);
    const { window, byMember } = cur;
    let c = byMember.get(member);
    if (c) return c;
    if (byMember.size >= MAX_CACHED_MEMBERS) byMember.clear();
    byMember.set(member, (c = { budget: b, window, member, key: counterKey(b.id, window.start, member) }));
    return c;
  }

  /** Whether any override is approved (most calls need not look). */
  get hasOverrides(): boolean {
    return this.inForceOverrides.size > 0;
  }

  /** Approved, unexpired overrides of a budget (for one member, or the whole budget). */
  activeOverrides(budget: string, member: string | null, at: number): Grant[] {
    return inForce(this.inForceOverrides.get(budget), member, at);
  }

  /** The part of a budget's reserve still held back for a member at `at`: the reserve less its approved, unexpired releases. */
  heldReserve(b: Budget, member: string | null, at: number): bigint {
    if (b.reserveNano === null) return 0n;
    let released = 0n;
    for (const r of inForce(this.inForceReleases.get(b.id), member, at)) released += r.nano;
    return released >= b.reserveNano ? 0n : b.reserveNano - released;
  }

  /**
   * The money limit of a budget that is a share of a metric, for the month `period` (YYYY-MM):
   * its percent of the metric summed over its departments; null while no value is fed for them.
   */
  shareLimit(b: Budget, period: string): bigint | null {
    const s = b.shareOf;
    const values = s ? this.metrics.get(metricId(s.metric, period)) : undefined;
    if (!s || !values || !s.departments.some((d) => values.has(d))) return null;
    const metric = s.departments.reduce((sum, d) => sum + (values.get(d) ?? 0n), 0n);
    return (metric * s.percentNano) / (100n * NANO);
  }

  releasesOf(budget: string): { id: string; body: OverrideBody }[] {
    return [...this.releases.values()].filter((o) => o.body.budget === budget);
  }

  private approvals(kind: string): Map<string, { id: string; body: OverrideBody }> {
    return kind === RELEASE_KIND ? this.releases : this.overrides;
  }

  overridesOf(budget: string): { id: string; body: OverrideBody }[] {
    return [...this.overrides.values()].filter((o) => o.body.budget === budget);
  }

  private put(r: StoredRecord): void {
    if (r.kind === BUDGET_KIND) {
      const body = budgetBodySchema.parse(r.body);
      if (body.status === 'active') this.byId.set(r.id, toBudget(body.spec, this.defaultCurrency));
    } else if (r.kind === METRIC_KIND) {
      this.metrics.set(r.id, metricValues(r.body));
    } else if (r.kind === OVERRIDE_KIND || r.kind === RELEASE_KIND) {
      this.approvals(r.kind).set(r.id, { id: r.id, body: overrideBodySchema.parse(r.body) });
    }
  }

  private rebuild(): void {
    this.budgets = [...this.byId.values()];
    this.scopes = new ScopeIndex(this.budgets.map((budget): Slot => ({ budget, scope: budget.scope, current: null })));
    this.inForceOverrides = approvedByBudget(this.overrides);
    this.inForceReleases = approvedByBudget(this.releases);
  }
}

function approvedByBudget(records: ReadonlyMap<string, { id: string; body: OverrideBody }>): Map<string, Grant[]> {
  const out = new Map<string, Grant[]>();
  for (const o of records.values()) {
    if (o.body.status !== 'approved') continue;
    const list = out.get(o.body.budget) ?? [];
    list.push({ ...o, nano: parseDecimal(o.body.amount) });
    out.set(o.body.budget, list);
  }
  return out;
}

/** The grants of one budget still in force at `at` for a member (a grant without a member covers all). */
function inForce(grants: readonly Grant[] | undefined, member: string | null, at: number): Grant[] {
  return (grants ?? []).filter((g) => g.body.expires_at > at && (g.body.member === null || g.body.member === member));
}
