/**
 * The Lua scripts of the Redis budget counters: each operation is one script, so Redis runs it
 * whole with nothing in between (a reservation across every counter of a call is atomic).
 *
 * Every script gets the same KEYS, the fixed keys of one installation, and the key prefix as
 * ARGV[1] and the adapter's clock as ARGV[2]. Counter and lease keys are derived inside the
 * scripts from the prefix; the prefix is a hash tag (`{bursar}:`), so they land in the same
 * Redis Cluster slot as the declared keys by construction.
 *
 * Amounts (money, tokens, requests) are decimal strings, added and compared exactly with the
 * helpers of DECIMAL_LUA. A counter is a hash: n, t, r (used) and rn, rt, rr (reserved). A lease
 * is a hash from counter key to "nano tokens requests" it holds there, and its expiry is its
 * score in the leases sorted set.
 */
import { DECIMAL_LUA } from '../store/redis/lua-decimal.js';

/** The fixed keys, in KEYS order. */
export const KEY_NAMES = ['leases', 'index', 'epoch', 'settled', 'rebuild-lock'] as const;

/** How many expired leases one call gives back at most (oldest first), to bound its time. */
const PURGE_BATCH = 100;
/** How long a settled commit is remembered, so that a replay of its batch counts once. */
export const SETTLED_MEMORY_MS = 3_600_000;

const PRELUDE = `${DECIMAL_LUA}
local LEASES, INDEX, EPOCH, SETTLED, LOCK = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local PREFIX, NOW = ARGV[1], tonumber(ARGV[2])

local function counterKey(k) return PREFIX .. 'counter:' .. k end
local function leaseKey(id) return PREFIX .. 'lease:' .. id end

-- A script reads each counter it touches once and writes each once, at its end (flushCounters):
-- {used nano, tokens, requests, reserved nano, tokens, requests}, as pairs, shared by every
-- caller in the script, so changes made to the table are seen by the next reader.
local counters, dirty, dirtyOrder = {}, {}, {}
local function readCounter(k)
  local c = counters[k]
  if not c then
    local v = redis.call('HMGET', counterKey(k), 'n', 't', 'r', 'rn', 'rt', 'rr')
    c = {dec(v[1]), dec(v[2]), dec(v[3]), dec(v[4]), dec(v[5]), dec(v[6])}
    c.new = not v[1]
    counters[k] = c
  end
  return c
end
local function writeCounter(k, c)
  counters[k] = c
  if not dirty[k] then
    dirty[k] = true
    table.insert(dirtyOrder, k)
  end
end
local function flushCounters()
  for _, k in ipairs(dirtyOrder) do
    local c = counters[k]
    redis.call('HSET', counterKey(k), 'n', str(c[1]), 't', str(c[2]), 'r', str(c[3]), 'rn', str(c[4]), 'rt', str(c[5]), 'rr', str(c[6]))
    if c.new then redis.call('ZADD', INDEX, 'NX', 0, k) end
  end
end
local function counterReply(c)
  return {str(c[1]), str(c[2]), str(c[3]), str(c[4]), str(c[5]), str(c[6])}
end

local function parseHeld(v)
  local n, t, r = string.match(v, '^(%S+) (%S+) (%S+)$')
  return {dec(n), dec(t), dec(r)}
end

-- Gives back what a lease holds and forgets it.
local function dropLease(id)
  local lk = leaseKey(id)
  local held = redis.call('HGETALL', lk)
  for i = 1, #held, 2 do
    local amount = parseHeld(held[i + 1])
    local c = readCounter(held[i])
    for j = 1, 3 do c[j + 3] = sub(c[j + 3], amount[j]) end
    writeCounter(held[i], c)
  end
  redis.call('DEL', lk)
  redis.call('ZREM', LEASES, id)
end

local function purgeExpired()
  local expired = redis.call('ZRANGEBYSCORE', LEASES, '-inf', NOW, 'LIMIT', 0, ${PURGE_BATCH})
  for _, id in ipairs(expired) do dropLease(id) end
end

-- 'ready', 'rebuilding' or 'missing' (Redis lost its data, or the counters were never built).
local function epochState()
  return redis.call('HGET', EPOCH, 'state') or 'missing'
end
`;

/** Wraps a script body so that the counters it changed are written once, at its end. */
const counting = (body: string): string => `${PRELUDE}
local function main()
${body}
end
local reply = main()
flushCounters()
return reply`;

/** Also runs only on counters that hold the ledger, and answers {'unavailable', state} otherwise. */
const guarded = (body: string): string => counting(`
local state = epochState()
if state ~= 'ready' then return {'unavailable', state} end
${body}`);

/**
 * ARGV[3] lease, ARGV[4] its expiry, ARGV[5] the number of charges, then 7 per charge: key,
 * nano, tokens, requests, and the limits of money, tokens, requests ('' for none).
 * Answers {'ok'} or {'refused', key, what, the counter's six amounts}.
 */
export const RESERVE = guarded(`
purgeExpired()
local id, expiry, count = ARGV[3], ARGV[4], tonumber(ARGV[5])
local WHAT = {'money', 'tokens', 'requests'}
local charges = {}
for i = 0, count - 1 do
  local b = 6 + i * 7
  charges[i + 1] = {
    key = ARGV[b],
    amount = {dec(ARGV[b + 1]), dec(ARGV[b + 2]), dec(ARGV[b + 3])},
    limit = {ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]},
  }
end
for _, ch in ipairs(charges) do
  local c = readCounter(ch.key)
  for j = 1, 3 do
    if ch.limit[j] ~= '' and cmp(add(add(c[j], c[j + 3]), ch.amount[j]), dec(ch.limit[j])) > 0 then
      local reply = {'refused', ch.key, WHAT[j]}
      for _, v in ipairs(counterReply(c)) do table.insert(reply, v) end
      return reply
    end
  end
end
local lk = leaseKey(id)
if count == 0 then return {'ok'} end
-- What the lease holds per counter after this reservation (the same counter twice adds up).
local keys, held = {}, {}
for _, ch in ipairs(charges) do
  local c = readCounter(ch.key)
  for j = 1, 3 do c[j + 3] = add(c[j + 3], ch.amount[j]) end
  writeCounter(ch.key, c)
  if not held[ch.key] then
    table.insert(keys, ch.key)
    held[ch.key] = {ZERO, ZERO, ZERO}
  end
  for j = 1, 3 do held[ch.key][j] = add(held[ch.key][j], ch.amount[j]) end
end
-- A lease reserved twice holds the sum, so that dropping it gives back everything.
local prev = redis.call('HMGET', lk, unpack(keys))
local fields = {}
for i, k in ipairs(keys) do
  local h = held[k]
  if prev[i] then
    local p = parseHeld(prev[i])
    for j = 1, 3 do h[j] = add(h[j], p[j]) end
  end
  table.insert(fields, k)
  table.insert(fields, str(h[1]) .. ' ' .. str(h[2]) .. ' ' .. str(h[3]))
end
redis.call('HSET', lk, unpack(fields))
redis.call('ZADD', LEASES, expiry, id)
return {'ok'}
`);

/**
 * ARGV[3] the commit ('' for none), ARGV[4] the number of settlements, then per settlement: its
 * lease, its number of amounts, and 4 per amount: key, nano, tokens, requests.
 * Answers {'ok', key, money used after, key, ...}.
 */
export const SETTLE = guarded(`
local commit = ARGV[3]

-- Is transaction xid visible in a PostgreSQL snapshot "xmin:xmax:xip,...": committed before it was taken?
local function visible(xid, snapshot)
  local xmin, xmax, xip = string.match(snapshot, '^(%d+):(%d+):([%d,]*)$')
  if not xmin then return false end
  local x = dec(xid)
  if cmp(x, dec(xmin)) < 0 then return true end
  if cmp(x, dec(xmax)) >= 0 then return false end
  for running in string.gmatch(xip, '%d+') do
    if cmp(dec(running), x) == 0 then return false end
  end
  return true
end

local counted = true
if commit ~= '' then
  redis.call('ZREMRANGEBYSCORE', SETTLED, '-inf', '(' .. string.format('%.0f', NOW - ${SETTLED_MEMORY_MS}))
  if redis.call('ZSCORE', SETTLED, commit) then
    counted = false -- a replay: this batch was counted already
  elseif visible(commit, redis.call('HGET', EPOCH, 'snapshot') or '') then
    counted = false -- the last rebuild read it from the ledger
  else
    redis.call('ZADD', SETTLED, NOW, commit)
  end
end

local reply = {'ok'}
local after, order = {}, {}
local i = 5
for _ = 1, tonumber(ARGV[4]) do
  dropLease(ARGV[i])
  local amounts = tonumber(ARGV[i + 1])
  i = i + 2
  for _ = 1, amounts do
    local key = ARGV[i]
    local c = readCounter(key)
    if counted then
      c[1] = add(c[1], dec(ARGV[i + 1]))
      c[2] = add(c[2], dec(ARGV[i + 2]))
      c[3] = add(c[3], dec(ARGV[i + 3]))
      writeCounter(key, c)
    end
    if not after[key] then table.insert(order, key) end
    after[key] = str(c[1])
    i = i + 4
  end
end
for _, key in ipairs(order) do
  table.insert(reply, key)
  table.insert(reply, after[key])
end
return reply
`);

/**
 * ARGV[3] the lease, ARGV[4] the number of amounts, then 4 per amount: key, nano, tokens,
 * requests. A lease still held now holds these amounts instead, with its expiry unchanged.
 */
export const SHRINK = guarded(`
local id = ARGV[3]
local expiry = redis.call('ZSCORE', LEASES, id)
if not expiry then return {'ok'} end
dropLease(id)
local lk = leaseKey(id)
for i = 5, 4 + tonumber(ARGV[4]) * 4, 4 do
  local amount = {dec(ARGV[i + 1]), dec(ARGV[i + 2]), dec(ARGV[i + 3])}
  local c = readCounter(ARGV[i])
  for j = 1, 3 do c[j + 3] = add(c[j + 3], amount[j]) end
  writeCounter(ARGV[i], c)
  redis.call('HSET', lk, ARGV[i], str(amount[1]) .. ' ' .. str(amount[2]) .. ' ' .. str(amount[3]))
end
redis.call('ZADD', LEASES, expiry, id)
return {'ok'}
`);

/** ARGV[3] the lease. */
export const RELEASE = guarded(`
dropLease(ARGV[3])
return {'ok'}
`);

/**
 * ARGV[3] the new expiry, ARGV[4..] the leases. Renews a lease that has not been given back yet,
 * even if its time is up, as the in-process counters do: its holder is evidently alive.
 */
export const RENEW = guarded(`
for i = 4, #ARGV do redis.call('ZADD', LEASES, 'XX', ARGV[3], ARGV[i]) end
return {'ok'}
`);

/** ARGV[3..] counter keys. Answers {'ok', six amounts per key, in order}. */
export const READ = guarded(`
purgeExpired()
local reply = {'ok'}
for i = 3, #ARGV do
  for _, v in ipairs(counterReply(readCounter(ARGV[i]))) do table.insert(reply, v) end
end
return reply
`);

/** ARGV[3] the key prefix to list. Answers {'ok', key, its six amounts, key, ...}. */
export const SCAN = guarded(`
purgeExpired()
local reply = {'ok'}
-- Scores are all 0, so the index sorts by key; no UTF-8 text contains byte 255.
for _, key in ipairs(redis.call('ZRANGEBYLEX', INDEX, '[' .. ARGV[3], '[' .. ARGV[3] .. '\\255')) do
  table.insert(reply, key)
  for _, v in ipairs(counterReply(readCounter(key))) do table.insert(reply, v) end
end
return reply
`);

/**
 * ARGV[3] the rebuild lock's token ('' for a direct load, which needs no lock), ARGV[4] the
 * snapshot, then 4 per counter (keys unique): key, nano, tokens, requests. Sets every counter's
 * used amounts (0 where the totals have none), keeps reservations, and marks the counters ready.
 * Answers {'ok'}, or {'lost'} when the lock expired and another node may be rebuilding.
 */
export const LOAD = counting(`
local token = ARGV[3]
if token ~= '' and redis.call('GET', LOCK) ~= token then return {'lost'} end
for _, key in ipairs(redis.call('ZRANGE', INDEX, 0, -1)) do
  local c = readCounter(key)
  c[1], c[2], c[3] = ZERO, ZERO, ZERO
  writeCounter(key, c)
end
for i = 5, #ARGV, 4 do
  local c = readCounter(ARGV[i])
  c[1], c[2], c[3] = dec(ARGV[i + 1]), dec(ARGV[i + 2]), dec(ARGV[i + 3])
  writeCounter(ARGV[i], c)
end
redis.call('HSET', EPOCH, 'state', 'ready', 'snapshot', ARGV[4])
if token ~= '' then redis.call('DEL', LOCK) end
return {'ok'}
`);

/**
 * ARGV[3] this node's token, ARGV[4] the lock's time to live, ARGV[5] '1' to rebuild counters
 * that are ready too. Takes the rebuild lock unless the counters are ready (and not forced) or
 * another node holds it, and marks the counters as rebuilding (settlements then wait in their
 * senders' queues). Answers 'ready', 'busy' or 'claimed'.
 */
export const CLAIM = `${PRELUDE}
if epochState() == 'ready' and ARGV[5] ~= '1' then return 'ready' end
local holder = redis.call('GET', LOCK)
if holder and holder ~= ARGV[3] then return 'busy' end
redis.call('SET', LOCK, ARGV[3], 'PX', ARGV[4])
redis.call('HSET', EPOCH, 'state', 'rebuilding')
redis.call('HDEL', EPOCH, 'snapshot')
return 'claimed'
`;

/** ARGV[3] the token, ARGV[4] a time to live: extends the lock (ttl > 0) or lets it go (ttl 0) if still held. */
export const HOLD = `${PRELUDE}
if redis.call('GET', LOCK) ~= ARGV[3] then return 0 end
if ARGV[4] == '0' then redis.call('DEL', LOCK) else redis.call('PEXPIRE', LOCK, ARGV[4]) end
return 1
`;
