/**
 * Admission and settlement against budgets. Before a call reaches a provider, its worst case is
 * reserved on every budget in scope at once (all or none); if a client set no output cap, or
 * one too large for what a hard budget has left, Bursar sets one instead of reserving the whole
 * remaining budget. Once the call's ledger line is committed, its actual cost replaces the
 * reservation (so shared counters only ever count what the ledger holds, and can be rebuilt from
 * it; counters in this process count it when the call ends, see ImmediateCounters) and crossed
 * thresholds become events. Rate limits, thresholds that throttle or need
 * approval, sandbox expiry and agent-run controls are checked here too. When the shared
 * counters cannot be reached, each budget in scope says whether its calls wait or go.
 */
import { thresholdAmount, thresholdsCrossed, thresholdsReached, type CallFacts } from '../core/budget.js';
import { BursarError } from '../core/errors.js';
import type { FxTable } from '../core/fx.js';
import { tokenTotal, type BudgetCharges, type LedgerLine } from '../core/ledger.js';
import { decimalText, formatAmount } from '../core/money.js';
import {
  CountersUnavailable,
  type AppendResult, type BudgetCounters, type CounterLimit, type CounterMove, type CounterState, type EventLog, type HeldLease, type ImmediateCounters, type RateCheck, type RateLimits, type Reservation, type RunTracker, type Settlement,
} from '../core/ports.js';
import { worstCaseCost, worstOutputRate, type ModelPrice } from '../core/pricing.js';
import type { Logger } from '../telemetry/log.js';
import { counterKey, parseCounterKey, type BudgetIndex, type Covering } from './budget-index.js';
import type { Budget, BudgetCategory } from './model.js';
import { previousWindow, type Calendar } from './windows.js';

export interface GuardOptions {
  readonly index: BudgetIndex;
  readonly counters: BudgetCounters;
  readonly rates: RateLimits;
  readonly runs: RunTracker;
  readonly events: EventLog;
  readonly fx: FxTable;
  readonly calendar: Calendar;
  readonly minOutputTokens: number;
  readonly leaseMs: number;
  readonly log: Logger;
  readonly now?: () => number;
  /** Hears of each call let through uncounted because the shared counters were unreachable. */
  readonly onOutage?: (err: CountersUnavailable) => void;
}

export interface AdmitInput {
  /** The lease id: the call's request id. */
  readonly id: string;
  readonly facts: CallFacts;
  readonly price: ModelPrice | null;
  /** A safe upper bound on the prompt's tokens. */
  readonly inputBound: number;
  /** The output cap the client set, if any. */
  readonly requestedCap: number | null;
  /** The cap assumed (and set, when a hard budget applies) when the client sets none. */
  readonly defaultCap: number;
  /** Identifies the request for the agent loop guard (only read when an agent run is limited). */
  readonly requestHash: () => string;
}

/** What a call would reserve on each budget, and the output cap that makes it fit. */
interface Plan {
  readonly reserved: Reservation;
  readonly output: number;
  /** The worst case at that output cap, in the price's currency. */
  readonly worst: bigint;
  readonly cap: number | null;
  readonly capReason: string | null;
}

export interface Admission {
  readonly lease: string;
  /** The budgets the call is charged on, in its reservation's order. */
  readonly covering: readonly Covering[];
  /**
   * What it reserved on each (its worst case in the budget's currency), which its worst-case
   * ledger line charges too: one object serves the counters, the line and its settlement. Zero
   * on each when nothing was reserved (the shared counters were unreachable).
   */
  readonly reserved: Reservation;
  /** Its lease on counters in this process, handed back when it ends; null on shared counters (named by `lease`). */
  readonly held: HeldLease | null;
  /** The output cap to send the provider, when Bursar sets one. */
  readonly cap: number | null;
  /** Why Bursar set the cap: "budget:<id>" (what that budget has left) or "default" (the client set none). */
  readonly capReason: string | null;
  /** The output tokens the worst case assumed. */
  readonly assumedOutput: number;
  /** The worst case the charges were planned from, in the price's currency; null when none was (no budget, or counters unreachable). */
  readonly worstNano: bigint | null;
  readonly category: BudgetCategory | null;
  readonly owner: string | null;
  readonly runKeys: readonly string[];
  readonly rateKeys: readonly string[];
  /** The budgets whose thresholds ask routing to step down (reserved for routing). */
  readonly downgrades: readonly { readonly budget: string; readonly at: number }[];
}

export /** A counter as the optimistic first reservation assumes it: nothing used or reserved. */
const EMPTY_STATE: CounterState = { nano: 0n, tokens: 0, requests: 0, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 };

const NO_KEYS: readonly string[] = [];
const NO_DOWNGRADES: readonly { budget: string; at: number }[] = [];
const NO_CHECKS: { checks: RateCheck[]; downgrades: { budget: string; at: number }[] } = { checks: [], downgrades: [] };

const NO_CHARGES: BudgetCharges = { keys: NO_KEYS, nanos: [] };
const NO_RESERVATION: Reservation = { ...NO_CHARGES, tokens: 0, requests: 0, limits: [] };

const NO_ADMISSION: Admission = {
  lease: '', covering: [], reserved: NO_RESERVATION, held: null, cap: null, capReason: null, assumedOutput: 0, worstNano: null, category: null, owner: null, runKeys: NO_KEYS, rateKeys: NO_KEYS, downgrades: [],
};

const MILLION = 1_000_000n;

export class BudgetGuard {
  /**
   * Leases on shared counters of calls whose lines are not yet committed: renewed until then.
   * In-process counters hold only this process's leases, and renew them all (no set to keep per call).
   */
  private readonly active = new Set<string>();
  private readonly rollovers = new Map<string, bigint>();
  private readonly renewal: NodeJS.Timeout;
  private readonly now: () => number;
  /** The counters, when they live in this process: then most calls are admitted without a promise. */
  private readonly local: ImmediateCounters | null;

  constructor(private readonly o: GuardOptions) {
    this.now = o.now ?? Date.now;
    this.local = o.counters.immediate;
    // Leases are renewed while their calls run; a holder that dies stops renewing them.
    this.renewal = setInterval(() => {
      if (this.local) this.local.renewAll(o.leaseMs);
      else if (this.active.size) void o.counters.renew([...this.active], o.leaseMs).catch((err: unknown) => o.log.warn({ err }, 'lease renewal failed'));
    }, Math.max(1000, Math.floor(o.leaseMs / 3)));
    this.renewal.unref();
  }

  close(): void {
    clearInterval(this.renewal);
  }

  /**
   * How full the fullest money budget covering these facts is (used, in percent of its limit
   * with overrides), for routing's downgrade ladder; null when none has a money limit. Unreachable
   * counters count as empty: routing then keeps the tier, and admission decides.
   */
  async spentShare(facts: CallFacts): Promise<{ percent: number; budget: string } | null> {
    const now = this.now();
    const limited = this.o.index.covering(facts, now).covering.filter((c) => c.budget.limitNano !== null);
    if (limited.length === 0) return null;
    let states: Map<string, CounterState>;
    try {
      states = await this.o.counters.read(limited.map((c) => c.key));
    } catch (err) {
      if (err instanceof CountersUnavailable) return null;
      throw err;
    }
    let best: { percent: number; budget: string } | null = null;
    for (const c of limited) {
      const limit = this.limitOf(c, now);
      const used = states.get(c.key)?.nano ?? 0n;
      if (limit === null || limit <= 0n) continue;
      const percent = Number((used * 1_000_000n) / limit) / 10_000;
      if (!best || percent > best.percent) best = { percent, budget: c.budget.id };
    }
    return best;
  }

  /**
   * Admits a call (reserving its worst case) or rejects with the refusal, in words its caller
   * understands. With counters in this process, a call that has nothing to read or wait for
   * (the common case) is admitted at once, without a promise: each await costs a promise and a
   * turn of the microtask queue, on every call.
   */
  admit(input: AdmitInput): Admission | Promise<Admission> {
    try {
      const now = this.now();
      const covering = this.covering(input, now);
      if (covering.length === 0) return { ...NO_ADMISSION, lease: input.id };
      return this.admitAtOnce(covering, input, now) ?? this.admitWaiting(covering, input, now, this.local !== null);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** The budgets covering a call; throws if one of them has ended. */
  private covering(input: AdmitInput, now: number): Covering[] {
    const { covering, expired } = this.o.index.covering(input.facts, now);
    if (expired) {
      throw new BursarError('budget_expired', `Budget "${expired.budget.name}" ran ${expired.window.label} and has ended, so calls it covered are refused. Ask its owner${expired.budget.owner ? ` (${expired.budget.owner})` : ''} to extend it, or to graduate the work to a production budget.`, {
        details: { budget: expired.budget.id, budget_name: expired.budget.name, ended_at: new Date(expired.window.end).toISOString() },
      });
    }
    return covering;
  }

  /**
   * In-process counters, and nothing to read or count first (no rollover to work out, no
   * threshold that gates, no rate limit, no agent run): the call reserves as if every budget had
   * room for its whole worst case, at once. Null when that is refused, or the call needs more.
   */
  private admitAtOnce(covering: readonly Covering[], input: AdmitInput, now: number): Admission | null {
    if (this.local === null || input.facts.dims.agent_run !== null) return null;
    for (const c of covering) {
      const b = c.budget;
      if (b.gating || b.rateLimit || (b.rolloverMaxNano !== null && !this.rollovers.has(c.key))) return null;
    }
    const limits = covering.map((c) => this.limitOf(c, now));
    const plan = this.tryPlan(covering, limits, input, now);
    if (!plan) return null;
    const held = this.local.reserveNow(input.id, plan.reserved, this.o.leaseMs);
    return held.ok ? this.admitted(input.id, covering, plan, held, NO_KEYS, NO_KEYS, NO_DOWNGRADES) : null;
  }

  private admitted(lease: string, covering: readonly Covering[], plan: Plan, held: HeldLease | null, runKeys: readonly string[], rateKeys: readonly string[], downgrades: Admission['downgrades']): Admission {
    if (!this.local) this.active.add(lease);
    const { category, owner } = describe(covering);
    return { lease, covering, reserved: plan.reserved, held, cap: plan.cap, capReason: plan.capReason, assumedOutput: plan.output, worstNano: plan.worst, category, owner, runKeys, rateKeys, downgrades };
  }

  /**
   * Admission that reads or waits for the counters, rates or agent runs. `read`: read the
   * counters before the first reservation, for counters in this process, where admitAtOnce has
   * made the optimistic one already (or the call needed more) and reading costs no round trip.
   */
  private async admitWaiting(covering: Covering[], input: AdmitInput, now: number, read: boolean): Promise<Admission> {
    try {
      return await this.reserve(covering, input, now, read);
    } catch (err) {
      if (!(err instanceof CountersUnavailable)) throw err;
      return this.withoutCounters(covering, input, now, err);
    }
  }

  private async reserve(covering: Covering[], input: AdmitInput, now: number, readFirst: boolean): Promise<Admission> {
    if (covering.some((c) => c.budget.rolloverMaxNano !== null && !this.rollovers.has(c.key))) await this.prepareRollovers(covering);
    // Budgets whose thresholds gate calls are read first. Otherwise the call reserves at once, as
    // if every budget had room for its whole worst case: if they do, the plan would not have
    // lowered the output cap, so the result is the same for one round trip instead of two; if
    // one does not, the reservation is refused and the counters are read and planned for.
    const keys = (): string[] => covering.map((c) => c.key);
    let states = readFirst || covering.some((c) => c.budget.gating) ? await this.o.counters.read(keys()) : null;
    const limits = covering.map((c) => this.limitOf(c, now));

    const runKeys = input.facts.dims.agent_run === null ? NO_KEYS : await this.checkRuns(covering, input, now);
    const { checks, downgrades } = this.thresholds(covering, states, limits, now);
    if (checks.length) await this.checkRates(checks, now);
    const rateKeys = checks.length ? checks.map((c) => c.key) : NO_KEYS;

    let attempt = 0;
    for (;;) {
      // A limit too small even for an empty counter: read it, so that the refusal tells the truth.
      const plan = states ? this.plan(covering, states, limits, input, now) : this.tryPlan(covering, limits, input, now);
      if (!plan) {
        states = await this.o.counters.read(keys());
        continue;
      }
      const held = this.local?.reserveNow(input.id, plan.reserved, this.o.leaseMs);
      const r = held ?? (await this.o.counters.reserve(input.id, plan.reserved, this.o.leaseMs));
      if (r.ok) return this.admitted(input.id, covering, plan, held?.ok ? held : null, runKeys, rateKeys, downgrades);
      // Not read yet, or another call took the room between our read and our reservation: look (again), then give up.
      const read = states !== null;
      states = await this.o.counters.read(keys());
      if (read && ++attempt >= 3) {
        const i = covering.findIndex((x) => x.key === r.key);
        throw this.exceeded(covering[i]!, r.state, limits[i] ?? null, r.what);
      }
    }
  }

  /** The plan for counters assumed empty, or null if even that cannot be afforded. */
  private tryPlan(covering: readonly Covering[], limits: readonly (bigint | null)[], input: AdmitInput, now: number): Plan | null {
    try {
      return this.plan(covering, null, limits, input, now);
    } catch (err) {
      if (err instanceof BursarError) return null;
      throw err;
    }
  }

  /**
   * The counters cannot be reached: a budget that fails closed refuses the call; if every one
   * in scope fails open, the call goes unreserved, and its line is counted once they are back.
   */
  private withoutCounters(covering: readonly Covering[], input: AdmitInput, now: number, cause: CountersUnavailable): Admission {
    const closed = covering.find((c) => c.budget.failClosed);
    if (closed) {
      throw new BursarError('budget_unavailable', `Budget "${closed.budget.name}" cannot be checked right now (the shared budget counters are unreachable), and it refuses calls until they are back. Retry in a few seconds.`, {
        details: { budget: closed.budget.id, budget_name: closed.budget.name, retry_after_seconds: 5 },
        cause,
      });
    }
    this.o.onOutage?.(cause);
    const tokens = input.inputBound + (input.requestedCap ?? input.defaultCap);
    const reserved: Reservation = { keys: covering.map((c) => c.key), nanos: covering.map(() => 0n), tokens, requests: 1, limits: covering.map(() => null) };
    return { ...NO_ADMISSION, lease: input.id, covering, reserved, assumedOutput: input.requestedCap ?? input.defaultCap, ...describe(covering) };
  }

  /** What a call's actual cost comes to on each of its budgets, in their currencies (for its ledger line). */
  chargesFor(a: Admission, costNano: bigint, costCurrency: string): BudgetCharges {
    const now = this.now();
    const nanos: bigint[] = new Array(a.covering.length);
    for (let i = 0; i < nanos.length; i++) {
      const currency = a.covering[i]!.budget.currency;
      nanos[i] = currency === costCurrency ? costNano : this.o.fx.convert(costNano, costCurrency, currency, now).nano;
    }
    // The keys are the reservation's: the counters can tell at a glance that the line charges what it reserved.
    return { keys: a.reserved.keys, nanos };
  }

  /**
   * A call ended with this line: counters in this process count it at once; on shared ones its
   * reservation shrinks to its actual amounts until the line is committed. Its tokens and tool
   * calls count for rate limits and its agent run. Returns a promise only when it has something
   * to wait for (shared counters, rates, agent runs).
   */
  finish(a: Admission, line: LedgerLine): Promise<void> | undefined {
    if (a.covering.length === 0) return undefined;
    const tokens = tokenTotal(line.tokens);
    const rates = tokens > 0 && a.rateKeys.length > 0;
    if (this.local) {
      this.local.settleNow(a.held, line.budgetCharges ?? NO_CHARGES, tokens);
      if (!rates && a.runKeys.length === 0) return undefined;
    }
    return this.finishWaiting(a, line, tokens, this.local === null && this.active.has(a.lease), rates);
  }

  /** `shrink`: the call holds a lease on the shared counters. */
  private async finishWaiting(a: Admission, line: LedgerLine, tokens: number, shrink: boolean, rates: boolean): Promise<void> {
    const now = this.now();
    try {
      if (shrink) await this.o.counters.shrink(actual(line, tokens));
      if (rates) await this.o.rates.addTokens(a.rateKeys, tokens, now);
      for (const k of a.runKeys) await this.o.runs.addToolCalls(k, line.toolCalls, now);
    } catch (err) {
      if (!(err instanceof CountersUnavailable)) throw err;
    }
  }

  /**
   * Counts committed ledger lines on their budgets: each line's charges replace its call's
   * reservation, and thresholds crossed become events. `lines` is the whole batch written,
   * `result` what the store added of it (a replayed line is not counted again). Counters in this
   * process counted the lines when their calls ended (finish): only the events are left.
   */
  async count(lines: readonly LedgerLine[], result: AppendResult): Promise<void> {
    if (this.local) {
      const moved = this.local.counted();
      if (moved.length) await this.thresholdEvents(moved);
      return;
    }
    if (this.active.size) for (const l of lines) this.active.delete(l.id);
    const batch: Settlement[] = [];
    for (const l of result.added) if (l.budgetCharges?.keys.length) batch.push(actual(l, tokenTotal(l.tokens)));
    if (batch.length === 0) return;
    const after = await this.o.counters.settle(batch, result.commit);
    if (after.size) await this.thresholdEvents(this.movesOf(batch, after));
    // Resolves once the batch is counted (later, if the counters are unreachable now).
    await this.o.counters.idle();
  }

  /** Drops the reservation of a call that never reached a provider. */
  async release(a: Admission): Promise<void> {
    this.active.delete(a.lease);
    if (a.held) this.local?.releaseNow(a.held);
    else if (a.covering.length) await this.o.counters.release(a.lease);
  }

  /** The money limit of a budget for one counter: its limit less the reserve still held, approved overrides, and money rolled over (see prepareRollovers). */
  limitOf(c: Covering, now: number): bigint | null {
    const b = c.budget;
    if (b.limitNano === null) return null;
    // A share of a metric not fed for this month allows nothing: exceeded() says which to feed.
    let limit = b.shareOf ? (this.o.index.shareLimit(b, c.window.label) ?? 0n) : b.limitNano;
    // The contingency reserve lowers the limit until released, as an override raises it: one limit, one hard-cap path.
    if (b.reserveNano !== null) limit -= this.o.index.heldReserve(b, c.member, now);
    if (this.o.index.hasOverrides) for (const o of this.o.index.activeOverrides(b.id, c.member, now)) limit += o.nano;
    if (b.rolloverMaxNano !== null) limit += this.rollovers.get(c.key) ?? 0n;
    return limit;
  }

  /** Works out, once per window and member, what budgets with rollover carry over from their previous window. */
  async prepareRollovers(covering: readonly Covering[]): Promise<void> {
    for (const c of covering) if (c.budget.rolloverMaxNano !== null && !this.rollovers.has(c.key)) await this.rollover(c);
  }

  private async rollover(c: Covering): Promise<bigint> {
    const b = c.budget;
    const prev = previousWindow(b.window, c.window, this.o.calendar);
    let carried = 0n;
    if (prev && b.limitNano !== null && b.rolloverMaxNano !== null) {
      const used = (await this.o.counters.read([counterKey(b.id, prev.start, c.member)])).values().next().value?.nano ?? 0n;
      const unused = b.limitNano - used;
      carried = unused <= 0n ? 0n : unused < b.rolloverMaxNano ? unused : b.rolloverMaxNano;
    }
    this.rollovers.set(c.key, carried);
    return carried;
  }

  /** The output cap and the worst case on each budget (`states`: the counters as read; null: assumed empty). `limits` is in `covering`'s order. */
  private plan(covering: readonly Covering[], states: Map<string, CounterState> | null, limits: readonly (bigint | null)[], input: AdmitInput, now: number): Plan {
    const price = input.price;
    const hard = covering.some((c) => c.budget.hard);
    let output = input.requestedCap ?? input.defaultCap;
    let capReason: string | null = input.requestedCap === null && hard ? 'default' : null;
    let worst = price ? worstCaseCost(price, input.inputBound, output, null) : 0n;
    // Most calls fit every budget at the cap asked for; only when one cannot pay for it is the cap worked out.
    if (hard && !this.fits(covering, states, limits, input, output, worst, now)) {
      const lowered = this.lowerCap(covering, states, limits, input, output, now);
      if (lowered) {
        output = lowered.cap;
        capReason = `budget:${lowered.budget}`;
        worst = price ? worstCaseCost(price, input.inputBound, output, null) : 0n;
      }
    }
    const n = covering.length;
    const keys: string[] = new Array(n);
    const nanos: bigint[] = new Array(n);
    const counterLimits: (CounterLimit | null)[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const c = covering[i]!;
      const b = c.budget;
      const limitNano = limits[i] ?? null;
      keys[i] = c.key;
      nanos[i] = this.inCurrency(worst, price, b, now);
      // A budget's own limit object, unless overrides, its reserve or rollover change it for this counter.
      counterLimits[i] = b.hard && limitNano !== b.limitNano ? { nano: limitNano, tokens: b.limitTokens, requests: b.limitRequests } : b.counterLimit;
    }
    const reserved: Reservation = { keys, nanos, tokens: input.inputBound + output, requests: 1, limits: counterLimits };
    const set = hard && (input.requestedCap === null || output < input.requestedCap);
    return { reserved, output, worst, cap: set ? output : null, capReason: set ? capReason : null };
  }

  /** A worst case in the provider's currency, in a budget's (rounded up). */
  private inCurrency(nano: bigint, price: ModelPrice | null, b: Budget, now: number): bigint {
    return !price ? 0n : b.currency === price.currency ? nano : this.o.fx.convert(nano, price.currency, b.currency, now, 'up').nano;
  }

  /** Whether every hard budget has room for the call's worst case at this output cap. */
  private fits(covering: readonly Covering[], states: Map<string, CounterState> | null, limits: readonly (bigint | null)[], input: AdmitInput, cap: number, worst: bigint, now: number): boolean {
    for (let i = 0; i < covering.length; i++) {
      const c = covering[i]!;
      if (!c.budget.hard) continue;
      const s = states?.get(c.key) ?? EMPTY_STATE;
      const limit = limits[i] ?? null;
      // Counters assumed empty (the first, optimistic plan) leave the whole limit: no BigInt arithmetic per budget.
      if (limit !== null && input.price && (s === EMPTY_STATE ? limit : limit - s.nano - s.reservedNano) < this.inCurrency(worst, input.price, c.budget, now)) return false;
      if (c.budget.limitTokens !== null && c.budget.limitTokens - s.tokens - s.reservedTokens - input.inputBound < cap) return false;
    }
    return true;
  }

  /** The largest output cap every hard budget can pay for, below `cap`, and the budget that sets it; null if none lowers it. Throws when it would be under the minimum. */
  private lowerCap(covering: readonly Covering[], states: Map<string, CounterState> | null, limits: readonly (bigint | null)[], input: AdmitInput, cap: number, now: number): { cap: number; budget: string } | null {
    const price = input.price;
    let tightest = -1;
    let bound: 'money' | 'tokens' = 'money';
    // The same for every budget: what the prompt costs, and what an output token costs.
    const promptCost = price ? worstCaseCost(price, input.inputBound, 0, null) : 0n;
    const outRate = price ? worstOutputRate(price, input.inputBound) : 0n;
    for (let i = 0; i < covering.length; i++) {
      const c = covering[i]!;
      if (!c.budget.hard) continue;
      const s = states?.get(c.key) ?? EMPTY_STATE;
      let room = Number.POSITIVE_INFINITY;
      let by: 'money' | 'tokens' = 'money';
      const limit = limits[i] ?? null;
      if (limit !== null && price) {
        const remaining = limit - s.nano - s.reservedNano;
        const inProvider = c.budget.currency === price.currency ? remaining : this.o.fx.convert(remaining, c.budget.currency, price.currency, now, 'down').nano;
        const afterInput = inProvider - promptCost;
        room = afterInput <= 0n ? 0 : outRate === 0n ? Number.POSITIVE_INFINITY : Number((afterInput * MILLION) / outRate);
      }
      if (c.budget.limitTokens !== null) {
        const tokenRoom = c.budget.limitTokens - s.tokens - s.reservedTokens - input.inputBound;
        if (tokenRoom < room) {
          room = tokenRoom;
          by = 'tokens';
        }
      }
      if (room < cap) {
        cap = Math.max(0, Math.floor(room));
        tightest = i;
        bound = by;
      }
    }
    if (tightest < 0) return null;
    const c = covering[tightest]!;
    if (cap < this.o.minOutputTokens) throw this.exceeded(c, states?.get(c.key) ?? EMPTY_STATE, limits[tightest] ?? null, bound);
    return { cap, budget: c.budget.id };
  }

  /** Thresholds that refuse or need approval (thrown), and those that throttle or step routing down; with the budgets' own rate limits, the rate checks to make. */
  private thresholds(covering: readonly Covering[], states: Map<string, CounterState> | null, limits: readonly (bigint | null)[], now: number): { checks: RateCheck[]; downgrades: { budget: string; at: number }[] } {
    if (!covering.some((c) => c.budget.gating || c.budget.rateLimit)) return NO_CHECKS;
    const checks: RateCheck[] = [];
    const downgrades: { budget: string; at: number }[] = [];
    for (let i = 0; i < covering.length; i++) {
      const c = covering[i]!;
      const b = c.budget;
      if (!b.gating && !b.rateLimit) continue;
      const limit = limits[i] ?? null;
      const used = states?.get(c.key)?.nano ?? 0n;
      const reached = limit === null || !b.gating ? [] : thresholdsReached(limit, used, b.thresholds.map((t) => t.at));
      let throttle: number | null = null;
      for (const t of b.thresholds) {
        if (!reached.includes(t.at)) continue;
        if (t.actions.includes('refuse')) throw this.exceeded(c, states?.get(c.key) ?? EMPTY_STATE, limit, 'money', t.at);
        if (t.actions.includes('require_approval') && this.o.index.activeOverrides(b.id, c.member, now).length === 0) {
          throw new BursarError('approval_required', `Budget "${b.name}" has used ${pct(used, limit!)} of ${formatAmount({ nano: limit!, currency: b.currency })}; past ${t.at}% each call needs an approved override. Request one: bursar overrides request ${b.id} --amount <amount> --reason "<why>".`, {
            details: this.facts(c, states?.get(c.key) ?? EMPTY_STATE, limit, t.at),
          });
        }
        if (t.actions.includes('throttle') && t.throttleRpm !== null) throttle = throttle === null ? t.throttleRpm : Math.min(throttle, t.throttleRpm);
        if (t.actions.includes('downgrade')) downgrades.push({ budget: b.id, at: t.at });
      }
      const rpm = minOf(b.rateLimit?.rpm ?? null, throttle);
      if (rpm !== null || b.rateLimit?.tpm) checks.push({ key: `${b.id}|rate|${c.member ?? ''}`, rpm, tpm: b.rateLimit?.tpm ?? null });
    }
    return { checks, downgrades };
  }

  /** Counts the call on the budgets' rate limits, or refuses it. */
  private async checkRates(checks: readonly RateCheck[], now: number): Promise<void> {
    const r = await this.o.rates.hit(checks, now);
    if (!r.ok) {
      const id = r.key.split('|')[0]!;
      const b = this.o.index.get(id);
      const secs = Math.max(1, Math.ceil(r.retryAfterMs / 1000));
      throw new BursarError('rate_limited', `Budget "${b?.name ?? id}" allows ${r.what === 'requests' ? 'no more requests' : 'no more tokens'} this minute; retry in ${secs} s.`, {
        details: { budget: id, retry_after_seconds: secs, limited: r.what },
      });
    }
  }

  private async checkRuns(covering: readonly Covering[], input: AdmitInput, now: number): Promise<string[]> {
    const run = input.facts.dims.agent_run;
    if (run === null) return [];
    const keys: string[] = [];
    let hash: string | null = null;
    for (const c of covering) {
      const lim = c.budget.agentRuns;
      if (!lim) continue;
      const key = `${c.budget.id}|run|${run}`;
      hash ??= input.requestHash();
      const v = await this.o.runs.admit(key, lim, hash, now);
      if (!v.ok) {
        throw new BursarError(v.rule === 'loop' ? 'agent_loop' : 'agent_run_limit', `Agent run "${run}" is stopped by budget "${c.budget.name}": ${v.detail}. Start a new run (a new x-bursar-agent-run) once the cause is fixed.`, {
          details: { budget: c.budget.id, agent_run: run, rule: v.rule },
        });
      }
      keys.push(key);
    }
    return keys;
  }

  /** What a counter's thresholds are measured against: its budget in its window, its limit now and its lowest threshold's amount; null if it has no threshold. */
  private thresholdsOf(key: string, now: number): { c: Covering; limit: bigint; lowest: bigint } | null {
    const { budget: id, windowStart, member } = parseCounterKey(key);
    const budget = this.o.index.get(id);
    if (!budget || budget.thresholds.length === 0 || budget.limitNano === null) return null;
    const c: Covering = { budget, window: this.o.index.windowOf(budget, windowStart), member, key };
    const limit = this.limitOf(c, now);
    return limit === null || limit <= 0n ? null : { c, limit, lowest: thresholdAmount(limit, budget.thresholds[0]!.at) };
  }

  /**
   * What a settled batch moved its counters by, from the money used after it (shared counters
   * report only that). Only a counter now at or past its lowest threshold can have crossed one:
   * the batch's sums are worked out for those alone (most batches have none, and need nothing per line).
   */
  private movesOf(batch: readonly Settlement[], after: ReadonlyMap<string, bigint>): CounterMove[] {
    const now = this.now();
    const sums = new Map<string, bigint>();
    for (const [key, used] of after) {
      const t = this.thresholdsOf(key, now);
      if (t && used >= t.lowest) sums.set(key, 0n);
    }
    if (sums.size === 0) return [];
    for (const s of batch) {
      const { keys, nanos } = s.charges;
      for (let i = 0; i < keys.length; i++) {
        const sum = sums.get(keys[i]!);
        if (sum !== undefined) sums.set(keys[i]!, sum + nanos[i]!);
      }
    }
    return [...sums].map(([key, sum]) => ({ key, from: after.get(key)! - sum, to: after.get(key)! }));
  }

  /** Events for the thresholds counters passed, each from its money used before to after. */
  private async thresholdEvents(moves: readonly CounterMove[]): Promise<void> {
    const now = this.now();
    for (const { key, from, to } of moves) {
      const t = this.thresholdsOf(key, now);
      if (!t || to < t.lowest) continue;
      const { c, limit } = t;
      const budget = c.budget;
      for (const at of thresholdsCrossed(limit, from, to, budget.thresholds.map((x) => x.at))) {
        const th = budget.thresholds.find((x) => x.at === at)!;
        const fresh = await this.o.events.record({
          id: `threshold|${key}|${at}`,
          ts: now,
          kind: 'threshold',
          budget: budget.id,
          details: { threshold: at, actions: th.actions, window: c.window.label, member: c.member, used: formatAmount({ nano: to, currency: budget.currency }), limit: formatAmount({ nano: limit, currency: budget.currency }), owner: budget.owner },
        });
        if (fresh) this.o.log.info({ budget: budget.id, threshold: at, window: c.window.label, member: c.member }, 'budget threshold crossed');
      }
    }
  }

  private facts(c: Covering, s: CounterState, limit: bigint | null, threshold?: number): Record<string, unknown> {
    const b = c.budget;
    const money = (n: bigint) => formatAmount({ nano: n, currency: b.currency });
    return {
      budget: b.id,
      budget_name: b.name,
      window: c.window.label,
      ...(c.member !== null ? { member: c.member } : {}),
      ...(limit !== null ? { used: money(s.nano), reserved: money(s.reservedNano), limit: money(limit), remaining: money(limit - s.nano - s.reservedNano) } : {}),
      ...(b.limitTokens !== null ? { tokens_used: s.tokens, tokens_limit: b.limitTokens } : {}),
      ...(b.limitRequests !== null ? { requests_used: s.requests, requests_limit: b.limitRequests } : {}),
      ...(threshold !== undefined ? { threshold } : {}),
      resets_at: 'from' in b.window ? null : new Date(c.window.end).toISOString(),
      owner: b.owner,
      override: `bursar overrides request ${b.id} --amount <amount> --reason "<why>"`,
      ...(b.reserveNano !== null ? { reserve_held: formatAmount({ nano: this.o.index.heldReserve(b, c.member, this.now()), currency: b.currency }) } : {}),
    };
  }

  private exceeded(c: Covering, s: CounterState, limit: bigint | null, what: 'money' | 'tokens' | 'requests', threshold?: number): BursarError {
    const b = c.budget;
    const who = c.member !== null ? ` for ${b.per} "${c.member}"` : '';
    const resets = 'from' in b.window ? `It ends ${new Date(c.window.end).toISOString().slice(0, 10)}.` : `It resets ${new Date(c.window.end).toISOString()}.`;
    const held = (amount: string): string => `, ${amount} held by calls not yet in the ledger`;
    const usedText =
      what === 'money' && limit !== null
        ? `${formatAmount({ nano: s.nano, currency: b.currency })} of ${formatAmount({ nano: limit, currency: b.currency })} used${s.reservedNano > 0n ? held(formatAmount({ nano: s.reservedNano, currency: b.currency })) : ''}`
        : what === 'tokens'
          ? `${s.tokens} of ${b.limitTokens} tokens used${s.reservedTokens > 0 ? held(`${s.reservedTokens} more`) : ''}`
          : `${s.requests} of ${b.limitRequests} requests used${s.reservedRequests > 0 ? held(`${s.reservedRequests} more`) : ''}`;
    const why = threshold !== undefined ? `passed ${threshold}%, where it refuses calls` : 'cannot pay for this call';
    if (b.shareOf && what === 'money' && this.o.index.shareLimit(b, c.window.label) === null) {
      const share = b.shareOf;
      return new BursarError('budget_exceeded', `Budget "${b.name}" is ${decimalText(share.percentNano)}% of the metric "${share.metric}" of ${share.departments.join(', ')}, and none is fed for ${c.window.label} yet, so it allows nothing. Feed it: bursar allocations metric ${share.metric} ${c.window.label} ${share.departments.map((d) => `${d}=<value>`).join(' ')}.`, {
        details: { ...this.facts(c, s, limit, threshold), metric: share.metric, period: c.window.label },
      });
    }
    const heldBack = this.o.index.heldReserve(b, c.member, this.now());
    const reserve = heldBack > 0n ? ` ${formatAmount({ nano: heldBack, currency: b.currency })} more is held in its contingency reserve: bursar reserves release ${b.id} --reason "<why>".` : '';
    return new BursarError('budget_exceeded', `Budget "${b.name}"${who} ${why} (${usedText}, ${c.window.label}). ${resets}${reserve} To ask for more: bursar overrides request ${b.id} --amount <amount> --reason "<why>"${b.owner ? `, approved by ${b.owner}` : ''}.`, {
      details: this.facts(c, s, limit, threshold),
    });
  }
}

/** Budget category and owner of a call: sandbox or pilot when such a budget covers it; the owner of its most specific budget. */
function describe(covering: readonly Covering[]): { category: BudgetCategory | null; owner: string | null } {
  let category: BudgetCategory = 'production';
  let owner: string | null = null;
  let depth = -1;
  for (const c of covering) {
    if (c.budget.category === 'sandbox' || (c.budget.category === 'pilot' && category === 'production')) category = c.budget.category;
    const d = c.budget.scope.length + (c.budget.per ? 1 : 0);
    if (c.budget.owner && d > depth) {
      owner = c.budget.owner;
      depth = d;
    }
  }
  return { category, owner };
}

function minOf(a: number | null, b: number | null): number | null {
  return a === null ? b : b === null ? a : Math.min(a, b);
}

function pct(used: bigint, limit: bigint): string {
  return limit > 0n ? `${Number((used * 1000n) / limit) / 10}%` : '100%';
}

export type { Budget };

/** What a call's line charged its counters, to replace its reservation. */
function actual(l: LedgerLine, tokens: number): Settlement {
  return { lease: l.id, charges: l.budgetCharges ?? NO_CHARGES, tokens };
}
