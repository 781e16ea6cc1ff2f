/**
 * The one provider adapter: an HTTP client (undici pool, kept-alive connections) for a base
 * URL that speaks the OpenAI or the Anthropic dialect. OpenAI, Azure OpenAI, vLLM, Ollama,
 * OpenRouter, Gemini's OpenAI endpoint and Anthropic differ only in data: URL, auth header, query.
 */
import { Pool, errors as undiciErrors } from 'undici';
import { BursarError } from '../core/errors.js';
import type { Provider, UpstreamRequest, UpstreamResponse } from '../core/ports.js';
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

  constructor(
    cfg: ResolvedProvider,
    baseUrl: string,
    private readonly timeouts = { headersMs: cfg.timeoutMs, bodyMs: cfg.timeoutMs },
  ) {
    this.id = cfg.id;
    this.dialect = cfg.dialect;
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

  async send(req: UpstreamRequest): Promise<UpstreamResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/json', ...this.auth };
    for (const h of FORWARDED) {
      const v = req.headers[h];
      if (v !== undefined) headers[h] = v;
    }
    if (this.dialect === 'anthropic' && !headers['anthropic-version']) headers['anthropic-version'] = DEFAULT_ANTHROPIC_VERSION;
    try {
      const res = await this.pool.request({
        method: 'POST',
        path: this.basePath + req.path + this.search,
        headers,
        body: req.body,
        signal: req.signal,
        headersTimeout: this.timeouts.headersMs,
        bodyTimeout: this.timeouts.bodyMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body, bytes: async () => Buffer.from(await res.body.arrayBuffer()) };
    } catch (err) {
      throw upstreamError(err, this.id);
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
