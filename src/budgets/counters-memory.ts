/**
 * BudgetCounters in process memory, for one node. Each method's work is synchronous, so a
 * reservation across several counters is atomic without locks. The counters are rebuilt from
 * the ledger at start, before any line is appended, so a settlement never needs telling apart
 * from the rebuild (commit marks are ignored); leases still expire, so a call that hangs cannot
 * hold room forever.
 */
import type { BudgetCounters, BudgetTotals, CounterAmount, CounterCharge, CounterState, ReserveResult, Settlement } from '../core/ports.js';

interface Entry {
  nano: bigint;
  tokens: number;
  requests: number;
  reservedNano: bigint;
  reservedTokens: number;
  reservedRequests: number;
}

interface Lease {
  readonly charges: readonly CounterAmount[];
  expiresAt: number;
}

const fresh = (): Entry => ({ nano: 0n, tokens: 0, requests: 0, reservedNano: 0n, reservedTokens: 0, reservedRequests: 0 });

export class MemoryCounters implements BudgetCounters {
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
    this.hold(charges);
    const expiresAt = this.now() + ttlMs;
    this.leases.set(lease, { charges, expiresAt });
    if (expiresAt < this.nextExpiry) this.nextExpiry = expiresAt;
    return { ok: true };
  }

  async settle(batch: readonly Settlement[]): Promise<Map<string, bigint>> {
    const after = new Map<string, bigint>();
    for (const s of batch) {
      this.drop(s.lease);
      for (const a of s.actual) {
        let e = this.entries.get(a.key);
        if (!e) this.entries.set(a.key, (e = fresh()));
        e.nano += a.nano;
        e.tokens += a.tokens;
        e.requests += a.requests;
        after.set(a.key, e.nano);
      }
    }
    return after;
  }

  async shrink(lease: string, actual: readonly CounterAmount[]): Promise<void> {
    this.shrinkNow(lease, actual);
  }

  /** shrink, done at once. */
  shrinkNow(lease: string, actual: readonly CounterAmount[]): void {
    const l = this.leases.get(lease);
    if (!l) return;
    this.drop(lease);
    this.hold(actual);
    this.leases.set(lease, { charges: actual, expiresAt: l.expiresAt });
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
    await this.settle([{ lease: '', actual: totals.amounts }]);
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

  private hold(amounts: readonly CounterAmount[]): void {
    for (const c of amounts) {
      let e = this.entries.get(c.key);
      if (!e) this.entries.set(c.key, (e = fresh()));
      e.reservedNano += c.nano;
      e.reservedTokens += c.tokens;
      e.reservedRequests += c.requests;
    }
  }

  private drop(lease: string): void {
    const l = this.leases.get(lease);
    if (!l) return;
    this.leases.delete(lease);
    for (const c of l.charges) {
      const e = this.entries.get(c.key);
      if (!e) continue;
      e.reservedNano -= c.nano;
      e.reservedTokens -= c.tokens;
      e.reservedRequests -= c.requests;
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
