/**
 * The anomaly kinds: what each one measures per bucket (an hour or a day of a member of a
 * dimension), how the one method (src/reports/anomaly.ts) is tuned for it, and its default
 * sensitivity. The defaults come from the synthetic series of src/reports/anomaly-synthetic.ts,
 * measured by bench/anomalies.mjs and held by anomaly-synthetic.test.ts (docs/alerts.md#anomalies).
 */
import type { DetectOptions } from './anomaly.js';

export const ANOMALY_KINDS = ['spend', 'output_ratio', 'failures', 'premium_share', 'off_hours', 'agent_loops', 'unproductive'] as const;
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];
export const INTERVALS = ['day', 'hour'] as const;
export type Interval = (typeof INTERVALS)[number];

/** What one bucket of one member holds, summed from the ledger (and the outcomes). */
export interface Bucket {
  cost: number;
  tokensIn: number;
  tokensOut: number;
  requests: number;
  failed: number;
  premium: number;
  /** Spend in off hours (weekends, and hours outside the working hours, in the organisation's time zone). */
  offCost: number;
  /** An hourly bucket inside the working hours (its off-hours spend is not judged). */
  working: boolean;
  /** Of the agent runs whose last call is in the bucket: the most calls one made, which one, and the loop guard's refusals. */
  runs: number;
  maxRunCalls: number;
  maxRun: string | null;
  loopRefused: number;
  accepted: number;
}

export const emptyBucket = (): Bucket => ({ cost: 0, tokensIn: 0, tokensOut: 0, requests: 0, failed: 0, premium: 0, offCost: 0, working: false, runs: 0, maxRunCalls: 0, maxRun: null, loopRefused: 0, accepted: 0 });

export interface KindSpec {
  /** The value of a bucket; null where there is nothing to judge (no calls to take a ratio of). */
  readonly value: (b: Bucket, interval: Interval) => number | null;
  readonly sensitivity: number;
  /** The smallest spread: ratios move in absolute steps, counts by whole calls; money by 2% of the baseline (built in). */
  readonly minSpread: number;
  /** Money: residuals as a share of the baseline (src/reports/anomaly.ts). */
  readonly relative?: boolean;
  /** Seasons of history per interval (a day's season is a week, an hour's a day). */
  readonly seasons: Readonly<Record<Interval, number>>;
  /** Days of history a report reads by default: six seasons before the recent buckets, more only where needed. */
  readonly days: Readonly<Record<Interval, number>>;
  /** What stands behind an anomaly, in words. */
  readonly note?: (b: Bucket, currency: string) => string;
  /** A bucket reported whatever its score. */
  readonly forced?: (b: Bucket) => boolean;
  /**
   * How the hourly alert job judges the kind: on hourly series (what burns money by the hour) or
   * daily ones; `daily` kinds, which read weeks of lines, only at the first check of a UTC day.
   */
  readonly alert: { readonly interval: Interval; readonly daily?: boolean };
}

/**
 * The lower bound of a share's 95% Wilson interval: what k of n says the share is at least. One
 * failed call of five is not yet a 20% failure rate; fifty of 250 is.
 */
function wilsonLower(k: number, n: number): number {
  if (n === 0) return 0;
  const z = 1.96;
  const p = k / n;
  const d = 1 + (z * z) / n;
  return Math.max(0, (p + (z * z) / (2 * n) - z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / d);
}

/** A share of fewer calls than this is not judged: one failed call of two is no outage. */
const MIN_CALLS = 5;

const SEASONS = { day: 6, hour: 7 } as const;
const DAYS = { day: 90, hour: 9 } as const;
const money = (n: number, currency: string) => `${n.toFixed(2)} ${currency}`;

export const KINDS: Readonly<Record<AnomalyKind, KindSpec>> = {
  spend: { value: (b) => b.cost, sensitivity: 3.5, minSpread: 1e-9, relative: true, seasons: SEASONS, days: DAYS, alert: { interval: 'day' } },
  output_ratio: { value: (b) => (b.requests >= MIN_CALLS && b.tokensIn ? b.tokensOut / b.tokensIn : null), sensitivity: 4, minSpread: 0.01, seasons: SEASONS, days: DAYS, alert: { interval: 'day' } },
  failures: {
    value: (b) => (b.requests >= MIN_CALLS ? wilsonLower(b.failed, b.requests) : null), sensitivity: 4, minSpread: 0.02, seasons: SEASONS, days: DAYS, alert: { interval: 'hour' },
    note: (b) => `${b.failed} of ${b.requests} calls failed, were cut off or cancelled`,
  },
  premium_share: { value: (b) => (b.requests >= MIN_CALLS && b.cost ? b.premium / b.cost : null), sensitivity: 4, minSpread: 0.02, seasons: SEASONS, days: DAYS, alert: { interval: 'day' } },
  // An hour inside the working hours is not judged; a weekend hour has only earlier weekends' same hour to go by, hence two weeks.
  off_hours: {
    value: (b, interval) => (interval === 'hour' && b.working ? null : b.offCost), sensitivity: 5, minSpread: 1e-9, relative: true, seasons: { day: 6, hour: 14 }, days: { day: 56, hour: 16 },
    alert: { interval: 'day', daily: true }, note: (b, currency) => `${money(b.offCost, currency)} spent off hours`,
  },
  // The loop guard already judged a run a loop: its refusals are an anomaly whatever the score.
  agent_loops: {
    value: (b) => (b.runs ? b.maxRunCalls : null), sensitivity: 5, minSpread: 1, seasons: SEASONS, days: { day: 56, hour: 9 }, alert: { interval: 'hour' },
    note: (b) => `run "${b.maxRun}" made ${b.maxRunCalls} calls${b.loopRefused ? `; the loop guard refused ${b.loopRefused}` : ''}`, forced: (b) => b.loopRefused > 0,
  },
  // The share of calls whose output was not accepted (its lower bound, as failures'), of a member that reports outcomes.
  unproductive: {
    value: (b) => (b.requests >= MIN_CALLS ? wilsonLower(b.requests - Math.min(b.accepted, b.requests), b.requests) : null), sensitivity: 4, minSpread: 0.02, seasons: SEASONS, days: DAYS, alert: { interval: 'day' },
    note: (b, currency) => `${b.accepted} accepted outputs of ${b.requests} calls costing ${money(b.cost, currency)}`,
  },
};

/** The detector's options for a kind on an interval, at a sensitivity. */
export function detectOptions(kind: AnomalyKind, interval: Interval, sensitivity = KINDS[kind].sensitivity): DetectOptions {
  const k = KINDS[kind];
  return { season: interval === 'day' ? 7 : 24, seasons: k.seasons[interval], sensitivity, minSpread: k.minSpread, relative: k.relative === true };
}
