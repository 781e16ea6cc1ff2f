/**
 * The CLI's way in: the admin API over HTTP, with the same roles and checks as any other
 * caller. Errors come back as BursarError-shaped messages and end the command with code 1.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import Table from 'cli-table3';
import type { ClientSettings } from '../config/client.js';

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
    if (!this.s.token) throw new CliError(`No admin token. Set BURSAR_TOKEN, pass --token, or run the CLI where Bursar's data folder holds admin-token.`);
    let res: Response;
    try {
      res = await fetch(`${this.s.url}/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${this.s.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    } catch (err) {
      throw new CliError(`Cannot reach Bursar at ${this.s.url} (${(err as Error).cause ?? (err as Error).message}). Is it running? Set BURSAR_URL or --url.`);
    }
    const text = await res.text();
    if (!res.ok) {
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
    if (res.status === 204 || text === '') return undefined as T;
    return (res.headers.get('content-type') ?? '').includes('json') ? (JSON.parse(text) as T) : (text as T);
  }
}

/** A table for the terminal; cells are stringified, nulls shown as "-". */
export function table(head: readonly string[], rows: readonly (readonly unknown[])[]): string {
  const t = new Table({ head: [...head], style: { head: [], border: [] } });
  for (const r of rows) t.push(r.map((c) => (c === null || c === undefined ? '-' : String(c))));
  return t.toString();
}

export function when(ms: number | null | undefined): string {
  return ms ? new Date(ms).toISOString().replace('.000Z', 'Z') : '-';
}

/** A spec from a YAML or JSON file (the same fields as in bursar.yaml). */
export function readSpec(file: string): unknown {
  const text = readFileSync(file, 'utf8');
  return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
}
