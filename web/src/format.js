// Pure helpers: durations, countdowns and error texts. No DOM, no fetch.

const UNIT_SECONDS = { h: 3600, m: 60, s: 1 };

// "1h30m" -> 5400; null when the text is no jitd duration.
export function parseDuration(text) {
  const t = String(text ?? '').trim();
  if (!/^(\d+h)?(\d+m)?(\d+s)?$/.test(t) || t === '') return null;
  let total = 0;
  for (const [, n, unit] of t.matchAll(/(\d+)([hms])/g)) {
    total += Number(n) * UNIT_SECONDS[unit];
  }
  return total;
}

// 5400 -> "1h30m"; 0 -> "0s".
export function formatDuration(seconds) {
  let s = Math.max(0, Math.floor(seconds));
  if (s === 0) return '0s';
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}

// Remaining time as a clock: "1:02:03", "4:05", "0:09".
export function countdown(ms) {
  const total = Math.max(0, Math.ceil(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

// Durations offered in the picker: up to the policy's maximum.
export function durationChoices(maxSeconds) {
  const presets = [300, 900, 1800, 3600, 7200, 14400, 28800];
  const out = presets.filter((s) => s <= maxSeconds);
  if (!out.includes(maxSeconds)) out.push(maxSeconds);
  return out.map(formatDuration);
}

// A live check of a request form against the entitlement's rules; returns
// a list of plain-word problems (empty = looks fine to the policy).
export function formProblems(ent, { duration, justification, ticket }) {
  const problems = [];
  const max = parseDuration(ent.max_duration);
  const secs = parseDuration(duration);
  if (secs === null || secs < 1) {
    problems.push('Duration must look like 30m, 1h or 1h30m.');
  } else if (max !== null && secs > max) {
    problems.push(`Duration is longer than the policy allows (${ent.max_duration}).`);
  }
  const chars = [...String(justification ?? '').trim()].length;
  if (chars < ent.justification_min_chars) {
    problems.push(
      `Justification needs at least ${ent.justification_min_chars} characters (now ${chars}).`,
    );
  }
  if (ent.ticket_pattern) {
    let ok = true;
    try {
      ok = new RegExp(ent.ticket_pattern).test(ticket ?? '');
    } catch {
      ok = true; // the server decides when the browser cannot read the rule
    }
    if (!ok) problems.push(`Ticket must match ${ent.ticket_pattern}.`);
  }
  return problems;
}

const PLAIN = {
  self_approval:
    'You cannot decide your own request, not even under another name. Another approver has to do it.',
  not_an_approver: 'You are not one of the approvers this policy names for this request.',
  conflict: 'This request or grant has changed meanwhile (already decided, ended or expired).',
  unauthenticated: 'You are not signed in, or your session has ended. Sign in again.',
  forbidden: 'You are not allowed to do this.',
  rate_limited: 'Too many failed sign-ins from here. Wait a minute and try again.',
  too_large: 'That text is too long.',
  not_found: 'Not found: it may have been removed, or it is not visible to you.',
  unavailable: 'jitd cannot do this right now (a store or target is unavailable). Try again shortly.',
};

// {code, message, reasons} from the API -> {title, reasons} in plain words.
export function explainError(error) {
  const code = error?.code ?? 'internal';
  if (code === 'policy_denied') {
    const reasons = Array.isArray(error.reasons) ? error.reasons : [];
    return {
      title: 'The policy does not allow this request:',
      reasons: reasons.length ? reasons : [error.message ?? 'no reason given'],
    };
  }
  if (PLAIN[code]) return { title: PLAIN[code], reasons: [] };
  return { title: error?.message || 'Something went wrong.', reasons: [] };
}
