/**
 * BudgetCounters in process memory, for one node. Each method's work is synchronous, so a
 * reservation across several counters is atomic without locks. The counters are rebuilt from
 * the ledger at start, before any line is appended, so a settlement never needs telling apart
 * from the rebuild (commit marks are ignored); leases still expire, so a call that hangs cannot
 * hold room forever.
 */
import type { BudgetCharge } from '../core/ledger.js';
import type { BudgetCounters, BudgetTotals, CounterAmount, CounterCharge, CounterState, ImmediateCounters, ReserveResult, Settlement } from '../core/ports.js';

interface Entry {
  nano: bigint;
  tokens: number;
  requests: number;
  reservedNano: bigint;
  reservedTokens: number;
  reservedRequests: number;
}

/**
 * What a call holds: its reservation (`tokens` null: each charge says its tokens and requests)
 * or, once it ended, its line's charges (each holding `tokens` and one request).
 */
type Lease =
  | { readonly charges: readonly CounterAmount[]; readonly tokens: null; expiresAt: number }
  | { readonly charges: readonly BudgetCharge[]; readonly tokens: number; expiresAt: number };

/** The tokens and requests a lease holds on the counter of its i-th charge. */
const heldTokens = (l: Lease, i: number): number => (l.tokens === null ? l.charges[i]!.tokens : l.tokens);
const heldRequests = (l: Lease, i: number): number => (l.tokens === null ? l.charges[i]!.requests : 1);

const fresh = (): Entry => ({ nano: 0n, tokens: 0, requests: 0, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });

export class MemoryCounters implements BudgetCounters, ImmediateCounters {
  readonly immediate: ImmediateCounters = this;
  private readonly entries = new Map<string, Entry>();
  private readonly leases = new Map<string, Lease>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  private attached = false;

  constructor(private readonly now: () => number = Date.now) {}

  async reserve(lease: string, charges: readonly CounterCharge[], ttlMs: number): Promise<ReserveResult> {
    return this.reserveNow(lease, charges, ttlMs);
  }

  /** reserve, answered at once (the guard's path for calls with nothing to wait for). */
  reserveNow(lease: string, charges: readonly CounterCharge[], ttlMs: number): ReserveResult {
    this.expire();
    for (const c of charges) {
      if (!c.limit) continue;
      const e = this.entries.get(c.key) ?? fresh();
      const l = c.limit;
      if (l.nano !== null && e.nano + e.reservedNano + c.nano > l.nano) return { ok: false, key: c.key, what: 'money', state: { ...e } };
      if (l.tokens !== null && e.tokens + e.reservedTokens + c.tokens > l.tokens) return { ok: false, key: c.key, what: 'tokens', state: { ...e } };
      if (l.requests !== null && e.requests + e.reservedRequests + c.requests > l.requests) return { ok: false, key: c.key, what: 'requests', state: { ...e } };
    }
    const l: Lease = { charges, tokens: null, expiresAt: this.now() + ttlMs };
    this.hold(l);
    this.leases.set(lease, l);
    if (l.expiresAt < this.nextExpiry) this.nextExpiry = l.expiresAt;
    return { ok: true };
  }

  async settle(batch: readonly Settlement[]): Promise<Map<string, bigint>> {
    const after = new Map<string, bigint>();
    for (const s of batch) {
      this.drop(s.lease);
      for (const c of s.charges) after.set(c.key, this.add(c.key, c.nano, s.tokens, 1));
    }
    return after;
  }

  async shrink(actual: Settlement): Promise<void> {
    this.shrinkNow(actual);
  }

  /** shrink, done at once. */
  shrinkNow(actual: Settlement): void {
    const old = this.leases.get(actual.lease);
    if (!old) return;
    this.unhold(old);
    const l: Lease = { charges: actual.charges, tokens: actual.tokens, expiresAt: old.expiresAt };
    this.hold(l);
    this.leases.set(actual.lease, l);
  }

  async idle(): Promise<void> {}

  /** Counted as they come: never any waiting. */
  readonly pendingSettlements = 0;

  async release(lease: string): Promise<void> {
    this.drop(lease);
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
    for (const k of keys) out.set(k, { ...(this.entries.get(k) ?? fresh()) });
    return out;
  }

  async scan(prefix: string): Promise<Map<string, CounterState>> {
    this.expire();
    const out = new Map<string, CounterState>();
    for (const [k, e] of this.entries) if (k.startsWith(prefix)) out.set(k, { ...e });
    return out;
  }

  async load(totals: BudgetTotals): Promise<void> {
    for (const e of this.entries.values()) {
      e.nano = 0n;
      e.tokens = 0;
      e.requests = 0;
    }
    for (const a of totals.amounts) this.add(a.key, a.nano, a.tokens, a.requests);
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

  /** Counts an amount as used; returns the counter's money used after. */
  private add(key: string, nano: bigint, tokens: number, requests: number): bigint {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = fresh()));
    e.nano += nano;
    e.tokens += tokens;
    e.requests += requests;
    return e.nano;
  }

  private hold(l: Lease): void {
    for (let i = 0; i < l.charges.length; i++) {
      const c = l.charges[i]!;
      let e = this.entries.get(c.key);
      if (!e) this.entries.set(c.key, (e = fresh()));
      e.reservedNano += c.nano;
      e.reservedTokens += heldTokens(l, i);
      e.reservedRequests += heldRequests(l, i);
    }
  }

  private drop(lease: string): void {
    const l = this.leases.get(lease);
    if (!l) return;
    this.leases.delete(lease);
    this.unhold(l);
  }

  /** Takes a lease's amounts off its counters' reservations. */
  private unhold(l: Lease): void {
    for (let i = 0; i < l.charges.length; i++) {
      const c = l.charges[i]!;
      const e = this.entries.get(c.key);
      if (!e) continue;
      e.reservedNano -= c.nano;
      e.reservedTokens -= heldTokens(l, i);
      e.reservedRequests -= heldRequests(l, i);
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
