// Pure helpers of the Audit page: the search form <-> API query, and short
// texts for events. No DOM, no fetch.

// A <input type="datetime-local"> value (local wall time, no zone) as
// RFC 3339 UTC without fractions; null when empty or not a time.
export function localToRfc3339(value) {
  const text = String(value ?? '').trim();
  if (!text) return null;
  const d = new Date(text);
  if (Number.isNaN(d.getTime())) return null;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

// The inverse, for filling the form: RFC 3339 -> "YYYY-MM-DDTHH:MM" local.
export function rfc3339ToLocal(iso) {
  const d = new Date(iso ?? '');
  if (Number.isNaN(d.getTime())) return '';
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export const EMPTY_FILTER = {
  type: '',
  subject: '',
  request_id: '',
  grant_id: '',
  from: '',
  to: '',
};

// The form's fields -> query parameters of GET /v1/audit and
// /v1/audit/export: trimmed, empty ones left out, times in UTC.
// Returns {params, problems}; problems are plain-word sentences.
export function auditParams(filter) {
  const params = {};
  const problems = [];
  for (const key of ['type', 'subject', 'request_id', 'grant_id']) {
    const v = String(filter?.[key] ?? '').trim();
    if (v) params[key] = v;
  }
  for (const key of ['from', 'to']) {
    const raw = filter?.[key];
    if (!raw) continue;
    const t = localToRfc3339(raw);
    if (t === null) problems.push(`"${key === 'from' ? 'From' : 'To'}" is not a date and time.`);
    else params[key] = t;
  }
  if (params.from && params.to && params.from >= params.to) {
    problems.push('"From" must be before "To".');
  }
  return { params, problems };
}

// Who did what to whom, in a few words: "bob → alice", "jitd", "alice".
export function eventParties(e) {
  const actor = e?.actor ?? '';
  const subject = e?.subject ?? '';
  if (!subject || subject === actor) return actor || subject;
  if (!actor) return subject;
  return `${actor} → ${subject}`;
}

// Bidi controls (embeddings, overrides, isolates, marks) would reorder the
// text around them (THREATS T16): shown as JSON escapes instead.
const BIDI = /[\u061C\u200E\u200F\u202A-\u202E\u2066-\u2069]/g;
const escapeBidi = (text) =>
  text.replace(BIDI, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

// The event's data for display: pretty JSON of an object, the raw text of
// anything else (the API sends unparseable stored text as a string); bidi
// controls escaped either way.
export function eventDataText(data) {
  if (data === null || data === undefined) return '';
  if (typeof data === 'string') return escapeBidi(data);
  return escapeBidi(JSON.stringify(data, null, 2));
}
