import { useEffect, useState } from 'react';
import { explainError } from '../format.js';

// An API error in plain words, announced to screen readers.
export function ErrorBox({ error }) {
  if (!error) return null;
  const { title, reasons } = explainError(error.error ?? error);
  return (
    <div className="error" role="alert">
      <p>{title}</p>
      {reasons.length > 0 && (
        <ul>
          {reasons.map((r, i) => (
            <li key={i}>{r}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

// User-written text (justifications, comments): always a text node, in a
// bidi-isolated span so RTL overrides cannot reorder what follows.
export function UserText({ children, className }) {
  return (
    <bdi className={`user-text ${className ?? ''}`} dir="auto">
      {String(children ?? '')}
    </bdi>
  );
}

// The current time, re-rendered every second (for countdowns only; no
// server calls hang off it).
export function useNow() {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  return now;
}

export function When({ iso }) {
  if (!iso) return null;
  const d = new Date(iso);
  return (
    <time dateTime={iso} title={iso}>
      {d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })}
    </time>
  );
}

export const STATE_LABEL = {
  pending: 'waiting for approval',
  approved: 'approved',
  active: 'active',
  denied: 'denied',
  cancelled: 'cancelled',
  timed_out: 'timed out',
  rejected: 'rejected',
  expired: 'expired',
  ended: 'ended',
  revoke_pending: 'being revoked',
};

export function StateBadge({ state }) {
  return <span className={`state state-${state}`}>{STATE_LABEL[state] ?? state}</span>;
}
