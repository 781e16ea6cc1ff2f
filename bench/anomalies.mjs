// Precision and recall of the anomaly detector on 300 synthetic daily series of 120 days (a
// level, a weekly pattern, a trend, 8% noise) with spikes of 4 to 8 noise deviations planted
// on 3% of the days after the first five weeks; seeded, so every run prints the same figures.
//   node bench/anomalies.mjs        (after `npm run build`)
import { measure } from '../dist/reports/anomaly.js';

console.log('| sensitivity | precision | recall | planted | flagged |');
console.log('|---:|---:|---:|---:|---:|');
for (const k of [2.5, 3, 3.5, 4, 5]) {
  const m = measure(300, { season: 7, sensitivity: k });
  console.log(`| ${k}${k === 3.5 ? ' (default)' : ''} | ${m.precision.toFixed(3)} | ${m.recall.toFixed(3)} | ${m.planted} | ${m.flagged} |`);
}
