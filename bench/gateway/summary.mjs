// The summary of an interleaved run (pair.sh, toggle.sh): per round, B's requests/s over A's; per
// side, the median requests/s, CPU per request, latency, peak RSS and ledger lines; and, when
// the run timed it, the first streamed byte. Reads $OUT/results.jsonl, meta.jsonl and ttfb.jsonl.
//   node bench/gateway/summary.mjs <out-dir> <label A> <label B>
import { readFileSync } from 'node:fs';

const [dir, a, b] = process.argv.slice(2);
const jsonl = (f) => readFileSync(`${dir}/${f}`, 'utf8').trim().split('\n').filter(Boolean).map((l) => JSON.parse(l));
const all = jsonl('results.jsonl').map((r) => {
  const [target, , , round] = r.label.split('|');
  return { ...r, target, round: Number(round) };
});
const runs = all.filter((r) => r.round > 0);
const meta = jsonl('meta.jsonl');
const median = (xs) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const cpu = (r) => ((r.gw_cpu_busy / 100) * r.duration_s * 1000) / r.requests;
const of = (t) => runs.filter((r) => r.target === t);

console.log(`| round | ${a} RPS | ${b} RPS | ${b} / ${a} |`);
console.log('|---:|---:|---:|---:|');
const ratios = [];
for (const ra of of(a)) {
  const rb = of(b).find((r) => r.round === ra.round);
  if (!rb) continue;
  ratios.push(rb.rps / ra.rps);
  console.log(`| ${ra.round} | ${Math.round(ra.rps)} | ${Math.round(rb.rps)} | ${(rb.rps / ra.rps).toFixed(3)} |`);
}
console.log();
console.log('| target | median RPS | CPU ms per request (median) | p50 ms | p99 ms | peak RSS MB | ledger ok lines / requests |');
console.log('|---|---:|---:|---:|---:|---:|---:|');
for (const t of [a, b]) {
  const rs = of(t);
  const m = meta.find((x) => x.target === t);
  const sent = all.filter((r) => r.target === t).reduce((n, r) => n + r.requests, 0);
  console.log(`| ${t} | ${Math.round(median(rs.map((r) => r.rps)))} | ${median(rs.map(cpu)).toFixed(3)} | ${median(rs.map((r) => r.p50_ms)).toFixed(2)} | ${median(rs.map((r) => r.p99_ms)).toFixed(1)} | ${Math.round(m.hwm_kb / 1024)} | ${m.ledger_ok_lines ?? '-'} / ${sent} |`);
}
const q = median(ratios);
console.log();
console.log(`${b} against ${a}: median over rounds of the RPS ratio ${q.toFixed(3)}, so ${b} serves ${(Math.abs(1 - q) * 100).toFixed(1)}% ${q < 1 ? 'fewer' : 'more'} requests/s than ${a} (ratios ${Math.min(...ratios).toFixed(3)}-${Math.max(...ratios).toFixed(3)})`);

// FIRST_BYTE=1: time to first byte per round, and what each side adds to nginx alone in that round.
const firstByte = jsonl('ttfb.jsonl');
if (firstByte.length) {
  console.log('\n| time to first byte | p50 ms (median over rounds) | added p50 vs direct, ms (median over rounds) |');
  console.log('|---|---:|---:|');
  for (const t of ['direct', a, b]) {
    const mine = firstByte.filter((r) => r.target === t);
    const added = mine.map((r) => r.p50_ms - firstByte.find((d) => d.target === 'direct' && d.round === r.round).p50_ms);
    console.log(`| ${t} | ${median(mine.map((r) => r.p50_ms)).toFixed(3)} | ${t === 'direct' ? '-' : '+' + median(added).toFixed(3)} |`);
  }
}
