/**
 * The dashboard's first page in one answer: this month's spend by department against the
 * budgets that cover each, the daily trend since the start of last month, and a straight-line
 * projection to the end of the month, all cut to what the asker may see.
 */
import { projectToEnd } from '../core/budget.js';
import { decimalText, parseDecimal } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import type { Actor } from '../access/actor.js';
import type { BudgetService } from '../budgets/service.js';
import { usageReport } from './usage.js';

interface Money { amount: string; formatted: string }
interface MemberStatus { used: Money | null; limit: Money | null; used_percent: number | null; projected_end_of_window: Money | null; thresholds_reached: number[] }

const monthStart = (t: number, back = 0): number => {
  const d = new Date(t);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - back, 1);
};

export async function overview(ledger: LedgerStore, budgets: BudgetService, actor: Actor, now = Date.now()) {
  const from = monthStart(now);
  const end = monthStart(now, -1);
  const lastMonth = monthStart(now, 1);
  const range = { from: new Date(from).toISOString(), to: new Date(now + 1).toISOString() };
  const [byDepartment, daily] = await Promise.all([
    usageReport(ledger, { ...range, group_by: 'department' }, actor),
    usageReport(ledger, { from: new Date(lastMonth).toISOString(), to: range.to, group_by: 'day' }, actor),
  ]);

  const totals = new Map<string, { mtd: bigint; last: bigint }>();
  for (const r of daily.rows) {
    const t = totals.get(r.currency) ?? { mtd: 0n, last: 0n };
    if (Date.parse(String(r.group.day)) >= from) t.mtd += BigInt(r.cost_nano);
    else t.last += BigInt(r.cost_nano);
    totals.set(r.currency, t);
  }

  const visible = (await budgets.list(actor)).filter((b) => b.per === null && b.limitNano !== null);
  const statuses = await Promise.all(visible.map(async (b) => {
    const s = await budgets.status(b.id, actor, now) as { members: MemberStatus[]; window: { label: string } };
    const m = s.members[0];
    const dept = b.scope.find(([k]) => k === 'department')?.[1];
    return {
      id: b.id,
      name: b.name,
      department: dept && 'any' in dept && dept.any.length === 1 ? dept.any[0]! : null,
      scope: Object.fromEntries(b.scope.map(([k, v]) => [k, 'any' in v ? v.any.join(',') : `not ${v.not.join(',')}`])),
      category: b.category,
      enforcement: b.hard ? 'hard' : 'soft',
      currency: b.currency,
      window: s.window.label,
      used: m?.used?.amount ?? '0',
      limit: m?.limit?.amount ?? null,
      used_percent: m?.used_percent ?? null,
      projected_end_of_window: m?.projected_end_of_window?.amount ?? null,
      thresholds: b.thresholds.map((t) => t.at),
      thresholds_reached: m?.thresholds_reached ?? [],
    };
  }));

  return {
    month: { from: range.from, to: range.to, end: new Date(end).toISOString() },
    totals: [...totals].map(([currency, t]) => ({
      currency,
      month_to_date: decimalText(t.mtd),
      projected_month_end: decimalText(projectToEnd(t.mtd, from, end, now)),
      last_month: decimalText(t.last),
    })),
    by_department: byDepartment.rows.map((r) => ({ department: r.group.department ?? null, currency: r.currency, cost: r.cost, requests: r.requests }))
      .sort((a, b) => Number(parseDecimal(b.cost) - parseDecimal(a.cost))),
    trend: daily.rows.map((r) => ({ day: String(r.group.day), currency: r.currency, cost: r.cost, requests: r.requests })),
    budgets: statuses,
  };
}
