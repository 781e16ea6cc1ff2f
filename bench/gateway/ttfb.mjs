// Time to first byte of a streamed chat completion, one request at a time: the moment the
// first body bytes arrive, measured from just before the request is written.
//   node ttfb.mjs <n> <label> <url> <authorization> [<label> <url> <authorization> ...]
// With several targets, their requests take turns (each round of turns in a new order), so a slow
// spell of the machine falls on all of them alike, rather than on whichever ran during it.
// Prints one JSON line per target: {"target":..,"n":..,"p50_ms":..,"p90_ms":..,"p99_ms":..}
import http from 'node:http';

const [n, ...rest] = process.argv.slice(2);
if (!n || rest.length === 0 || rest.length % 3 !== 0) {
  console.error('usage: node ttfb.mjs <n> <label> <url> <authorization> [<label> <url> <authorization> ...]');
  process.exit(2);
}
const body = JSON.stringify({
  model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_tokens: 64,
  messages: [{ role: 'user', content: 'Where is my order A-10293?' }],
});
const targets = [];
for (let i = 0; i < rest.length; i += 3) {
  targets.push({ label: rest[i], url: new URL(rest[i + 1]), auth: rest[i + 2], agent: new http.Agent({ keepAlive: true, maxSockets: 1 }), times: [] });
}

function once(t) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let first = 0n;
    const req = http.request({ host: t.url.hostname, port: t.url.port, path: t.url.pathname, method: 'POST', agent: t.agent,
      headers: { 'content-type': 'application/json', authorization: t.auth, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => { if (!first) first = process.hrtime.bigint(); });
      res.on('end', () => resolve(Number(first - start) / 1e6));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (let i = 0; i < 200; i++) for (const t of targets) await once(t); // warm-up
for (let i = 0; i < Number(n); i++) {
  for (let k = 0; k < targets.length; k++) {
    const t = targets[(i + k) % targets.length];
    t.times.push(await once(t));
  }
}
for (const t of targets) {
  const xs = t.times.sort((a, b) => a - b);
  const q = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
  console.log(JSON.stringify({ target: t.label, n: xs.length, p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99) }));
  t.agent.destroy();
}
