import { useEffect, useMemo, useState } from 'react';
import { api } from '../api.js';
import { durationChoices, formProblems, parseDuration } from '../format.js';
import { ErrorBox, StateBadge } from './common.jsx';

function Limits({ ent }) {
  return (
    <ul className="limits">
      <li>up to {ent.max_duration}</li>
      <li>
        {ent.auto_approve
          ? 'approved automatically'
          : `${ent.approvals_required} approval${ent.approvals_required === 1 ? '' : 's'} needed`}
      </li>
      {ent.justification_min_chars > 0 && (
        <li>justification of {ent.justification_min_chars}+ characters</li>
      )}
      {ent.ticket_pattern && <li>ticket matching {ent.ticket_pattern}</li>}
      {ent.emergency_allowed && (
        <li>emergency use allowed{ent.emergency_max_duration ? ` (up to ${ent.emergency_max_duration})` : ''}</li>
      )}
    </ul>
  );
}

export default function RequestAccess({ go, stream, onError }) {
  const [items, setItems] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [chosen, setChosen] = useState('');
  const [form, setForm] = useState({ duration: '', justification: '', ticket: '', emergency: false });
  const [error, setError] = useState(null);
  const [created, setCreated] = useState(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.entitlements().then(
      (r) => setItems(r.items),
      (e) => {
        setLoadError(e);
        onError(e);
      },
    );
  }, [onError]);

  // The created request's state follows the live stream.
  useEffect(() => {
    if (!created) return;
    api.requests({ subject: created.subject, limit: 50 }).then((r) => {
      const now = r.items.find((x) => x.id === created.id);
      if (now && now.state !== created.state) setCreated(now);
    }, onError);
  }, [stream.version]);

  const ent = useMemo(() => items?.find((x) => x.entitlement === chosen), [items, chosen]);
  const problems = ent ? formProblems(ent, form) : [];
  const set = (k) => (e) =>
    setForm((f) => ({ ...f, [k]: e.target.type === 'checkbox' ? e.target.checked : e.target.value }));

  const pick = (name) => {
    setChosen(name);
    setError(null);
    setCreated(null);
    const e = items.find((x) => x.entitlement === name);
    const choices = durationChoices(parseDuration(e.max_duration) ?? 3600);
    setForm((f) => ({ ...f, duration: choices.includes('30m') ? '30m' : choices[choices.length - 1] }));
  };

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setCreated(null);
    try {
      const body = {
        entitlement: chosen,
        duration: form.duration.trim(),
        justification: form.justification,
      };
      if (form.ticket.trim()) body.ticket = form.ticket.trim();
      if (form.emergency) body.emergency = true;
      setCreated(await api.createRequest(body));
    } catch (err) {
      setError(err);
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  if (loadError) return <ErrorBox error={loadError} />;
  if (!items) return <p className="loading">Loading entitlements…</p>;

  return (
    <section>
      <h1>Request access</h1>
      {items.length === 0 && <p>No policy lets you request anything yet.</p>}
      <fieldset className="entitlements">
        <legend>What do you need?</legend>
        {items.map((x) => (
          <label key={x.entitlement} className={`choice ${chosen === x.entitlement ? 'chosen' : ''}`}>
            <input
              type="radio"
              name="entitlement"
              value={x.entitlement}
              checked={chosen === x.entitlement}
              onChange={() => pick(x.entitlement)}
            />
            <span className="choice-body">
              <strong>{x.entitlement}</strong>
              {x.description && <span className="desc">{x.description}</span>}
              <span className="policy">policy {x.policy}</span>
              <Limits ent={x} />
            </span>
          </label>
        ))}
      </fieldset>

      {ent && (
        <form onSubmit={submit} className="request-form" aria-describedby="rules">
          <label htmlFor="duration">For how long</label>
          <input
            id="duration"
            list="duration-choices"
            value={form.duration}
            onChange={set('duration')}
            aria-describedby="duration-hint"
            required
          />
          <datalist id="duration-choices">
            {durationChoices(parseDuration(ent.max_duration) ?? 3600).map((d) => (
              <option key={d} value={d} />
            ))}
          </datalist>
          <p id="duration-hint" className="hint">
            e.g. 15m, 1h, 1h30m — at most {ent.max_duration}
          </p>

          <label htmlFor="justification">Why (justification)</label>
          <textarea
            id="justification"
            rows={3}
            maxLength={4096}
            value={form.justification}
            onChange={set('justification')}
            aria-describedby="justification-hint"
          />
          <p id="justification-hint" className="hint">
            {ent.justification_min_chars > 0
              ? `At least ${ent.justification_min_chars} characters: say what you will do and why.`
              : 'Say what you will do and why.'}
          </p>

          <label htmlFor="ticket">Ticket{ent.ticket_pattern ? '' : ' (optional)'}</label>
          <input id="ticket" value={form.ticket} onChange={set('ticket')} aria-describedby="ticket-hint" />
          <p id="ticket-hint" className="hint">
            {ent.ticket_pattern ? `Must match ${ent.ticket_pattern}` : 'Any reference, if you have one.'}
          </p>

          {ent.emergency_allowed && (
            <label className="check">
              <input type="checkbox" checked={form.emergency} onChange={set('emergency')} />
              Emergency (break-glass): starts at once, reviewed afterwards
            </label>
          )}

          <div id="rules" className="rules" role="status">
            {problems.length === 0 ? (
              <p className="ok">Meets the policy's rules.</p>
            ) : (
              <ul>
                {problems.map((p) => (
                  <li key={p}>{p}</li>
                ))}
              </ul>
            )}
          </div>
          <button type="submit" disabled={busy}>
            {busy ? 'Sending…' : 'Request access'}
          </button>
        </form>
      )}

      <ErrorBox error={error} />
      {created && (
        <div className="notice" role="status">
          <p>
            Request <code>{created.id}</code> for <strong>{created.entitlement}</strong>:{' '}
            <StateBadge state={created.state} />
          </p>
          <button type="button" className="link" onClick={() => go('/access')}>
            See it under My access
          </button>
        </div>
      )}
    </section>
  );
}
