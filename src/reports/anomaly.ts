/**
 * Anomaly detection on a series (a department's daily spend, a workflow's output-to-input ratio):
 * a seasonal baseline with the median absolute deviation, robust to the anomalies themselves.
 * Every anomaly kind (src/reports/anomaly-kinds.ts) runs this one method on its own series.
 *
 * For each point, the baseline is the median of the same phase in the seasons before (the same
 * weekday in the weeks before, for a daily series with a weekly season); the residuals of the
 * points before it are measured the same way, and their median absolute deviation (scaled by
 * 1.4826, the MAD of a normal distribution) is the spread. A point whose residual is more than
 * `sensitivity` spreads above its baseline (or below, for `direction: both`) is an anomaly. Medians
 * keep one spike from moving the baseline or the spread, which means and standard deviations do not.
 * A point may be missing (null: no calls to take a ratio of, or an hour that is not off hours);
 * it is neither judged nor part of any baseline.
 */

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
  /**
   * Residuals as a share of the baseline rather than in the series' units: for money, whose noise
   * grows with the level (a busy hour wiggles by more dollars than a night), so that the quiet
   * hours do not set the spread for the busy ones.
   */
  readonly relative?: boolean;
}

export interface Anomaly {
  readonly index: number;
  readonly value: number;
  readonly baseline: number;
  /** Spreads away from the baseline. */
  readonly score: number;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The baseline of point t: the median of the same phase in up to `seasons` seasons before it (or of the points just before it, without a season); missing points are skipped. */
function baselineAt(xs: readonly (number | null)[], t: number, season: number, seasons: number): number | null {
  const prior: number[] = [];
  for (let k = 1; k <= seasons && t - k * season >= 0; k++) {
    const x = xs[t - k * season];
    if (x !== null && x !== undefined) prior.push(x);
  }
  return prior.length >= Math.min(2, seasons) ? median(prior) : null;
}

/**
 * Every point's baseline and score (spreads above its baseline), or null where there is too
 * little history to judge it. Points before `from` are history only (null): their residuals
 * still count, but their own spreads, two sorts each, are not worked out.
 */
export function scores(xs: readonly (number | null)[], o: DetectOptions, from = 0): (Anomaly | null)[] {
  const season = Math.max(1, o.season);
  const seasons = o.seasons ?? 6;
  const baselines = xs.map((x, t) => (x === null ? null : baselineAt(xs, t, season, seasons)));
  const floor = o.minSpread ?? 1e-9;
  const residual = (x: number, b: number) => (o.relative ? (x - b) / Math.max(Math.abs(b), floor) : x - b);
  const residuals = xs.map((x, t) => (x === null || baselines[t] === null ? null : residual(x, baselines[t]!)));
  const history = season * seasons;
  return xs.map((x, t) => {
    const b = baselines[t];
    if (t < from || x === null || b === null || b === undefined) return null;
    // The spread of the residuals before this point, over the same span of history.
    const past = residuals.slice(Math.max(0, t - history), t).filter((r): r is number => r !== null);
    if (past.length < Math.min(season * 2, 8)) return null;
    const med = median(past);
    const spread = Math.max(1.4826 * median(past.map((r) => Math.abs(r - med))), o.relative ? 0.02 : Math.max(floor, Math.abs(b) * 0.02));
    return { index: t, value: x, baseline: b, score: (residual(x, b) - med) / spread };
  });
}

/** The points more than `sensitivity` spreads above their baseline (or below too, with direction "both"). */
export function detect(xs: readonly (number | null)[], o: DetectOptions): Anomaly[] {
  const k = o.sensitivity ?? 3.5;
  return scores(xs, o).filter((a): a is Anomaly => a !== null && (a.score > k || ((o.direction ?? 'up') === 'both' && a.score < -k)));
}

