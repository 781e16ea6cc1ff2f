import { useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, useApi, type ApiError, type Actor } from '../api';
import { money, plot, tick, when } from '../format';
import { Panel, Show, Table } from '../ui';

interface Department { department: string; cost_centre: string; chargeback: string; showback: string; total: string; local: { currency: string; total: string } }
interface Run {
  id: string; period: string; status: string; currency: string; corrects: string | null; lines: number; source_total: string; created_at: string; created_by: string;
  departments?: Department[]; unallocated?: { amount: string; lines: number };
}

const lastMonth = (): string => {
  const d = new Date();
  const m = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() - 1, 1));
  return m.toISOString().slice(0, 7);
};

function RunDetail({ id }: { id: string }) {
  const run = useApi<Run>(`/allocations/runs/${id}`);
  const base = `/admin/v1/allocations/runs/${id}`;
  return (
    <Show loaded={run}>
      {(r) => (
        <Panel title={`Run ${r.id} · ${r.period} · ${r.status}`} actions={<span className="actions"><a href={`${base}/journal`} download>Journal CSV</a> <a href={`/admin/v1/exports/focus?run=${id}`} download>FOCUS export</a></span>}>
          <ResponsiveContainer width="100%" height={240}>
            <BarChart data={(r.departments ?? []).map((d) => ({ department: d.department, chargeback: plot(d.chargeback), showback: plot(d.showback) }))}>
              <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="department" /><YAxis tickFormatter={tick} /><Tooltip /><Legend />
              <Bar dataKey="chargeback" stackId="a" name="Chargeback" fill="#2563eb" />
              <Bar dataKey="showback" stackId="a" name="Showback" fill="#93c5fd" />
            </BarChart>
          </ResponsiveContainer>
          <Table label="Statements" rows={r.departments ?? []} columns={[
            { title: 'Department', cell: (d) => d.department },
            { title: 'Cost centre', cell: (d) => d.cost_centre },
            { title: 'Chargeback', numeric: true, cell: (d) => money(d.chargeback, r.currency) },
            { title: 'Showback', numeric: true, cell: (d) => money(d.showback, r.currency) },
            { title: 'Total', numeric: true, cell: (d) => money(d.total, r.currency) },
            { title: 'Statement', cell: (d) => (
              <span className="actions">
                <a href={`${base}/statement?department=${encodeURIComponent(d.department)}&format=html`} target="_blank" rel="noreferrer">View</a>
                <a href={`${base}/statement?department=${encodeURIComponent(d.department)}&format=csv`} download>CSV</a>
                <a href={`${base}/lines?department=${encodeURIComponent(d.department)}`} download>Lines</a>
              </span>) },
          ]} />
          <p>Unallocated: {money(r.unallocated?.amount, r.currency)} over {r.unallocated?.lines ?? 0} lines · source total {money(r.source_total, r.currency)} over {r.lines.toLocaleString('en-GB')} lines.</p>
        </Panel>
      )}
    </Show>
  );
}

/** Allocation runs, each department's statement to read or download, journals and FOCUS files. */
export function Chargeback({ actor }: { actor: Actor }) {
  const runs = useApi<{ data: Run[] }>('/allocations/runs');
  const [picked, setPicked] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [period, setPeriod] = useState(lastMonth());
  const runPeriod = () =>
    api<Run>('/allocations/runs', { method: 'POST', body: { period } })
      .then((r) => { setMessage(`Run ${r.id} for ${r.period} created.`); setPicked(r.id); runs.reload(); }, (e: ApiError) => setMessage(e.message));
  return (
    <>
      <h1>Chargeback</h1>
      <Panel title="Allocation runs" actions={actor.role === 'admin' || actor.role === 'finance' ? (
        <span className="actions">
          <input type="month" aria-label="Period to allocate" value={period} onChange={(e) => setPeriod(e.target.value)} />
          <button type="button" onClick={runPeriod}>Run allocation</button>
        </span>) : undefined}>
        {message ? <p role="status" className="status">{message}</p> : null}
        <Show loaded={runs}>
          {(d) => (
            <Table label="Allocation runs" rows={d.data} onRow={(r) => setPicked(r.id)} empty="No allocation runs yet." columns={[
              { title: 'Run', cell: (r) => r.id },
              { title: 'Period', cell: (r) => r.period },
              { title: 'Status', cell: (r) => r.status },
              { title: 'Corrects', cell: (r) => r.corrects ?? '—' },
              { title: 'Lines', numeric: true, cell: (r) => r.lines.toLocaleString('en-GB') },
              { title: 'Total', numeric: true, cell: (r) => money(r.source_total, r.currency) },
              { title: 'Created', cell: (r) => `${when(r.created_at)} by ${r.created_by}` },
            ]} />
          )}
        </Show>
      </Panel>
      {picked ? <RunDetail key={picked} id={picked} /> : null}
    </>
  );
}
