import { useCallback, useEffect, useState } from 'react';
import { api } from '../api.js';
import { ErrorBox, StateBadge, UserText, When } from './common.jsx';

// The requester's earlier requests (GET /v1/requests/{id}/history: open to
// whoever may decide this one), fetched when the disclosure opens.
function History({ requestId, onError }) {
  const [items, setItems] = useState(null);
  useEffect(() => {
    api.history(requestId).then(
      (r) => setItems(r.items),
      (e) => {
        setItems([]);
        onError(e);
      },
    );
  }, [requestId, onError]);
  if (items === null) return <p className="hint">Loading earlier requests…</p>;
  if (items.length === 0) return <p className="hint">No earlier requests visible to you.</p>;
  return (
    <ul className="history">
      {items.map((x) => (
        <li key={x.id}>
          <When iso={x.created_at} /> {x.entitlement} for {x.duration} <StateBadge state={x.state} />
          {x.justification && (
            <>
              {' '}
              <span className="hint">
                “<UserText>{x.justification}</UserText>”
              </span>
            </>
          )}
        </li>
      ))}
    </ul>
  );
}

function EarlierRequests({ req, onError }) {
  const [open, setOpen] = useState(false);
  return (
    <details onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>
        Earlier requests of <UserText>{req.subject}</UserText>
      </summary>
      {open && <History requestId={req.id} onError={onError} />}
    </details>
  );
}

function Decision({ req, me, onDecided, onError }) {
  const [comment, setComment] = useState('');
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const own = req.subject === me.subject;
  const already = req.approvals.some((a) => a.approver === me.subject);

  const decide = async (verb) => {
    setBusy(true);
    setError(null);
    try {
      await (verb === 'approve' ? api.approve(req.id, comment) : api.deny(req.id, comment));
      onDecided();
    } catch (e) {
      setError(e);
      onError(e);
    } finally {
      setBusy(false);
    }
  };

  // Buttons are named after the request they decide: a list of cards
  // holds many of them.
  const whose = `${req.subject}'s request for ${req.entitlement}`;
  return (
    <li className="card" data-request={req.id}>
      <div className="row">
        <strong>
          <UserText>{req.subject}</UserText> wants {req.entitlement}
        </strong>
        <StateBadge state={req.state} />
      </div>
      <dl className="facts">
        <dt>For</dt>
        <dd>
          {req.duration}
          {req.emergency ? ' (emergency)' : ''}
        </dd>
        <dt>Why</dt>
        <dd className="quote">
          <UserText>{req.justification}</UserText>
        </dd>
        {req.ticket && (
          <>
            <dt>Ticket</dt>
            <dd>
              <UserText>{req.ticket}</UserText>
            </dd>
          </>
        )}
        <dt>Policy</dt>
        <dd>
          {req.policy} · {req.approvals.length}/{req.approvals_required} approvals
        </dd>
        <dt>Asked</dt>
        <dd>
          <When iso={req.created_at} />
        </dd>
      </dl>
      <EarlierRequests req={req} onError={onError} />
      {own ? (
        <p className="own">This is your own request: another approver has to decide it.</p>
      ) : already ? (
        <p className="own">You approved this already; it waits for another approver.</p>
      ) : (
        <div className="decide">
          <label htmlFor={`c-${req.id}`}>Comment (optional)</label>
          <input id={`c-${req.id}`} value={comment} onChange={(e) => setComment(e.target.value)} />
          <div className="actions">
            <button type="button" disabled={busy} onClick={() => decide('approve')} aria-label={`Approve ${whose}`}>
              Approve
            </button>
            <button
              type="button"
              className="danger"
              disabled={busy}
              onClick={() => decide('deny')}
              aria-label={`Deny ${whose}`}
            >
              Deny
            </button>
          </div>
        </div>
      )}
      <ErrorBox error={error} />
    </li>
  );
}

export default function Inbox({ me, stream, onError }) {
  const [items, setItems] = useState(null);
  const [error, setError] = useState(null);
  const load = useCallback(() => {
    api.requests({ state: 'pending', limit: 200 }).then(
      (r) => {
        setError(null);
        setItems(r.items);
      },
      (e) => {
        setError(e);
        onError(e);
      },
    );
  }, [onError]);
  useEffect(load, [load, stream.version]);

  if (error) return <ErrorBox error={error} />;
  if (!items) return <p className="loading">Loading…</p>;
  return (
    <section>
      <h1>Approvals</h1>
      {items.length === 0 ? (
        <p className="empty">Nothing waits for a decision.</p>
      ) : (
        <ul className="cards" aria-label="Pending requests">
          {items.map((r) => (
            <Decision key={r.id} req={r} me={me} onDecided={load} onError={onError} />
          ))}
        </ul>
      )}
    </section>
  );
}
