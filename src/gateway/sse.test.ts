import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EventSplitter, eventData, eventJson } from './sse.js';

const stream = Buffer.from(
  'data: {"a":"café 東京 🙂"}\n\n' +
    'event: message_delta\ndata: {"b":2}\n\n' +
    'data: {"c":"x\\ny"}\r\n\r\n' +
    ': comment\n\n' +
    'data: [DONE]\n\n',
);

function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => Math.max(0, Math.min(buf.length, c))))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const p of [...points, buf.length]) {
    if (p > from) out.push(buf.subarray(from, p));
    from = Math.max(from, p);
  }
  return out;
}

describe('EventSplitter', () => {
  it('yields the same events at every single split point, including inside UTF-8 characters', () => {
    const whole = new EventSplitter().push(stream).map((e) => e.toString('utf8'));
    expect(whole).toHaveLength(5);
    for (let i = 1; i < stream.length; i++) {
      const s = new EventSplitter();
      const got = [...s.push(stream.subarray(0, i)), ...s.push(stream.subarray(i))].map((e) => e.toString('utf8'));
      expect(got).toEqual(whole);
      expect(s.pending).toBe(0);
    }
  });

  it('yields the same events for any chunking (property)', () => {
    const whole = new EventSplitter().push(stream).map((e) => e.toString('utf8'));
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 40 }), (cuts) => {
        const s = new EventSplitter();
        const got = splitAt(stream, cuts).flatMap((c) => s.push(c)).map((e) => e.toString('utf8'));
        expect(got).toEqual(whole);
      }),
    );
  });

  it('holds back an unfinished event and reports it', () => {
    const s = new EventSplitter();
    expect(s.push(Buffer.from('data: {"a":1}\n\ndata: {"b"'))).toHaveLength(1);
    expect(s.pending).toBe(10);
    expect(s.complete.toString()).toBe('data: {"a":1}\n\n');
  });
});

describe('event data', () => {
  it('reads data lines, joins multi-line data, ignores comments and event names', () => {
    expect(eventData(Buffer.from('event: x\ndata: {"b":2}\n\n'))).toBe('{"b":2}');
    expect(eventData(Buffer.from('data:one\ndata: two\n\n'))).toBe('one\ntwo');
    expect(eventData(Buffer.from(': hello\n\n'))).toBeNull();
    expect(eventJson(Buffer.from('data: [DONE]\n\n'))).toBeUndefined();
    expect(eventJson(Buffer.from('data: {"ok":true}\r\n\r\n'))).toEqual({ ok: true });
  });
});
