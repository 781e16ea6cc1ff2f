/**
 * The one anomaly method: a seasonal median baseline and a MAD spread, on series with missing
 * points and money whose noise grows with its level.
 */
import { describe, expect, it } from 'vitest';
import { detect, scores } from './anomaly.js';

describe('anomaly detection', () => {
  it('ignores the weekly pattern itself, and can flag drops too', () => {
    const week = [100, 102, 98, 101, 99, 40, 42];
    const xs = Array.from({ length: 70 }, (_, d) => week[d % 7]! + ((d * 7) % 5) - 2);
    expect(detect(xs, { season: 7 })).toEqual([]);
    xs[60] = 300;
    xs[64] = 10;
    expect(detect(xs, { season: 7 }).map((a) => a.index)).toEqual([60]);
    expect(detect(xs, { season: 7, direction: 'both' }).map((a) => a.index)).toEqual([60, 64]);
  });

  it('neither judges a missing point nor lets it into a baseline', () => {
    const xs: (number | null)[] = Array.from({ length: 70 }, (_, d) => 100 + ((d * 7) % 5));
    for (let d = 0; d < 70; d += 7) xs[d] = null;
    xs[63] = null;
    xs[64] = 400;
    const judged = scores(xs, { season: 7 });
    expect(judged[63]).toBeNull();
    expect(judged.filter((a) => a !== null)).toHaveLength(40);
    expect(detect(xs, { season: 7 }).map((a) => a.index)).toEqual([64]);
  });

  it('judges money by its share of the baseline, so that quiet hours do not set the spread for busy ones', () => {
    // Two busy days a week of about 1000 and five quiet ones of about 10, each with +-10% noise.
    const xs = Array.from({ length: 70 }, (_, d) => (d % 7 < 2 ? 1000 : 10) * (1 + (((d * 37) % 11) - 5) / 50));
    xs[63] = 1600; // +60% on a busy day
    expect(detect(xs, { season: 7, relative: true }).map((a) => a.index)).toEqual([63]);
    // In absolute terms the quiet days' small residuals set the spread, and busy days' noise looks unusual.
    expect(detect(xs, { season: 7 }).map((a) => a.index)).toEqual([35, 49, 57, 63]);
  });
});
