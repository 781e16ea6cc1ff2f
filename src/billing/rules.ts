/**
 * Allocation rules: which ledger lines a rule takes (`match`), and how it splits each one's cost
 * among departments (`method`). Rules are declared as code (bursar.yaml's `allocation_rules:`, or
 * the admin API), in order: the first rule that matches a line allocates it; a line no rule
 * matches goes to its own department (direct), or to "unallocated" if it has none.
 */
import { z } from 'zod';
import { DIMENSIONS, type Dimension } from '../core/dimensions.js';
import { parseDecimal } from '../core/money.js';
import { BursarError } from '../core/errors.js';
import type { ConfigStore } from '../core/ports.js';
import { ManagedRecords, parsed } from '../config/managed.js';
import { slug } from '../routing/model.js';
import { SPEND_CATEGORIES } from './formats.js';

export const ALLOCATION_METHODS = ['direct', 'proportional', 'even', 'fixed', 'beneficiary', 'internal_price', 'pool'] as const;
export const DRIVERS = ['tokens', 'requests', 'cost', 'active_users', 'headcount', 'gpu_hours'] as const;

/** A driver: a measure of each department over the period, or `metric:<name>` fed through the API. */
const driver = z.union([z.enum(DRIVERS), z.string().regex(/^metric:[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be one of tokens, requests, cost, active_users, headcount, gpu_hours, or metric:<name>')]);
const percent = z.string().regex(/^\d{1,3}(\.\d{1,6})?$/, 'must be a percentage such as "12.5"');
const decimal = z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "0.002"');
const values = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]));

export const matchSchema = z
  .strictObject({
    source: z.enum(['gateway', 'import']).optional(),
    /** The line's endpoint: chat, messages... for calls; seat, gpu_hours, usage... for imports. */
    kind: values.optional(),
    spend_category: z.array(z.enum(SPEND_CATEGORIES)).optional(),
    /** Tags the line must carry, with these values. */
    tags: z.record(z.string(), z.string()).optional(),
    ...Object.fromEntries(DIMENSIONS.map((d) => [d, values.optional()])) as Record<Dimension, z.ZodOptional<typeof values>>,
  })
  .default({});

export const allocationRuleSchema = z
  .strictObject({
    id: slug,
    name: z.string().min(1).optional(),
    /** Rules apply lowest order first (then by id); bursar.yaml's default to their position (10, 20, ...), the API's to 1000. */
    order: z.number().int().min(0).max(1_000_000).optional(),
    match: matchSchema,
    method: z.enum(ALLOCATION_METHODS),
    /** proportional, pool (default headcount), and beneficiary's share: what each department's part is proportional to. */
    driver: driver.optional(),
    /** The departments a cost is split among (proportional, even, beneficiary's beneficiaries); default: every department. */
    among: z.array(slug).min(1).optional(),
    /** fixed: department -> percentage, totalling exactly 100. */
    split: z.record(slug, percent).optional(),
    /** beneficiary: the percentage that goes to the departments that benefit (`among`); the department that ran the work keeps the rest. */
    share: percent.optional(),
    /**
     * internal_price: what the line's department is charged, per unit, with a markup; the
     * difference from the actual cost (recovered minus actual) goes to `recovers_to`.
     */
    price: z.strictObject({ per: z.enum(['call', 'million_tokens', 'unit']), amount: decimal, markup_percent: percent.default('0') }).optional(),
    recovers_to: slug.optional(),
    /** Spread each line's cost over this many months, its own first (an annual commitment, a spike); the method splits each month's share. */
    smooth_months: z.number().int().min(2).max(36).optional(),
    /** chargeback (booked to the department) or showback (shown, funded centrally); default: showback for sandbox and pilot budgets' lines, chargeback otherwise. */
    mode: z.enum(['chargeback', 'showback']).optional(),
  })
  .superRefine((r, ctx) => {
    const need = (field: keyof typeof r, why: string) => {
      if (r[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: `${why}` });
    };
    if (r.method === 'proportional') need('driver', 'a proportional rule needs a driver (tokens, requests, cost, active_users, headcount, gpu_hours, metric:<name>)');
    if (r.method === 'fixed') {
      need('split', 'a fixed rule needs split: { <department>: "<percent>", ... } totalling 100');
      if (r.split && Object.values(r.split).reduce((a, p) => a + parseDecimal(p), 0n) !== parseDecimal('100')) {
        ctx.addIssue({ code: 'custom', path: ['split'], message: `the percentages total ${Object.values(r.split).join(' + ')}, not 100` });
      }
    }
    if (r.method === 'beneficiary') {
      need('share', 'a beneficiary rule needs share: the percentage for the departments that benefit, e.g. "30"');
      need('among', 'a beneficiary rule needs among: the departments that benefit');
    }
    if (r.method === 'internal_price') {
      need('price', 'an internal_price rule needs price: { per: call | million_tokens | unit, amount, markup_percent }');
      need('recovers_to', 'an internal_price rule needs recovers_to: the department that runs the service and carries the difference');
    }
    if (r.share !== undefined && parseDecimal(r.share) > parseDecimal('100')) ctx.addIssue({ code: 'custom', path: ['share'], message: 'must be at most 100' });
  });

export type AllocationRule = z.infer<typeof allocationRuleSchema>;

/** What is wrong with a rule beyond its schema (departments it names that are not declared), each as [field path, message]. */
export function allocationRuleProblems(r: AllocationRule, departments: ReadonlySet<string>): [string, string][] {
  const out: [string, string][] = [];
  const known = (d: string, at: string) => {
    if (!departments.has(d)) out.push([at, `"${d}" is not a declared department`]);
  };
  r.among?.forEach((d, i) => known(d, `among[${i}]`));
  for (const d of Object.keys(r.split ?? {})) known(d, `split.${d}`);
  if (r.recovers_to) known(r.recovers_to, 'recovers_to');
  return out;
}

export const RULE_KIND = 'allocation_rule';

/** Rules as config records: bursar.yaml's and the API's, checked alike; admins and finance change the API's. */
export function allocationRuleRecords(store: ConfigStore, departments: ReadonlySet<string>): ManagedRecords<AllocationRule> {
  return new ManagedRecords<AllocationRule>(store, RULE_KIND, 'allocation rule', (input) => {
    const spec = parsed(allocationRuleSchema.safeParse(input), 'rule');
    const [problem] = allocationRuleProblems(spec, departments);
    if (problem) throw new BursarError('validation_failed', `${problem[0]}: ${problem[1]}.`, { param: problem[0] });
    return spec;
  }, 'bursar allocations rules', ['admin', 'finance']);
}

/** Rules in the order they apply: by `order` (default 1000), then id. */
export function ordered(rules: readonly AllocationRule[]): AllocationRule[] {
  return [...rules].sort((a, b) => (a.order ?? 1000) - (b.order ?? 1000) || a.id.localeCompare(b.id));
}
