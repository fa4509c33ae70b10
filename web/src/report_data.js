// Pure helpers of the Reports page: GET /v1/reports/summary -> chart rows
// and short numbers. No DOM, no fetch.

// Seconds as a short human text: 45 -> "45s", 5400 -> "1h 30m",
// 90000 -> "1d 1h"; null/undefined -> "–".
export function shortSeconds(seconds) {
  if (seconds === null || seconds === undefined || Number.isNaN(Number(seconds))) return '–';
  let s = Math.max(0, Math.round(Number(seconds)));
  if (s < 60) return `${s}s`;
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  const parts = [];
  if (d) parts.push(`${d}d`);
  if (h) parts.push(`${h}h`);
  if (m && !d) parts.push(`${m}m`);
  if (!parts.length) parts.push(`${s - m * 60}s`);
  return parts.join(' ');
}

// Rows of by_entitlement / by_user for a grouped bar chart:
// [{name, requests, grants, rejected, emergency}], at most `max` rows.
export function usageRows(rows, key, max = 12) {
  return (Array.isArray(rows) ? rows : []).slice(0, max).map((r) => ({
    name: String(r?.[key] ?? '?'),
    requests: Number(r?.requests ?? 0),
    grants: Number(r?.grants ?? 0),
    rejected: Number(r?.rejected ?? 0),
    emergency: Number(r?.emergency ?? 0),
  }));
}

// Time held per entitlement in seconds (median and longest).
export function durationRows(rows, max = 12) {
  return (Array.isArray(rows) ? rows : [])
    .filter((r) => Number(r?.grants ?? 0) > 0)
    .slice(0, max)
    .map((r) => ({
      name: String(r.entitlement ?? '?'),
      median: Number(r.held_seconds_p50 ?? 0),
      longest: Number(r.held_seconds_max ?? 0),
    }));
}

// A spread {count, p50, p90, max} as chart rows in `unit` ("s" or "ms"),
// shown in seconds.
export function spreadRows(spread, unit = 's') {
  const f = unit === 'ms' ? 1000 : 1;
  const v = (k) => Math.round((Number(spread?.[k] ?? 0) / f) * 10) / 10;
  return [
    { name: 'median', seconds: v('p50') },
    { name: '90th percentile', seconds: v('p90') },
    { name: 'longest', seconds: v('max') },
  ];
}

// Policy refusals, most frequent first: [{key, reason, count}]; `key`
// ("#1", "#2"...) labels the bar, the numbered list below the chart gives
// the whole reason (sentences do not fit an axis).
export function refusalRows(summary, max = 10) {
  const list = Array.isArray(summary?.denied) ? summary.denied : [];
  return list
    .slice(0, max)
    .map((d, i) => ({ key: `#${i + 1}`, reason: String(d.reason ?? ''), count: Number(d.count ?? 0) }));
}

// A long label cut for an axis tick (the full text stays in the table).
export function cutLabel(text, max = 18) {
  const chars = [...String(text ?? '')];
  return chars.length <= max ? chars.join('') : `${chars.slice(0, max - 1).join('')}…`;
}
