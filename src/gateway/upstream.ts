/**
 * One provider response as the handler consumes it: a sink the provider pushes into, with
 * promises for "the status arrived" and "the body ended", a whole-body read for JSON, and a
 * chunk callback (with backpressure) for streams.
 */
import type { UpstreamControl, UpstreamSink } from '../core/ports.js';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Awaiters still see a rejection; this only keeps an unawaited one from being reported as unhandled.
  promise.catch(() => {});
  return { promise, resolve, reject };
}

export class UpstreamCall implements UpstreamSink {
  status = 0;
  headers: Headers = {};
  private control: UpstreamControl | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private consumer: ((chunk: Buffer) => boolean) | null = null;
  private readonly startedD = deferred();
  private readonly endedD = deferred();
  private startedYet = false;
  /** Resolves when the status and headers are in; rejects if the call fails first. */
  readonly started = this.startedD.promise;
  /** Resolves when the whole body is in; rejects on a transport failure or abort. */
  readonly ended = this.endedD.promise;

  onStart(status: number, headers: Headers, control: UpstreamControl): void {
    this.status = status;
    this.headers = headers;
    this.control = control;
    this.startedYet = true;
    this.startedD.resolve();
  }

  onData(chunk: Buffer): boolean {
    if (this.consumer) return this.consumer(chunk);
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onEnd(): void {
    this.endedD.resolve();
  }

  onError(err: unknown): void {
    if (!this.startedYet) this.startedD.reject(err);
    this.endedD.reject(err);
  }

  /** The whole body (after `ended`). */
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
  }

  /** Takes every chunk from now on (and those already received); `consume` returning false pauses the provider. */
  stream(consume: (chunk: Buffer) => boolean): void {
    const early = this.chunks;
    this.chunks = [];
    this.size = 0;
    for (const c of early) consume(c);
    this.consumer = consume;
  }

  resume(): void {
    this.control?.resume();
  }
}
