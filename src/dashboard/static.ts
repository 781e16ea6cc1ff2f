/**
 * Serves the dashboard's built page (dist/public, made by `npm run build` from dashboard/) at the root of
 * Bursar's port. The page is a single HTML file with hashed assets; it routes by the URL's hash,
 * so every view is served by the one index.html.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/** Where the built page is: beside the bundle (dist/bursar.mjs), above its chunks (dist/chunks/) or the compiled module (dist/dashboard/), or the source (src/dashboard/). */
export function dashboardDir(): string | null {
  for (const rel of ['./public/', '../public/', '../../dist/public/']) {
    const dir = fileURLToPath(new URL(rel, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return null;
}

export async function serveDashboard(app: FastifyInstance): Promise<void> {
  const dir = dashboardDir();
  if (!dir) {
    app.get('/', async (_req, reply) => reply.type('text/plain; charset=utf-8').code(503).send('The dashboard is not built: run `npm run build`. The admin API is under /admin/v1.\n'));
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    wildcard: false,
    // Hashed assets never change; the page itself is always revalidated.
    setHeaders: (res, path) => res.header('cache-control', path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache'),
  });
}
