import { describe, expect, it } from 'vitest';
import { UpstreamCall } from './upstream.js';

const control = { resume: (): void => {} };
const settled = (p: Promise<void>): Promise<string> => p.then(() => 'resolved', (e: unknown) => `rejected: ${String(e)}`);

describe('a provider response', () => {
  it('resolves started when the status is in, and ended when the body is, whichever is awaited first', async () => {
    const up = new UpstreamCall();
    const ended = settled(up.ended);
    const started = settled(up.started);
    up.onStart(200, { 'content-type': 'application/json' }, control);
    expect(await started).toBe('resolved');
    up.onData(Buffer.from('{"a":'));
    up.onData(Buffer.from('1}'));
    up.onEnd();
    expect(await ended).toBe('resolved');
    expect(up.body().toString()).toBe('{"a":1}');
    // Asked for afterwards, both are resolved at once.
    expect(await settled(up.started)).toBe('resolved');
    expect(await settled(up.ended)).toBe('resolved');
  });

  it('rejects both when it fails before its status, and only ended when it fails after', async () => {
    const early = new UpstreamCall();
    const started = settled(early.started);
    early.onError(new Error('refused'));
    expect(await started).toBe('rejected: Error: refused');
    expect(await settled(early.ended)).toBe('rejected: Error: refused');
    // Nothing a provider says after failing changes that.
    early.onStart(200, {}, control);
    expect(await settled(early.started)).toBe('rejected: Error: refused');

    const late = new UpstreamCall();
    late.onStart(200, {}, control);
    const ended = settled(late.ended);
    late.onError(new Error('reset'));
    expect(await ended).toBe('rejected: Error: reset');
    expect(await settled(late.started)).toBe('resolved');
  });

  it('ignores a failure after its body ended', async () => {
    const up = new UpstreamCall();
    up.onStart(200, {}, control);
    up.onEnd();
    up.onError(new Error('late'));
    expect(await settled(up.ended)).toBe('resolved');
  });
});
