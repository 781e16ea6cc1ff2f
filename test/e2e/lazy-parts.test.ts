/**
 * What an embedded gateway never loads: scale-out's clients (pg, ioredis), e-mail (nodemailer),
 * single sign-on (openid-client) and the invoice parsers (csv-parse, hyparquet) sit in chunks of
 * the bundle that `bursar start` on SQLite leaves alone, because Node keeps every module it loads
 * resident (docs/architecture.md, "Memory"). A static import of any of them from the gateway's
 * path would pull its chunk in at start; this test then fails. It watches the start through a
 * module hook that logs every file Node loads, and maps the files to packages with the list the
 * bundler writes (dist/chunks/packages.json).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, callThrough, createKey, startProcess } from '../helpers/process.js';

const ADMIN = 'test-admin-token-0123456789abcdef0123456789';
const OPTIONAL = ['pg', 'ioredis', 'nodemailer', 'openid-client', 'csv-parse', 'hyparquet'];
const DIST = dirname(CLI);
const packagesOf: Record<string, string[]> = JSON.parse(readFileSync(join(DIST, 'chunks', 'packages.json'), 'utf8'));

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'bursar-lazy-'));
  writeFileSync(join(dir, 'bursar.yaml'), 'departments: [{ id: support, cost_centre: SUPP }]\n');
  // Hooks run on their own thread; each file Node loads is appended to LOAD_LOG.
  writeFileSync(join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.LOAD_LOG, url + '\\n');
  return next(url, context);
}
`);
  writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the bundle', () => {
  it('holds each optional part in a chunk of its own', () => {
    const holders = (pkg: string) => Object.keys(packagesOf).filter((f) => packagesOf[f]!.includes(pkg));
    for (const pkg of OPTIONAL) {
      expect(holders(pkg).length, `${pkg} is in the bundle`).toBeGreaterThan(0);
      expect(holders(pkg), `${pkg} is not in the entry file`).not.toContain('bursar.mjs');
    }
  });

  it('an embedded start, and a call through it, load none of the optional parts', async () => {
    const log = join(dir, 'loaded.txt');
    writeFileSync(log, '');
    const p = await startProcess(dir, { BURSAR_ADMIN_TOKEN: ADMIN, LOAD_LOG: log }, ['--import', pathToFileURL(join(dir, 'register.mjs')).href]);
    try {
      const secret = await createKey(p.url, ADMIN, 'support', 'lazy');
      const res = await callThrough(p.url, secret, { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hello' }] });
      expect(res).toMatchObject({ status: 200 });
    } finally {
      p.child.kill('SIGTERM');
      await p.exited;
    }
    const files = readFileSync(log, 'utf8').split('\n').filter((u) => u.startsWith('file:')).map((u) => relative(DIST, fileURLToPath(u)));
    const bundled = files.filter((f) => f in packagesOf);
    // The log saw the bundle (the entry and the gateway's chunks), or it proves nothing.
    expect(bundled).toContain('bursar.mjs');
    const loaded = new Set(bundled.flatMap((f) => packagesOf[f]!));
    expect(loaded.has('undici') && loaded.has('fastify')).toBe(true);
    for (const pkg of OPTIONAL) expect(loaded.has(pkg), `${pkg} was loaded`).toBe(false);
  });
});
