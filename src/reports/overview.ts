/**
 * The dashboard's first page in one answer: this month's spend by department against the
 * budgets that cover each, the daily trend since the start of last month, and a straight-line
 * projection to the end of the month, all cut to what the asker may see. Spend is in the
 * organisation's currency (each line converted at its own rate), as budgets count it.
 */
import { projectToEnd } from '../core/budget.js';
import { decimalText, parseDecimal } from '../core/money.js';
import type { LedgerStore } from '../core/ports.js';
import type { Actor } from '../access/actor.js';
import type { BudgetService } from '../budgets/service.js';
import { monthStart, usageReport } from './usage.js';

interface Money { amount: string; formatted: string }
interface MemberStatus { used: Money | null; limit: Money | null; used_percent: number | null; projected_end_of_window: Money | null; thresholds_reached: number[] }

export async function overview(ledger: LedgerStore, budgets: BudgetService, actor: Actor, orgCurrency: string, now = Date.now()) {
  const from = monthStart(now);
  const end = monthStart(now, -1);
  const lastMonth = monthStart(now, 1);
  const range = { from: new Date(from).toISOString(), to: new Date(now + 1).toISOString() };
  const [byDepartment, daily] = await Promise.all([
    usageReport(ledger, { ...range, group_by: 'department' }, actor),
    usageReport(ledger, { from: new Date(lastMonth).toISOString(), to: range.to, group_by: 'day,source' }, actor),
  ]);

  let mtd = 0n;
  let last = 0n;
  // Per day, the gateway's calls apart from imported costs (a month's seats land on its first day).
  const perDay = new Map<string, { gateway: bigint; imported: bigint; requests: number }>();
  for (const r of daily.rows) {
    const day = String(r.group.day);
    const nano = parseDecimal(r.org_cost);
    if (Date.parse(day) >= from) mtd += nano;
    else last += nano;
    const d = perDay.get(day) ?? { gateway: 0n, imported: 0n, requests: 0 };
    if (r.group.source === 'gateway') {
      d.gateway += nano;
      d.requests += r.requests;
    } else d.imported += nano;
    perDay.set(day, d);
  }
  const perDept = new Map<string | null, { nano: bigint; requests: number }>();
  for (const r of byDepartment.rows) {
    const dept = r.group.department ?? null;
    const d = perDept.get(dept) ?? { nano: 0n, requests: 0 };
    d.nano += parseDecimal(r.org_cost);
    d.requests += r.requests;
    perDept.set(dept, d);
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
    currency: orgCurrency,
    totals: { month_to_date: decimalText(mtd), projected_month_end: decimalText(projectToEnd(mtd, from, end, now)), last_month: decimalText(last) },
    by_department: [...perDept].sort(([, a], [, b]) => (b.nano > a.nano ? 1 : b.nano < a.nano ? -1 : 0))
      .map(([department, d]) => ({ department, cost: decimalText(d.nano), requests: d.requests })),
    trend: [...perDay].sort(([a], [b]) => a.localeCompare(b)).map(([day, d]) => ({ day, gateway: decimalText(d.gateway), imported: decimalText(d.imported), requests: d.requests })),
    budgets: statuses,
  };
}
