/**
 * The gateway's HTTP plumbing on node:http directly. The call path skips Fastify (which serves
 * the admin API): on a bare proxy, Fastify's request lifecycle cost a fifth of the
 * throughput (docs/benchmarks.md), and the gateway needs none of it but body reading.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BursarError, errorBody, type Dialect } from '../core/errors.js';

/** Reads a whole request body, refusing one larger than `limit` bytes as soon as it is. */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const tooLarge = (): BursarError =>
      new BursarError('body_too_large', `The request body is larger than ${formatBytes(limit)}; send less, or raise server.body_limit_mb in bursar.yaml.`);
    const declared = Number(req.headers['content-length']);
    if (declared > limit) return reject(tooLarge());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        req.removeAllListeners('data');
        req.resume();
        reject(tooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on('error', reject);
  });
}

function formatBytes(n: number): string {
  return n >= 1048576 ? `${+(n / 1048576).toFixed(2)} MiB` : `${Math.round(n / 1024)} KiB`;
}

/** Sends a whole JSON (or other) body with headers. */
export function sendBody(res: ServerResponse, status: number, headers: Record<string, string>, body: Buffer | string): void {
  headers['content-length'] = String(typeof body === 'string' ? Buffer.byteLength(body) : body.length);
  res.writeHead(status, headers);
  res.end(body);
}

/** Sends an error in the caller's dialect; errors a retry cannot fix say `x-should-retry: false`. */
export function sendError(res: ServerResponse, err: BursarError, dialect: Dialect, requestId: string | null): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (requestId) headers['x-request-id'] = requestId;
  if (!err.retryable) headers['x-should-retry'] = 'false';
  const wait = err.details?.retry_after_seconds;
  if (typeof wait === 'number') headers['retry-after'] = String(wait);
  if (err.code === 'body_too_large') headers.connection = 'close';
  sendBody(res, err.status, headers, JSON.stringify(errorBody(err, dialect)));
}

/** Requests from the Anthropic SDK carry anthropic-version; /v1/messages is Anthropic's path. */
export function dialectOf(url: string, headers: IncomingMessage['headers']): Dialect {
  return url.startsWith('/v1/messages') || headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}
