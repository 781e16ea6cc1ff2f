/**
 * The simulator's answers, in the exact shapes the official SDKs parse: chat completions,
 * responses and embeddings (OpenAI), messages (Anthropic), each as one JSON body or as the
 * stream of events the real API sends. A request with tools gets a tool call back.
 */
import { randomBytes } from 'node:crypto';
import { answerLength, answerWords, hashText, pieces, promptTokens } from './text.js';

type Json = Record<string, unknown>;
export type SimEndpoint = 'chat' | 'responses' | 'embeddings' | 'messages';

export interface Plan {
  readonly model: string;
  readonly input: number;
  readonly output: number;
  readonly text: string[];
  readonly truncated: boolean;
  readonly tool: { readonly name: string; readonly args: string } | null;
}

const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as Json[]) : []);
const id = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;

function lastRole(body: Json): string | null {
  const list = arr(body.messages ?? body.input);
  const last = list.at(-1);
  if (!last) return typeof body.input === 'string' ? 'user' : null;
  if (last.type === 'function_call_output') return 'tool';
  if (last.role === 'user' && Array.isArray(last.content) && arr(last.content).some((c) => c.type === 'tool_result')) return 'tool';
  return typeof last.role === 'string' ? last.role : null;
}

function toolName(t: Json): string | null {
  const f = t.function as Json | undefined;
  const n = f?.name ?? t.name;
  return typeof n === 'string' ? n : null;
}

export function plan(body: Json, cap: number | null): Plan {
  const model = String(body.model ?? 'sim');
  const seed = hashText(JSON.stringify(body.messages ?? body.input ?? '') + model);
  const tools = arr(body.tools);
  const wantsTool = tools.length > 0 && body.tool_choice !== 'none' && lastRole(body) === 'user';
  const name = wantsTool ? toolName(tools[0]!) : null;
  const len = answerLength(seed, cap);
  const words = answerWords(seed, name ? Math.min(len.tokens, 12) : len.tokens);
  const args = name ? JSON.stringify({ query: words.slice(0, 4).join(' ') }) : '';
  return {
    model,
    input: promptTokens(body),
    output: name ? Math.max(8, Math.ceil(args.length / 4)) : len.tokens,
    text: name ? [] : pieces(words),
    truncated: !name && len.truncated,
    tool: name ? { name, args } : null,
  };
}

const sse = (data: unknown, event?: string): string => `${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`;

// ---------------------------------------------------------------- OpenAI chat

function chatUsage(p: Plan): Json {
  return {
    prompt_tokens: p.input, completion_tokens: p.output, total_tokens: p.input + p.output,
    prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

export function chatJson(p: Plan, withUsage: boolean): Json {
  const toolCalls = p.tool ? [{ id: id('call_'), type: 'function', function: { name: p.tool.name, arguments: p.tool.args } }] : undefined;
  return {
    id: id('chatcmpl-'), object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: p.model,
    choices: [{
      index: 0,
      message: { role: 'assistant', content: p.tool ? null : p.text.join(''), refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
      logprobs: null,
      finish_reason: p.tool ? 'tool_calls' : p.truncated ? 'length' : 'stop',
    }],
    ...(withUsage ? { usage: chatUsage(p) } : {}),
    service_tier: 'default', system_fingerprint: 'fp_bursar_sim',
  };
}

export function chatEvents(p: Plan, body: Json, withUsage: boolean): string[] {
  const includeUsage = withUsage && (body.stream_options as Json | undefined)?.include_usage === true;
  const base = { id: id('chatcmpl-'), object: 'chat.completion.chunk', created: Math.floor(Date.now() / 1000), model: p.model, system_fingerprint: 'fp_bursar_sim' };
  const chunk = (delta: Json, finish: string | null): string =>
    sse({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(includeUsage ? { usage: null } : {}) });
  const out = [chunk({ role: 'assistant', content: p.tool ? null : '', refusal: null }, null)];
  if (p.tool) {
    out.push(chunk({ tool_calls: [{ index: 0, id: id('call_'), type: 'function', function: { name: p.tool.name, arguments: '' } }] }, null));
    for (let i = 0; i < p.tool.args.length; i += 8) out.push(chunk({ tool_calls: [{ index: 0, function: { arguments: p.tool.args.slice(i, i + 8) } }] }, null));
  }
  for (const t of p.text) out.push(chunk({ content: t }, null));
  out.push(chunk({}, p.tool ? 'tool_calls' : p.truncated ? 'length' : 'stop'));
  if (includeUsage) out.push(sse({ ...base, choices: [], usage: chatUsage(p) }));
  out.push('data: [DONE]\n\n');
  return out;
}

// ---------------------------------------------------------------- OpenAI responses

function responsesUsage(p: Plan): Json {
  return {
    input_tokens: p.input, input_tokens_details: { cached_tokens: 0 },
    output_tokens: p.output, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: p.input + p.output,
  };
}

function responseObject(rid: string, p: Plan, status: string, output: Json[], usage: Json | null): Json {
  return {
    id: rid, object: 'response', created_at: Math.floor(Date.now() / 1000), status, model: p.model,
    output, usage, error: null, incomplete_details: null,
    parallel_tool_calls: true, tool_choice: 'auto', tools: [], text: { format: { type: 'text' } }, metadata: {},
  };
}

function responseItems(p: Plan): Json[] {
  if (p.tool) return [{ type: 'function_call', id: id('fc_'), call_id: id('call_'), name: p.tool.name, arguments: p.tool.args, status: 'completed' }];
  return [{ type: 'message', id: id('msg_'), status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: p.text.join(''), annotations: [] }] }];
}

export function responsesJson(p: Plan, withUsage: boolean): Json {
  return responseObject(id('resp_'), p, 'completed', responseItems(p), withUsage ? responsesUsage(p) : null);
}

export function responsesEvents(p: Plan, withUsage: boolean): string[] {
  const rid = id('resp_');
  let n = 0;
  const ev = (type: string, data: Json): string => sse({ type, sequence_number: n++, ...data }, type);
  const items = responseItems(p);
  const item = items[0]!;
  const out = [
    ev('response.created', { response: responseObject(rid, p, 'in_progress', [], null) }),
    ev('response.in_progress', { response: responseObject(rid, p, 'in_progress', [], null) }),
  ];
  if (p.tool) {
    out.push(ev('response.output_item.added', { output_index: 0, item: { ...item, arguments: '', status: 'in_progress' } }));
    for (let i = 0; i < p.tool.args.length; i += 8) out.push(ev('response.function_call_arguments.delta', { item_id: item.id, output_index: 0, delta: p.tool.args.slice(i, i + 8) }));
    out.push(ev('response.function_call_arguments.done', { item_id: item.id, output_index: 0, arguments: p.tool.args }));
  } else {
    out.push(ev('response.output_item.added', { output_index: 0, item: { ...item, status: 'in_progress', content: [] } }));
    out.push(ev('response.content_part.added', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: '', annotations: [] } }));
    for (const t of p.text) out.push(ev('response.output_text.delta', { item_id: item.id, output_index: 0, content_index: 0, delta: t, logprobs: [] }));
    out.push(ev('response.output_text.done', { item_id: item.id, output_index: 0, content_index: 0, text: p.text.join(''), logprobs: [] }));
    out.push(ev('response.content_part.done', { item_id: item.id, output_index: 0, content_index: 0, part: { type: 'output_text', text: p.text.join(''), annotations: [] } }));
  }
  out.push(ev('response.output_item.done', { output_index: 0, item }));
  out.push(ev('response.completed', { response: responseObject(rid, p, 'completed', items, withUsage ? responsesUsage(p) : null) }));
  return out;
}

// ---------------------------------------------------------------- OpenAI embeddings

export function embeddingsJson(body: Json, withUsage: boolean): Json {
  const inputs = Array.isArray(body.input) ? body.input : [body.input];
  const dims = typeof body.dimensions === 'number' ? body.dimensions : 256;
  const tokens = inputs.reduce<number>((n, i) => n + Math.ceil(Buffer.byteLength(typeof i === 'string' ? i : JSON.stringify(i)) / 4), 0);
  const data = inputs.map((text, index) => {
    const v = new Float32Array(dims);
    let x = hashText(String(text)) || 1;
    for (let i = 0; i < dims; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      v[i] = (x / 4294967296) * 2 - 1;
    }
    const embedding = body.encoding_format === 'base64' ? Buffer.from(v.buffer).toString('base64') : Array.from(v);
    return { object: 'embedding', index, embedding };
  });
  return { object: 'list', data, model: String(body.model), ...(withUsage ? { usage: { prompt_tokens: tokens, total_tokens: tokens } } : {}) };
}

// ---------------------------------------------------------------- Anthropic messages

function anthropicStart(p: Plan, withUsage: boolean): Json {
  return {
    id: id('msg_'), type: 'message', role: 'assistant', model: p.model, content: [], stop_reason: null, stop_sequence: null,
    usage: withUsage ? { input_tokens: p.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1, service_tier: 'standard' } : {},
  };
}

export function messagesJson(p: Plan, withUsage: boolean): Json {
  const content = p.tool ? [{ type: 'tool_use', id: id('toolu_'), name: p.tool.name, input: JSON.parse(p.tool.args) }] : [{ type: 'text', text: p.text.join('') }];
  return {
    ...anthropicStart(p, withUsage), content,
    stop_reason: p.tool ? 'tool_use' : p.truncated ? 'max_tokens' : 'end_turn',
    usage: withUsage ? { input_tokens: p.input, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: p.output, service_tier: 'standard' } : {},
  };
}

export function messagesEvents(p: Plan, withUsage: boolean): string[] {
  const out = [sse({ type: 'message_start', message: anthropicStart(p, withUsage) }, 'message_start')];
  if (p.tool) {
    out.push(sse({ type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: id('toolu_'), name: p.tool.name, input: {} } }, 'content_block_start'));
    for (let i = 0; i < p.tool.args.length; i += 8) {
      out.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'input_json_delta', partial_json: p.tool.args.slice(i, i + 8) } }, 'content_block_delta'));
    }
  } else {
    out.push(sse({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }, 'content_block_start'));
    out.push(sse({ type: 'ping' }, 'ping'));
    for (const t of p.text) out.push(sse({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: t } }, 'content_block_delta'));
  }
  out.push(sse({ type: 'content_block_stop', index: 0 }, 'content_block_stop'));
  out.push(sse({
    type: 'message_delta',
    delta: { stop_reason: p.tool ? 'tool_use' : p.truncated ? 'max_tokens' : 'end_turn', stop_sequence: null },
    usage: withUsage ? { output_tokens: p.output } : {},
  }, 'message_delta'));
  out.push(sse({ type: 'message_stop' }, 'message_stop'));
  return out;
}
