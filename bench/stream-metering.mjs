// Stream metering: what a streamed call costs Bursar to cut its provider's bytes into events and
// meter them (usage, tool calls, the end), alone, without HTTP. The stream is the gateway bench's
// mock answer (../shared/bench/peers/nginx.conf: 12 events, arriving in one chunk), and the same
// answer cut into chunks of 256 bytes. Run after `npm run build`.
//   node bench/stream-metering.mjs [dist directory of another build, to compare]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dist = process.argv[2] ?? fileURLToPath(new URL('../dist', import.meta.url));
const { EventSplitter } = await import(`${dist}/gateway/sse.js`);
const { ChatMeter } = await import(`${dist}/gateway/usage.js`);

const conf = readFileSync(fileURLToPath(new URL('../../shared/bench/peers/nginx.conf', import.meta.url)), 'utf8');
const body = conf.match(/location = \/sse\/v1\/chat\/completions[\s\S]*?return 200 '([\s\S]*?)';/)?.[1];
if (!body) throw new Error('no SSE answer found in the peers harness nginx.conf');
const answer = Buffer.from(body.replace(/\\n/g, '\n'));
const pieces = (size) => Array.from({ length: Math.ceil(answer.length / size) }, (_, i) => answer.subarray(i * size, (i + 1) * size));

function meter(chunks) {
  const split = new EventSplitter();
  const m = new ChatMeter(true);
  let shown = 0;
  for (const c of chunks) {
    const events = split.push(c);
    if (events.length === 0) continue;
    m.scan?.(split.complete);
    for (const e of events) if (m.see(e)) shown++;
  }
  if (!m.done || !m.usage || shown !== 12) throw new Error(`metered wrongly: done=${m.done}, usage=${!!m.usage}, shown=${shown}`);
}

console.log(`Stream metering per streamed call (${answer.length} bytes, 12 events), ${dist}, node ${process.version}`);
console.log('| chunks | µs per stream |');
console.log('|---|---:|');
for (const [label, chunks] of [['one', [answer]], ['256 bytes each', pieces(256)]]) {
  for (let i = 0; i < 20_000; i++) meter(chunks);
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 20_000; i++) meter(chunks);
    runs.push(Number(process.hrtime.bigint() - t0) / 20_000 / 1000);
  }
  runs.sort((a, b) => a - b);
  console.log(`| ${label} | ${runs[2].toFixed(2)} |`);
}
