/**
 * The gateway's HTTP surface under /v1, OpenAI- and Anthropic-shaped. Bodies are taken as raw
 * bytes whatever the content type (SDKs and curl differ), so the handler can forward them
 * untouched and answer bad JSON in the caller's dialect.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { BursarError, type Dialect } from '../core/errors.js';
import { authenticate } from './auth.js';
import type { ModelCatalog } from './catalog.js';
import { ENDPOINTS } from './endpoints.js';
import { anyGlob } from './globs.js';
import { sendError, type Gateway } from './handler.js';
import type { AccessIndex } from '../access/access-index.js';

export interface GatewayRoutesOptions {
  readonly gateway: Gateway;
  readonly catalog: ModelCatalog;
  readonly index: AccessIndex;
  readonly bodyLimit: number;
}

/** Requests from the Anthropic SDK carry anthropic-version; /v1/messages is Anthropic's path. */
export function dialectOf(req: FastifyRequest): Dialect {
  return req.url.startsWith('/v1/messages') || req.headers['anthropic-version'] !== undefined ? 'anthropic' : 'openai';
}

export async function gatewayRoutes(app: FastifyInstance, o: GatewayRoutesOptions): Promise<void> {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: o.bodyLimit }, (_req, body, done) => done(null, body));

  for (const ep of Object.values(ENDPOINTS)) {
    app.post(`/v1${ep.path}`, (req, reply) => o.gateway.handle(ep, req, reply));
  }

  const modelsFor = (req: FastifyRequest) => {
    const key = authenticate(req.headers, o.index, Date.now());
    const allowed = key.body.allowed_models;
    return o.catalog.list(Date.now()).filter((m) => !allowed || anyGlob(allowed, m.id, `${m.provider}/${m.id}`));
  };
  const shape = (m: { id: string; provider: string }, dialect: Dialect) =>
    dialect === 'anthropic'
      ? { type: 'model', id: m.id, display_name: m.id, created_at: '2024-01-01T00:00:00Z' }
      : { id: m.id, object: 'model', created: 0, owned_by: m.provider };

  app.get('/v1/models', async (req, reply) => {
    const dialect = dialectOf(req);
    const models = modelsFor(req).map((m) => shape(m, dialect));
    return reply.send(
      dialect === 'anthropic'
        ? { data: models, has_more: false, first_id: models[0]?.id ?? null, last_id: models.at(-1)?.id ?? null }
        : { object: 'list', data: models },
    );
  });
  app.get('/v1/models/*', async (req: FastifyRequest<{ Params: { '*': string } }>, reply) => {
    const dialect = dialectOf(req);
    const id = decodeURIComponent(req.params['*']);
    const m = modelsFor(req).find((x) => x.id === id || `${x.provider}/${x.id}` === id);
    if (!m) throw new BursarError('model_not_found', `Model "${id}" is not available to this key; list models with GET /v1/models.`);
    return reply.send(shape(m, dialect));
  });

  app.setNotFoundHandler((req, reply) =>
    sendError(reply, new BursarError('route_not_found', `No endpoint at ${req.method} ${req.url.split('?')[0]}. Bursar serves POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages and GET /v1/models; the admin API is under /admin/v1.`), dialectOf(req), null),
  );

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, req: FastifyRequest, reply: FastifyReply) => {
    const dialect = dialectOf(req);
    if (err instanceof BursarError) return sendError(reply, err, dialect, null);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendError(reply, new BursarError('body_too_large', `The request body is larger than ${Math.round(o.bodyLimit / 1048576)} MiB; send less, or raise server.body_limit_mb in bursar.yaml.`), dialect, null);
    }
    if (err.statusCode && err.statusCode < 500) {
      return sendError(reply, new BursarError('invalid_body', `The request could not be read: ${err.message}.`), dialect, null);
    }
    req.log.error({ err }, 'gateway error');
    return sendError(reply, new BursarError('internal_error', 'Bursar failed unexpectedly; the request id is in the logs.'), dialect, null);
  });
}
