/**
 * Cross-provider routes with the official SDKs: an OpenAI chat call served by an Anthropic
 * model and an Anthropic messages call served by an OpenAI-shaped one, whole and streamed, with
 * system prompts, tool calls and tool results. The provider receives its own dialect (checked in
 * the simulator's log), the caller gets its own back, and the ledger prices the provider's usage.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type OpenAI from 'openai';
import type Anthropic from '@anthropic-ai/sdk';
import { ORG_YAML, startTestBursar, type TestBursar } from '../helpers/bursar.js';
import type { Fault } from '../../src/providers/simulator/server.js';

const YAML = `${ORG_YAML}
routes:
  - id: drafting
    tiers: { standard: anthropic/claude-haiku-4-5 }
    default_tier: standard
  - id: review
    tiers: { standard: gpt-4o-mini }
    default_tier: standard
  - id: cross-fallback
    tiers: { standard: gpt-4o }
    default_tier: standard
    fallbacks: [anthropic/claude-haiku-4-5]
`;

let t: TestBursar;
let fault: ((body: Record<string, unknown>) => Fault | undefined) | null = null;
beforeAll(async () => {
  t = await startTestBursar({ yaml: YAML, sim: { fault: (r) => fault?.(r.body) } });
});
afterAll(() => t.close());

const lookup = {
  type: 'function' as const,
  function: { name: 'lookup_order', description: 'Find an order by its number', parameters: { type: 'object', properties: { query: { type: 'string' } }, required: ['query'] } },
};
const lastSent = () => t.sim.requests.at(-1)!;

/** The ledger's tokens and cost of a call, for comparing with what the caller was told. */
async function lineOf(id: string) {
  const line = await t.line(id);
  expect(line).toBeDefined();
  return line!;
}

describe('OpenAI chat to an Anthropic model', () => {
  it('sends the system prompt and tools in Anthropic shape, and answers a tool call in OpenAI shape with its usage and cost', async () => {
    const k = await t.key({ department: 'support' });
    const { data, response } = await t.openai(k.secret).chat.completions.create({
      model: 'route:drafting',
      messages: [
        { role: 'system', content: 'You are a support agent.' },
        { role: 'user', content: 'Where is order 1042?' },
      ],
      tools: [lookup],
      tool_choice: 'required',
      temperature: 1.5,
      stop: 'END',
    }).withResponse();

    const sent = lastSent();
    expect(sent.endpoint).toBe('messages');
    expect(sent.body).toMatchObject({
      model: 'claude-haiku-4-5',
      system: 'You are a support agent.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Where is order 1042?' }] }],
      tools: [{ name: 'lookup_order', description: 'Find an order by its number', input_schema: lookup.function.parameters }],
      tool_choice: { type: 'any' },
      max_tokens: 4096,
      temperature: 1,
      stop_sequences: ['END'],
    });
    expect(response.headers.get('x-bursar-translated')).toBe('openai->anthropic');

    const choice = data.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]!;
    expect(call.type).toBe('function');
    expect((call as { function: { name: string; arguments: string } }).function.name).toBe('lookup_order');
    expect(JSON.parse((call as { function: { arguments: string } }).function.arguments)).toHaveProperty('query');

    const line = await lineOf(response.headers.get('x-request-id')!);
    expect(line.endpoint).toBe('chat');
    expect(line.dims).toMatchObject({ provider: 'anthropic', model: 'claude-haiku-4-5', route: 'drafting' });
    expect(line.usageExact).toBe(true);
    expect(line.toolCalls).toBe(1);
    expect(data.usage!.prompt_tokens).toBe(line.tokens.input + line.tokens.cached_input + line.tokens.cache_write);
    expect(data.usage!.completion_tokens).toBe(line.tokens.output);
    expect(line.costNano).toBeGreaterThan(0n);
    expect(response.headers.get('x-bursar-cost')).not.toBe('0');

    // The tool's result goes back as the next turn: a tool_result block answering the tool_use.
    const second = await t.openai(k.secret).chat.completions.create({
      model: 'route:drafting',
      messages: [
        { role: 'system', content: 'You are a support agent.' },
        { role: 'user', content: 'Where is order 1042?' },
        choice.message as OpenAI.Chat.ChatCompletionMessageParam,
        { role: 'tool', tool_call_id: call.id, content: 'Shipped on Monday.' },
      ],
      tools: [lookup],
      max_tokens: 64,
    });
    expect(lastSent().body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Where is order 1042?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'lookup_order', input: expect.any(Object) }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'Shipped on Monday.' }] },
    ]);
    expect(lastSent().body.max_tokens).toBe(64);
    expect(second.choices[0]!.finish_reason).toMatch(/^(stop|length)$/);
    expect(second.choices[0]!.message.content!.length).toBeGreaterThan(0);
  });

  it('streams text and tool calls as chat chunks, with the usage chunk only when asked', async () => {
    const k = await t.key({ department: 'support' });
    const client = t.openai(k.secret);
    const chunks: OpenAI.Chat.ChatCompletionChunk[] = [];
    const stream = await client.chat.completions.create({
      model: 'route:drafting', stream: true, stream_options: { include_usage: true }, max_tokens: 40,
      messages: [{ role: 'developer', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }],
    });
    for await (const c of stream) chunks.push(c);
    expect(lastSent().body).toMatchObject({ stream: true, system: 'Be brief.', max_tokens: 40 });
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text.length).toBeGreaterThan(0);
    expect(chunks[0]!.choices[0]!.delta.role).toBe('assistant');
    const usage = chunks.at(-1)!.usage!;
    expect(chunks.at(-1)!.choices).toEqual([]);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]!.finish_reason)).toHaveLength(1);
    await t.settled();
    const line = (await t.lines()).filter((l) => l.dims.key === k.id).at(-1)!;
    expect(line.stream).toBe(true);
    expect(line.usageExact).toBe(true);
    expect(usage.completion_tokens).toBe(line.tokens.output);
    expect(usage.prompt_tokens).toBe(line.tokens.input);

    // Without include_usage, no usage chunk; a tool call streams as tool_calls deltas the SDK assembles.
    const runner = client.chat.completions.stream({ model: 'route:drafting', messages: [{ role: 'user', content: 'Find order 7.' }], tools: [lookup] });
    const seen: OpenAI.Chat.ChatCompletionChunk[] = [];
    runner.on('chunk', (c) => seen.push(c));
    const final = await runner.finalChatCompletion();
    expect(seen.some((c) => c.usage)).toBe(false);
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    const tc = final.choices[0]!.message.tool_calls![0]! as { function: { name: string; arguments: string } };
    expect(tc.function.name).toBe('lookup_order');
    expect(JSON.parse(tc.function.arguments)).toHaveProperty('query');
  });

  it("refuses what has no counterpart, and passes the provider's errors on in OpenAI shape", async () => {
    const k = await t.key({ department: 'support' });
    const client = t.openai(k.secret);
    await expect(client.chat.completions.create({ model: 'route:drafting', n: 2, messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({
      status: 400, code: 'translation_unsupported', param: 'n',
    });
    await expect(client.chat.completions.create({ model: 'route:drafting', response_format: { type: 'json_object' }, messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({
      status: 400, code: 'translation_unsupported', param: 'response_format',
    });
    // The responses endpoint has no Anthropic counterpart.
    await expect(client.responses.create({ model: 'route:drafting', input: 'Hi' })).rejects.toMatchObject({ status: 400, code: 'dialect_mismatch' });

    fault = (body) => (body.system === 'fail' ? { kind: 'status', status: 400 } : undefined);
    try {
      const err = await client.chat.completions.create({ model: 'route:drafting', max_tokens: 10, messages: [{ role: 'system', content: 'fail' }, { role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 400, type: 'invalid_request_error', code: 'upstream_400' });
      expect((err as Error).message).toContain('simulated 400');
    } finally {
      fault = null;
    }
  });
});

describe('Anthropic messages to an OpenAI model', () => {
  it('sends the system prompt and tools in chat shape, and answers a tool_use in Anthropic shape with its usage and cost', async () => {
    const k = await t.key({ department: 'support' });
    const client = t.anthropic(k.secret);
    const tool = { name: 'lookup_order', description: 'Find an order', input_schema: { type: 'object' as const, properties: { query: { type: 'string' } } } };
    const { data, response } = await client.messages.create({
      model: 'route:review', max_tokens: 200, system: [{ type: 'text', text: 'You review contracts.' }],
      messages: [{ role: 'user', content: 'Check clause 4.' }], tools: [tool], tool_choice: { type: 'auto', disable_parallel_tool_use: true }, top_k: 5,
    } as never).withResponse() as unknown as { data: Anthropic.Message; response: Response };

    const sent = lastSent();
    expect(sent.endpoint).toBe('chat');
    expect(sent.body).toEqual({
      model: 'gpt-4o-mini',
      messages: [{ role: 'system', content: 'You review contracts.' }, { role: 'user', content: 'Check clause 4.' }],
      max_completion_tokens: 200,
      tools: [{ type: 'function', function: { name: 'lookup_order', description: 'Find an order', parameters: tool.input_schema } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
    });
    expect(response.headers.get('x-bursar-translated')).toBe('anthropic->openai');
    expect(data.type).toBe('message');
    expect(data.stop_reason).toBe('tool_use');
    const use = data.content.find((c) => c.type === 'tool_use')!;
    expect(use).toMatchObject({ type: 'tool_use', name: 'lookup_order', input: { query: expect.any(String) } });

    const line = await lineOf(response.headers.get('x-request-id')!);
    expect(line.endpoint).toBe('messages');
    expect(line.dims).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', route: 'review' });
    expect(line.usageExact).toBe(true);
    expect(data.usage.input_tokens).toBe(line.tokens.input);
    expect(data.usage.output_tokens).toBe(line.tokens.output);
    expect(line.costNano).toBeGreaterThan(0n);

    // The tool's result comes back as a tool message answering the call.
    const id = (use as { id: string }).id;
    const second = await client.messages.create({
      model: 'route:review', max_tokens: 50, tools: [tool],
      messages: [
        { role: 'user', content: 'Check clause 4.' },
        { role: 'assistant', content: data.content },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: id, content: 'Clause 4 is fine.' }, { type: 'text', text: 'Summarise.' }] },
      ],
    });
    expect(lastSent().body.messages).toEqual([
      { role: 'user', content: 'Check clause 4.' },
      { role: 'assistant', content: null, tool_calls: [{ id, type: 'function', function: { name: 'lookup_order', arguments: JSON.stringify((use as { input: unknown }).input) } }] },
      { role: 'tool', tool_call_id: id, content: 'Clause 4 is fine.' },
      { role: 'user', content: [{ type: 'text', text: 'Summarise.' }] },
    ]);
    // The last turn is the user's again (it asks for a summary), so the model may call the tool again.
    expect(second).toMatchObject({ type: 'message', role: 'assistant', stop_reason: 'tool_use', content: [{ type: 'tool_use', name: 'lookup_order' }] });
  });

  it('streams text and tool use as Anthropic events the SDK assembles, with the usage in message_delta', async () => {
    const k = await t.key({ department: 'support' });
    const client = t.anthropic(k.secret);
    const stream = client.messages.stream({ model: 'route:review', max_tokens: 60, system: 'Be brief.', messages: [{ role: 'user', content: 'Say hello.' }] });
    const types: string[] = [];
    stream.on('streamEvent', (e) => types.push(e.type));
    const msg = await stream.finalMessage();
    expect(lastSent().body).toMatchObject({ stream: true, stream_options: { include_usage: true }, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Say hello.' }] });
    expect(types[0]).toBe('message_start');
    expect(types.slice(-2)).toEqual(['message_delta', 'message_stop']);
    expect(msg.content[0]).toMatchObject({ type: 'text' });
    expect((msg.content[0] as { text: string }).text.length).toBeGreaterThan(0);
    await t.settled();
    const line = (await t.lines()).filter((l) => l.dims.key === k.id).at(-1)!;
    expect(line.usageExact).toBe(true);
    expect(msg.usage.output_tokens).toBe(line.tokens.output);
    expect(msg.usage.input_tokens).toBe(line.tokens.input);

    const tools = client.messages.stream({ model: 'route:review', max_tokens: 60, messages: [{ role: 'user', content: 'Find order 7.' }], tools: [{ name: 'lookup_order', input_schema: { type: 'object' } }] });
    const final = await tools.finalMessage();
    expect(final.stop_reason).toBe('tool_use');
    expect(final.content.find((c) => c.type === 'tool_use')).toMatchObject({ name: 'lookup_order', input: { query: expect.any(String) } });
  });

  it("refuses server tools, and passes the provider's errors on in Anthropic shape", async () => {
    const k = await t.key({ department: 'support' });
    const client = t.anthropic(k.secret);
    await expect(client.messages.create({
      model: 'route:review', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }], tools: [{ type: 'web_search_20250305', name: 'web_search' }],
    })).rejects.toMatchObject({ status: 400, error: { error: { type: 'invalid_request_error', code: 'translation_unsupported' } } });

    fault = (body) => (JSON.stringify(body.messages).includes('overload me') ? { kind: 'status', status: 429 } : undefined);
    try {
      const err = await client.messages.create({ model: 'route:review', max_tokens: 10, messages: [{ role: 'user', content: 'overload me' }] }, { maxRetries: 0 }).catch((e: unknown) => e);
      expect(err).toMatchObject({ status: 429, error: { type: 'error', error: { type: 'rate_limit_error' } } });
      expect((err as Error).message).toContain('simulated 429');
    } finally {
      fault = null;
    }
  });
});

describe('fallbacks across dialects', () => {
  it('move an OpenAI call on to an Anthropic model when its own fails, streaming too', async () => {
    const k = await t.key({ department: 'support' });
    fault = (body) => (body.model === 'gpt-4o' ? { kind: 'status', status: 503 } : undefined);
    try {
      const { data, response } = await t.openai(k.secret).chat.completions.create({ model: 'route:cross-fallback', max_tokens: 30, messages: [{ role: 'user', content: 'Hello' }] }).withResponse();
      expect(response.headers.get('x-bursar-fallback-from')).toBe('gpt-4o');
      expect(response.headers.get('x-bursar-translated')).toBe('openai->anthropic');
      expect(data.object).toBe('chat.completion');
      expect(data.model).toBe('claude-haiku-4-5');
      const line = await lineOf(response.headers.get('x-request-id')!);
      expect(line.dims).toMatchObject({ model: 'claude-haiku-4-5', fallback_model: 'gpt-4o' });

      const stream = await t.openai(k.secret).chat.completions.create({ model: 'route:cross-fallback', max_tokens: 30, stream: true, messages: [{ role: 'user', content: 'Hello again' }] });
      let text = '';
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
      expect(text.length).toBeGreaterThan(0);
      expect(lastSent().endpoint).toBe('messages');
    } finally {
      fault = null;
    }
  });
});
