/**
 * The four call endpoints as data: their dialect, the field that caps output, how to read
 * usage from a body, and which meter watches their streams. The handler is the same for all.
 */
import type { Dialect } from '../core/errors.js';
import type { Usage } from '../core/pricing.js';
import {
  AnthropicMeter, ChatMeter, ResponsesMeter, anthropicUsage, chatUsage, functionCalls, openaiTier, responsesUsage, webSearchCalls,
  type StreamMeter,
} from './usage.js';

export type EndpointName = 'chat' | 'responses' | 'embeddings' | 'messages';
type Json = Record<string, unknown>;

export interface Endpoint {
  readonly name: EndpointName;
  readonly dialect: Dialect;
  /** Path under /v1 for both the client and the provider. */
  readonly path: string;
  readonly canStream: boolean;
  /** Output-cap fields the client may use, the preferred one first. */
  readonly capFields: readonly string[];
  usage(body: Json): Usage | null;
  /** A stream's meter; `toolsOffered`: the request offers the model tools (`tools`), so it may call some. */
  meter(clientAskedUsage: boolean, toolsOffered: boolean): StreamMeter;
  /** The text a response carries, to estimate output tokens when it has no usage. */
  outputText(body: Json): string;
  /** Tool (function) calls the model asked for in a whole response. */
  toolCalls(body: Json): number;
}

const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

export const ENDPOINTS: Readonly<Record<EndpointName, Endpoint>> = {
  chat: {
    name: 'chat',
    dialect: 'openai',
    path: '/chat/completions',
    canStream: true,
    capFields: ['max_completion_tokens', 'max_tokens'],
    usage: (b) => chatUsage(b.usage, openaiTier(b.service_tier)),
    meter: (asked, tools) => new ChatMeter(asked, tools),
    outputText: (b) =>
      arr(b.choices)
        .map((c) => {
          const m = obj(obj(c).message);
          const calls = arr(m.tool_calls).map((t) => String(obj(obj(t).function).arguments ?? ''));
          return (typeof m.content === 'string' ? m.content : '') + calls.join('');
        })
        .join(''),
    toolCalls: (b) => arr(b.choices).reduce<number>((n, c) => n + arr(obj(obj(c).message).tool_calls).length, 0),
  },
  responses: {
    name: 'responses',
    dialect: 'openai',
    path: '/responses',
    canStream: true,
    capFields: ['max_output_tokens'],
    usage: (b) => responsesUsage(b.usage, openaiTier(b.service_tier), webSearchCalls(b.output)),
    meter: () => new ResponsesMeter(),
    outputText: (b) =>
      arr(b.output)
        .flatMap((item) => arr(obj(item).content).map((c) => String(obj(c).text ?? '')).concat(String(obj(item).arguments ?? '')))
        .join(''),
    toolCalls: (b) => functionCalls(b.output),
  },
  embeddings: {
    name: 'embeddings',
    dialect: 'openai',
    path: '/embeddings',
    canStream: false,
    capFields: [],
    usage: (b) => chatUsage(b.usage, null),
    meter: () => new ChatMeter(true, false),
    outputText: () => '',
    toolCalls: () => 0,
  },
  messages: {
    name: 'messages',
    dialect: 'anthropic',
    path: '/messages',
    canStream: true,
    capFields: ['max_tokens'],
    usage: (b) => anthropicUsage(b.usage),
    meter: (_asked, tools) => new AnthropicMeter(tools),
    outputText: (b) =>
      arr(b.content)
        .map((c) => {
          const o = obj(c);
          return String(o.text ?? o.thinking ?? (o.input ? JSON.stringify(o.input) : ''));
        })
        .join(''),
    toolCalls: (b) => arr(b.content).filter((c) => obj(c).type === 'tool_use').length,
  },
};

/** Keys whose string values are not prompt text (ids, roles, media). */
const NOT_TEXT = new Set(['model', 'role', 'type', 'id', 'tool_call_id', 'tool_use_id', 'url', 'data', 'media_type', 'detail', 'encoding_format', 'service_tier', 'user', 'stream', 'format']);

/** Every piece of prompt text in a request (messages, system, tools), to count its tokens. */
export function promptText(body: Json): { text: string; parts: number } {
  const pieces: string[] = [];
  let parts = 0;
  const walk = (v: unknown, key: string): void => {
    if (typeof v === 'string') {
      if (!NOT_TEXT.has(key)) pieces.push(v);
    } else if (Array.isArray(v)) {
      for (const x of v) walk(x, key);
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) walk(x, k);
    }
  };
  for (const field of ['messages', 'input', 'system', 'instructions', 'tools', 'prompt']) {
    const v = body[field];
    if (v === undefined) continue;
    if (Array.isArray(v)) parts += v.length;
    walk(v, field);
  }
  return { text: pieces.join('\n'), parts };
}
