/**
 * Server-sent events, cut at event boundaries on raw bytes. Working on bytes (not strings)
 * means a chunk split in the middle of a UTF-8 character or of an event is simply held until
 * the rest arrives; nothing is decoded until a whole event is there.
 */

const LF = 10;
const CR = 13;

/** Splits a byte stream into whole events (each including its blank-line terminator). */
export class EventSplitter {
  private tail: Buffer | null = null;

  /** The bytes of the complete events found by the last push, contiguous. */
  complete: Buffer = Buffer.alloc(0);

  /** Returns the complete events in `chunk` (plus what was held back). */
  push(chunk: Buffer): Buffer[] {
    const buf = this.tail ? Buffer.concat([this.tail, chunk]) : chunk;
    const events: Buffer[] = [];
    let start = 0;
    let pos = 0;
    for (;;) {
      const i = buf.indexOf(LF, pos);
      if (i < 0) break;
      let end = -1;
      if (buf[i + 1] === LF) end = i + 2;
      else if (buf[i + 1] === CR && buf[i + 2] === LF) end = i + 3;
      if (end > 0) {
        events.push(buf.subarray(start, end));
        start = end;
        pos = end;
      } else {
        pos = i + 1;
      }
    }
    this.tail = start < buf.length ? Buffer.from(buf.subarray(start)) : null;
    this.complete = buf.subarray(0, start);
    return events;
  }

  /** Bytes of an event that never finished (a cut stream). */
  get pending(): number {
    return this.tail?.length ?? 0;
  }
}

/** The `data:` payload of one event (multi-line data joined with "\n"), or null. */
export function eventData(event: Buffer): string | null {
  const text = event.toString('utf8');
  let data: string | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (!line.startsWith('data:')) continue;
    const v = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data === null ? v : `${data}\n${v}`;
  }
  return data;
}

/** The parsed JSON `data:` of an event, or undefined when it is absent or not JSON ([DONE]). */
export function eventJson(event: Buffer): Record<string, unknown> | undefined {
  const data = eventData(event);
  if (data === null || data === '' || data.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    return JSON.parse(data) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** An SSE comment line: ignored by every client, readable by people and scripts. */
export function sseComment(text: string): Buffer {
  return Buffer.from(`: ${text.replace(/[\r\n]/g, ' ')}\n\n`);
}

/** One event: its JSON data, under an event name when the dialect uses them (Anthropic's). */
export function sseEvent(data: unknown, event?: string): Buffer {
  return Buffer.from(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
}
