/**
 * BudgetCounters in Redis, shared by every node of an installation. Each operation is one Lua
 * script (counters-redis-scripts.ts), so a reservation across all the counters of a call is
 * atomic however many nodes reserve at once.
 *
 * Keys, all under the installation's hash tag `{name}:` (one Redis Cluster slot):
 *   counter:<key>   hash: used n/t/r and reserved rn/rt/rr (money in nano, as decimal strings)
 *   lease:<id>      hash: counter key -> "nano tokens requests" the lease holds there
 *   leases          sorted set: lease id by expiry (ms, on the adapter's clock)
 *   index           sorted set: every counter key, score 0, listed by ZRANGEBYLEX for scan()
 *   epoch           hash: state ('rebuilding' | 'ready') and the PostgreSQL snapshot of the last rebuild
 *   settled         sorted set: commits already counted, by time, kept an hour
 *   rebuild-lock    string: the token of the node rebuilding the counters
 *
 * The counters are derived from the ledger. A missing epoch means they were never built or Redis
 * lost them: attach() rebuilds them (one node, under the lock; the others wait) and keeps its
 * rebuild function, so that a later loss heals the same way. Any failure to reach Redis, and
 * counters being rebuilt, surface as CountersUnavailable at once; settlements instead wait in
 * an in-process queue, in order, and are replayed when Redis answers (a replayed commit counts
 * once). The client is the caller's (see openRedis): close() leaves it open.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CountersUnavailable, type BudgetCounters, type BudgetTotals, type CounterState, type Reservation, type ReserveResult, type Settlement } from '../core/ports.js';
import { defineLua, redisPrefix, type LuaScript } from '../store/redis/scripts.js';
import { DECIMAL_LIMIT } from '../store/redis/lua-decimal.js';
import { CLAIM, HOLD, KEY_NAMES, LOAD, READ, RELEASE, RENEW, RESERVE, SCAN, SETTLE, SHRINK } from './counters-redis-scripts.js';

export interface RedisCountersOptions {
  readonly redis: Redis;
  /** The installation's name: every key starts with `{name}:`. */
  readonly prefix: string;
  /** The clock of lease expiry (passed to the scripts, so tests can move it). */
  readonly now?: () => number;
  /** How long attach() waits for another node's rebuild, or for Redis, before giving up (default 30 s). */
  readonly attachTimeoutMs?: number;
  /** The rebuild lock's time to live, renewed while the rebuild runs (default 30 s). */
  readonly lockMs?: number;
}

type Args = readonly (string | number)[];
type ScriptName = 'reserve' | 'settle' | 'shrink' | 'release' | 'renew' | 'read' | 'scan' | 'load' | 'claim' | 'hold';
type Rebuild = () => Promise<BudgetTotals>;

const POLL_MS = 100;
const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
const WHAT = ['money', 'tokens', 'requests'] as const;

export class RedisCounters implements BudgetCounters {
  /** Every answer is a round trip to Redis. */
  readonly immediate = null;
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly keys: readonly string[];
  private readonly now: () => number;
  private readonly attachTimeoutMs: number;
  private readonly lockMs: number;
  /** Names this node's hold on the rebuild lock. */
  private readonly token = randomUUID();
  private readonly scripts: Record<ScriptName, LuaScript>;

  private rebuild: Rebuild | null = null;
  private attaching: Promise<boolean> | null = null;
  /** Settlements not yet counted, oldest first, each with its script arguments. */
  private readonly queue: { readonly args: Args; result: Map<string, bigint> | null }[] = [];
  private draining: Promise<boolean> | null = null;
  private readonly idleWaiters: (() => void)[] = [];
  private retryTimer: NodeJS.Timeout | null = null;
  private retryMs = FIRST_RETRY_MS;
  private closed = false;
  /** A forced rebuild that could not run (Redis away): it runs once Redis is back. */
  private forcePending = false;
  private readonly onReady = (): void => {
    if (this.forcePending && this.rebuild) {
      void this.attachOnce(this.rebuild, true).then(() => (this.forcePending = false), () => {});
    } else if (this.queue.length > 0) void this.drain();
  };

  constructor(opts: RedisCountersOptions) {
    this.redis = opts.redis;
    this.prefix = redisPrefix(opts.prefix);
    this.keys = KEY_NAMES.map((k) => this.prefix + k);
    this.now = opts.now ?? Date.now;
    this.attachTimeoutMs = opts.attachTimeoutMs ?? 30_000;
    this.lockMs = opts.lockMs ?? 30_000;
    const define = (name: string, lua: string): LuaScript => defineLua(this.redis, `bursarCounters${name}`, lua, 'the budget counters');
    this.scripts = {
      reserve: define('Reserve', RESERVE),
      settle: define('Settle', SETTLE),
      shrink: define('Shrink', SHRINK),
      release: define('Release', RELEASE),
      renew: define('Renew', RENEW),
      read: define('Read', READ),
      scan: define('Scan', SCAN),
      load: define('Load', LOAD),
      claim: define('Claim', CLAIM),
      hold: define('Hold', HOLD),
    };
    this.redis.on('ready', this.onReady);
  }

  async reserve(lease: string, r: Reservation, ttlMs: number): Promise<ReserveResult> {
    const now = this.now();
    const reply = await this.run('reserve', [lease, now + ttlMs, r.keys.length, ...reservationArgs(r)], now);
    if (reply[0] === 'ok') return { ok: true };
    const what = WHAT.find((w) => w === reply[2]);
    if (reply[0] !== 'refused' || what === undefined) throw new Error(`unexpected reply from the reserve script: ${String(reply)}`);
    return { ok: false, key: String(reply[1]), what, state: stateAt(reply, 3) };
  }

  /** Never fails for want of Redis: a batch that cannot be counted now waits in order (see pendingSettlements). */
  async settle(batch: readonly Settlement[], commit: string | null): Promise<Map<string, bigint>> {
    const item = { args: settleArgs(batch, commit), result: null as Map<string, bigint> | null };
    this.queue.push(item);
    for (;;) {
      const emptied = await this.drain();
      // Not emptied: Redis is away and the batch waits. Emptied without it: it came in as a drain ended.
      if (item.result !== null || !emptied) return item.result ?? new Map();
    }
  }

  /** Settlements waiting for Redis. */
  get pendingSettlements(): number {
    return this.queue.length;
  }

  idle(): Promise<void> {
    if (this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async shrink(actual: Settlement): Promise<void> {
    await this.run('shrink', [actual.lease, ...settlementArgs(actual)]);
  }

  async release(lease: string): Promise<void> {
    await this.run('release', [lease]);
  }

  async renew(leases: readonly string[], ttlMs: number): Promise<void> {
    if (leases.length === 0) return;
    const now = this.now();
    await this.run('renew', [now + ttlMs, ...leases], now);
  }

  async read(keys: readonly string[]): Promise<Map<string, CounterState>> {
    const reply = await this.run('read', keys);
    const out = new Map<string, CounterState>();
    keys.forEach((k, i) => out.set(k, stateAt(reply, 1 + i * 6)));
    return out;
  }

  async scan(prefix: string): Promise<Map<string, CounterState>> {
    const reply = await this.run('scan', [prefix]);
    const out = new Map<string, CounterState>();
    for (let i = 1; i < reply.length; i += 7) out.set(String(reply[i]), stateAt(reply, i + 1));
    return out;
  }

  async load(totals: BudgetTotals): Promise<void> {
    await this.loadHolding(totals, '');
  }

  /**
   * Makes sure the counters hold the ledger: if they do (another node or an earlier run built
   * them), returns false; else rebuilds them with `rebuild` under a lock, or waits for the node
   * that holds it, and returns whether this call rebuilt them. Keeps `rebuild` to heal later losses.
   * `force` rebuilds counters that are ready too (the snapshot keeps other nodes' settlements exact).
   */
  async attach(rebuild: Rebuild, opts: { readonly force?: boolean } = {}): Promise<boolean> {
    this.rebuild = rebuild;
    if (opts.force) this.forcePending = true;
    const rebuilt = await this.attachOnce(rebuild, opts.force ?? false);
    if (opts.force) this.forcePending = false;
    return rebuilt;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.redis.off('ready', this.onReady);
  }

  // ---------------------------------------------------------------- running scripts

  /** Runs a script; failing to reach Redis, or counters that do not hold the ledger, throw CountersUnavailable. */
  private async run(script: ScriptName, args: Args, now = this.now()): Promise<unknown[]> {
    const reply = await this.scripts[script](this.keys, [this.prefix, now, ...args]);
    if (!Array.isArray(reply)) throw new Error(`unexpected reply from the ${script} script: ${String(reply)}`);
    if (reply[0] === 'unavailable') {
      this.heal();
      throw new CountersUnavailable(
        reply[1] === 'rebuilding' ? 'the budget counters are being rebuilt from the ledger' : 'the budget counters in Redis lost their data; they are being rebuilt from the ledger',
      );
    }
    return reply;
  }

  private async settleNow(args: Args): Promise<Map<string, bigint>> {
    const reply = await this.run('settle', args);
    const after = new Map<string, bigint>();
    for (let i = 1; i < reply.length; i += 2) after.set(String(reply[i]), BigInt(String(reply[i + 1])));
    return after;
  }

  /** Counts the queued settlements in order; false when Redis stopped it (a retry is then scheduled). */
  private drain(): Promise<boolean> {
    this.draining ??= this.drainQueue().finally(() => {
      this.draining = null;
    });
    return this.draining;
  }

  private async drainQueue(): Promise<boolean> {
    while (this.queue.length > 0) {
      const item = this.queue[0]!;
      try {
        item.result = await this.settleNow(item.args);
      } catch {
        // Unreachable or rebuilding: the batch stays first in line. (Its commit, remembered by
        // Redis, makes a replay after a lost reply count once.)
        this.retryLater();
        return false;
      }
      this.queue.shift();
    }
    this.retryMs = FIRST_RETRY_MS;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
    return true;
  }

  private retryLater(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      void this.drain();
    }, this.retryMs);
    this.retryTimer.unref();
    this.retryMs = Math.min(this.retryMs * 2, MAX_RETRY_MS);
  }

  // ---------------------------------------------------------------- rebuilding

  /** Counters that lost the ledger (or whose rebuilder died) get rebuilt in the background, once at a time. */
  private heal(): void {
    const rebuild = this.rebuild;
    if (!rebuild || this.attaching || this.closed) return;
    // Failing, the next call finds the counters still unavailable, and tries again.
    this.attachOnce(rebuild).catch(() => {});
  }

  private attachOnce(rebuild: Rebuild, force = false): Promise<boolean> {
    this.attaching ??= this.claimAndRebuild(rebuild, force).finally(() => {
      this.attaching = null;
    });
    return this.attaching.then((rebuilt) => {
      void this.drain();
      return rebuilt;
    });
  }

  private async claimAndRebuild(rebuild: Rebuild, force: boolean): Promise<boolean> {
    const deadline = Date.now() + this.attachTimeoutMs;
    const why = 'another node is rebuilding them';
    for (;;) {
      // Unreachable: it throws, with no use waiting here; the caller goes on without (see BudgetCounters.attach).
      const claim = await this.scripts.claim(this.keys, [this.prefix, this.now(), this.token, this.lockMs, force ? '1' : '']);
      if (claim === 'ready') return false;
      if (claim === 'claimed' && (await this.rebuildHoldingLock(rebuild))) return true;
      if (Date.now() >= deadline) throw new CountersUnavailable(`the budget counters were not ready within ${this.attachTimeoutMs} ms: ${why}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  }

  /** Rebuilds while holding the lock; false if the lock was lost meanwhile (another node may have taken over). */
  private async rebuildHoldingLock(rebuild: Rebuild): Promise<boolean> {
    const keeper = setInterval(() => void this.hold(this.lockMs).catch(() => {}), this.lockMs / 3);
    try {
      return await this.loadHolding(await rebuild(), this.token);
    } catch (err) {
      await this.hold(0).catch(() => {}); // Let another node try.
      if (err instanceof CountersUnavailable) throw err;
      throw new CountersUnavailable(`the budget counters could not be rebuilt from the ledger: ${messageOf(err)}`, { cause: err });
    } finally {
      clearInterval(keeper);
    }
  }

  private async hold(ms: number): Promise<unknown> {
    return this.scripts.hold(this.keys, [this.prefix, this.now(), this.token, ms]);
  }

  /** Loads totals (under the rebuild lock when `token` is set); false when the lock was lost. */
  private async loadHolding(totals: BudgetTotals, token: string): Promise<boolean> {
    const snapshot = totals.snapshot ?? '';
    if (snapshot !== '' && !/^\d+:\d+:(\d+(,\d+)*)?$/.test(snapshot)) throw new Error(`"${snapshot}" is not a PostgreSQL snapshot (xmin:xmax:xip,...)`);
    const summed = new Map<string, { nano: bigint; tokens: number; requests: number }>();
    for (const a of totals.amounts) {
      const s = summed.get(a.key);
      if (s) {
        s.nano += a.nano;
        s.tokens += a.tokens;
        s.requests += a.requests;
      } else summed.set(a.key, { nano: a.nano, tokens: a.tokens, requests: a.requests });
    }
    const args = [token, snapshot, ...[...summed].flatMap(([key, a]) => amountArgs(key, a.nano, a.tokens, a.requests))];
    const reply = await this.scripts.load(this.keys, [this.prefix, this.now(), ...args]);
    return Array.isArray(reply) && reply[0] === 'ok';
  }
}

// ---------------------------------------------------------------- arguments and replies

function nanoArg(nano: bigint): string {
  if (nano >= DECIMAL_LIMIT || nano <= -DECIMAL_LIMIT) throw new RangeError(`${nano} nano is beyond what the Redis counters hold exactly`);
  return nano.toString();
}

function countArg(n: number, what: string): string {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${what} must be a whole number, not ${n}`);
  return String(n);
}

function amountArgs(key: string, nano: bigint, tokens: number, requests: number): string[] {
  return [key, nanoArg(nano), countArg(tokens, 'tokens'), countArg(requests, 'requests')];
}

/** A settlement's amounts as the scripts read them: their count, then key, nano, tokens and requests of each. */
function settlementArgs(s: Settlement): (string | number)[] {
  const { keys, nanos } = s.charges;
  return [keys.length, ...keys.flatMap((key, i) => amountArgs(key, nanos[i]!, s.tokens, 1))];
}

/** A reservation's amounts and limits as the reserve script reads them: per counter, its amounts, then its money, token and request limits ('' for none). */
function reservationArgs(r: Reservation): string[] {
  return r.keys.flatMap((key, i) => {
    const l = r.limits[i];
    return [
      ...amountArgs(key, r.nanos[i]!, r.tokens, r.requests),
      l?.nano == null ? '' : nanoArg(l.nano),
      l?.tokens == null ? '' : countArg(l.tokens, 'a token limit'),
      l?.requests == null ? '' : countArg(l.requests, 'a request limit'),
    ];
  });
}

function settleArgs(batch: readonly Settlement[], commit: string | null): Args {
  if (commit !== null && !/^\d+$/.test(commit)) throw new Error(`commit "${commit}" is not a transaction id`);
  const args: (string | number)[] = [commit ?? '', batch.length];
  for (const s of batch) args.push(s.lease, ...settlementArgs(s));
  return args;
}

function stateAt(reply: readonly unknown[], i: number): CounterState {
  const at = (j: number): string => String(reply[i + j]);
  return {
    nano: BigInt(at(0)),
    tokens: Number(at(1)),
    requests: Number(at(2)),
    reservedNano: BigInt(at(3)),
    reservedTokens: Number(at(4)),
    reservedRequests: Number(at(5)),
  };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
