import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { countdown } from '../format.js';
import { ErrorBox, StateBadge, UserText, When, useNow } from './common.jsx';

const ENDED_HOW = {
  expired: 'expired at the end of its time',
  completed: 'ended early (task done)',
  revoked: 'revoked',
};

function ActiveGrant({ grant, now, onChanged, onError }) {
  const [extending, setExtending] = useState(false);
  const [ext, setExt] = useState({ duration: '30m', justification: '' });
  const [error, setError] = useState(null);
  const [note, setNote] = useState(null);
  const left = new Date(grant.expires_at).getTime() - now;

  const act = async (fn, done) => {
    setError(null);
    try {
      const out = await fn();
      setNote(done(out));
      onChanged();
    } catch (e) {
      setError(e);
      onError(e);
    }
  };

  return (
    <li className="card grant" data-grant={grant.id}>
      <div className="row">
        <strong>{grant.entitlement}</strong>
        <StateBadge state={grant.state} />
      </div>
      <p className="countdown" aria-label="time left">
        {left > 0 ? (
          <>
            <span className="clock">{countdown(left)}</span> left
          </>
        ) : (
          'expiring now…'
        )}
      </p>
      <p className="meta">
        until <When iso={grant.expires_at} /> · <code>{grant.id}</code>
      </p>
      {grant.state === 'active' && (
        <div className="actions">
          <button
            type="button"
            onClick={() => act(() => api.endGrant(grant.id, 'task done'), () => 'Ended.')}
          >
            I'm done
          </button>
          <button type="button" className="secondary" onClick={() => setExtending((x) => !x)} aria-expanded={extending}>
            Extend…
          </button>
        </div>
      )}
      {extending && (
        <form
          className="extend"
          onSubmit={(e) => {
            e.preventDefault();
            act(
              () => api.extendGrant(grant.id, ext.duration.trim(), ext.justification),
              (r) => `Extension requested (${r.id}): ${r.state}.`,
            );
            setExtending(false);
          }}
        >
          <label htmlFor={`ext-d-${grant.id}`}>Extend by</label>
          <input
            id={`ext-d-${grant.id}`}
            value={ext.duration}
            onChange={(e) => setExt({ ...ext, duration: e.target.value })}
          />
          <label htmlFor={`ext-j-${grant.id}`}>Why</label>
          <input
            id={`ext-j-${grant.id}`}
            value={ext.justification}
            onChange={(e) => setExt({ ...ext, justification: e.target.value })}
          />
          <button type="submit">Ask to extend</button>
        </form>
      )}
      {note && <p role="status">{note}</p>}
      <ErrorBox error={error} />
    </li>
  );
}

function PendingRequest({ req, onChanged, onError }) {
  const [error, setError] = useState(null);
  return (
    <li className="card" data-request={req.id}>
      <div className="row">
        <strong>{req.entitlement}</strong>
        <StateBadge state={req.state} />
      </div>
      <p>
        for {req.duration} · {req.approvals.length}/{req.approvals_required} approvals
      </p>
      <p className="quote">
        <UserText>{req.justification}</UserText>
      </p>
      <button
        type="button"
        className="secondary"
        onClick={() =>
          api.cancel(req.id).then(onChanged, (e) => {
            setError(e);
            onError(e);
          })
        }
      >
        Cancel request
      </button>
      <ErrorBox error={error} />
    </li>
  );
}

export default function MyAccess({ me, stream, onError }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  const now = useNow();

  const load = useCallback(() => {
    Promise.all([
      api.grants({ subject: me.subject, limit: 100 }),
      api.requests({ subject: me.subject, limit: 100 }),
    ]).then(
      ([g, r]) => {
        setError(null);
        setData({ grants: g.items, requests: r.items });
      },
      (e) => {
        setError(e);
        onError(e);
      },
    );
  }, [me.subject, onError]);

  useEffect(load, [load, stream.version]);

  if (error) return <ErrorBox error={error} />;
  if (!data) return <p className="loading">Loading…</p>;

  const byNewest = (a, b) => (a.starts_at < b.starts_at ? 1 : -1);
  const live = data.grants.filter((g) => g.state !== 'ended').sort(byNewest);
  const ended = data.grants.filter((g) => g.state === 'ended').sort(byNewest).slice(0, 10);
  const waiting = data.requests.filter((r) => r.state === 'pending' || r.state === 'approved');

  return (
    <section>
      <h1>My access</h1>
      <h2>Active now</h2>
      {live.length === 0 ? (
        <p className="empty">You hold no privileges right now.</p>
      ) : (
        <ul className="cards" aria-label="Active grants">
          {live.map((g) => (
            <ActiveGrant key={g.id} grant={g} now={now} onChanged={load} onError={onError} />
          ))}
        </ul>
      )}
      <h2>Waiting</h2>
      {waiting.length === 0 ? (
        <p className="empty">No requests waiting.</p>
      ) : (
        <ul className="cards" aria-label="Waiting requests">
          {waiting.map((r) => (
            <PendingRequest key={r.id} req={r} onChanged={load} onError={onError} />
          ))}
        </ul>
      )}
      <h2>Ended recently</h2>
      {ended.length === 0 ? (
        <p className="empty">Nothing ended yet.</p>
      ) : (
        <ul className="cards" aria-label="Ended grants">
          {ended.map((g) => (
            <li key={g.id} className="card ended" data-grant={g.id}>
              <div className="row">
                <strong>{g.entitlement}</strong>
                <StateBadge state={g.ended_reason === 'expired' ? 'expired' : 'ended'} />
              </div>
              <p className="meta">
                {ENDED_HOW[g.ended_reason] ?? g.ended_reason ?? 'ended'} ·{' '}
                <When iso={g.ended_at ?? g.expires_at} />
              </p>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
