/**
 * What a budget is, as people write it (bursar.yaml, the admin API, the CLI: one schema), and
 * as it is held in memory for admission. Overrides are temporary raises with their lifecycle.
 */
import { z } from 'zod';
import { approvalFields } from '../config/approvals.js';
import { DIMENSIONS, TAG_KEY, isDimension, type Dimension } from '../core/dimensions.js';
import { THRESHOLD_ACTIONS, type Matcher, type Scope, type ScopeKey } from '../core/budget.js';
import { NANO, parseDecimal } from '../core/money.js';
import type { CounterLimit } from '../core/ports.js';
import { PERIODS, type WindowSpec } from './windows.js';

export const BUDGET_KIND = 'budget';
export const OVERRIDE_KIND = 'override';
/** A release of (part of) a budget's contingency reserve: the same shape and lifecycle as an override. */
export const RELEASE_KIND = 'reserve_release';

const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug, e.g. "marketing-monthly"');
const decimal = z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "500.00" (quoted)');
const date = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'must be a date, YYYY-MM-DD');
const currency = z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "GBP"');

const matcher = z.union([
  z.string().min(1),
  z.array(z.string().min(1)).min(1),
  z.strictObject({ not: z.array(z.string().min(1)).min(1) }),
]);

export const CATEGORIES = ['production', 'sandbox', 'pilot'] as const;
export type BudgetCategory = (typeof CATEGORIES)[number];

export const DEFAULT_THRESHOLDS = [
  { at: 50, actions: ['notify' as const] },
  { at: 75, actions: ['notify' as const] },
  { at: 90, actions: ['notify' as const] },
];

export const budgetSpecSchema = z
  .strictObject({
    id: slug,
    name: z.string().min(1).max(200).optional(),
    /** Dimension -> value, list of values, or { not: [...] }; tag:<key> for tags; empty: the whole company. */
    scope: z.record(z.string(), matcher).default({}),
    /** Give each member (user, key, agent run...) inside the scope its own limit. */
    per: z.enum(DIMENSIONS).optional(),
    window: z.union([z.enum(PERIODS), z.strictObject({ from: date, to: date })]),
    limit: z.strictObject({
      amount: decimal.optional(),
      currency: currency.optional(),
      tokens: z.number().int().positive().optional(),
      requests: z.number().int().positive().optional(),
      /**
       * A consumption corridor as a budget: the money limit is this percent (the corridor's
       * ceiling) of a business metric fed through the API for the window's month, summed over the
       * departments the scope names.
       */
      share_of: z.strictObject({ metric: slug, percent: z.string().regex(/^\d{1,3}(\.\d{1,6})?$/, 'must be a percentage such as "4" (quoted)') }).optional(),
    }),
    enforcement: z.enum(['hard', 'soft']).default('hard'),
    thresholds: z
      .array(
        z.strictObject({
          at: z.number().positive().max(1000),
          actions: z.array(z.enum(THRESHOLD_ACTIONS)).min(1),
          /** For throttle: the requests per minute allowed while above this threshold. */
          throttle_rpm: z.number().int().positive().optional(),
        }),
      )
      .default(DEFAULT_THRESHOLDS),
    owner: slug.optional(),
    category: z.enum(CATEGORIES).default('production'),
    /**
     * A contingency reserve: this share of the money limit is held back (admission treats the
     * limit as the limit minus the unreleased reserve) until an approved release frees it.
     */
    reserve: z.string().regex(/^\d{1,2}(\.\d{1,4})?%$/, 'must be a share of the limit below 100%, such as "25%"').optional(),
    /** Carry unused money into the next window, up to this much. */
    rollover: z.strictObject({ max: decimal }).optional(),
    /** Requests and tokens per minute for the whole scope (per member with `per`). */
    rate_limit: z.strictObject({ rpm: z.number().int().positive().optional(), tpm: z.number().int().positive().optional() }).optional(),
    /**
     * When the shared counters (Redis) cannot be reached: "refuse" the calls this budget covers,
     * or "allow" them (counted once the counters are back). Hard budgets refuse by default, soft ones allow.
     */
    on_counter_outage: z.enum(['refuse', 'allow']).optional(),
    /** Controls on each agent run (calls carrying x-bursar-agent-run) inside the scope. */
    agent_runs: z
      .strictObject({
        max_calls: z.number().int().positive().optional(),
        max_tool_calls: z.number().int().positive().optional(),
        max_seconds: z.number().int().positive().optional(),
        /** Refuse a call whose request is the same as this many before it in the run. */
        loop_repeats: z.number().int().min(2).optional(),
      })
      .optional(),
  })
  .superRefine((b, ctx) => {
    for (const key of Object.keys(b.scope)) {
      if (!(isDimension(key) || (key.startsWith('tag:') && TAG_KEY.test(key.slice(4))))) {
        ctx.addIssue({ code: 'custom', path: ['scope', key], message: `"${key}" is not a dimension or tag:<key>; dimensions: ${DIMENSIONS.join(', ')}` });
      }
    }
    const l = b.limit;
    if (l.amount === undefined && l.tokens === undefined && l.requests === undefined && l.share_of === undefined) {
      ctx.addIssue({ code: 'custom', path: ['limit'], message: 'needs an amount (with a currency), tokens or requests' });
    }
    if (l.share_of !== undefined) {
      const named = b.scope.department;
      if (l.amount !== undefined) ctx.addIssue({ code: 'custom', path: ['limit', 'share_of'], message: 'a limit is an amount or a share of a metric, not both' });
      if (b.window !== 'month') ctx.addIssue({ code: 'custom', path: ['window'], message: 'a share of a metric needs window: month (metrics are fed per month)' });
      if (typeof named !== 'string' && !Array.isArray(named)) ctx.addIssue({ code: 'custom', path: ['scope', 'department'], message: 'a share of a metric needs the department(s) whose metric it is, e.g. scope: { department: marketing }' });
      if (b.rollover || b.reserve) ctx.addIssue({ code: 'custom', path: [b.rollover ? 'rollover' : 'reserve'], message: 'needs a fixed amount, not a share of a metric' });
    }
    if (l.amount !== undefined && l.currency === undefined) ctx.addIssue({ code: 'custom', path: ['limit', 'currency'], message: 'required with an amount' });
    if (typeof b.window === 'object' && b.window.to < b.window.from) ctx.addIssue({ code: 'custom', path: ['window', 'to'], message: 'must not be before from' });
    if (b.reserve !== undefined && l.amount === undefined) ctx.addIssue({ code: 'custom', path: ['reserve'], message: 'needs a money limit to hold a share of' });
    if (b.rollover && l.amount === undefined) ctx.addIssue({ code: 'custom', path: ['rollover'], message: 'needs a money limit to roll over' });
    for (const [i, t] of b.thresholds.entries()) {
      if (t.actions.includes('throttle') && t.throttle_rpm === undefined) ctx.addIssue({ code: 'custom', path: ['thresholds', i, 'throttle_rpm'], message: 'required with the throttle action' });
      if (b.enforcement === 'hard' && t.at > 100) ctx.addIssue({ code: 'custom', path: ['thresholds', i, 'at'], message: 'a hard budget stops at 100%; thresholds above 100 need enforcement: soft' });
    }
  });

export type BudgetSpec = z.infer<typeof budgetSpecSchema>;

/** A budget as stored: its spec, who manages it, and its lifecycle. */
export const budgetBodySchema = z.strictObject({
  spec: budgetSpecSchema,
  /** "config": declared in bursar.yaml, changed there; "api": made through the admin API or CLI. */
  managed_by: z.enum(['config', 'api']),
  status: z.enum(['active', 'graduated']).default('active'),
  graduated_to: z.string().nullable().default(null),
});
export type BudgetBody = z.infer<typeof budgetBodySchema>;

export const overrideBodySchema = z.strictObject({
  budget: z.string(),
  /** For a per-member budget: the member it raises. */
  member: z.string().nullable().default(null),
  amount: decimal,
  currency,
  ...approvalFields,
});
export type OverrideBody = z.infer<typeof overrideBodySchema>;

/** A budget ready for admission: parsed amounts, normalised scope. */
export interface Budget {
  readonly id: string;
  readonly name: string;
  readonly scope: Scope;
  readonly per: Dimension | null;
  readonly window: WindowSpec;
  /** The money limit; for a share of a metric, 0 here and worked out per month by the index (see shareOf). */
  readonly limitNano: bigint | null;
  /** A limit that is a share of a business metric: its metric, the share (percent in nano-units), and the departments summed. */
  readonly shareOf: { readonly metric: string; readonly percentNano: bigint; readonly departments: readonly string[] } | null;
  readonly currency: string;
  readonly limitTokens: number | null;
  readonly limitRequests: number | null;
  readonly hard: boolean;
  /** What a hard budget's counters may hold, before overrides, reserves and rollover (one object, shared by its calls); null for a soft one. */
  readonly counterLimit: CounterLimit | null;
  /** Whether calls it covers are refused while the shared counters cannot be reached. */
  readonly failClosed: boolean;
  readonly thresholds: readonly { readonly at: number; readonly actions: readonly string[]; readonly throttleRpm: number | null }[];
  /** Whether a threshold does more than notify (refuse, require approval, throttle, downgrade): checked at admission. */
  readonly gating: boolean;
  readonly owner: string | null;
  readonly category: BudgetCategory;
  readonly rolloverMaxNano: bigint | null;
  /** The contingency reserve held back from the money limit until released (rounded down to the nano-unit). */
  readonly reserveNano: bigint | null;
  readonly rateLimit: { readonly rpm: number | null; readonly tpm: number | null } | null;
  readonly agentRuns: { readonly maxCalls: number | null; readonly maxToolCalls: number | null; readonly maxSeconds: number | null; readonly loopRepeats: number | null } | null;
  readonly spec: BudgetSpec;
}

function toMatcher(m: z.infer<typeof matcher>): Matcher {
  if (typeof m === 'string') return { any: [m] };
  if (Array.isArray(m)) return { any: m };
  return { not: m.not };
}

export function toBudget(spec: BudgetSpec, defaultCurrency: string): Budget {
  const scope = Object.entries(spec.scope).map(([k, m]) => [k as ScopeKey, toMatcher(m)] as const);
  const limitNano = spec.limit.amount !== undefined ? parseDecimal(spec.limit.amount) : spec.limit.share_of ? 0n : null;
  const limitTokens = spec.limit.tokens ?? null;
  const limitRequests = spec.limit.requests ?? null;
  const hard = spec.enforcement === 'hard';
  return {
    id: spec.id,
    name: spec.name ?? spec.id,
    scope,
    per: spec.per ?? null,
    window: typeof spec.window === 'string' ? { period: spec.window } : spec.window,
    limitNano,
    shareOf: spec.limit.share_of ? { metric: spec.limit.share_of.metric, percentNano: parseDecimal(spec.limit.share_of.percent), departments: [spec.scope.department ?? []].flat().filter((d): d is string => typeof d === 'string') } : null,
    currency: spec.limit.currency ?? defaultCurrency,
    limitTokens,
    limitRequests,
    hard,
    counterLimit: hard ? { nano: limitNano, tokens: limitTokens, requests: limitRequests } : null,
    failClosed: (spec.on_counter_outage ?? (hard ? 'refuse' : 'allow')) === 'refuse',
    thresholds: [...spec.thresholds].sort((a, b) => a.at - b.at).map((t) => ({ at: t.at, actions: t.actions, throttleRpm: t.throttle_rpm ?? null })),
    gating: spec.thresholds.some((t) => t.actions.some((a) => a !== 'notify')),
    owner: spec.owner ?? null,
    category: spec.category,
    rolloverMaxNano: spec.rollover ? parseDecimal(spec.rollover.max) : null,
    reserveNano: spec.reserve === undefined || spec.limit.amount === undefined ? null : (parseDecimal(spec.limit.amount) * parseDecimal(spec.reserve.slice(0, -1))) / (100n * NANO),
    rateLimit: spec.rate_limit ? { rpm: spec.rate_limit.rpm ?? null, tpm: spec.rate_limit.tpm ?? null } : null,
    agentRuns: spec.agent_runs
      ? { maxCalls: spec.agent_runs.max_calls ?? null, maxToolCalls: spec.agent_runs.max_tool_calls ?? null, maxSeconds: spec.agent_runs.max_seconds ?? null, loopRepeats: spec.agent_runs.loop_repeats ?? null }
      : null,
    spec,
  };
}
