/**
 * The admin API's planning routes: quarterly envelopes (as code, through the API too) with
 * their reallocations and report, and the monthly review record (docs/planning.md).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Actor } from '../access/actor.js';
import type { EnvelopeService } from '../planning/envelopes.js';
import type { ReviewService } from '../planning/reviews.js';

const actorOf = (req: FastifyRequest): Actor => req.actor!;

export function registerPlanningRoutes(app: FastifyInstance, d: { readonly envelopes: EnvelopeService; readonly reviews: ReviewService }): void {
  const envelopes = d.envelopes;
  app.get<{ Querystring: { quarter?: string; department?: string } }>('/envelopes', async (req) => ({ data: await envelopes.list(actorOf(req), req.query) }));
  app.get<{ Params: { id: string } }>('/envelopes/:id', async (req) => envelopes.report(req.params.id, actorOf(req)));
  app.post('/envelopes', async (req, reply) => reply.code(201).send(await envelopes.records.create(req.body, actorOf(req))));
  app.put<{ Params: { id: string } }>('/envelopes/:id', async (req) => envelopes.records.update(req.params.id, req.body, actorOf(req)));
  app.delete<{ Params: { id: string } }>('/envelopes/:id', async (req, reply) => {
    await envelopes.records.remove(req.params.id, actorOf(req));
    return reply.code(204).send();
  });
  app.post<{ Params: { id: string } }>('/envelopes/:id/reallocations', async (req, reply) => reply.code(201).send(await envelopes.reallocate(req.params.id, req.body, actorOf(req))));

  const reviews = d.reviews;
  app.get<{ Querystring: Record<string, string> }>('/reviews', async (req) => ({ data: await reviews.list(actorOf(req), req.query) }));
  app.get<{ Params: { id: string } }>('/reviews/:id', async (req) => reviews.get(req.params.id, actorOf(req)));
  app.post('/reviews', async (req, reply) => reply.code(201).send(await reviews.create(req.body, actorOf(req))));
  app.patch<{ Params: { id: string } }>('/reviews/:id', async (req) => reviews.update(req.params.id, req.body, actorOf(req)));
}
