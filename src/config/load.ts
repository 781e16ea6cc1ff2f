/**
 * Configuration is read once, here: environment variables and bursar.yaml, validated, with
 * messages that name the variable or the YAML path to fix. The result is frozen.
 */
import type { AnomalyKind } from '../reports/anomaly-kinds.js';
import type { AnomalySettings } from '../reports/anomaly-report.js';
import { allocationRuleProblems, type AllocationRule } from '../billing/rules.js';
import type { GlConfig } from '../billing/journal.js';
import { routeProblems } from '../routing/records.js';
import { workflowProblems, type WorkflowSpec } from '../routing/register.js';
import { readFileSync, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { configSchema, type oidcSchema, type RawConfig, type ProviderConfig, type MetadataField, type NotificationsConfig } from './schema.js';
import { OrgTree, type Department, type Team, type Project, type User } from '../core/org.js';
import { Secret } from './secret.js';
import { FxTable } from '../core/fx.js';
import { parseDecimal } from '../core/money.js';
import { checkZone, type Calendar } from '../budgets/windows.js';
import type { RouteSpec } from '../routing/model.js';
import type { BudgetSpec } from '../budgets/model.js';
import { envelopeProblems, type EnvelopeSpec } from '../planning/envelope-model.js';

export interface ResolvedProvider {
  readonly id: string;
  readonly dialect: ProviderConfig['dialect'];
  /** null: served by the built-in simulator. */
  readonly baseUrl: string | null;
  readonly apiKey: Secret | null;
  readonly authHeader: 'authorization' | 'api-key' | 'x-api-key';
  readonly query: Readonly<Record<string, string>>;
  readonly models: readonly string[] | null;
  readonly prices: string;
  readonly allowUnpriced: boolean;
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  /** The data classes it may receive; null: every class. */
  readonly dataClasses: readonly string[] | null;
}

export interface Config {
  /** The bursar.yaml that was read, or null when running on defaults. */
  readonly file: string | null;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly bodyLimitBytes: number;
  readonly logLevel: string;
  /** A bootstrap admin token from BURSAR_ADMIN_TOKEN, accepted with the admin role. */
  readonly adminToken: Secret | null;
  readonly organisation: RawConfig['organisation'];
  readonly gateway: RawConfig['gateway'] & { readonly required_metadata: readonly MetadataField[] };
  readonly ledger: RawConfig['ledger'];
  readonly providers: readonly ResolvedProvider[];
  /** True when no provider was configured and Bursar serves every call from its simulator. */
  readonly simulated: boolean;
  readonly prices: RawConfig['prices'];
  readonly org: OrgTree;
  readonly calendar: Calendar;
  readonly fx: FxTable;
  readonly budgets: readonly BudgetSpec[];
  readonly routes: readonly RouteSpec[];
  /** Data classes, least sensitive first. */
  readonly dataClasses: readonly string[];
  readonly workflows: readonly WorkflowSpec[];
  readonly workflowPolicy: RawConfig['workflow_policy'];
  readonly allocationRules: readonly AllocationRule[];
  readonly headcount: Readonly<Record<string, number>>;
  readonly gl: GlConfig;
  readonly notifications: ResolvedNotifications;
  /** The dashboard's single sign-on, its client secret read from the environment. */
  readonly oidc: ResolvedOidc | null;
  readonly corridors: RawConfig['corridors'];
  readonly envelopes: readonly EnvelopeSpec[];
  /** Anomaly detection: each kind's sensitivity, the working hours, and the kinds that alert. */
  readonly anomalies: { readonly settings: AnomalySettings; readonly alerts: readonly AnomalyKind[] };
  readonly budgetPolicy: RawConfig['budget_policy'];
  /** Scale-out: shared PostgreSQL and Redis; null runs embedded (SQLite in dataDir, counters in memory). */
  readonly shared: SharedConfig | null;
}

export interface SharedConfig {
  readonly databaseUrl: Secret;
  readonly schema: string;
  readonly poolSize: number;
  /** Apply pending migrations at start (false: refuse to start until `bursar migrate` ran). */
  readonly autoMigrate: boolean;
  readonly redisUrl: Secret;
  /** Prefix of every Redis key (inside a hash tag, so one installation's keys share a Redis Cluster slot). */
  readonly redisPrefix: string;
}

/** A configuration problem; the message lists every problem with the path to fix. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[], source: string) {
    super(`Bursar cannot start: ${source} has ${problems.length === 1 ? 'a problem' : `${problems.length} problems`}:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export interface LoadOptions {
  /** --config flag; wins over BURSAR_CONFIG. */
  readonly configPath?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Parsed YAML given directly (tests); skips reading a file. */
  readonly yaml?: string;
}

/** Reads and validates the whole configuration. Throws ConfigError naming every problem. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const envProblems: string[] = [];

  const explicit = opts.configPath ?? env.BURSAR_CONFIG;
  let file: string | null = null;
  let text = opts.yaml ?? '';
  if (opts.yaml === undefined) {
    if (explicit) {
      file = resolve(cwd, explicit);
      if (!existsSync(file)) throw new ConfigError([`the file ${file} does not exist (set by ${opts.configPath ? '--config' : 'BURSAR_CONFIG'})`], 'the configuration');
    } else if (existsSync(resolve(cwd, 'bursar.yaml'))) {
      file = resolve(cwd, 'bursar.yaml');
    }
    if (file) text = readFileSync(file, 'utf8');
  }
  const source = file ?? 'bursar.yaml';

  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) {
    throw new ConfigError(doc.errors.map((e) => `YAML syntax: ${e.message.split('\n')[0]}`), source);
  }
  const parsed = configSchema.safeParse(doc.toJS() ?? {});
  if (!parsed.success) throw new ConfigError(parsed.error.issues.map(describeIssue), source);
  const raw = parsed.data;

  const problems: string[] = [];
  const org = buildOrg(raw, problems);
  const providers = resolveProviders(raw, env, problems);
  const notifications = resolveNotifications(raw.notifications, env, problems);
  const oidc = raw.dashboard.oidc;
  const oidcSecret = oidc ? env[oidc.client_secret.env] : undefined;
  if (oidc && !oidcSecret) problems.push(`dashboard.oidc.client_secret.env: the environment variable ${oidc.client_secret.env} is not set`);
  checkPrices(raw, problems);
  const zoneProblem = checkZone(raw.organisation.timezone);
  if (zoneProblem) problems.push(`organisation.timezone: ${zoneProblem}`);
  const fx = new FxTable(raw.fx.map((r) => ({ from: r.from, to: r.to, rate: parseDecimal(r.rate), effectiveFrom: Date.parse(`${r.effective_from}T00:00:00Z`) })));
  checkBudgets(raw, org, fx, problems);
  raw.departments.forEach((d, i) => {
    if (d.currency && d.currency !== raw.organisation.currency && !fx.has(raw.organisation.currency, d.currency, Date.now())) {
      problems.push(`departments[${i}].currency: no FX rate between ${raw.organisation.currency} and ${d.currency}; add one under fx:, e.g. { from: ${raw.organisation.currency}, to: ${d.currency}, rate: "0.92", effective_from: "2026-01-01" }`);
    }
  });
  checkRoutes(raw, org, problems);
  raw.allocation_rules.forEach((r, i) => {
    for (const [path, message] of allocationRuleProblems(r, new Set(org.departments.keys()))) problems.push(`allocation_rules[${i}].${path}: ${message}`);
  });
  for (const d of Object.keys(raw.headcount)) if (!org.departments.has(d)) problems.push(`headcount.${d}: "${d}" is not a declared department`);
  raw.corridors.forEach((c, i) => c.departments.forEach((d, j) => {
    if (!org.departments.has(d)) problems.push(`corridors[${i}].departments[${j}]: "${d}" is not a declared department`);
  }));
  const calendar: Calendar = {
    zone: raw.organisation.timezone,
    weekStart: WEEKDAYS.indexOf(raw.organisation.week_start) + 1,
    fiscalYearStartMonth: MONTHS.indexOf(raw.organisation.fiscal_year_start) + 1,
  };
  const envelopeIds = new Set<string>();
  raw.envelopes.forEach((e, i) => {
    if (envelopeIds.has(e.id)) problems.push(`envelopes[${i}].id: envelope "${e.id}" is declared twice`);
    envelopeIds.add(e.id);
    if (zoneProblem) return;
    for (const [path, message] of envelopeProblems(e, { org, calendar, fx, orgCurrency: raw.organisation.currency })) problems.push(`envelopes[${i}].${path}: ${message}`);
  });
  if (problems.length) throw new ConfigError(problems, source);

  const port = envInt(env, 'BURSAR_PORT', raw.server.port, envProblems);
  const adminToken = env.BURSAR_ADMIN_TOKEN ? env.BURSAR_ADMIN_TOKEN : null;
  if (adminToken !== null && adminToken.length < 32) {
    envProblems.push('BURSAR_ADMIN_TOKEN: must be at least 32 characters (generate one with `openssl rand -hex 32`)');
  }
  const shared = sharedConfig(env, envProblems);
  if (envProblems.length) throw new ConfigError(envProblems, 'the environment');

  return deepFreeze({
    file,
    dataDir: resolve(cwd, env.BURSAR_DATA_DIR ?? 'data'),
    host: env.BURSAR_HOST ?? raw.server.host,
    port,
    bodyLimitBytes: Math.round(raw.server.body_limit_mb * 1024 * 1024),
    logLevel: env.BURSAR_LOG_LEVEL ?? 'info',
    adminToken: adminToken === null ? null : new Secret(adminToken),
    organisation: raw.organisation,
    gateway: raw.gateway,
    ledger: raw.ledger,
    providers: providers.length ? providers : simulatedProviders(),
    simulated: providers.length === 0,
    prices: raw.prices,
    org,
    calendar,
    fx,
    budgets: raw.budgets,
    routes: raw.routes,
    workflows: raw.workflows,
    allocationRules: raw.allocation_rules.map((r, i) => ({ ...r, order: r.order ?? (i + 1) * 10 })),
    headcount: raw.headcount,
    gl: raw.billing.gl,
    notifications,
    oidc: oidc ? { ...oidc, client_secret: new Secret(oidcSecret ?? '') } : null,
    corridors: raw.corridors,
    envelopes: raw.envelopes,
    anomalies: {
      settings: {
        sensitivity: raw.anomalies.sensitivity, timezone: raw.organisation.timezone,
        workingHours: { start: raw.anomalies.working_hours.start, end: raw.anomalies.working_hours.end, days: raw.anomalies.working_hours.days.map((d) => WEEKDAYS.indexOf(d) + 1) },
      },
      alerts: raw.anomalies.alerts,
    },
    workflowPolicy: raw.workflow_policy,
    dataClasses: raw.data_classes,
    budgetPolicy: raw.budget_policy,
    shared,
  }) as Config;
}

export type ResolvedOidc = Omit<z.infer<typeof oidcSchema>, 'client_secret'> & { readonly client_secret: Secret };

/** A channel with its secrets read from the environment (never from the file). */
export type ResolvedChannel =
  | { readonly id: string; readonly type: 'webhook'; readonly url: string; readonly secret: Secret }
  | { readonly id: string; readonly type: 'slack'; readonly url: Secret }
  | { readonly id: string; readonly type: 'email'; readonly from: string; readonly smtp: { host: string; port: number; secure: boolean; user: string | null; password: Secret | null } }
  | { readonly id: string; readonly type: 'log' };

export type ResolvedNotifications = Omit<NotificationsConfig, 'channels'> & { readonly channels: readonly ResolvedChannel[] };

function resolveNotifications(n: NotificationsConfig, env: NodeJS.ProcessEnv, problems: string[]): ResolvedNotifications {
  const secret = (ref: { env: string }, at: string): Secret => {
    const v = env[ref.env];
    if (!v) problems.push(`${at}.env: the environment variable ${ref.env} is not set`);
    return new Secret(v ?? '');
  };
  const channels = n.channels.map((c, i): ResolvedChannel => {
    const at = `notifications.channels[${i}]`;
    switch (c.type) {
      case 'webhook':
        return { id: c.id, type: 'webhook', url: c.url, secret: secret(c.secret, `${at}.secret`) };
      case 'slack':
        return { id: c.id, type: 'slack', url: secret(c.url, `${at}.url`) };
      case 'email':
        return { id: c.id, type: 'email', from: c.from, smtp: { host: c.smtp.host, port: c.smtp.port, secure: c.smtp.secure, user: c.smtp.user ?? null, password: c.smtp.password ? secret(c.smtp.password, `${at}.smtp.password`) : null } };
      case 'log':
        return { id: c.id, type: 'log' };
    }
  });
  const ids = new Set(channels.map((c) => c.id));
  for (const who of ['finance', 'owners', 'users'] as const) {
    n[who].channels.forEach((id, j) => {
      if (!ids.has(id)) problems.push(`notifications.${who}.channels[${j}]: no channel "${id}" is declared under notifications.channels`);
    });
  }
  return { ...n, channels };
}

/** BURSAR_DATABASE_URL and BURSAR_REDIS_URL: both or neither (replicas share the ledger and the counters). */
function sharedConfig(env: NodeJS.ProcessEnv, problems: string[]): SharedConfig | null {
  const db = env.BURSAR_DATABASE_URL || null;
  const redis = env.BURSAR_REDIS_URL || null;
  if (!db && !redis) return null;
  if (!db) problems.push('BURSAR_REDIS_URL is set but BURSAR_DATABASE_URL is not: the scale-out mode needs both (postgres://user:password@host:5432/db)');
  if (!redis) problems.push('BURSAR_DATABASE_URL is set but BURSAR_REDIS_URL is not: the scale-out mode needs both (redis://host:6379)');
  if (db && !/^postgres(ql)?:\/\//.test(db)) problems.push('BURSAR_DATABASE_URL: must start with postgres:// or postgresql://');
  if (redis && !/^rediss?:\/\//.test(redis)) problems.push('BURSAR_REDIS_URL: must start with redis:// or rediss://');
  const schema = env.BURSAR_DATABASE_SCHEMA || 'public';
  if (!/^[a-z_][a-z0-9_]{0,40}$/.test(schema)) problems.push(`BURSAR_DATABASE_SCHEMA: "${schema}" must be lower-case letters, digits and _ (at most 41), starting with a letter`);
  const prefix = env.BURSAR_REDIS_PREFIX || 'bursar';
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(prefix)) problems.push(`BURSAR_REDIS_PREFIX: "${prefix}" must be 1-64 letters, digits or _.:-`);
  const pool = Number(env.BURSAR_DATABASE_POOL || 10);
  if (!Number.isInteger(pool) || pool < 1 || pool > 200) problems.push(`BURSAR_DATABASE_POOL: "${env.BURSAR_DATABASE_POOL}" must be a whole number from 1 to 200`);
  const auto = (env.BURSAR_AUTO_MIGRATE ?? 'true').toLowerCase();
  if (auto !== 'true' && auto !== 'false') problems.push(`BURSAR_AUTO_MIGRATE: "${env.BURSAR_AUTO_MIGRATE}" must be true or false`);
  if (!db || !redis) return null;
  return { databaseUrl: new Secret(db), schema, poolSize: pool, autoMigrate: auto === 'true', redisUrl: new Secret(redis), redisPrefix: prefix };
}

/** "departments[1].cost_centre: must be a code ..." */
export function describeIssue(issue: z.core.$ZodIssue): string {
  let path = '';
  for (const p of issue.path) path += typeof p === 'number' ? `[${p}]` : path ? `.${String(p)}` : String(p);
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return `${path || '(top level)'}: unknown key ${keys} (check the spelling; see docs/configuration.md)`;
  }
  return `${path || '(top level)'}: ${issue.message}`;
}

function envInt(env: NodeJS.ProcessEnv, name: string, fallback: number, problems: string[]): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) {
    problems.push(`${name}: "${v}" is not a port number (0-65535)`);
    return fallback;
  }
  return n;
}

function buildOrg(raw: RawConfig, problems: string[]): OrgTree {
  const departments: Department[] = [];
  const teams: Team[] = [];
  const projects: Project[] = [];
  const users: User[] = [];
  const seen = { department: new Set<string>(), costCentre: new Set<string>(), team: new Set<string>(), project: new Set<string>(), code: new Set<string>(), user: new Set<string>() };
  const dup = (set: Set<string>, value: string, path: string, what: string): void => {
    if (set.has(value)) problems.push(`${path}: ${what} "${value}" is declared twice; ${what}s must be unique`);
    set.add(value);
  };
  raw.departments.forEach((d, i) => {
    const at = `departments[${i}]`;
    dup(seen.department, d.id, `${at}.id`, 'department id');
    dup(seen.costCentre, d.cost_centre, `${at}.cost_centre`, 'cost centre');
    departments.push({ id: d.id, name: d.name ?? d.id, costCentre: d.cost_centre, manager: d.manager ?? null, currency: d.currency ?? null });
    const own = new Set<string>();
    d.teams.forEach((t, j) => {
      dup(seen.team, t.id, `${at}.teams[${j}].id`, 'team id');
      own.add(t.id);
      teams.push({ id: t.id, name: t.name ?? t.id, department: d.id });
    });
    d.projects.forEach((p, j) => {
      const pat = `${at}.projects[${j}]`;
      dup(seen.project, p.id, `${pat}.id`, 'project id');
      dup(seen.code, p.code, `${pat}.code`, 'project code');
      if (p.team && !own.has(p.team)) problems.push(`${pat}.team: "${p.team}" is not a team of department "${d.id}" (declare it under ${at}.teams)`);
      projects.push({ id: p.id, name: p.name ?? p.id, code: p.code, department: d.id, team: p.team ?? null });
    });
  });
  raw.users.forEach((u, i) => {
    const at = `users[${i}]`;
    dup(seen.user, u.id, `${at}.id`, 'user id');
    if (!seen.department.has(u.department)) problems.push(`${at}.department: "${u.department}" is not a declared department`);
    const team = u.team ? teams.find((t) => t.id === u.team) : undefined;
    if (u.team && team?.department !== u.department) problems.push(`${at}.team: "${u.team}" is not a team of department "${u.department}"`);
    users.push({ id: u.id, name: u.name ?? u.id, email: u.email ?? null, department: u.department, team: u.team ?? null, groups: u.groups });
  });
  raw.departments.forEach((d, i) => {
    if (d.manager && !seen.user.has(d.manager)) problems.push(`departments[${i}].manager: "${d.manager}" is not a declared user`);
  });
  return new OrgTree({ departments, teams, projects, users });
}

function resolveProviders(raw: RawConfig, env: NodeJS.ProcessEnv, problems: string[]): ResolvedProvider[] {
  const ids = new Set<string>();
  return raw.providers.map((p, i) => {
    const at = `providers[${i}]`;
    if (ids.has(p.id)) problems.push(`${at}.id: provider "${p.id}" is declared twice`);
    ids.add(p.id);
    let apiKey: Secret | null = null;
    if (typeof p.api_key === 'string') {
      problems.push(`${at}.api_key: credentials never go in bursar.yaml; put the key in an environment variable and write api_key: { env: ${p.id.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_API_KEY }`);
    } else if (p.api_key && !p.simulate) {
      const v = env[p.api_key.env];
      if (!v) problems.push(`${at}.api_key.env: the environment variable ${p.api_key.env} is not set`);
      else apiKey = new Secret(v);
    }
    if (!p.simulate && !p.base_url) problems.push(`${at}.base_url: required (or set simulate: true to use the built-in simulator)`);
    return {
      id: p.id,
      dialect: p.dialect,
      baseUrl: p.simulate ? null : (p.base_url ?? null),
      apiKey,
      authHeader: p.auth_header ?? (p.dialect === 'anthropic' ? 'x-api-key' : 'authorization'),
      query: p.query,
      models: p.models ?? null,
      prices: p.prices ?? p.id,
      allowUnpriced: p.allow_unpriced,
      timeoutMs: p.timeout_s * 1000,
      connectTimeoutMs: p.connect_timeout_s * 1000,
      dataClasses: p.data_classes ?? null,
    };
  });
}

/** With no provider configured, OpenAI, Anthropic and Gemini models are served by the simulator. */
function simulatedProviders(): ResolvedProvider[] {
  const base = { baseUrl: null, apiKey: null, query: {}, models: null, allowUnpriced: false, timeoutMs: 600_000, connectTimeoutMs: 10_000, dataClasses: null };
  return [
    { ...base, id: 'openai', dialect: 'openai', authHeader: 'authorization', prices: 'openai' },
    { ...base, id: 'anthropic', dialect: 'anthropic', authHeader: 'x-api-key', prices: 'anthropic' },
    { ...base, id: 'google', dialect: 'openai', authHeader: 'authorization', prices: 'google' },
  ];
}

function checkPrices(raw: RawConfig, problems: string[]): void {
  raw.prices.forEach((p, i) => {
    if (!p.per_million.output && p.kind === 'chat') problems.push(`prices[${i}].per_million.output: required for a chat model`);
  });
}

const WEEKDAYS = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];
const MONTHS = ['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'];
const ORG_DIMENSIONS = [['department', 'departments'], ['team', 'teams'], ['project', 'projects'], ['user', 'users']] as const;

/** Route ids are unique and owners are declared users (models are checked against the providers at start). */
function checkRoutes(raw: RawConfig, org: OrgTree, problems: string[]): void {
  const ids = new Set<string>();
  raw.routes.forEach((r, i) => {
    if (ids.has(r.id)) problems.push(`routes[${i}].id: route "${r.id}" is declared twice`);
    ids.add(r.id);
    for (const [path, message] of routeProblems(r, org, raw.data_classes)) problems.push(`routes[${i}].${path}: ${message}`);
  });
  const routeIds = new Set(raw.routes.map((r) => r.id));
  const workflowIds = new Set<string>();
  raw.workflows.forEach((w, i) => {
    if (workflowIds.has(w.id)) problems.push(`workflows[${i}].id: workflow "${w.id}" is registered twice`);
    workflowIds.add(w.id);
    for (const [path, message] of workflowProblems(w, org, raw.data_classes, (id) => routeIds.has(id))) problems.push(`workflows[${i}].${path}: ${message}`);
  });
  raw.providers.forEach((p, i) => p.data_classes?.forEach((c, j) => {
    if (!raw.data_classes.includes(c)) problems.push(`providers[${i}].data_classes[${j}]: "${c}" is not a declared data class (data_classes: ${raw.data_classes.join(', ')})`);
  }));
}

/** Budget ids are unique, owners and scoped org values exist, and every amount can be converted. */
function checkBudgets(raw: RawConfig, org: OrgTree, fx: FxTable, problems: string[]): void {
  const ids = new Set<string>();
  const priceCurrencies = new Set(['USD', ...raw.prices.map((p) => p.currency)]);
  const now = Date.now();
  raw.budgets.forEach((b, i) => {
    const at = `budgets[${i}]`;
    if (ids.has(b.id)) problems.push(`${at}.id: budget "${b.id}" is declared twice`);
    ids.add(b.id);
    if (b.owner && !org.users.has(b.owner)) problems.push(`${at}.owner: "${b.owner}" is not a declared user`);
    for (const [dim, kind] of ORG_DIMENSIONS) {
      const m = b.scope[dim];
      if (m === undefined) continue;
      const values = typeof m === 'string' ? [m] : Array.isArray(m) ? m : m.not;
      for (const v of values) if (!org[kind].has(v)) problems.push(`${at}.scope.${dim}: "${v}" is not a declared ${dim}`);
    }
    const cur = b.limit.currency;
    if (cur) {
      for (const p of priceCurrencies) {
        if (!fx.has(p, cur, now)) problems.push(`${at}.limit.currency: prices are in ${p} but no fx: rate converts ${p} to ${cur}; add one (e.g. { from: ${p}, to: ${cur}, rate: "0.79", effective_from: "2026-01-01" })`);
      }
    }
  });
  if (!priceCurrencies.has(raw.organisation.currency)) {
    for (const p of priceCurrencies) {
      if (!fx.has(p, raw.organisation.currency, now)) problems.push(`organisation.currency: prices are in ${p} but no fx: rate converts ${p} to ${raw.organisation.currency}`);
    }
  }
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o) && !(o instanceof Secret) && !(o instanceof OrgTree) && !(o instanceof FxTable)) {
    Object.freeze(o);
    for (const v of Object.values(o)) deepFreeze(v);
  }
  return o;
}
