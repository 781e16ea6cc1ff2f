/**
 * Consumption corridors: AI spend held as a share of a business metric, a floor and a ceiling
 * (e.g. 2-4% of digital transaction revenue). The metric is fed through the API per department
 * and month (the same metrics allocation rules use); a corridor reports, for a month, the spend
 * of its departments as a share of their metric, and whether it is below the floor (under-used),
 * within, or above the ceiling.
 */
import { z } from 'zod';
import { assertRole, type Actor } from '../access/actor.js';
import { BursarError } from '../core/errors.js';
import { decimalText, NANO, parseDecimal, percentText } from '../core/money.js';
import type { ConfigStore, LedgerStore } from '../core/ports.js';
import type { FxTable } from '../core/fx.js';
import { METRIC_KIND, metricId, metricValues } from '../billing/metrics.js';

const percent = z.string().regex(/^\d{1,3}(\.\d{1,6})?$/, 'must be a percentage such as "2.5"');
const slug = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,62}$/, 'must be a lower-case slug');

export const corridorSchema = z
  .strictObject({
    id: slug,
    name: z.string().min(1).optional(),
    /** The departments whose spend and metric it compares (summed). */
    departments: z.array(slug).min(1),
    /** A metric fed through POST /admin/v1/allocations/metrics, e.g. revenue. */
    metric: slug,
    /** The metric's currency, to compare money with money (default: the organisation's). */
    currency: z.string().regex(/^[A-Z]{3}$/).optional(),
    floor_percent: percent,
    ceiling_percent: percent,
  })
  .refine((c) => parseDecimal(c.floor_percent) <= parseDecimal(c.ceiling_percent), { message: 'floor_percent must not be above ceiling_percent', path: ['floor_percent'] });
export type Corridor = z.infer<typeof corridorSchema>;

export interface CorridorRow {
  readonly id: string;
  readonly name: string;
  readonly period: string;
  readonly spend: string;
  readonly metric: string | null;
  readonly currency: string;
  /** Spend as a share of the metric, in percent (four decimals), or null without a metric. */
  readonly share_percent: string | null;
  readonly floor_percent: string;
  readonly ceiling_percent: string;
  readonly status: 'below_floor' | 'within' | 'above_ceiling' | 'no_metric';
  /** The spend the floor and the ceiling allow at this metric. */
  readonly floor: string | null;
  readonly ceiling: string | null;
}

export async function corridorReport(d: { ledger: LedgerStore; store: ConfigStore; fx: FxTable; orgCurrency: string; corridors: readonly Corridor[] }, query: Record<string, unknown>, actor: Actor, now = new Date()): Promise<CorridorRow[]> {
  assertRole(actor, ['admin', 'finance'], 'read consumption corridors');
  const period = typeof query.period === 'string' ? query.period : now.toISOString().slice(0, 7);
  if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(period)) throw new BursarError('validation_failed', 'period: a month, YYYY-MM.', { param: 'period' });
  const [y, m] = period.split('-').map(Number) as [number, number];
  const from = Date.UTC(y, m - 1, 1);
  const to = Date.UTC(y, m, 1);
  const out: CorridorRow[] = [];
  for (const c of d.corridors) {
    const currency = c.currency ?? d.orgCurrency;
    let spend = 0n;
    for (const r of await d.ledger.aggregate({ from, to, groupBy: [], where: { department: c.departments } })) {
      spend += d.fx.convert(r.costNano, r.currency, currency, to - 1).nano;
    }
    const rec = await d.store.get(METRIC_KIND, metricId(c.metric, period));
    const values = rec ? metricValues(rec.body) : null;
    const metric = values ? c.departments.reduce((a, dep) => a + (values.get(dep) ?? 0n), 0n) : null;
    const floor = metric === null ? null : (metric * parseDecimal(c.floor_percent)) / (100n * NANO);
    const ceiling = metric === null ? null : (metric * parseDecimal(c.ceiling_percent)) / (100n * NANO);
    const status = metric === null || metric === 0n ? 'no_metric' : spend < floor! ? 'below_floor' : spend > ceiling! ? 'above_ceiling' : 'within';
    out.push({
      id: c.id, name: c.name ?? c.id, period, spend: decimalText(spend), metric: metric === null ? null : decimalText(metric), currency,
      share_percent: metric === null ? null : percentText(spend, metric, 4),
      floor_percent: c.floor_percent, ceiling_percent: c.ceiling_percent, status,
      floor: floor === null ? null : decimalText(floor), ceiling: ceiling === null ? null : decimalText(ceiling),
    });
  }
  return out;
}
