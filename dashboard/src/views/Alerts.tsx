import { useApi, type Actor } from '../api';
import { when } from '../format';
import { Panel, Show, Table } from '../ui';

interface BudgetEvent { id: string; ts: string; kind: string; budget: string; details: Record<string, unknown> }
interface AnomalyRow { member: string; currency: string; day: string; metric: string; value: number; baseline: number; score: number; dimension?: string }
interface Delivery { id: string; channel: string; audience: string; status: string; attempts: number; last_error: string | null; event: { kind: string; budget: string; ts: number } }

const describe = (d: Record<string, unknown>): string => Object.entries(d).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${k}: ${String(v)}`).join(' · ');

/** Budget thresholds crossed, forecasts, anomalies, and whether each alert reached its people. */
export function Alerts({ actor }: { actor: Actor }) {
  const events = useApi<{ data: BudgetEvent[] }>('/events');
  const anomalies = useApi<{ data: AnomalyRow[] }>('/reports/anomalies');
  const finance = actor.role === 'admin' || actor.role === 'finance';
  const deliveries = useApi<{ data: Delivery[] }>(finance ? '/alerts/deliveries' : null);
  return (
    <>
      <h1>Alerts and anomalies</h1>
      <Panel title="Anomalies">
        <Show loaded={anomalies}>
          {(a) => (
            <Table label="Anomalies" rows={a.data} empty="No anomalies in the last 90 days." columns={[
              { title: 'Day', cell: (x) => x.day },
              { title: 'What', cell: (x) => x.metric },
              { title: 'Who', cell: (x) => x.member },
              { title: 'Value', numeric: true, cell: (x) => x.value.toLocaleString('en-GB', { maximumFractionDigits: 2 }) },
              { title: 'Usual', numeric: true, cell: (x) => x.baseline.toLocaleString('en-GB', { maximumFractionDigits: 2 }) },
              { title: 'Score', numeric: true, cell: (x) => x.score.toFixed(1) },
            ]} />
          )}
        </Show>
      </Panel>
      <Panel title="Budget alerts">
        <Show loaded={events}>
          {(e) => (
            <Table label="Budget alerts" rows={e.data} empty="No budget has crossed a threshold." columns={[
              { title: 'When', cell: (x) => when(x.ts) },
              { title: 'Budget', cell: (x) => x.budget },
              { title: 'Event', cell: (x) => x.kind },
              { title: 'Details', cell: (x) => describe(x.details) },
            ]} />
          )}
        </Show>
      </Panel>
      {finance ? (
        <Panel title="Deliveries">
          <Show loaded={deliveries}>
            {(d) => (
              <Table label="Deliveries" rows={d.data.slice(0, 200)} empty="No notifications sent yet." columns={[
                { title: 'When', cell: (x) => when(x.event.ts) },
                { title: 'Event', cell: (x) => `${x.event.kind} · ${x.event.budget}` },
                { title: 'To', cell: (x) => `${x.audience} by ${x.channel}` },
                { title: 'Status', cell: (x) => x.status },
                { title: 'Tries', numeric: true, cell: (x) => String(x.attempts) },
                { title: 'Last error', cell: (x) => x.last_error ?? '' },
              ]} />
            )}
          </Show>
        </Panel>
      ) : null}
    </>
  );
}
