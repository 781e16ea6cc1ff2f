import { useState, type FormEvent } from 'react';
import { api, useApi, type ApiError } from '../api';

/** Sign in with a per-person admin token (`bursar tokens create`), or through the company's identity provider. */
export function SignIn({ onSignedIn }: { onSignedIn: () => void }) {
  const [token, setToken] = useState('');
  // A failed single sign-on comes back as #/signin?error=...
  const [error, setError] = useState<string | null>(new URLSearchParams(window.location.hash.split('?')[1] ?? '').get('error'));
  const methods = useApi<{ sso: string | null }>('/session/methods');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setError(null);
    api('/session', { method: 'POST', body: { token: token.trim() } }).then(() => { window.location.hash = '#/'; onSignedIn(); }, (err: ApiError) => setError(err.message));
  };
  return (
    <div className="signin">
      <form onSubmit={submit} aria-label="Sign in">
        <h1>Bursar</h1>
        <p>See where your company's AI money goes, and act on it.</p>
        <label htmlFor="token">Admin token</label>
        <input id="token" type="password" autoComplete="off" placeholder="bat_…" value={token} onChange={(e) => setToken(e.target.value)} />
        <button type="submit" disabled={!token.trim()}>Sign in</button>
        {error ? <p className="error" role="alert">{error}</p> : null}
        {methods.data?.sso ? <p><a className="button secondary" href={methods.data.sso}>Sign in with your company account</a></p> : null}
        <p className="hint">An admin issues tokens with <code>bursar tokens create</code>.</p>
      </form>
    </div>
  );
}
