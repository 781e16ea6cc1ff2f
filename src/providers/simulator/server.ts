/**
 * The built-in simulated provider: an HTTP server on loopback that answers the OpenAI and
 * Anthropic endpoints with realistic usage, so Bursar works end to end offline. Tests script
 * it with faults (status codes, resets, hangs, cut or stalled streams, missing usage) and
 * with awkward byte splits (mid-event, mid-UTF-8).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  chatEvents, chatJson, embeddingsJson, messagesEvents, messagesJson, plan, responsesEvents, responsesJson, type SimEndpoint,
} from './answers.js';

export type Fault =
  | { readonly kind: 'status'; readonly status: number; readonly body?: unknown }
  /** Close the connection without answering. */
  | { readonly kind: 'reset' }
  /** Never answer (the caller's timeout or abort ends it). */
  | { readonly kind: 'hang' }
  /** Stream: send some events and half of the next, then drop the connection. */
  | { readonly kind: 'cut'; readonly afterEvents: number }
  /** Stream: send some events, then keep the connection open and silent. */
  | { readonly kind: 'stall'; readonly afterEvents: number }
  /** Answer without any usage block. */
  | { readonly kind: 'no-usage' }
  | { readonly kind: 'delay'; readonly ms: number };

export interface SimRequest {
  readonly endpoint: SimEndpoint;
  readonly body: Record<string, unknown>;
  readonly headers: IncomingMessage['headers'];
}

export interface SimulatorOptions {
  /** Pause between stream events, ms. */
  readonly eventDelayMs?: number;
  /** Write responses in pieces of this many bytes (1 = every byte on its own). */
  readonly splitBytes?: number;
  readonly fault?: (req: SimRequest) => Fault | undefined;
}

const PATHS: Readonly<Record<string, SimEndpoint>> = {
  '/chat/completions': 'chat',
  '/responses': 'responses',
  '/embeddings': 'embeddings',
  '/messages': 'messages',
};

export class Simulator {
  /** The last requests received (newest last), for tests. */
  readonly requests: SimRequest[] = [];
  private server: Server | null = null;
  private readonly sockets = new Set<import('node:net').Socket>();
  url = '';

  constructor(public options: SimulatorOptions = {}) {}

  async start(port = 0): Promise<string> {
    const server = createServer((req, res) => void this.serve(req, res));
    server.keepAliveTimeout = 65_000;
    server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    this.server = server;
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const path = (req.url ?? '').replace(/^\/v1/, '').split('?')[0] ?? '';
    const endpoint = PATHS[path];
    if (req.method !== 'POST' || !endpoint) return json(res, 404, { error: { message: `simulator: no endpoint ${req.method} ${req.url}`, type: 'invalid_request_error' } });
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    } catch {
      return json(res, 400, { error: { message: 'simulator: body is not JSON', type: 'invalid_request_error' } });
    }
    const sim: SimRequest = { endpoint, body, headers: req.headers };
    this.requests.push(sim);
    if (this.requests.length > 200) this.requests.shift();

    const fault = this.options.fault?.(sim);
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'hang') return;
    if (fault?.kind === 'status') {
      const err = fault.body ?? (endpoint === 'messages'
        ? { type: 'error', error: { type: fault.status === 429 ? 'rate_limit_error' : 'api_error', message: `simulated ${fault.status}` } }
        : { error: { message: `simulated ${fault.status}`, type: fault.status === 429 ? 'rate_limit_error' : 'server_error', code: null } });
      return json(res, fault.status, err);
    }
    const withUsage = fault?.kind !== 'no-usage';
    const cap = [body.max_completion_tokens, body.max_tokens, body.max_output_tokens].find((v): v is number => typeof v === 'number') ?? null;

    if (body.stream === true && endpoint !== 'embeddings') {
      const p = plan(body, cap);
      const events = endpoint === 'chat' ? chatEvents(p, body, withUsage) : endpoint === 'responses' ? responsesEvents(p, withUsage) : messagesEvents(p, withUsage);
      return this.stream(res, events, fault);
    }
    const out = endpoint === 'embeddings' ? embeddingsJson(body, withUsage)
      : endpoint === 'chat' ? chatJson(plan(body, cap), withUsage)
      : endpoint === 'responses' ? responsesJson(plan(body, cap), withUsage)
      : messagesJson(plan(body, cap), withUsage);
    await this.write(res, Buffer.from(JSON.stringify(out)), 200, 'application/json');
  }

  private async stream(res: ServerResponse, events: string[], fault: Fault | undefined): Promise<void> {
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    const delay = this.options.eventDelayMs ?? 0;
    for (let i = 0; i < events.length; i++) {
      if (fault?.kind === 'cut' && i === fault.afterEvents) {
        const e = Buffer.from(events[i]!);
        res.write(e.subarray(0, Math.floor(e.length / 2)));
        await sleep(5);
        res.socket?.destroy();
        return;
      }
      if (fault?.kind === 'stall' && i === fault.afterEvents) return;
      await this.pieces(res, Buffer.from(events[i]!));
      if (delay) await sleep(delay);
    }
    res.end();
  }

  private async write(res: ServerResponse, data: Buffer, status: number, type: string): Promise<void> {
    res.writeHead(status, { 'content-type': type, 'content-length': data.length });
    await this.pieces(res, data);
    res.end();
  }

  /** Writes bytes, split into tiny pieces when configured, each flushed on its own. */
  private async pieces(res: ServerResponse, data: Buffer): Promise<void> {
    const n = this.options.splitBytes;
    if (!n) {
      res.write(data);
      return;
    }
    for (let i = 0; i < data.length; i += n) {
      res.write(data.subarray(i, i + n));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}
