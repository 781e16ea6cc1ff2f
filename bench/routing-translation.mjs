// The added CPU of routing and of translation per call, in-process and without HTTP, side by
// side with plain pass-through in one run: the work the gateway does on a call's body and on its
// answer (JSON, or the 13 events of a stream), with the same answer text and token counts as the
// shared nginx mock. Run after `npm run build`:
//   node bench/routing-translation.mjs
import { performance } from 'node:perf_hooks';
import { ENDPOINTS } from '../dist/gateway/endpoints.js';
import { parseCall, prepareUpstream } from '../dist/gateway/request.js';
import { EventSplitter, eventJson } from '../dist/gateway/sse.js';
import { translationFor } from '../dist/gateway/translate.js';
import { Router } from '../dist/routing/router.js';
import { routeSpecSchema } from '../dist/routing/model.js';
import { cacheKey, MemoryResponseCache } from '../dist/routing/cache.js';
import { emptyDims } from '../dist/core/dimensions.js';

const TEXT = ['Your order A-10293', ' left the Lyon hub', ' on Sunday and is', ' most likely delayed', ' rather than lost.', ' We will send a', ' replacement if it', ' has not moved by Friday.'];
const request = Buffer.from(JSON.stringify({
  model: 'gpt-4o-mini', max_tokens: 64, stream_options: { include_usage: true },
  messages: [{ role: 'system', content: 'You are a concise assistant.' }, { role: 'user', content: 'Where is my order A-10293?' }],
}));
const usage = { prompt_tokens: 231, completion_tokens: 24, total_tokens: 255, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } };
const chatJson = Buffer.from(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: TEXT.join('') }, finish_reason: 'stop' }], usage }));
const msgJson = Buffer.from(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [{ type: 'text', text: TEXT.join('') }], stop_reason: 'end_turn', usage: { input_tokens: 231, output_tokens: 24 } }));
const chunk = (delta, finish = null) => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, finish_reason: finish }], usage: null })}\n\n`;
const chatSse = Buffer.from([chunk({ role: 'assistant', content: '' }), ...TEXT.map((t) => chunk({ content: t })), chunk({}, 'stop'),
  `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [], usage })}\n\n`, 'data: [DONE]\n\n'].join(''));
const ev = (name, data) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
const msgSse = Buffer.from([
  ev('message_start', { type: 'message_start', message: { id: 'msg_2', type: 'message', role: 'assistant', model: 'claude-haiku-4-5', content: [], usage: { input_tokens: 231, output_tokens: 1 } } }),
  ev('content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), ev('ping', { type: 'ping' }),
  ...TEXT.map((t) => ev('content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } })),
  ev('content_block_stop', { type: 'content_block_stop', index: 0 }),
  ev('message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 24 } }), ev('message_stop', { type: 'message_stop' }),
].join(''));

const chat = ENDPOINTS.chat;
const tr = translationFor(chat, 'anthropic', 'claude-haiku-4-5');
const router = new Router([routeSpecSchema.parse({ id: 'bench', tiers: { premium: 'gpt-4o', standard: 'gpt-4o-mini' }, default_tier: 'standard', fallbacks: ['gpt-4.1-mini'] })], () => {});
const ctx = { share: async () => null, exception: null, approved: () => null };
// A route's response cache, holding the answer to the benchmark's request: the work of a hit.
const cache = new MemoryResponseCache(64 * 1024 * 1024);
const cachedDims = { ...emptyDims(), key: 'key_bench' };
const keyOf = (p, r) => cacheKey({ route: r.route, tier: r.tier, endpoint: 'chat', share: 'key', dims: cachedDims, body: p.body });
await cache.set(keyOf(parseCall(request, chat), await router.route('gpt-4o-mini', 'bench', ctx)), { model: 'openai/gpt-4o-mini', contentType: 'application/json', body: chatJson, usage: {} }, 3_600_000);

/** The request and answer work of one call. */
const variants = {
  'pass-through': async (stream) => {
    const p = parseCall(request, chat);
    prepareUpstream(request, p, chat, 'gpt-4o-mini', null);
    return stream ? relay(chat.meter(true), null, chatSse) : chat.usage(JSON.parse(chatJson.toString()));
  },
  routed: async (stream) => {
    const p = parseCall(request, chat);
    const r = await router.route(p.model, 'bench', ctx);
    router.fallbacks(r);
    prepareUpstream(request, p, chat, r.model, null);
    return stream ? relay(chat.meter(true), null, chatSse) : chat.usage(JSON.parse(chatJson.toString()));
  },
  'routed + translated': async (stream) => {
    const p = parseCall(request, chat);
    const r = await router.route(p.model, 'bench', ctx);
    router.fallbacks(r);
    const body = tr.request(p.body);
    prepareUpstream(Buffer.from(JSON.stringify(body)), { ...p, body }, tr.upstream, 'claude-haiku-4-5', null);
    if (stream) {
      const meter = tr.upstream.meter(true);
      return relay(meter, tr.stream(meter, true), msgSse);
    }
    const json = JSON.parse(msgJson.toString());
    const u = tr.upstream.usage(json);
    return Buffer.from(JSON.stringify(tr.response(json, u)));
  },
  // No provider call at all: the request is parsed, routed, hashed and looked up; the kept answer is the reply.
  'routed + cache hit': async () => {
    const p = parseCall(request, chat);
    const r = await router.route(p.model, 'bench', ctx);
    const hit = await cache.get(keyOf(p, r));
    if (!hit) throw new Error('the benchmark expected a cache hit');
    return hit.body;
  },
};

/** The handler's stream loop: split events, meter them, translate them when there is a translator. */
function relay(meter, translator, bytes) {
  const split = new EventSplitter();
  const out = [];
  for (const e of split.push(bytes)) {
    const was = meter.done;
    if (!meter.see(e)) continue;
    if (!translator) out.push(e);
    else {
      const j = eventJson(e);
      if (j) out.push(...translator.push(j));
      if (meter.done && !was) out.push(...translator.end());
    }
  }
  return out;
}

const N = 200_000;
const results = {};
for (const stream of [false, true]) {
  for (const [name, fn] of Object.entries(variants)) {
    for (let i = 0; i < 20_000; i++) await fn(stream); // warm up
    const runs = [];
    for (let rep = 0; rep < 5; rep++) {
      const t0 = performance.now();
      for (let i = 0; i < N / 5; i++) await fn(stream);
      runs.push(((performance.now() - t0) * 1000) / (N / 5));
    }
    runs.sort((a, b) => a - b);
    results[`${stream ? 'sse' : 'json'}|${name}`] = runs[2];
  }
}
console.log('| work per call | JSON µs | SSE (13 events) µs |');
console.log('|---|---:|---:|');
for (const name of Object.keys(variants)) {
  const j = results[`json|${name}`];
  const s = results[`sse|${name}`];
  const base = (m) => results[`${m}|pass-through`];
  const plus = (v, m) => (name === 'pass-through' ? '' : ` (+${(v - base(m)).toFixed(1)})`);
  console.log(`| ${name} | ${j.toFixed(1)}${plus(j, 'json')} | ${s.toFixed(1)}${plus(s, 'sse')} |`);
}
