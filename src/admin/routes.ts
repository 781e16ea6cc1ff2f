/**
 * The admin API under /admin/v1: keys, admin tokens, suspensions, usage, ledger lines, the
 * audit log and the org tree. Every route needs an admin token; what it returns is cut to
 * the token's role (a manager sees their department, a member their own usage).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ChainVerifier } from '../core/audit.js';
import { BursarError } from '../core/errors.js';
import type { LedgerLine } from '../core/ledger.js';
import { decimalText } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { ConfigStore, LedgerStore } from '../core/ports.js';
import type { Router } from '../routing/router.js';
import type { RouteSpec } from '../routing/model.js';
import type { WorkflowSpec } from '../routing/register.js';
import type { ManagedRecords } from '../config/managed.js';
import type { PriceBook } from '../core/pricing.js';
import { canSee, assertRole, type Actor } from '../access/actor.js';
import { createKeyInput, type KeyService } from '../access/key-service.js';
import { SUSPENDABLE, type Suspendable } from '../access/records.js';
import type { SuspensionService } from '../access/suspensions.js';
import { createTokenInput, type TokenService } from '../access/token-service.js';
import { adminErrorHandler, validate } from './errors.js';
import { authenticate } from '../dashboard/session.js';
import { savingsReport } from '../reports/savings.js';
import { unitEconomics } from '../reports/outcomes.js';
import { concentration, unusedSeats } from '../reports/insight.js';
import { anomalies, type AnomalySettings } from '../reports/anomaly-report.js';
import { scenarios } from '../reports/scenarios.js';
import { overview } from '../reports/overview.js';
import { agentsReport } from '../reports/agents.js';
import { corridorReport, type Corridor } from '../reports/corridors.js';
import type { FxTable } from '../core/fx.js';
import { usageCsv, usageReport } from '../reports/usage.js';
import type { BudgetService } from '../budgets/service.js';
import { registerBudgetRoutes } from './budget-routes.js';
import { registerPlanningRoutes } from './planning-routes.js';
import type { EnvelopeService } from '../planning/envelopes.js';
import type { ReviewService } from '../planning/reviews.js';
import type { RouteExceptions } from '../routing/exceptions.js';
import type { ImportService } from '../billing/imports.js';
import type { ReconciliationService } from '../billing/reconcile.js';
import type { Notifier } from '../alerts/notifier.js';
import type { Digest } from '../alerts/digest.js';
import { billingRoutes, registerAllocationRoutes } from './billing-routes.js';
import type { AllocationService } from '../billing/runs.js';
import type { AllocationRule } from '../billing/rules.js';

export interface AdminDeps {
  readonly keys: KeyService;
  readonly tokens: TokenService;
  readonly suspensions: SuspensionService;
  readonly budgets: BudgetService;
  readonly ledger: LedgerStore;
  readonly config: ConfigStore;
  readonly org: OrgTree;
  readonly prices: PriceBook;
  readonly router: Router;
  readonly routes: ManagedRecords<RouteSpec>;
  readonly workflows: ManagedRecords<WorkflowSpec>;
  readonly exceptions: RouteExceptions;
  readonly imports: ImportService;
  readonly reconciliations: ReconciliationService;
  readonly notifier: Notifier;
  readonly digest: Digest;
  readonly corridors: readonly Corridor[];
  readonly envelopes: EnvelopeService;
  readonly reviews: ReviewService;
  readonly anomalies: AnomalySettings;
  readonly fx: FxTable;
  readonly allocations: AllocationService;
  readonly allocationRules: ManagedRecords<AllocationRule>;
  /** The organisation's name (the FOCUS export's billing account). */
  readonly organisation: string;
  /** The organisation's reporting currency. */
  readonly orgCurrency: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    actor: Actor | null;
  }
}

const actorOf = (req: FastifyRequest): Actor => req.actor!;
const reason = (body: unknown): string => {
  const r = (body as { reason?: unknown } | null)?.reason;
  return typeof r === 'string' ? r.slice(0, 500) : '';
};

/** A ledger line as JSON: amounts as exact decimal strings. */
export function lineView(l: LedgerLine): Record<string, unknown> {
  return { ...l, costNano: l.costNano.toString(), cost: decimalText(l.costNano) };
}

export async function adminRoutes(app: FastifyInstance, d: AdminDeps): Promise<void> {
  app.decorateRequest('actor', null);
  app.addHook('onRequest', async (req) => {
    req.actor = await authenticate(req, d.tokens);
  });
  app.setErrorHandler(adminErrorHandler);

  app.get('/whoami', async (req) => actorOf(req));

  // ------------------------------------------------------------ keys
  app.get('/keys', async (req) => ({ data: await d.keys.list(actorOf(req)) }));
  app.post('/keys', async (req, reply) => {
    // The role first: a member learns nothing from a badly formed request.
    assertRole(actorOf(req), ['admin', 'manager'], 'create keys');
    const created = await d.keys.create(validate(createKeyInput, req.body), actorOf(req));
    return reply.code(201).send({ ...created.key, secret: created.secret, note: 'The secret is shown once; store it now.' });
  });
  app.get<{ Params: { ref: string } }>('/keys/:ref', async (req) => {
    const k = await d.keys.get(req.params.ref, actorOf(req));
    const { hash: _h, previous, ...rest } = k.body;
    return { id: k.id, ...rest, previous_valid_until: previous?.until ?? null };
  });
  app.post<{ Params: { ref: string }; Body: { grace_seconds?: number } }>('/keys/:ref/rotate', async (req) => {
    const grace = Number(req.body?.grace_seconds ?? 0);
    if (!Number.isInteger(grace) || grace < 0 || grace > 30 * 86400) throw new BursarError('validation_failed', 'grace_seconds must be a whole number of seconds between 0 and 2592000 (30 days).', { param: 'grace_seconds' });
    const r = await d.keys.rotate(req.params.ref, grace, actorOf(req));
    return { ...r.key, secret: r.secret, note: 'The secret is shown once; store it now.' };
  });
  for (const action of ['revoke', 'suspend', 'resume'] as const) {
    app.post<{ Params: { ref: string } }>(`/keys/:ref/${action}`, async (req) => d.keys[action](req.params.ref, reason(req.body), actorOf(req)));
  }

  // ------------------------------------------------------------ admin tokens
  app.get('/tokens', async (req) => ({ data: await d.tokens.list(actorOf(req)) }));
  app.post('/tokens', async (req, reply) => {
    assertRole(actorOf(req), ['admin'], 'issue admin tokens');
    const r = await d.tokens.create(validate(createTokenInput, req.body), actorOf(req));
    return reply.code(201).send({ ...r.token, secret: r.secret, note: 'The secret is shown once; store it now.' });
  });
  app.post<{ Params: { id: string } }>('/tokens/:id/revoke', async (req) => d.tokens.revoke(req.params.id, actorOf(req)));

  // ------------------------------------------------------------ suspensions (workflows, agents)
  const suspendable = (kind: string): Suspendable => {
    if (!(SUSPENDABLE as readonly string[]).includes(kind)) throw new BursarError('validation_failed', `Only ${SUSPENDABLE.join(' and ')} can be suspended here (keys: POST /admin/v1/keys/:ref/suspend).`, { param: 'kind' });
    return kind as Suspendable;
  };
  app.get('/suspensions', async () => ({ data: await d.suspensions.list() }));
  app.post<{ Params: { kind: string; name: string } }>('/suspensions/:kind/:name', async (req, reply) => {
    const s = await d.suspensions.suspend(suspendable(req.params.kind), req.params.name, reason(req.body), actorOf(req));
    return reply.code(201).send(s);
  });
  app.delete<{ Params: { kind: string; name: string } }>('/suspensions/:kind/:name', async (req, reply) => {
    await d.suspensions.resume(suspendable(req.params.kind), req.params.name, reason(req.body), actorOf(req));
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ usage and ledger
  app.get('/usage', async (req, reply) => {
    const query = req.query as Record<string, unknown>;
    const report = await usageReport(d.ledger, query, actorOf(req), d.orgCurrency);
    if (query.format === 'csv') return reply.header('content-type', 'text/csv; charset=utf-8').send(usageCsv(report));
    return report;
  });
  // ------------------------------------------------------------ the use-case register
  app.get('/workflows', async () => ({ data: (await d.workflows.list()).map((m) => ({ ...m.spec, managed_by: m.managed_by })) }));
  app.get<{ Params: { id: string } }>('/workflows/:id', async (req) => {
    // Who owns it, who approved it, what data it touches, what it costs, and the budgets that cap it.
    const actor = actorOf(req);
    const m = await d.workflows.get(req.params.id);
    const spend = await usageReport(d.ledger, { group_by: 'workflow', workflow: m.spec.id }, actor);
    const budgets = (await d.budgets.list(actor)).filter((b) => {
      const s = b.spec.scope.workflow;
      return s === m.spec.id || (Array.isArray(s) && s.includes(m.spec.id));
    });
    return {
      ...m.spec, managed_by: m.managed_by,
      spend_this_month: spend.totals.map((t) => ({ currency: t.currency, amount: t.cost, requests: t.requests })),
      budgets: budgets.map((b) => ({ id: b.id, name: b.name, owner: b.owner, enforcement: b.hard ? 'hard' : 'soft' })),
    };
  });
  app.post('/workflows', async (req, reply) => reply.code(201).send(await d.workflows.create(req.body, actorOf(req))));
  app.put<{ Params: { id: string } }>('/workflows/:id', async (req) => d.workflows.update(req.params.id, req.body, actorOf(req)));
  app.delete<{ Params: { id: string } }>('/workflows/:id', async (req, reply) => {
    await d.workflows.remove(req.params.id, actorOf(req));
    return reply.code(204).send();
  });

  // ------------------------------------------------------------ route exceptions (routes with exceptions: approval)
  app.post('/exceptions', async (req, reply) => reply.code(201).send(await d.exceptions.request(req.body, actorOf(req))));
  app.get<{ Querystring: { route?: string } }>('/exceptions', async (req) => ({ data: await d.exceptions.list(actorOf(req), req.query.route) }));
  for (const decision of ['approve', 'deny'] as const) {
    app.post<{ Params: { id: string }; Body: { note?: string } }>(`/exceptions/:id/${decision}`, async (req) =>
      d.exceptions.decide(req.params.id, decision, String(req.body?.note ?? '').slice(0, 1000), actorOf(req)),
    );
  }

  app.get('/reports/corridors', async (req) => ({ data: await corridorReport({ ledger: d.ledger, store: d.config, fx: d.fx, orgCurrency: d.orgCurrency, corridors: d.corridors }, req.query as Record<string, unknown>, actorOf(req)) }));
  app.get('/reports/agents', async (req) => agentsReport(d.ledger, req.query as Record<string, unknown>, actorOf(req), d.orgCurrency));
  app.get('/reports/overview', async (req) => overview(d.ledger, d.budgets, actorOf(req), d.orgCurrency));
  app.get('/reports/scenarios', async (req) => ({ data: await scenarios(d.ledger, req.query as Record<string, unknown>, actorOf(req)) }));
  app.get('/reports/anomalies', async (req) => ({ data: await anomalies(d.ledger, req.query as Record<string, unknown>, actorOf(req), d.anomalies) }));
  app.get('/reports/concentration', async (req) => ({ data: await concentration(d.ledger, req.query as Record<string, unknown>, actorOf(req)) }));
  app.get('/reports/unused-seats', async (req) => ({ data: await unusedSeats(d.ledger, req.query as Record<string, unknown>, actorOf(req)) }));
  app.get('/reports/unit-economics', async (req) => unitEconomics(d.ledger, req.query as Record<string, unknown>, actorOf(req)));
  app.get('/reports/savings', async (req) => savingsReport(d.ledger, req.query as Record<string, unknown>, actorOf(req), d.orgCurrency));
  app.get<{ Params: { id: string } }>('/ledger/:id', async (req) => {
    const line = await d.ledger.get(req.params.id);
    if (!line || !canSee(actorOf(req), line.dims.department, line.dims.user)) throw new BursarError('not_found', `No ledger line "${req.params.id}" that you can see.`);
    return lineView(line);
  });

  // ------------------------------------------------------------ audit log
  app.get<{ Querystring: { after?: string; limit?: string; target?: string } }>('/audit', async (req) => {
    assertRole(actorOf(req), ['admin', 'finance'], 'read the audit log');
    const q = req.query;
    const limit = Math.min(Number(q.limit ?? 100) || 100, 1000);
    const entries = await d.config.audit({ afterSeq: Number(q.after ?? 0) || 0, limit, ...(q.target ? { target: q.target } : {}) });
    return { data: entries, next_after: entries.at(-1)?.seq ?? null };
  });
  app.get('/audit/verify', async (req) => {
    assertRole(actorOf(req), ['admin', 'finance'], 'verify the audit log');
    const v = new ChainVerifier();
    for (let after = 0; ; ) {
      const page = await d.config.audit({ afterSeq: after, limit: 1000 });
      for (const e of page) if (!v.push(e)) return v.result();
      if (page.length < 1000) return v.result();
      after = page.at(-1)!.seq;
    }
  });

  registerBudgetRoutes(app, d.budgets);
  registerPlanningRoutes(app, { envelopes: d.envelopes, reviews: d.reviews });
  // Notifications: every delivery of every alert, and a way to send a dead one again.
  app.get<{ Querystring: { status?: string } }>('/alerts/deliveries', async (req) => {
    assertRole(actorOf(req), ['admin', 'finance'], 'read notification deliveries');
    return { data: await d.notifier.deliveries(req.query.status) };
  });
  // The weekly digest: a preview for one owner, or sent to every owner now.
  app.get<{ Querystring: { user?: string } }>('/alerts/digest', async (req) => {
    assertRole(actorOf(req), ['admin', 'finance'], 'read the weekly digest');
    const owners = d.digest.owners();
    const user = req.query.user ?? [...owners.keys()][0];
    if (!user || !owners.has(user)) throw new BursarError('not_found', `No budget is owned or managed by "${req.query.user ?? ''}"; owners: ${[...owners.keys()].join(', ') || 'none'}.`, { param: 'user' });
    return { user, text: await d.digest.compose(user, owners.get(user)!) };
  });
  app.post('/alerts/digest', async (req, reply) => {
    assertRole(actorOf(req), ['admin', 'finance'], 'send the weekly digest');
    return reply.code(202).send({ queued: await d.digest.send(Date.now(), true) });
  });
  app.post<{ Params: { id: string } }>('/alerts/deliveries/:id/retry', async (req) => d.notifier.retry(req.params.id, actorOf(req)));
  registerAllocationRoutes(app, { allocations: d.allocations, rules: d.allocationRules, ledger: d.ledger, focus: { org: d.org, organisation: d.organisation, orgCurrency: d.orgCurrency } });
  // Imports take files as they are: in their own scope, with their own body parsing.
  await app.register(billingRoutes, { imports: d.imports, reconciliations: d.reconciliations });

  // ------------------------------------------------------------ org and prices
  // The tree is everyone's to read; people's email addresses only admins' and finance's.
  app.get('/org', async (req) => {
    const emails = ['admin', 'finance'].includes(actorOf(req).role);
    return {
      departments: [...d.org.departments.values()],
      teams: [...d.org.teams.values()],
      projects: [...d.org.projects.values()],
      users: [...d.org.users.values()].map((u) => (emails ? u : { ...u, email: null })),
    };
  });
  // ------------------------------------------------------------ routes (docs/routing.md)
  app.get('/routes', async () => {
    const managed = new Map((await d.routes.list()).map((m) => [m.spec.id, m.managed_by]));
    return { data: d.router.all().map((r) => ({ ...r, managed_by: managed.get(r.id) ?? 'config' })) };
  });
  app.get<{ Params: { id: string } }>('/routes/:id', async (req) => {
    const m = await d.routes.get(req.params.id);
    return { ...m.spec, managed_by: m.managed_by };
  });
  app.post('/routes', async (req, reply) => reply.code(201).send(await d.routes.create(req.body, actorOf(req))));
  app.put<{ Params: { id: string } }>('/routes/:id', async (req) => d.routes.update(req.params.id, req.body, actorOf(req)));
  app.delete<{ Params: { id: string } }>('/routes/:id', async (req, reply) => {
    await d.routes.remove(req.params.id, actorOf(req));
    return reply.code(204).send();
  });
  app.get('/prices', async () => ({
    data: d.prices.all().map((p) => ({
      provider: p.provider, model: p.model, kind: p.kind, currency: p.currency, version: p.version,
      effective_from: new Date(p.effectiveFrom).toISOString().slice(0, 10),
      per_million: Object.fromEntries(Object.entries(p.rates).map(([k, v]) => [k, decimalText(v as bigint)])),
    })),
  }));
}
