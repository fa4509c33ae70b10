import { useState } from 'react';
import { UserText, When } from './common.jsx';

// Fields that only an auditor checking the chain needs.
const NOISE = new Set(['policy_version', 'binding', 'hash', 'prev_hash', 'kept_for_grants']);

// One line about the event's data: the person's words when there are any,
// else its short fields as "key: value".
function summary(e) {
  const d = e.data;
  if (!d || typeof d !== 'object') return String(d ?? '').slice(0, 200);
  for (const k of ['justification', 'reason', 'comment']) if (d[k]) return d[k];
  return Object.entries(d)
    .filter(([k, v]) => !NOISE.has(k) && v !== null && typeof v !== 'object' && String(v).length <= 40)
    .map(([k, v]) => `${k.replaceAll('_', ' ')}: ${v}`)
    .join(' · ')
    .slice(0, 200);
}

export default function Activity({ stream }) {
  const [filter, setFilter] = useState('');
  const f = filter.trim().toLowerCase();
  const shown = stream.events.filter(
    (e) => !f || [e.type, e.actor, e.subject, e.request_id, e.grant_id].some((x) => (x ?? '').toLowerCase().includes(f)),
  );
  return (
    <section>
      <h1>Activity</h1>
      <p className="hint">The audit log as it happens (what you may see of it), newest first.</p>
      <label htmlFor="filter">Filter</label>
      <input id="filter" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="type, person or id" />
      {shown.length === 0 ? (
        <p className="empty">No events yet.</p>
      ) : (
        <ol className="events" aria-label="Audit events" aria-live="polite">
          {shown.map((e) => (
            <li key={e.seq} className={`event ev-${e.type.replace('.', '-')}`}>
              <span className="seq">#{e.seq}</span>
              <When iso={e.time} />
              <span className="type">{e.type}</span>
              <span className="ev-who">
                <UserText>{e.actor}</UserText>
                {e.subject && e.subject !== e.actor ? (
                  <>
                    {' → '}
                    <UserText>{e.subject}</UserText>
                  </>
                ) : null}
              </span>
              <span className="data">
                <UserText>{summary(e)}</UserText>
              </span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}
