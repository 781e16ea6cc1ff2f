/**
 * The official openai SDK, unchanged but for base URL and key, against Bursar: chat
 * completions, responses, embeddings and models, streaming and not, with the ledger checked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
let secret: string;
let keyId: string;

beforeAll(async () => {
  t = await startTestBursar();
  ({ secret, id: keyId } = await t.key({ project: 'campaign-ai', application: 'copywriter', environment: 'production', user: 'alice' }));
});
afterAll(() => t.close());

const messages = [
  { role: 'system' as const, content: 'You are concise.' },
  { role: 'user' as const, content: 'Where is my order A-10293?' },
];

describe('chat completions', () => {
  it('answers, prices from usage, and records one ledger line with every dimension', async () => {
    const { data, response } = await t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 40 }).withResponse();
    expect(data.object).toBe('chat.completion');
    expect(data.usage?.completion_tokens).toBeGreaterThan(0);
    const id = response.headers.get('x-request-id')!;
    expect(response.headers.get('x-bursar-usage')).toBe('exact');
    const line = await t.line(id);
    expect(line).toBeDefined();
    expect(line!.status).toBe('ok');
    expect(line!.usageExact).toBe(true);
    expect(line!.tokens.input).toBe(data.usage!.prompt_tokens);
    expect(line!.tokens.output).toBe(data.usage!.completion_tokens);
    expect(line!.dims).toMatchObject({
      department: 'marketing', cost_centre: 'MKTG', team: 'growth', project: 'campaign-ai', project_code: 'MKTG-AI-001',
      user: 'alice', application: 'copywriter', environment: 'production', provider: 'openai', model: 'gpt-4o-mini', key: keyId,
    });
    expect(line!.priceVersion).toMatch(/^openai\/gpt-4o-mini@/);
    // gpt-4o-mini: $0.15 input and $0.60 output per million tokens.
    const expected = (BigInt(data.usage!.prompt_tokens) * 150_000_000n + BigInt(data.usage!.completion_tokens) * 600_000_000n + 500_000n) / 1_000_000n;
    expect(line!.costNano).toBe(expected);
    expect(response.headers.get('x-bursar-cost')).toBe(String(Number(expected) / 1e9));
  });

  it('streams chunk by chunk, hides the usage chunk Bursar asked for, and still records exact usage', async () => {
    const stream = await t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 30, stream: true });
    let text = '';
    let sawUsage = false;
    let chunks = 0;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta?.content ?? '';
      if (c.usage) sawUsage = true;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text.length).toBeGreaterThan(10);
    expect(sawUsage).toBe(false);
    // Bursar asked the provider for usage on the client's behalf.
    const sent = t.sim.requests.at(-1)!.body;
    expect(sent.stream_options).toEqual({ include_usage: true });
    const line = (await t.lines()).find((l) => l.stream && l.endpoint === 'chat' && l.tokens.output === 30);
    expect(line?.usageExact).toBe(true);
    expect(line?.status).toBe('ok');
  });

  it('shows the usage chunk to a client that asked for it', async () => {
    const stream = await t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', messages, max_tokens: 12, stream: true, stream_options: { include_usage: true } });
    let usage = null;
    for await (const c of stream) if (c.usage) usage = c.usage;
    expect(usage).toMatchObject({ completion_tokens: 12 });
  });

  it('passes unknown request fields through untouched and sends the caller\'s bytes when nothing changes', async () => {
    await t.openai(secret).chat.completions.create({
      model: 'gpt-4o-mini', messages, max_tokens: 5,
      // @ts-expect-error: a field the SDK does not know
      x_vendor_flag: { nested: [1, 'two'] }, temperature: 0.3, seed: 7,
    });
    const sent = t.sim.requests.at(-1)!.body;
    expect(sent.x_vendor_flag).toEqual({ nested: [1, 'two'] });
    expect(sent.temperature).toBe(0.3);
    expect(sent.seed).toBe(7);
  });

  it('serves a provider-prefixed model name, sending the provider its own name', async () => {
    const r = await t.openai(secret).chat.completions.create({ model: 'openai/gpt-4o-mini', messages, max_tokens: 5 });
    expect(r.choices[0]?.message.content).toBeTruthy();
    expect(t.sim.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
  });

  it('relays tool calls, streaming and not', async () => {
    const tools = [{ type: 'function' as const, function: { name: 'lookup_order', parameters: { type: 'object', properties: { query: { type: 'string' } } } } }];
    const r = await t.openai(secret).chat.completions.create({ model: 'gpt-4o-mini', messages, tools });
    expect(r.choices[0]?.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'lookup_order' } });
    const s = t.openai(secret).chat.completions.stream({ model: 'gpt-4o-mini', messages, tools });
    const final = await s.finalChatCompletion();
    const call = final.choices[0]?.message.tool_calls?.[0];
    expect(call && 'function' in call ? JSON.parse(call.function.arguments) : null).toHaveProperty('query');
    // The ledger counts the calls the model asked for, streamed or not (a stream is searched for them because the request offers tools).
    await t.settled();
    const lines = (await t.lines()).filter((l) => l.dims.key === keyId && l.endpoint === 'chat').slice(-2);
    expect(lines.map((l) => [l.stream, l.toolCalls])).toEqual([[false, 1], [true, 1]]);
  });
});

describe('responses', () => {
  it('answers and streams, with usage from the response and from response.completed', async () => {
    const r = await t.openai(secret).responses.create({ model: 'gpt-4o-mini', input: 'Summarise our refund policy.', max_output_tokens: 25 });
    expect(r.output_text.length).toBeGreaterThan(5);
    expect(r.usage?.output_tokens).toBe(25);
    const stream = await t.openai(secret).responses.create({ model: 'gpt-4o-mini', input: 'Summarise it again.', max_output_tokens: 21, stream: true });
    let text = '';
    for await (const e of stream) if (e.type === 'response.output_text.delta') text += e.delta;
    expect(text.length).toBeGreaterThan(5);
    const lines = (await t.lines()).filter((l) => l.endpoint === 'responses');
    expect(lines.map((l) => [l.stream, l.tokens.output, l.usageExact]).sort()).toEqual([[false, 25, true], [true, 21, true]]);
  });
});

describe('embeddings and models', () => {
  it('embeds (the SDK asks for base64) and records prompt tokens', async () => {
    const r = await t.openai(secret).embeddings.create({ model: 'text-embedding-3-small', input: ['first text', 'second text'] });
    expect(r.data).toHaveLength(2);
    expect(r.data[0]!.embedding.length).toBe(256);
    const line = (await t.lines()).find((l) => l.endpoint === 'embeddings');
    expect(line?.tokens.input).toBe(r.usage.prompt_tokens);
    expect(line?.costNano).toBeGreaterThan(0n);
  });

  it('lists the models the key may use', async () => {
    const list = [];
    for await (const m of t.openai(secret).models.list()) list.push(m.id);
    expect(list).toContain('gpt-4o-mini');
    expect(list).toContain('claude-sonnet-4-5');
    const limited = await t.key({ allowed_models: ['gpt-4o*'] });
    const few = [];
    for await (const m of t.openai(limited.secret).models.list()) few.push(m.id);
    expect(few.length).toBeGreaterThan(0);
    expect(few.every((id) => id.startsWith('gpt-4o'))).toBe(true);
    const one = await t.openai(secret).models.retrieve('gpt-4o-mini');
    expect(one.owned_by).toBe('openai');
  });
});
