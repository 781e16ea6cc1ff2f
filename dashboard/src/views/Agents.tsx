import { useState } from 'react';
import { qs, useApi, type Actor } from '../api';
import { count, money, plot } from '../format';
import { Bars, Panel, Show, Table } from '../ui';
import { PeriodPicker, periodStart } from './Explore';

interface AgentRow { agent: string; runs: number; calls: number; refused: number; loop_refused: number; cost: string; cost_per_run: string | null; longest_run: string; longest_run_calls: number }

/** Per agent: its runs, what a run costs, and the runs that looped or were stopped. */
export function Agents(_: { actor: Actor }) {
  const [period, setPeriod] = useState('month');
  const report = useApi<{ currency: string; data: AgentRow[] }>(`/reports/agents${qs({ from: periodStart(period) })}`);
  return (
    <>
      <h1>Agents</h1>
      <nav className="crumbs"><span className="spacer" /><PeriodPicker value={period} onChange={setPeriod} /></nav>
      <Show loaded={report}>
        {(r) => (
          <>
            <Panel title="Cost per run">
              <Bars data={r.data.map((a) => ({ label: a.agent, value: plot(a.cost_per_run) }))} name="Cost per run" fill="#9333ea" />
            </Panel>
            <Panel title="Agents">
              <Table label="Agents" rows={r.data} empty="No agent traffic in this period (calls carry x-bursar-agent and x-bursar-agent-run)." columns={[
                { title: 'Agent', cell: (a) => a.agent },
                { title: 'Runs', numeric: true, cell: (a) => count(a.runs) },
                { title: 'Calls', numeric: true, cell: (a) => count(a.calls) },
                { title: 'Refused', numeric: true, cell: (a) => count(a.refused) },
                { title: 'By the loop guard', numeric: true, cell: (a) => count(a.loop_refused) },
                { title: 'Longest run (calls)', cell: (a) => `${a.longest_run} (${a.longest_run_calls})` },
                { title: 'Cost per run', numeric: true, cell: (a) => money(a.cost_per_run, r.currency) },
                { title: 'Spend', numeric: true, cell: (a) => money(a.cost, r.currency) },
              ]} />
            </Panel>
          </>
        )}
      </Show>
    </>
  );
}
