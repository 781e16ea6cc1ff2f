import { Bar, BarChart, CartesianGrid, Legend, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { useApi, type Actor } from '../api';
import { money, percent, plot } from '../format';
import { Figure, Panel, Show, Table } from '../ui';

export interface BudgetRow {
  id: string; name: string; department: string | null; scope: Record<string, string>; category: string; enforcement: string; currency: string; window: string;
  used: string; limit: string | null; used_percent: number | null; projected_end_of_window: string | null; thresholds: number[]; thresholds_reached: number[];
}
interface OverviewData {
  month: { from: string; to: string; end: string };
  totals: { currency: string; month_to_date: string; projected_month_end: string; last_month: string }[];
  by_department: { department: string | null; currency: string; cost: string; requests: number }[];
  trend: { day: string; currency: string; cost: string; requests: number }[];
  budgets: BudgetRow[];
}

/** Spend against budget by department, the trend since last month, and where the month will end. */
export function Overview(_: { actor: Actor }) {
  const loaded = useApi<OverviewData>('/reports/overview');
  return (
    <Show loaded={loaded}>
      {(o) => {
        const deptBudget = new Map(o.budgets.filter((b) => b.department).map((b) => [b.department!, b]));
        const bars = o.by_department.map((d) => ({ department: d.department ?? '(none)', spend: plot(d.cost), budget: plot(deptBudget.get(d.department ?? '')?.limit) }));
        const thisMonth = o.trend.filter((t) => t.day >= o.month.from.slice(0, 10));
        const cur = o.totals[0]?.currency ?? 'USD';
        return (
          <>
            <h1>Overview</h1>
            <div className="figures">
              {o.totals.map((t) => (
                <Figure key={t.currency} label={`Spend this month (${t.currency})`} value={money(t.month_to_date, t.currency)} note={`Projected month end ${money(t.projected_month_end, t.currency)} · last month ${money(t.last_month, t.currency)}`} />
              ))}
              {o.totals.length === 0 ? <Figure label="Spend this month" value={money('0', cur)} /> : null}
              <Figure label="Budgets past a threshold" value={String(o.budgets.filter((b) => b.thresholds_reached.length).length)} note={`of ${o.budgets.length}`} />
            </div>
            <Panel title="Spend against budget by department">
              <ResponsiveContainer width="100%" height={260}>
                <BarChart data={bars}>
                  <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="department" /><YAxis /><Tooltip /><Legend />
                  <Bar dataKey="spend" name="Spend" fill="#2563eb" />
                  <Bar dataKey="budget" name="Budget" fill="#cbd5e1" />
                </BarChart>
              </ResponsiveContainer>
              <Table label="Departments" rows={o.by_department} columns={[
                { title: 'Department', cell: (d) => d.department ?? '(none)' },
                { title: 'Spend', numeric: true, cell: (d) => money(d.cost, d.currency) },
                { title: 'Calls', numeric: true, cell: (d) => d.requests.toLocaleString('en-GB') },
                { title: 'Budget', numeric: true, cell: (d) => { const b = deptBudget.get(d.department ?? ''); return b ? money(b.limit, b.currency) : '—'; } },
                { title: 'Used', numeric: true, cell: (d) => percent(deptBudget.get(d.department ?? '')?.used_percent) },
                { title: 'Projected', numeric: true, cell: (d) => { const b = deptBudget.get(d.department ?? ''); return b ? money(b.projected_end_of_window, b.currency) : '—'; } },
              ]} />
            </Panel>
            <Panel title="Daily spend this month">
              <ResponsiveContainer width="100%" height={220}>
                <LineChart data={thisMonth.map((t) => ({ day: t.day.slice(5, 10), cost: plot(t.cost) }))}>
                  <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="day" /><YAxis /><Tooltip />
                  <Line type="monotone" dataKey="cost" name="Spend" stroke="#2563eb" dot={false} />
                  <ReferenceLine y={0} stroke="#94a3b8" />
                </LineChart>
              </ResponsiveContainer>
            </Panel>
          </>
        );
      }}
    </Show>
  );
}
