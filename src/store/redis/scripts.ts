/**
 * Redis keys and scripts of the scale-out adapters (counters, rate limits, agent runs, the
 * response cache). Only types come from ioredis here: the client itself is opened in connect.ts,
 * which the gateway loads only when it shares state through Redis.
 */
import type { Redis } from 'ioredis';
import { CountersUnavailable } from '../../core/ports.js';

/**
 * The key prefix of one installation: `{bursar}:`. The braces are a Redis Cluster hash tag, so
 * every key of the installation hashes to the same slot and one Lua script may touch any of them.
 */
export function redisPrefix(prefix: string): string {
  if (/[{}]/.test(prefix)) throw new Error(`the Redis key prefix "${prefix}" may not contain braces: they would change its hash tag`);
  return `{${prefix}}:`;
}

/** A Lua script, run with EVALSHA (ioredis sends the source once per connection and after NOSCRIPT). */
export type LuaScript = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

type ScriptMethod = (numKeys: number, ...keysAndArgs: (string | number)[]) => Promise<unknown>;

/**
 * Defines `lua` on `redis` under `name` (unique per script: clients shared by several adapters
 * hold each adapter's scripts side by side) and returns a typed way to run it. Any failure to
 * run it is a CountersUnavailable naming `what` ("the rate limits"): the callers' one signal for
 * "Redis is away", on which hard budgets refuse and soft ones let calls through.
 */
export function defineLua(redis: Redis, name: string, lua: string, what: string): LuaScript {
  redis.defineCommand(name, { lua });
  // defineCommand adds the method at run time; ioredis's typings cannot know it.
  const method = (redis as unknown as Record<string, ScriptMethod>)[name]!;
  return async (keys, args) => {
    try {
      return await method.call(redis, keys.length, ...keys, ...args);
    } catch (err) {
      throw new CountersUnavailable(`${what} in Redis cannot be reached: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
  };
}
