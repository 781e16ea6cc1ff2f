/**
 * The services the adapter tests run against: real Redis and PostgreSQL, never mocks. A test
 * that needs a service fails (rather than skips) when it is missing, with the URL it tried.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { openPostgres } from '../../src/store/postgres/open.js';
import type { SqlStores } from '../../src/store/sql/stores.js';
import { openRedis, redisReady } from '../../src/store/redis/connect.js';
import { redisPrefix } from '../../src/store/redis/scripts.js';

export function redisUrl(): string {
  return process.env.BURSAR_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
}

export function postgresUrl(): string {
  return process.env.BURSAR_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/** A name no other test (or run) uses: `t-<name>-<random>`. */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(5).toString('hex')}`;
}

/** The stores of a fresh installation in a schema of its own in the test PostgreSQL; `close` drops the schema. */
export async function freshPostgres(name = 'pg', poolSize = 4): Promise<{ stores: SqlStores; url: string; schema: string; close: () => Promise<void> }> {
  const url = postgresUrl();
  const schema = uniquePrefix(name).replace(/-/g, '_');
  const stores = await openPostgres({ url, schema, poolSize }).catch((err: unknown) => {
    throw new Error(`these tests need PostgreSQL at ${url}: ${err instanceof Error ? err.message : String(err)}`);
  });
  return {
    stores, url, schema,
    close: async () => {
      await stores.close();
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`drop schema ${schema} cascade`);
      await c.end();
    },
  };
}

/** A ready client of the test Redis (at `url`, by default redisUrl()), or an Error that says which Redis the tests need. */
export async function requireRedis(url = redisUrl()): Promise<Redis> {
  const redis = openRedis(url, { connectionName: 'bursar-test' });
  try {
    await redisReady(redis, 3_000);
    await redis.ping();
    return redis;
  } catch (err) {
    redis.disconnect();
    throw new Error(`these tests need Redis at ${url}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Every key of an installation prefix (`{prefix}:*`). */
export async function redisKeys(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${redisPrefix(prefix)}*`, 'COUNT', 1000);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Deletes every key of an installation prefix. */
export async function clearRedisPrefix(redis: Redis, prefix: string): Promise<void> {
  const keys = await redisKeys(redis, prefix);
  for (let i = 0; i < keys.length; i += 500) await redis.unlink(...keys.slice(i, i + 500));
}
