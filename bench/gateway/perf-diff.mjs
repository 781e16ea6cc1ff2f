// Where two sides of a toggle.sh PERF=1 run differ in CPU per request, by function: perf's
// samples of each side (999 a second, all rounds) as µs per request, and the functions whose
// share grew or shrank most. JIT code is named by node's --perf-basic-prof map.
//   node bench/gateway/perf-diff.mjs <out-dir> <label A> <label B> [top]
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { fileURLToPath } from 'node:url';

const [dir, a, b, topArg] = process.argv.slice(2);
const top = Number(topArg ?? 40);
const HZ = 999;
const results = readFileSync(`${dir}/results.jsonl`, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
// A run's label is target|mode|connections|round.
const requestsOf = (label, round) => results.find((r) => { const [t, , , n] = r.label.split('|'); return t === label && n === round; })?.requests ?? 0;

// JIT code of the bundle is named by its minified position: the bundler's maps give the source line.
const maps = new Map();
function located(url, line, col) {
  const file = fileURLToPath(url);
  if (!maps.has(file)) maps.set(file, existsSync(`${file}.map`) ? new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8'))) : null);
  const e = maps.get(file)?.findEntry(line - 1, col - 1);
  return e?.originalSource ? `${e.originalSource.replace(/^(\.\.\/)+/, '')}:${e.originalLine + 1}` : `${url.replace(/.*\//, '')}:${line}:${col}`;
}
function named(sym) {
  const m = /^JS:[*~^+]?(\S*) (file:\/\/\S+):(\d+):(\d+)$/.exec(sym);
  if (!m) return sym.replace(/^JS:[*~^+]?/, '').replace(/ 0x[0-9a-f]+$/, '');
  return `${m[1] || '(anonymous)'} ${located(m[2], Number(m[3]), Number(m[4]))}`;
}

/** Samples per symbol over every round of one side, and the requests those rounds served. */
function side(label) {
  const samples = new Map();
  let requests = 0;
  for (const f of readdirSync(`${dir}/perf`).filter((n) => n.startsWith(`${label}-`) && n.endsWith('.data'))) {
    requests += requestsOf(label, f.slice(label.length + 1, -'.data'.length));
    const text = execFileSync('perf', ['report', '-i', `${dir}/perf/${f}`, '--stdio', '-q', '--sort', 'dso,sym', '-F', 'sample,dso,sym'], { encoding: 'utf8', maxBuffer: 1 << 28, stdio: ['ignore', 'pipe', 'ignore'] });
    for (const line of text.split('\n')) {
      const m = /^\s*(\d+)\s+(\[JIT\] tid \d+|\S+)\s+\[[^\]]+\]\s+(.*?)\s*$/.exec(line);
      if (!m) continue;
      const sym = `${named(m[3])} (${m[2].startsWith('[JIT]') ? 'JIT' : m[2].replace(/.*\//, '')})`;
      samples.set(sym, (samples.get(sym) ?? 0) + Number(m[1]));
    }
  }
  return { samples, requests };
}

const A = side(a);
const B = side(b);
const us = (s, n) => (n ? (s / HZ) * 1e6 / n : 0);
const total = (x) => [...x.samples.values()].reduce((t, v) => t + v, 0);
console.log(`\nperf: ${a} ${us(total(A), A.requests).toFixed(1)} µs of CPU per request (${A.requests} requests), ${b} ${us(total(B), B.requests).toFixed(1)} (${B.requests})\n`);
const rows = [...new Set([...A.samples.keys(), ...B.samples.keys()])].map((sym) => {
  const ua = us(A.samples.get(sym) ?? 0, A.requests);
  const ub = us(B.samples.get(sym) ?? 0, B.requests);
  return { sym, ua, ub, d: ub - ua };
});
rows.sort((x, y) => Math.abs(y.d) - Math.abs(x.d));
console.log(`| function | ${a} µs/request | ${b} µs/request | difference |`);
console.log('|---|---:|---:|---:|');
for (const r of rows.slice(0, top)) console.log(`| ${r.sym.replace(/\|/g, '\\|').slice(0, 110)} | ${r.ua.toFixed(2)} | ${r.ub.toFixed(2)} | ${r.d >= 0 ? '+' : ''}${r.d.toFixed(2)} |`);
const byDso = new Map();
for (const r of rows) {
  const dso = /\(([^()]*)\)$/.exec(r.sym)?.[1] ?? '?';
  const cur = byDso.get(dso) ?? { ua: 0, ub: 0 };
  cur.ua += r.ua;
  cur.ub += r.ub;
  byDso.set(dso, cur);
}
console.log(`\n| where | ${a} µs/request | ${b} µs/request | difference |`);
console.log('|---|---:|---:|---:|');
for (const [dso, v] of [...byDso].sort((x, y) => Math.abs(y[1].ub - y[1].ua) - Math.abs(x[1].ub - x[1].ua)).slice(0, 12)) console.log(`| ${dso} | ${v.ua.toFixed(2)} | ${v.ub.toFixed(2)} | ${v.ub - v.ua >= 0 ? '+' : ''}${(v.ub - v.ua).toFixed(2)} |`);

// The same samples by kind of work: the collector's share tells allocation and retention apart
// from the code that does the work.
const KINDS = [
  ['garbage collection', /Scaveng|Marking|Sweep|Heap::|Evacuat|MemoryChunk|SizeFromMap|Compactor|RememberedSet|SlotSet|FreeList|Concurrent|RecordWrite|WriteBarrier|GCTracer|IterateP/],
  ['JIT compiler', /compiler::|Compile|Maglev|Turbofan|Deoptimiz/],
  ['Map and Set', /OrderedHash|MapPrototype|SetPrototype|MapIterator|SetIterator|Builtins_Map|Builtins_Set/],
  ['BigInt', /BigInt/i],
  ['strings and JSON', /String|Json|Utf8|utf8/],
  ['property access (ICs)', /IC(_|Trampoline|Baseline|$)|Megamorphic|LookupIterator|KeyedLoad|KeyedStore|CloneObject/],
  ['promises and microtasks', /Promise|Microtask|ResumeGenerator|Await|AsyncFunction/],
  ['JavaScript (JIT code)', /\(JIT\)$/],
  ['SQLite', /\(better_sqlite3\.node\)$/],
  ['kernel', /\(\[kernel\.kallsyms\]\)$/],
  ['libc (malloc, memcpy)', /\(libc\.so\.6\)$/],
];
const kinds = new Map();
for (const r of rows) {
  const k = KINDS.find(([, re]) => re.test(r.sym))?.[0] ?? 'other (node and V8)';
  const cur = kinds.get(k) ?? { ua: 0, ub: 0 };
  cur.ua += r.ua;
  cur.ub += r.ub;
  kinds.set(k, cur);
}
console.log(`\n| kind of work | ${a} µs/request | ${b} µs/request | difference |`);
console.log('|---|---:|---:|---:|');
for (const [k, v] of [...kinds].sort((x, y) => (y[1].ub - y[1].ua) - (x[1].ub - x[1].ua))) console.log(`| ${k} | ${v.ua.toFixed(2)} | ${v.ub.toFixed(2)} | ${v.ub - v.ua >= 0 ? '+' : ''}${(v.ub - v.ua).toFixed(2)} |`);
