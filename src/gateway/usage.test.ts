import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventSplitter } from './sse.js';
import { AnthropicMeter, ChatMeter, Markers, ResponsesMeter, type StreamMeter } from './usage.js';

/** Meters a stream cut into chunks as the gateway does (each chunk's events scanned, then seen in order), or without scanning. */
function meter(m: StreamMeter, chunks: readonly Buffer[], scan: boolean): { shown: string[]; m: StreamMeter } {
  const split = new EventSplitter();
  const shown: string[] = [];
  for (const c of chunks) {
    const events = split.push(c);
    if (events.length === 0) continue;
    if (scan) m.scan(split.complete);
    for (const e of events) if (m.see(e)) shown.push(e.toString());
  }
  return { shown, m };
}

/** The stream in pieces of the given sizes (plus one each), then the rest. */
function pieces(buf: Buffer, sizes: readonly number[]): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  for (const n of sizes) if (at < buf.length) out.push(buf.subarray(at, (at += n + 1)));
  return at < buf.length ? [...out, buf.subarray(at)] : out;
}

const data = (j: unknown): string => `data: ${JSON.stringify(j)}\n\n`;
/** Events as providers may frame them: with LF or CRLF line ends, comments between them, and a marker as early in an event as it can be. */
const framed = (e: string, crlf: boolean): string => (crlf ? e.replace(/\n/g, '\r\n') : e);
const chatEvent = fc.tuple(
  fc.oneof(
    fc.string().map((text) => data({ choices: [{ index: 0, delta: { content: text } }], usage: null })),
    fc.nat(3).map((i) => `data:{"tool_calls":[{"index":${i}}],"choices":[{"index":0,"delta":{"tool_calls":[{"index":${i}}]}}]}\n\n`),
    fc.constant(': keep-alive\n\n'),
    fc.constant(':\n\n'),
  ),
  fc.boolean(),
).map(([e, crlf]) => framed(e, crlf));

describe('a chunk\'s markers', () => {
  it('tell each event whether it holds a marker found from the front, searching only from its first occurrence on', () => {
    const needles = [Buffer.from('X'), Buffer.from('YY'), Buffer.from('Z'), Buffer.from('W')];
    const events = ['ab', 'cX', 'ZYY', 'fX', 'g'].map((e) => Buffer.from(e));
    const m = new Markers(needles);
    m.scan(Buffer.concat(events));
    const has = events.map((e) => {
      m.enter(e);
      return needles.map((n) => m.has(n, e));
    });
    // X first at byte 3 (in 'cX'), Z at 4 and YY at 5 (both in 'ZYY'), W nowhere; 'fX' holds a later X, found by searching it.
    expect(has).toEqual([[false, false, false, false], [true, false, false, false], [false, true, true, false], [true, false, false, false], [false, false, false, false]]);
    // A needle not scanned for is searched; so is an event beyond what was scanned, or one seen without a scan.
    expect(m.has(Buffer.from('g'), events[4]!)).toBe(true);
    const more = Buffer.from('moreW');
    m.enter(more);
    expect(needles.map((n) => m.has(n, more))).toEqual([false, false, false, true]);
    const unscanned = new Markers(needles);
    unscanned.enter(Buffer.from('aWb'));
    expect(unscanned.has(needles[3]!, Buffer.from('aWb'))).toBe(true);
  });

  it('tell only the event that holds a chunk\'s last occurrence of a marker found from the back', () => {
    const U = Buffer.from('U');
    const events = ['aU', 'b', 'cU', 'd'].map((e) => Buffer.from(e));
    const m = new Markers([], [U]);
    m.scan(Buffer.concat(events));
    expect(events.map((e) => (m.enter(e), m.holdsLast(U, e)))).toEqual([false, false, true, false]);
    const unscanned = new Markers([], [U]);
    expect(events.map((e) => (unscanned.enter(e), unscanned.holdsLast(U, e)))).toEqual([true, false, true, false]);
  });
});

describe('stream meters', () => {
  it('find the same tool calls, usage and end with the chunk scan as without it, however the stream is cut', () => {
    fc.assert(
      fc.property(fc.array(chatEvent, { maxLength: 120 }), fc.boolean(), fc.boolean(), fc.array(fc.nat(400), { maxLength: 6 }), (events, withUsage, asked, sizes) => {
        // The usage marker 6 bytes into its event: an offset that drifts by a byte an event misses it.
        const usage = withUsage ? 'data:{"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12},"choices":[]}\n\n' : '';
        const stream = Buffer.from(events.join('') + usage + 'data: [DONE]\n\n');
        const a = meter(new ChatMeter(asked, true), pieces(stream, sizes), true);
        const b = meter(new ChatMeter(asked, true), pieces(stream, sizes), false);
        expect(a.shown).toEqual(b.shown);
        expect([a.m.toolCalls, a.m.usage, a.m.done]).toEqual([b.m.toolCalls, b.m.usage, b.m.done]);
        const calls = events.map((e) => /^data:\{"tool_calls":\[\{"index":(\d)/.exec(e)?.[1]).filter((i) => i !== undefined);
        expect(a.m.toolCalls).toBe(new Set(calls).size);
        expect(a.m.usage?.output ?? null).toBe(withUsage ? 5 : null);
        expect(a.shown.some((e) => e.includes('"choices":[]'))).toBe(withUsage && asked);
      }),
    );
  });

  it('find a tool call and usage in a later event of a chunk whose earlier events had them too', () => {
    const stream = Buffer.from(
      data({ choices: [{ delta: { tool_calls: [{ index: 0 }] } }], usage: null }) +
        data({ choices: [{ delta: { content: 'x' } }], usage: null }) +
        data({ choices: [{ delta: { tool_calls: [{ index: 1 }] } }], usage: null }) +
        data({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 2 } }) +
        'data: [DONE]\n\n',
    );
    const { m } = meter(new ChatMeter(false, true), [stream], true);
    expect([m.toolCalls, m.usage?.output, m.done]).toEqual([2, 2, true]);
  });

  it('read the last running total of a chunk, and look for tool calls only when the request offers tools', () => {
    const chunk = (text: string, output: number): string => data({ choices: [{ index: 0, delta: { content: text } }], usage: { prompt_tokens: 3, completion_tokens: output } });
    const call = data({ choices: [{ index: 0, delta: { tool_calls: [{ index: 0 }] } }], usage: null });
    const stream = Buffer.from(chunk('a', 1) + call + chunk('b', 2) + chunk('c', 3) + data({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 3 } }) + 'data: [DONE]\n\n');
    for (const cut of [[stream], pieces(stream, [150, 40])]) {
      const offered = meter(new ChatMeter(false, true), cut, true);
      expect([offered.m.usage?.output, offered.m.toolCalls, offered.m.done]).toEqual([3, 1, true]);
      // The usage chunk Bursar asked for is hidden; the running totals on content chunks are not.
      expect(offered.shown.filter((e) => e.includes('"usage":{'))).toHaveLength(3);
      expect(meter(new ChatMeter(false, false), cut, true).m.toolCalls).toBe(0);
    }
  });

  it('scan the Anthropic and Responses streams alike', () => {
    const anthropic = Buffer.from(
      'event: message_start\n' + data({ type: 'message_start', message: { usage: { input_tokens: 9, output_tokens: 1 } } }) +
        'event: content_block_start\n' + data({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }) +
        'event: content_block_start\n' + data({ type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 't', name: 'f', input: {} } }) +
        'event: message_delta\n' + data({ type: 'message_delta', usage: { output_tokens: 4 } }) +
        'event: message_stop\n' + data({ type: 'message_stop' }),
    );
    const a = meter(new AnthropicMeter(true), [anthropic], true).m;
    expect([a.toolCalls, a.usage?.input, a.usage?.output, a.done]).toEqual([1, 9, 4, true]);

    const responses = Buffer.from(
      data({ type: 'response.output_text.delta', delta: 'hi' }) +
        data({ type: 'response.completed', response: { usage: { input_tokens: 6, output_tokens: 2 }, output: [] } }),
    );
    const r = meter(new ResponsesMeter(), [responses], true).m;
    expect([r.usage?.input, r.usage?.output, r.done]).toEqual([6, 2, true]);
  });
});
