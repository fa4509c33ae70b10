import { useEffect, useState } from 'react';
import { api } from '../api.js';
import { approvalText, explainAnswer, whoMayAsk } from '../explain.js';
import { ErrorBox, UserText } from './common.jsx';

function PolicyCard({ p }) {
  const r = p.require;
  return (
    <li className="card policy">
      <h3>{p.name}</h3>
      <dl className="facts">
        <dt>Who may ask</dt>
        <dd>{whoMayAsk(p.subjects)}</dd>
        <dt>For</dt>
        <dd>{p.entitlements.join(', ')}</dd>
        <dt>At most</dt>
        <dd>{p.max_duration ?? "the entitlement's maximum"}</dd>
        <dt>Approval</dt>
        <dd>{approvalText(p.approval)}</dd>
        <dt>Justification</dt>
        <dd>{r.justification_min_chars ? `at least ${r.justification_min_chars} characters` : 'optional'}</dd>
        <dt>Ticket</dt>
        <dd>{r.ticket_pattern ? <code>{r.ticket_pattern}</code> : 'not needed'}</dd>
        {r.mfa && (
          <>
            <dt>Second factor</dt>
            <dd>required with each request</dd>
          </>
        )}
        <dt>Emergency</dt>
        <dd>
          {p.emergency.allowed
            ? `allowed${p.emergency.max_duration ? `, at most ${p.emergency.max_duration}` : ''}` +
              (p.emergency.notify.length ? `; notifies ${p.emergency.notify.join(', ')}` : '')
            : 'not allowed'}
        </dd>
        {p.time_windows.length > 0 && (
          <>
            <dt>When</dt>
            <dd>{p.time_windows.join('; ')}</dd>
          </>
        )}
      </dl>
    </li>
  );
}

function ExplainForm({ me, data, onError }) {
  const mayOthers = me.roles.includes('auditor') || me.roles.includes('admin');
  const [form, setForm] = useState({
    subject: me.subject,
    groups: '',
    entitlement: data.entitlements[0]?.name ?? '',
    duration: '30m',
    justification: '',
    ticket: '',
    emergency: false,
    mfa: false,
  });
  const [answer, setAnswer] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const set = (key) => (e) =>
    setForm({ ...form, [key]: e.target.type === 'checkbox' ? e.target.checked : e.target.value });

  const submit = async (e) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setAnswer(null);
    const body = {
      entitlement: form.entitlement,
      duration: form.duration.trim(),
      justification: form.justification,
      ticket: form.ticket,
      emergency: form.emergency,
      mfa: form.mfa,
    };
    if (mayOthers && form.subject.trim() && form.subject.trim() !== me.subject) body.subject = form.subject.trim();
    const groups = form.groups
      .split(',')
      .map((g) => g.trim())
      .filter(Boolean);
    if (mayOthers && groups.length) body.groups = groups;
    try {
      setAnswer(explainAnswer(await api.explain(body)));
    } catch (err) {
      setError(err);
      onError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <form className="panel explain" onSubmit={submit} aria-labelledby="explain-h">
      <h2 id="explain-h">Explain: would this be allowed?</h2>
      <p className="hint">
        A dry run through the same rules a request meets; nothing is recorded.
        {mayOthers ? ' As an auditor you may ask about anyone.' : ' You can ask about yourself.'}
      </p>
      <div className="grid-fields">
        {mayOthers && (
          <>
            <div>
              <label htmlFor="x-subject">User</label>
              <input id="x-subject" value={form.subject} onChange={set('subject')} autoComplete="off" />
            </div>
            <div>
              <label htmlFor="x-groups">Groups (comma-separated; empty: as jitd knows them)</label>
              <input id="x-groups" value={form.groups} onChange={set('groups')} autoComplete="off" />
            </div>
          </>
        )}
        <div>
          <label htmlFor="x-entitlement">Entitlement</label>
          <select id="x-entitlement" value={form.entitlement} onChange={set('entitlement')}>
            {data.entitlements.map((e) => (
              <option key={e.name} value={e.name}>
                {e.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="x-duration">For how long</label>
          <input id="x-duration" value={form.duration} onChange={set('duration')} placeholder="30m, 1h, 1h30m" />
        </div>
        <div className="wide-field">
          <label htmlFor="x-justification">Justification</label>
          <input id="x-justification" value={form.justification} onChange={set('justification')} />
        </div>
        <div>
          <label htmlFor="x-ticket">Ticket</label>
          <input id="x-ticket" value={form.ticket} onChange={set('ticket')} />
        </div>
      </div>
      <label className="check">
        <input type="checkbox" checked={form.emergency} onChange={set('emergency')} /> Emergency
      </label>
      <label className="check">
        <input type="checkbox" checked={form.mfa} onChange={set('mfa')} /> Assume a second factor is shown
      </label>
      <button type="submit" disabled={busy || !form.entitlement}>
        Explain
      </button>
      <ErrorBox error={error} />
      {answer && (
        <div className={answer.allowed ? 'notice' : 'error'} role="status" aria-label="Explanation">
          <p>
            <strong>{answer.title}</strong>
          </p>
          <ul>
            {answer.lines.map((l, i) => (
              <li key={i}>
                <UserText>{l}</UserText>
              </li>
            ))}
          </ul>
        </div>
      )}
    </form>
  );
}

export default function Policies({ me, onError }) {
  const [data, setData] = useState(null);
  const [error, setError] = useState(null);
  useEffect(() => {
    api.policies().then(setData, (e) => {
      setError(e);
      onError(e);
    });
  }, [onError]);
  if (error) return <ErrorBox error={error} />;
  if (!data) return <p className="loading">Loading…</p>;
  return (
    <section>
      <h1>Policies</h1>
      <p className="hint">
        The rules in force (read-only), version <code>{data.version.slice(0, 12)}</code>.
      </p>
      <ExplainForm me={me} data={data} onError={onError} />
      <h2>Entitlements</h2>
      <div className="panel table-wrap">
        <table className="numbers wide">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">What</th>
              <th scope="col">Connector</th>
              <th scope="col">At most</th>
            </tr>
          </thead>
          <tbody>
            {data.entitlements.map((e) => (
              <tr key={e.name}>
                <td>{e.name}</td>
                <td>
                  <UserText>{e.description}</UserText>
                </td>
                <td>{e.connector}</td>
                <td>{e.max_duration}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h2>Policies</h2>
      <ul className="cards" aria-label="Policies">
        {data.policies.map((p) => (
          <PolicyCard key={p.name} p={p} />
        ))}
      </ul>
    </section>
  );
}
