/**
 * Reading usage from what providers send: the three usage shapes (OpenAI chat, OpenAI
 * responses, Anthropic messages), normalised to Bursar's token kinds, from a whole JSON body
 * or, for streams, from the events that carry it.
 */
import type { Usage } from '../core/pricing.js';
import { eventJson } from './sse.js';

type Json = Record<string, unknown>;

const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});
const int = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/** OpenAI service tiers: "default"/"auto" are the base price; "fast" is the new name of "priority". */
export function openaiTier(v: unknown): string | null {
  if (typeof v !== 'string' || v === 'default' || v === 'auto' || v === 'standard') return null;
  return v === 'fast' ? 'priority' : v;
}

/** chat.completions and embeddings: prompt tokens include cached ones, completion tokens include reasoning. */
export function chatUsage(u: unknown, tier: string | null): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = obj(u);
  const prompt = int(o.prompt_tokens);
  const cached = Math.min(int(obj(o.prompt_tokens_details).cached_tokens), prompt);
  const completion = int(o.completion_tokens);
  const reasoning = Math.min(int(obj(o.completion_tokens_details).reasoning_tokens), completion);
  return { input: prompt - cached, cached_input: cached, cache_write: 0, output: completion - reasoning, reasoning, tier };
}

/** responses: input_tokens include cached ones, output_tokens include reasoning. */
export function responsesUsage(u: unknown, tier: string | null, webSearches = 0): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = obj(u);
  const input = int(o.input_tokens);
  const cached = Math.min(int(obj(o.input_tokens_details).cached_tokens), input);
  const output = int(o.output_tokens);
  const reasoning = Math.min(int(obj(o.output_tokens_details).reasoning_tokens), output);
  return {
    input: input - cached, cached_input: cached, cache_write: 0, output: output - reasoning, reasoning, tier,
    ...(webSearches ? { toolCalls: { web_search: webSearches } } : {}),
  };
}

/** messages: input_tokens exclude cache reads and writes, which come separately. */
export function anthropicUsage(u: unknown): Usage | null {
  if (!u || typeof u !== 'object') return null;
  const o = obj(u);
  const tier = typeof o.service_tier === 'string' && o.service_tier !== 'standard' ? o.service_tier : null;
  const searches = int(obj(o.server_tool_use).web_search_requests);
  return {
    input: int(o.input_tokens),
    cached_input: int(o.cache_read_input_tokens),
    cache_write: int(o.cache_creation_input_tokens),
    cacheWrite1h: int(obj(o.cache_creation).ephemeral_1h_input_tokens),
    output: int(o.output_tokens),
    reasoning: 0,
    tier,
    ...(searches ? { toolCalls: { web_search: searches } } : {}),
  };
}

const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const TOOL_USE = Buffer.from('"tool_use"');

/** Function calls the model asked for in a responses output. */
export function functionCalls(output: unknown): number {
  return arr(output).filter((i) => obj(i).type === 'function_call').length;
}

/** Counts web_search_call items in a responses output. */
export function webSearchCalls(output: unknown): number {
  return Array.isArray(output) ? output.filter((i) => obj(i).type === 'web_search_call').length : 0;
}

/** Watches a stream's events: finds its usage, notices its end, and may hide an event from the client. */
export interface StreamMeter {
  /**
   * Looks at the whole events of one chunk at once (their bytes, contiguous), before they are
   * seen one by one in order: a marker that is not in the chunk is then not searched for in each.
   */
  scan(complete: Buffer): void;
  /** Looks at one whole event; false keeps it from the client. */
  see(event: Buffer): boolean;
  readonly usage: Usage | null;
  /** Input-side counts known before the end (Anthropic's message_start), when usage never completes. */
  readonly partial: Usage | null;
  /** The stream's terminal event arrived. */
  readonly done: boolean;
  /** What the model produced so far, to estimate output tokens when no usage came. */
  producedText(): string;
  /** Tool (function) calls the model asked for. */
  readonly toolCalls: number;
}

const DONE = Buffer.from('[DONE]');

/**
 * Where some markers occur in a chunk's events, found with one search of the chunk per marker,
 * so that each event need not be searched: a stream's chunks hold many events and most hold no
 * marker, and each search of a Buffer for a Buffer is a call into native code, the dearest part
 * of metering (about 0.4 ns a byte). A marker is found from the front (`firsts`: every event
 * that holds it is found), or from the back (`lasts`: only the chunk's last event that holds it,
 * for markers of which only the last occurrence counts, like a running usage total; the search
 * then stops where a stream's last events are).
 */
export class Markers {
  private firstAt: number[] = [];
  private lastAt: number[] = [];
  /** Where the current event starts and ends in the scanned bytes, and their length (-1: not scanned, so search). */
  private start = 0;
  private at = 0;
  private end = -1;

  constructor(
    private readonly firsts: readonly Buffer[],
    private readonly lasts: readonly Buffer[] = [],
  ) {}

  scan(complete: Buffer): void {
    this.firstAt = this.firsts.map((n) => complete.indexOf(n));
    this.lastAt = this.lasts.map((n) => complete.lastIndexOf(n));
    this.start = 0;
    this.at = 0;
    this.end = complete.length;
  }

  /** Steps onto the next event (events are seen in the order they lie in the chunk). */
  enter(event: Buffer): void {
    this.start = this.at;
    this.at += event.length;
    if (this.at > this.end) this.end = -1;
  }

  /** Whether the current event holds a marker (one not scanned for, or an event not scanned, is searched). */
  has(needle: Buffer, event: Buffer): boolean {
    const i = this.firsts.indexOf(needle);
    if (this.end < 0 || i < 0) return event.includes(needle);
    const f = this.firstAt[i]!;
    if (f < 0 || f >= this.at) return false;
    // An event from the first occurrence's on may hold a later one.
    return f >= this.start || event.includes(needle);
  }

  /** Whether the current event holds the chunk's last occurrence of a `lasts` marker (unscanned: whether it holds one). */
  holdsLast(needle: Buffer, event: Buffer): boolean {
    const i = this.lasts.indexOf(needle);
    if (this.end < 0 || i < 0) return event.includes(needle);
    const l = this.lastAt[i]!;
    return l >= this.start && l < this.at;
  }
}

/** Keeps the events so produced text can be recovered if usage never comes. */
abstract class KeepingMeter implements StreamMeter {
  usage: Usage | null = null;
  partial: Usage | null = null;
  done = false;
  toolCalls = 0;
  protected readonly kept: Buffer[] = [];
  protected readonly markers: Markers;

  constructor(firsts: readonly Buffer[], lasts: readonly Buffer[] = []) {
    this.markers = new Markers(firsts, lasts);
  }

  scan(complete: Buffer): void {
    this.markers.scan(complete);
  }

  see(event: Buffer): boolean {
    if (this.keeping()) this.kept.push(event);
    this.markers.enter(event);
    return this.inspect(event);
  }

  /** Whether events are still kept for producedText: until the usage is known. */
  protected keeping(): boolean {
    return this.usage === null;
  }

  producedText(): string {
    let out = '';
    for (const e of this.kept) {
      const j = eventJson(e);
      if (j) out += this.textOf(j);
    }
    return out;
  }

  protected abstract inspect(event: Buffer): boolean;
  protected abstract textOf(event: Json): string;
}

const USAGE_OBJECT = Buffer.from('"usage":{');
const TOOL_CALLS = Buffer.from('"tool_calls"');

/**
 * chat.completions: usage arrives in a last chunk with empty choices when include_usage is set.
 * Where a provider sends a running total in every chunk, only the last total of each batch of
 * events read at once is read. A model calls only the tools its request offers: a stream is
 * searched for tool calls only when there are some (`toolsOffered`).
 */
export class ChatMeter extends KeepingMeter {
  constructor(
    private readonly clientAskedUsage: boolean,
    private readonly toolsOffered: boolean,
  ) {
    super(toolsOffered ? [TOOL_CALLS] : [], [USAGE_OBJECT]);
  }

  protected inspect(event: Buffer): boolean {
    if (event.length < 32 && event.includes(DONE)) {
      this.done = true;
      return true;
    }
    if (this.toolsOffered && this.markers.has(TOOL_CALLS, event)) this.countToolCalls(event);
    if (!this.markers.holdsLast(USAGE_OBJECT, event)) return true;
    const j = eventJson(event);
    if (!j) return true;
    const usage = chatUsage(j.usage, openaiTier(j.service_tier));
    if (usage) this.usage = usage;
    // Bursar asked for this chunk; a client that did not ask does not see it.
    return this.clientAskedUsage || !(Array.isArray(j.choices) && j.choices.length === 0);
  }

  private readonly seenCalls = new Set<number>();

  /** A tool call's first delta carries its index; count each index once. */
  private countToolCalls(event: Buffer): void {
    const j = eventJson(event);
    for (const c of Array.isArray(j?.choices) ? j.choices : []) {
      for (const t of arr(obj(obj(c).delta).tool_calls)) {
        const i = obj(t).index;
        if (typeof i === 'number' && !this.seenCalls.has(i)) {
          this.seenCalls.add(i);
          this.toolCalls++;
        }
      }
    }
  }

  protected textOf(j: Json): string {
    let out = '';
    for (const c of Array.isArray(j.choices) ? j.choices : []) {
      const d = obj(obj(c).delta);
      if (typeof d.content === 'string') out += d.content;
      for (const t of Array.isArray(d.tool_calls) ? d.tool_calls : []) {
        const args = obj(obj(t).function).arguments;
        if (typeof args === 'string') out += args;
      }
    }
    return out;
  }
}

const RESPONSE_END = [Buffer.from('response.completed'), Buffer.from('response.incomplete'), Buffer.from('response.failed')];

/** responses: the terminal response.* event, the stream's last, carries the whole response with its usage. */
export class ResponsesMeter extends KeepingMeter {
  constructor() {
    super([], RESPONSE_END);
  }

  protected inspect(event: Buffer): boolean {
    if (!RESPONSE_END.some((m) => this.markers.holdsLast(m, event))) return true;
    const j = eventJson(event);
    const type = typeof j?.type === 'string' ? j.type : '';
    if (!j || !type.startsWith('response.') || !RESPONSE_END.some((m) => m.toString() === type)) return true;
    const r = obj(j.response);
    this.usage = responsesUsage(r.usage, openaiTier(r.service_tier), webSearchCalls(r.output)) ?? this.usage;
    this.toolCalls = functionCalls(r.output);
    this.done = true;
    return true;
  }

  protected textOf(j: Json): string {
    return j.type === 'response.output_text.delta' || j.type === 'response.function_call_arguments.delta' ? String(j.delta ?? '') : '';
  }
}

/** The event name of an Anthropic event ("message_start"), from its `event:` line or its data. */
function anthropicEventName(event: Buffer): string | null {
  if (event[0] === 101 /* e */ && event.subarray(0, 6).toString() === 'event:') {
    const nl = event.indexOf(10);
    return event.subarray(6, nl < 0 ? undefined : nl).toString().trim();
  }
  return null;
}

/** messages: input and cache counts in message_start, the running output count in message_delta. */
export class AnthropicMeter extends KeepingMeter {
  /** `toolsOffered`: as for chat, tool use is looked for only when the request offers tools. */
  constructor(private readonly toolsOffered: boolean) {
    super(toolsOffered ? [TOOL_USE] : []);
  }

  protected inspect(event: Buffer): boolean {
    const name = anthropicEventName(event);
    if (name === 'content_block_start' && this.toolsOffered && this.markers.has(TOOL_USE, event)) this.toolCalls++;
    if (name !== null && name !== 'message_start' && name !== 'message_delta' && name !== 'message_stop') return true;
    const j = eventJson(event);
    if (!j) return true;
    if (this.toolsOffered && name === null && j.type === 'content_block_start' && obj(j.content_block).type === 'tool_use') this.toolCalls++;
    if (j.type === 'message_start') {
      this.partial = anthropicUsage(obj(j.message).usage);
    } else if (j.type === 'message_delta') {
      const delta = anthropicUsage(j.usage);
      const base = this.partial;
      if (delta) {
        // message_delta usage is cumulative; fields it omits keep their message_start values.
        const u = obj(j.usage);
        this.usage = {
          input: 'input_tokens' in u ? delta.input : (base?.input ?? 0),
          cached_input: 'cache_read_input_tokens' in u ? delta.cached_input : (base?.cached_input ?? 0),
          cache_write: 'cache_creation_input_tokens' in u ? delta.cache_write : (base?.cache_write ?? 0),
          cacheWrite1h: base?.cacheWrite1h ?? 0,
          output: delta.output,
          reasoning: 0,
          tier: base?.tier ?? null,
          ...(delta.toolCalls ? { toolCalls: delta.toolCalls } : {}),
        };
      }
    } else if (j.type === 'message_stop') {
      this.done = true;
    }
    return true;
  }

  // Output is only final at message_delta, so events are kept until the stream is done.
  protected override keeping(): boolean {
    return !this.done;
  }

  protected textOf(j: Json): string {
    if (j.type !== 'content_block_delta') return '';
    const d = obj(j.delta);
    return String(d.text ?? d.partial_json ?? d.thinking ?? '');
  }
}
