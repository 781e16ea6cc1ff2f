/**
 * Exact integer arithmetic for Redis Lua scripts. Lua numbers are doubles, exact only below
 * 2^53, and nano-unit money passes that (10^16 nano is ten million units). So amounts travel and
 * rest as decimal strings, and a script reads each into a pair {hi, lo} worth hi * 10^9 + lo,
 * with 0 <= lo < 10^9: both halves stay far below 2^53 for any value under 10^24, so sums and
 * comparisons of pairs are exact. (HINCRBY is exact too, but a script cannot compare with it,
 * and an overflow halfway through a script would leave half its writes behind.)
 *
 * Prepend DECIMAL_LUA to a script to get: dec(s) -> pair, add(a, b), sub(a, b), cmp(a, b) -> -1|0|1,
 * str(a) -> decimal string, and ZERO.
 */
export const DECIMAL_LUA = `
local BASE = 1000000000
local function norm(hi, lo)
  local carry = math.floor(lo / BASE)
  return {hi + carry, lo - carry * BASE}
end
local ZERO = {0, 0}
local function dec(s)
  if not s or s == '' then return ZERO end
  local neg = string.sub(s, 1, 1) == '-'
  local digits = neg and string.sub(s, 2) or s
  local n = #digits
  local hi = 0
  if n > 9 then hi = tonumber(string.sub(digits, 1, n - 9)) end
  local lo = tonumber(string.sub(digits, math.max(1, n - 8)))
  if neg then return norm(-hi, -lo) end
  return {hi, lo}
end
local function add(a, b) return norm(a[1] + b[1], a[2] + b[2]) end
local function sub(a, b) return norm(a[1] - b[1], a[2] - b[2]) end
local function cmp(a, b)
  if a[1] ~= b[1] then return a[1] < b[1] and -1 or 1 end
  if a[2] ~= b[2] then return a[2] < b[2] and -1 or 1 end
  return 0
end
local function str(a)
  if a[1] < 0 then
    local m = norm(-a[1], -a[2])
    return '-' .. (m[1] == 0 and string.format('%.0f', m[2]) or string.format('%.0f%09.0f', m[1], m[2]))
  end
  if a[1] == 0 then return string.format('%.0f', a[2]) end
  return string.format('%.0f%09.0f', a[1], a[2])
end
`;

/** The largest magnitude the pairs hold exactly; inputs are checked against it before a script runs. */
export const DECIMAL_LIMIT = 10n ** 24n;
