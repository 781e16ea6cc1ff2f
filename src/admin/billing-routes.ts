/**
 * The admin API's billing routes: imports of cost files. A file is the request body as it is
 * (CSV, JSON or Parquet bytes: JSON is not parsed on the way in, so its numbers stay exact);
 * the options are query parameters. With `accept: application/x-ndjson` the answer is a stream
 * of progress lines ending with the summary, which the CLI draws as a progress bar.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { asBursarError, errorBody } from '../core/errors.js';
import type { Actor } from '../access/actor.js';
import type { ImportService } from '../billing/imports.js';

/** The largest file an import takes. */
export const IMPORT_BODY_LIMIT = 1024 * 1024 * 1024;

const actorOf = (req: FastifyRequest): Actor => req.actor!;

/** Query parameters as import options: `map=proj_a=campaign-ai,proj_b=support-bot`. */
function optionsOf(q: Record<string, string | undefined>): Record<string, unknown> {
  const { map, progress: _p, ...rest } = q;
  const pairs = (map ?? '').split(',').filter(Boolean).map((p) => p.split('='));
  return { ...rest, ...(map !== undefined ? { map: Object.fromEntries(pairs.map(([k = '', v = '']) => [k.trim(), v.trim()])) } : {}) };
}

export async function billingRoutes(app: FastifyInstance, d: { readonly imports: ImportService }): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: IMPORT_BODY_LIMIT }, (_req, body, done) => done(null, body));

  app.post<{ Querystring: Record<string, string | undefined> }>('/imports', { bodyLimit: IMPORT_BODY_LIMIT }, async (req, reply) => {
    const file = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    const options = optionsOf(req.query);
    if (!String(req.headers.accept ?? '').includes('application/x-ndjson')) {
      const summary = await d.imports.run(file, options, actorOf(req));
      return reply.code(summary.repeated ? 200 : 201).send(summary);
    }
    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'application/x-ndjson' });
    try {
      const summary = await d.imports.run(file, options, actorOf(req), (p) => out.write(`${JSON.stringify({ progress: p })}\n`));
      out.end(`${JSON.stringify({ done: summary })}\n`);
    } catch (err) {
      out.end(`${JSON.stringify(errorBody(asBursarError(err), 'openai'))}\n`);
    }
  });
  app.get('/imports', async (req) => ({ data: await d.imports.list(actorOf(req)) }));
  app.get<{ Params: { id: string } }>('/imports/:id', async (req) => d.imports.get(req.params.id, actorOf(req)));
}
