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
import type { Provider, UpstreamRequest, UpstreamSink } from '../core/ports.js';
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
    const provider = this.id;
    let controller: Dispatcher.DispatchController | null = null;
    let failed = false;
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      sink.onError(upstreamError(err, provider));
    };
    req.signal.onAbort(() => {
      if (controller && !controller.aborted) controller.abort(new undiciErrors.RequestAbortedError());
    });
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
        {
          onRequestStart(c) {
            controller = c;
            if (req.signal.aborted) c.abort(new undiciErrors.RequestAbortedError());
          },
          onResponseStart(c, status, h) {
            if (status < 200) return; // 1xx: the real answer follows
            sink.onStart(status, h, { resume: () => c.resume() });
          },
          onResponseData(c, chunk) {
            if (!sink.onData(chunk)) c.pause();
          },
          onResponseEnd() {
            if (!failed) sink.onEnd();
          },
          onResponseError(_c, err) {
            fail(err);
          },
        },
      );
    } catch (err) {
      fail(err);
    }
  }

  close(): Promise<void> {
    return this.pool.close();
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
