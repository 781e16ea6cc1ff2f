import { useState, type FormEvent } from 'react';
import { api, useApi, type ApiError, type Actor } from '../api';
import { when } from '../format';
import { Panel, Show, Table } from '../ui';

interface Key {
  id: string; label: string; prefix: string; status: string; created_at: number; expires_at: number | null; previous_valid_until: number | null;
  attribution: { department: string | null; project: string | null; application: string | null; environment: string | null; user: string | null };
}

/** Virtual keys: issue one (its secret shown once), rotate, suspend, resume and revoke. */
export function Keys({ actor }: { actor: Actor }) {
  const keys = useApi<{ data: Key[] }>('/keys');
  const [secret, setSecret] = useState<{ label: string; secret: string } | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [form, setForm] = useState({ label: '', department: actor.role === 'manager' ? actor.department ?? '' : '', project: '', application: '' });
  const fail = (e: ApiError) => setMessage(e.message);
  const act = (k: Key, action: 'revoke' | 'suspend' | 'resume') => {
    if (action === 'revoke' && !window.confirm(`Revoke "${k.label}"? Calls with it are refused from the next one.`)) return;
    api(`/keys/${k.id}/${action}`, { method: 'POST', body: { reason: `${action} in the dashboard` } }).then(() => { setMessage(`Key "${k.label}": ${action}d.`); keys.reload(); }, fail);
  };
  const rotate = (k: Key) => api<{ secret: string }>(`/keys/${k.id}/rotate`, { method: 'POST', body: { grace_seconds: 0 } })
    .then((r) => { setSecret({ label: k.label, secret: r.secret }); keys.reload(); }, fail);
  const create = (e: FormEvent) => {
    e.preventDefault();
    const body = Object.fromEntries(Object.entries(form).filter(([, v]) => v.trim() !== ''));
    api<{ secret: string; label: string }>('/keys', { method: 'POST', body })
      .then((r) => { setSecret({ label: r.label, secret: r.secret }); setForm({ ...form, label: '' }); keys.reload(); }, fail);
  };
  const canManage = actor.role === 'admin' || actor.role === 'manager';
  return (
    <>
      <h1>Keys</h1>
      {secret ? (
        <div className="secret" role="status" data-testid="new-secret">
          The secret of <b>{secret.label}</b>, shown once; store it now: <code>{secret.secret}</code>
          <button type="button" className="secondary" onClick={() => setSecret(null)}>Done</button>
        </div>
      ) : null}
      {message ? <p role="status" className="status">{message}</p> : null}
      {canManage ? (
        <Panel title="New key">
          <form className="inline" onSubmit={create} aria-label="New key">
            {(['label', 'department', 'project', 'application'] as const).map((f) => (
              <label key={f}>{f}<input name={f} value={form[f]} onChange={(e) => setForm({ ...form, [f]: e.target.value })} /></label>
            ))}
            <button type="submit" disabled={!form.label.trim()}>Create key</button>
          </form>
        </Panel>
      ) : null}
      <Panel title="Keys">
        <Show loaded={keys}>
          {(k) => (
            <Table label="Keys" rows={[...k.data].sort((a, b) => b.created_at - a.created_at)} columns={[
              { title: 'Label', cell: (x) => x.label },
              { title: 'Key', cell: (x) => <code>{x.prefix}…</code> },
              { title: 'Attribution', cell: (x) => Object.entries(x.attribution).filter(([, v]) => v).map(([a, v]) => `${a}=${v}`).join(' ') },
              { title: 'Status', cell: (x) => x.status },
              { title: 'Created', cell: (x) => when(x.created_at) },
              { title: 'Expires', cell: (x) => when(x.expires_at) },
              { title: '', cell: (x) => canManage && x.status !== 'revoked' ? (
                <span className="actions">
                  <button type="button" className="secondary" onClick={() => rotate(x)}>Rotate</button>
                  <button type="button" className="secondary" onClick={() => act(x, x.status === 'suspended' ? 'resume' : 'suspend')}>{x.status === 'suspended' ? 'Resume' : 'Suspend'}</button>
                  <button type="button" className="danger" onClick={() => act(x, 'revoke')}>Revoke</button>
                </span>) : null },
            ]} />
          )}
        </Show>
      </Panel>
    </>
  );
}
