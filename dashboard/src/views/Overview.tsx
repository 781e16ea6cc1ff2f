import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useApi, type Actor } from '../api';
import { money, percent, plot, tick } from '../format';
import { Figure, Panel, Show, Table } from '../ui';

export interface BudgetRow {
  id: string; name: string; department: string | null; scope: Record<string, string>; category: string; enforcement: string; currency: string; window: string;
  used: string; limit: string | null; used_percent: number | null; projected_end_of_window: string | null; thresholds: number[]; thresholds_reached: number[];
}
export interface OverviewData {
  month: { from: string; to: string; end: string };
  /** The organisation's currency: every amount but the budgets' own. */
  currency: string;
  totals: { month_to_date: string; projected_month_end: string; last_month: string };
  by_department: { department: string | null; cost: string; requests: number }[];
  trend: { day: string; gateway: string; imported: string; requests: number }[];
  budgets: BudgetRow[];
}

/** Spend against budget by department, the trend since last month, and where the month will end. */
export function Overview(_: { actor: Actor }) {
  const loaded = useApi<OverviewData>('/reports/overview');
  return (
    <Show loaded={loaded}>
      {(o) => {
        const deptBudget = new Map(o.budgets.filter((b) => b.department).map((b) => [b.department!, b]));
        const bars = o.by_department.flatMap((d) => {
          const b = deptBudget.get(d.department ?? '');
          return b ? [{ department: d.department ?? '(none)', used: plot(b.used), limit: plot(b.limit), projected: plot(b.projected_end_of_window) }] : [];
        });
        const thisMonth = o.trend.filter((t) => t.day >= o.month.from.slice(0, 10));
        const cur = o.currency;
        return (
          <>
            <h1>Overview</h1>
            <div className="figures">
              <Figure label={`Spend this month (${cur})`} value={money(o.totals.month_to_date, cur)} note={`Projected month end ${money(o.totals.projected_month_end, cur)} · last month ${money(o.totals.last_month, cur)}`} />
              <Figure label="Budgets past a threshold" value={String(o.budgets.filter((b) => b.thresholds_reached.length).length)} note={`of ${o.budgets.length}`} />
            </div>
            <Panel title="Department budgets: used, projected and limit">
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={bars}>
                  <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="department" /><YAxis tickFormatter={tick} /><Tooltip /><Legend />
                  <Bar dataKey="used" name="Used" fill="#2563eb" />
                  <Bar dataKey="projected" name="Projected at month end" fill="#93c5fd" />
                  <Bar dataKey="limit" name="Limit" fill="#cbd5e1" />
                </BarChart>
              </ResponsiveContainer>
              <Table label="Departments" rows={o.by_department} columns={[
                { title: 'Department', cell: (d) => d.department ?? '(none)' },
                { title: 'Spend (all costs)', numeric: true, cell: (d) => money(d.cost, cur) },
                { title: 'Calls', numeric: true, cell: (d) => d.requests.toLocaleString('en-GB') },
                { title: 'Budget used', numeric: true, cell: (d) => { const b = deptBudget.get(d.department ?? ''); return b ? money(b.used, b.currency) : '—'; } },
                { title: 'Budget', numeric: true, cell: (d) => { const b = deptBudget.get(d.department ?? ''); return b ? money(b.limit, b.currency) : '—'; } },
                { title: 'Used', numeric: true, cell: (d) => percent(deptBudget.get(d.department ?? '')?.used_percent) },
                { title: 'Projected', numeric: true, cell: (d) => { const b = deptBudget.get(d.department ?? ''); return b ? money(b.projected_end_of_window, b.currency) : '—'; } },
              ]} />
            </Panel>
            <Panel title="Daily spend this month">
              <ResponsiveContainer width="100%" height={220}>
                <BarChart data={thisMonth.map((t) => ({ day: t.day.slice(5, 10), gateway: plot(t.gateway), imported: plot(t.imported) }))}>
                  <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="day" /><YAxis tickFormatter={tick} /><Tooltip /><Legend />
                  <Bar dataKey="gateway" stackId="a" name="Gateway calls" fill="#2563eb" />
                  <Bar dataKey="imported" stackId="a" name="Imported costs (seats, GPU, invoices)" fill="#f59e0b" />
                </BarChart>
              </ResponsiveContainer>
            </Panel>
          </>
        );
      }}
    </Show>
  );
}
