/**
 * The CLI's way in: the admin API over HTTP, with the same roles and checks as any other
 * caller. Errors come back as BursarError-shaped messages and end the command with code 1.
 */
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { parse as parseYaml } from 'yaml';
import Table from 'cli-table3';
import type { Command } from 'commander';
import type { ClientSettings } from '../config/client.js';
import { formatMoney, formatMoneyExact, parseDecimal } from '../core/money.js';

export class CliError extends Error {}

/** What every command gets: the API client, and whether to print JSON. */
export interface CliContext {
  client(): AdminClient;
  json(): boolean;
  print(value: unknown, render: () => string): void;
}

export class AdminClient {
  constructor(private readonly s: ClientSettings) {}

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.request(method, path, body === undefined ? undefined : { type: 'application/json', data: JSON.stringify(body) });
    const text = await res.text();
    if (!res.ok) this.fail(res, text);
    if (res.status === 204 || text === '') return undefined as T;
    return (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
  }

  /** Sends a file as it is (POST), and reads the JSON answer. */
  async send<T = unknown>(path: string, file: Buffer): Promise<T> {
    const res = await this.request('POST', path, { type: 'application/octet-stream', data: file });
    const text = await res.text();
    if (!res.ok) this.fail(res, text);
    return JSON.parse(text) as T;
  }

  /**
   * Streams a GET's answer into `out` as it arrives, so an export of millions of lines never
   * sits in memory whole; `onChunk` sees each piece (a progress bar).
   */
  async download(path: string, out: NodeJS.WritableStream, onChunk?: (chunk: Uint8Array) => void): Promise<void> {
    const res = await this.request('GET', path);
    if (!res.ok || !res.body) this.fail(res, await res.text());
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      onChunk?.(chunk);
      if (!out.write(chunk)) await once(out, 'drain');
    }
  }

  /**
   * Sends a file as it is and reads the answer as newline-delimited JSON, each line handed to
   * `onLine` as it arrives (an import's progress); a line with an `error` ends the command.
   */
  async stream(path: string, file: Buffer, onLine: (line: Record<string, unknown>) => void): Promise<void> {
    const res = await this.request('POST', path, { type: 'application/octet-stream', data: file }, { accept: 'application/x-ndjson' });
    if (!res.ok || !res.body) this.fail(res, await res.text());
    let held = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      held += decoder.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = held.indexOf('\n')) >= 0) {
        const line = JSON.parse(held.slice(0, nl)) as Record<string, unknown> & { error?: { code?: string; message?: string } };
        held = held.slice(nl + 1);
        if (line.error) throw new CliError(`${line.error.message} [${line.error.code}]`);
        onLine(line);
      }
    }
  }

  private async request(method: string, path: string, body?: { type: string; data: string | Buffer }, headers: Record<string, string> = {}): Promise<Response> {
    if (!this.s.token) throw new CliError(`No admin token. Set BURSAR_TOKEN, pass --token, or run the CLI where Bursar's data folder holds admin-token.`);
    try {
      return await fetch(`${this.s.url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.s.token}`, ...headers, ...(body ? { 'content-type': body.type } : {}) },
        ...(body ? { body: body.data } : {}),
      });
    } catch (err) {
      throw new CliError(`Cannot reach Bursar at ${this.s.url} (${(err as Error).cause ?? (err as Error).message}). Is it running? Set BURSAR_URL or --url.`);
    }
  }

  private fail(res: Response, text: string): never {
    let msg = text;
    try {
      const e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
      if (e) msg = `${e.message} [${e.code}]`;
    } catch {
      /* not JSON: show as is */
    }
    if (res.status === 401) msg += ` (token from ${this.s.tokenSource})`;
    throw new CliError(msg);
  }
}

/** A table for the terminal; cells are stringified, nulls shown as "-". */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const t = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  return t.toString();
}

/** An exact decimal amount from the API, for the terminal: to the minor unit, or exactly when that would read 0.00; "" for none. */
export function amount(text: string | null, currency: string): string {
  if (text === null) return '';
  const m = { nano: parseDecimal(text), currency };
  return m.nano !== 0n && m.nano < 10_000_000n && m.nano > -10_000_000n ? formatMoneyExact(m) : formatMoney(m);
}

export function when(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

/** `approve <id>` and `deny <id>` under `parent`, for approvals at `/<path>/<id>/approve|deny` (overrides, route exceptions). */
export function decisionCommands(parent: Command, ctx: CliContext, noun: string, path: string): void {
  for (const decision of ['approve', 'deny'] as const) {
    parent
      .command(`${decision} <id>`)
      .option('--note <text>', 'recorded with the decision')
      .action(async (id: string, o: { note?: string }) => {
        const r = await ctx.client().call<{ id: string; state: string }>('POST', `/${path}/${encodeURIComponent(id)}/${decision}`, { note: o.note ?? '' });
        ctx.print(r, () => `${noun} ${r.id} ${r.state}`);
      });
  }
}

/** A spec from a YAML or JSON file (the same fields as in bursar.yaml). */
export function readSpec(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
}
