/**
 * What an envelope is: a business unit's (a department's) money for one quarter, split across
 * production, scaling and experiments (e.g. 60/25/15, totalling 100%). Spend is counted into a
 * part by one dimension of its ledger lines (by default the budget category: production,
 * pilot -> scaling, sandbox -> experiments); what matches no part goes to `otherwise`.
 */
import { z } from 'zod';
import { DIMENSIONS, TAG_KEY, isDimension } from '../core/dimensions.js';
import { NANO, largestRemainder, minorDigits, parseDecimal } from '../core/money.js';
import type { OrgTree } from '../core/org.js';
import type { FxTable } from '../core/fx.js';
import { quarterNamed, type Calendar } from '../budgets/windows.js';

export const ENVELOPE_KIND = 'envelope';
export const REALLOCATION_KIND = 'envelope_reallocation';
export const PARTS = ['production', 'scaling', 'experiments'] as const;
export type Part = (typeof PARTS)[number];

const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug, e.g. "marketing-2026-q2"');
const decimal = z.string().regex(/^\d+(\.\d{1,9})?$/, 'must be a decimal string such as "30000.00" (quoted)');
const percent = z.number().min(0).max(100).refine((n) => Number(n.toFixed(4)) === n, 'at most four decimal places');
const values = z.array(z.string().min(1)).min(1);

/** How budget categories map to parts when an envelope names no mapping of its own. */
export const CATEGORY_MAP: Readonly<Record<Part, readonly string[]>> = { production: ['production'], scaling: ['pilot'], experiments: ['sandbox'] };

export const envelopeSpecSchema = z
  .strictObject({
    id: slug,
    name: z.string().min(1).max(200).optional(),
    department: slug,
    /** A quarter as the calendar labels it: "2026-Q2", or "FY2026-Q1" when the fiscal year starts in another month than January. */
    quarter: z.string().regex(/^(FY)?\d{4}-Q[1-4]$/, 'must be a quarter such as "2026-Q2" (or "FY2026-Q1" with a fiscal year)'),
    amount: decimal,
    /** Default: the organisation's. */
    currency: z.string().regex(/^[A-Z]{3}$/, 'must be an ISO 4217 code such as "GBP"').optional(),
    /** Percent of the amount for each part; they total 100. */
    split: z.strictObject({ production: percent, scaling: percent, experiments: percent }),
    /** The dimension (or tag:<key>) whose value decides a line's part. */
    count_by: z.string().default('budget_category'),
    /** The values of count_by counted into each part (required unless count_by is budget_category). */
    map: z.strictObject({ production: values.optional(), scaling: values.optional(), experiments: values.optional() }).optional(),
    /** The part spend that matches no value goes to. */
    otherwise: z.enum(PARTS).default('production'),
  })
  .superRefine((e, ctx) => {
    const total = PARTS.reduce((s, p) => s + parseDecimal(e.split[p].toFixed(4)), 0n);
    if (total !== 100n * NANO) ctx.addIssue({ code: 'custom', path: ['split'], message: `the parts total ${PARTS.reduce((s, p) => s + e.split[p], 0)}%, not 100%` });
    const by = e.count_by;
    if (!(isDimension(by) || (by.startsWith('tag:') && TAG_KEY.test(by.slice(4))))) {
      ctx.addIssue({ code: 'custom', path: ['count_by'], message: `"${by}" is not a dimension or tag:<key>; dimensions: ${DIMENSIONS.join(', ')}` });
    }
    if (by !== 'budget_category' && e.map === undefined) ctx.addIssue({ code: 'custom', path: ['map'], message: `say which values of ${by} count into each part, e.g. { production: [prod], experiments: [dev] }` });
    const seen = new Map<string, Part>();
    for (const p of PARTS) {
      for (const v of e.map?.[p] ?? []) {
        const other = seen.get(v);
        if (other) ctx.addIssue({ code: 'custom', path: ['map', p], message: `"${v}" is already counted into ${other}` });
        seen.set(v, p);
      }
    }
  });

export type EnvelopeSpec = z.infer<typeof envelopeSpecSchema>;

export const reallocationInput = z.strictObject({
  from: z.enum(PARTS),
  to: z.enum(PARTS),
  amount: decimal,
  reason: z.string().min(1).max(1000),
});

/** A move of money between two parts of an envelope, as stored. */
export interface Reallocation {
  readonly envelope: string;
  readonly from: Part;
  readonly to: Part;
  readonly amount: string;
  readonly reason: string;
  readonly by: string;
  readonly at: number;
}

/** What is wrong with an envelope beyond its schema, each as [field path, message]. */
export function envelopeProblems(e: EnvelopeSpec, o: { org: OrgTree; calendar: Calendar; fx: FxTable; orgCurrency: string }): [string, string][] {
  const out: [string, string][] = [];
  if (!o.org.departments.has(e.department)) out.push(['department', `"${e.department}" is not a declared department`]);
  if (!quarterNamed(e.quarter, o.calendar)) {
    const fiscal = o.calendar.fiscalYearStartMonth !== 1;
    out.push(['quarter', `"${e.quarter}" is not a quarter of this calendar; name it as budgets' windows do, e.g. "${fiscal ? 'FY2026-Q1' : '2026-Q1'}"`]);
  }
  if (e.currency && !o.fx.has(o.orgCurrency, e.currency, Date.now())) out.push(['currency', `no FX rate between ${o.orgCurrency} and ${e.currency}; add one under fx:`]);
  return out;
}

/** The part a value of count_by counts into. */
export function partOf(e: EnvelopeSpec, value: string | null): Part {
  const map = e.map ?? (e.count_by === 'budget_category' ? CATEGORY_MAP : {});
  if (value !== null) for (const p of PARTS) if (map[p]?.includes(value)) return p;
  return e.otherwise;
}

/** Each part's share of the amount, in whole minor units of the currency, totalling the amount exactly. */
export function splitAmount(e: EnvelopeSpec, currency: string): Record<Part, bigint> {
  const unit = 10n ** BigInt(9 - minorDigits(currency));
  const total = parseDecimal(e.amount);
  const whole = (total / unit) * unit;
  const parts = largestRemainder(whole / unit, PARTS.map((p) => parseDecimal(e.split[p].toFixed(4))));
  // Any fraction of a minor unit in the amount goes to the first part, so the parts still total it.
  return { production: parts[0]! * unit + (total - whole), scaling: parts[1]! * unit, experiments: parts[2]! * unit };
}
