/**
 * Where the CLI finds Bursar and its admin token: flags first, then BURSAR_URL and
 * BURSAR_TOKEN, then the local defaults (the port in bursar.yaml's absence, and the token file
 * written at first start under the data folder).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ClientSettings {
  readonly url: string;
  readonly token: string | null;
  /** Where the token came from, to explain an unauthorized error. */
  readonly tokenSource: string;
}

export function clientSettings(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ClientSettings {
  const url = (flags.url ?? env.BURSAR_URL ?? `http://127.0.0.1:${env.BURSAR_PORT ?? '4000'}`).replace(/\/$/, '');
  if (flags.token) return { url, token: flags.token, tokenSource: '--token' };
  if (env.BURSAR_TOKEN) return { url, token: env.BURSAR_TOKEN, tokenSource: 'BURSAR_TOKEN' };
  if (env.BURSAR_ADMIN_TOKEN) return { url, token: env.BURSAR_ADMIN_TOKEN, tokenSource: 'BURSAR_ADMIN_TOKEN' };
  const file = join(resolve(cwd, env.BURSAR_DATA_DIR ?? 'data'), 'admin-token');
  if (existsSync(file)) return { url, token: readFileSync(file, 'utf8').trim(), tokenSource: file };
  return { url, token: null, tokenSource: 'none (set BURSAR_TOKEN or --token)' };
}
