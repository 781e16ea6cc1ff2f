/**
 * The response cache a route may opt into: an answer is kept for the route's time to live and
 * given again to the same request, costing nothing. "The same request" is an exact match on the
 * normalised request (its JSON with keys sorted, without `model`: the route and tier stand for
 * it), its endpoint, the route and tier that served it, its data class, and who may share it (the
 * key by default; or its user, project, department, or everyone on the route). Two calls that
 * differ in any of these never share an answer.
 *
 * Kept in memory (bounded by bytes, least recently used first out) on one machine, and in Redis
 * when replicas share state, so that every replica serves a hit. The cache is best effort: a
 * Redis that is away means misses, never a failed call.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import stringify from 'safe-stable-stringify';
import type { Dims } from '../core/dimensions.js';
import type { Usage } from '../core/pricing.js';
import { redisPrefix } from '../store/redis/scripts.js';

/** Who may be given an answer another call paid for: the same key (default), user, project, department, or anyone on the route. */
export const CACHE_SHARES = ['key', 'user', 'project', 'department', 'route'] as const;
export type CacheShare = (typeof CACHE_SHARES)[number];

/** An answer as the caller received it (JSON, or the stream's events), with what it cost to make. */
export interface CachedAnswer {
  /** The model that answered, as provider/model. */
  readonly model: string;
  readonly contentType: string;
  readonly body: Buffer;
  /** The provider's usage for the answer: what a hit avoids paying for. */
  readonly usage: Usage;
}

export interface ResponseCache {
  get(key: string): Promise<CachedAnswer | null>;
  set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void>;
  close(): Promise<void>;
}

/** The largest answer kept: larger ones are served but not cached. */
export const MAX_CACHED_BYTES = 4 * 1024 * 1024;

export interface CacheFacts {
  readonly route: string;
  readonly tier: string;
  readonly endpoint: string;
  readonly share: CacheShare;
  readonly dims: Dims;
  readonly body: Record<string, unknown>;
}

/**
 * The cache key of a call, or null when the call has no one to share with (share by user, and
 * the call names no user): such a call is neither looked up nor kept.
 */
export function cacheKey(f: CacheFacts): string | null {
  const who = f.share === 'route' ? '*' : f.dims[f.share];
  if (who === null) return null;
  const { model: _model, ...rest } = f.body;
  const h = createHash('sha256');
  h.update(stringify([f.route, f.tier, f.endpoint, f.share, who, f.dims.data_class, rest]) ?? '');
  return h.digest('base64url');
}

// ------------------------------------------------------------------ in memory

export class MemoryResponseCache implements ResponseCache {
  private readonly lru: LRUCache<string, CachedAnswer>;

  constructor(maxBytes: number) {
    this.lru = new LRUCache<string, CachedAnswer>({ maxSize: maxBytes, sizeCalculation: (a) => a.body.length + 256, ttlAutopurge: false });
  }

  async get(key: string): Promise<CachedAnswer | null> {
    return this.lru.get(key) ?? null;
  }

  async set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
    if (answer.body.length <= MAX_CACHED_BYTES) this.lru.set(key, answer, { ttl: ttlMs });
  }

  async close(): Promise<void> {
    this.lru.clear();
  }
}

// ------------------------------------------------------------------ Redis

/**
 * In Redis as `{prefix}:cache:<key>`: a JSON head (model, content type, usage), a newline, and
 * the answer's bytes, with Redis's own expiry. Failures are reported to `onError` and read as misses.
 */
export class RedisResponseCache implements ResponseCache {
  private readonly prefix: string;

  constructor(private readonly d: { readonly redis: Redis; readonly prefix: string; readonly onError: (err: unknown) => void }) {
    this.prefix = `${redisPrefix(d.prefix)}cache:`;
  }

  async get(key: string): Promise<CachedAnswer | null> {
    try {
      const v = await this.d.redis.getBuffer(this.prefix + key);
      if (!v) return null;
      const nl = v.indexOf(10);
      const head = JSON.parse(v.subarray(0, nl).toString('utf8')) as Omit<CachedAnswer, 'body'>;
      return { ...head, body: v.subarray(nl + 1) };
    } catch (err) {
      this.d.onError(err);
      return null;
    }
  }

  async set(key: string, answer: CachedAnswer, ttlMs: number): Promise<void> {
    if (answer.body.length > MAX_CACHED_BYTES) return;
    const head = JSON.stringify({ model: answer.model, contentType: answer.contentType, usage: answer.usage });
    try {
      await this.d.redis.set(this.prefix + key, Buffer.concat([Buffer.from(`${head}\n`), answer.body]), 'PX', ttlMs);
    } catch (err) {
      this.d.onError(err);
    }
  }

  async close(): Promise<void> {}
}
