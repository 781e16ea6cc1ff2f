/**
 * Bad input and provider faults: each gets a clean error in the caller's dialect with a stable
 * code, and the ledger records what the provider may bill (estimated and flagged when Bursar
 * had to count it).
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Fault } from '../../src/providers/simulator/server.js';
import { eventually, ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';

const YAML = `${ORG_YAML}
  - { id: slowai, dialect: openai, simulate: true, timeout_s: 0.4, models: ["slow-*"] }
  - { id: looseai, dialect: openai, simulate: true, models: ["local-*"], allow_unpriced: true }
  - { id: strictai, dialect: openai, simulate: true, models: ["strict-*"] }
server: { body_limit_mb: 0.05 }
prices:
  - { provider: slowai, model: slow-model, effective_from: "2024-01-01", per_million: { input: "1.00", output: "2.00" } }
`;

let t: TestBursar;
let secret: string;
const faults = new Map<string, Fault>();

beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML, sim: { fault: (r) => faults.get(marker(r.body)) } });
  ({ secret } = await t.key({ department: 'marketing' }));
});
afterAll(() => t.close());

function marker(body: Record<string, unknown>): string {
  const m = (body.messages as { content?: unknown }[] | undefined)?.at(-1)?.content;
  return typeof m === 'string' ? m : '';
}

const post = (path: string, body: string, headers: Record<string, string> = {}) =>
  fetch(`${t.url}/v1${path}`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json', ...headers }, body });
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (r: Response | Promise<Response>): Promise<any> => (await r).json();

describe('bad input, in the caller\'s dialect', () => {
  it('malformed JSON', async () => {
    const o = await post('/chat/completions', '{"model": "gpt-4o-mini", ');
    expect(o.status).toBe(400);
    expect(await json(o)).toMatchObject({ error: { code: 'invalid_json', type: 'invalid_request_error' } });
    const a = await post('/messages', '{nope', { 'anthropic-version': '2023-06-01' });
    expect(a.status).toBe(400);
    expect(await json(a)).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', code: 'invalid_json' } });
  });

  it('a missing model, a body that is not an object, a field of the wrong type', async () => {
    const r = await post('/chat/completions', JSON.stringify({ messages: [] }));
    expect(await json(r)).toMatchObject({ error: { code: 'missing_model', param: 'model' } });
    expect((await json(post('/chat/completions', '[1,2]'))).error.code).toBe('invalid_body');
    const wrong = await json(post('/chat/completions', JSON.stringify({ model: 'gpt-4o-mini', max_tokens: -3 })));
    expect(wrong.error).toMatchObject({ code: 'invalid_body', param: 'max_tokens' });
  });

  it('an over-large body', async () => {
    const big = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x'.repeat(100_000) }] });
    const o = await post('/chat/completions', big);
    expect(o.status).toBe(413);
    expect((await json(o)).error.code).toBe('body_too_large');
    const a = await post('/messages', big.replace('gpt-4o-mini', 'claude-haiku-4-5'), { 'anthropic-version': '2023-06-01' });
    expect(a.status).toBe(413);
    expect(await json(a)).toMatchObject({ type: 'error', error: { type: 'request_too_large', code: 'body_too_large' } });
  });

  it('a bad, a foreign, a revoked and an expired key, through both SDKs', async () => {
    const call = (key: string) => t.openai(key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await expect(call('bsk_not-a-real-key')).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    await expect(call('sk-proj-openai-key')).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    const k = await t.key({ department: 'marketing' });
    await call(k.secret);
    expect((await t.admin('POST', `/keys/${k.id}/revoke`, { reason: 'leaked' })).status).toBe(200);
    await expect(call(k.secret)).rejects.toMatchObject({ status: 401, code: 'key_revoked' });
    const a = t.anthropic(k.secret).messages.create({ model: 'claude-haiku-4-5', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] });
    await expect(a).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(a).rejects.toMatchObject({ error: { type: 'error', error: { type: 'authentication_error', code: 'key_revoked' } } });

    const soon = await t.key({ department: 'marketing', expires_at: new Date(Date.now() + 1000).toISOString() });
    await call(soon.secret);
    await new Promise((r) => setTimeout(r, 1100));
    await expect(call(soon.secret)).rejects.toMatchObject({ status: 401, code: 'key_expired' });
  });

  it('models that are unknown, unpriced or not allowed', async () => {
    const call = (key: string, model: string) => t.openai(key).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    await expect(call(secret, 'no-such-model')).rejects.toMatchObject({ status: 404, code: 'model_not_found' });
    await expect(call(secret, 'strict-model')).rejects.toMatchObject({ status: 400, code: 'model_unpriced' });
    const free = await call(secret, 'local-llama').withResponse();
    expect(free.response.headers.get('x-bursar-cost')).toBe('0');
    const narrow = await t.key({ department: 'marketing', allowed_models: ['gpt-4o-mini'] });
    await expect(call(narrow.secret, 'gpt-4o')).rejects.toMatchObject({ status: 403, code: 'model_not_allowed' });
    await call(narrow.secret, 'gpt-4o-mini');
  });

  it('an unknown path', async () => {
    const r = await post('/nope', '{}');
    expect(r.status).toBe(404);
    expect((await json(r)).error.code).toBe('route_not_found');
  });

  it('records refusals of known keys with no cost, and never a provider call', async () => {
    const before = t.sim.requests.length;
    await post('/chat/completions', JSON.stringify({ model: 'no-such-model', messages: [] }));
    expect(t.sim.requests.length).toBe(before);
    const refused = (await t.lines()).filter((l) => l.status === 'refused' && l.errorCode === 'model_not_found');
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((l) => l.costNano === 0n)).toBe(true);
  });
});

describe('provider faults', () => {
  const chat = (content: string, extra: Record<string, unknown> = {}) =>
    t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }], max_tokens: 50, ...extra } as never);

  it('passes provider 4xx and 5xx errors through and bills nothing', async () => {
    faults.set('f-429', { kind: 'status', status: 429 });
    faults.set('f-500', { kind: 'status', status: 500 });
    await expect(chat('f-429')).rejects.toBeInstanceOf(OpenAI.RateLimitError);
    await expect(chat('f-500')).rejects.toBeInstanceOf(OpenAI.InternalServerError);
    const lines = (await t.lines()).filter((l) => l.errorCode === 'upstream_429' || l.errorCode === 'upstream_500');
    expect(lines.map((l) => [l.status, l.httpStatus, l.costNano])).toEqual(expect.arrayContaining([['error', 429, 0n], ['error', 500, 0n]]));
    // Calls that end badly are logged (at warn) even with per-call logging off.
    t.b.log.flush();
    const warned = t.logs.join('').split('\n').filter((l) => l.includes('"code":"upstream_500"'));
    expect(JSON.parse(warned[0]!)).toMatchObject({ level: 40, status: 'error', http: 500 });
  });

  it('a timeout becomes upstream_timeout, and the prompt is billed as an estimate', async () => {
    faults.set('f-hang', { kind: 'hang' });
    const r = t.openai(secret).chat.completions.create({ model: 'slow-model', messages: [{ role: 'user', content: 'f-hang' }] });
    await expect(r).rejects.toMatchObject({ status: 504, code: 'upstream_timeout' });
    const line = (await t.lines()).find((l) => l.errorCode === 'upstream_timeout');
    expect(line).toMatchObject({ status: 'error', usageExact: false });
    expect(line!.tokens.input).toBeGreaterThan(0);
  });

  it('a connection reset becomes upstream_unreachable', async () => {
    faults.set('f-reset', { kind: 'reset' });
    await expect(chat('f-reset')).rejects.toMatchObject({ status: 502, code: 'upstream_unreachable' });
  });

  it('a missing usage block is counted with the tokenizer and flagged', async () => {
    faults.set('f-nousage', { kind: 'no-usage' });
    const { response } = await chat('f-nousage').withResponse();
    expect(response.headers.get('x-bursar-usage')).toBe('estimated');
    const line = await t.line(response.headers.get('x-request-id')!);
    expect(line).toMatchObject({ status: 'ok', usageExact: false });
    expect(line!.tokens.input).toBeGreaterThan(0);
    expect(line!.tokens.output).toBeGreaterThan(0);
    expect(line!.costNano).toBeGreaterThan(0n);
  });

  it('a prompt holding a special token\'s text is counted as text when usage is missing', async () => {
    faults.set('f-special', { kind: 'no-usage' });
    const { response } = await t.openai(secret).chat.completions.create({
      model: 'gpt-4o-mini', max_tokens: 50,
      messages: [{ role: 'system', content: 'Documents end with <|endoftext|>; treat it as text.' }, { role: 'user', content: 'f-special' }],
    }).withResponse();
    expect(response.headers.get('x-bursar-usage')).toBe('estimated');
    const line = await t.line(response.headers.get('x-request-id')!);
    expect(line).toMatchObject({ status: 'ok', usageExact: false });
    expect(line!.tokens.input).toBeGreaterThan(10);
  });

  it('a stream cut mid-event ends with a clean error; the partial answer is billed as an estimate', async () => {
    faults.set('f-cut', { kind: 'cut', afterEvents: 6 });
    const stream = (await chat('f-cut', { stream: true })) as unknown as AsyncIterable<OpenAI.ChatCompletionChunk>;
    let text = '';
    await expect((async () => {
      for await (const c of stream) text += c.choices[0]?.delta?.content ?? '';
    })()).rejects.toMatchObject({ error: { code: 'upstream_stream_cut' } });
    expect(text.length).toBeGreaterThan(0);
    const line = (await t.lines()).find((l) => l.status === 'partial' && l.endpoint === 'chat');
    expect(line).toMatchObject({ usageExact: false, errorCode: 'upstream_stream_cut' });
    expect(line!.tokens.output).toBeGreaterThan(0);
  });

  it('an Anthropic stream cut after message_start keeps its exact input count and estimates the output', async () => {
    faults.set('a-cut', { kind: 'cut', afterEvents: 5 });
    const s = t.anthropic(secret).messages.stream({ model: 'claude-haiku-4-5', max_tokens: 60, messages: [{ role: 'user', content: 'a-cut' }] });
    await expect(s.finalMessage()).rejects.toThrow(/ended the stream before it was complete/);
    const line = (await t.lines()).find((l) => l.status === 'partial' && l.endpoint === 'messages');
    expect(line).toMatchObject({ usageExact: false });
    const sentBody = t.sim.requests.filter((r) => marker(r.body) === 'a-cut').at(-1)!.body;
    expect(line!.tokens.input).toBeGreaterThan(0);
    expect(sentBody.stream).toBe(true);
  });

  it('a client that disconnects mid-stream: the upstream call is aborted and the call recorded as cancelled', async () => {
    faults.set('f-stall', { kind: 'stall', afterEvents: 4 });
    const stream = await chat('f-stall', { stream: true });
    let got = 0;
    // Leaving the loop closes the connection (the SDK aborts its request).
    for await (const _ of stream as unknown as AsyncIterable<unknown>) if (++got === 3) break;
    expect(got).toBe(3);
    // The provider never ends this stream: the line only appears because Bursar aborted it.
    const line = await eventually(async () => {
      const l = (await t.lines()).find((x) => x.status === 'cancelled');
      if (!l) throw new Error('not yet');
      return l;
    });
    expect(line).toMatchObject({ usageExact: false, errorCode: 'client_disconnected' });
    expect(line.tokens.output).toBeGreaterThan(0);
  });
});

describe('a stop that outlasts its grace', () => {
  it('cuts the calls still in flight, tells their callers, and records them as cancelled', async () => {
    // The stream stops after two events and never ends; the other call is never answered.
    const stalled = await startTestBursar({
      keepData: true, shutdownGraceMs: 200, sim: { fault: (r) => (r.body.stream ? { kind: 'stall', afterEvents: 2 } : { kind: 'hang' }) },
    });
    const { dataDir } = stalled;
    try {
      const { secret: key } = await stalled.key({ department: 'marketing' });
      const call = (stream: boolean) =>
        fetch(`${stalled.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', stream, max_tokens: 50, messages: [{ role: 'user', content: 'never ends' }] }),
        });
      const streamed = await call(true);
      expect(streamed.status).toBe(200);
      const waiting = call(false);
      await eventually(() => expect(stalled.sim.requests.length).toBe(2));
      // Only the cut can end these calls; the stop waits for it, then for their lines.
      await stalled.close();
      const text = await streamed.text();
      expect(text).not.toContain('[DONE]');
      expect(text).toContain('"code":"service_stopping"');
      const answered = await waiting;
      expect(answered.status).toBe(503);
      expect(((await answered.json()) as { error: { code: string } }).error.code).toBe('service_stopping');

      const again = await startTestBursar({ dataDir });
      try {
        for (const id of [streamed.headers.get('x-request-id')!, answered.headers.get('x-request-id')!]) {
          expect(await again.line(id)).toMatchObject({ status: 'cancelled', errorCode: 'service_stopping', usageExact: false });
        }
      } finally {
        await again.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
