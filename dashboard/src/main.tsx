/**
 * Bursar's dashboard: sign in, then one view per question people ask of their AI spend. Views are
 * addressed by the URL's hash (#/budgets), so links can be shared and the server has one page.
 */
import { StrictMode, useState, type ReactElement } from 'react';
import { createRoot } from 'react-dom/client';
import { Link, Route, Router, Switch, useLocation } from 'wouter';
import { useHashLocation } from 'wouter/use-hash-location';
import { api, useApi, type Actor } from './api';
import { Show } from './ui';
import { SignIn } from './views/SignIn';
import { Overview } from './views/Overview';
import { Budgets } from './views/Budgets';
import { Explore } from './views/Explore';
import { Models } from './views/Models';
import { Agents } from './views/Agents';
import { Outcomes } from './views/Outcomes';
import { Alerts } from './views/Alerts';
import { Chargeback } from './views/Chargeback';
import { Keys } from './views/Keys';
import { Audit } from './views/Audit';
import './style.css';

type Role = Actor['role'];
const ALL: readonly Role[] = ['admin', 'finance', 'manager', 'member'];
const VIEWS: readonly { path: string; title: string; roles: readonly Role[]; view: (p: { actor: Actor }) => ReactElement }[] = [
  { path: '/', title: 'Overview', roles: ALL, view: Overview },
  { path: '/budgets', title: 'Budgets', roles: ALL, view: Budgets },
  { path: '/explore', title: 'Drill-down', roles: ALL, view: Explore },
  { path: '/models', title: 'Models', roles: ALL, view: Models },
  { path: '/agents', title: 'Agents', roles: ALL, view: Agents },
  { path: '/outcomes', title: 'Outcomes', roles: ['admin', 'finance'], view: Outcomes },
  { path: '/alerts', title: 'Alerts', roles: ALL, view: Alerts },
  { path: '/chargeback', title: 'Chargeback', roles: ['admin', 'finance'], view: Chargeback },
  { path: '/keys', title: 'Keys', roles: ALL, view: Keys },
  { path: '/audit', title: 'Audit log', roles: ['admin', 'finance'], view: Audit },
];

function Shell({ actor, onSignOut }: { actor: Actor; onSignOut: () => void }) {
  const [location] = useLocation();
  const views = VIEWS.filter((v) => v.roles.includes(actor.role));
  return (
    <div className="shell">
      <nav aria-label="Views">
        <div className="brand">Bursar</div>
        {views.map((v) => (
          <Link key={v.path} href={v.path} className={location === v.path ? 'active' : ''}>{v.title}</Link>
        ))}
        <div className="who" data-testid="who">
          <div>{actor.label}</div>
          <div className="role">{actor.role}{actor.department ? ` · ${actor.department}` : ''}</div>
          <button type="button" onClick={onSignOut}>Sign out</button>
        </div>
      </nav>
      <main>
        <Switch>
          {views.map((v) => <Route key={v.path} path={v.path}>{() => <v.view actor={actor} />}</Route>)}
          <Route><p className="empty">This view is not open to the {actor.role} role.</p></Route>
        </Switch>
      </main>
    </div>
  );
}

function App() {
  const [session, setSession] = useState(0);
  const me = useApi<Actor>(`/whoami?s=${session}`);
  const refresh = () => setSession((s) => s + 1);
  if (me.error?.status === 401) return <SignIn onSignedIn={refresh} />;
  return (
    <Show loaded={me}>
      {(actor) => <Shell actor={actor} onSignOut={() => void api('/session', { method: 'DELETE' }).then(refresh)} />}
    </Show>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <Router hook={useHashLocation}>
      <App />
    </Router>
  </StrictMode>,
);
