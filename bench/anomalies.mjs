// Precision and recall of the anomaly detector, for every kind on daily and hourly series, on
// 100 synthetic members each (src/reports/anomaly-synthetic.ts: a level, a weekly or daily
// pattern, a trend, noise, and each kind's own trouble planted on 3% of the buckets after the
// warm-up); at each kind's default sensitivity and one spread either side. Seeded: every run
// prints the same figures.
//   node bench/anomalies.mjs        (after `npm run build`)
import { ANOMALY_KINDS, KINDS } from '../dist/reports/anomaly-kinds.js';
import { measure } from '../dist/reports/anomaly-synthetic.js';

const N = 100;
console.log('| kind | interval | sensitivity | precision | recall | planted | flagged |');
console.log('|---|---|---:|---:|---:|---:|---:|');
for (const kind of ANOMALY_KINDS) {
  for (const interval of ['day', 'hour']) {
    const k0 = KINDS[kind].sensitivity;
    for (const k of [k0 - 1, k0, k0 + 1]) {
      const m = measure(kind, interval, N, k);
      console.log(`| ${kind} | ${interval} | ${k}${k === k0 ? ' (default)' : ''} | ${m.precision.toFixed(3)} | ${m.recall.toFixed(3)} | ${m.planted} | ${m.flagged} |`);
    }
  }
}
