/**
 * The admin API's budget routes: budgets (as code through the API), their status, overrides
 * and reserve releases and their approval, graduation of a sandbox, and budget events.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BursarError } from '../core/errors.js';
import type { Actor } from '../access/actor.js';
import type { BudgetService } from '../budgets/service.js';
import { OVERRIDE_KIND, RELEASE_KIND, type Budget } from '../budgets/model.js';
import type { RaiseKind } from '../budgets/raises.js';

const actorOf = (req: FastifyRequest): Actor => req.actor!;

function view(b: Budget): Record<string, unknown> {
  return { id: b.id, name: b.name, category: b.category, enforcement: b.hard ? 'hard' : 'soft', owner: b.owner, currency: b.currency, per: b.per, spec: b.spec };
}

export function registerBudgetRoutes(app: FastifyInstance, budgets: BudgetService): void {
  app.get('/budgets', async (req) => ({ data: (await budgets.list(actorOf(req))).map(view) }));
  app.post('/budgets', async (req, reply) => reply.code(201).send(view(await budgets.create(req.body, actorOf(req)))));
  app.get<{ Params: { id: string }; Querystring: { at?: string } }>('/budgets/:id', async (req) => {
    const at = req.query.at ? Date.parse(req.query.at) : Date.now();
    if (Number.isNaN(at)) throw new BursarError('validation_failed', 'at must be an ISO date-time.', { param: 'at' });
    return budgets.status(req.params.id, actorOf(req), at);
  });
  app.put<{ Params: { id: string } }>('/budgets/:id', async (req) => view(await budgets.update(req.params.id, req.body, actorOf(req))));
  app.delete<{ Params: { id: string } }>('/budgets/:id', async (req, reply) => {
    await budgets.remove(req.params.id, actorOf(req));
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string }; Body: { to?: string } }>('/budgets/:id/graduate', async (req) => {
    const to = req.body?.to;
    if (!to) throw new BursarError('validation_failed', 'to: name the production budget the work graduates into.', { param: 'to' });
    return budgets.graduate(req.params.id, to, actorOf(req));
  });

  // Overrides raise a budget's limit; reserve releases free its contingency reserve: one approval lifecycle (budgets/raises.ts).
  const paths = { [OVERRIDE_KIND]: 'overrides', [RELEASE_KIND]: 'reserve-releases' } as const;
  for (const [kind, path] of Object.entries(paths) as [RaiseKind, string][]) {
    app.post<{ Params: { id: string } }>(`/budgets/:id/${path}`, async (req, reply) => reply.code(201).send(await budgets.raises.request(kind, req.params.id, req.body, actorOf(req))));
    app.get<{ Querystring: { budget?: string } }>(`/${path}`, async (req) => ({ data: await budgets.raises.list(kind, actorOf(req), req.query.budget) }));
    for (const decision of ['approve', 'deny'] as const) {
      app.post<{ Params: { id: string }; Body: { note?: string } }>(`/${path}/:id/${decision}`, async (req) =>
        budgets.raises.decide(kind, req.params.id, decision, String(req.body?.note ?? '').slice(0, 1000), actorOf(req)),
      );
    }
  }

  app.get<{ Querystring: { budget?: string; since?: string } }>('/events', async (req) => {
    const since = req.query.since ? Date.parse(req.query.since) : undefined;
    return { data: await budgets.events(actorOf(req), req.query.budget, since) };
  });
}
