import { useState } from 'react';
import { qs, useApi, type Actor } from '../api';
import { when } from '../format';
import { Panel, Show, Table } from '../ui';

interface Entry { seq: number; ts: number; actor: string; action: string; target: string; details: Record<string, unknown> }

/** Every change, in order, newest page on request; and whether the hash chain holds. */
export function Audit(_: { actor: Actor }) {
  const [after, setAfter] = useState<number[]>([0]);
  const [target, setTarget] = useState('');
  const page = useApi<{ data: Entry[]; next_after: number | null }>(`/audit${qs({ after: after.at(-1), limit: 100, target })}`);
  const verify = useApi<{ ok: boolean; entries?: number; checked?: number }>('/audit/verify');
  return (
    <>
      <h1>Audit log</h1>
      <Show loaded={verify}>
        {(v) => <p className={v.ok ? 'status' : 'error'} data-testid="chain">{v.ok ? 'The hash chain is intact.' : 'The hash chain is broken: an entry was changed or removed.'}</p>}
      </Show>
      <Panel title="Entries" actions={<input aria-label="Target" placeholder="target, e.g. key:…" value={target} onChange={(e) => { setTarget(e.target.value); setAfter([0]); }} />}>
        <Show loaded={page}>
          {(p) => (
            <>
              <Table label="Audit entries" rows={p.data} columns={[
                { title: '#', numeric: true, cell: (e) => String(e.seq) },
                { title: 'When', cell: (e) => when(e.ts) },
                { title: 'Who', cell: (e) => e.actor },
                { title: 'Action', cell: (e) => e.action },
                { title: 'Target', cell: (e) => e.target },
                { title: 'Details', cell: (e) => <code className="details">{JSON.stringify(e.details)}</code> },
              ]} />
              <div className="pager">
                <button type="button" className="secondary" disabled={after.length < 2} onClick={() => setAfter(after.slice(0, -1))}>Previous</button>
                <button type="button" className="secondary" disabled={p.data.length < 100 || p.next_after === null} onClick={() => setAfter([...after, p.next_after!])}>Next</button>
              </div>
            </>
          )}
        </Show>
      </Panel>
    </>
  );
}
