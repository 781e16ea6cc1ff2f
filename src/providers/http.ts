/**
 * The one provider adapter: an HTTP client (undici pool, kept-alive connections) for a base
 * URL that speaks the OpenAI or the Anthropic dialect. OpenAI, Azure OpenAI, vLLM, Ollama,
 * OpenRouter, Gemini's OpenAI endpoint and Anthropic differ only in data: URL, auth header, query.
 * Responses are received through undici's dispatch handlers, straight into the caller's sink.
 */
import type { Dispatcher } from 'undici';
import Pool from 'undici/lib/dispatcher/pool.js';
import undiciErrors from 'undici/lib/core/errors.js';
import { BursarError } from '../core/errors.js';
import type { CallSignal, Provider, UpstreamRequest, UpstreamSink } from '../core/ports.js';
import type { ResolvedProvider } from '../config/load.js';

/** Caller headers forwarded to the provider; everything else (cookies, the caller's key) stays here. */
const FORWARDED = ['anthropic-version', 'anthropic-beta', 'openai-beta'];
const DEFAULT_ANTHROPIC_VERSION = '2023-06-01';

export class HttpProvider implements Provider {
  readonly id: string;
  readonly dialect: ResolvedProvider['dialect'];
  private readonly pool: Pool;
  private readonly basePath: string;
  private readonly search: string;
  private readonly auth: Readonly<Record<string, string>>;
  private readonly timeoutMs: number;

  constructor(cfg: ResolvedProvider, baseUrl: string) {
    this.id = cfg.id;
    this.dialect = cfg.dialect;
    this.timeoutMs = cfg.timeoutMs;
    const url = new URL(baseUrl);
    this.basePath = url.pathname.replace(/\/$/, '');
    const q = new URLSearchParams(cfg.query).toString();
    this.search = q ? `?${q}` : '';
    this.pool = new Pool(url.origin, {
      connections: 256,
      keepAliveTimeout: 60_000,
      connect: { timeout: cfg.connectTimeoutMs },
      headersTimeout: cfg.timeoutMs,
      bodyTimeout: cfg.timeoutMs,
    });
    const key = cfg.apiKey?.reveal();
    this.auth = !key ? {} : cfg.authHeader === 'authorization' ? { authorization: `Bearer ${key}` } : { [cfg.authHeader]: key };
  }

  send(req: UpstreamRequest, sink: UpstreamSink): void {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.auth };
    for (const h of FORWARDED) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    if (this.dialect === 'anthropic' && !headers['anthropic-version']) headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
    const exchange = new Exchange(sink, req.signal, this.id);
    req.signal.onAbort(() => exchange.abort());
    try {
      this.pool.dispatch(
        {
          method: 'POST',
          path: this.basePath + req.path + this.search,
          headers,
          body: req.body,
          headersTimeout: this.timeoutMs,
          bodyTimeout: this.timeoutMs,
        },
        exchange,
      );
    } catch (err) {
      exchange.fail(err);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

/**
 * One request to a provider, as undici's dispatch handler: the response goes to the call's sink,
 * and the request is ended if the call is aborted. One object per request, where handler methods
 * written as closures made six.
 */
class Exchange implements Dispatcher.DispatchHandler {
  private controller: Dispatcher.DispatchController | null = null;
  private failed = false;

  constructor(
    private readonly sink: UpstreamSink,
    private readonly signal: CallSignal,
    private readonly provider: string,
  ) {}

  onRequestStart(c: Dispatcher.DispatchController): void {
    this.controller = c;
    if (this.signal.aborted) c.abort(new undiciErrors.RequestAbortedError());
  }

  onResponseStart(c: Dispatcher.DispatchController, status: number, headers: Record<string, string | string[] | undefined>): void {
    if (status < 200) return; // 1xx: the real answer follows
    // The controller is the response's flow control: resume() takes more after a pause.
    this.sink.onStart(status, headers, c);
  }

  onResponseData(c: Dispatcher.DispatchController, chunk: Buffer): void {
    if (!this.sink.onData(chunk)) c.pause();
  }

  onResponseEnd(): void {
    if (!this.failed) this.sink.onEnd();
  }

  onResponseError(_c: Dispatcher.DispatchController, err: Error): void {
    this.fail(err);
  }

  abort(): void {
    const c = this.controller;
    if (c && !c.aborted) c.abort(new undiciErrors.RequestAbortedError());
  }

  fail(err: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.sink.onError(upstreamError(err, this.provider));
  }
}

/** Maps a transport failure to a Bursar error; an abort by the caller is passed through as is. */
export function upstreamError(err: unknown, provider: string): unknown {
  if (err instanceof BursarError) return err;
  if (err instanceof undiciErrors.RequestAbortedError || (err instanceof Error && err.name === 'AbortError')) return err;
  const code = (err as { code?: string }).code ?? '';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT') {
    return new BursarError('upstream_timeout', `Provider "${provider}" did not answer in time (${code}). Retry, or raise the provider's timeout_s.`, { cause: err });
  }
  return new BursarError('upstream_unreachable', `Provider "${provider}" could not be reached (${code || (err as Error).message}). Retry later.`, { cause: err });
}
