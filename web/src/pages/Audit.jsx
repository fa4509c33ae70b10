import { useCallback, useEffect, useState } from 'react';
import { api, auditExportHref } from '../api.js';
import { EMPTY_FILTER, auditParams, eventDataText } from '../audit_filter.js';
import { EVENT_TYPES } from '../stream.js';
import { ErrorBox, UserText, When } from './common.jsx';

const PAGE = 100;

// GET /v1/audit/verify: chain and checkpoints, for auditors and admins.
function VerifyStatus({ onError }) {
  const [state, setState] = useState({ busy: true, result: null, error: null });
  const verify = useCallback(() => {
    setState((s) => ({ ...s, busy: true }));
    api.verifyAudit().then(
      (result) => setState({ busy: false, result, error: null }),
      (error) => {
        setState({ busy: false, result: null, error });
        onError(error);
      },
    );
  }, [onError]);
  useEffect(verify, [verify]);
  const { busy, result, error } = state;
  return (
    <section className="panel verify" aria-labelledby="verify-h">
      <div className="row">
        <h2 id="verify-h">Chain verification</h2>
        <button type="button" className="secondary" disabled={busy} onClick={verify}>
          {busy ? 'Verifying…' : 'Verify again'}
        </button>
      </div>
      <ErrorBox error={error} />
      {result && (
        <div role="status" className={result.ok ? 'verdict ok' : 'verdict bad'}>
          <p>
            <strong>{result.ok ? 'Intact' : 'Broken'}</strong>
            {result.ok
              ? `: ${result.events} events chained, ${result.checkpoints ?? 0} signed checkpoints hold.`
              : `: first bad event #${result.first_bad_seq}.`}
          </p>
          {result.ok ? (
            <p className="hint">
              Head <code>{result.head}</code>
            </p>
          ) : (
            <p>
              <UserText>{result.reason}</UserText>
            </p>
          )}
        </div>
      )}
    </section>
  );
}

function EventRow({ e }) {
  return (
    <li className="audit-event">
      <details>
        <summary>
          <span className="seq">#{e.seq}</span> <When iso={e.time} /> <span className="type">{e.type}</span>{' '}
          <span className="ev-who">
            <UserText>{e.actor}</UserText>
            {e.subject && e.subject !== e.actor ? (
              <>
                {' → '}
                <UserText>{e.subject}</UserText>
              </>
            ) : null}
          </span>
        </summary>
        <dl className="facts">
          {e.request_id && (
            <>
              <dt>Request</dt>
              <dd>
                <code>{e.request_id}</code>
              </dd>
            </>
          )}
          {e.grant_id && (
            <>
              <dt>Grant</dt>
              <dd>
                <code>{e.grant_id}</code>
              </dd>
            </>
          )}
          <dt>Hash</dt>
          <dd>
            <code>{e.hash}</code>
          </dd>
          <dt>Previous</dt>
          <dd>
            <code>{e.prev_hash}</code>
          </dd>
        </dl>
        <pre className="data-json">{eventDataText(e.data)}</pre>
      </details>
    </li>
  );
}

export default function Audit({ me, onError }) {
  const [form, setForm] = useState(EMPTY_FILTER);
  const [query, setQuery] = useState({ params: {}, problems: [] });
  const [items, setItems] = useState(null);
  const [cursor, setCursor] = useState(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const auditor = me.roles.includes('auditor') || me.roles.includes('admin');

  // Newest first; `before` (the previous page's next_cursor) pages back to
  // older events.
  const load = useCallback(
    (params, before, previous) => {
      setBusy(true);
      api.audit({ ...params, order: 'newest', limit: PAGE, before: before ?? undefined }).then(
        (r) => {
          setError(null);
          setItems([...previous, ...r.items]);
          setCursor(r.next_cursor);
          setBusy(false);
        },
        (e) => {
          setError(e);
          setBusy(false);
          onError(e);
        },
      );
    },
    [onError],
  );
  useEffect(() => load({}, null, []), [load]);

  const search = (ev) => {
    ev.preventDefault();
    const q = auditParams(form);
    setQuery(q);
    if (q.problems.length === 0) load(q.params, null, []);
  };
  const field = (key) => ({
    id: `audit-${key}`,
    value: form[key],
    onChange: (e) => setForm({ ...form, [key]: e.target.value }),
  });

  return (
    <section>
      <h1>Audit</h1>
      {auditor ? (
        <VerifyStatus onError={onError} />
      ) : (
        <p className="hint">You see the events about you. Auditors see everything and can verify the chain.</p>
      )}
      <form className="panel audit-search" onSubmit={search} aria-label="Search the audit log">
        <div className="grid-fields">
          <div>
            <label htmlFor="audit-type">Event type</label>
            <select {...field('type')}>
              <option value="">any</option>
              {EVENT_TYPES.map((t) => (
                <option key={t} value={t}>
                  {t}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="audit-subject">Person (subject or actor)</label>
            <input {...field('subject')} autoComplete="off" />
          </div>
          <div>
            <label htmlFor="audit-request_id">Request id</label>
            <input {...field('request_id')} autoComplete="off" placeholder="req_…" />
          </div>
          <div>
            <label htmlFor="audit-grant_id">Grant id</label>
            <input {...field('grant_id')} autoComplete="off" placeholder="grt_…" />
          </div>
          <div>
            <label htmlFor="audit-from">From</label>
            <input type="datetime-local" {...field('from')} />
          </div>
          <div>
            <label htmlFor="audit-to">To (not included)</label>
            <input type="datetime-local" {...field('to')} />
          </div>
        </div>
        {query.problems.length > 0 && (
          <div className="error" role="alert">
            <ul>
              {query.problems.map((p) => (
                <li key={p}>{p}</li>
              ))}
            </ul>
          </div>
        )}
        <div className="actions">
          <button type="submit" disabled={busy}>
            Search
          </button>
          <button
            type="button"
            className="secondary"
            onClick={() => {
              setForm(EMPTY_FILTER);
              setQuery({ params: {}, problems: [] });
              load({}, null, []);
            }}
          >
            Clear
          </button>
          <span className="exports">
            Export this search:{' '}
            <a href={auditExportHref('jsonl', query.params)} download="jitd-audit.jsonl">
              JSON Lines
            </a>{' '}
            ·{' '}
            <a href={auditExportHref('csv', query.params)} download="jitd-audit.csv">
              CSV
            </a>
          </span>
        </div>
      </form>
      <ErrorBox error={error} />
      {items === null ? (
        <p className="loading">Loading…</p>
      ) : (
        <>
          <p className="hint" role="status">
            {items.length} event{items.length === 1 ? '' : 's'} shown, newest first
            {cursor ? '; older ones may follow' : ''}.
          </p>
          {items.length > 0 && (
            <ol className="audit-events" aria-label="Search results">
              {items.map((e) => (
                <EventRow key={e.seq} e={e} />
              ))}
            </ol>
          )}
          {cursor && (
            <button type="button" className="secondary" disabled={busy} onClick={() => load(query.params, cursor, items)}>
              {busy ? 'Loading…' : 'Show older events'}
            </button>
          )}
        </>
      )}
    </section>
  );
}
