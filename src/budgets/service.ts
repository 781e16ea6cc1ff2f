/**
 * Budgets through the admin API and CLI, and from bursar.yaml: create, change and remove
 * budgets; request, approve, deny overrides; graduate a sandbox; read a budget's status. Every
 * change is one audited ConfigStore write. At start, the counters are rebuilt from the ledger.
 */
import { inScope, projectToEnd, thresholdsReached, type CallFacts } from '../core/budget.js';
import { emptyDims } from '../core/dimensions.js';
import { BursarError } from '../core/errors.js';
import type { FxTable } from '../core/fx.js';
import { decimalText, formatAmount, parseDecimal } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { BudgetCounters, BudgetTotals, ConfigStore, EventLog, LedgerStore } from '../core/ports.js';
import { assertRole, canSee, type Actor } from '../access/actor.js';
import { BudgetRaises } from './raises.js';
import { counterKey, parseCounterKey, type BudgetIndex } from './budget-index.js';
import type { BudgetGuard } from './guard.js';
import { BUDGET_KIND, OVERRIDE_KIND, RELEASE_KIND, budgetBodySchema, budgetSpecSchema, toBudget, type Budget, type BudgetBody, type BudgetSpec } from './model.js';
import { previousWindow, windowAt, type Calendar } from './windows.js';

export interface BudgetServiceDeps {
  readonly store: ConfigStore;
  readonly index: BudgetIndex;
  readonly guard: BudgetGuard;
  readonly counters: BudgetCounters;
  readonly events: EventLog;
  readonly org: OrgTree;
  readonly fx: FxTable;
  readonly calendar: Calendar;
  readonly orgCurrency: string;
}

export class BudgetService {
  /** Overrides and reserve releases: requested, decided, listed (raises.ts). */
  readonly raises: BudgetRaises;

  constructor(private readonly d: BudgetServiceDeps) {
    this.raises = new BudgetRaises({
      store: d.store, index: d.index, events: d.events, calendar: d.calendar,
      visible: async (id, actor) => (await this.get(id, actor)).budget,
      canSee: (actor, b) => this.canSee(actor, b),
    });
  }

  // ------------------------------------------------------------ who may see and change a budget

  /** Admins and finance see every budget; a manager those scoped to their department; a member those that cover them. */
  canSee(actor: Actor, b: Budget): boolean {
    if (actor.role === 'admin' || actor.role === 'finance') return true;
    if (actor.user !== null && b.owner === actor.user) return true;
    if (actor.role === 'manager') return this.departmentsOf(b).includes(actor.department ?? '\u0000');
    if (actor.role === 'member' && actor.user) return inScope(b.scope, this.factsOfUser(actor.user));
    return false;
  }

  private canManage(actor: Actor, spec: BudgetSpec): boolean {
    if (actor.role === 'admin' || actor.role === 'finance') return true;
    const depts = this.departmentsOf(toBudget(spec, this.d.orgCurrency));
    return actor.role === 'manager' && depts.length > 0 && depts.every((d) => d === actor.department);
  }

  /** The departments a budget's scope lies within, from its department, cost centre, team, project or user conditions. */
  departmentsOf(b: Budget): string[] {
    const org = this.d.org;
    const out = new Set<string>();
    for (const [key, m] of b.scope) {
      if (!('any' in m)) continue;
      for (const v of m.any) {
        const d =
          key === 'department' ? v
          : key === 'cost_centre' ? [...org.departments.values()].find((x) => x.costCentre === v)?.id
          : key === 'team' ? org.teams.get(v)?.department
          : key === 'project' ? org.projects.get(v)?.department
          : key === 'user' ? org.users.get(v)?.department
          : undefined;
        if (d) out.add(d);
      }
    }
    return [...out];
  }

  private factsOfUser(userId: string): CallFacts {
    const u = this.d.org.users.get(userId);
    const dims = emptyDims();
    dims.user = userId;
    dims.department = u?.department ?? null;
    dims.team = u?.team ?? null;
    return { dims, tags: null, groups: u?.groups ?? [] };
  }

  // ------------------------------------------------------------ budgets

  async list(actor: Actor): Promise<Budget[]> {
    return this.d.index.all().filter((b) => this.canSee(actor, b));
  }

  async get(id: string, actor: Actor): Promise<{ budget: Budget; body: BudgetBody; version: number }> {
    const r = await this.d.store.get(BUDGET_KIND, id);
    const body = r ? budgetBodySchema.parse(r.body) : undefined;
    const budget = body ? toBudget(body.spec, this.d.orgCurrency) : undefined;
    if (!r || !body || !budget || !this.canSee(actor, budget)) throw new BursarError('not_found', `No budget "${id}" that you can see; list them with \`bursar budgets list\`.`);
    return { budget, body, version: r.version };
  }

  async create(input: unknown, actor: Actor): Promise<Budget> {
    // The role first: a member learns nothing from a badly formed request.
    assertRole(actor, ['admin', 'finance', 'manager'], 'create budgets');
    const spec = this.validate(input);
    if (!this.canManage(actor, spec)) throw new BursarError('forbidden', `The ${actor.role} role cannot create this budget; a manager may create budgets scoped to their own department.`);
    if (await this.d.store.get(BUDGET_KIND, spec.id)) throw new BursarError('conflict', `Budget "${spec.id}" exists; change it with PUT /admin/v1/budgets/${spec.id}, or choose another id.`);
    await this.d.store.write(
      { kind: BUDGET_KIND, id: spec.id, body: { spec, managed_by: 'api', status: 'active', graduated_to: null }, expectVersion: 0 },
      { actor: actor.label, action: 'budget.create', target: `budget:${spec.id}`, details: { spec } },
    );
    return toBudget(spec, this.d.orgCurrency);
  }

  async update(id: string, input: unknown, actor: Actor): Promise<Budget> {
    const current = await this.get(id, actor);
    if (current.body.managed_by === 'config') throw new BursarError('conflict', `Budget "${id}" is declared in bursar.yaml; change it there.`);
    const spec = this.validate({ ...(input as object), id });
    if (!this.canManage(actor, spec) || !this.canManage(actor, current.body.spec)) throw new BursarError('forbidden', `The ${actor.role} role cannot change budget "${id}".`);
    await this.d.store.write(
      { kind: BUDGET_KIND, id, body: { ...current.body, spec }, expectVersion: current.version },
      { actor: actor.label, action: 'budget.update', target: `budget:${id}`, details: { before: current.body.spec, after: spec } },
    );
    return toBudget(spec, this.d.orgCurrency);
  }

  async remove(id: string, actor: Actor): Promise<void> {
    const current = await this.get(id, actor);
    if (current.body.managed_by === 'config') throw new BursarError('conflict', `Budget "${id}" is declared in bursar.yaml; remove it there.`);
    if (!this.canManage(actor, current.body.spec)) throw new BursarError('forbidden', `The ${actor.role} role cannot remove budget "${id}".`);
    await this.d.store.write({ kind: BUDGET_KIND, id, body: null, expectVersion: current.version }, { actor: actor.label, action: 'budget.remove', target: `budget:${id}`, details: {} });
  }

  /** Validates a spec against the schema and the org tree; errors name the field. */
  validate(input: unknown): BudgetSpec {
    const r = budgetSpecSchema.safeParse(input);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new BursarError('validation_failed', `${i.path.join('.') || 'budget'}: ${i.message}`, { param: i.path.join('.') });
    }
    const spec = r.data;
    if (spec.owner && !this.d.org.users.has(spec.owner)) throw new BursarError('validation_failed', `owner: "${spec.owner}" is not a user in bursar.yaml.`, { param: 'owner' });
    const lists = { department: this.d.org.departments, team: this.d.org.teams, project: this.d.org.projects, user: this.d.org.users } as const;
    for (const [dim, known] of Object.entries(lists)) {
      const m = spec.scope[dim];
      if (m === undefined) continue;
      for (const v of typeof m === 'string' ? [m] : Array.isArray(m) ? m : m.not) {
        if (!known.has(v)) throw new BursarError('validation_failed', `scope.${dim}: "${v}" is not a ${dim} in bursar.yaml.`, { param: `scope.${dim}` });
      }
    }
    const cur = spec.limit.currency;
    if (cur && !this.d.fx.has('USD', cur, Date.now())) throw new BursarError('validation_failed', `limit.currency: no FX rate converts USD prices to ${cur}; add one under fx: in bursar.yaml.`, { param: 'limit.currency' });
    return spec;
  }

  /** Applies bursar.yaml's budgets: adds, changes and removes config-managed budgets so the store matches the file. */
  async applyConfig(specs: readonly BudgetSpec[]): Promise<{ added: number; changed: number; removed: number }> {
    const stored = new Map((await this.d.store.list(BUDGET_KIND)).map((r) => [r.id, { r, body: budgetBodySchema.parse(r.body) }]));
    let added = 0;
    let changed = 0;
    let removed = 0;
    for (const spec of specs) {
      const cur = stored.get(spec.id);
      if (cur && cur.body.managed_by === 'api') {
        throw new BursarError('conflict', `Budget "${spec.id}" in bursar.yaml was created through the API; remove it there first, or choose another id.`);
      }
      if (cur && JSON.stringify(cur.body.spec) === JSON.stringify(spec)) continue;
      const body: BudgetBody = { spec, managed_by: 'config', status: cur?.body.status ?? 'active', graduated_to: cur?.body.graduated_to ?? null };
      await this.d.store.write(
        { kind: BUDGET_KIND, id: spec.id, body, expectVersion: cur?.r.version ?? 0 },
        { actor: 'config', action: cur ? 'budget.update' : 'budget.create', target: `budget:${spec.id}`, details: cur ? { before: cur.body.spec, after: spec } : { spec } },
      );
      if (cur) changed++;
      else added++;
    }
    const declared = new Set(specs.map((s) => s.id));
    for (const [id, { r, body }] of stored) {
      if (body.managed_by !== 'config' || declared.has(id)) continue;
      await this.d.store.write({ kind: BUDGET_KIND, id, body: null, expectVersion: r.version }, { actor: 'config', action: 'budget.remove', target: `budget:${id}`, details: {} });
      removed++;
    }
    return { added, changed, removed };
  }

  // ------------------------------------------------------------ forecasts

  /**
   * For each budget with a money limit and a calendar window (and each member of a per-member
   * one): its spend at the end of the window at the velocity so far, and an event (once per
   * window and member) when that passes the limit, naming the day it will. Only once a tenth of
   * the window (at most a day) has passed, so that a morning's spend does not cry wolf.
   */
  async forecast(now = Date.now()): Promise<number> {
    let n = 0;
    for (const b of this.d.index.all()) {
      if (b.limitNano === null || (b.limitNano === 0n && !b.shareOf) || 'from' in b.window) continue;
      const w = this.d.index.windowOf(b, now);
      const elapsed = now - w.start;
      if (elapsed < Math.min(86_400_000, (w.end - w.start) / 10)) continue;
      const counters = b.per ? await this.d.counters.scan(`${b.id}|${w.start}|`) : await this.d.counters.read([counterKey(b.id, w.start, null)]);
      for (const [key, s] of counters) {
        const covering = { budget: b, window: w, member: parseCounterKey(key).member, key };
        const limit = this.d.guard.limitOf(covering, now);
        if (limit === null || s.nano <= 0n || s.nano >= limit) continue;
        const projected = projectToEnd(s.nano, w.start, w.end, now);
        if (projected <= limit) continue;
        // At the velocity so far, the limit is reached after (limit / used) of the time elapsed.
        const on = w.start + Number((BigInt(elapsed) * limit) / s.nano);
        const money = (x: bigint) => formatAmount({ nano: x, currency: b.currency });
        const fresh = await this.d.events.record({
          id: `forecast|${key}`, ts: now, kind: 'forecast', budget: b.id,
          details: { window: w.label, member: covering.member, used: money(s.nano), limit: money(limit), projected: money(projected), exceeds_on: new Date(on).toISOString().slice(0, 10), owner: b.owner },
        });
        if (fresh) n++;
      }
    }
    return n;
  }

  // ------------------------------------------------------------ status

  async status(id: string, actor: Actor, at = Date.now()): Promise<Record<string, unknown>> {
    const { budget: b, body } = await this.get(id, actor);
    const window = windowAt(b.window, at, this.d.calendar);
    const money = (n: bigint | null) => (n === null ? null : { amount: decimalText(n), formatted: formatAmount({ nano: n, currency: b.currency }) });
    const members = b.per ? await this.membersOf(b, window.start, actor) : [null];
    const rows = [];
    for (const member of members) {
      const key = counterKey(b.id, window.start, member);
      const s = (await this.d.counters.read([key])).get(key)!;
      const covering = { budget: b, window, member, key };
      await this.d.guard.prepareRollovers([covering]);
      const limit = this.d.guard.limitOf(covering, at);
      rows.push({
        member,
        used: money(s.nano),
        reserved: money(s.reservedNano),
        limit: money(limit),
        remaining: limit === null ? null : money(limit - s.nano - s.reservedNano),
        used_percent: limit === null || limit === 0n ? null : Number((s.nano * 10_000n) / limit) / 100,
        thresholds_reached: limit === null ? [] : thresholdsReached(limit, s.nano, b.thresholds.map((t) => t.at)),
        projected_end_of_window: 'from' in b.window ? null : money(projectToEnd(s.nano, window.start, window.end, at)),
        projected_to_exceed_on: projectedDate(s.nano, limit, window, at),
        tokens: { used: s.tokens, reserved: s.reservedTokens, limit: b.limitTokens },
        requests: { used: s.requests, limit: b.limitRequests },
      });
    }
    return {
      id: b.id,
      name: b.name,
      status: body.status,
      managed_by: body.managed_by,
      category: b.category,
      enforcement: b.hard ? 'hard' : 'soft',
      owner: b.owner,
      currency: b.currency,
      window: { label: window.label, start: new Date(window.start).toISOString(), end: new Date(window.end).toISOString(), expired: 'from' in b.window && at >= window.end },
      previous_window: previousWindow(b.window, window, this.d.calendar)?.label ?? null,
      per: b.per,
      members: rows,
      share_of: b.shareOf && { metric: b.shareOf.metric, percent: decimalText(b.shareOf.percentNano), departments: b.shareOf.departments, fed: this.d.index.shareLimit(b, window.label) !== null },
      reserve: b.reserveNano === null ? null : this.reserveView(b, members, at),
      overrides: this.d.index.overridesOf(b.id).map((o) => this.raises.view(OVERRIDE_KIND, o.id, o.body, at)),
      reserve_releases: this.d.index.releasesOf(b.id).map((o) => this.raises.view(RELEASE_KIND, o.id, o.body, at)),
      spec: body.spec,
    };
  }

  /** A budget's contingency reserve: its share and amount, and per member what is released and still held. */
  private reserveView(b: Budget, members: readonly (string | null)[], at: number): Record<string, unknown> {
    const money = (n: bigint) => ({ amount: decimalText(n), formatted: formatAmount({ nano: n, currency: b.currency }) });
    const total = b.reserveNano!;
    return {
      share: b.spec.reserve,
      amount: money(total),
      members: members.map((member) => {
        const held = this.d.index.heldReserve(b, member, at);
        return { member, released: money(total - held), held: money(held) };
      }),
    };
  }

  /** The members a per-member budget has counters for in a window, cut to what the actor may see. */
  private async membersOf(b: Budget, windowStart: number, actor: Actor): Promise<(string | null)[]> {
    const prefix = `${b.id}|${windowStart}|`;
    const keys = await this.d.counters.scan(prefix);
    const members = [...keys.keys()].map((k) => k.slice(prefix.length));
    if (b.per !== 'user' || actor.role === 'admin' || actor.role === 'finance') return members;
    return members.filter((m) => canSee(actor, this.d.org.users.get(m)?.department ?? null, m));
  }

  // ------------------------------------------------------------ overrides and reserve releases (raises.ts)

  /** Marks approved overrides and reserve releases past their expiry as expired, each with an audit entry. Returns how many. */
  expireOverrides(now = Date.now()): Promise<number> {
    return this.raises.expire(now);
  }

  // ------------------------------------------------------------ graduation

  /** A workflow that proved itself moves from its sandbox (or pilot) budget to its department's production budget. */
  async graduate(sandboxId: string, productionId: string, actor: Actor): Promise<Record<string, unknown>> {
    const sandbox = await this.get(sandboxId, actor);
    const production = await this.get(productionId, actor);
    if (sandbox.budget.category === 'production') throw new BursarError('validation_failed', `Budget "${sandboxId}" is a production budget; only sandbox and pilot budgets graduate.`);
    if (production.budget.category !== 'production') throw new BursarError('validation_failed', `Budget "${productionId}" is a ${production.budget.category} budget; graduate into a production budget.`);
    if (sandbox.body.status !== 'active') throw new BursarError('conflict', `Budget "${sandboxId}" already graduated to "${sandbox.body.graduated_to}".`);
    const isOwner = actor.user !== null && actor.user === production.budget.owner;
    if (!(isOwner || actor.role === 'admin' || actor.role === 'finance')) throw new BursarError('forbidden', `Only the owner of "${productionId}", finance or an admin can graduate work into it.`);
    await this.d.store.write(
      { kind: BUDGET_KIND, id: sandboxId, body: { ...sandbox.body, status: 'graduated', graduated_to: productionId }, expectVersion: sandbox.version },
      { actor: actor.label, action: 'budget.graduate', target: `budget:${sandboxId}`, details: { to: productionId, scope: sandbox.body.spec.scope } },
    );
    return { graduated: sandboxId, to: productionId, at: new Date().toISOString() };
  }

  // ------------------------------------------------------------ events and restore

  async events(actor: Actor, budget?: string, since?: number): Promise<Record<string, unknown>[]> {
    const list = await this.d.events.list({ ...(budget ? { budget } : {}), ...(since ? { since } : {}), limit: 500 });
    return list.filter((e) => {
      const b = this.d.index.get(e.budget);
      return b ? this.canSee(actor, b) : actor.role === 'admin' || actor.role === 'finance';
    }).map((e) => ({ ...e, ts: new Date(e.ts).toISOString() }));
  }

  /**
   * Brings the counters to what the ledger holds, if they do not already (memory counters at
   * start; Redis on its first use, or after it lost its data): the totals the ledger keeps per
   * counter, for every budget's current window (and the previous one, for rollover). `force`:
   * even if they do (this node crashed, and may have committed lines it never counted).
   */
  async restore(ledger: LedgerStore, opts: { readonly force?: boolean } = {}): Promise<{ rebuilt: boolean; counters: number }> {
    let counters = 0;
    const rebuild = async (): Promise<BudgetTotals> => {
      const totals = await ledger.budgetTotals(this.windowPrefixes(Date.now()));
      counters = totals.amounts.length;
      return totals;
    };
    const rebuilt = await this.d.counters.attach(rebuild, opts);
    return { rebuilt, counters };
  }

  /** The counter-key prefixes of every budget's current window, and previous one where it rolls over. */
  private windowPrefixes(now: number): string[] {
    const out: string[] = [];
    for (const b of this.d.index.all()) {
      const w = windowAt(b.window, now, this.d.calendar);
      out.push(`${b.id}|${w.start}|`);
      const prev = b.rolloverMaxNano !== null ? previousWindow(b.window, w, this.d.calendar) : null;
      if (prev) out.push(`${b.id}|${prev.start}|`);
    }
    return out;
  }

  /** Onboarding control: is there a budget with an owner that covers keys of this department or project? */
  coversWithOwner(attribution: { department: string | null; project: string | null; team: string | null }): boolean {
    const dims = emptyDims();
    dims.department = attribution.department;
    dims.project = attribution.project;
    dims.team = attribution.team;
    dims.cost_centre = attribution.department ? (this.d.org.departments.get(attribution.department)?.costCentre ?? null) : null;
    dims.project_code = attribution.project ? (this.d.org.projects.get(attribution.project)?.code ?? null) : null;
    return this.d.index.all().some((b) => b.owner !== null && b.scope.length > 0 && scopeOnlyOrg(b) && inScope(b.scope, { dims, tags: null, groups: [] }));
  }
}

/** A scope made only of org-tree dimensions: the budgets a new key can be placed under. */
function scopeOnlyOrg(b: Budget): boolean {
  return b.scope.every(([k]) => k === 'department' || k === 'team' || k === 'project' || k === 'cost_centre' || k === 'project_code');
}

/** The day a window's spend reaches its limit at the velocity so far, if it does before the window ends. */
function projectedDate(used: bigint, limit: bigint | null, w: { start: number; end: number }, at: number): string | null {
  if (limit === null || used <= 0n || at <= w.start) return null;
  const on = used >= limit ? at : w.start + Number((BigInt(at - w.start) * limit) / used);
  return on < w.end ? new Date(on).toISOString().slice(0, 10) : null;
}
