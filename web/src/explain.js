// POST /v1/policies/explain answers in plain words. Pure.

// -> {allowed, title, lines}: the verdict as a sentence, then facts
// (approvals, limits) when allowed or the policy's reasons when not.
export function explainAnswer(a) {
  const who = a?.subject?.name ?? 'This subject';
  if (!a?.allowed) {
    const reasons = Array.isArray(a?.reasons) && a.reasons.length ? a.reasons : ['no reason given'];
    return { allowed: false, title: `No: ${who} would not get this.`, lines: reasons };
  }
  const lines = [];
  if (a.needs_approval) {
    const n = a.approvals_required;
    const from = [...(a.approvers?.groups ?? []).map((g) => `group ${g}`), ...(a.approvers?.users ?? [])];
    lines.push(
      `Needs ${n} approval${n === 1 ? '' : 's'} from different people` +
        (from.length ? ` (${from.join(', ')}).` : '.'),
    );
    if (a.approval_timeout) lines.push(`Unanswered requests time out after ${a.approval_timeout}.`);
  } else {
    lines.push('Approved automatically.');
  }
  if (a.max_duration) lines.push(`At most ${a.max_duration}.`);
  if (a.second_factor_required) lines.push('The request needs a second factor (MFA).');
  if (a.approver_second_factor_required) lines.push('Approvers must show a second factor when they decide.');
  if (Array.isArray(a.notify) && a.notify.length) lines.push(`Notifies ${a.notify.join(', ')}.`);
  return { allowed: true, title: `Yes: allowed by policy ${a.policy}.`, lines };
}

// Who a policy lets ask, in words: "groups dev, ops; users alice".
export function whoMayAsk(subjects) {
  const parts = [];
  const add = (label, list) => {
    if (Array.isArray(list) && list.length) parts.push(`${label} ${list.join(', ')}`);
  };
  add('groups', subjects?.groups);
  add('users', subjects?.users);
  add('machine tokens', subjects?.tokens);
  return parts.length ? parts.join('; ') : 'nobody';
}

// How a policy approves: "automatic" or "1 of group sre (MFA)".
export function approvalText(approval) {
  if (!approval || approval.auto) return 'automatic';
  const from = [...(approval.groups ?? []).map((g) => `group ${g}`), ...(approval.users ?? [])];
  let t = `${approval.count} distinct approver${approval.count === 1 ? '' : 's'}`;
  if (from.length) t += ` from ${from.join(', ')}`;
  if (approval.mfa) t += ', with a second factor';
  if (approval.timeout) t += `; times out after ${approval.timeout}`;
  return t;
}
