import { useEffect, useState } from 'react';

// Every audit event type jitd writes; SSE delivers named events only to
// listeners of that name.
export const EVENT_TYPES = [
  'request.created', 'request.rejected', 'request.approved', 'request.denied',
  'request.cancelled', 'request.timed_out', 'grant.activated', 'grant.extended',
  'grant.revoked', 'grant.expired', 'grant.expiring', 'grant.revoke_failed',
  'grant.sessions_killed', 'grant.activity', 'grant.credential_issued',
  'emergency.used', 'emergency.reviewed', 'breakglass.issued', 'policy.loaded',
  'drift.found', 'token.created', 'token.revoked', 'audit.checkpoint',
  'audit.verify_failed',
];

const KEEP = 300; // events kept for the Activity page
const LATEST = 100; // events shown when the page opens

// One EventSource on GET /v1/audit/stream (the session cookie goes with
// it). Returns {events (newest first), version, connected}; `version`
// changes whenever an event arrives, and pages reload what they show on
// that change instead of polling.
export function useAuditStream(enabled) {
  const [state, setState] = useState({ events: [], version: 0, connected: false });
  useEffect(() => {
    if (!enabled) return undefined;
    // The newest events first, then live; a reconnect resumes from the
    // last event seen (the browser sends Last-Event-ID, which wins).
    const source = new EventSource(`/v1/audit/stream?latest=${LATEST}`);
    let pending = [];
    let timer = null;
    // Replayed history arrives in a burst: apply it in one render.
    const flush = () => {
      timer = null;
      const batch = pending;
      pending = [];
      setState((s) => ({
        events: [...batch.reverse(), ...s.events].slice(0, KEEP),
        version: s.version + 1,
        connected: true,
      }));
    };
    const onEvent = (msg) => {
      try {
        pending.push(JSON.parse(msg.data));
      } catch {
        return;
      }
      if (timer === null) timer = setTimeout(flush, 150);
    };
    for (const t of EVENT_TYPES) source.addEventListener(t, onEvent);
    source.onopen = () => setState((s) => ({ ...s, connected: true }));
    source.onerror = () => setState((s) => ({ ...s, connected: false }));
    return () => {
      if (timer !== null) clearTimeout(timer);
      source.close();
    };
  }, [enabled]);
  return state;
}
