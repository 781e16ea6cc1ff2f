/**
 * Runs the built `bursar` command as a child process, the way an operator does, for the tests
 * that kill it or stop it with a signal.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const CLI = fileURLToPath(new URL('../../dist/bursar.mjs', import.meta.url));

export interface Running {
  readonly child: ChildProcess;
  readonly url: string;
  readonly stderr: () => string;
  /** The exit code, or the signal's name when a signal ended it. */
  readonly exited: Promise<number | string | null>;
}

/** Starts `bursar start` in `cwd` (node run with `nodeArgs`) and resolves once it listens (its URL is read from stderr). */
export async function startProcess(cwd: string, env: Record<string, string>, nodeArgs: readonly string[] = []): Promise<Running> {
  const child = spawn(process.execPath, [...nodeArgs, CLI, 'start'], { cwd, env: { ...process.env, BURSAR_PORT: '0', BURSAR_LOG_LEVEL: 'warn', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`bursar did not start:\n${err}`)), 20_000);
    const check = (): void => {
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stderr!.on('data', check);
    void exited.then((code) => reject(new Error(`bursar exited with ${code}:\n${err}`)));
  });
  return { child, url, stderr: () => err, exited };
}

/** Creates a key of `department` through a running Bursar's admin API; returns its secret. */
export async function createKey(url: string, adminToken: string, department: string, label = 'test'): Promise<string> {
  const r = await fetch(`${url}/admin/v1/keys`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ label, department }) });
  if (!r.ok) throw new Error(`creating a key answered ${r.status}: ${await r.text()}`);
  return ((await r.json()) as { secret: string }).secret;
}

/** Reads one whole response body (JSON or SSE), or the error that ended it. */
export async function callThrough(url: string, key: string, body: Record<string, unknown>, headers: Record<string, string> = {}): Promise<{ status: number; text: string } | { error: string }> {
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, text: await res.text() };
  } catch (e) {
    return { error: String((e as Error).cause ?? e) };
  }
}
