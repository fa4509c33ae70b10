import { describe, expect, test } from 'vitest';
import { auditParams, eventDataText, eventParties, localToRfc3339, rfc3339ToLocal } from './audit_filter.js';
import { cutLabel, durationRows, refusalRows, shortSeconds, spreadRows, usageRows } from './report_data.js';
import { approvalText, explainAnswer, whoMayAsk } from './explain.js';

describe('audit filter', () => {
  test('local times become RFC 3339 UTC and back', () => {
    const iso = localToRfc3339('2026-11-24T10:30');
    expect(iso).toMatch(/^2026-11-2[345]T\d\d:30:00Z$/);
    expect(new Date(iso).getTime()).toBe(new Date('2026-11-24T10:30').getTime());
    expect(rfc3339ToLocal(iso)).toBe('2026-11-24T10:30');
    expect(localToRfc3339('')).toBeNull();
    expect(localToRfc3339('tomorrow')).toBeNull();
    expect(rfc3339ToLocal('nonsense')).toBe('');
  });

  test('empty fields are left out and text is trimmed', () => {
    const { params, problems } = auditParams({ type: '', subject: ' bob ', request_id: 'req_1', grant_id: '' });
    expect(params).toEqual({ subject: 'bob', request_id: 'req_1' });
    expect(problems).toEqual([]);
  });

  test('a bad or reversed time range is a problem, not a query', () => {
    expect(auditParams({ from: 'x' }).problems).toEqual(['"From" is not a date and time.']);
    const r = auditParams({ from: '2026-11-24T10:00', to: '2026-11-24T09:00' });
    expect(r.problems).toEqual(['"From" must be before "To".']);
  });

  test('parties and data read as text', () => {
    expect(eventParties({ actor: 'bob', subject: 'alice' })).toBe('bob → alice');
    expect(eventParties({ actor: 'alice', subject: 'alice' })).toBe('alice');
    expect(eventParties({ actor: 'jitd', subject: '' })).toBe('jitd');
    expect(eventDataText({ a: 1 })).toBe('{\n  "a": 1\n}');
    expect(eventDataText('<b>raw</b>')).toBe('<b>raw</b>');
    expect(eventDataText(null)).toBe('');
    expect(eventDataText({ j: 'a\u202Etxt.exe\u202C' })).toBe('{\n  "j": "a\\u202etxt.exe\\u202c"\n}');
    expect(eventDataText('x\u2067y')).toBe('x\\u2067y');
  });
});

describe('report data', () => {
  test('seconds read short', () => {
    expect(shortSeconds(45)).toBe('45s');
    expect(shortSeconds(5400)).toBe('1h 30m');
    expect(shortSeconds(90000)).toBe('1d 1h');
    expect(shortSeconds(60)).toBe('1m');
    expect(shortSeconds(null)).toBe('–');
  });

  test('usage and duration rows', () => {
    const rows = [
      { entitlement: 'db', requests: 3, grants: 2, rejected: 1, emergency: 0, held_seconds_p50: 600, held_seconds_max: 1800 },
      { entitlement: 'idle', requests: 1, grants: 0, rejected: 1, emergency: 0 },
    ];
    expect(usageRows(rows, 'entitlement')).toEqual([
      { name: 'db', requests: 3, grants: 2, rejected: 1, emergency: 0 },
      { name: 'idle', requests: 1, grants: 0, rejected: 1, emergency: 0 },
    ]);
    expect(durationRows(rows)).toEqual([{ name: 'db', median: 600, longest: 1800 }]);
    expect(usageRows(undefined, 'x')).toEqual([]);
  });

  test('spreads in seconds, refusals by count, labels cut', () => {
    expect(spreadRows({ count: 2, p50: 1500, p90: 2500, max: 4000 }, 'ms').map((r) => r.seconds)).toEqual([1.5, 2.5, 4]);
    expect(spreadRows({ p50: 30, p90: 60, max: 90 }).map((r) => r.seconds)).toEqual([30, 60, 90]);
    expect(refusalRows({ denied: [{ reason: 'too long', count: 2 }, { reason: 'no ticket', count: 1 }] })).toEqual([
      { key: '#1', reason: 'too long', count: 2 },
      { key: '#2', reason: 'no ticket', count: 1 },
    ]);
    expect(refusalRows({})).toEqual([]);
    expect(cutLabel('short')).toBe('short');
    expect(cutLabel('a-very-long-entitlement-name', 10)).toBe('a-very-lo…');
  });
});

describe('explain', () => {
  test('a denial lists the reasons', () => {
    const r = explainAnswer({ allowed: false, subject: { name: 'alice' }, reasons: ['duration 2h exceeds 1h'] });
    expect(r).toEqual({ allowed: false, title: 'No: alice would not get this.', lines: ['duration 2h exceeds 1h'] });
    expect(explainAnswer({ allowed: false, reasons: [] }).lines).toEqual(['no reason given']);
  });

  test('an allow says who approves and the limits', () => {
    const r = explainAnswer({
      allowed: true,
      policy: 'db-write',
      needs_approval: true,
      approvals_required: 2,
      approvers: { groups: ['sre'], users: ['carol'] },
      approval_timeout: '1h',
      max_duration: '30m',
      notify: [],
    });
    expect(r.title).toBe('Yes: allowed by policy db-write.');
    expect(r.lines).toEqual([
      'Needs 2 approvals from different people (group sre, carol).',
      'Unanswered requests time out after 1h.',
      'At most 30m.',
    ]);
    expect(explainAnswer({ allowed: true, policy: 'p', needs_approval: false }).lines).toEqual(['Approved automatically.']);
  });

  test('policy rules in words', () => {
    expect(whoMayAsk({ groups: ['dev'], users: [], tokens: ['ci'] })).toBe('groups dev; machine tokens ci');
    expect(whoMayAsk({})).toBe('nobody');
    expect(approvalText({ auto: true })).toBe('automatic');
    expect(approvalText({ auto: false, count: 1, groups: ['sre'], users: [], mfa: true, timeout: '1h' })).toBe(
      '1 distinct approver from group sre, with a second factor; times out after 1h',
    );
  });
});
