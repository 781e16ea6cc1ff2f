import { api, useApi, useLoad, type Actor, type Loaded } from '../api';
import { when } from '../format';
import { Panel, Show, Table } from '../ui';

interface BudgetEvent { id: string; ts: string; kind: string; budget: string; details: Record<string, unknown> }
interface AnomalyRow { member: string; currency: string; at: string; day: string; metric: string; interval: string; value: number; baseline: number; score: number; note: string | null }

/**
 * The kinds judged live from the rollups. Off-hours use and agent loops read the lines (hours,
 * runs): the alert job judges them (agent loops hourly, off-hours use daily), and the events
 * below list what it found.
 */
const KINDS = ['spend', 'failures', 'output_ratio', 'premium_share', 'unproductive'] as const;

/** Every kind's anomalies, newest first: one report per kind. */
function useAnomalies(enabled: boolean): Loaded<{ data: AnomalyRow[] }> {
  return useLoad(enabled ? 'anomalies' : null, async () => {
    const all = await Promise.all(KINDS.map((k) => api<{ data: AnomalyRow[] }>(`/reports/anomalies?metric=${k}`)));
    return { data: all.flatMap((r) => r.data).sort((a, b) => b.at.localeCompare(a.at) || b.score - a.score) };
  });
}
interface Delivery { id: string; channel: string; audience: string; status: string; attempts: number; last_error: string | null; event: { kind: string; budget: string; ts: number } }

const describe = (d: Record<string, unknown>): string => Object.entries(d).filter(([, v]) => typeof v !== 'object').map(([k, v]) => `${k}: ${String(v)}`).join(' · ');

/** Budget thresholds crossed, forecasts, anomalies, and whether each alert reached its people. */
export function Alerts({ actor }: { actor: Actor }) {
  const events = useApi<{ data: BudgetEvent[] }>('/events');
  const finance = actor.role === 'admin' || actor.role === 'finance';
  const anomalies = useAnomalies(finance);
  const deliveries = useApi<{ data: Delivery[] }>(finance ? '/alerts/deliveries' : null);
  return (
    <>
      <h1>Alerts and anomalies</h1>
      {finance ? <Panel title="Anomalies" actions={<span className="hint">Off-hours use and agent loops: judged by the alert job, listed with the alerts below.</span>}>
        <Show loaded={anomalies}>
          {(a) => (
            <Table label="Anomalies" rows={a.data} empty="No anomalies in the last week." columns={[
              { title: 'When', cell: (x) => (x.interval === 'hour' ? x.at.slice(0, 13).replace('T', ' ') + 'h' : x.day) },
              { title: 'What', cell: (x) => x.metric.replace('_', ' ') },
              { title: 'Who', cell: (x) => x.member },
              { title: 'Note', cell: (x) => x.note ?? '' },
              { title: 'Value', numeric: true, cell: (x) => x.value.toLocaleString('en-GB', { maximumFractionDigits: 2 }) },
              { title: 'Usual', numeric: true, cell: (x) => x.baseline.toLocaleString('en-GB', { maximumFractionDigits: 2 }) },
              { title: 'Score', numeric: true, cell: (x) => (x.score > 100 ? '> 100' : x.score.toFixed(1)) },
            ]} />
          )}
        </Show>
      </Panel> : null}
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
