/**
 * Anomaly detection on a series (a department's daily spend, a workflow's output-to-input ratio):
 * a seasonal baseline with the median absolute deviation, robust to the anomalies themselves.
 *
 * For each point, the baseline is the median of the same phase in the seasons before (the same
 * weekday in the weeks before, for a daily series with a weekly season); the residuals of the
 * points before it are measured the same way, and their median absolute deviation (scaled by
 * 1.4826, the MAD of a normal distribution) is the spread. A point whose residual is more than
 * `sensitivity` spreads above its baseline (or below, for `direction: both`) is an anomaly. Medians
 * keep one spike from moving the baseline or the spread, which means and standard deviations do not.
 */
import { assertRole, type Actor } from '../access/actor.js';
import { BursarError } from '../core/errors.js';
import type { LedgerStore } from '../core/ports.js';

export interface DetectOptions {
  /** Points in a season: 7 for daily points with a weekly pattern, 24 for hourly with a daily one; 1 for none. */
  readonly season: number;
  /** Seasons of history the baseline looks at (default 6: six weeks of a daily series). */
  readonly seasons?: number;
  /** How many spreads away an anomaly is (default 3.5: rare in normal noise). */
  readonly sensitivity?: number;
  readonly direction?: 'up' | 'both';
  /** The smallest spread to divide by (at least 2% of the baseline), so that a flat history does not flag every wiggle. */
  readonly minSpread?: number;
}

export interface Anomaly {
  readonly index: number;
  readonly value: number;
  readonly baseline: number;
  /** Spreads away from the baseline. */
  readonly score: number;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The baseline of point t: the median of the same phase in up to `seasons` seasons before it (or of the points just before it, without a season). */
function baselineAt(xs: readonly number[], t: number, season: number, seasons: number): number | null {
  const prior: number[] = [];
  if (season > 1) for (let k = 1; k <= seasons && t - k * season >= 0; k++) prior.push(xs[t - k * season]!);
  else for (let k = 1; k <= seasons && t - k >= 0; k++) prior.push(xs[t - k]!);
  return prior.length >= Math.min(2, seasons) ? median(prior) : null;
}

export function detect(xs: readonly number[], o: DetectOptions): Anomaly[] {
  const season = Math.max(1, o.season);
  const seasons = o.seasons ?? 6;
  const k = o.sensitivity ?? 3.5;
  const baselines = xs.map((_, t) => baselineAt(xs, t, season, seasons));
  const residuals = xs.map((x, t) => (baselines[t] === null ? null : x - baselines[t]!));
  const out: Anomaly[] = [];
  const history = season * seasons;
  for (let t = 0; t < xs.length; t++) {
    const b = baselines[t];
    if (b === null || b === undefined) continue;
    // The spread of the residuals before this point, over the same span of history.
    const past = residuals.slice(Math.max(0, t - history), t).filter((r): r is number => r !== null);
    if (past.length < Math.min(season * 2, 8)) continue;
    const med = median(past);
    const spread = Math.max(1.4826 * median(past.map((r) => Math.abs(r - med))), o.minSpread ?? 1e-9, Math.abs(b) * 0.02);
    const score = (xs[t]! - b - med) / spread;
    if (score > k || ((o.direction ?? 'up') === 'both' && score < -k)) out.push({ index: t, value: xs[t]!, baseline: b, score });
  }
  return out;
}

/**
 * Synthetic daily series with planted anomalies, to measure the detector (the test and
 * bench/anomalies.mjs): a level, a weekly pattern (weekends lower), a slow trend, normal noise,
 * and spikes of `magnitude` noise deviations at `rate` of the days after the first five weeks.
 */
export function plantedSeries(seed: number, o: { days?: number; rate?: number; magnitude?: [number, number]; noise?: number } = {}): { values: number[]; planted: Set<number> } {
  let s = seed >>> 0;
  const rand = () => {
    // mulberry32: a small, well-mixed, seedable generator
    s = (s + 0x6d2b79f5) >>> 0;
    let x = s;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const normal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
  const days = o.days ?? 120;
  const level = 50 + rand() * 450;
  const sd = level * (o.noise ?? 0.08);
  const [lo, hi] = o.magnitude ?? [4, 8];
  const values: number[] = [];
  const planted = new Set<number>();
  for (let d = 0; d < days; d++) {
    const weekday = d % 7;
    const season = weekday >= 5 ? 0.6 : 1 + 0.05 * Math.sin(weekday);
    let v = level * season * (1 + d * 0.001) + normal() * sd;
    if (d >= 35 && rand() < (o.rate ?? 0.03)) {
      v += (lo + rand() * (hi - lo)) * sd;
      planted.add(d);
    }
    values.push(Math.max(0, v));
  }
  return { values, planted };
}

/** Precision and recall of the detector over `n` planted series. */
export function measure(n: number, detectOptions: DetectOptions, seriesOptions: Parameters<typeof plantedSeries>[1] = {}): { precision: number; recall: number; planted: number; flagged: number } {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < n; i++) {
    const { values, planted } = plantedSeries(1000 + i, seriesOptions);
    const flagged = new Set(detect(values, detectOptions).map((a) => a.index));
    for (const t of flagged) if (planted.has(t)) tp++;
    else fp++;
    for (const t of planted) if (!flagged.has(t)) fn++;
  }
  return { precision: tp / Math.max(1, tp + fp), recall: tp / Math.max(1, tp + fn), planted: tp + fn, flagged: tp + fp };
}

// ------------------------------------------------------------------ the report


export const ANOMALY_METRICS = ['spend', 'output_ratio', 'failures', 'premium_share'] as const;
const ANOMALY_BY = ['department', 'project', 'workflow', 'user', 'key', 'agent', 'model', 'application'] as const;
const DAY_MS = 86_400_000;

export interface AnomalyRow {
  readonly member: string;
  readonly currency: string;
  readonly day: string;
  readonly metric: string;
  readonly value: number;
  readonly baseline: number;
  readonly score: number;
}

/**
 * Anomalies of the last `days` days (default 90, daily points, weekly season), per member of a
 * dimension: unusual growth of spend; a high output-to-input token ratio; a rising share of failed,
 * cut-off or cancelled calls; a rising premium-tier share of spend ("model drift"). Those of the
 * last `recent` days (default 7) are returned, newest first.
 */
export async function anomalies(ledger: LedgerStore, query: Record<string, unknown>, actor: Actor, now = Date.now()): Promise<AnomalyRow[]> {
  assertRole(actor, ['admin', 'finance'], 'read anomalies');
  const q = query as { by?: string; metric?: string; days?: string; recent?: string; sensitivity?: string };
  const by = q.by ?? 'department';
  const metric = q.metric ?? 'spend';
  if (!(ANOMALY_BY as readonly string[]).includes(by)) throw new BursarError('validation_failed', `by: use one of ${ANOMALY_BY.join(', ')}.`, { param: 'by' });
  if (!(ANOMALY_METRICS as readonly string[]).includes(metric)) throw new BursarError('validation_failed', `metric: use one of ${ANOMALY_METRICS.join(', ')}.`, { param: 'metric' });
  const days = Math.min(730, Math.max(28, Number(q.days ?? 90) || 90));
  const recent = Math.max(1, Number(q.recent ?? 7) || 7);
  const sensitivity = Number(q.sensitivity ?? 3.5) || 3.5;
  const end = Math.floor(now / DAY_MS) * DAY_MS + DAY_MS;
  const start = end - days * DAY_MS;
  const rows = await ledger.aggregate({ from: start, to: end, groupBy: [by as 'department', 'day', 'source', 'status', 'tier'] });
  type Acc = { cost: number; tokensIn: number; tokensOut: number; requests: number; failed: number; premium: number };
  const series = new Map<string, Acc[]>();
  for (const r of rows) {
    if (r.group.source !== 'gateway' || r.group[by] === null) continue;
    const k = `${r.group[by]}\u0000${r.currency}`;
    let s = series.get(k);
    if (!s) series.set(k, (s = Array.from({ length: days }, () => ({ cost: 0, tokensIn: 0, tokensOut: 0, requests: 0, failed: 0, premium: 0 }))));
    const i = Math.floor((Date.parse(`${String(r.group.day).slice(0, 10)}T00:00:00Z`) - start) / DAY_MS);
    const a = s[i];
    if (!a) continue;
    const cost = Number(r.costNano) / 1e9;
    a.cost += cost;
    a.tokensIn += r.tokens.input + r.tokens.cached_input + r.tokens.cache_write;
    a.tokensOut += r.tokens.output + r.tokens.reasoning;
    a.requests += r.requests;
    if (r.group.status === 'error' || r.group.status === 'partial' || r.group.status === 'cancelled') a.failed += r.requests;
    if (r.group.tier === 'premium') a.premium += cost;
  }
  const value = (a: Acc): number =>
    metric === 'spend' ? a.cost : metric === 'output_ratio' ? (a.tokensIn ? a.tokensOut / a.tokensIn : 0) : metric === 'failures' ? (a.requests ? a.failed / a.requests : 0) : a.cost ? a.premium / a.cost : 0;
  const out: AnomalyRow[] = [];
  for (const [k, s] of series) {
    const [member, currency] = k.split('\u0000') as [string, string];
    const xs = s.map(value);
    for (const an of detect(xs, { season: 7, sensitivity, ...(metric === 'spend' ? {} : { minSpread: 0.01 }) })) {
      if (an.index < days - recent) continue;
      out.push({ member, currency, day: new Date(start + an.index * DAY_MS).toISOString().slice(0, 10), metric, value: an.value, baseline: an.baseline, score: Math.round(an.score * 100) / 100 });
    }
  }
  return out.sort((a, b) => b.day.localeCompare(a.day) || b.score - a.score);
}
