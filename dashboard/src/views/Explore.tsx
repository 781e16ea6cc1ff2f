import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { inOrgCurrency, qs, useApi, type Actor, type Usage } from '../api';
import { count, money, plot, tick } from '../format';
import { Panel, Show, Table } from '../ui';

const LEVELS = ['department', 'project', 'workflow', 'user', 'model'] as const;
type Level = (typeof LEVELS)[number];

/** The start of a period the viewer picks, as the API's `from`. */
export function periodStart(period: string): string {
  const now = new Date();
  // Whole days, so the server reads its daily rollups rather than the lines of a partial first day.
  if (period === '30d') return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - 30)).toISOString();
  if (period === 'year') return new Date(Date.UTC(now.getUTCFullYear(), 0, 1)).toISOString();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString();
}

export function PeriodPicker({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <select aria-label="Period" value={value} onChange={(e) => onChange(e.target.value)}>
      <option value="month">This month</option>
      <option value="30d">Last 30 days</option>
      <option value="year">This year</option>
    </select>
  );
}

/** From department down to project, workflow, user and model: click a row to go one level down. */
export function Explore(_: { actor: Actor }) {
  const [path, setPath] = useState<{ level: Level; value: string }[]>([]);
  const [period, setPeriod] = useState('month');
  const level = LEVELS[path.length] ?? 'model';
  const filters = Object.fromEntries(path.map((p) => [p.level, p.value]));
  const usage = useApi<Usage>(`/usage${qs({ from: periodStart(period), group_by: level, ...filters })}`);
  return (
    <>
      <h1>Drill-down</h1>
      <nav className="crumbs" aria-label="Drill-down path">
        <button type="button" className="link" onClick={() => setPath([])}>All</button>
        {path.map((p, i) => (
          <span key={p.level}> › <button type="button" className="link" onClick={() => setPath(path.slice(0, i + 1))}>{p.level}: {p.value}</button></span>
        ))}
        <span className="spacer" />
        <PeriodPicker value={period} onChange={setPeriod} />
      </nav>
      <Panel title={`Spend by ${level}`}>
        <Show loaded={usage}>
          {(u) => {
            const cur = u.org_currency ?? 'USD';
            const rows = inOrgCurrency(u.rows, (r) => r.group[level] ?? '');
            return (
              <>
                <ResponsiveContainer width="100%" height={240}>
                  <BarChart data={rows.slice(0, 15).map((r) => ({ name: r.group[level] || '(none)', cost: plot(r.org_cost) }))} layout="vertical" margin={{ left: 80 }}>
                    <CartesianGrid strokeDasharray="3 3" /><XAxis type="number" tickFormatter={tick} /><YAxis type="category" dataKey="name" width={140} /><Tooltip />
                    <Bar dataKey="cost" name="Spend" fill="#2563eb" />
                  </BarChart>
                </ResponsiveContainer>
                <Table label={`Spend by ${level}`} rows={rows} onRow={path.length < LEVELS.length - 1 ? (r) => setPath([...path, { level, value: r.group[level] ?? '' }]) : undefined} columns={[
                  { title: level, cell: (r) => r.group[level] || '(none)' },
                  { title: 'Calls', numeric: true, cell: (r) => count(r.requests) },
                  { title: 'Input tokens', numeric: true, cell: (r) => count(r.input_tokens) },
                  { title: 'Output tokens', numeric: true, cell: (r) => count(r.output_tokens) },
                  { title: 'Spend', numeric: true, cell: (r) => money(r.org_cost, cur) },
                ]} />
              </>
            );
          }}
        </Show>
      </Panel>
    </>
  );
}
