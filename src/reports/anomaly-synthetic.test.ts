/**
 * Precision and recall of every anomaly kind, daily and hourly, on seeded synthetic series with
 * planted anomalies (the figures of docs/alerts.md#anomalies, printed by bench/anomalies.mjs).
 * Each floor sits a little under the measured figure, so a change that costs either shows here.
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyKind, Interval } from './anomaly-kinds.js';
import { measure, plantedSeries } from './anomaly-synthetic.js';

// [kind, interval, precision at least, recall at least]: measured at each kind's default sensitivity on 100 series.
const FLOORS: readonly [AnomalyKind, Interval, number, number][] = [
  ['spend', 'day', 0.85, 0.8], ['spend', 'hour', 0.9, 0.6],
  ['output_ratio', 'day', 0.95, 0.98], ['output_ratio', 'hour', 0.97, 0.95],
  ['failures', 'day', 0.98, 0.98], ['failures', 'hour', 0.9, 0.63],
  ['premium_share', 'day', 0.98, 0.85], ['premium_share', 'hour', 0.98, 0.87],
  ['off_hours', 'day', 0.96, 0.98], ['off_hours', 'hour', 0.89, 0.98],
  ['agent_loops', 'day', 0.93, 0.97], ['agent_loops', 'hour', 0.96, 0.92],
  ['unproductive', 'day', 0.97, 0.98], ['unproductive', 'hour', 0.68, 0.72],
];

describe('anomaly kinds on planted series', () => {
  it.each(FLOORS)('%s, %s: precision and recall at the default sensitivity', (kind, interval, precision, recall) => {
    const m = measure(kind, interval, 100);
    expect(m.planted).toBeGreaterThan(250);
    expect(m.precision).toBeGreaterThanOrEqual(precision);
    expect(m.recall).toBeGreaterThanOrEqual(recall);
  });

  it('trades recall for precision as the sensitivity rises', () => {
    const [loose, strict] = [measure('spend', 'day', 100, 2.5), measure('spend', 'day', 100, 4.5)];
    const m = measure('spend', 'day', 100);
    expect(loose.recall).toBeGreaterThan(m.recall);
    expect(loose.precision).toBeLessThan(m.precision);
    expect(strict.precision).toBeGreaterThan(m.precision);
    expect(strict.recall).toBeLessThan(m.recall);
  });

  it('plants nothing in the warm-up, and the same series for the same seed', () => {
    const a = plantedSeries('failures', 'hour', 7);
    expect(plantedSeries('failures', 'hour', 7)).toEqual(a);
    expect(Math.min(...a.planted)).toBeGreaterThanOrEqual(24 * 8);
  });
});
