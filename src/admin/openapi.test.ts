import { validate, compileErrors } from '@readme/openapi-parser';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerApiCommands } from '../cli/commands.js';
import type { CliContext } from '../cli/client.js';
import { IMPORT_FORMATS } from '../billing/formats.js';
import { ENDPOINTS } from '../gateway/endpoints.js';
import { outcomeInput } from '../reports/outcomes.js';
import { ADMIN_API, API_TAGS } from './api-catalogue.js';
import { openApiDocument, openApiPath } from './openapi.js';

type Op = { operationId: string; security?: unknown[]; parameters?: { name: string; in: string; required: boolean; schema: Record<string, unknown> }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, unknown>; 'x-bursar-cli'?: string };
const doc = openApiDocument({ ops: ADMIN_API, tags: API_TAGS, outcome: outcomeInput }) as { openapi: string; paths: Record<string, Record<string, Op>> };
const op = (method: string, path: string): Op => doc.paths[path]![method]!;

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1', async () => {
    // The validator dereferences in place: give it a copy.
    const result = await validate(structuredClone(doc) as never);
    expect(result.valid, result.valid ? '' : compileErrors(result)).toBe(true);
    expect(doc.openapi).toBe('3.1.0');
  });

  it('describes each operation once, with a unique operationId', () => {
    const keys = ADMIN_API.map((o) => `${o.method} ${o.path}`);
    expect(keys.filter((k, i) => keys.indexOf(k) !== i)).toEqual([]);
    const ids = Object.values(doc.paths).flatMap((p) => Object.values(p).map((o) => o.operationId));
    expect(ids.filter((k, i) => ids.indexOf(k) !== i)).toEqual([]);
    expect(ADMIN_API.filter((o) => !API_TAGS[o.tag]).map((o) => `${o.method} ${o.path}: tag ${o.tag}`), 'give each tag a line in API_TAGS').toEqual([]);
  });

  it('takes bodies and queries from the zod schemas the services validate with', () => {
    const key = op('post', '/admin/v1/keys').requestBody!.content['application/json']!.schema as { required: string[]; properties: Record<string, { maxLength?: number; enum?: string[] }>; additionalProperties: boolean };
    expect(key.required).toEqual(['label']);
    expect(key.properties.label!.maxLength).toBe(128);
    expect(key.additionalProperties).toBe(false);
    const format = op('post', '/admin/v1/imports').parameters!.find((p) => p.name === 'format')!;
    expect(format).toMatchObject({ in: 'query', required: true, schema: { enum: [...IMPORT_FORMATS] } });
    // A default makes a field optional for the caller (zod's input side).
    expect(op('get', '/admin/v1/reports/scenarios').parameters!.find((p) => p.name === 'months')).toMatchObject({ required: false, schema: { default: 12, minimum: 1, maximum: 36 } });
    expect(op('post', '/admin/v1/imports').requestBody!.content).toHaveProperty(['application/octet-stream']);
  });

  it('names path parameters, and the document itself needs no token', () => {
    expect(openApiPath('/keys/:ref/rotate')).toBe('/keys/{ref}/rotate');
    expect(op('post', '/admin/v1/keys/{ref}/rotate').parameters![0]).toMatchObject({ name: 'ref', in: 'path', required: true });
    expect(op('get', '/admin/v1/openapi.json').security).toEqual([]);
    expect(op('get', '/admin/v1/keys').security).toBeUndefined();
    expect(op('delete', '/admin/v1/routes/{id}').responses).toHaveProperty(['204']);
  });

  it('lists every gateway endpoint by path', () => {
    for (const e of Object.values(ENDPOINTS)) expect(doc.paths, e.path).toHaveProperty([`/v1${e.path}`, 'post']);
    expect(doc.paths).toHaveProperty(['/v1/models', 'get']);
    expect(op('post', '/v1/outcomes').requestBody!.content['application/json']!.schema).toHaveProperty(['properties', 'accepted']);
  });
});

describe('the CLI beside the API', () => {
  const program = new Command('bursar');
  registerApiCommands(program, {} as CliContext);
  const find = (words: string[]): Command | undefined =>
    words.reduce<Command | undefined>((c, w) => c?.commands.find((s) => s.name() === w), program);

  it.each(ADMIN_API.filter((o) => typeof o.cli === 'string').map((o) => [`${o.method} ${o.path}`, o.cli as string]))('%s is `bursar %s`', (_op, cli) => {
    expect(find(cli.split(' ')), `the catalogue names \`bursar ${cli}\`, which the CLI does not have`).toBeDefined();
  });

  it('shows each command in the document', () => {
    expect(op('get', '/admin/v1/audit')['x-bursar-cli']).toBe('bursar audit list');
  });
});
