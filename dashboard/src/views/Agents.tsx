import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { qs, useApi, type Actor, type Usage } from '../api';
import { count, decimalOf, money, plot, tick } from '../format';
import { Panel, Show, Table } from '../ui';
import { PeriodPicker, periodStart } from './Explore';

interface AgentSummary { agent: string; currency: string; runs: Set<string>; calls: number; refused: number; cost: number; costText: string[]; maxCalls: number; maxRun: string }

/** Per agent: its runs, what a run costs, and the runs that looped or were stopped. */
export function Agents(_: { actor: Actor }) {
  const [period, setPeriod] = useState('month');
  const usage = useApi<Usage>(`/usage${qs({ from: periodStart(period), group_by: 'agent,agent_run,status' })}`);
  return (
    <>
      <h1>Agents</h1>
      <nav className="crumbs"><span className="spacer" /><PeriodPicker value={period} onChange={setPeriod} /></nav>
      <Show loaded={usage}>
        {(u) => {
          const agents = new Map<string, AgentSummary>();
          const runCalls = new Map<string, number>();
          for (const r of u.rows) {
            const name = r.group.agent;
            const run = r.group.agent_run;
            if (!name) continue;
            const a = agents.get(name) ?? { agent: name, currency: r.currency, runs: new Set(), calls: 0, refused: 0, cost: 0, costText: [], maxCalls: 0, maxRun: '' };
            if (run) a.runs.add(run);
            a.calls += r.requests;
            if (r.group.status === 'refused') a.refused += r.requests;
            a.cost += plot(r.cost);
            a.costText.push(r.cost_nano);
            if (run) {
              const n = (runCalls.get(`${name}|${run}`) ?? 0) + r.requests;
              runCalls.set(`${name}|${run}`, n);
              if (n > a.maxCalls) { a.maxCalls = n; a.maxRun = run; }
            }
            agents.set(name, a);
          }
          const rows = [...agents.values()].map((a) => {
            const nano = a.costText.reduce((s, x) => s + BigInt(x), 0n);
            return { ...a, total: decimalOf(nano), perRun: a.runs.size ? decimalOf(nano / BigInt(a.runs.size)) : null };
          }).sort((x, y) => y.cost - x.cost);
          return (
            <>
              <Panel title="Cost per run">
                <ResponsiveContainer width="100%" height={220}>
                  <BarChart data={rows.map((r) => ({ agent: r.agent, perRun: plot(r.perRun) }))}>
                    <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="agent" /><YAxis tickFormatter={tick} /><Tooltip />
                    <Bar dataKey="perRun" name="Cost per run" fill="#9333ea" />
                  </BarChart>
                </ResponsiveContainer>
              </Panel>
              <Panel title="Agents">
                <Table label="Agents" rows={rows} empty="No agent traffic in this period (calls carry x-bursar-agent and x-bursar-agent-run)." columns={[
                  { title: 'Agent', cell: (r) => r.agent },
                  { title: 'Runs', numeric: true, cell: (r) => count(r.runs.size) },
                  { title: 'Calls', numeric: true, cell: (r) => count(r.calls) },
                  { title: 'Refused', numeric: true, cell: (r) => count(r.refused) },
                  { title: 'Longest run (calls)', cell: (r) => r.maxRun ? `${r.maxRun} (${r.maxCalls})` : '—' },
                  { title: 'Cost per run', numeric: true, cell: (r) => money(r.perRun, r.currency) },
                  { title: 'Spend', numeric: true, cell: (r) => money(r.total, r.currency) },
                ]} />
              </Panel>
            </>
          );
        }}
      </Show>
    </>
  );
}
