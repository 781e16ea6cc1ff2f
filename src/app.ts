/**
 * Assembles Bursar from its parts: stores (SQLite, or PostgreSQL when scaled out), budget
 * counters (in memory, or Redis), spool recovery, price book, providers (or the simulator),
 * the access index, the gateway and the admin API on one Fastify server.
 */
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import Fastify, { LogController, type FastifyInstance, type RouteOptions } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config, ResolvedProvider } from './config/load.js';
import { AccessIndex } from './access/access-index.js';
import { KeyService } from './access/key-service.js';
import { SuspensionService } from './access/suspensions.js';
import { TokenService } from './access/token-service.js';
import { adminRoutes } from './admin/routes.js';
import fastifyCookie from '@fastify/cookie';
import { sessionRoutes } from './dashboard/session.js';
import { serveDashboard } from './dashboard/static.js';
import { apiReference } from './admin/reference.js';
import { ModelCatalog, type ProviderEntry } from './gateway/catalog.js';
import { BursarError, errorBody } from './core/errors.js';
import { Gateway } from './gateway/handler.js';
import { gatewayRouter } from './gateway/routes.js';
import { LedgerWriter, recoverSpool, type Recovery } from './ledger/writer.js';
import { buildPriceBook } from './pricebook/load.js';
import { HttpProvider } from './providers/http.js';
import { Simulator } from './providers/simulator/server.js';
import { openSqlite } from './store/sqlite/open.js';
import { CircuitBreaker } from './routing/breaker.js';
import { Router } from './routing/router.js';
import { MemoryResponseCache, RedisResponseCache, type ResponseCache } from './routing/cache.js';
import { RouteExceptions } from './routing/exceptions.js';
import { ImportService } from './billing/imports.js';
import { Notifier } from './alerts/notifier.js';
import { Digest } from './alerts/digest.js';
import { AnomalyAlerts } from './alerts/anomaly-alerts.js';
import { OutcomeService } from './reports/outcomes.js';
import { ReconciliationService } from './billing/reconcile.js';
import { allocationRuleRecords, type AllocationRule } from './billing/rules.js';
import { AllocationService } from './billing/runs.js';
import { routeRecords } from './routing/records.js';
import { EnvelopeService, envelopeRecords } from './planning/envelopes.js';
import { ReviewService } from './planning/reviews.js';
import { WorkflowRegister, workflowProblems, workflowRecords } from './routing/register.js';
import type { SqlStores } from './store/sql/stores.js';
import { CountersUnavailable, type AppendResult, type BudgetCounters, type RateLimits, type RunTracker } from './core/ports.js';
import type { LedgerLine } from './core/ledger.js';
import { MemoryRunTracker } from './budgets/agent-runs.js';
import { RedisCounters } from './budgets/counters-redis.js';
import { RedisRateLimits } from './budgets/rate-redis.js';
import { RedisRunTracker } from './budgets/runs-redis.js';
import { createLogger, type Logger } from './telemetry/log.js';
import { Metrics } from './telemetry/metrics.js';
import { BudgetIndex } from './budgets/budget-index.js';
import { MemoryCounters } from './budgets/counters-memory.js';
import { BudgetGuard } from './budgets/guard.js';
import { MemoryRateLimits } from './budgets/rate-memory.js';
import { BudgetService } from './budgets/service.js';

export interface StartOptions {
  /** Log destination (tests pass a sink). */
  readonly logDestination?: DestinationStream;
  /** Use this simulator instead of starting one (tests script its faults). */
  readonly simulator?: Simulator;
  /** Grace for in-flight calls at shutdown before they are cut, ms. */
  readonly shutdownGraceMs?: number;
  /** Sees every HTTP route as it is added (the test that keeps the OpenAPI document complete). */
  readonly onRoute?: (route: RouteOptions) => void;
  /**
   * The clock of calls (epoch ms): the time their ledger lines, budget windows, thresholds and
   * outcomes carry. Default Date.now; `bursar demo` moves it to back-date a month of traffic
   * through the real gateway. Leases, expiries and the audit log keep the real clock.
   */
  readonly clock?: () => number;
}

export interface Bursar {
  readonly url: string;
  readonly config: Config;
  readonly app: FastifyInstance;
  readonly stores: SqlStores;
  readonly writer: LedgerWriter;
  readonly gateway: Gateway;
  readonly keys: KeyService;
  readonly tokens: TokenService;
  readonly budgets: BudgetService;
  readonly anomalyAlerts: AnomalyAlerts;
  readonly counters: BudgetCounters;
  readonly metrics: Metrics;
  readonly log: Logger;
  readonly recovery: Recovery;
  readonly simulator: Simulator | null;
  /** The admin token written to data/admin-token at first start, if one was. */
  readonly firstAdminToken: string | null;
  close(): Promise<void>;
}

export const ADMIN_TOKEN_FILE = 'admin-token';

/** Counts and logs (at most once a minute) calls let through uncounted while the shared counters were down. */
function outageReporter(metrics: Metrics, log: Logger): (err: unknown) => void {
  let loggedAt = 0;
  return (err) => {
    metrics.uncounted.inc();
    const now = Date.now();
    if (now - loggedAt < 60_000) return;
    loggedAt = now;
    log.warn({ err }, 'budget counters unreachable: letting calls of budgets with on_counter_outage: allow through, to be counted when they are back');
  };
}

export async function startBursar(config: Config, opts: StartOptions = {}): Promise<Bursar> {
  const clock = opts.clock ?? Date.now;
  const log = createLogger(config.logLevel, opts.logDestination);
  const metrics = new Metrics();
  const shared = config.shared;
  // Scale-out's clients (pg, ioredis) are loaded only by an installation that shares state.
  const stores = shared
    ? await (await import('./store/postgres/open.js')).openPostgres({
        url: shared.databaseUrl.reveal(), schema: shared.schema, poolSize: shared.poolSize, migrate: shared.autoMigrate,
        onListenError: (err) => log.warn({ err }, 'lost the PostgreSQL connection that hears config changes; reconnecting'),
      })
    : await openSqlite(join(config.dataDir, 'bursar.db'));
  const redis = shared ? (await import('./store/redis/connect.js')).openRedis(shared.redisUrl.reveal()) : null;
  const counters: BudgetCounters = redis ? new RedisCounters({ redis, prefix: shared!.redisPrefix }) : new MemoryCounters();
  const rates: RateLimits = redis ? new RedisRateLimits({ redis, prefix: shared!.redisPrefix }) : new MemoryRateLimits();
  const runs: RunTracker = redis ? new RedisRunTracker({ redis, prefix: shared!.redisPrefix }) : new MemoryRunTracker();
  const spoolDir = join(config.dataDir, 'spool');

  const book = buildPriceBook(config.prices);
  const needsSim = config.providers.some((p) => p.baseUrl === null);
  const simulator = needsSim ? (opts.simulator ?? new Simulator()) : null;
  const ownSim = needsSim && !opts.simulator;
  if (simulator && !simulator.url) await simulator.start();
  const entries: ProviderEntry[] = config.providers.map((cfg: ResolvedProvider) => ({
    cfg,
    provider: new HttpProvider(cfg, cfg.baseUrl ?? simulator!.url),
  }));
  const catalog = new ModelCatalog(entries, book);
  const router = new Router(config.routes, (model) => catalog.resolve(model, Date.now()));

  const onFollowError = (err: unknown) => log.error({ err }, 'could not apply a config change made on another replica');
  // Routes of bursar.yaml and of the admin API, followed on every replica.
  const routes = routeRecords(stores.config, router, config);
  await routes.applyConfig(config.routes);
  const routeFollower = await routes.follow((specs) => router.replace(specs, (err, id) => log.error({ err, route: id }, 'a stored route is not valid any more; it is left out')), onFollowError);
  // The use-case register, likewise.
  const register = new WorkflowRegister(new Set(config.workflowPolicy.require_registered));
  const workflows = workflowRecords(stores.config, (w) => workflowProblems(w, config.org, config.dataClasses, (id) => router.has(id)));
  await workflows.applyConfig(config.workflows);
  const workflowFollower = await workflows.follow((specs) => register.replace(specs), onFollowError);
  // Approved route exceptions, likewise; and the routes' response cache, shared through Redis when replicas share state.
  const exceptions = new RouteExceptions(stores.config, router);
  await exceptions.follow(onFollowError);
  const cache: ResponseCache = redis
    ? new RedisResponseCache({ redis, prefix: shared!.redisPrefix, onError: (err) => log.warn({ err }, 'the response cache in Redis cannot be reached; calls go to their providers') })
    : new MemoryResponseCache(config.gateway.response_cache_mb * 1024 * 1024);
  const index = await AccessIndex.load(stores.config, onFollowError);
  const budgetIndex = await BudgetIndex.load(stores.config, config.calendar, config.organisation.currency, onFollowError);
  // Budget events reach the people they concern: the first replica to record one fans it out.
  const notifier = new Notifier({ store: stores.config, config: config.notifications, org: config.org, budgets: budgetIndex, log });
  const events = notifier.wrap(stores.events);
  notifier.start();
  const guard = new BudgetGuard({
    index: budgetIndex,
    counters,
    rates,
    runs,
    events,
    fx: config.fx,
    calendar: config.calendar,
    minOutputTokens: config.budgetPolicy.min_output_tokens,
    leaseMs: config.budgetPolicy.lease_seconds * 1000,
    log,
    onOutage: outageReporter(metrics, log),
    now: clock,
  });
  const budgets = new BudgetService({
    store: stores.config, index: budgetIndex, guard, counters, events, org: config.org, fx: config.fx,
    calendar: config.calendar, orgCurrency: config.organisation.currency,
  });
  const digest = new Digest({ ledger: stores.ledger, budgets, index: budgetIndex, org: config.org, events: stores.events, notifier, calendar: config.calendar, anomalies: config.anomalies.settings });
  const digestTimer = digest.start();
  const anomalyAlerts = new AnomalyAlerts({ ledger: stores.ledger, events: stores.events, notifier, settings: config.anomalies.settings, kinds: config.anomalies.alerts });
  const anomalyTimer = anomalyAlerts.start();
  const applied = await budgets.applyConfig(config.budgets);
  if (applied.added || applied.changed || applied.removed) log.info(applied, 'applied the budgets of bursar.yaml');
  // What a previous run left in the spool goes into the ledger first. Leftovers mean it did not
  // stop cleanly, and may have committed lines it never counted on the budgets: then the counters
  // are rebuilt from the ledger even if they look ready (shared counters stay exact meanwhile).
  const recovery = await recoverSpool(stores.ledger, spoolDir);
  const crashed = recovery.finals + recovery.unsettled > 0;
  if (crashed) log.warn({ finals: recovery.finals, unsettled: recovery.unsettled, added: recovery.added }, 'recovered ledger lines from the spool of a previous run');
  // Redis away at start: the replica starts anyway (hard budgets refuse until it is back, and
  // the counters are rebuilt then if they need to be).
  const restored = await budgets.restore(stores.ledger, { force: crashed }).catch((err: unknown) => {
    if (!(err instanceof CountersUnavailable)) throw err;
    log.warn({ err }, 'the budget counters cannot be reached at start; hard budgets refuse calls until they are back');
    return { rebuilt: false, counters: 0 };
  });
  // The dead run's calls may still hold reservations (shared counters): their lines are counted now.
  if (crashed) for (const id of recovery.ids) await counters.release(id).catch(() => {});
  const countBatch = (lines: readonly LedgerLine[], result: AppendResult) =>
    guard.count(lines, result).catch((err: unknown) => log.error({ err }, 'counting a ledger batch on the budgets failed'));
  const writer = new LedgerWriter(stores.ledger, spoolDir, {
    batchSize: config.ledger.batch_size,
    flushMs: config.ledger.flush_ms,
    fsync: config.ledger.fsync,
    onError: (err, pending) => {
      metrics.ledgerErrors.inc();
      log.error({ err, pending }, 'ledger batch write failed; will retry');
    },
    onCommitted: countBatch,
  });
  // Expired overrides and exceptions no longer count from their expiry on; this marks them, audited, every 10 s.
  const sweep = setInterval(() => {
    void budgets.expireOverrides().catch((err: unknown) => log.error({ err }, 'override expiry sweep failed'));
    void exceptions.expire().catch((err: unknown) => log.error({ err }, 'exception expiry sweep failed'));
  }, 10_000);
  sweep.unref();
  // Forecasts: a budget projected to pass its limit by the window's end raises an event (once per window).
  const forecasts = setInterval(() => void budgets.forecast().catch((err: unknown) => log.error({ err }, 'budget forecasts failed')), 60_000);
  forecasts.unref();
  const keys = new KeyService(stores.config, config.org, config.budgetPolicy.require_budget_for_keys ? (a) => budgets.coversWithOwner(a) : null, {
    routeExists: (id) => router.has(id),
    dataClasses: config.dataClasses,
  });
  // Allocation rules of bursar.yaml and of the API, followed on every replica; runs read the rules in force.
  const allocationRules = allocationRuleRecords(stores.config, new Set(config.org.departments.keys()));
  await allocationRules.applyConfig(config.allocationRules);
  let rulesInForce: readonly AllocationRule[] = config.allocationRules;
  const ruleFollower = await allocationRules.follow((specs) => (rulesInForce = specs), onFollowError);
  const allocations = new AllocationService({
    ledger: stores.ledger, store: stores.config, org: config.org, calendar: config.calendar, orgCurrency: config.organisation.currency, headcount: config.headcount, gl: config.gl, fx: config.fx, rules: () => rulesInForce,
  });
  // Quarterly envelopes of bursar.yaml and of the API; reallocations between their parts are records of their own.
  const envelopeDeps = { store: stores.config, ledger: stores.ledger, org: config.org, fx: config.fx, calendar: config.calendar, orgCurrency: config.organisation.currency };
  const envelopes = new EnvelopeService(envelopeDeps, envelopeRecords(envelopeDeps));
  await envelopes.records.applyConfig(config.envelopes);
  const reconciliations = new ReconciliationService({ ledger: stores.ledger, store: stores.config, org: config.org, fx: config.fx, orgCurrency: config.organisation.currency });
  const imports = new ImportService({ ledger: stores.ledger, store: stores.config, org: config.org, fx: config.fx, orgCurrency: config.organisation.currency });
  const tokens = new TokenService(stores.config, config.org, index, config.adminToken);
  const suspensions = new SuspensionService(stores.config);

  let firstAdminToken: string | null = null;
  const tokenFile = join(config.dataDir, ADMIN_TOKEN_FILE);
  if (!config.adminToken && (await tokens.count()) === 0 && !existsSync(tokenFile)) {
    const t = await tokens.issue({ label: 'first-admin', role: 'admin' }, 'system');
    writeFileSync(tokenFile, `${t.secret}\n`, { mode: 0o600 });
    chmodSync(tokenFile, 0o600);
    firstAdminToken = t.secret;
    log.info({ file: tokenFile }, 'created the first admin token; the CLI reads it from this file');
  }

  const gatewayAttribution = { org: config.org, index, requiredByDefault: config.gateway.required_metadata, allowedTags: config.gateway.allowed_tags, dataClasses: config.dataClasses };
  const gateway = new Gateway({
    index,
    catalog,
    writer,
    metrics,
    log,
    logCalls: config.gateway.log_calls,
    bodyLimit: config.bodyLimitBytes,
    guard,
    router,
    register,
    breaker: new CircuitBreaker(),
    exceptions,
    cache,
    money: { fx: config.fx, orgCurrency: config.organisation.currency },
    org: config.org,
    attribution: gatewayAttribution,
    clock,
  });

  let stopping = false;
  const outcomes = new OutcomeService({ ledger: stores.ledger, attribution: gatewayAttribution, flush: () => writer.flush(), clock });
  const route = gatewayRouter({ gateway, catalog, index, outcomes, bodyLimit: config.bodyLimitBytes, stopping: () => stopping });
  // One server: /v1 goes straight to the gateway on node:http; the rest to Fastify.
  const serverFactory = (fastifyHandler: (req: IncomingMessage, res: ServerResponse) => void) =>
    createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
      if (!route(req, res)) fastifyHandler(req, res);
    });
  const app = Fastify({
    loggerInstance: log,
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.bodyLimitBytes,
    return503OnClosing: true,
    serverFactory,
  });
  if (opts.onRoute) app.addHook('onRoute', opts.onRoute);
  await app.register(fastifyCookie);
  // Single sign-on's client (openid-client) is loaded only when bursar.yaml configures it.
  const sso = config.oidc ? { spec: config.oidc, ...(await import('./dashboard/oidc.js')) } : null;
  await app.register(sessionRoutes, { prefix: '/admin/v1', tokens, ssoLogin: sso ? sso.SSO_LOGIN_PATH : null });
  if (sso) await app.register(sso.oidcRoutes, { oidc: sso.spec, tokens, org: config.org, log });
  await app.register(adminRoutes, { prefix: '/admin/v1', keys, tokens, suspensions, budgets, ledger: stores.ledger, config: stores.config, org: config.org, prices: book, router, routes, workflows, exceptions, imports, allocations, allocationRules, reconciliations, notifier, digest, corridors: config.corridors, anomalies: config.anomalies.settings, envelopes, reviews: new ReviewService(stores.config, config.org), fx: config.fx, organisation: config.organisation.name, orgCurrency: config.organisation.currency });
  await app.register(apiReference);
  app.get('/metrics', async (_req, reply) => {
    metrics.ledgerPending.set(writer.pending);
    metrics.countersPending.set(counters.pendingSettlements);
    return reply.header('content-type', metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  await app.register(serveDashboard);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async () => ({ status: 'ready', ledger_pending: writer.pending }));
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).send(errorBody(new BursarError('route_not_found', `No endpoint at ${req.method} ${req.url.split('?')[0]}. The gateway is under /v1, the admin API under /admin/v1.`), 'openai')),
  );

  await app.listen({ host: config.host, port: config.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  log.info({ url, simulated: config.simulated, store: stores.kind, data: config.dataDir, recovered: { finals: recovery.finals, unsettled: recovery.unsettled, added: recovery.added }, budgets: budgetIndex.size, counters: restored }, 'bursar started');

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      stopping = true;
      const grace = opts.shutdownGraceMs ?? 30_000;
      // Stop taking calls; let the ones in flight finish, then cut what is left after the grace.
      const cut = setTimeout(() => gateway.cut(), grace);
      // Connections kept alive after their last call would hold the close for their idle timeout.
      const idle = setInterval(() => app.server.closeIdleConnections(), 50);
      await app.close();
      clearInterval(idle);
      clearTimeout(cut);
      await writer.close();
      index.close();
      routeFollower.stop();
      workflowFollower.stop();
      exceptions.close();
      ruleFollower.stop();
      await notifier.stop();
      await cache.close();
      clearInterval(sweep);
      clearInterval(forecasts);
      clearInterval(digestTimer);
      clearInterval(anomalyTimer);
      budgetIndex.close();
      guard.close();
      await counters.close();
      await Promise.all(entries.map((e) => e.provider.close()));
      if (ownSim) await simulator!.close();
      await stores.close();
      if (redis) redis.disconnect();
      log.info('bursar stopped');
      log.flush();
    })();
    return closing;
  };

  return { url, config, app: app as unknown as FastifyInstance, stores, writer, gateway, keys, tokens, budgets, anomalyAlerts, counters, metrics, log, recovery, simulator, firstAdminToken, close };
}
