// Time to first byte of a streamed chat completion, one request at a time: the moment the
// first body bytes arrive, measured from just before the request is written.
//   node ttfb.mjs <url> <n> [authorization]
// Prints one JSON line: {"n":..,"p50_ms":..,"p90_ms":..,"p99_ms":..}
import http from 'node:http';

const [url, n = '2000', auth = 'Bearer sk-bench'] = process.argv.slice(2);
const body = JSON.stringify({
  model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, max_tokens: 64,
  messages: [{ role: 'user', content: 'Where is my order A-10293?' }],
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const u = new URL(url);

function once() {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    let first = 0n;
    const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
      headers: { 'content-type': 'application/json', authorization: auth, 'content-length': Buffer.byteLength(body) } }, (res) => {
      res.on('data', () => { if (!first) first = process.hrtime.bigint(); });
      res.on('end', () => resolve(Number(first - start) / 1e6));
    });
    req.on('error', reject);
    req.end(body);
  });
}

for (let i = 0; i < 200; i++) await once(); // warm-up
const xs = [];
for (let i = 0; i < Number(n); i++) xs.push(await once());
xs.sort((a, b) => a - b);
const q = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))];
console.log(JSON.stringify({ n: xs.length, p50_ms: q(0.5), p90_ms: q(0.9), p99_ms: q(0.99) }));
agent.destroy();
