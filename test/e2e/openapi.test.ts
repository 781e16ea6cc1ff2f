/**
 * The API's reference against the running app: every admin route is in the OpenAPI document
 * and every documented operation is a route (so a new route without docs fails here, saying
 * what to add), the document and its page are served without a token and offline, and the
 * roles the document names are the roles the routes let in.
 */
import type { RouteOptions } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API } from '../../src/admin/api-catalogue.js';
import { ADMIN_PREFIX } from '../../src/admin/openapi.js';
import { startTestBursar, type TestBursar } from '../helpers/bursar.js';

let t: TestBursar;
const routes: RouteOptions[] = [];

beforeAll(async () => {
  t = await startTestBursar({ onRoute: (r) => void routes.push(r) });
});
afterAll(() => t.close());

/** "GET /keys/:ref" for each method of each Fastify route under /admin/v1 (HEAD is Fastify's own). */
function registered(): Set<string> {
  const out = new Set<string>();
  for (const r of routes) {
    if (!r.url.startsWith(`${ADMIN_PREFIX}/`)) continue;
    for (const m of [r.method].flat()) if (m !== 'HEAD') out.add(`${m} ${r.url.slice(ADMIN_PREFIX.length)}`);
  }
  return out;
}

describe('the OpenAPI document and the routes', () => {
  it('documents every admin route', () => {
    const documented = new Set(ADMIN_API.map((o) => `${o.method} ${o.path}`));
    const missing = [...registered()].filter((r) => !documented.has(r));
    expect(missing, `Routes without an entry in src/admin/api-catalogue.ts: ${missing.join(', ')}. Add one for each: { method, path, tag, summary, roles, body or query (the zod schema the route validates with), returns, cli }.`).toEqual([]);
    expect(registered().size).toBeGreaterThan(70);
  });

  it('documents no route that is not there', () => {
    const live = registered();
    const stale = ADMIN_API.map((o) => `${o.method} ${o.path}`).filter((o) => !live.has(o));
    expect(stale, `src/admin/api-catalogue.ts documents routes that Bursar does not serve: ${stale.join(', ')}. Remove or correct them.`).toEqual([]);
  });

  it('serves the document without a token', async () => {
    const res = await fetch(`${t.url}${ADMIN_PREFIX}/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/v1/chat/completions', '/v1/messages', `${ADMIN_PREFIX}/keys/{ref}/rotate`]));
    // The rest of the admin API still wants one.
    expect((await fetch(`${t.url}${ADMIN_PREFIX}/keys`)).status).toBe(401);
  });

  it('serves the reference page with everything it loads, from this server only', async () => {
    const page = await fetch(`${t.url}/docs/api`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'self'.*script-src 'self'/);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBe(4);
    for (const a of assets) {
      expect(a.startsWith('/docs/api/'), a).toBe(true);
      const res = await fetch(`${t.url}${a}`);
      expect(res.status, a).toBe(200);
      expect((await res.arrayBuffer()).byteLength, a).toBeGreaterThan(100);
    }
    expect(await (await fetch(`${t.url}/docs/api/init.js`)).text()).toContain(`url: '${ADMIN_PREFIX}/openapi.json'`);
    const bundle = await fetch(`${t.url}/docs/api/swagger-ui-bundle.js`);
    expect(bundle.headers.get('content-type')).toMatch(/javascript/);
    expect((await fetch(`${t.url}/docs/api/..%2Fpackage.json`)).status).toBe(404);
    expect((await fetch(`${t.url}/docs/api/index.html`)).status).toBe(404);
  });

  it('refuses a member every operation the document does not grant a member', async () => {
    const member = await t.admin<{ secret: string }>('POST', '/tokens', { label: 'openapi-member', role: 'member', user: 'bob' });
    // Things the member can see (their own key, a budget that covers them), and valid bodies, so that
    // only the role can refuse them.
    await t.key({ label: 'openapi-bob', department: 'support', user: 'bob' });
    const budget = { id: 'openapi-b', name: 'Support', scope: { department: 'support' }, window: 'month', limit: { amount: '5.00', currency: 'USD' } };
    expect((await t.admin('POST', '/budgets', budget)).status).toBe(201);
    const bodies: Record<string, unknown> = {
      'POST /keys': { label: 'by-a-member', department: 'support', user: 'bob' },
      'POST /tokens': { label: 'by-a-member', role: 'admin' },
      'POST /budgets': { ...budget, id: 'by-a-member' },
      'PUT /budgets/:id': budget,
    };
    const closed = ADMIN_API.filter((o) => o.roles !== 'public' && !o.roles.includes('member'));
    expect(closed.length).toBeGreaterThan(30);
    const let_in: string[] = [];
    for (const o of closed) {
      const path = o.path.replace(':kind', 'workflow').replace(':ref', 'openapi-bob').replace(/^\/budgets\/:id/, '/budgets/openapi-b').replace(/:\w+/g, 'nope');
      const body = bodies[`${o.method} ${o.path}`] ?? {};
      const res = await fetch(`${t.url}${ADMIN_PREFIX}${path}`, {
        method: o.method,
        headers: { authorization: `Bearer ${member.body.secret}`, 'content-type': o.body === 'file' ? 'text/csv' : 'application/json' },
        ...(o.method === 'GET' ? {} : { body: o.body === 'file' ? '' : JSON.stringify(body) }),
      });
      if (res.status !== 403) let_in.push(`${o.method} ${o.path}: ${res.status} ${(await res.text()).slice(0, 160)}`);
    }
    expect(let_in, 'operations whose roles in src/admin/api-catalogue.ts exclude members, but that did not answer a member 403').toEqual([]);
    // The role is checked before the body: a badly formed request teaches a member nothing either.
    for (const path of ['/keys', '/tokens', '/budgets']) {
      const res = await fetch(`${t.url}${ADMIN_PREFIX}${path}`, { method: 'POST', headers: { authorization: `Bearer ${member.body.secret}`, 'content-type': 'application/json' }, body: '{}' });
      expect(`${path}: ${res.status}`).toBe(`${path}: 403`);
    }
  });
});
