/**
 * Agent runs in Redis, shared by every node that serves a run: the same rules as
 * MemoryRunTracker (most calls, most tool calls, longest duration, and a loop guard counting
 * identical requests), each admission one Lua script so that two nodes cannot both let the
 * last allowed call through.
 *
 * Each run is a hash under the installation's hash tag, `{name}:run:<key>`: calls, tools,
 * started and last (ms, on the caller's clock), and `h:<request hash>` -> how many times the run
 * sent it. A run idle for an hour starts afresh (on the caller's clock, as in memory); Redis
 * also expires the hash an hour after its last call, so that finished runs do not pile up.
 */
import type { Redis } from 'ioredis';
import type { RunLimits, RunTracker, RunVerdict } from '../core/ports.js';
import { defineLua, redisPrefix, type LuaScript } from '../store/redis/scripts.js';

const IDLE_MS = 3_600_000;

/**
 * KEYS[1] the run, ARGV[1] now, ARGV[2..5] max calls, max tool calls, max seconds, loop repeats
 * ('' for none), ARGV[6] the request's hash. Answers {'ok'} or {rule, the figure that broke it}.
 */
const ADMIT = `
local run, now = KEYS[1], tonumber(ARGV[1])
local function limit(i) return ARGV[i] ~= '' and tonumber(ARGV[i]) or nil end
local last = tonumber(redis.call('HGET', run, 'last'))
if last and now - last > ${IDLE_MS} then redis.call('DEL', run); last = nil end
if not last then
  redis.call('HSET', run, 'calls', 0, 'tools', 0, 'started', ARGV[1], 'last', ARGV[1])
  redis.call('PEXPIRE', run, ${IDLE_MS})
end
local state = redis.call('HMGET', run, 'calls', 'tools', 'started', 'h:' .. ARGV[6])
local calls, tools, started, seen = tonumber(state[1]), tonumber(state[2]), tonumber(state[3]), tonumber(state[4]) or 0
local maxCalls, maxTools, maxSeconds, loop = limit(2), limit(3), limit(4), limit(5)
if maxCalls and calls >= maxCalls then return {'max_calls', calls} end
if maxTools and tools >= maxTools then return {'max_tool_calls', tools} end
if maxSeconds and now - started > maxSeconds * 1000 then return {'max_seconds', now - started} end
if loop and seen + 1 >= loop then return {'loop', seen + 1} end
redis.call('HINCRBY', run, 'calls', 1)
redis.call('HSET', run, 'last', ARGV[1])
redis.call('HINCRBY', run, 'h:' .. ARGV[6], 1)
redis.call('PEXPIRE', run, ${IDLE_MS})
return {'ok'}
`;

/** KEYS[1] the run, ARGV[1] tool calls to add to it, if it is known. */
const ADD_TOOL_CALLS = `
if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HINCRBY', KEYS[1], 'tools', ARGV[1]) end
return 'ok'
`;

export interface RedisRunTrackerOptions {
  readonly redis: Redis;
  /** The installation's name: every key starts with `{name}:`. */
  readonly prefix: string;
}

export class RedisRunTracker implements RunTracker {
  private readonly prefix: string;
  private readonly admitScript: LuaScript;
  private readonly addToolCallsScript: LuaScript;

  constructor(opts: RedisRunTrackerOptions) {
    this.prefix = `${redisPrefix(opts.prefix)}run:`;
    this.admitScript = defineLua(opts.redis, 'bursarRunAdmit', ADMIT, 'the agent runs');
    this.addToolCallsScript = defineLua(opts.redis, 'bursarRunAddToolCalls', ADD_TOOL_CALLS, 'the agent runs');
  }

  async admit(key: string, limits: RunLimits, requestHash: string, now: number): Promise<RunVerdict> {
    const limit = (n: number | null): string | number => (n === null ? '' : n);
    const args = [now, limit(limits.maxCalls), limit(limits.maxToolCalls), limit(limits.maxSeconds), limit(limits.loopRepeats), requestHash];
    const reply = await this.admitScript([this.prefix + key], args);
    if (!Array.isArray(reply)) throw new Error(`unexpected reply from the agent run script: ${String(reply)}`);
    const n = Number(reply[1]);
    switch (reply[0]) {
      case 'ok':
        return { ok: true };
      case 'max_calls':
        return { ok: false, rule: 'max_calls', detail: `it has made ${n} calls, the most it may` };
      case 'max_tool_calls':
        return { ok: false, rule: 'max_tool_calls', detail: `its calls have used ${n} tool calls, the most it may` };
      case 'max_seconds':
        return { ok: false, rule: 'max_seconds', detail: `it started ${Math.round(n / 1000)} s ago; a run may last ${limits.maxSeconds} s` };
      case 'loop':
        return { ok: false, rule: 'loop', detail: `it sent the same request ${n} times; the loop guard stops at ${limits.loopRepeats}` };
      default:
        throw new Error(`unexpected reply from the agent run script: ${String(reply)}`);
    }
  }

  async addToolCalls(key: string, n: number): Promise<void> {
    await this.addToolCallsScript([this.prefix + key], [n]);
  }
}
