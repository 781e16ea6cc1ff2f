/**
 * The ports the core owns. Adapters (SQLite, PostgreSQL, Redis, HTTP providers) implement
 * them; each port has one conformance suite under test/conformance that every adapter passes.
 */
import type { Dialect } from './errors.js';
import type { AgentRunTotals, AgentSummary, BudgetCharges, RunVerdictTotals, FirstMatchGroups, FirstMatchQuery, LedgerLine, LineMatch, Outcome, OutcomeDimension, OutcomeTotals, UsageQuery, UsageRow } from './ledger.js';

// ---------------------------------------------------------------- ledger

export interface ScanQuery {
  readonly from: number;
  readonly to: number;
  /**
   * Only these ledger columns (besides id and ts), the rest of each line at its blank value: a
   * scan that needs a few fields of millions of lines (an allocation run) reads only those.
   */
  readonly columns?: readonly string[];
  /** Only the lines whose first match among `matches` (-1: none) is one of `keep`. */
  readonly firstMatch?: { readonly matches: readonly LineMatch[]; readonly keep: readonly number[] };
}

export interface AppendResult {
  /** The lines actually added: a line whose id is already present is skipped. */
  readonly added: readonly LedgerLine[];
  /**
   * The transaction that committed them, for counters rebuilt from a snapshot of the ledger
   * (PostgreSQL: its transaction id); null where one process does all the writing.
   */
  readonly commit: string | null;
}

/** What the ledger has charged budget counters, read in one snapshot. */
export interface BudgetTotals {
  readonly amounts: readonly CounterAmount[];
  /** The snapshot they were read in (PostgreSQL: pg_current_snapshot()), or null. */
  readonly snapshot: string | null;
}

/** The append-only ledger of every cost. */
export interface LedgerStore {
  /** Appends lines in one transaction; a line whose id is already present is skipped (so replays count once). */
  append(lines: readonly LedgerLine[]): Promise<AppendResult>;
  /**
   * What the lines charged each budget counter whose key starts with one of `prefixes`: kept
   * with the lines, in the same transaction, so rebuilding the counters reads a few rows.
   */
  budgetTotals(prefixes: readonly string[]): Promise<BudgetTotals>;
  get(id: string): Promise<LedgerLine | undefined>;
  /** Spend and tokens over a time range, grouped and filtered by dimensions, one row per group and currency. */
  aggregate(query: UsageQuery): Promise<UsageRow[]>;
  /** Every line of a period, in time order, without holding them all in memory. */
  scan(query: ScanQuery): AsyncIterable<LedgerLine>;
  /** A period's lines grouped by the first of `matches` that takes each, and by department, project and budget category (and more, for the matches asked apart). */
  firstMatchGroups(query: FirstMatchQuery): Promise<FirstMatchGroups>;
  /** Records outcomes; one already recorded for the same call or run is replaced. */
  recordOutcomes(outcomes: readonly Outcome[]): Promise<void>;
  /** Outcomes reported in a period, grouped by some of their dimensions (and by the UTC day or hour they were reported in, as group.day or group.hour). */
  outcomeTotals(query: { readonly from: number; readonly to: number; readonly groupBy: readonly OutcomeDimension[]; readonly interval?: 'day' | 'hour' }): Promise<OutcomeTotals[]>;
  /** The agent runs whose last call falls in a period, each whole, in the group of its first call, per currency its calls were priced in. */
  agentRuns(query: { readonly from: number; readonly to: number; readonly groupBy: readonly OutcomeDimension[] }): Promise<AgentRunTotals[]>;
  /** The agent runs of a period (as agentRuns) that a refusal stopped or that were abandoned, per group and currency (unit economics). */
  runVerdicts(query: { readonly from: number; readonly to: number; readonly groupBy: readonly OutcomeDimension[]; readonly idleBefore: number }): Promise<RunVerdictTotals[]>;
  /** Per agent, its runs of a period (as agentRuns) and their calls, refusals and cost (the agents view); `department` and `user` (of a run's first call) narrow it. */
  agentSummary(query: { readonly from: number; readonly to: number; readonly department?: readonly string[]; readonly user?: readonly string[] }): Promise<AgentSummary[]>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- config

/** A configuration record (a key, an admin token, a suspension; later budgets, routes, overrides). */
export interface StoredRecord {
  readonly kind: string;
  readonly id: string;
  readonly body: Readonly<Record<string, unknown>>;
  /** Increments on every write; used for optimistic concurrency. */
  readonly version: number;
  readonly updatedAt: number;
}

export interface AuditInput {
  /** Who: an admin token's label, "cli", "config" (bursar.yaml), "system". */
  readonly actor: string;
  /** What, as verb.noun: "key.create", "key.revoke", "config.apply". */
  readonly action: string;
  readonly target: string;
  readonly details: Readonly<Record<string, unknown>>;
}

/** One entry of the append-only audit log, chained to the previous one by hash. */
export interface AuditEntry extends AuditInput {
  readonly seq: number;
  readonly ts: number;
  readonly prevHash: string;
  readonly hash: string;
}

export interface RecordWrite {
  readonly kind: string;
  readonly id: string;
  /** The new body, or null to delete the record. */
  readonly body: Readonly<Record<string, unknown>> | null;
  /** When set, the write fails with a conflict unless the stored version matches (0: must not exist). */
  readonly expectVersion?: number;
}

export interface RecordChange {
  readonly kind: string;
  readonly id: string;
  /** The record after the change (null: deleted); absent when relayed from another node, so fetch it. */
  readonly record?: StoredRecord | null;
}

export interface AuditQuery {
  readonly afterSeq?: number;
  readonly limit?: number;
  readonly target?: string;
}

/** Keys, tokens, budgets, routes, overrides: versioned records with an audit trail and change notifications. */
export interface ConfigStore {
  list(kind: string): Promise<StoredRecord[]>;
  get(kind: string, id: string): Promise<StoredRecord | undefined>;
  /** Writes a record and appends its audit entry in one transaction. */
  write(change: RecordWrite, audit: AuditInput): Promise<StoredRecord | null>;
  /** Appends an audit entry that is not tied to one record write. */
  appendAudit(audit: AuditInput): Promise<AuditEntry>;
  audit(query: AuditQuery): Promise<AuditEntry[]>;
  /** Calls `listener` after every committed write (on this node; a shared store also relays other nodes' writes). */
  watch(listener: (change: RecordChange) => void): () => void;
  /**
   * Resolves once every change committed anywhere before the call has been passed to the watch
   * listeners (a shared store; a local one has nothing to wait for). Lets a replica find a key
   * made a moment ago on another one.
   */
  sync(): Promise<void>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- providers

/** Aborts a provider call: any emitter of 'abort' with an `aborted` flag (an AbortSignal, or lighter). */
export interface CallSignal {
  readonly aborted: boolean;
  /** Runs `listener` when the call is aborted from now on (a provider checks `aborted` for an abort before). */
  onAbort(listener: () => void): void;
}

export interface UpstreamRequest {
  /** Path under the provider's base URL, e.g. "/chat/completions". */
  readonly path: string;
  readonly body: string | Uint8Array;
  /** Caller headers the provider should see (anthropic-version, anthropic-beta, openai-beta...). */
  readonly headers: Readonly<Record<string, string>>;
  readonly signal: CallSignal;
}

/** Flow control of a response being received. */
export interface UpstreamControl {
  /** Takes more body after onData returned false. */
  resume(): void;
}

/**
 * Receives a provider's response as it arrives: push-based, so no stream object is built per
 * call (on the benchmark, undici's stream-returning API cost a third of a bare proxy's time).
 */
export interface UpstreamSink {
  onStart(status: number, headers: Readonly<Record<string, string | string[] | undefined>>, control: UpstreamControl): void;
  /** A piece of the body; false asks the provider to pause until control.resume(). */
  onData(chunk: Buffer): boolean;
  onEnd(): void;
  /** Transport failure or abort; no more calls follow. */
  onError(err: unknown): void;
}

/** A model provider, reached over HTTP in one of the two dialects. */
export interface Provider {
  readonly id: string;
  readonly dialect: Dialect;
  send(request: UpstreamRequest, sink: UpstreamSink): void;
  close(): Promise<void>;
}

// ---------------------------------------------------------------- budget counters

/** What a counter may hold; a null field is not limited. */
export interface CounterLimit {
  readonly nano: bigint | null;
  readonly tokens: number | null;
  readonly requests: number | null;
}

/** An amount on one counter (a budget, its window and its member): what the ledger's lines charged it. */
export interface CounterAmount {
  readonly key: string;
  readonly nano: bigint;
  readonly tokens: number;
  readonly requests: number;
}

/**
 * A call's reservation: its worst case on each counter in its scope (`keys[i]` by `nanos[i]`,
 * in that budget's currency), the same tokens and requests on every one, and what each may hold
 * (`limits[i]`; null for a counter that only counts, a soft budget's). Arrays rather than an
 * object per counter: a reservation lives as long as its call, and the keys are shared with the
 * call's ledger lines.
 */
export interface Reservation extends BudgetCharges {
  readonly tokens: number;
  readonly requests: number;
  readonly limits: readonly (CounterLimit | null)[];
}

export interface CounterState {
  readonly nano: bigint;
  readonly tokens: number;
  readonly requests: number;
  readonly reservedNano: bigint;
  readonly reservedTokens: number;
  readonly reservedRequests: number;
}

/** A reservation refused: the counter that had no room, for what, and how it stood. */
export interface Refusal {
  readonly ok: false;
  readonly key: string;
  readonly what: 'money' | 'tokens' | 'requests';
  readonly state: CounterState;
}

export type ReserveResult = { readonly ok: true } | Refusal;

/**
 * A lease held by counters in this process, as reserveNow answers it. The call hands it back
 * when it ends (settleNow) or never reaches a provider (releaseNow): no call looks its lease up
 * by id, so the counters keep no map that gains and loses an entry per call (see
 * src/core/in-flight.ts for why that matters).
 */
export interface HeldLease {
  readonly ok: true;
}

/**
 * A call's actual amounts, to replace its reservation: the money its ledger line charged each
 * counter, and on every one of them the line's tokens and one request. (The line's own charges,
 * so that a call's end allocates nothing per counter.)
 */
export interface Settlement {
  readonly lease: string;
  readonly charges: BudgetCharges;
  readonly tokens: number;
}

/** A counter counted on since it was last reported, with its money used then and now (for threshold events). */
export interface CounterMove {
  readonly key: string;
  readonly from: bigint;
  readonly to: bigint;
}

/**
 * Counters that answer at once, without a promise, held in this process: the guard's path for
 * calls with nothing to wait for. They live and die with the process, and are rebuilt from the
 * ledger (the spool replayed first) at each start, so a call's line is counted when the call
 * ends (settleNow), not when its line is committed: nothing but this process could count it
 * twice, and a line that has ended is in the writer's queue or the spool, on its way to the
 * ledger the next start reads.
 */
export interface ImmediateCounters {
  reserveNow(lease: string, r: Reservation, ttlMs: number): HeldLease | Refusal;
  /** A call ended with these charges: they replace its reservation (`held`, dropped if it has not expired) at once. */
  settleNow(held: HeldLease | null, charges: BudgetCharges, tokens: number): void;
  /** Drops a reservation at once: the call never reached a provider. */
  releaseNow(held: HeldLease): void;
  /** The counters counted on since the last report, each once. */
  counted(): CounterMove[];
  /** Renews every lease held: they are all this process's calls. */
  renewAll(ttlMs: number): void;
}

/**
 * Budget counters: a call reserves its worst case on every counter in its scope at once (all or
 * none); once its ledger line is committed (when the call ends, for counters in this process:
 * see ImmediateCounters), the actual amount replaces the reservation. A
 * reservation is a lease: if its holder dies and stops renewing it, it expires and frees its
 * room. The counters are derived from the ledger, and can be rebuilt from it (load).
 */
export interface BudgetCounters {
  /** The same counters, answering at once; null when every answer is a round trip (shared counters). */
  readonly immediate: ImmediateCounters | null;
  /** Reserves every charge, or none; refuses when a limit would be passed by used + reserved + charge. */
  reserve(lease: string, r: Reservation, ttlMs: number): Promise<ReserveResult>;
  /**
   * Counts committed ledger lines: each settlement replaces its lease's reservations with the
   * actual amounts (counted even if the lease had expired). `commit` is the AppendResult's: a
   * line the last rebuild already read (its commit visible in that snapshot) only drops its
   * lease, and a batch replayed after a lost reply counts once. Returns each key's money used after.
   */
  settle(batch: readonly Settlement[], commit: string | null): Promise<Map<string, bigint>>;
  /**
   * Resolves once every settlement handed over so far is counted: at once, unless the counters
   * are unreachable and settlements wait for them (the writer keeps those calls in its spool
   * until then, so a crash meanwhile is followed by a rebuild).
   */
  idle(): Promise<void>;
  /** Settlements handed over but not counted yet (waiting for unreachable counters). */
  readonly pendingSettlements: number;
  /**
   * A call ended: its lease now holds its actual amounts instead of its worst case, until its
   * line is committed (so that the next call is not held back by an estimate). No-op for a lease
   * that is gone (settled or expired).
   */
  shrink(actual: Settlement): Promise<void>;
  /** Drops a lease's reservations: the call never reached a provider. */
  release(lease: string): Promise<void>;
  /** Keeps leases alive for another `ttlMs`. */
  renew(leases: readonly string[], ttlMs: number): Promise<void>;
  read(keys: readonly string[]): Promise<Map<string, CounterState>>;
  /** Every counter whose key starts with `prefix` (a per-member budget's members in a window). */
  scan(prefix: string): Promise<Map<string, CounterState>>;
  /** Sets the used amounts to the ledger's totals (a rebuild; reservations in flight stay). */
  load(totals: BudgetTotals): Promise<void>;
  /**
   * Rebuilds the counters with `rebuild` if they do not hold the ledger yet (the first start;
   * Redis lost its data): one node rebuilds, the others wait. Keeps `rebuild` to heal later
   * losses itself. Returns whether this call rebuilt them. `force`: rebuild even if they hold
   * the ledger (a node that crashed may have committed lines it never counted).
   */
  attach(rebuild: () => Promise<BudgetTotals>, opts?: { readonly force?: boolean }): Promise<boolean>;
  close(): Promise<void>;
}

/** The counters cannot be reached (Redis down): hard budgets refuse calls, soft ones let them through uncounted. */
export class CountersUnavailable extends Error {
  override readonly name = 'CountersUnavailable';
}

// ---------------------------------------------------------------- rate limits

export interface RateCheck {
  readonly key: string;
  /** Requests per minute; null: not limited. */
  readonly rpm: number | null;
  /** Tokens per minute; null: not limited. */
  readonly tpm: number | null;
}

export type RateResult = { readonly ok: true } | { readonly ok: false; readonly key: string; readonly what: 'requests' | 'tokens'; readonly retryAfterMs: number };

/** Requests and tokens per minute, per scope, over a sliding minute. */
export interface RateLimits {
  /** Counts one request on every check, or on none if one of them is at its limit. */
  hit(checks: readonly RateCheck[], now: number): Promise<RateResult>;
  /** Counts tokens after a call. */
  addTokens(keys: readonly string[], tokens: number, now: number): Promise<void>;
}

// ---------------------------------------------------------------- agent runs

/** What an agent run may do; null: not limited. */
export interface RunLimits {
  readonly maxCalls: number | null;
  readonly maxToolCalls: number | null;
  readonly maxSeconds: number | null;
  /** Stop a run that sends the same request this many times. */
  readonly loopRepeats: number | null;
}

export type RunVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly rule: 'max_calls' | 'max_tool_calls' | 'max_seconds' | 'loop'; readonly detail: string };

/** Calls and tool calls per agent run (x-bursar-agent-run), shared by every node that serves the run. */
export interface RunTracker {
  /** Checks a new call of a run against its limits, and counts it if it may go. */
  admit(key: string, limits: RunLimits, requestHash: string, now: number): Promise<RunVerdict>;
  addToolCalls(key: string, n: number, now: number): Promise<void>;
}

// ---------------------------------------------------------------- events

/** Something that happened to a budget and people may need to hear about (a threshold crossed...). */
export interface BudgetEvent {
  /** Unique per occurrence: a second record with the same id is ignored (a threshold fires once per window). */
  readonly id: string;
  readonly ts: number;
  readonly kind: string;
  readonly budget: string;
  readonly details: Readonly<Record<string, unknown>>;
}

export interface EventQuery {
  readonly budget?: string;
  readonly since?: number;
  readonly limit?: number;
}

/** The append-only record of budget events (alerts, expiries, approvals needed). */
export interface EventLog {
  /** Records an event; false when one with the same id was already recorded. */
  record(event: BudgetEvent): Promise<boolean>;
  list(query: EventQuery): Promise<BudgetEvent[]>;
}

// Notifier (webhook, Slack, email, log) arrives with alerts.
