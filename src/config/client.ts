/**
 * Where the CLI finds Bursar and its admin token: flags first, then BURSAR_URL and
 * BURSAR_TOKEN, then the local defaults (the port in bursar.yaml's absence, and the token file
 * written at first start under the data folder).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface ClientSettings {
  readonly url: string;
  /** The local data folder (BURSAR_DATA_DIR, default ./data), for commands that work on files. */
  readonly dataDir: string;
  readonly token: string | null;
  /** Where the token came from, to explain an unauthorized error. */
  readonly tokenSource: string;
}

export function clientSettings(flags: { url?: string; token?: string }, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): ClientSettings {
  const url = (flags.url ?? env.BURSAR_URL ?? `http://127.0.0.1:${env.BURSAR_PORT ?? '4000'}`).replace(/\/$/, '');
  const dataDir = resolve(cwd, env.BURSAR_DATA_DIR ?? 'data');
  if (flags.token) return { url, dataDir, token: flags.token, tokenSource: '--token' };
  if (env.BURSAR_TOKEN) return { url, dataDir, token: env.BURSAR_TOKEN, tokenSource: 'BURSAR_TOKEN' };
  if (env.BURSAR_ADMIN_TOKEN) return { url, dataDir, token: env.BURSAR_ADMIN_TOKEN, tokenSource: 'BURSAR_ADMIN_TOKEN' };
  const file = join(dataDir, 'admin-token');
  if (existsSync(file)) return { url, dataDir, token: readFileSync(file, 'utf8').trim(), tokenSource: file };
  return { url, dataDir, token: null, tokenSource: 'none (set BURSAR_TOKEN or --token)' };
}
