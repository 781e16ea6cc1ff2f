/**
 * The shape of bursar.yaml. Strict objects everywhere: a misspelt key is an error that names
 * its YAML path, not a setting silently ignored.
 */
import { z } from 'zod';
import { budgetSpecSchema } from '../budgets/model.js';
import { allocationRuleSchema } from '../billing/rules.js';
import { glSchema } from '../billing/journal.js';
import { ANOMALY_KINDS } from '../reports/anomaly-kinds.js';
import { corridorSchema } from '../reports/corridors.js';
import { envelopeSpecSchema } from '../planning/envelope-model.js';
import { routeSpecSchema } from '../routing/model.js';
import { workflowPolicySchema, workflowSpecSchema } from '../routing/register.js';

const slug = z
  .string()
  .regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug (letters, digits, "-", "_", "."), e.g. "marketing"');
const code = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be a code of letters, digits, "-", "_" or ".", e.g. "MKTG-AI-001"');
const decimal = z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "2.50" (quoted, at most 9 decimals)');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "USD"');
const envRef = z.strictObject({
  env: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must name an environment variable, e.g. OPENAI_API_KEY'),
});

export const DIALECTS = ['openai', 'anthropic'] as const;

/** Where alerts go: a signed webhook, a Slack-compatible incoming webhook, email over SMTP, or the log. */
const channelSchema = z.discriminatedUnion('type', [
  z.strictObject({ id: slug, type: z.literal('webhook'), url: z.url({ message: 'must be a URL such as https://hooks.example.com/bursar' }), secret: envRef }),
  z.strictObject({ id: slug, type: z.literal('slack'), url: envRef }),
  z.strictObject({
    id: slug, type: z.literal('email'), from: z.email(),
    smtp: z.strictObject({ host: z.string().min(1), port: z.number().int().min(1).max(65535).default(587), secure: z.boolean().default(false), user: z.string().min(1).optional(), password: envRef.optional() }),
  }),
  z.strictObject({ id: slug, type: z.literal('log') }),
]);
const audience = z.strictObject({ channels: z.array(slug).default([]) }).prefault({});

export const notificationsSchema = z
  .strictObject({
    channels: z.array(channelSchema).default([]),
    /** Finance hears every budget's alerts; emails go to these addresses. */
    finance: z.strictObject({ channels: z.array(slug).default([]), emails: z.array(z.email()).default([]) }).prefault({}),
    /** A budget's owner and the managers of its departments hear its alerts (emails to their addresses in users:). */
    owners: audience,
    /** A user hears the alerts of their own cap (a per-user budget's member). */
    users: audience,
    /** A failed delivery is tried again after base_ms, doubling, up to `attempts` tries; then it is kept as dead. */
    retry: z.strictObject({ attempts: z.number().int().min(1).max(20).default(6), base_ms: z.number().int().min(10).max(3_600_000).default(2000) }).prefault({}),
  })
  .prefault({});
export type NotificationsConfig = z.infer<typeof notificationsSchema>;

export const ratesSchema = z.strictObject({
  input: decimal,
  cached_input: decimal.optional(),
  cache_write: decimal.optional(),
  cache_write_1h: decimal.optional(),
  output: decimal.optional(),
  reasoning: decimal.optional(),
});

export const priceSchema = z.strictObject({
  model: z.string().min(1),
  aliases: z.array(z.string().min(1)).default([]),
  kind: z.enum(['chat', 'embedding']).default('chat'),
  effective_from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD'),
  per_million: ratesSchema,
  per_request: decimal.optional(),
  long_context: z
    .strictObject({ above_input_tokens: z.number().int().positive(), per_million: ratesSchema })
    .optional(),
  tiers: z.record(z.string(), z.strictObject({ per_million: ratesSchema })).default({}),
  tool_calls: z.record(z.string(), decimal).default({}),
});

export const priceFileSchema = z.strictObject({
  provider: slug,
  currency: currency.default('USD'),
  models: z.array(priceSchema),
});

const providerSchema = z.strictObject({
  id: slug,
  dialect: z.enum(DIALECTS),
  base_url: z.url({ message: 'must be a URL such as https://api.openai.com/v1' }).optional(),
  /** Never the key itself: a reference to the environment variable that holds it. */
  api_key: z.union([envRef, z.string()]).optional(),
  /** Header that carries the key; defaults to the dialect's (Authorization: Bearer, or x-api-key). */
  auth_header: z.enum(['authorization', 'api-key', 'x-api-key']).optional(),
  /** Query parameters added to every call (Azure's api-version). */
  query: z.record(z.string(), z.string()).default({}),
  /** Model names this provider serves (globs with *). Default: the models of its price book. */
  models: z.array(z.string().min(1)).optional(),
  /** Which price book section prices this provider's models; default: the provider's id. */
  prices: slug.optional(),
  allow_unpriced: z.boolean().default(false),
  timeout_s: z.number().positive().default(600),
  connect_timeout_s: z.number().positive().default(10),
  /** The data classes this provider may receive; omitted: every class. */
  data_classes: z.array(slug).optional(),
  /** Serve this provider from Bursar's built-in simulator (offline demos and tests). */
  simulate: z.boolean().default(false),
});

const teamSchema = z.strictObject({ id: slug, name: z.string().min(1).optional() });
const projectSchema = z.strictObject({
  id: slug,
  code,
  name: z.string().min(1).optional(),
  team: slug.optional(),
});
const departmentSchema = z.strictObject({
  id: slug,
  name: z.string().min(1).optional(),
  cost_centre: code,
  manager: slug.optional(),
  /** The currency its statements are in (default: the organisation's); needs an fx: rate from the organisation's. */
  currency: currency.optional(),
  teams: z.array(teamSchema).default([]),
  projects: z.array(projectSchema).default([]),
});
const userSchema = z.strictObject({
  id: slug,
  name: z.string().min(1).optional(),
  email: z.email().optional(),
  department: slug,
  team: slug.optional(),
  groups: z.array(slug).default([]),
});

export const METADATA_FIELDS = ['workflow', 'agent', 'agent_run', 'user_group', 'user', 'tags'] as const;

/** Sign-in to the dashboard through the company's identity provider (docs/dashboard.md#single-sign-on). */
export const oidcSchema = z.strictObject({
  issuer: z.url({ message: 'must be the identity provider\'s issuer URL, e.g. https://login.example.com/realms/acme' }),
  client_id: z.string().min(1),
  client_secret: envRef,
  /** Where the provider sends people back; default: this server's /auth/oidc/callback as the browser reached it. */
  redirect_url: z.url().optional(),
  scopes: z.array(z.string().min(1)).default(['openid', 'email', 'profile']),
  /** Which claims name the person's Bursar user, role and department. */
  claims: z.strictObject({
    user: z.string().min(1).default('preferred_username'),
    role: z.string().min(1).default('bursar_role'),
    department: z.string().min(1).default('department'),
  }).prefault({}),
  /** Values of the role claim (a group name, say) and the role each gives; a role's own name always counts. */
  roles: z.record(z.string(), z.enum(['admin', 'finance', 'manager', 'member'])).default({}),
  /** The role of someone whose claims name none; omitted: they cannot sign in. */
  default_role: z.enum(['admin', 'finance', 'manager', 'member']).optional(),
  session_hours: z.number().positive().max(168).default(12),
});

export const configSchema = z.strictObject({
  organisation: z
    .strictObject({
      name: z.string().min(1).default('My company'),
      /** The reporting currency: every ledger line also carries its cost in it. */
      currency: currency.default('USD'),
      /** Budget windows follow the calendar in this time zone. */
      timezone: z.string().min(1).default('UTC'),
      week_start: z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']).default('monday'),
      fiscal_year_start: z
        .enum(['january', 'february', 'march', 'april', 'may', 'june', 'july', 'august', 'september', 'october', 'november', 'december'])
        .default('january'),
    })
    .prefault({}),
  /** Exchange rates, effective from a date: how many units of `to` one unit of `from` buys. */
  fx: z
    .array(z.strictObject({ from: currency, to: currency, rate: decimal, effective_from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD') }))
    .default([]),
  budgets: z.array(budgetSpecSchema).default([]),
  /** Data classes, least sensitive first; a call carries one (header, key or route). */
  data_classes: z.array(slug).min(1).default(['public', 'internal', 'confidential', 'restricted']),
  /** Routes: models by tier per workflow (docs/routing.md). */
  routes: z.array(routeSpecSchema).default([]),
  /** The use-case register (docs/routing.md#the-use-case-register). */
  workflows: z.array(workflowSpecSchema).default([]),
  workflow_policy: workflowPolicySchema,
  /** Allocation rules, in the order they apply (docs/billing.md#allocation). */
  allocation_rules: z.array(allocationRuleSchema).default([]),
  /** How allocation runs book to the general ledger (docs/billing.md#journal-entries). */
  billing: z.strictObject({ gl: glSchema }).prefault({}),
  notifications: notificationsSchema,
  dashboard: z.strictObject({ oidc: oidcSchema.optional() }).prefault({}),
  /** Consumption corridors: spend as a share of a business metric (docs/outcomes.md#consumption-corridors). */
  corridors: z.array(corridorSchema).default([]),
  /** Quarterly envelopes per department split across production, scaling and experiments (docs/planning.md#envelopes). */
  envelopes: z.array(envelopeSpecSchema).default([]),
  /** Anomaly detection (docs/alerts.md#anomalies): each kind's sensitivity, the working hours, which kinds alert. */
  anomalies: z
    .strictObject({
      /** Spreads above the baseline that make an anomaly, per kind; lower finds more, with more false alarms. */
      sensitivity: z.partialRecord(z.enum(ANOMALY_KINDS), z.number().positive().max(100)).default({}),
      /** Outside these hours, and on other days, use counts as off hours (the organisation's time zone). */
      working_hours: z
        .strictObject({
          start: z.number().int().min(0).max(23).default(8),
          end: z.number().int().min(1).max(24).default(19),
          days: z.array(z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'])).default(['monday', 'tuesday', 'wednesday', 'thursday', 'friday']),
        })
        .refine((w) => w.end > w.start, { message: 'end must be after start (hours 0-24, e.g. start: 8, end: 19)' })
        .prefault({}),
      /** The kinds whose anomalies (per department, daily) become alerts. */
      alerts: z.array(z.enum(ANOMALY_KINDS)).default([...ANOMALY_KINDS]),
    })
    .prefault({}),
  /** Headcount per department, the `headcount` driver; a department not listed counts its declared users. */
  headcount: z.record(slug, z.number().int().min(0)).default({}),
  budget_policy: z
    .strictObject({
      /** Refuse to issue a key whose department or project has no budget with an owner. */
      require_budget_for_keys: z.boolean().default(false),
      /** The smallest output cap Bursar sets to fit a budget; below it the call is refused. */
      min_output_tokens: z.number().int().positive().default(16),
      /** How long a reservation outlives a holder that stopped renewing it. */
      lease_seconds: z.number().int().positive().max(3600).default(60),
    })
    .prefault({}),
  server: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      port: z.number().int().min(0).max(65535).default(4000),
      body_limit_mb: z.number().positive().max(1024).default(32),
    })
    .prefault({}),
  gateway: z
    .strictObject({
      /** Headers every key must send unless its own policy says otherwise. */
      required_metadata: z.array(z.enum(METADATA_FIELDS)).default([]),
      /** When set, only these tag keys are accepted in x-bursar-tags. */
      allowed_tags: z.array(z.string()).optional(),
      /**
       * One JSON log line per successful call (never prompts, responses or secrets). Off by
       * default: the ledger already records every call, and the line costs ~15% of throughput.
       * Calls that end badly (errors, cut streams, refusals) are always logged.
       */
      log_calls: z.boolean().default(false),
      /** The in-memory response cache's bound, for routes that opt in (scale-out keeps it in Redis). */
      response_cache_mb: z.number().int().min(1).max(65_536).default(64),
    })
    .prefault({}),
  ledger: z
    .strictObject({
      batch_size: z.number().int().positive().max(50_000).default(2000),
      flush_ms: z.number().int().positive().max(60_000).default(20),
      /** fsync the spool on every flush: survives power loss, not only a process crash. */
      fsync: z.boolean().default(false),
    })
    .prefault({}),
  departments: z.array(departmentSchema).default([]),
  users: z.array(userSchema).default([]),
  providers: z.array(providerSchema).default([]),
  prices: z.array(priceSchema.extend({ provider: slug, currency: currency.default('USD') })).default([]),
});

export type RawConfig = z.infer<typeof configSchema>;
export type ProviderConfig = z.infer<typeof providerSchema>;
export type PriceEntry = z.infer<typeof priceSchema>;
export type PriceFile = z.infer<typeof priceFileSchema>;
export type DepartmentConfig = z.infer<typeof departmentSchema>;
export type UserConfig = z.infer<typeof userSchema>;
export type MetadataField = (typeof METADATA_FIELDS)[number];
