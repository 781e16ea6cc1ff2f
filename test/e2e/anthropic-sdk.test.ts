/**
 * The official @anthropic-ai/sdk, unchanged but for base URL and key, against Bursar:
 * messages non-streaming and streaming, tool use, models, and the ledger line it leaves.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
let secret: string;

beforeAll(async () => {
  t = await startTestBursar();
  ({ secret } = await t.key({ project: 'support-bot', environment: 'production' }));
});
afterAll(() => t.close());

describe('messages', () => {
  it('answers and records exact usage priced at the Anthropic rates', async () => {
    const { data, response } = await t.anthropic(secret, { 'anthropic-beta': 'test-beta-2026' }).messages.create({
      model: 'claude-sonnet-4-5', max_tokens: 40, system: 'Be brief.', messages: [{ role: 'user', content: 'Draft a reply to a late-delivery complaint.' }],
    }).withResponse();
    expect(data.type).toBe('message');
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    const line = await t.line(response.headers.get('x-request-id')!);
    expect(line).toMatchObject({ status: 'ok', usageExact: true, endpoint: 'messages', currency: 'USD' });
    expect(line!.dims).toMatchObject({ department: 'support', project: 'support-bot', provider: 'anthropic', model: 'claude-sonnet-4-5' });
    expect(line!.tokens).toMatchObject({ input: data.usage.input_tokens, output: data.usage.output_tokens });
    // claude-sonnet-4-5: $3 input and $15 output per million tokens.
    expect(line!.costNano).toBe(BigInt(data.usage.input_tokens) * 3000n + BigInt(data.usage.output_tokens) * 15000n);
    // The SDK's version and beta headers reach the provider; the caller's key does not.
    const seen = t.sim.requests.at(-1)!.headers;
    expect(seen['anthropic-version']).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(seen['anthropic-beta']).toBe('test-beta-2026');
    expect(JSON.stringify(seen)).not.toContain(secret);
  });

  it('streams events as they arrive and records output from message_delta', async () => {
    const stream = t.anthropic(secret).messages.stream({ model: 'claude-haiku-4-5', max_tokens: 33, messages: [{ role: 'user', content: 'Summarise the ticket.' }] });
    let text = '';
    stream.on('text', (d) => (text += d));
    const final = await stream.finalMessage();
    expect(text).toBe((final.content[0] as { text: string }).text);
    expect(final.usage.output_tokens).toBe(33);
    const line = (await t.lines()).find((l) => l.stream && l.dims.model === 'claude-haiku-4-5');
    expect(line).toMatchObject({ status: 'ok', usageExact: true });
    expect(line!.tokens.output).toBe(33);
  });

  it('relays tool use, streaming and not', async () => {
    const tools = [{ name: 'lookup_order', description: 'Find an order', input_schema: { type: 'object' as const, properties: { query: { type: 'string' } } } }];
    const r = await t.anthropic(secret).messages.create({ model: 'claude-sonnet-4-5', max_tokens: 100, tools, messages: [{ role: 'user', content: 'Where is A-1?' }] });
    expect(r.stop_reason).toBe('tool_use');
    expect(r.content[0]).toMatchObject({ type: 'tool_use', name: 'lookup_order' });
    const s = await t.anthropic(secret).messages.stream({ model: 'claude-sonnet-4-5', max_tokens: 100, tools, messages: [{ role: 'user', content: 'Where is A-2?' }] }).finalMessage();
    expect(s.content[0]).toMatchObject({ type: 'tool_use', name: 'lookup_order' });
    expect((s.content[0] as { input: { query: string } }).input.query).toBeTruthy();
  });

  it('lists models in the Anthropic shape', async () => {
    const page = await t.anthropic(secret).models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toContain('claude-sonnet-4-5');
    expect(page.data[0]).toHaveProperty('type', 'model');
  });
});
