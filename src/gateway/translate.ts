/**
 * Translation between the two chat dialects, so a route may send an OpenAI chat call to an
 * Anthropic model and an Anthropic messages call to an OpenAI-shaped one: the request on the
 * way out; the answer (whole, or its stream event by event) and the provider's errors on the way
 * back. The caller sees its own dialect; the ledger reads usage from the provider's own shape.
 *
 * What has no counterpart is refused with `translation_unsupported` (never silently changed in
 * meaning); what only tunes sampling or caching on one side (seed, penalties, top_k,
 * cache_control) is dropped. docs/routing.md#cross-provider lists both.
 */
import { BursarError, type Dialect } from '../core/errors.js';
import type { Usage } from '../core/pricing.js';
import { ENDPOINTS, type Endpoint } from './endpoints.js';
import { sseEvent } from './sse.js';
import type { StreamMeter } from './usage.js';

type Json = Record<string, unknown>;

/** The output cap sent to an Anthropic model (which requires one) when the caller and route set none. */
export const TRANSLATED_MAX_TOKENS = 4096;

export interface Translation {
  /** The endpoint the provider is called at. */
  readonly upstream: Endpoint;
  /** The output cap the provider is sent when neither the caller nor the route set one (null: none needed). */
  readonly defaultCap: number | null;
  /** The caller's request in the provider's dialect; throws translation_unsupported. */
  request(body: Json): Json;
  /** A whole answer in the caller's dialect. */
  response(body: Json, usage: Usage | null): Json;
  /** The provider's error body in the caller's dialect, with the provider's message. */
  error(status: number, body: Buffer): Json;
  /** Translates one stream; `clientAskedUsage`: an OpenAI caller's stream_options.include_usage. */
  stream(meter: StreamMeter, clientAskedUsage: boolean): StreamTranslator;
}

export interface StreamTranslator {
  /** The caller's events for one JSON event of the provider. */
  push(event: Json): Buffer[];
  /** The caller's last events, once the provider's stream is complete. */
  end(): Buffer[];
}

const obj = (v: unknown): Json => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : {});
const arr = (v: unknown): Json[] => (Array.isArray(v) ? (v as unknown[]).map(obj) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function unsupported(param: string, what: string, fix: string): BursarError {
  return new BursarError('translation_unsupported', `${what} has no counterpart in the provider's dialect, so this call cannot be translated. ${fix}`, { param });
}

/** The text of a content that may be a string or a list of text parts/blocks. */
function textOf(content: unknown, param: string): string {
  if (typeof content === 'string') return content;
  if (content === null || content === undefined) return '';
  return arr(content)
    .map((p, i) => {
      if (p.type === 'text' || p.type === 'input_text') return str(p.text);
      throw unsupported(`${param}[${i}]`, `A "${String(p.type)}" part here`, 'Send text only in this place.');
    })
    .join('\n');
}

function parseArgs(args: unknown): Json {
  if (typeof args !== 'string' || args.trim() === '') return {};
  try {
    return obj(JSON.parse(args));
  } catch {
    return {};
  }
}

/** Usage in each dialect's shape, from Bursar's normalised counts. */
function chatUsageOf(u: Usage): Json {
  const prompt = u.input + u.cached_input + u.cache_write;
  const completion = u.output + u.reasoning;
  return {
    prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: u.cached_input }, completion_tokens_details: { reasoning_tokens: u.reasoning },
  };
}

function anthropicUsageOf(u: Usage | null): Json {
  if (!u) return { input_tokens: 0, output_tokens: 0 };
  return { input_tokens: u.input, output_tokens: u.output + u.reasoning, cache_read_input_tokens: u.cached_input, cache_creation_input_tokens: u.cache_write };
}

const STOP_TO_FINISH: Readonly<Record<string, string>> = { end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls', refusal: 'content_filter', pause_turn: 'stop', model_context_window_exceeded: 'length' };
const FINISH_TO_STOP: Readonly<Record<string, string>> = { stop: 'end_turn', length: 'max_tokens', tool_calls: 'tool_use', function_call: 'tool_use', content_filter: 'refusal' };

/** An error type each dialect's SDK knows, by HTTP status. */
function errorType(status: number, dialect: Dialect): string {
  if (status === 400 || status === 422) return 'invalid_request_error';
  if (status === 401) return 'authentication_error';
  if (status === 403) return 'permission_error';
  if (status === 404) return 'not_found_error';
  if (status === 413) return dialect === 'anthropic' ? 'request_too_large' : 'invalid_request_error';
  if (status === 429) return 'rate_limit_error';
  if (status === 529) return dialect === 'anthropic' ? 'overloaded_error' : 'api_error';
  return 'api_error';
}

function translatedError(status: number, body: Buffer, to: Dialect, provider: string): Json {
  let message = `The provider answered ${status}.`;
  try {
    const m = str(obj(obj(JSON.parse(body.toString('utf8'))).error).message);
    if (m) message = m;
  } catch {
    // Not JSON: keep the status line.
  }
  message = `${provider}: ${message}`;
  const type = errorType(status, to);
  return to === 'anthropic' ? { type: 'error', error: { type, message } } : { error: { message, type, param: null, code: `upstream_${status}` } };
}

const sse = (data: Json, event?: string): Buffer => sseEvent(data, event);

// ---------------------------------------------------------------- OpenAI chat -> Anthropic messages

/** Fields of a chat request dropped on the way to Anthropic: they only tune sampling, storage or logging. */
const CHAT_DROPPED = new Set(['seed', 'frequency_penalty', 'presence_penalty', 'logit_bias', 'service_tier', 'store', 'metadata', 'stream_options', 'parallel_tool_calls', 'reasoning_effort', 'prompt_cache_key', 'safety_identifier', 'verbosity']);
const CHAT_MAPPED = new Set(['model', 'messages', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'stream', 'tools', 'tool_choice', 'user', 'n', 'response_format']);

function userBlocks(content: unknown, param: string): Json[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return arr(content).map((p, i) => {
    if (p.type === 'text') return { type: 'text', text: str(p.text) };
    if (p.type === 'image_url') {
      const url = str(obj(p.image_url).url);
      const data = /^data:([^;,]+);base64,(.*)$/s.exec(url);
      return { type: 'image', source: data ? { type: 'base64', media_type: data[1], data: data[2] } : { type: 'url', url } };
    }
    throw unsupported(`${param}[${i}]`, `A "${String(p.type)}" content part`, 'Send text and images only, or call a model of your own dialect.');
  });
}

function chatToMessages(b: Json): Json {
  for (const k of Object.keys(b)) {
    if (!CHAT_MAPPED.has(k) && !CHAT_DROPPED.has(k)) throw unsupported(k, `The field "${k}"`, 'Remove it, or call a model of your own dialect.');
  }
  if (typeof b.n === 'number' && b.n > 1) throw unsupported('n', 'Asking for several choices (n > 1)', 'Send n calls, or call a model of your own dialect.');
  const format = obj(b.response_format);
  if (format.type !== undefined && format.type !== 'text') throw unsupported('response_format', `response_format "${String(format.type)}"`, 'Describe the format in the prompt, or call a model of your own dialect.');

  const system: string[] = [];
  const messages: { role: string; content: Json[] }[] = [];
  const add = (role: string, blocks: Json[]): void => {
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    // Anthropic alternates roles: consecutive turns of one role (tool results) become one.
    if (last && last.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  arr(b.messages).forEach((m, i) => {
    const param = `messages[${i}]`;
    switch (m.role) {
      case 'system':
      case 'developer':
        system.push(textOf(m.content, `${param}.content`));
        break;
      case 'user':
        add('user', userBlocks(m.content, `${param}.content`));
        break;
      case 'assistant': {
        const text = textOf(m.content, `${param}.content`);
        const blocks: Json[] = text ? [{ type: 'text', text }] : [];
        for (const t of arr(m.tool_calls)) {
          const f = obj(t.function);
          blocks.push({ type: 'tool_use', id: str(t.id), name: str(f.name), input: parseArgs(f.arguments) });
        }
        add('assistant', blocks);
        break;
      }
      case 'tool':
        add('user', [{ type: 'tool_result', tool_use_id: str(m.tool_call_id), content: textOf(m.content, `${param}.content`) }]);
        break;
      default:
        throw unsupported(`${param}.role`, `The role "${String(m.role)}"`, 'Use system, developer, user, assistant or tool.');
    }
  });

  const out: Json = { model: b.model, messages };
  if (system.length) out.system = system.join('\n\n');
  out.max_tokens = typeof b.max_completion_tokens === 'number' ? b.max_completion_tokens : typeof b.max_tokens === 'number' ? b.max_tokens : TRANSLATED_MAX_TOKENS;
  // OpenAI's temperature runs 0-2, Anthropic's 0-1.
  if (typeof b.temperature === 'number') out.temperature = Math.min(1, b.temperature);
  if (typeof b.top_p === 'number') out.top_p = b.top_p;
  if (b.stop !== undefined && b.stop !== null) out.stop_sequences = typeof b.stop === 'string' ? [b.stop] : b.stop;
  if (b.stream === true) out.stream = true;
  if (typeof b.user === 'string') out.metadata = { user_id: b.user };
  const tools = arr(b.tools);
  if (tools.length) {
    out.tools = tools.map((t, i) => {
      if (t.type !== 'function') throw unsupported(`tools[${i}]`, `A "${String(t.type)}" tool`, 'Use function tools only.');
      const f = obj(t.function);
      return { name: str(f.name), ...(f.description ? { description: f.description } : {}), input_schema: f.parameters ?? { type: 'object', properties: {} } };
    });
  }
  const choice = b.tool_choice;
  const noParallel = b.parallel_tool_calls === false && tools.length ? { disable_parallel_tool_use: true } : {};
  if (choice === 'auto' || choice === 'none') out.tool_choice = { type: choice, ...(choice === 'auto' ? noParallel : {}) };
  else if (choice === 'required') out.tool_choice = { type: 'any', ...noParallel };
  else if (choice && typeof choice === 'object') out.tool_choice = { type: 'tool', name: str(obj(obj(choice).function).name), ...noParallel };
  else if (tools.length && b.parallel_tool_calls === false) out.tool_choice = { type: 'auto', ...noParallel };
  return out;
}

function messagesToChatResponse(b: Json, usage: Usage | null): Json {
  let text = '';
  const toolCalls: Json[] = [];
  for (const c of arr(b.content)) {
    if (c.type === 'text') text += str(c.text);
    else if (c.type === 'tool_use') toolCalls.push({ id: str(c.id), type: 'function', function: { name: str(c.name), arguments: JSON.stringify(c.input ?? {}) } });
  }
  return {
    id: str(b.id), object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: str(b.model),
    choices: [{
      index: 0,
      message: { role: 'assistant', content: text === '' && toolCalls.length ? null : text, refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
      logprobs: null,
      finish_reason: STOP_TO_FINISH[str(b.stop_reason)] ?? 'stop',
    }],
    ...(usage ? { usage: chatUsageOf(usage) } : {}),
  };
}

/** Anthropic events -> chat.completion.chunk events, ending with the usage chunk (if asked) and [DONE]. */
class AnthropicToChatStream implements StreamTranslator {
  private id = '';
  private model = '';
  private readonly created = Math.floor(Date.now() / 1000);
  /** Anthropic content block index -> OpenAI tool call index. */
  private readonly tools = new Map<number, number>();

  constructor(
    private readonly meter: StreamMeter,
    private readonly askedUsage: boolean,
  ) {}

  private chunk(delta: Json, finish: string | null = null): Buffer {
    return sse({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] });
  }

  push(e: Json): Buffer[] {
    switch (e.type) {
      case 'message_start': {
        const m = obj(e.message);
        this.id = str(m.id);
        this.model = str(m.model);
        return [this.chunk({ role: 'assistant', content: '' })];
      }
      case 'content_block_start': {
        const b = obj(e.content_block);
        if (b.type === 'tool_use') {
          const index = this.tools.size;
          this.tools.set(Number(e.index), index);
          return [this.chunk({ tool_calls: [{ index, id: str(b.id), type: 'function', function: { name: str(b.name), arguments: '' } }] })];
        }
        return b.type === 'text' && str(b.text) ? [this.chunk({ content: b.text })] : [];
      }
      case 'content_block_delta': {
        const d = obj(e.delta);
        if (d.type === 'text_delta') return [this.chunk({ content: str(d.text) })];
        const index = this.tools.get(Number(e.index));
        if (d.type === 'input_json_delta' && index !== undefined) return [this.chunk({ tool_calls: [{ index, function: { arguments: str(d.partial_json) } }] })];
        return [];
      }
      case 'message_delta':
        return [this.chunk({}, STOP_TO_FINISH[str(obj(e.delta).stop_reason)] ?? 'stop')];
      case 'error':
        return [sse({ error: { message: str(obj(e.error).message), type: str(obj(e.error).type) || 'api_error', param: null, code: null } })];
      default:
        return [];
    }
  }

  end(): Buffer[] {
    const u = this.meter.usage;
    const out = this.askedUsage && u ? [sse({ id: this.id, object: 'chat.completion.chunk', created: this.created, model: this.model, choices: [], usage: chatUsageOf(u) })] : [];
    out.push(DONE);
    return out;
  }
}

const DONE = Buffer.from('data: [DONE]\n\n');

// ---------------------------------------------------------------- Anthropic messages -> OpenAI chat

const MESSAGES_DROPPED = new Set(['top_k', 'thinking', 'cache_control', 'service_tier', 'container', 'context_management']);
const MESSAGES_MAPPED = new Set(['model', 'messages', 'system', 'max_tokens', 'temperature', 'top_p', 'stop_sequences', 'stream', 'tools', 'tool_choice', 'metadata']);

function chatParts(blocks: Json[], param: string): Json[] {
  return blocks.map((c, i) => {
    if (c.type === 'text') return { type: 'text', text: str(c.text) };
    if (c.type === 'image') {
      const s = obj(c.source);
      if (s.type === 'base64') return { type: 'image_url', image_url: { url: `data:${str(s.media_type)};base64,${str(s.data)}` } };
      if (s.type === 'url') return { type: 'image_url', image_url: { url: str(s.url) } };
    }
    throw unsupported(`${param}[${i}]`, `A "${String(c.type)}" content block`, 'Send text and images only, or call a model of your own dialect.');
  });
}

function messagesToChat(b: Json): Json {
  for (const k of Object.keys(b)) {
    if (!MESSAGES_MAPPED.has(k) && !MESSAGES_DROPPED.has(k)) throw unsupported(k, `The field "${k}"`, 'Remove it, or call a model of your own dialect.');
  }
  const messages: Json[] = [];
  if (b.system !== undefined) {
    const system = textOf(b.system, 'system');
    if (system) messages.push({ role: 'system', content: system });
  }
  arr(b.messages).forEach((m, i) => {
    const param = `messages[${i}].content`;
    if (typeof m.content === 'string') {
      messages.push({ role: m.role, content: m.content });
      return;
    }
    const blocks = arr(m.content);
    if (m.role === 'assistant') {
      const text = blocks.filter((c) => c.type === 'text').map((c) => str(c.text)).join('');
      const calls = blocks.filter((c) => c.type === 'tool_use').map((c) => ({ id: str(c.id), type: 'function', function: { name: str(c.name), arguments: JSON.stringify(c.input ?? {}) } }));
      blocks.forEach((c, j) => {
        if (c.type !== 'text' && c.type !== 'tool_use' && c.type !== 'thinking' && c.type !== 'redacted_thinking') throw unsupported(`${param}[${j}]`, `A "${String(c.type)}" block`, 'Send text and tool_use blocks only.');
      });
      messages.push({ role: 'assistant', content: text === '' && calls.length ? null : text, ...(calls.length ? { tool_calls: calls } : {}) });
      return;
    }
    // A user turn: its tool results become tool messages (they answer the previous turn's calls), the rest one user message.
    const rest: Json[] = [];
    blocks.forEach((c, j) => {
      if (c.type === 'tool_result') {
        const content = textOf(c.content, `${param}[${j}].content`);
        messages.push({ role: 'tool', tool_call_id: str(c.tool_use_id), content: c.is_error === true ? `Error: ${content}` : content });
      } else rest.push(c);
    });
    if (rest.length) messages.push({ role: 'user', content: chatParts(rest, param) });
  });

  const out: Json = { model: b.model, messages };
  if (typeof b.max_tokens === 'number') out.max_completion_tokens = b.max_tokens;
  if (typeof b.temperature === 'number') out.temperature = b.temperature;
  if (typeof b.top_p === 'number') out.top_p = b.top_p;
  if (Array.isArray(b.stop_sequences) && b.stop_sequences.length) out.stop = b.stop_sequences;
  if (b.stream === true) out.stream = true;
  const user = obj(b.metadata).user_id;
  if (typeof user === 'string') out.user = user;
  const tools = arr(b.tools);
  if (tools.length) {
    out.tools = tools.map((t, i) => {
      if (t.type !== undefined && t.type !== 'custom') throw unsupported(`tools[${i}]`, `The server tool "${String(t.type)}"`, 'Use client tools (name, description, input_schema) only.');
      return { type: 'function', function: { name: str(t.name), ...(t.description ? { description: t.description } : {}), parameters: t.input_schema ?? { type: 'object', properties: {} } } };
    });
  }
  const choice = obj(b.tool_choice);
  if (choice.type === 'auto' || choice.type === 'none') out.tool_choice = choice.type;
  else if (choice.type === 'any') out.tool_choice = 'required';
  else if (choice.type === 'tool') out.tool_choice = { type: 'function', function: { name: str(choice.name) } };
  if (choice.disable_parallel_tool_use === true && tools.length) out.parallel_tool_calls = false;
  return out;
}

function chatToMessagesResponse(b: Json, usage: Usage | null): Json {
  const choice = arr(b.choices)[0] ?? {};
  const m = obj(choice.message);
  const content: Json[] = [];
  const text = textOf(m.content, 'content');
  if (text) content.push({ type: 'text', text });
  for (const t of arr(m.tool_calls)) {
    const f = obj(t.function);
    content.push({ type: 'tool_use', id: str(t.id), name: str(f.name), input: parseArgs(f.arguments) });
  }
  return {
    id: str(b.id), type: 'message', role: 'assistant', model: str(b.model), content,
    stop_reason: FINISH_TO_STOP[str(choice.finish_reason)] ?? 'end_turn', stop_sequence: null,
    usage: anthropicUsageOf(usage),
  };
}

/** chat.completion.chunk events -> Anthropic's message_start, content blocks, message_delta and message_stop. */
class ChatToAnthropicStream implements StreamTranslator {
  private started = false;
  /** The open content block: its index and kind. */
  private open: { index: number; kind: 'text' | 'tool' } | null = null;
  private blocks = 0;
  /** OpenAI tool call index -> Anthropic block index. */
  private readonly tools = new Map<number, number>();
  private stopReason = 'end_turn';

  constructor(private readonly meter: StreamMeter) {}

  push(e: Json): Buffer[] {
    const out: Buffer[] = [];
    if (e.error !== undefined) {
      out.push(sse({ type: 'error', error: { type: 'api_error', message: str(obj(e.error).message) } }, 'error'));
      return out;
    }
    if (!this.started) {
      this.started = true;
      out.push(sse({ type: 'message_start', message: { id: str(e.id), type: 'message', role: 'assistant', model: str(e.model), content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 0, output_tokens: 0 } } }, 'message_start'));
    }
    for (const c of arr(e.choices)) {
      const d = obj(c.delta);
      if (typeof d.content === 'string' && d.content !== '') {
        if (this.open?.kind !== 'text') this.startBlock(out, 'text', { type: 'text', text: '' });
        out.push(sse({ type: 'content_block_delta', index: this.open!.index, delta: { type: 'text_delta', text: d.content } }, 'content_block_delta'));
      }
      for (const t of arr(d.tool_calls)) {
        const f = obj(t.function);
        const i = Number(t.index ?? 0);
        if (!this.tools.has(i)) {
          this.startBlock(out, 'tool', { type: 'tool_use', id: str(t.id), name: str(f.name), input: {} });
          this.tools.set(i, this.open!.index);
        }
        const args = str(f.arguments);
        if (args) out.push(sse({ type: 'content_block_delta', index: this.tools.get(i), delta: { type: 'input_json_delta', partial_json: args } }, 'content_block_delta'));
      }
      if (typeof c.finish_reason === 'string') {
        this.stopReason = FINISH_TO_STOP[c.finish_reason] ?? 'end_turn';
        this.closeBlock(out);
      }
    }
    return out;
  }

  private startBlock(out: Buffer[], kind: 'text' | 'tool', block: Json): void {
    this.closeBlock(out);
    this.open = { index: this.blocks++, kind };
    out.push(sse({ type: 'content_block_start', index: this.open.index, content_block: block }, 'content_block_start'));
  }

  private closeBlock(out: Buffer[]): void {
    if (!this.open) return;
    out.push(sse({ type: 'content_block_stop', index: this.open.index }, 'content_block_stop'));
    this.open = null;
  }

  /** After [DONE], which follows the usage chunk. */
  end(): Buffer[] {
    const out: Buffer[] = [];
    if (!this.started) return out;
    this.closeBlock(out);
    out.push(sse({ type: 'message_delta', delta: { stop_reason: this.stopReason, stop_sequence: null }, usage: anthropicUsageOf(this.meter.usage) }, 'message_delta'));
    out.push(sse({ type: 'message_stop' }, 'message_stop'));
    return out;
  }
}

// ---------------------------------------------------------------- the two translations

const CHAT_TO_ANTHROPIC: Translation = {
  upstream: ENDPOINTS.messages,
  defaultCap: TRANSLATED_MAX_TOKENS,
  request: chatToMessages,
  response: messagesToChatResponse,
  error: (status, body) => translatedError(status, body, 'openai', 'Anthropic-dialect provider'),
  stream: (meter, asked) => new AnthropicToChatStream(meter, asked),
};

const MESSAGES_TO_OPENAI: Translation = {
  upstream: ENDPOINTS.chat,
  defaultCap: null,
  request: messagesToChat,
  response: chatToMessagesResponse,
  error: (status, body) => translatedError(status, body, 'anthropic', 'OpenAI-dialect provider'),
  stream: (meter) => new ChatToAnthropicStream(meter),
};

/**
 * How a call at `ep` reaches a provider of `dialect`: null when they speak the same dialect, a
 * translation between chat completions and messages, and a refusal for the rest (responses and
 * embeddings have no Anthropic counterpart).
 */
export function translationFor(ep: Endpoint, dialect: Dialect, model: string): Translation | null {
  if (ep.dialect === dialect) return null;
  if (ep.name === 'chat') return CHAT_TO_ANTHROPIC;
  if (ep.name === 'messages') return MESSAGES_TO_OPENAI;
  throw new BursarError('dialect_mismatch', `Model "${model}" is served by an Anthropic-dialect provider, and the ${ep.path} endpoint has no Anthropic counterpart; Bursar translates /v1/chat/completions and /v1/messages only. Call it through /v1/chat/completions, or use an OpenAI model.`, { param: 'model' });
}
