import { lazy, Suspense, useCallback, useEffect, useRef, useState } from 'react';
import { api, ApiError } from './api.js';
import { useAuditStream } from './stream.js';
import SignIn from './pages/SignIn.jsx';
import RequestAccess from './pages/RequestAccess.jsx';
import MyAccess from './pages/MyAccess.jsx';
import Inbox from './pages/Inbox.jsx';
import Activity from './pages/Activity.jsx';
import Audit from './pages/Audit.jsx';
import Policies from './pages/Policies.jsx';

// The chart library is large: loaded only when Reports opens.
const Reports = lazy(() => import('./pages/Reports.jsx'));

const READS_ALL = ['auditor', 'admin'];

// `roles`: shown only to callers holding one of them (the API refuses the
// others anyway).
const ALL_PAGES = [
  { path: '/request', label: 'Request access', Page: RequestAccess },
  { path: '/access', label: 'My access', Page: MyAccess },
  { path: '/inbox', label: 'Approvals', Page: Inbox },
  { path: '/activity', label: 'Activity', Page: Activity },
  { path: '/audit', label: 'Audit', Page: Audit },
  { path: '/reports', label: 'Reports', Page: Reports, roles: READS_ALL },
  { path: '/policies', label: 'Policies', Page: Policies },
];

const pagesFor = (me) =>
  ALL_PAGES.filter((p) => !p.roles || p.roles.some((r) => me?.roles?.includes(r)));

function currentPath() {
  const p = window.location.pathname;
  return ALL_PAGES.some((x) => x.path === p) ? p : '/access';
}

export default function App() {
  const [me, setMe] = useState(undefined); // undefined: asking; null: signed out
  const [path, setPath] = useState(currentPath);
  const main = useRef(null);

  useEffect(() => {
    api.whoami().then(setMe, () => setMe(null));
    const onPop = () => setPath(currentPath());
    window.addEventListener('popstate', onPop);
    return () => window.removeEventListener('popstate', onPop);
  }, []);

  const go = useCallback((to) => {
    window.history.pushState(null, '', to);
    setPath(to);
    main.current?.focus();
  }, []);

  // Any call answered 401 (session ended) returns to sign-in.
  const onError = useCallback((e) => {
    if (e instanceof ApiError && e.status === 401) setMe(null);
  }, []);

  const stream = useAuditStream(Boolean(me));

  if (me === undefined) return <p className="loading">Loading…</p>;
  if (me === null) return <SignIn onSignedIn={setMe} />;

  const pages = pagesFor(me);
  const { Page, label } = pages.find((x) => x.path === path) ?? pages[1];
  return (
    <div className="shell">
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <span className="brand">jitd</span>
        <nav aria-label="Pages">
          <ul>
            {pages.map((p) => (
              <li key={p.path}>
                <a
                  href={p.path}
                  aria-current={p.path === path ? 'page' : undefined}
                  onClick={(e) => {
                    e.preventDefault();
                    go(p.path);
                  }}
                >
                  {p.label}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div className="who">
          <span title={`groups: ${me.groups.join(', ') || 'none'}`}>{me.subject}</span>
          {me.roles.length > 0 && <span className="badge">{me.roles.join(', ')}</span>}
          <button
            type="button"
            className="link"
            onClick={() => api.signOut().finally(() => setMe(null))}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} aria-label={label}>
        <Suspense fallback={<p className="loading">Loading…</p>}>
          <Page me={me} stream={stream} go={go} onError={onError} />
        </Suspense>
      </main>
      <footer className="status" aria-live="polite">
        {stream.connected ? 'Live updates on' : 'Live updates reconnecting…'}
      </footer>
    </div>
  );
}
