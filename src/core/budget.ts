/**
 * Budget maths that needs nothing outside the core: which calls a budget's scope covers, which
 * member of a per-member budget a call belongs to, and which thresholds a change of usage
 * crosses. Windows (calendars, time zones) and counters live outside the core.
 */
import type { Dimension, Dims, Tags } from './dimensions.js';

/** A scope condition on one dimension: the value is one of `any`, or none of `not`. */
export type Matcher = { readonly any: readonly string[] } | { readonly not: readonly string[] };

export type ScopeKey = Dimension | `tag:${string}`;

/** A budget's scope: every condition must hold. An empty scope covers the whole company. */
export type Scope = ReadonlyArray<readonly [ScopeKey, Matcher]>;

/** What a scope is matched against. */
export interface CallFacts {
  readonly dims: Dims;
  readonly tags: Readonly<Tags> | null;
  /** The call's user's groups (from the org tree) and its x-bursar-user-group. */
  readonly groups: readonly string[];
}

/** The call's one value of a dimension or tag, or null; user_group, which may have several, is matched apart. */
export function valueOf(key: ScopeKey, f: CallFacts): string | null {
  if (key.startsWith('tag:')) return f.tags?.[key.slice(4)] ?? null;
  return f.dims[key as Dimension];
}

/** Whether one of the call's values of `key` is among `values` (without building a list per call: this runs per budget per call). */
function hasAny(key: ScopeKey, f: CallFacts, values: readonly string[]): boolean {
  if (key === 'user_group') return f.groups.some((g) => values.includes(g));
  const v = valueOf(key, f);
  return v !== null && values.includes(v);
}

/** Whether a call falls inside a scope. A dimension the call lacks fails an `any` and passes a `not`. */
export function inScope(scope: Scope, f: CallFacts): boolean {
  // Indexed, not `for (const [key, m] of scope)`: destructuring each pair ran the array iterator
  // per condition, per budget and call (a profile under load showed it).
  for (let i = 0; i < scope.length; i++) {
    const condition = scope[i]!;
    const m = condition[1];
    if ('any' in m ? !hasAny(condition[0], f, m.any) : hasAny(condition[0], f, m.not)) return false;
  }
  return true;
}

/** The member of a per-member budget a call belongs to; null when the call has no value for it. */
export function memberOf(per: Dimension, f: CallFacts): string | null {
  return f.dims[per];
}

export const THRESHOLD_ACTIONS = ['notify', 'throttle', 'require_approval', 'refuse', 'downgrade'] as const;
export type ThresholdAction = (typeof THRESHOLD_ACTIONS)[number];

/** The amount at which `percent` of `limit` is reached (percent may have two decimals, and pass 100). */
export function thresholdAmount(limit: bigint, percent: number): bigint {
  return (limit * BigInt(Math.round(percent * 100))) / 10_000n;
}

/** The thresholds (in percent) that usage crosses going from `before` to `after`. */
export function thresholdsCrossed(limit: bigint, before: bigint, after: bigint, percents: readonly number[]): number[] {
  if (limit <= 0n || after <= before) return [];
  return percents.filter((p) => {
    const at = thresholdAmount(limit, p);
    return before < at && after >= at;
  });
}

/** The thresholds (in percent) that `used` has reached. */
export function thresholdsReached(limit: bigint, used: bigint, percents: readonly number[]): number[] {
  if (limit <= 0n) return [];
  return percents.filter((p) => used >= thresholdAmount(limit, p));
}

/** A straight-line projection of usage to the end of a window. */
export function projectToEnd(used: bigint, windowStart: number, windowEnd: number, now: number): bigint {
  const elapsed = Math.max(1, Math.min(now, windowEnd) - windowStart);
  const total = Math.max(elapsed, windowEnd - windowStart);
  return (used * BigInt(total)) / BigInt(elapsed);
}
