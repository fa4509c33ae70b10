import { describe, expect, test } from 'vitest';
import {
  countdown,
  durationChoices,
  explainError,
  formatDuration,
  formProblems,
  parseDuration,
} from './format.js';

describe('durations', () => {
  test('parse and format round-trip', () => {
    expect(parseDuration('1h30m')).toBe(5400);
    expect(parseDuration('90s')).toBe(90);
    expect(parseDuration('')).toBeNull();
    expect(parseDuration('30 minutes')).toBeNull();
    expect(parseDuration('1m1h')).toBeNull();
    expect(formatDuration(5400)).toBe('1h30m');
    expect(formatDuration(61)).toBe('1m1s');
  });
  test('choices never exceed the maximum', () => {
    expect(durationChoices(1800)).toEqual(['5m', '15m', '30m']);
    expect(durationChoices(2700)).toEqual(['5m', '15m', '30m', '45m']);
  });
  test('countdown', () => {
    expect(countdown(9000)).toBe('0:09');
    expect(countdown(3723000)).toBe('1:02:03');
    expect(countdown(-5)).toBe('0:00');
  });
});

describe('form rules', () => {
  const ent = { max_duration: '30m', justification_min_chars: 15, ticket_pattern: '^OPS-[0-9]+$' };
  test('a good form has no problems', () => {
    expect(formProblems(ent, { duration: '30m', justification: 'rotate replica credentials', ticket: 'OPS-1' })).toEqual([]);
  });
  test('each rule is named', () => {
    const p = formProblems(ent, { duration: '1h', justification: 'fix', ticket: 'x' });
    expect(p).toHaveLength(3);
    expect(p[0]).toMatch(/longer than the policy allows \(30m\)/);
    expect(p[1]).toMatch(/at least 15 characters \(now 3\)/);
    expect(p[2]).toMatch(/\^OPS-\[0-9\]\+\$/);
  });
});

describe('errors in plain words', () => {
  test('policy reasons are listed', () => {
    const e = explainError({ code: 'policy_denied', message: 'm', reasons: ['justification has 3 characters'] });
    expect(e.reasons).toEqual(['justification has 3 characters']);
  });
  test('self approval', () => {
    expect(explainError({ code: 'self_approval' }).title).toMatch(/your own request/);
  });
});
