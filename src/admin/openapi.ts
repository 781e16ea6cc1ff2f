/**
 * The OpenAPI 3.1 document of Bursar's HTTP API, built from a catalogue of operations
 * (api-catalogue.ts) rather than from the routes themselves, so that a routes file changes by
 * one line, not by a schema per route. Request bodies and query parameters are the zod schemas
 * the services validate with, turned into JSON Schema by zod 4 (`z.toJSONSchema`, input side:
 * defaults are optional for the caller). A test keeps the catalogue and Fastify's routes in step.
 */
import { z } from 'zod';
import type { Role } from '../access/records.js';
import { ENDPOINTS } from '../gateway/endpoints.js';

/** Who may call an operation: roles (what it returns is then cut to the caller's role), or anyone. */
export type Access = readonly Role[] | 'public';

/** What a success answers with. */
export type MediaType = 'json' | 'csv' | 'ndjson' | 'html' | 'none';

export interface ApiOperation {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The path as Fastify has it, under /admin/v1: `/keys/:ref`. */
  readonly path: string;
  readonly tag: string;
  readonly summary: string;
  /** More than the summary: defaults, what is refused, a docs/ page. */
  readonly description?: string;
  readonly roles: Access;
  /** The JSON body, or `file` for a file sent as it is (imports). */
  readonly body?: z.ZodType | 'file';
  readonly query?: z.ZodObject;
  readonly returns: { readonly status?: number; readonly description: string; readonly type?: MediaType };
  /** The `bursar` command that does the same (`keys list`), or null with the reason there is none. */
  readonly cli: string | { readonly none: string };
}

export const ADMIN_PREFIX = '/admin/v1';
const MEDIA: Record<Exclude<MediaType, 'none'>, string> = { json: 'application/json', csv: 'text/csv', ndjson: 'application/x-ndjson', html: 'text/html' };

/** A zod schema as JSON Schema for OpenAPI 3.1 (JSON Schema 2020-12), as a caller sends it. */
export function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _s, ...rest } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any', target: 'draft-2020-12' }) as Record<string, unknown>;
  return rest;
}

/** `/keys/:ref/rotate` as OpenAPI writes it: `/keys/{ref}/rotate`. */
export function openApiPath(fastifyPath: string): string {
  return fastifyPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

function parameters(op: ApiOperation): Record<string, unknown>[] {
  const path = [...op.path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
  if (!op.query) return path;
  const s = jsonSchema(op.query) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
  const query = Object.entries(s.properties ?? {}).map(([name, schema]) => {
    const { description, ...rest } = schema;
    return { name, in: 'query', required: s.required?.includes(name) ?? false, ...(description ? { description } : {}), schema: rest };
  });
  return [...path, ...query];
}

function requestBody(body: ApiOperation['body']): Record<string, unknown> | undefined {
  if (!body) return undefined;
  if (body === 'file') {
    return { required: true, description: 'The file as it is (CSV, JSON or Parquet bytes); the options are query parameters.', content: { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } } };
  }
  return { required: true, content: { 'application/json': { schema: jsonSchema(body) } } };
}

function success(op: ApiOperation): Record<string, unknown> {
  const type = op.returns.type ?? 'json';
  const status = op.returns.status ?? (type === 'none' ? 204 : 200);
  const content = type === 'none' ? {} : { content: { [MEDIA[type]]: { schema: type === 'json' || type === 'ndjson' ? { type: 'object' } : { type: 'string' } } } };
  return { [String(status)]: { description: op.returns.description, ...content } };
}

function describe(op: ApiOperation): string {
  const who = op.roles === 'public' ? 'Anyone, without a token.' : `Roles: ${op.roles.join(', ')}${op.roles.includes('manager') || op.roles.includes('member') ? ' (what it reads or changes is cut to the role: docs/api.md)' : ''}.`;
  const cli = typeof op.cli === 'string' ? `CLI: \`bursar ${op.cli}\`.` : `No CLI command: ${op.cli.none}`;
  return [op.description, who, cli].filter(Boolean).join('\n\n');
}

function adminOperation(op: ApiOperation): Record<string, unknown> {
  const params = parameters(op);
  const body = requestBody(op.body);
  return {
    operationId: `${op.method.toLowerCase()}${op.path.replace(/[:/-](\w)/g, (_m, c: string) => c.toUpperCase()).replace(/\W/g, '')}`,
    tags: [op.tag],
    summary: op.summary,
    description: describe(op),
    ...(op.roles === 'public' ? { security: [] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(body ? { requestBody: body } : {}),
    responses: { ...success(op), default: { $ref: '#/components/responses/Error' } },
    'x-bursar-roles': op.roles === 'public' ? [] : op.roles,
    ...(typeof op.cli === 'string' ? { 'x-bursar-cli': `bursar ${op.cli}` } : {}),
  };
}

/** The gateway's endpoints: by path, with a pointer to the provider's own reference for the shapes. */
function gatewayPaths(outcome: z.ZodType): Record<string, Record<string, unknown>> {
  const refs: Record<string, string> = {
    openai: 'https://platform.openai.com/docs/api-reference',
    anthropic: 'https://docs.anthropic.com/en/api/messages',
  };
  const call = (name: string, dialect: string) => ({
    post: {
      operationId: `gateway${name[0]!.toUpperCase()}${name.slice(1)}`,
      tags: ['gateway'],
      summary: `${dialect === 'openai' ? 'OpenAI' : 'Anthropic'} ${name}, governed by the key's budgets and routes`,
      description: `The body is the provider's own (${refs[dialect]}); Bursar reads the model, stream flag and output cap and passes the rest through. Response headers x-request-id, x-bursar-cost and the rest: docs/api.md#response-headers.`,
      security: [{ virtualKey: [] }, { anthropicKey: [] }],
      externalDocs: { url: refs[dialect]! },
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', description: `${dialect} request body` } } } },
      responses: { '200': { description: 'The provider\'s answer, or its SSE stream when stream is true', content: { 'application/json': { schema: { type: 'object' } }, 'text/event-stream': { schema: { type: 'string' } } } }, default: { $ref: '#/components/responses/Error' } },
    },
  });
  const paths: Record<string, Record<string, unknown>> = Object.fromEntries(Object.values(ENDPOINTS).map((e) => [`/v1${e.path}`, call(e.name, e.dialect)]));
  const models = (id: boolean) => ({
    get: {
      operationId: id ? 'gatewayModel' : 'gatewayModels',
      tags: ['gateway'],
      summary: id ? 'One model the key may use' : 'The models the key may use (Anthropic\'s list shape when the request carries anthropic-version)',
      security: [{ virtualKey: [] }, { anthropicKey: [] }],
      ...(id ? { parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }] } : {}),
      responses: { '200': { description: 'OpenAI or Anthropic model list shape', content: { 'application/json': { schema: { type: 'object' } } } }, default: { $ref: '#/components/responses/Error' } },
    },
  });
  paths['/v1/models'] = models(false);
  paths['/v1/models/{id}'] = models(true);
  paths['/v1/outcomes'] = {
    post: {
      operationId: 'gatewayOutcomes',
      tags: ['gateway'],
      summary: 'What a call or agent run produced, reported with the key that made it (docs/outcomes.md)',
      security: [{ virtualKey: [] }, { anthropicKey: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(outcome) } } },
      responses: { '201': { description: '{id, accepted, units, unit}', content: { 'application/json': { schema: { type: 'object' } } } }, default: { $ref: '#/components/responses/Error' } },
    },
  };
  return paths;
}

/** What the document is made of: the admin API's operations and their groups, and the outcome body of the gateway. */
export interface DocumentParts {
  readonly ops: readonly ApiOperation[];
  readonly tags: Readonly<Record<string, string>>;
  readonly outcome: z.ZodType;
}

/** The whole document: the admin API from its catalogue, the gateway from its endpoint table. */
export function openApiDocument({ ops, tags: described, outcome }: DocumentParts): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = gatewayPaths(outcome);
  for (const op of ops) {
    const p = `${ADMIN_PREFIX}${openApiPath(op.path)}`;
    paths[p] = { ...paths[p], [op.method.toLowerCase()]: adminOperation(op) };
  }
  const tags = [...new Set(['gateway', ...Object.keys(described), ...ops.map((o) => o.tag)])].map((name) => ({ name, ...(described[name] ? { description: described[name] } : {}) }));
  return {
    openapi: '3.1.0',
    info: {
      title: 'Bursar',
      version: 'v1',
      summary: 'The AI spend control plane: an OpenAI- and Anthropic-compatible gateway, and its admin API.',
      description: 'The gateway under /v1 takes a virtual key (bsk_...); the admin API under /admin/v1 takes an admin token (bat_...), and what it answers is cut to the token\'s role. Errors use the OpenAI error shape with a code (docs/errors.md).',
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    tags,
    security: [{ adminToken: [] }],
    paths,
    components: {
      securitySchemes: {
        adminToken: { type: 'http', scheme: 'bearer', description: 'An admin token, bat_... (`bursar tokens create`)' },
        virtualKey: { type: 'http', scheme: 'bearer', description: 'A virtual key, bsk_... (`bursar keys create`), as the OpenAI SDKs send it' },
        anthropicKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: 'A virtual key, as the Anthropic SDKs send it' },
      },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['message', 'code'],
              properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: 'string', description: 'One of docs/errors.md' }, details: { type: 'object' } },
            },
          },
        },
      },
      responses: { Error: { description: 'An error with a code (docs/errors.md)', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } } },
    },
  };
}
