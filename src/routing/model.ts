/**
 * Routes: a workflow's models by tier (strongest first), the tier it gets by default, and a
 * downgrade ladder that steps it down as the budgets covering its calls fill up.
 */
import { z } from 'zod';
import { CACHE_SHARES } from './cache.js';

export const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug (letters, digits, "-", "_", "."), e.g. "support-drafting"');

export const routeSpecSchema = z
  .strictObject({
    id: slug,
    name: z.string().min(1).optional(),
    /** Who answers for the route's spend. */
    owner: slug.optional(),
    /**
     * Tier name -> model (bare, or provider/model), strongest first; or weighted deployments of
     * one model across providers, shared by smooth weighted round robin.
     */
    tiers: z
      .record(slug, z.union([z.string().min(1), z.array(z.strictObject({ model: z.string().min(1), weight: z.number().int().positive().max(1000).default(1) })).min(1)]))
      .refine((t) => Object.keys(t).length > 0, 'needs at least one tier, e.g. { standard: gpt-4o }'),
    default_tier: slug,
    /** The longest prompt, in tokens, a call of the route may send; a longer one is refused. */
    max_input_tokens: z.number().int().positive().optional(),
    /** The most output tokens a call of the route may ask for; Bursar lowers a larger cap. */
    max_output_tokens: z.number().int().positive().optional(),
    /**
     * A tier stronger than the default, named with a reason (x-bursar-exception): allowed;
     * allowed once an exception is approved by the route's owner, finance or an admin; or refused.
     */
    exceptions: z.enum(['allow', 'approval', 'refuse']).default('allow'),
    /** Every call of the route carries at least this data class. */
    data_class: slug.optional(),
    /** The data classes the route may carry; omitted: every class. */
    data_classes: z.array(slug).optional(),
    /** Whether a person reviews the route's answers before use: recorded on every call's ledger line. */
    human_review: z.boolean().default(false),
    /** Models to try in order when the tier's model fails (429, 5xx, timeout, no connection) before answering. */
    fallbacks: z.array(z.string().min(1)).default([]),
    /**
     * Opt-in response cache: the same request (exact, normalised) within `ttl_seconds` gets the
     * kept answer at no cost. `share`: who may be given an answer another call paid for.
     */
    cache: z
      .strictObject({
        ttl_seconds: z.number().int().positive().max(30 * 86_400),
        share: z.enum(CACHE_SHARES).default('key'),
      })
      .optional(),
    /** From `at` percent of any money budget covering the call, serve at most tier `to`. */
    downgrade: z.array(z.strictObject({ at: z.number().positive().max(1000), to: slug })).default([]),
  })
  .superRefine((r, ctx) => {
    if (!(r.default_tier in r.tiers)) {
      ctx.addIssue({ code: 'custom', path: ['default_tier'], message: `"${r.default_tier}" is not one of its tiers (${Object.keys(r.tiers).join(', ')})` });
    }
    r.downgrade.forEach((d, i) => {
      if (!(d.to in r.tiers)) ctx.addIssue({ code: 'custom', path: ['downgrade', i, 'to'], message: `"${d.to}" is not one of its tiers (${Object.keys(r.tiers).join(', ')})` });
    });
  });

export type RouteSpec = z.infer<typeof routeSpecSchema>;

/** A call names a route as its model: `route:<id>` (its default tier) or `route:<id>/<tier>`. */
export const ROUTE_PREFIX = 'route:';
