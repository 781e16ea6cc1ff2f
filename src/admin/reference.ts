/**
 * The API's reference: the OpenAPI document at /admin/v1/openapi.json and a page that renders
 * it at /docs/api, both without a token (they hold no data, only the API's shape).
 *
 * The page is Swagger UI, served from the swagger-ui-dist package: a prebuilt bundle with no
 * dependencies of its own, released by SmartBear every few weeks, that renders OpenAPI 3.1 and
 * lets an admin try a call with their token. It works offline: every byte comes from this
 * server (the content-security-policy says so), and the online validator badge is off.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BursarError } from '../core/errors.js';
import { outcomeInput } from '../reports/outcomes.js';
import { ADMIN_API, API_TAGS } from './api-catalogue.js';
import { ADMIN_PREFIX, openApiDocument } from './openapi.js';

export const REFERENCE_PATH = '/docs/api';

/** The renderer's files this page uses, and their types. */
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
  'swagger-ui.css': 'text/css; charset=utf-8',
  'favicon-32x32.png': 'image/png',
};

const INIT = `window.ui = SwaggerUIBundle({
  url: '${ADMIN_PREFIX}/openapi.json',
  dom_id: '#reference',
  validatorUrl: null,
  deepLinking: true,
  docExpansion: 'list',
  filter: true,
  tryItOutEnabled: false,
});
`;

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Bursar API reference</title>
  <link rel="icon" type="image/png" href="${REFERENCE_PATH}/favicon-32x32.png">
  <link rel="stylesheet" href="${REFERENCE_PATH}/swagger-ui.css">
</head>
<body>
  <div id="reference"></div>
  <script src="${REFERENCE_PATH}/swagger-ui-bundle.js"></script>
  <script src="${REFERENCE_PATH}/init.js"></script>
</body>
</html>
`;

/** Nothing the page loads may come from elsewhere; Swagger UI sets inline styles and data: images. */
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

/** Where swagger-ui-dist is installed; null when it is not. */
function rendererDir(): string | null {
  try {
    return dirname(createRequire(import.meta.url).resolve('swagger-ui-dist/package.json'));
  } catch {
    return null;
  }
}

/** The document and the page, as a Fastify plugin (registered outside the admin API's token check). */
export async function apiReference(app: FastifyInstance): Promise<void> {
  const document = JSON.stringify(openApiDocument({ ops: ADMIN_API, tags: API_TAGS, outcome: outcomeInput }));
  const dir = rendererDir();
  const files = new Map<string, Promise<Buffer>>();

  app.get(`${ADMIN_PREFIX}/openapi.json`, async (_req, reply) => reply.header('content-type', 'application/json; charset=utf-8').header('access-control-allow-origin', '*').send(document));
  app.get(REFERENCE_PATH, async (_req, reply) => reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', CSP).send(PAGE));
  app.get(`${REFERENCE_PATH}/init.js`, async (_req, reply) => reply.header('content-type', 'text/javascript; charset=utf-8').send(INIT));
  app.get<{ Params: { file: string } }>(`${REFERENCE_PATH}/:file`, async (req, reply) => {
    const type = ASSETS[req.params.file];
    if (!type) throw new BursarError('route_not_found', `No file "${req.params.file}" here; the reference page is ${REFERENCE_PATH}.`);
    if (!dir) throw new BursarError('internal_error', `The reference page needs the swagger-ui-dist package; run \`npm ci\` where Bursar is installed. The document itself is at ${ADMIN_PREFIX}/openapi.json.`);
    let file = files.get(req.params.file);
    if (!file) {
      file = readFile(join(dir, req.params.file));
      files.set(req.params.file, file);
      file.catch(() => files.delete(req.params.file));
    }
    return reply.header('content-type', type).header('cache-control', 'public, max-age=86400').send(await file);
  });
}
