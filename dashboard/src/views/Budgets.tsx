import { useState } from 'react';
import { CartesianGrid, Line, LineChart, ReferenceLine, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { api, qs, useApi, type ApiError, type Actor, type Usage } from '../api';
import { money, percent, plot, tick, when } from '../format';
import { Panel, Show, Table } from '../ui';
import type { BudgetRow, OverviewData } from './Overview';

interface Override { id: string; budget: string; member: string | null; amount: string; currency: string; reason: string; requested_by: string; state: string; expires_at: string; decided_by?: string }
interface Money { amount: string; formatted: string }
interface Status {
  id: string; name: string; currency: string; owner: string | null; enforcement: string; category: string;
  window: { label: string; start: string; end: string };
  members: { member: string | null; used: Money | null; reserved: Money | null; limit: Money | null; remaining: Money | null; used_percent: number | null; projected_end_of_window: Money | null; projected_to_exceed_on: string | null; thresholds_reached: number[] }[];
  spec: { thresholds?: { at: number; actions: string[] }[] };
}

/** Cumulative spend by day across the budget's window, against its limit and thresholds. */
function BurnDown({ budget, status, orgCurrency }: { budget: BudgetRow; status: Status; orgCurrency: string }) {
  const simple = Object.values(budget.scope).every((v) => !v.startsWith('not '));
  const usage = useApi<Usage>(simple ? `/usage${qs({ from: status.window.start, to: new Date(Math.min(Date.now() + 1, Date.parse(status.window.end))).toISOString(), group_by: 'day,source', ...budget.scope })}` : null);
  const limit = plot(status.members[0]?.limit?.amount);
  if (!simple) return <p className="empty">The burn-down draws budgets whose scope lists values; this one excludes some.</p>;
  return (
    <Show loaded={usage}>
      {(u) => {
        let sum = 0;
        // Budgets count in their own currency: the organisation's (each line converted), or the lines' own.
        const org = budget.currency === orgCurrency;
        const perDay = new Map<string, number>();
        // Budgets count the gateway's calls (imported costs are billed, not admitted).
        for (const r of u.rows) if (r.group.source === 'gateway' && (org || r.currency === budget.currency)) perDay.set(String(r.group.day), (perDay.get(String(r.group.day)) ?? 0) + plot(org ? r.org_cost : r.cost));
        const points = [...perDay].sort(([a], [b]) => a.localeCompare(b)).map(([d, v]) => ({ day: d.slice(5, 10), used: (sum += v) }));
        return (
          <ResponsiveContainer width="100%" height={220}>
            <LineChart data={points}>
              <CartesianGrid strokeDasharray="3 3" /><XAxis dataKey="day" /><YAxis domain={[0, Math.max(limit, sum) * 1.05 || 1]} tickFormatter={tick} /><Tooltip />
              <Line type="stepAfter" dataKey="used" name="Used" stroke="#2563eb" dot={false} />
              {limit ? <ReferenceLine y={limit} stroke="#dc2626" label="limit" /> : null}
              {budget.thresholds.map((t) => <ReferenceLine key={t} y={(limit * t) / 100} stroke="#f59e0b" strokeDasharray="4 4" label={`${t}%`} />)}
            </LineChart>
          </ResponsiveContainer>
        );
      }}
    </Show>
  );
}

function Detail({ budget, orgCurrency }: { budget: BudgetRow; orgCurrency: string }) {
  const status = useApi<Status>(`/budgets/${encodeURIComponent(budget.id)}`);
  return (
    <Panel title={`Budget: ${budget.name}`}>
      <Show loaded={status}>
        {(s) => (
          <>
            <p>{s.enforcement} · {s.category} · window {s.window.label} · owner {s.owner ?? '—'}</p>
            <BurnDown budget={budget} status={s} orgCurrency={orgCurrency} />
            <Table label="Members" rows={s.members} columns={[
              { title: 'Member', cell: (m) => m.member ?? 'whole scope' },
              { title: 'Used', numeric: true, cell: (m) => m.used?.formatted ?? '—' },
              { title: 'Reserved', numeric: true, cell: (m) => m.reserved?.formatted ?? '—' },
              { title: 'Limit', numeric: true, cell: (m) => m.limit?.formatted ?? '—' },
              { title: 'Remaining', numeric: true, cell: (m) => m.remaining?.formatted ?? '—' },
              { title: 'Used %', numeric: true, cell: (m) => percent(m.used_percent) },
              { title: 'Projected', numeric: true, cell: (m) => m.projected_end_of_window?.formatted ?? '—' },
              { title: 'Exceeds on', cell: (m) => m.projected_to_exceed_on?.slice(0, 10) ?? '—' },
            ]} />
          </>
        )}
      </Show>
    </Panel>
  );
}

/** Every budget the viewer can see, a burn-down of the one picked, and the overrides to decide. */
export function Budgets({ actor }: { actor: Actor }) {
  const overview = useApi<OverviewData>('/reports/overview');
  const overrides = useApi<{ data: Override[] }>('/overrides');
  const [picked, setPicked] = useState<BudgetRow | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const decide = (o: Override, decision: 'approve' | 'deny') =>
    api(`/overrides/${o.id}/${decision}`, { method: 'POST', body: { note: `${decision}d in the dashboard by ${actor.label}` } })
      .then(() => { setMessage(`Override ${o.id} ${decision === 'approve' ? 'approved' : 'denied'}.`); overrides.reload(); overview.reload(); }, (e: ApiError) => setMessage(e.message));
  return (
    <>
      <h1>Budgets</h1>
      <Panel title="Budgets">
        <Show loaded={overview}>
          {(o) => (
            <Table label="Budgets" rows={o.budgets} onRow={setPicked} columns={[
              { title: 'Budget', cell: (b) => b.name },
              { title: 'Scope', cell: (b) => Object.entries(b.scope).map(([k, v]) => `${k}=${v}`).join(' ') || 'company' },
              { title: 'Kind', cell: (b) => `${b.enforcement} · ${b.category}` },
              { title: 'Window', cell: (b) => b.window },
              { title: 'Used', numeric: true, cell: (b) => money(b.used, b.currency) },
              { title: 'Limit', numeric: true, cell: (b) => money(b.limit, b.currency) },
              { title: 'Used %', numeric: true, cell: (b) => <span className={b.thresholds_reached.length ? 'warn' : ''}>{percent(b.used_percent)}</span> },
              { title: 'Projected', numeric: true, cell: (b) => money(b.projected_end_of_window, b.currency) },
            ]} />
          )}
        </Show>
      </Panel>
      {picked && overview.data ? <Detail key={picked.id} budget={picked} orgCurrency={overview.data.currency} /> : <p className="hint">Pick a budget to see its burn-down.</p>}
      <Panel title="Overrides">
        {message ? <p role="status" className="status">{message}</p> : null}
        <Show loaded={overrides}>
          {(o) => (
            <Table label="Overrides" rows={o.data} empty="No override requests." columns={[
              { title: 'Budget', cell: (x) => x.budget },
              { title: 'Member', cell: (x) => x.member ?? '—' },
              { title: 'Raise', numeric: true, cell: (x) => money(x.amount, x.currency) },
              { title: 'Reason', cell: (x) => x.reason },
              { title: 'Asked by', cell: (x) => x.requested_by },
              { title: 'State', cell: (x) => x.state },
              { title: 'Until', cell: (x) => when(x.expires_at) },
              { title: '', cell: (x) => x.state === 'requested' ? (
                <span className="actions">
                  <button type="button" onClick={() => decide(x, 'approve')}>Approve</button>
                  <button type="button" className="secondary" onClick={() => decide(x, 'deny')}>Deny</button>
                </span>) : x.decided_by ?? '' },
            ]} />
          )}
        </Show>
      </Panel>
    </>
  );
}
