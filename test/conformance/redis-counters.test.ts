/**
 * The Redis budget counters: the shared conformance suite, then what only shared counters must
 * do: exact 64-bit money, one hash tag, one rebuild among many nodes, settlements counted once
 * across rebuilds and replays, and Redis going away and coming back (through a TCP proxy).
 */
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisCounters } from '../../src/budgets/counters-redis.js';
import { CountersUnavailable, type BudgetTotals, type CounterAmount, type Settlement } from '../../src/core/ports.js';
import { openRedis, redisReady } from '../../src/store/redis/connect.js';
import { defineLua, redisPrefix } from '../../src/store/redis/scripts.js';
import { DECIMAL_LUA } from '../../src/store/redis/lua-decimal.js';
import { clearRedisPrefix, redisKeys, redisUrl, requireRedis, uniquePrefix } from '../helpers/services.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { amount, charge, held, money } from '../helpers/counters.js';
import { budgetCountersSuite } from './budget-counters.suite.js';

let redis: Redis;
const prefixes: string[] = [];
const cleanups: (() => Promise<void>)[] = [];

beforeAll(async () => {
  redis = await requireRedis();
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
  for (const p of prefixes.splice(0)) await clearRedisPrefix(redis, p);
});
afterAll(async () => {
  await redis?.quit();
});

/** Counters on a fresh prefix, with a clock the test moves. */
function fresh(name: string, client: Redis = redis, prefix = uniquePrefix(name)) {
  prefixes.push(prefix);
  const clock = { now: 1_700_000_000_000 };
  const counters = new RedisCounters({ redis: client, prefix, now: () => clock.now, attachTimeoutMs: 5_000 });
  cleanups.push(() => counters.close());
  return { counters, clock, prefix };
}

budgetCountersSuite(
  'redis',
  async () => {
    const { counters, clock } = fresh('suite');
    return {
      counters,
      advance: async (ms) => {
        clock.now += ms;
      },
      close: () => counters.close(),
    };
  },
  { propertyRuns: 60 },
);

const settled = (lease: string, key: string, nano: bigint): Settlement => ({ lease, charges: { keys: [key], nanos: [nano] }, tokens: 0 });
const totals = (snapshot: string | null, ...amounts: CounterAmount[]): BudgetTotals => ({ amounts, snapshot });
const empty = async (): Promise<BudgetTotals> => totals(null);

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('Redis counters: money', () => {
  it('adds and compares decimal strings exactly where doubles cannot (property)', async () => {
    const run = defineLua(redis, 'bursarTestDecimal', `${DECIMAL_LUA}
local a, b = dec(ARGV[1]), dec(ARGV[2])
return {str(add(a, b)), str(sub(a, b)), cmp(a, b)}`, 'the test script');
    const big = fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n });
    await fc.assert(
      fc.asyncProperty(big, big, async (a, b) => {
        const [sum, diff, order] = (await run([], [a.toString(), b.toString()])) as [string, string, number];
        expect([BigInt(sum), BigInt(diff), order]).toEqual([a + b, a - b, a < b ? -1 : a > b ? 1 : 0]);
      }),
      { numRuns: 200 },
    );
  });

  it('keeps 64-bit amounts exact: one nano past 10^17 is refused', async () => {
    const { counters } = fresh('int64');
    await counters.attach(async () => totals(null, amount('x', 10n ** 17n)));
    const limit = money(10n ** 17n + 1n);
    expect(await counters.reserve('a', held(charge('x', 2n, limit)), 60_000)).toMatchObject({ ok: false, what: 'money', state: { nano: 10n ** 17n } });
    expect(await counters.reserve('b', held(charge('x', 1n, limit)), 60_000)).toEqual({ ok: true });
    expect(await counters.reserve('c', held(charge('x', 1n, limit)), 60_000)).toMatchObject({ ok: false });

    const near = 9_223_372_036_854_775_000n; // near 2^63, where doubles are 1024 apart
    await counters.settle([settled('b', 'y', near)], null);
    expect(await counters.settle([settled('', 'y', 7n)], null)).toEqual(new Map([['y', near + 7n]]));
    expect(await counters.reserve('d', held(charge('y', 800n, money(near + 807n))), 60_000)).toEqual({ ok: true });
    expect(await counters.reserve('e', held(charge('y', 1n, money(near + 807n))), 60_000)).toMatchObject({ ok: false });
    expect((await counters.read(['y'])).get('y')).toMatchObject({ nano: near + 7n, reservedNano: 800n });
  });
});

describe('Redis counters: keys', () => {
  it('puts every key of an installation under its hash tag', async () => {
    const { counters, prefix } = fresh('tags');
    await counters.attach(empty);
    await counters.reserve('lease-1', held(charge('b|1|alice', 10n, money(100n))), 60_000);
    await counters.settle([settled('other', 'b|1|bob', 5n)], '42');
    const keys = await redisKeys(redis, prefix);
    expect(keys.length).toBeGreaterThanOrEqual(6);
    // Redis Cluster hashes only what is between the first braces: the installation's name.
    for (const k of keys) expect(k.startsWith(`{${prefix}}:`), k).toBe(true);
  });
});

describe('Redis counters: rebuilds and commits', () => {
  it('rebuilds once when five nodes attach at the same time; all then see the same counters', async () => {
    const prefix = uniquePrefix('attach');
    const nodes = Array.from({ length: 5 }, () => fresh('attach', redis, prefix).counters);
    let rebuilds = 0;
    const rebuild = async (): Promise<BudgetTotals> => {
      rebuilds++;
      await new Promise((r) => setTimeout(r, 300)); // a slow ledger: the others must wait
      return totals('100:100:', amount('x', 123n));
    };
    const rebuilt = await Promise.all(nodes.map((n) => n.attach(rebuild)));
    expect(rebuilds).toBe(1);
    expect(rebuilt.filter(Boolean)).toHaveLength(1);
    for (const n of nodes) expect((await n.read(['x'])).get('x')!.nano).toBe(123n);
  });

  it('refuses calls while the counters are being rebuilt, and queues settlements until then', async () => {
    const prefix = uniquePrefix('rebuilding');
    const builder = fresh('rebuilding', redis, prefix).counters;
    const other = fresh('rebuilding', redis, prefix).counters;
    let finish!: (t: BudgetTotals) => void;
    const attached = builder.attach(() => new Promise<BudgetTotals>((resolve) => (finish = resolve)));
    await until('the rebuild starts', () => finish !== undefined);
    await expect(other.reserve('a', held(charge('x', 1n, money(10n))), 60_000)).rejects.toBeInstanceOf(CountersUnavailable);
    expect(await other.settle([settled('a', 'x', 4n)], '101')).toEqual(new Map());
    expect(other.pendingSettlements).toBe(1);
    // The rebuild's snapshot was taken before transaction 101 committed: it is counted on top.
    finish(totals('101:101:', amount('x', 10n)));
    expect(await attached).toBe(true);
    await until('the queue drains', () => other.pendingSettlements === 0);
    expect((await other.read(['x'])).get('x')!.nano).toBe(14n);
  });

  it('only drops the lease of a commit the rebuild already read', async () => {
    const { counters } = fresh('visible');
    // The snapshot: every transaction below 100 had ended, 100 and 102 were running, 104 and later had not begun.
    await counters.attach(async () => totals('100:104:100,102', amount('x', 50n)));
    await counters.reserve('a', held(charge('x', 20n, money(1000n))), 60_000);
    expect(await counters.settle([settled('a', 'x', 20n)], '90')).toEqual(new Map([['x', 50n]]));
    expect((await counters.read(['x'])).get('x')).toMatchObject({ nano: 50n, reservedNano: 0n });
    await counters.settle([settled('', 'x', 1n)], '100'); // running at the snapshot: counted
    await counters.settle([settled('', 'x', 1n)], '101'); // ended before it: already read
    await counters.settle([settled('', 'x', 1n)], '102'); // running: counted
    await counters.settle([settled('', 'x', 1n)], '104'); // not begun: counted
    await counters.settle([settled('', 'x', 1n)], '1000000000000000000000'); // bigger than any double holds exactly
    expect((await counters.read(['x'])).get('x')!.nano).toBe(54n);
  });

  it('counts a replayed commit once, and a batch without a commit every time', async () => {
    const { counters, clock, prefix } = fresh('replay');
    await counters.attach(empty);
    const batch = [settled('a', 'x', 10n)];
    await counters.settle(batch, '500');
    await counters.settle(batch, '500');
    expect((await counters.read(['x'])).get('x')!.nano).toBe(10n);
    await counters.settle(batch, null);
    await counters.settle(batch, null);
    expect((await counters.read(['x'])).get('x')!.nano).toBe(30n);
    // Commits are remembered for an hour.
    clock.now += 3_600_001;
    await counters.settle([settled('', 'y', 1n)], '501');
    expect(await redis.zrange(`${redisPrefix(prefix)}settled`, 0, '-1')).toEqual(['501']);
  });

  it('rebuilds by itself after Redis lost its data, counting each settlement once', async () => {
    const { counters, prefix } = fresh('lost');
    let ledger = totals('200:200:', amount('x', 100n));
    let rebuilds = 0;
    await counters.attach(async () => {
      rebuilds++;
      return ledger;
    });
    await counters.settle([settled('', 'x', 5n)], '200');
    await counters.reserve('a', held(charge('x', 30n, money(1000n))), 60_000);
    expect((await counters.read(['x'])).get('x')).toMatchObject({ nano: 105n, reservedNano: 30n });

    await clearRedisPrefix(redis, prefix); // Redis restarted empty
    // Transaction 200 is in the ledger now, and 201 commits while the counters rebuild.
    ledger = totals('201:201:', amount('x', 105n));
    await expect(counters.read(['x'])).rejects.toBeInstanceOf(CountersUnavailable);
    await counters.settle([settled('a', 'x', 7n)], '201');
    await counters.settle([settled('', 'x', 5n)], '200'); // a late replay of 200: already in the ledger
    await until('the counters are rebuilt', async () => {
      try {
        await counters.read(['x']);
        return counters.pendingSettlements === 0;
      } catch {
        return false;
      }
    });
    expect(rebuilds).toBe(2);
    expect((await counters.read(['x'])).get('x')).toMatchObject({ nano: 112n, reservedNano: 0n });
  });
});

describe('Redis counters: Redis unreachable', () => {
  let proxy: TcpProxy;
  let client: Redis;

  beforeAll(async () => {
    const url = new URL(redisUrl());
    proxy = await startTcpProxy(url.hostname, Number(url.port || 6379));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    client = openRedis(url.toString());
    await redisReady(client);
  });
  afterAll(async () => {
    client.disconnect();
    await proxy.close();
  });

  it('fails fast while Redis is away, queues settlements, and counts them once when it is back', async () => {
    const { counters } = fresh('cut', client);
    await counters.attach(empty);
    await counters.reserve('a', held(charge('x', 50n, money(100n))), 60_000);
    await counters.reserve('b', held(charge('x', 40n, money(100n))), 60_000);

    proxy.cut();
    const started = Date.now();
    await expect(counters.reserve('c', held(charge('x', 1n, money(100n))), 60_000)).rejects.toBeInstanceOf(CountersUnavailable);
    await expect(counters.read(['x'])).rejects.toBeInstanceOf(CountersUnavailable);
    expect(Date.now() - started).toBeLessThan(5_000); // fails fast, not after a command timeout

    expect(await counters.settle([settled('a', 'x', 20n)], '300')).toEqual(new Map());
    expect(await counters.settle([settled('b', 'x', 15n)], null)).toEqual(new Map());
    expect(counters.pendingSettlements).toBe(2);
    let idle = false;
    const idled = counters.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(idle).toBe(false); // waits for Redis

    proxy.restore();
    await until('the queue drains', () => counters.pendingSettlements === 0, 10_000);
    await idled;
    expect((await counters.read(['x'])).get('x')).toMatchObject({ nano: 35n, requests: 2, reservedNano: 0n });
    // The next settlement comes after the queued ones, and a replay of one of them changes nothing.
    await counters.settle([settled('a', 'x', 20n)], '300');
    expect((await counters.read(['x'])).get('x')!.nano).toBe(35n);
  });
});
