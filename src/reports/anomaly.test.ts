/**
 * The anomaly detector on synthetic daily series with planted spikes (seeded, so the figures are
 * the same every run): precision and recall at the default sensitivity, and what a lower and a
 * higher sensitivity trade.
 */
import { describe, expect, it } from 'vitest';
import { detect, measure } from './anomaly.js';

describe('anomaly detection', () => {
  it('finds planted spikes with high precision and recall, despite a weekly pattern and a trend', () => {
    const m = measure(300, { season: 7 });
    expect(m.planted).toBeGreaterThan(500);
    // Measured: precision 0.90, recall 0.88 (docs/alerts.md#anomalies).
    expect(m.precision).toBeGreaterThan(0.88);
    expect(m.recall).toBeGreaterThan(0.85);
    // A stricter sensitivity trades recall for precision, and a looser one the other way.
    const strict = measure(300, { season: 7, sensitivity: 5 });
    const loose = measure(300, { season: 7, sensitivity: 2.5 });
    expect(strict.precision).toBeGreaterThanOrEqual(m.precision);
    expect(strict.recall).toBeLessThan(m.recall);
    expect(loose.recall).toBeGreaterThan(m.recall);
    expect(loose.precision).toBeLessThan(m.precision);
  });

  it('ignores the weekly pattern itself, and can flag drops too', () => {
    const week = [100, 102, 98, 101, 99, 40, 42];
    const xs = Array.from({ length: 70 }, (_, d) => week[d % 7]! + ((d * 7) % 5) - 2);
    expect(detect(xs, { season: 7 })).toEqual([]);
    xs[60] = 300;
    xs[64] = 10;
    expect(detect(xs, { season: 7 }).map((a) => a.index)).toEqual([60]);
    expect(detect(xs, { season: 7, direction: 'both' }).map((a) => a.index)).toEqual([60, 64]);
  });
});
