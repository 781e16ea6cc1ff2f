/**
 * Rate limits in Redis, shared by every node: the same sliding minute as MemoryRateLimits, sixty
 * one-second buckets of requests and tokens per key, so that "the last minute" slides second by
 * second. A hit on all the checks of a call is one Lua script: it counts one request on every
 * check, or on none.
 *
 * Each key is a hash under the installation's hash tag, `{name}:rate:<key>`: `s`, the second
 * (epoch) its newest bucket stands for, and `r<slot>` / `t<slot>`, the requests and tokens of
 * that second's bucket (slot = second mod 60; empty buckets are not stored). A key expires after
 * two minutes without traffic, when its minute holds nothing any more.
 */
import type { Redis } from 'ioredis';
import type { RateCheck, RateLimits, RateResult } from '../core/ports.js';
import { defineLua, redisPrefix, type LuaScript } from '../store/redis/scripts.js';

const IDLE_MS = 120_000;

/** Loads a key's buckets moved to now, clearing the seconds that went by (as Buckets.advance does). */
const BUCKETS_LUA = `
local NOW = tonumber(ARGV[1])
local SECOND = math.floor(NOW / 1000)
local SLOTS = 60

local function load(key)
  local b = {second = SECOND, r = {}, t = {}, cleared = {}, moved = false}
  for i = 0, SLOTS - 1 do b.r[i] = 0; b.t[i] = 0 end
  local flat = redis.call('HGETALL', key)
  local stored = nil
  for i = 1, #flat, 2 do
    local f, v = flat[i], tonumber(flat[i + 1])
    if f == 's' then stored = v else b[string.sub(f, 1, 1)][tonumber(string.sub(f, 2))] = v end
  end
  if stored then
    b.second = stored
    for i = 1, math.min(SECOND - stored, SLOTS) do
      local j = (stored + i) % SLOTS
      if b.r[j] ~= 0 then table.insert(b.cleared, 'r' .. j); b.r[j] = 0 end
      if b.t[j] ~= 0 then table.insert(b.cleared, 't' .. j); b.t[j] = 0 end
    end
    if SECOND > stored then b.second = SECOND; b.moved = true end
  else
    b.moved = true
  end
  return b
end

-- Writes what load() moved, and adds to the newest bucket.
local function save(key, b, field, command, n)
  if #b.cleared > 0 then redis.call('HDEL', key, unpack(b.cleared)) end
  if b.moved then redis.call('HSET', key, 's', b.second) end
  redis.call(command, key, field .. (b.second % SLOTS), n)
  redis.call('PEXPIRE', key, ${IDLE_MS})
end

local function total(a)
  local n = 0
  for i = 0, SLOTS - 1 do n = n + a[i] end
  return n
end

-- Milliseconds until enough of the oldest seconds drop out to get under limit.
local function waitFor(b, a, limit)
  local excess = total(a) - limit + 1
  for age = SLOTS - 1, 0, -1 do
    excess = excess - a[(b.second - age + SLOTS * 2) % SLOTS]
    if excess <= 0 then return (SLOTS - age) * 1000 - (NOW % 1000) end
  end
  return SLOTS * 1000
end
`;

/**
 * KEYS the checks' keys, ARGV[1] now, then 2 per check: rpm and tpm ('' for none).
 * Answers {'ok'} or {'refused', check index (1-based), 'requests' | 'tokens', retry after ms}.
 */
const HIT = `${BUCKETS_LUA}
for i, key in ipairs(KEYS) do
  local b = load(key)
  local rpm, tpm = ARGV[2 * i], ARGV[2 * i + 1]
  if rpm ~= '' and total(b.r) >= tonumber(rpm) then return {'refused', i, 'requests', waitFor(b, b.r, tonumber(rpm))} end
  if tpm ~= '' and total(b.t) >= tonumber(tpm) then return {'refused', i, 'tokens', waitFor(b, b.t, tonumber(tpm))} end
end
for _, key in ipairs(KEYS) do save(key, load(key), 'r', 'HINCRBY', 1) end
return {'ok'}
`;

/** KEYS the keys, ARGV[1] now, ARGV[2] tokens. */
const ADD_TOKENS = `${BUCKETS_LUA}
for _, key in ipairs(KEYS) do save(key, load(key), 't', 'HINCRBYFLOAT', ARGV[2]) end
return 'ok'
`;

export interface RedisRateLimitsOptions {
  readonly redis: Redis;
  /** The installation's name: every key starts with `{name}:`. */
  readonly prefix: string;
}

export class RedisRateLimits implements RateLimits {
  private readonly prefix: string;
  private readonly hitScript: LuaScript;
  private readonly addTokensScript: LuaScript;

  constructor(opts: RedisRateLimitsOptions) {
    this.prefix = `${redisPrefix(opts.prefix)}rate:`;
    this.hitScript = defineLua(opts.redis, 'bursarRateHit', HIT, 'the rate limits');
    this.addTokensScript = defineLua(opts.redis, 'bursarRateAddTokens', ADD_TOKENS, 'the rate limits');
  }

  async hit(checks: readonly RateCheck[], now: number): Promise<RateResult> {
    if (checks.length === 0) return { ok: true };
    const args = checks.flatMap((c) => [c.rpm === null ? '' : c.rpm, c.tpm === null ? '' : c.tpm]);
    const reply = await this.hitScript(checks.map((c) => this.prefix + c.key), [now, ...args]);
    if (!Array.isArray(reply) || reply[0] === 'ok') return { ok: true };
    const check = checks[Number(reply[1]) - 1];
    const what = reply[2] === 'tokens' ? 'tokens' : 'requests';
    if (!check) throw new Error(`unexpected reply from the rate limit script: ${String(reply)}`);
    return { ok: false, key: check.key, what, retryAfterMs: Number(reply[3]) };
  }

  async addTokens(keys: readonly string[], tokens: number, now: number): Promise<void> {
    if (keys.length === 0) return;
    await this.addTokensScript(keys.map((k) => this.prefix + k), [now, tokens]);
  }
}
