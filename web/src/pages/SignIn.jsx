import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { ErrorBox } from './common.jsx';

export default function SignIn({ onSignedIn }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const [oidc, setOidc] = useState(null);

  useEffect(() => {
    let live = true;
    api
      .oidcSignIn()
      .then((info) => live && setOidc(info))
      .catch(() => {}); // off or unreachable: the token form remains
    return () => {
      live = false;
    };
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const me = await api.signIn(token.trim());
      setToken('');
      onSignedIn(me);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin" id="main">
      <h1>Sign in to jitd</h1>
      {oidc && (
        <>
          {/* A top-level navigation: jitd sends the browser to the IdP and
              exchanges the code itself, so no token reaches this page. */}
          <a className="button sso" href={oidc.start}>
            Sign in with {issuerName(oidc.issuer)}
          </a>
          <p className="or">or</p>
        </>
      )}
      <p className="hint">
        Paste your jitd access token. It is exchanged for a browser session
        and not kept by this page.
      </p>
      <form onSubmit={submit}>
        <label htmlFor="token">Access token</label>
        <input
          id="token"
          type="password"
          autoComplete="off"
          autoFocus
          value={token}
          onChange={(e) => setToken(e.target.value)}
          required
        />
        <button type="submit" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

// The issuer's host, as people know their identity provider.
function issuerName(issuer) {
  try {
    return new URL(issuer).host;
  } catch {
    return issuer;
  }
}
