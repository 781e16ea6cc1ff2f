import { describe, expect, it } from 'vitest';
import { ENDPOINTS } from './endpoints.js';
import { eventJson } from './sse.js';
import { translationFor } from './translate.js';
import type { StreamMeter } from './usage.js';

const toAnthropic = translationFor(ENDPOINTS.chat, 'anthropic', 'claude')!;
const toOpenai = translationFor(ENDPOINTS.messages, 'openai', 'gpt')!;
const events = (bufs: Buffer[]) => bufs.map((b) => eventJson(b));
const meter = (usage: StreamMeter['usage'] = null): StreamMeter => ({ usage, partial: null, done: true, toolCalls: 0, scan: () => {}, see: () => true, producedText: () => '' });

describe('chat -> messages requests', () => {
  it('merges parallel tool results into one user turn, and maps images and caps', () => {
    const out = toAnthropic.request({
      model: 'm',
      max_completion_tokens: 99,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] },
        { role: 'assistant', content: 'Checking both.', tool_calls: [
          { id: 'a', type: 'function', function: { name: 'f', arguments: '{"q":1}' } },
          { id: 'b', type: 'function', function: { name: 'f', arguments: '' } },
        ] },
        { role: 'tool', tool_call_id: 'a', content: 'one' },
        { role: 'tool', tool_call_id: 'b', content: [{ type: 'text', text: 'two' }] },
      ],
      parallel_tool_calls: false,
      tools: [{ type: 'function', function: { name: 'f' } }],
    });
    expect(out).toEqual({
      model: 'm',
      max_tokens: 99,
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'AAAA' } }, { type: 'image', source: { type: 'url', url: 'https://x/y.png' } }] },
        { role: 'assistant', content: [{ type: 'text', text: 'Checking both.' }, { type: 'tool_use', id: 'a', name: 'f', input: { q: 1 } }, { type: 'tool_use', id: 'b', name: 'f', input: {} }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'a', content: 'one' }, { type: 'tool_result', tool_use_id: 'b', content: 'two' }] },
      ],
      tools: [{ name: 'f', input_schema: { type: 'object', properties: {} } }],
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
    });
  });

  it('refuses an audio part and an unknown field, naming them', () => {
    expect(() => toAnthropic.request({ model: 'm', messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] })).toThrow(expect.objectContaining({ code: 'translation_unsupported', param: 'messages[0].content[0]' }));
    expect(() => toAnthropic.request({ model: 'm', messages: [], logprobs: true })).toThrow(expect.objectContaining({ code: 'translation_unsupported', param: 'logprobs' }));
  });
});

describe('messages -> chat requests', () => {
  it('turns tool results into tool messages before the rest of the turn, marks errors, and maps images', () => {
    const out = toOpenai.request({
      model: 'm', max_tokens: 10, stop_sequences: ['X'], metadata: { user_id: 'u1' },
      messages: [{ role: 'user', content: [
        { type: 'tool_result', tool_use_id: 't', content: [{ type: 'text', text: 'boom' }], is_error: true },
        { type: 'image', source: { type: 'base64', media_type: 'image/jpeg', data: 'BBBB' } },
      ] }],
      tool_choice: { type: 'tool', name: 'f' },
    });
    expect(out).toEqual({
      model: 'm', max_completion_tokens: 10, stop: ['X'], user: 'u1',
      messages: [
        { role: 'tool', tool_call_id: 't', content: 'Error: boom' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,BBBB' } }] },
      ],
      tool_choice: { type: 'function', function: { name: 'f' } },
    });
  });

  it('refuses a document block', () => {
    expect(() => toOpenai.request({ model: 'm', max_tokens: 1, messages: [{ role: 'user', content: [{ type: 'document', source: {} }] }] })).toThrow(expect.objectContaining({ code: 'translation_unsupported' }));
  });
});

describe('stream translation', () => {
  it('turns chat chunks with text then two tool calls into Anthropic blocks, ending after [DONE]', () => {
    const st = toOpenai.stream(meter({ input: 7, cached_input: 2, cache_write: 0, output: 5, reasoning: 0 }), true);
    const chunk = (delta: object, finish: string | null = null) => ({ id: 'c1', model: 'gpt', choices: [{ index: 0, delta, finish_reason: finish }] });
    const out = [
      ...st.push(chunk({ role: 'assistant', content: '' })),
      ...st.push(chunk({ content: 'Hi' })),
      ...st.push(chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'f', arguments: '{"q"' } }] })),
      ...st.push(chunk({ tool_calls: [{ index: 0, function: { arguments: ':1}' } }] })),
      ...st.push(chunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'g', arguments: '{}' } }] })),
      ...st.push(chunk({}, 'tool_calls')),
      ...st.end(),
    ];
    expect(events(out).map((e) => [e!.type, e!.index ?? null])).toEqual([
      ['message_start', null],
      ['content_block_start', 0], ['content_block_delta', 0],
      ['content_block_stop', 0], ['content_block_start', 1], ['content_block_delta', 1], ['content_block_delta', 1],
      ['content_block_stop', 1], ['content_block_start', 2], ['content_block_delta', 2],
      ['content_block_stop', 2],
      ['message_delta', null], ['message_stop', null],
    ]);
    expect(events(out).at(-2)).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 7, output_tokens: 5, cache_read_input_tokens: 2, cache_creation_input_tokens: 0 } });
  });

  it('turns Anthropic events into chat chunks, leaving thinking out', () => {
    const st = toAnthropic.stream(meter({ input: 3, cached_input: 1, cache_write: 2, output: 4, reasoning: 0 }), true);
    const out = [
      ...st.push({ type: 'message_start', message: { id: 'msg_1', model: 'claude' } }),
      ...st.push({ type: 'content_block_start', index: 0, content_block: { type: 'thinking', thinking: '' } }),
      ...st.push({ type: 'content_block_delta', index: 0, delta: { type: 'thinking_delta', thinking: 'hmm' } }),
      ...st.push({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }),
      ...st.push({ type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{}' } }),
      ...st.push({ type: 'message_delta', delta: { stop_reason: 'tool_use' }, usage: { output_tokens: 4 } }),
      ...st.push({ type: 'message_stop' }),
      ...st.end(),
    ];
    expect(out.at(-1)!.toString()).toBe('data: [DONE]\n\n');
    const chunks = events(out.slice(0, -1)) as { choices: { delta: Record<string, unknown>; finish_reason: string | null }[]; usage?: unknown }[];
    expect(chunks.map((c) => c.choices[0]?.delta ?? null)).toEqual([
      { role: 'assistant', content: '' },
      { tool_calls: [{ index: 0, id: 't', type: 'function', function: { name: 'f', arguments: '' } }] },
      { tool_calls: [{ index: 0, function: { arguments: '{}' } }] },
      {},
      null,
    ]);
    expect(chunks[3]!.choices[0]!.finish_reason).toBe('tool_calls');
    expect(chunks[4]!.usage).toEqual({ prompt_tokens: 6, completion_tokens: 4, total_tokens: 10, prompt_tokens_details: { cached_tokens: 1 }, completion_tokens_details: { reasoning_tokens: 0 } });
  });
});
