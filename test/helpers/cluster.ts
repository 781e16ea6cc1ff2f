/**
 * Bursar in scale-out mode for a test: replicas in-process on the real PostgreSQL and Redis,
 * each installation in a schema and a Redis prefix of its own (dropped at the end), every
 * replica with its own data folder (its spool) and the same admin token.
 */
import pg from 'pg';
import type { Redis } from 'ioredis';
import type { SimulatorOptions } from '../../src/providers/simulator/server.js';
import { startTestBursar, type TestBursar } from './bursar.js';
import { clearRedisPrefix, postgresUrl, redisUrl, requireRedis, uniquePrefix } from './services.js';

export const CLUSTER_ADMIN = 'cluster-admin-token-0123456789abcdef01234567';

export interface Cluster {
  readonly replicas: TestBursar[];
  /** The environment a replica of this installation starts with. */
  readonly env: Record<string, string>;
  readonly schema: string;
  readonly prefix: string;
  /** A client of the installation's Redis (not through any proxy), for looking at it. */
  readonly redis: Redis;
  /** Starts one more replica (on other URLs of the same services, if given). */
  add(urls?: { database?: string; redis?: string }): Promise<TestBursar>;
  /** Runs SQL in the installation's schema. */
  query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export interface ClusterOptions {
  /** Other URLs of the same services (through a proxy, say) for the replicas to use. */
  readonly urls?: { database?: string; redis?: string };
  readonly sim?: SimulatorOptions;
  /** More environment for every replica (provider credentials, say). */
  readonly env?: Record<string, string>;
}

export async function startCluster(n: number, yaml: string, opts: ClusterOptions = {}): Promise<Cluster> {
  const urls = opts.urls ?? {};
  const schema = uniquePrefix('e2e').replace(/-/g, '_');
  const prefix = uniquePrefix('e2e');
  const redis = await requireRedis();
  const env = (u: { database?: string; redis?: string }): Record<string, string> => ({
    BURSAR_DATABASE_URL: u.database ?? postgresUrl(),
    BURSAR_DATABASE_SCHEMA: schema,
    BURSAR_DATABASE_POOL: '4',
    BURSAR_REDIS_URL: u.redis ?? redisUrl(),
    BURSAR_REDIS_PREFIX: prefix,
    BURSAR_ADMIN_TOKEN: CLUSTER_ADMIN,
    ...opts.env,
  });
  const replicas: TestBursar[] = [];
  const add = async (u = urls): Promise<TestBursar> => {
    const r = await startTestBursar({ yaml, env: env(u), ...(opts.sim ? { sim: opts.sim } : {}) });
    replicas.push(r);
    return r;
  };
  const client = new pg.Client({ connectionString: postgresUrl() });
  await client.connect();
  // The first replica migrates the schema; the others then start together.
  await add();
  await client.query(`set search_path to ${schema}`);
  await Promise.all(Array.from({ length: n - 1 }, () => add()));
  return {
    replicas, schema, prefix, redis, add,
    env: env(urls),
    query: async <T extends pg.QueryResultRow>(text: string, values?: unknown[]) => (await client.query<T>(text, values)).rows,
    async close() {
      await Promise.all(replicas.map((r) => r.close()));
      await client.query(`drop schema if exists ${schema} cascade`);
      await client.end();
      await clearRedisPrefix(redis, prefix);
      redis.disconnect();
    },
  };
}
