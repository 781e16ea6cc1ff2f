/**
 * The Redis rate limits and agent-run tracker: their conformance suites, then their keys (one
 * hash tag, state that expires) and Redis going away (through a TCP proxy).
 */
import type { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisRateLimits } from '../../src/budgets/rate-redis.js';
import { RedisRunTracker } from '../../src/budgets/runs-redis.js';
import { CountersUnavailable, type RunLimits, type RunTracker } from '../../src/core/ports.js';
import { openRedis, redisReady } from '../../src/store/redis/connect.js';
import { clearRedisPrefix, redisKeys, redisUrl, requireRedis, uniquePrefix } from '../helpers/services.js';
import { startTcpProxy } from '../helpers/tcp-proxy.js';
import { rateLimitsSuite } from './rate-limits.suite.js';
import { runTrackerSuite } from './run-tracker.suite.js';

let redis: Redis;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = await requireRedis();
});
afterEach(async () => {
  for (const p of prefixes.splice(0)) await clearRedisPrefix(redis, p);
});
afterAll(async () => {
  await redis?.quit();
});

function prefixFor(name: string): string {
  const p = uniquePrefix(name);
  prefixes.push(p);
  return p;
}

const NO_LIMITS: RunLimits = { maxCalls: null, maxToolCalls: null, maxSeconds: null, loopRepeats: null };

rateLimitsSuite('redis', async () => {
  const prefix = prefixFor('rates');
  return { rates: new RedisRateLimits({ redis, prefix }), close: () => clearRedisPrefix(redis, prefix) };
}, { propertyRuns: 60 });

runTrackerSuite('redis', async () => {
  const prefix = prefixFor('runs');
  return { runs: new RedisRunTracker({ redis, prefix }), close: () => clearRedisPrefix(redis, prefix) };
}, { propertyRuns: 60 });

describe('Redis rate limits and runs: keys', () => {
  it('keeps state under the hash tag, and lets it expire once idle', async () => {
    const prefix = prefixFor('keys');
    const now = Date.now();
    await new RedisRateLimits({ redis, prefix }).hit([{ key: 'k|1', rpm: 10, tpm: null }], now);
    await new RedisRunTracker({ redis, prefix }).admit('run-1', NO_LIMITS, 'h', now);
    const keys = (await redisKeys(redis, prefix)).sort();
    expect(keys).toEqual([`{${prefix}}:rate:k|1`, `{${prefix}}:run:run-1`]);
    const [rateTtl, runTtl] = await Promise.all(keys.map((k) => redis.pttl(k)));
    expect(rateTtl).toBeGreaterThan(100_000);
    expect(rateTtl).toBeLessThanOrEqual(120_000);
    expect(runTtl).toBeGreaterThan(3_500_000);
    expect(runTtl).toBeLessThanOrEqual(3_600_000);
  });
});

describe('Redis rate limits and runs: Redis unreachable', () => {
  it('throw CountersUnavailable at once, and work again once Redis is back', async () => {
    const url = new URL(redisUrl());
    const proxy = await startTcpProxy(url.hostname, Number(url.port || 6379));
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const client = openRedis(url.toString());
    try {
      await redisReady(client);
      const prefix = prefixFor('cut');
      const rates = new RedisRateLimits({ redis: client, prefix });
      const runs: RunTracker = new RedisRunTracker({ redis: client, prefix });
      const now = Date.now();
      expect(await rates.hit([{ key: 'a', rpm: 5, tpm: null }], now)).toEqual({ ok: true });

      proxy.cut();
      const started = Date.now();
      await expect(rates.hit([{ key: 'a', rpm: 5, tpm: null }], now)).rejects.toBeInstanceOf(CountersUnavailable);
      await expect(rates.addTokens(['a'], 10, now)).rejects.toBeInstanceOf(CountersUnavailable);
      await expect(runs.admit('r', NO_LIMITS, 'h', now)).rejects.toBeInstanceOf(CountersUnavailable);
      await expect(runs.addToolCalls('r', 1, now)).rejects.toBeInstanceOf(CountersUnavailable);
      expect(Date.now() - started).toBeLessThan(5_000); // fails fast, not after a command timeout

      proxy.restore();
      await redisReady(client, 10_000);
      // The request before the cut still counts; those refused while Redis was away do not.
      expect(await rates.hit([{ key: 'a', rpm: 2, tpm: null }], now)).toEqual({ ok: true });
      expect(await rates.hit([{ key: 'a', rpm: 2, tpm: null }], now)).toMatchObject({ ok: false, key: 'a' });
      expect(await runs.admit('r', NO_LIMITS, 'h', now)).toEqual({ ok: true });
    } finally {
      client.disconnect();
      await proxy.close();
    }
  });
});
