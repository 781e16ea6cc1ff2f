/**
 * One provider response as the handler consumes it: a sink the provider pushes into, with
 * promises for "the status arrived" and "the body ended", a whole-body read for JSON, and a
 * chunk callback (with backpressure) for streams.
 */
import type { UpstreamControl, UpstreamSink } from '../core/ports.js';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/** How far a response has come: its status and headers, then its whole body. */
const WAITING = 0;
const STARTED = 1;
const ENDED = 2;
type Stage = typeof WAITING | typeof STARTED | typeof ENDED;

interface Waiter {
  readonly until: Stage;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

export class UpstreamCall implements UpstreamSink {
  status = 0;
  headers: Headers = {};
  private control: UpstreamControl | null = null;
  private chunks: Buffer[] = [];
  private size = 0;
  private consumer: ((chunk: Buffer) => boolean) | null = null;
  private stage: Stage = WAITING;
  private failed = false;
  private failure: unknown = null;
  /** Promises handed out and not yet settled: made only when awaited (every call awaits two, one at a time). */
  private waiters: Waiter[] | null = null;

  /** Resolves when the status and headers are in; rejects if the call fails first. */
  get started(): Promise<void> {
    return this.after(STARTED);
  }

  /** Resolves when the whole body is in; rejects on a transport failure or abort. */
  get ended(): Promise<void> {
    return this.after(ENDED);
  }

  onStart(status: number, headers: Headers, control: UpstreamControl): void {
    this.status = status;
    this.headers = headers;
    this.control = control;
    this.reach(STARTED);
  }

  onData(chunk: Buffer): boolean {
    if (this.consumer) return this.consumer(chunk);
    this.chunks.push(chunk);
    this.size += chunk.length;
    return true;
  }

  onEnd(): void {
    this.reach(ENDED);
  }

  onError(err: unknown): void {
    if (this.failed || this.stage === ENDED) return;
    this.failed = true;
    this.failure = err;
    const waiters = this.waiters;
    this.waiters = null;
    if (waiters) for (const w of waiters) w.reject(err);
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

  private after(stage: Stage): Promise<void> {
    if (this.stage >= stage) return Promise.resolve();
    if (this.failed) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ until: stage, resolve, reject }));
  }

  private reach(stage: Stage): void {
    if (this.failed) return;
    this.stage = stage;
    const waiters = this.waiters;
    if (!waiters) return;
    this.waiters = null;
    for (const w of waiters) {
      if (w.until <= stage) w.resolve();
      else (this.waiters ??= []).push(w);
    }
  }
}
