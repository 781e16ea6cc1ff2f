/**
 * BudgetCounters in process memory, for one node. Each method's work is synchronous, so a
 * reservation across several counters is atomic without locks. The counters are rebuilt from
 * the ledger at start, before any line is appended, so a settlement never needs telling apart
 * from the rebuild (commit marks are ignored), and the guard counts each call when it ends
 * (settleNow; see ImmediateCounters). Leases still expire, so a call that hangs cannot hold room
 * forever.
 */
import type { BudgetCharges } from '../core/ledger.js';
import type { BudgetCounters, BudgetTotals, CounterMove, CounterState, ImmediateCounters, Reservation, ReserveResult, Settlement } from '../core/ports.js';

interface Entry {
  readonly key: string;
  nano: bigint;
  tokens: number;
  requests: number;
  reservedNano: bigint;
  reservedTokens: number;
  reservedRequests: number;
  /** Money used when counted() last reported it. */
  reported: bigint;
  /** Counted on since then (it is in `moved`: each counter is reported once, without a map write per charge). */
  moved: boolean;
}

/**
 * What a call holds: its reservation's money on each counter, and its tokens and requests on
 * every one (once shrunk: its line's charges, tokens and one request). `entries` are the
 * counters, looked up once when it reserved: a call touches each of them again when it ends,
 * and a hash lookup per touch showed under load.
 */
interface Lease {
  readonly charges: BudgetCharges;
  readonly tokens: number;
  readonly requests: number;
  readonly entries: readonly Entry[];
  expiresAt: number;
}

/** Whether charges are on a lease's counters, in its order (a call's line charges what it reserved, with the same keys). */
function sameCounters(l: Lease, charges: BudgetCharges): boolean {
  const a = l.charges.keys;
  const b = charges.keys;
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const fresh = (key: string): Entry => ({ key, nano: 0n, tokens: 0, requests: 0, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0, reported: 0n, moved: false });
const stateOf = (e: Entry): CounterState => ({ nano: e.nano, tokens: e.tokens, requests: e.requests, reservedNano: e.reservedNano, reservedTokens: e.reservedTokens, reservedRequests: e.reservedRequests });
const EMPTY: Readonly<Entry> = fresh('');

function add(e: Entry, nano: bigint, tokens: number, requests: number): void {
  e.nano += nano;
  e.tokens += tokens;
  e.requests += requests;
}

export class MemoryCounters implements BudgetCounters, ImmediateCounters {
  readonly immediate: ImmediateCounters = this;
  private readonly entries = new Map<string, Entry>();
  private readonly leases = new Map<string, Lease>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  /** Counters counted on since counted() last reported them. */
  private moved: Entry[] = [];
  private attached = false;

  constructor(private readonly now: () => number = Date.now) {}

  async reserve(lease: string, r: Reservation, ttlMs: number): Promise<ReserveResult> {
    return this.reserveNow(lease, r, ttlMs);
  }

  /** reserve, answered at once (the guard's path for calls with nothing to wait for). */
  reserveNow(lease: string, r: Reservation, ttlMs: number): ReserveResult {
    this.expire();
    const { keys, nanos, limits, tokens, requests } = r;
    const entries: (Entry | undefined)[] = new Array(keys.length);
    for (let i = 0; i < keys.length; i++) {
      const e = (entries[i] = this.entries.get(keys[i]!));
      const l = limits[i];
      if (!l) continue;
      const s = e ?? EMPTY;
      if (l.nano !== null && s.nano + s.reservedNano + nanos[i]! > l.nano) return { ok: false, key: keys[i]!, what: 'money', state: stateOf(s) };
      if (l.tokens !== null && s.tokens + s.reservedTokens + tokens > l.tokens) return { ok: false, key: keys[i]!, what: 'tokens', state: stateOf(s) };
      if (l.requests !== null && s.requests + s.reservedRequests + requests > l.requests) return { ok: false, key: keys[i]!, what: 'requests', state: stateOf(s) };
    }
    // Admitted: a counter this call is the first to reserve on starts empty.
    for (let i = 0; i < keys.length; i++) entries[i] ??= this.entryOf(keys[i]!);
    const l: Lease = { charges: r, tokens, requests, entries: entries as Entry[], expiresAt: this.now() + ttlMs };
    this.hold(l);
    this.leases.set(lease, l);
    if (l.expiresAt < this.nextExpiry) this.nextExpiry = l.expiresAt;
    return { ok: true };
  }

  /** Counts each settlement (see settleNow); returns the money used of the counters counted on since the last report. */
  async settle(batch: readonly Settlement[]): Promise<Map<string, bigint>> {
    for (const s of batch) this.settleNow(s.lease, s.charges, s.tokens);
    return new Map(this.counted().map((m) => [m.key, m.to]));
  }

  settleNow(lease: string, charges: BudgetCharges, tokens: number): void {
    const l = this.drop(lease);
    const { keys, nanos } = charges;
    const entries = l && sameCounters(l, charges) ? l.entries : null;
    for (let i = 0; i < keys.length; i++) {
      const e = entries ? entries[i]! : this.entryOf(keys[i]!);
      add(e, nanos[i]!, tokens, 1);
      if (!e.moved) {
        e.moved = true;
        this.moved.push(e);
      }
    }
  }

  counted(): CounterMove[] {
    const moved = this.moved;
    if (moved.length === 0) return [];
    this.moved = [];
    return moved.map((e) => {
      const m = { key: e.key, from: e.reported, to: e.nano };
      e.reported = e.nano;
      e.moved = false;
      return m;
    });
  }

  /** Shared counters' step between a call's end and its commit; the guard settles these at once instead (settleNow). */
  async shrink(actual: Settlement): Promise<void> {
    const l = this.leases.get(actual.lease);
    if (!l) return;
    this.unhold(l);
    const entries = sameCounters(l, actual.charges) ? l.entries : actual.charges.keys.map((k) => this.entryOf(k));
    const shrunk: Lease = { charges: actual.charges, tokens: actual.tokens, requests: 1, entries, expiresAt: l.expiresAt };
    this.hold(shrunk);
    this.leases.set(actual.lease, shrunk);
  }

  async idle(): Promise<void> {}

  /** Counted as they come: never any waiting. */
  readonly pendingSettlements = 0;

  async release(lease: string): Promise<void> {
    this.drop(lease);
  }

  renewAll(ttlMs: number): void {
    const at = this.now() + ttlMs;
    for (const l of this.leases.values()) l.expiresAt = at;
  }

  async renew(leases: readonly string[], ttlMs: number): Promise<void> {
    const at = this.now() + ttlMs;
    for (const id of leases) {
      const l = this.leases.get(id);
      if (l) l.expiresAt = at;
    }
  }

  async read(keys: readonly string[]): Promise<Map<string, CounterState>> {
    this.expire();
    const out = new Map<string, CounterState>();
    for (const k of keys) out.set(k, stateOf(this.entries.get(k) ?? EMPTY));
    return out;
  }

  async scan(prefix: string): Promise<Map<string, CounterState>> {
    this.expire();
    const out = new Map<string, CounterState>();
    for (const [k, e] of this.entries) if (k.startsWith(prefix)) out.set(k, stateOf(e));
    return out;
  }

  async load(totals: BudgetTotals): Promise<void> {
    for (const e of this.entries.values()) {
      e.nano = 0n;
      e.tokens = 0;
      e.requests = 0;
    }
    for (const a of totals.amounts) add(this.entryOf(a.key), a.nano, a.tokens, a.requests);
    // What the ledger held was reported (or was never crossed here): only what is counted from now on moves.
    for (const e of this.entries.values()) e.reported = e.nano;
  }

  /** Loads the ledger's totals on the first call (process memory starts empty); later calls find them loaded. */
  async attach(rebuild: () => Promise<BudgetTotals>, opts: { readonly force?: boolean } = {}): Promise<boolean> {
    if (this.attached && !opts.force) return false;
    this.attached = true;
    try {
      await this.load(await rebuild());
    } catch (err) {
      this.attached = false;
      throw err;
    }
    return true;
  }

  async close(): Promise<void> {}

  /** In-flight leases (for renewal and tests). */
  get leaseCount(): number {
    return this.leases.size;
  }

  /** A counter, made empty the first time (counters are never removed: a lease keeps its entries). */
  private entryOf(key: string): Entry {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = fresh(key)));
    return e;
  }

  private hold(l: Lease): void {
    const nanos = l.charges.nanos;
    for (let i = 0; i < nanos.length; i++) {
      const e = l.entries[i]!;
      e.reservedNano += nanos[i]!;
      e.reservedTokens += l.tokens;
      e.reservedRequests += l.requests;
    }
  }

  private drop(lease: string): Lease | undefined {
    const l = this.leases.get(lease);
    if (!l) return undefined;
    this.leases.delete(lease);
    this.unhold(l);
    return l;
  }

  /** Takes a lease's amounts off its counters' reservations. */
  private unhold(l: Lease): void {
    const nanos = l.charges.nanos;
    for (let i = 0; i < nanos.length; i++) {
      const e = l.entries[i]!;
      e.reservedNano -= nanos[i]!;
      e.reservedTokens -= l.tokens;
      e.reservedRequests -= l.requests;
    }
  }

  /** Frees the leases whose holders stopped renewing them. */
  private expire(): void {
    const now = this.now();
    if (now < this.nextExpiry) return;
    let next = Number.POSITIVE_INFINITY;
    for (const [id, l] of this.leases) {
      if (l.expiresAt <= now) this.drop(id);
      else if (l.expiresAt < next) next = l.expiresAt;
    }
    this.nextExpiry = next;
  }
}
