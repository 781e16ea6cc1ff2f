/**
 * Business metrics fed through the API (revenue, tickets handled, ...) per department and month:
 * stored as config records, read by allocation runs (as drivers) and by budgets and reports that
 * are a share of one. Kept apart so that the budget index need not load the allocation runs.
 */
import { parseDecimal } from '../core/money.js';

export const METRIC_KIND = 'allocation_metric';

/** The record id of a metric's values for a month (YYYY-MM). */
export const metricId = (name: string, period: string): string => `${name}|${period}`;

/** A metric record's values, department -> exact amount (none when there is no record). */
export function metricValues(body: unknown): Map<string, bigint> {
  const values = (body as { values?: Record<string, string> } | undefined)?.values ?? {};
  return new Map(Object.entries(values).map(([dept, v]) => [dept, parseDecimal(v)]));
}
