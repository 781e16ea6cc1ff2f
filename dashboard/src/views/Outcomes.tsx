import { useState } from 'react';
import { qs, useApi, type Actor } from '../api';
import { count, money, plot } from '../format';
import { Bars, Panel, Show, Table } from '../ui';
import { PeriodPicker, periodStart } from './Explore';

interface Row {
  group: Record<string, string | null>; currency: string; calls: number; cost: string; outcomes: number; accepted: number; acceptance_percent: string | null;
  cost_per_call: string | null; cost_per_accepted: string | null; cost_per_unit: string | null; value: string | null; value_to_cost: string | null; fallback_percent: string | null; blocked_runs: number;
}

/** What each workflow's spend produced: cost per accepted output and per value unit. */
export function Outcomes(_: { actor: Actor }) {
  const [period, setPeriod] = useState('month');
  const [by, setBy] = useState('workflow');
  const report = useApi<{ rows: Row[] }>(`/reports/unit-economics${qs({ from: periodStart(period), group_by: by })}`);
  return (
    <>
      <h1>Outcomes</h1>
      <nav className="crumbs">
        <select aria-label="Group by" value={by} onChange={(e) => setBy(e.target.value)}>
          {['workflow', 'department', 'project', 'agent', 'model'].map((g) => <option key={g} value={g}>{g}</option>)}
        </select>
        <span className="spacer" /><PeriodPicker value={period} onChange={setPeriod} />
      </nav>
      <Show loaded={report}>
        {(r) => (
          <>
            <Panel title="Cost per accepted output">
              <Bars data={r.rows.filter((x) => x.cost_per_accepted).map((x) => ({ label: x.group[by] ?? '(none)', value: plot(x.cost_per_accepted) }))} name="Cost per accepted output" fill="#16a34a" />
            </Panel>
            <Panel title="Unit economics">
              <Table label="Unit economics" rows={r.rows} columns={[
                { title: by, cell: (x) => x.group[by] ?? '(none)' },
                { title: 'Calls', numeric: true, cell: (x) => count(x.calls) },
                { title: 'Spend', numeric: true, cell: (x) => money(x.cost, x.currency) },
                { title: 'Outcomes', numeric: true, cell: (x) => count(x.outcomes) },
                { title: 'Accepted', numeric: true, cell: (x) => `${count(x.accepted)} (${x.acceptance_percent ?? '—'}%)` },
                { title: 'Per accepted', numeric: true, cell: (x) => money(x.cost_per_accepted, x.currency) },
                { title: 'Per unit', numeric: true, cell: (x) => money(x.cost_per_unit, x.currency) },
                { title: 'Value / cost', numeric: true, cell: (x) => x.value_to_cost ?? '—' },
                { title: 'Fallbacks', numeric: true, cell: (x) => (x.fallback_percent === null ? '—' : `${x.fallback_percent}%`) },
                { title: 'Blocked runs', numeric: true, cell: (x) => count(x.blocked_runs) },
              ]} />
            </Panel>
          </>
        )}
      </Show>
    </>
  );
}
