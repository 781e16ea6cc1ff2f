/**
 * The gateway's routes under /v1, OpenAI- and Anthropic-shaped, on node:http. `route` answers
 * a request it owns and returns true; anything else (the admin API, /metrics) is left to Fastify.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { asBursarError, BursarError, type Dialect } from '../core/errors.js';
import type { AccessIndex } from '../access/access-index.js';
import { authenticate } from './auth.js';
import type { ModelCatalog } from './catalog.js';
import { ENDPOINTS, type Endpoint } from './endpoints.js';
import { anyGlob } from './globs.js';
import type { Gateway } from './handler.js';
import { dialectOf, readBody, sendBody, sendError } from './http.js';
import { OUTCOME_HEADER, outcomeFromHeader, type OutcomeService } from '../reports/outcomes.js';
import { decimalText } from '../core/money.js';

export interface GatewayRoutesOptions {
  readonly gateway: Gateway;
  readonly catalog: ModelCatalog;
  readonly index: AccessIndex;
  readonly outcomes: OutcomeService;
  readonly bodyLimit: number;
  /** True once Bursar is stopping: new calls are told so. */
  readonly stopping: () => boolean;
}

const BY_PATH: ReadonlyMap<string, Endpoint> = new Map(Object.values(ENDPOINTS).map((e) => [`/v1${e.path}`, e]));

export type GatewayRouter = (req: IncomingMessage, res: ServerResponse) => boolean;

export function gatewayRouter(o: GatewayRoutesOptions): GatewayRouter {
  return (req, res) => {
    const url = req.url ?? '';
    if (!url.startsWith('/v1/') && url !== '/v1') return false;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const dialect = dialectOf(path, req.headers);
    if (o.stopping()) {
      sendError(res, new BursarError('service_stopping', 'Bursar is shutting down; retry the call (another replica, or this one once restarted).'), dialect, null);
      return true;
    }
    const ep = req.method === 'POST' ? BY_PATH.get(path) : undefined;
    const fail = (err: unknown): void => sendError(res, asBursarError(err), dialect, null);
    if (ep) {
      const header = req.headers[OUTCOME_HEADER];
      if (typeof header === 'string') outcomeThenCall(o, ep, req, res, header).catch(fail);
      else void o.gateway.handle(ep, req, res);
      return true;
    }
    if (req.method === 'POST' && path === '/v1/outcomes') reportOutcome(o, req, res).catch(fail);
    else if (req.method === 'GET' && path === '/v1/models') listModels(o, req, res, dialect).catch(fail);
    else if (req.method === 'GET' && path.startsWith('/v1/models/')) getModel(o, req, res, dialect, decodeURIComponent(path.slice('/v1/models/'.length))).catch(fail);
    else fail(notFound(req.method ?? 'GET', path));
    return true;
  };
}

/** What a call or run produced, reported with the key that made it. */
async function reportOutcome(o: GatewayRoutesOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const key = await authenticate(req.headers, o.index, Date.now());
  const raw = await readBody(req, o.bodyLimit);
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    throw new BursarError('invalid_json', 'The outcome is not valid JSON; send { "request_id": "...", "accepted": true }.');
  }
  const outcome = await o.outcomes.report(key, req, body);
  sendBody(res, 201, { 'content-type': 'application/json' }, JSON.stringify({ id: outcome.id, accepted: outcome.accepted, units: decimalText(outcome.unitsNano), unit: outcome.unit }));
}

/**
 * A call that reports an earlier call's (or run's) outcome in its header: the outcome is recorded
 * first, and a report that cannot be recorded refuses the call before anything is spent, so that
 * a wrong request id does not pass unnoticed.
 */
async function outcomeThenCall(o: GatewayRoutesOptions, ep: Endpoint, req: IncomingMessage, res: ServerResponse, header: string): Promise<void> {
  const key = await authenticate(req.headers, o.index, Date.now());
  const outcome = await o.outcomes.report(key, req, outcomeFromHeader(header));
  res.setHeader('x-bursar-outcome-recorded', outcome.id);
  await o.gateway.handle(ep, req, res);
}

function notFound(method: string, path: string): BursarError {
  return new BursarError('route_not_found', `No endpoint at ${method} ${path}. Bursar serves POST /v1/chat/completions, /v1/responses, /v1/embeddings, /v1/messages, /v1/outcomes and GET /v1/models; the admin API is under /admin/v1.`);
}

async function modelsFor(o: GatewayRoutesOptions, req: IncomingMessage) {
  const key = await authenticate(req.headers, o.index, Date.now());
  const allowed = key.body.allowed_models;
  return o.catalog.list(Date.now()).filter((m) => !allowed || anyGlob(allowed, m.id, `${m.provider}/${m.id}`));
}

function shape(m: { id: string; provider: string }, dialect: Dialect): Record<string, unknown> {
  return dialect === 'anthropic'
    ? { type: 'model', id: m.id, display_name: m.id, created_at: '2024-01-01T00:00:00Z' }
    : { id: m.id, object: 'model', created: 0, owned_by: m.provider };
}

async function listModels(o: GatewayRoutesOptions, req: IncomingMessage, res: ServerResponse, dialect: Dialect): Promise<void> {
  const models = (await modelsFor(o, req)).map((m) => shape(m, dialect));
  const body = dialect === 'anthropic'
    ? { data: models, has_more: false, first_id: models[0]?.id ?? null, last_id: models.at(-1)?.id ?? null }
    : { object: 'list', data: models };
  sendBody(res, 200, { 'content-type': 'application/json' }, JSON.stringify(body));
}

async function getModel(o: GatewayRoutesOptions, req: IncomingMessage, res: ServerResponse, dialect: Dialect, id: string): Promise<void> {
  const m = (await modelsFor(o, req)).find((x) => x.id === id || `${x.provider}/${x.id}` === id);
  if (!m) throw new BursarError('model_not_found', `Model "${id}" is not available to this key; list models with GET /v1/models.`);
  sendBody(res, 200, { 'content-type': 'application/json' }, JSON.stringify(shape(m, dialect)));
}
