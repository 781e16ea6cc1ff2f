/**
 * Allocation runs: for a month, every ledger line of the period is allocated by the rules in
 * force (allocate.ts), and the parts are summed into a statement per department, chargeback and
 * showback apart, with what no rule could place kept as "unallocated". A run is reproducible:
 * it records the rules it used and a digest of the lines it read, and its statements are the
 * same bytes whenever they are asked for. A draft can be removed; a finalised run is immutable,
 * and a change after it is a new run that says which run it corrects.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DateTime } from 'luxon';
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import { parsed } from '../config/managed.js';
import { BursarError } from '../core/errors.js';
import { blankLine, type FirstMatchGroup, type FirstMatchGroups, type LedgerLine, type LineMatch } from '../core/ledger.js';
import { decimalText, largestRemainder, minorDigits, roundToMinor } from '../core/money.js';
import type { FxTable } from '../core/fx.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore, LedgerStore } from '../core/ports.js';
import type { Calendar } from '../budgets/windows.js';
import { allocate, columnsFor, matches, roundParts, SANDBOXES, type Allocated, type AllocationContext } from './allocate.js';
import { ordered, type AllocationRule } from './rules.js';
import { journal, type GlConfig, type JournalRow } from './journal.js';
import { METRIC_KIND, metricId, metricValues } from './metrics.js';

export const RUN_KIND = 'allocation_run';

const period = z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/, 'must be a month, YYYY-MM');
export const runInput = z.strictObject({ period, corrects: z.string().optional() });
export const metricInput = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug, e.g. "revenue"'),
  period,
  /** Department -> value, a decimal string. */
  values: z.record(z.string(), z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "1250000"')),
});

export interface StatementRow {
  readonly department: string | null;
  readonly cost_centre: string | null;
  /** The project of the lines, where the part stayed with their own department. */
  readonly project: string | null;
  readonly project_code: string | null;
  readonly rule: string;
  readonly method: string;
  readonly mode: 'chargeback' | 'showback';
  readonly lines: number;
  /** Exact, in nano precision; and rounded to the currency's minor unit so that the rounded rows add up to the rounded total. */
  readonly amount: string;
  readonly rounded: string;
}

export interface RunBody {
  readonly id: string;
  readonly period: string;
  readonly from: string;
  readonly to: string;
  readonly currency: string;
  readonly status: 'draft' | 'final';
  readonly corrects: string | null;
  readonly rules: readonly AllocationRule[];
  /** sha256 of every line read (id and cost, in order): a later run reading other lines shows a different digest. */
  readonly ledger_digest: string;
  readonly lines: number;
  /** What the month's lines cost; the statement allocates it less what smoothing defers, plus earlier months' shares brought forward. */
  readonly ledger_total: string;
  readonly deferred: { readonly amount: string; readonly lines: number };
  readonly brought_forward: { readonly amount: string; readonly lines: number };
  readonly source_total: string;
  readonly source_total_rounded: string;
  /** Per department and mode, then rule; unallocated (department null) last. */
  readonly statement: readonly StatementRow[];
  /**
   * Per department, in the run's currency; and `local`, in the department's own currency (its
   * `currency:`, else the run's), at the FX rate in force at the period's end (units of it per
   * unit of the run's currency), each amount converted and rounded on its own.
   */
  readonly departments: readonly {
    department: string; cost_centre: string; chargeback: string; showback: string; total: string;
    local: { currency: string; fx_rate: string; chargeback: string; showback: string; total: string };
  }[];
  readonly unallocated: { readonly amount: string; readonly lines: number; readonly reasons: Readonly<Record<string, number>> };
  readonly created_by: string;
  readonly created_at: string;
  readonly finalized_by: string | null;
  readonly finalized_at: string | null;
}

export interface AllocationDeps {
  readonly ledger: LedgerStore;
  readonly store: ConfigStore;
  readonly org: OrgTree;
  readonly calendar: Calendar;
  readonly orgCurrency: string;
  readonly headcount: Readonly<Record<string, number>>;
  readonly gl: GlConfig;
  /** Converts departments' statements into their own currencies. */
  readonly fx: FxTable;
  /** The rules in force now. */
  readonly rules: () => readonly AllocationRule[];
  /**
   * The most groups of lines alike a run holds at once (default 100,000, some 60 MB): past it,
   * a month whose lines hardly ever allocate alike is read as before grouping, the lines of the
   * rules that split one by one (slower, in flat memory).
   */
  readonly groupLimit?: number;
}


export class AllocationService {
  constructor(private readonly d: AllocationDeps) {}

  /** A month's window in the organisation's time zone. */
  window(p: string): { start: number; end: number } {
    const start = DateTime.fromISO(`${p}-01`, { zone: this.d.calendar.zone }).startOf('month');
    return { start: start.toMillis(), end: start.plus({ months: 1 }).toMillis() };
  }

  async run(input: unknown, actor: Actor): Promise<RunBody> {
    assertRole(actor, ['admin', 'finance'], 'run an allocation');
    const r = parsed(runInput.safeParse(input), 'run');
    if (r.corrects) {
      const old = await this.get(r.corrects, actor);
      if (old.status !== 'final') throw new BursarError('conflict', `Run "${old.id}" is a draft: remove it and run again, rather than correct it.`, { param: 'corrects' });
      if (old.period !== r.period) throw new BursarError('validation_failed', `corrects: run "${old.id}" is for ${old.period}, not ${r.period}.`, { param: 'corrects' });
    }
    const rules = ordered(this.d.rules());
    const w = this.window(r.period);
    const acc = new Statement(this.d.orgCurrency);
    let ledgerDigest = '';
    let ledgerTotal = 0n;
    const deferred = { nano: 0n, lines: 0 };
    const forward = { nano: 0n, lines: 0 };
    for await (const x of this.walk(rules, r.period)) {
      if ('digest' in x) {
        ledgerDigest = x.digest;
        ledgerTotal = x.total;
        continue;
      }
      if ('group' in x) {
        acc.addGroup(x);
        continue;
      }
      if (x.earlier) {
        forward.nano += x.line.orgCostNano * BigInt(x.lines);
        forward.lines += x.lines;
      }
      if (x.deferred !== 0n) {
        deferred.nano += x.deferred * BigInt(x.lines);
        deferred.lines += x.lines;
      }
      acc.add(x.allocated, x.line, x.lines);
    }
    const id = `run_${r.period.replace('-', '')}_${randomBytes(4).toString('hex')}`;
    const body: RunBody = {
      id, period: r.period, from: new Date(w.start).toISOString(), to: new Date(w.end).toISOString(), currency: this.d.orgCurrency, status: 'draft',
      corrects: r.corrects ?? null, rules, ledger_digest: ledgerDigest, ...acc.result(this.d.org, this.d.fx, w.end - 1),
      ledger_total: decimalText(ledgerTotal),
      deferred: { amount: decimalText(deferred.nano), lines: deferred.lines },
      brought_forward: { amount: decimalText(forward.nano), lines: forward.lines },
      created_by: actor.label, created_at: new Date().toISOString(), finalized_by: null, finalized_at: null,
    };
    await this.d.store.write(
      { kind: RUN_KIND, id, body: body as unknown as Record<string, unknown>, expectVersion: 0 },
      { actor: actor.label, action: 'allocation_run.create', target: `allocation_run:${id}`, details: { period: body.period, corrects: body.corrects, lines: body.lines, source_total: body.source_total, unallocated: body.unallocated.amount } },
    );
    return body;
  }

  async get(id: string, actor: Actor): Promise<RunBody> {
    assertRole(actor, ['admin', 'finance'], 'read allocation runs');
    const r = await this.d.store.get(RUN_KIND, id);
    if (!r) throw new BursarError('not_found', `No allocation run "${id}"; list them with \`bursar allocations runs\`.`);
    return r.body as unknown as RunBody;
  }

  async list(actor: Actor): Promise<Omit<RunBody, 'statement' | 'rules'>[]> {
    assertRole(actor, ['admin', 'finance'], 'read allocation runs');
    return (await this.d.store.list(RUN_KIND))
      .map((r) => {
        const { statement: _s, rules: _r, ...rest } = r.body as unknown as RunBody;
        return rest;
      })
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
  }

  async finalize(id: string, actor: Actor): Promise<RunBody> {
    assertRole(actor, ['admin', 'finance'], 'finalise an allocation run');
    const r = await this.d.store.get(RUN_KIND, id);
    if (!r) throw new BursarError('not_found', `No allocation run "${id}".`);
    const body = r.body as unknown as RunBody;
    if (body.status === 'final') throw new BursarError('conflict', `Run "${id}" is already final; a change is a new run with --corrects ${id}.`);
    const next: RunBody = { ...body, status: 'final', finalized_by: actor.label, finalized_at: new Date().toISOString() };
    await this.d.store.write(
      { kind: RUN_KIND, id, body: next as unknown as Record<string, unknown>, expectVersion: r.version },
      { actor: actor.label, action: 'allocation_run.finalize', target: `allocation_run:${id}`, details: { period: body.period, source_total: body.source_total } },
    );
    return next;
  }

  async remove(id: string, actor: Actor): Promise<void> {
    assertRole(actor, ['admin', 'finance'], 'remove an allocation run');
    const r = await this.d.store.get(RUN_KIND, id);
    if (!r) throw new BursarError('not_found', `No allocation run "${id}".`);
    if ((r.body as unknown as RunBody).status === 'final') throw new BursarError('conflict', `Run "${id}" is final and cannot be removed; a change is a new run with --corrects ${id}.`);
    await this.d.store.write({ kind: RUN_KIND, id, body: null, expectVersion: r.version }, { actor: actor.label, action: 'allocation_run.remove', target: `allocation_run:${id}`, details: {} });
  }

  /** Whether the ledger still holds exactly the lines the run read (a late import into the period changes them: then a correction run is due). */
  async unchanged(run: RunBody): Promise<boolean> {
    const w = { start: Date.parse(run.from), end: Date.parse(run.to) };
    return digestOf(await this.d.ledger.firstMatchGroups({ from: w.start, to: w.end, matches: run.rules.map(lineMatchOf) })) === run.ledger_digest;
  }

  /** A run's lines, each with its parts (a smoothed line's share of the month), allocated again by the run's own rules and drivers. */
  async *allocations(run: RunBody): AsyncGenerator<{ line: LedgerLine; allocated: Allocated }> {
    for await (const x of this.walk(run.rules, run.period, { perLine: true })) if ('line' in x) yield { line: x.line, allocated: x.allocated };
  }

  /**
   * A run over a month. One grouped query reads every line's first matching rule, department,
   * project and budget category, and the drivers measured from the ledger (tokens, requests,
   * cost, GPU hours per department). The lines of `direct` rules (and of none) are summed there,
   * a group at a time (their one part is the line). The lines of rules that split are grouped
   * further by what allocating one reads (its cost; the tokens or quantity of an internal price),
   * so each group's lines get the same parts: one line of it is allocated, with the month's
   * drivers, and its parts count once per line. A line of a smoothing rule (`smooth_months: N`) is
   * allocated its share for this month (its cost split in N, largest remainder), the rest
   * `deferred`; the lines of the N-1 months before, of smoothing rules, give their share for this
   * month (`earlier`). `perLine`: every line one by one (a drill-down, an export).
   */
  private async *walk(rules: readonly AllocationRule[], period: string, opts: { perLine?: boolean } = {}): AsyncGenerator<Walked | GroupPart | { digest: string; total: bigint }> {
    const w = this.window(period);
    const lineMatches = rules.map(lineMatchOf);
    // Rules whose part is the line itself: summed by the grouped query, unless every line is wanted.
    const whole = new Set<number>([-1, ...rules.flatMap((r, i) => (r.method === 'direct' && !r.smooth_months ? [i] : []))]);
    const splitting = rules.flatMap((_, i) => (whole.has(i) ? [] : [i]));
    const pricedBy = (per: string) => splitting.filter((i) => rules[i]!.method === 'internal_price' && rules[i]!.price?.per === per);
    const apart = { cost: splitting, tokens: pricedBy('million_tokens'), quantity: pricedBy('unit'), limit: this.d.groupLimit ?? 100_000 };
    const month = { from: w.start, to: w.end, matches: lineMatches };
    let read = await this.d.ledger.firstMatchGroups(opts.perLine ? month : { ...month, apart });
    // Too many groups: their lines are read one by one instead.
    const oneByOne = opts.perLine ? undefined : read.complete ? null : { matches: lineMatches, keep: splitting };
    if (!read.complete) read = await this.d.ledger.firstMatchGroups(month);
    const groups = read.groups;
    const fixed = await this.fixedDrivers(rules, period);
    const tally = new Tally();
    for (const g of groups) tally.addGroup(g);
    if (rules.some((r) => r.driver === 'active_users')) {
      for (const row of await this.d.ledger.aggregate({ from: w.start, to: w.end, groupBy: ['source', 'department', 'user'] })) {
        if (row.group.source === 'gateway' && row.group.department && row.group.user) tally.addUser(row.group.department, row.group.user);
      }
    }
    const ctx = contextOf(fixed, tally);
    const scan = (from: number, to: number, firstMatch?: { matches: readonly LineMatch[]; keep: readonly number[] }) =>
      this.d.ledger.scan({ from, to, ...(opts.perLine ? {} : { columns: columnsFor(rules) }), ...(firstMatch ? { firstMatch } : {}) });
    if (oneByOne !== null) {
      for await (const l of scan(w.start, w.end, oneByOne)) {
        if (l.orgCostNano === 0n) continue;
        const rule = rules.find((x) => matches(x, l)) ?? null;
        yield thisMonth(l, rule, ctx, 1);
      }
    }
    if (!opts.perLine) {
      for (const g of groups) {
        if (g.costed === 0) continue;
        if (whole.has(g.index)) {
          const rule = g.index >= 0 ? rules[g.index]! : null;
          const mode = rule?.mode ?? (SANDBOXES.has(g.budgetCategory ?? '') ? 'showback' : 'chargeback');
          const reason = g.department !== null ? null : rule ? 'the line names no department' : 'no rule matches the line, and it names no department';
          yield { group: g, rule: rule ? rule.id : g.department !== null ? 'direct' : 'unallocated', method: rule ? 'direct' : g.department !== null ? 'direct' : 'none', mode, reason };
          continue;
        }
        if (oneByOne) continue;
        // Lines that allocate alike: one of them stands for all.
        const b = blankLine('', w.start);
        const line: LedgerLine = {
          ...b, dims: { ...b.dims, department: g.department, project: g.project, budget_category: g.budgetCategory },
          orgCostNano: g.lineCost!, tokens: { ...b.tokens, input: Number(g.lineTokens ?? 0n) }, quantityNano: g.lineQuantity,
        };
        yield thisMonth(line, rules[g.index]!, ctx, g.costed);
      }
    }
    const longest = Math.max(0, ...rules.map((r) => r.smooth_months ?? 0));
    if (longest > 1) {
      const zone = this.d.calendar.zone;
      const monthStart = DateTime.fromMillis(w.start, { zone });
      const smoothing = { matches: lineMatches, keep: rules.flatMap((r, i) => (r.smooth_months ? [i] : [])) };
      for await (const l of scan(monthStart.minus({ months: longest - 1 }).toMillis(), w.start, smoothing)) {
        if (l.orgCostNano === 0n) continue;
        const rule = rules.find((x) => matches(x, l));
        if (!rule?.smooth_months) continue;
        const k = Math.round(monthStart.diff(DateTime.fromMillis(l.ts, { zone }).startOf('month'), 'months').months);
        if (k < 1 || k >= rule.smooth_months) continue;
        const line = { ...l, orgCostNano: smoothShare(l.orgCostNano, rule.smooth_months, k) };
        if (line.orgCostNano !== 0n) yield { line, lines: 1, cost: l.orgCostNano, deferred: 0n, earlier: true, allocated: allocate(line, rule, ctx) };
      }
    }
    yield { digest: digestOf(read), total: groups.reduce((a, g) => a + g.orgCostNano, 0n) };
  }

  /** A run's parts line by line for one department (or the unallocated: null). */
  async *lines(run: RunBody, department: string | null): AsyncGenerator<{ line: LedgerLine; allocated: Allocated; nano: bigint }> {
    for await (const { line, allocated } of this.allocations(run)) {
      for (const p of allocated.parts) if (p.department === department) yield { line, allocated, nano: p.nano };
    }
  }

  /** A run's journal entries (a correction's reverse the run it corrects first). */
  async journal(id: string, actor: Actor): Promise<JournalRow[]> {
    const run = await this.get(id, actor);
    return journal(run, run.corrects ? await this.get(run.corrects, actor) : null, this.d.gl);
  }

  async setMetric(input: unknown, actor: Actor): Promise<Record<string, unknown>> {
    assertRole(actor, ['admin', 'finance'], 'set an allocation metric');
    const m = parsed(metricInput.safeParse(input), 'metric');
    for (const d of Object.keys(m.values)) if (!this.d.org.departments.has(d)) throw new BursarError('validation_failed', `values.${d}: "${d}" is not a declared department.`, { param: `values.${d}` });
    const id = metricId(m.name, m.period);
    const cur = await this.d.store.get(METRIC_KIND, id);
    await this.d.store.write(
      { kind: METRIC_KIND, id, body: m, expectVersion: cur?.version ?? 0 },
      { actor: actor.label, action: 'allocation_metric.set', target: `allocation_metric:${m.name}`, details: m },
    );
    return m;
  }

  /** The drivers that do not come from the month's lines: headcount, and metrics fed through the API. */
  private async fixedDrivers(rules: readonly AllocationRule[], p: string): Promise<Drivers> {
    const used = new Set(rules.map((r) => r.driver ?? (r.method === 'pool' ? 'headcount' : undefined)).filter((x): x is string => x !== undefined));
    const out = new Drivers([...this.d.org.departments.keys()].sort());
    if (used.has('headcount')) {
      const declared = new Map<string, number>();
      for (const u of this.d.org.users.values()) declared.set(u.department, (declared.get(u.department) ?? 0) + 1);
      for (const dept of out.departments) out.bump('headcount', dept, BigInt(this.d.headcount[dept] ?? declared.get(dept) ?? 0));
    }
    for (const name of used) {
      if (!name.startsWith('metric:')) continue;
      const m = await this.d.store.get(METRIC_KIND, metricId(name.slice(7), p));
      for (const [dept, v] of metricValues(m?.body)) out.bump(name, dept, v);
    }
    return out;
  }
}

/** A line as a run allocates it: its share of this month (`line.orgCostNano`), its whole cost, what is deferred to later months. */
interface Walked {
  readonly line: LedgerLine;
  /** How many lines allocate alike (a group of lines of the same rule, department, project, budget category, cost...), `line` standing for each. */
  readonly lines: number;
  /** Each line's. */
  readonly cost: bigint;
  readonly deferred: bigint;
  /** A smoothed line of an earlier month, giving this month its share. */
  readonly earlier: boolean;
  readonly allocated: Allocated;
}

/** The lines of a group whose part is the line itself (direct, or unallocated), summed. */
interface GroupPart {
  readonly group: FirstMatchGroup;
  readonly rule: string;
  readonly method: string;
  readonly mode: 'chargeback' | 'showback';
  readonly reason: string | null;
}

/** A rule's match as the ledger store reads it. */
export function lineMatchOf(rule: AllocationRule): LineMatch {
  const { source, kind, spend_category, tags, ...dims } = rule.match;
  const named = Object.fromEntries(Object.entries(dims).filter(([, v]) => v !== undefined)) as NonNullable<LineMatch['dims']>;
  return { ...(source ? { source } : {}), ...(kind ? { kind } : {}), ...(spend_category ? { spend_category } : {}), ...(tags ? { tags } : {}), dims: named };
}

/** What identifies the lines a run read: their number, total and ids' range (the ledger only grows, so any change shows). */
function digestOf(read: FirstMatchGroups): string {
  let n = 0;
  let total = 0n;
  for (const g of read.groups) {
    n += g.lines;
    total += g.orgCostNano;
  }
  return createHash('sha256').update(`${n}|${total}|${read.firstId}|${read.lastId}`).digest('hex');
}

/** A line of the month allocated by its rule: its share of this month (all of it, unless its rule smooths), and what is deferred to later months. */
function thisMonth(l: LedgerLine, rule: AllocationRule | null, ctx: AllocationContext, lines: number): Walked {
  const share = rule?.smooth_months ? smoothShare(l.orgCostNano, rule.smooth_months, 0) : l.orgCostNano;
  const line = share === l.orgCostNano ? l : { ...l, orgCostNano: share };
  return { line, lines, cost: l.orgCostNano, deferred: l.orgCostNano - share, earlier: false, allocated: allocate(line, rule, ctx) };
}

/** The k-th of `months` equal shares of a cost (largest remainder: the shares sum to it exactly). */
export function smoothShare(cost: bigint, months: number, k: number): bigint {
  return largestRemainder(cost, Array.from({ length: months }, () => 1n))[k]!;
}

/** Driver values per name and department. */
class Drivers {
  readonly values = new Map<string, Map<string, bigint>>();

  constructor(readonly departments: readonly string[]) {}

  bump(name: string, dept: string, v: bigint): void {
    let m = this.values.get(name);
    if (!m) this.values.set(name, (m = new Map()));
    m.set(dept, (m.get(dept) ?? 0n) + v);
  }
}

/** The drivers measured from the month's lines: tokens, requests, cost and active users of gateway calls, and imported GPU hours. */
class Tally extends Drivers {
  private readonly users = new Map<string, Set<string>>();

  constructor() {
    super([]);
  }

  addGroup(g: FirstMatchGroup): void {
    if (g.department === null) return;
    if (g.requests) {
      this.bump('tokens', g.department, g.tokens);
      this.bump('requests', g.department, BigInt(g.requests));
      this.bump('cost', g.department, g.gatewayOrgCostNano);
    }
    if (g.gpuNano) this.bump('gpu_hours', g.department, g.gpuNano);
  }

  addUser(dept: string, user: string): void {
    let set = this.users.get(dept);
    if (!set) this.users.set(dept, (set = new Set()));
    set.add(user);
  }

  activeUsers(): Map<string, bigint> {
    return new Map([...this.users].map(([dept, set]) => [dept, BigInt(set.size)]));
  }
}

function contextOf(fixed: Drivers, tally: Tally | null): AllocationContext {
  return {
    departments: fixed.departments,
    driver: (name) => (name === 'active_users' ? tally?.activeUsers() : (fixed.values.get(name) ?? tally?.values.get(name))) ?? new Map(),
  };
}

type Row = { department: string | null; project: string | null; rule: string; method: string; mode: 'chargeback' | 'showback'; nano: bigint; lines: number };

/**
 * The sums of a run: per department, project, rule and mode, and the unallocated. A part keeps
 * its line's project when it stays with the line's own department (a project is a department's).
 */
class Statement {
  private readonly rows = new Map<string, Row>();
  private readonly reasons = new Map<string, number>();
  private total = 0n;
  private count = 0;

  constructor(private readonly currency: string) {}

  /** The parts of `lines` lines allocated alike, `l` standing for each. */
  add(a: Allocated, l: LedgerLine, lines: number): void {
    this.count += lines;
    const n = BigInt(lines);
    for (const p of a.parts) {
      const project = p.department !== null && p.department === l.dims.department ? l.dims.project : null;
      this.put(p.department, project, a, p.nano * n, lines);
    }
  }

  /** A group of lines whose one part each is the line: its sum, counted as its lines. */
  addGroup(x: GroupPart): void {
    const g = x.group;
    this.count += g.costed;
    this.put(g.department, g.department !== null ? g.project : null, x, g.orgCostNano, g.costed);
  }

  private put(department: string | null, project: string | null, a: Pick<Allocated, 'rule' | 'method' | 'mode' | 'reason'>, nano: bigint, lines: number): void {
    this.total += nano;
    const k = `${department ?? ''}\u0000${project ?? ''}\u0000${a.rule}\u0000${a.mode}`;
    let row = this.rows.get(k);
    if (!row) this.rows.set(k, (row = { department, project, rule: a.rule, method: a.method, mode: a.mode, nano: 0n, lines: 0 }));
    row.nano += nano;
    row.lines += lines;
    if (department === null && a.reason) this.reasons.set(a.reason, (this.reasons.get(a.reason) ?? 0) + lines);
  }

  /** `fx` and `at`: each department's totals also in its own currency, at the rate in force at `at` (the period's end). */
  result(org: OrgTree, fx: FxTable, at: number): Pick<RunBody, 'lines' | 'source_total' | 'source_total_rounded' | 'statement' | 'departments' | 'unallocated'> {
    // Departments in order, chargeback before showback, then projects (none first), then rules; the unallocated last.
    const rows = [...this.rows.values()].sort((a, b) =>
      a.department === b.department ? a.mode.localeCompare(b.mode) || (a.project ?? '').localeCompare(b.project ?? '') || a.rule.localeCompare(b.rule)
      : a.department === null ? 1 : b.department === null ? -1 : a.department.localeCompare(b.department));
    const step = 10n ** BigInt(9 - minorDigits(this.currency));
    const rounded = roundParts(rows.map((r) => r.nano), step);
    const digits = minorDigits(this.currency);
    const statement: StatementRow[] = rows.map((r, i) => ({
      department: r.department, cost_centre: r.department ? (org.departments.get(r.department)?.costCentre ?? null) : null,
      project: r.project, project_code: r.project ? (org.projects.get(r.project)?.code ?? null) : null, rule: r.rule, method: r.method, mode: r.mode,
      lines: r.lines, amount: decimalText(r.nano), rounded: decimalText(rounded[i]!, digits),
    }));
    const byDept = new Map<string, { chargeback: bigint; showback: bigint }>();
    rows.forEach((r, i) => {
      if (r.department === null) return;
      const d = byDept.get(r.department) ?? { chargeback: 0n, showback: 0n };
      d[r.mode] += rounded[i]!;
      byDept.set(r.department, d);
    });
    const unallocated = rows.reduce((a, r, i) => (r.department === null ? a + rounded[i]! : a), 0n);
    return {
      lines: this.count,
      source_total: decimalText(this.total),
      source_total_rounded: decimalText(rounded.reduce((a, b) => a + b, 0n), digits),
      statement,
      departments: [...byDept].map(([department, d]) => {
        const own = org.departments.get(department)?.currency ?? this.currency;
        const local = (nano: bigint) => {
          const c = fx.convert(nano, this.currency, own, at);
          return { nano: roundToMinor(c.nano, own), rate: c.rate };
        };
        const cb = local(d.chargeback);
        const sb = local(d.showback);
        const ld = minorDigits(own);
        return {
          department, cost_centre: org.departments.get(department)?.costCentre ?? '', chargeback: decimalText(d.chargeback, digits), showback: decimalText(d.showback, digits), total: decimalText(d.chargeback + d.showback, digits),
          local: { currency: own, fx_rate: decimalText(cb.rate), chargeback: decimalText(cb.nano, ld), showback: decimalText(sb.nano, ld), total: decimalText(cb.nano + sb.nano, ld) },
        };
      }),
      unallocated: { amount: decimalText(unallocated, digits), lines: rows.filter((r) => r.department === null).reduce((a, r) => a + r.lines, 0), reasons: Object.fromEntries([...this.reasons].sort()) },
    };
  }
}
