/**
 * The usage report: spend and tokens over a time range, grouped by any dimension, filtered to
 * what the asker may see. Served as JSON and CSV by the admin API, and as a table by the CLI.
 */
import { stringify } from 'csv-stringify/sync';
import { z } from 'zod';
import { BursarError } from '../core/errors.js';
import { DIMENSIONS, isDimension, TAG_KEY, type Dimension } from '../core/dimensions.js';
import { EXTRA_GROUPS, type UsageGroup, type UsageRow } from '../core/ledger.js';
import { decimalText } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import { visibleDepartments, visibleUser, type Actor } from '../access/actor.js';

const when = z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'must be a date (2026-11-01) or date-time (2026-11-01T09:00:00Z)');

export const usageInput = z.looseObject({
  from: when.optional(),
  to: when.optional(),
  group_by: z.string().optional(),
  format: z.enum(['json', 'csv']).optional(),
});

export interface UsageReportRow {
  readonly group: Readonly<Record<string, string | null>>;
  readonly currency: string;
  readonly requests: number;
  readonly input_tokens: number;
  readonly cached_input_tokens: number;
  readonly cache_write_tokens: number;
  readonly output_tokens: number;
  readonly reasoning_tokens: number;
  /** Exact decimal in the currency. */
  readonly cost: string;
  readonly cost_nano: string;
  /** The cost in the organisation's currency (`org_currency`), each line at its own rate. */
  readonly org_cost: string;
  readonly estimated_lines: number;
}

export interface UsageReport {
  /** The organisation's currency, of each row's `org_cost` (null where the caller did not say it). */
  readonly org_currency: string | null;
  readonly from: string;
  readonly to: string;
  readonly group_by: readonly string[];
  readonly rows: readonly UsageReportRow[];
  readonly totals: readonly { currency: string; requests: number; cost: string; cost_nano: string }[];
}

/** The start of t's UTC month, or of the month `back` months before it (negative: after). */
export function monthStart(t: number, back = 0): number {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1);
}

/** Parses group_by ("department,model,tag:ticket"), refusing unknown names with the list of valid ones. */
export function parseGroups(text: string | undefined): UsageGroup[] {
  const names = (text ?? 'department,model').split(',').map((s) => s.trim()).filter(Boolean);
  const extra: readonly string[] = EXTRA_GROUPS;
  for (const n of names) {
    const ok = isDimension(n) || extra.includes(n) || (n.startsWith('tag:') && TAG_KEY.test(n.slice(4)));
    if (!ok) {
      throw new BursarError('validation_failed', `Cannot group by "${n}". Use any of: ${[...DIMENSIONS, ...EXTRA_GROUPS].join(', ')}, or tag:<key>.`, { param: 'group_by' });
    }
  }
  return names as UsageGroup[];
}

/** A report's query: its range (default: this month so far, UTC) and its group_by text, checked. */
export function reportQuery(input: Record<string, unknown>, now: Date): { from: number; to: number; groupBy: string | undefined } {
  const parsed = usageInput.safeParse(input);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new BursarError('validation_failed', `${i.path.join('.')}: ${i.message}`, { param: i.path.join('.') });
  }
  const q = parsed.data;
  const from = q.from ? Date.parse(q.from) : monthStart(now.getTime());
  const to = q.to ? Date.parse(q.to) : now.getTime() + 1;
  if (to <= from) throw new BursarError('validation_failed', `"to" (${new Date(to).toISOString()}) must be after "from" (${new Date(from).toISOString()}).`, { param: 'to' });
  return { from, to, groupBy: q.group_by };
}

export async function usageReport(ledger: LedgerStore, input: Record<string, unknown>, actor: Actor, orgCurrency: string | null = null, now = new Date()): Promise<UsageReport> {
  const { from, to, groupBy: groupText } = reportQuery(input, now);
  const groupBy = parseGroups(groupText);

  const where: Partial<Record<Dimension, readonly string[]>> = {};
  for (const d of DIMENSIONS) {
    const v = input[d];
    if (typeof v === 'string' && v !== '') where[d] = v.split(',');
  }
  const depts = visibleDepartments(actor);
  if (depts) where.department = where.department ? where.department.filter((d) => depts.includes(d)) : depts;
  const user = visibleUser(actor);
  if (user) where.user = where.user ? where.user.filter((u) => u === user) : [user];

  const rows = await ledger.aggregate({ from, to, groupBy, where });
  const totals = new Map<string, { requests: number; nano: bigint }>();
  for (const r of rows) {
    const t = totals.get(r.currency) ?? { requests: 0, nano: 0n };
    t.requests += r.requests;
    t.nano += r.costNano;
    totals.set(r.currency, t);
  }
  return {
    org_currency: orgCurrency,
    from: new Date(from).toISOString(),
    to: new Date(to).toISOString(),
    group_by: groupBy,
    rows: rows.map(toReportRow),
    totals: [...totals].map(([currency, t]) => ({ currency, requests: t.requests, cost: decimalText(t.nano), cost_nano: t.nano.toString() })),
  };
}

function toReportRow(r: UsageRow): UsageReportRow {
  return {
    group: r.group,
    currency: r.currency,
    requests: r.requests,
    input_tokens: r.tokens.input,
    cached_input_tokens: r.tokens.cached_input,
    cache_write_tokens: r.tokens.cache_write,
    output_tokens: r.tokens.output,
    reasoning_tokens: r.tokens.reasoning,
    cost: decimalText(r.costNano),
    cost_nano: r.costNano.toString(),
    org_cost: decimalText(r.orgCostNano),
    estimated_lines: r.estimatedLines,
  };
}

/** CSV safe to open in a spreadsheet: cells that start like a formula are escaped. */
export function usageCsv(report: UsageReport): string {
  const head = [...report.group_by, 'currency', 'requests', 'input_tokens', 'cached_input_tokens', 'cache_write_tokens', 'output_tokens', 'reasoning_tokens', 'cost', 'cost_nano', 'estimated_lines'];
  const body = report.rows.map((r) => [
    ...report.group_by.map((g) => r.group[g] ?? ''),
    r.currency, r.requests, r.input_tokens, r.cached_input_tokens, r.cache_write_tokens, r.output_tokens, r.reasoning_tokens, r.cost, r.cost_nano, r.estimated_lines,
  ]);
  return stringify([head, ...body], { escape_formulas: true });
}
