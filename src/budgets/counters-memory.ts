/**
 * BudgetCounters in process memory, for one node. Each method's work is synchronous, so a
 * reservation across several counters is atomic without locks. The counters are rebuilt from
 * the ledger at start, before any line is appended, so a settlement never needs telling apart
 * from the rebuild (commit marks are ignored), and the guard counts each call when it ends
 * (settleNow; see ImmediateCounters). Leases still expire, so a call that hangs cannot hold room
 * forever. The leases held are a linked list, not a map by id: the guard hands each call's lease
 * back (HeldLease), and only leases taken through the asynchronous port, which name their lease
 * by id (the conformance suite's), are also filed by id.
 */
import type { BudgetCharges } from '../core/ledger.js';
import type { BudgetCounters, BudgetTotals, CounterMove, CounterState, HeldLease, ImmediateCounters, Refusal, Reservation, ReserveResult, Settlement } from '../core/ports.js';

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
 * and a hash lookup per touch showed under load. It is its own node in the list of leases held
 * (`held` false once dropped, its links cleared, so a dropped lease points at no other).
 */
interface Lease extends HeldLease {
  readonly id: string;
  charges: BudgetCharges;
  tokens: number;
  requests: number;
  entries: readonly Entry[];
  expiresAt: number;
  held: boolean;
  prev: Lease | null;
  next: Lease | null;
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
const RESERVED: ReserveResult = { ok: true };

function add(e: Entry, nano: bigint, tokens: number, requests: number): void {
  e.nano += nano;
  e.tokens += tokens;
  e.requests += requests;
}

export class MemoryCounters implements BudgetCounters, ImmediateCounters {
  readonly immediate: ImmediateCounters = this;
  private readonly entries = new Map<string, Entry>();
  /** The leases held, newest first. */
  private head: Lease | null = null;
  /** Leases taken through `reserve`, by id, for the methods that name a lease (settle, shrink, release, renew). */
  private readonly named = new Map<string, Lease>();
  private nextExpiry = Number.POSITIVE_INFINITY;
  /** Counters counted on since counted() last reported them. */
  private moved: Entry[] = [];
  private attached = false;

  constructor(private readonly now: () => number = Date.now) {}

  async reserve(lease: string, r: Reservation, ttlMs: number): Promise<ReserveResult> {
    const held = this.reserveNow(lease, r, ttlMs);
    if (!held.ok) return held;
    this.named.set(lease, held as Lease);
    return RESERVED;
  }

  /** reserve, answered at once: the guard's path, which hands the lease back when the call ends. */
  reserveNow(lease: string, r: Reservation, ttlMs: number): HeldLease | Refusal {
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
    const l: Lease = { ok: true, id: lease, charges: r, tokens, requests, entries: entries as Entry[], expiresAt: this.now() + ttlMs, held: true, prev: null, next: this.head };
    if (this.head) this.head.prev = l;
    this.head = l;
    this.hold(l);
    if (l.expiresAt < this.nextExpiry) this.nextExpiry = l.expiresAt;
    return l;
  }

  /** Counts each settlement (see settleNow); returns the money used of the counters counted on since the last report. */
  async settle(batch: readonly Settlement[]): Promise<Map<string, bigint>> {
    for (const s of batch) this.settleNow(this.named.get(s.lease) ?? null, s.charges, s.tokens);
    return new Map(this.counted().map((m) => [m.key, m.to]));
  }

  settleNow(held: HeldLease | null, charges: BudgetCharges, tokens: number): void {
    const l = held as Lease | null;
    const dropped = l !== null && this.drop(l);
    const { keys, nanos } = charges;
    const entries = dropped && sameCounters(l, charges) ? l.entries : null;
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
    const l = this.named.get(actual.lease);
    if (!l) return;
    this.unhold(l);
    if (!sameCounters(l, actual.charges)) l.entries = actual.charges.keys.map((k) => this.entryOf(k));
    l.charges = actual.charges;
    l.tokens = actual.tokens;
    l.requests = 1;
    this.hold(l);
  }

  async idle(): Promise<void> {}

  /** Counted as they come: never any waiting. */
  readonly pendingSettlements = 0;

  async release(lease: string): Promise<void> {
    const l = this.named.get(lease);
    if (l) this.drop(l);
  }

  releaseNow(held: HeldLease): void {
    this.drop(held as Lease);
  }

  renewAll(ttlMs: number): void {
    const at = this.now() + ttlMs;
    for (let l = this.head; l; l = l.next) l.expiresAt = at;
  }

  async renew(leases: readonly string[], ttlMs: number): Promise<void> {
    const at = this.now() + ttlMs;
    for (const id of leases) {
      const l = this.named.get(id);
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
    let n = 0;
    for (let l = this.head; l; l = l.next) n++;
    return n;
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

  /** Drops a lease still held: unlinked, and its amounts off its counters' reservations. Returns whether it was held. */
  private drop(l: Lease): boolean {
    if (!l.held) return false;
    l.held = false;
    if (l.prev) l.prev.next = l.next;
    else this.head = l.next;
    if (l.next) l.next.prev = l.prev;
    l.prev = l.next = null;
    if (this.named.size && this.named.get(l.id) === l) this.named.delete(l.id);
    this.unhold(l);
    return true;
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
    for (let l = this.head; l; ) {
      const after = l.next;
      if (l.expiresAt <= now) this.drop(l);
      else if (l.expiresAt < next) next = l.expiresAt;
      l = after;
    }
    this.nextExpiry = next;
  }
}
