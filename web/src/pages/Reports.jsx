import { useCallback, useEffect, useState } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Legend,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { api } from '../api.js';
import { localToRfc3339, rfc3339ToLocal } from '../audit_filter.js';
import { cutLabel, durationRows, refusalRows, shortSeconds, spreadRows, usageRows } from '../report_data.js';
import { ErrorBox, UserText, When } from './common.jsx';

const COLORS = { requests: '#1d4ed8', grants: '#15803d', rejected: '#b42318', emergency: '#b45309' };
const DAY_MS = 24 * 3600 * 1000;

// A chart with its caption and, for keyboards and screen readers, the same
// numbers as a table behind a disclosure.
function Chart({ title, rows, columns, children, legend, height = 260 }) {
  return (
    <figure className="chart panel">
      <figcaption>{title}</figcaption>
      {rows.length === 0 ? (
        <p className="empty">Nothing in this period.</p>
      ) : (
        <>
          {/* Inert: the drawing is neither focusable nor read out (recharts
              puts focus inside its SVG); the numbers below carry the same. */}
          <div className="chart-box" aria-hidden="true" inert>
            <ResponsiveContainer width="100%" height={height}>
              {children}
            </ResponsiveContainer>
          </div>
          {legend}
          <details>
            <summary>
              Numbers<span className="sr-only"> of {title}</span>
            </summary>
            <table className="numbers">
              <thead>
                <tr>
                  {columns.map(([key, label]) => (
                    <th key={key} scope="col">
                      {label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r, i) => (
                  <tr key={i}>
                    {columns.map(([key]) => (
                      <td key={key}>
                        <UserText>{r[key]}</UserText>
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        </>
      )}
    </figure>
  );
}

function UsageChart({ title, rows }) {
  return (
    <Chart
      title={title}
      rows={rows}
      columns={[
        ['name', 'name'],
        ['requests', 'requests'],
        ['grants', 'grants'],
        ['rejected', 'refused'],
        ['emergency', 'emergency'],
      ]}
    >
      <BarChart accessibilityLayer={false} data={rows} margin={{ top: 8, right: 8, bottom: 8, left: -16 }}>
        <CartesianGrid strokeDasharray="3 3" vertical={false} />
        <XAxis dataKey="name" tickFormatter={(t) => cutLabel(t, 14)} interval={0} fontSize={12} />
        <YAxis allowDecimals={false} fontSize={12} />
        <Tooltip />
        <Legend />
        <Bar dataKey="requests" fill={COLORS.requests} isAnimationActive={false} />
        <Bar dataKey="grants" fill={COLORS.grants} isAnimationActive={false} />
        <Bar dataKey="rejected" name="refused" fill={COLORS.rejected} isAnimationActive={false} />
        <Bar dataKey="emergency" fill={COLORS.emergency} isAnimationActive={false} />
      </BarChart>
    </Chart>
  );
}

function SpreadChart({ title, spread, unit, color }) {
  const rows = spread?.count ? spreadRows(spread, unit) : [];
  return (
    <Chart
      title={`${title} (${spread?.count ?? 0} measured, seconds)`}
      rows={rows}
      height={200}
      columns={[
        ['name', ''],
        ['seconds', 'seconds'],
      ]}
    >
      <BarChart accessibilityLayer={false} data={rows} layout="vertical" margin={{ top: 8, right: 16, bottom: 8, left: 24 }}>
        <CartesianGrid strokeDasharray="3 3" horizontal={false} />
        <XAxis type="number" fontSize={12} />
        <YAxis type="category" dataKey="name" width={96} fontSize={12} />
        <Tooltip formatter={(v) => shortSeconds(v)} />
        <Bar dataKey="seconds" fill={color} isAnimationActive={false} />
      </BarChart>
    </Chart>
  );
}

function Period({ onShow, busy }) {
  const [from, setFrom] = useState(() => rfc3339ToLocal(new Date(Date.now() - 30 * DAY_MS).toISOString()));
  const [to, setTo] = useState('');
  const [problem, setProblem] = useState(null);
  const submit = (e) => {
    e.preventDefault();
    const f = from ? localToRfc3339(from) : null;
    const t = to ? localToRfc3339(to) : null;
    if ((from && !f) || (to && !t)) return setProblem('Enter dates and times, or leave a field empty.');
    if (f && t && f >= t) return setProblem('"From" must be before "To".');
    setProblem(null);
    onShow({ from: f ?? undefined, to: t ?? undefined });
  };
  return (
    <form className="panel period" onSubmit={submit} aria-label="Report period">
      <div>
        <label htmlFor="report-from">From</label>
        <input id="report-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
      </div>
      <div>
        <label htmlFor="report-to">To (empty: now)</label>
        <input id="report-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
      </div>
      <button type="submit" disabled={busy}>
        Show
      </button>
      {problem && (
        <p className="error" role="alert">
          {problem}
        </p>
      )}
    </form>
  );
}

function Tiles({ s }) {
  const tiles = [
    ['Requests', s.requests?.created ?? 0],
    ['Grants', s.grants ?? 0],
    ['Refused by policy', s.requests?.rejected ?? 0],
    ['Emergency uses', s.emergency_uses ?? 0],
    ['Time held', shortSeconds(s.grant_seconds_total ?? 0)],
    ['Failed revokes', s.revoke_failures ?? 0],
  ];
  return (
    <ul className="tiles" aria-label="Totals">
      {tiles.map(([label, value]) => (
        <li key={label}>
          <span className="tile-value">{value}</span>
          <span className="tile-label">{label}</span>
        </li>
      ))}
    </ul>
  );
}

// A table of the report. At phone width each row reflows into a card whose
// cells carry their column's name (data-label, styles.css), so nothing
// scrolls sideways. `rows`: [{key, cells: [node per column]}]; `quote`:
// indexes of columns holding free text.
function Table({ caption, head, rows, empty, quote = [] }) {
  return (
    <div className="panel table-wrap">
      <table className="numbers wide reflow">
        <caption>{caption}</caption>
        <thead>
          <tr>
            {head.map((h) => (
              <th key={h} scope="col">
                {h}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={head.length} className="empty">
                {empty}
              </td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr key={r.key}>
                {r.cells.map((cell, i) => (
                  <td key={head[i]} data-label={head[i]} className={quote.includes(i) ? 'quote' : undefined}>
                    {cell}
                  </td>
                ))}
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

export default function Reports({ onError }) {
  const [summary, setSummary] = useState(null);
  const [error, setError] = useState(null);
  const [busy, setBusy] = useState(false);
  const show = useCallback(
    (period) => {
      setBusy(true);
      api.summary(period).then(
        (s) => {
          setError(null);
          setSummary(s);
          setBusy(false);
        },
        (e) => {
          setError(e);
          setBusy(false);
          onError(e);
        },
      );
    },
    [onError],
  );
  useEffect(() => show({}), [show]);

  const s = summary;
  const refusals = s ? refusalRows(s) : [];
  return (
    <section className="reports">
      <h1>Reports</h1>
      <Period onShow={show} busy={busy} />
      <ErrorBox error={error} />
      {!s ? (
        !error && <p className="loading">Loading…</p>
      ) : (
        <>
          <p className="hint">
            <When iso={s.from} /> to <When iso={s.to} />: {s.events} audit events.
          </p>
          <Tiles s={s} />
          <div className="charts">
            <UsageChart title="Requests per entitlement" rows={usageRows(s.by_entitlement, 'entitlement')} />
            <UsageChart title="Requests per person" rows={usageRows(s.by_user, 'subject')} />
            <Chart
              title="Time held per entitlement"
              rows={durationRows(s.by_entitlement)}
              columns={[
                ['name', 'entitlement'],
                ['median', 'median (s)'],
                ['longest', 'longest (s)'],
              ]}
            >
              <BarChart accessibilityLayer={false} data={durationRows(s.by_entitlement)} margin={{ top: 8, right: 8, bottom: 8, left: -16 }}>
                <CartesianGrid strokeDasharray="3 3" vertical={false} />
                <XAxis dataKey="name" tickFormatter={(t) => cutLabel(t, 14)} interval={0} fontSize={12} />
                <YAxis fontSize={12} tickFormatter={shortSeconds} width={64} />
                <Tooltip formatter={(v) => shortSeconds(v)} />
                <Legend />
                <Bar dataKey="median" fill="#0e7490" isAnimationActive={false} />
                <Bar dataKey="longest" fill="#7c3aed" isAnimationActive={false} />
              </BarChart>
            </Chart>
            <Chart
              title="Policy refusals and why"
              rows={refusals}
              height={Math.max(120, 36 * refusals.length)}
              columns={[
                ['key', ''],
                ['reason', 'reason'],
                ['count', 'times'],
              ]}
              legend={
                <ol className="reasons">
                  {refusals.map((r) => (
                    <li key={r.key}>
                      <UserText>{r.reason}</UserText> <span className="hint">({r.count}×)</span>
                    </li>
                  ))}
                </ol>
              }
            >
              <BarChart accessibilityLayer={false} data={refusals} layout="vertical" margin={{ top: 8, right: 16, bottom: 8, left: 0 }}>
                <CartesianGrid strokeDasharray="3 3" horizontal={false} />
                <XAxis type="number" allowDecimals={false} fontSize={12} />
                <YAxis type="category" dataKey="key" width={40} fontSize={12} />
                <Tooltip labelFormatter={(k) => refusals.find((r) => r.key === k)?.reason ?? k} />
                <Bar dataKey="count" name="times" fill={COLORS.rejected} isAnimationActive={false} />
              </BarChart>
            </Chart>
            <SpreadChart title="Time to approve" spread={s.seconds_to_approve} unit="s" color="#1d4ed8" />
            <SpreadChart title="Revoke latency" spread={s.revoke_latency_ms} unit="ms" color="#b45309" />
          </div>
          <Table
            caption="Emergency uses"
            head={['When', 'Who', 'What', 'Why', 'Ticket']}
            empty="No emergency use in this period."
            quote={[3]}
            rows={(s.emergencies ?? []).map((e) => ({
              key: e.request_id,
              cells: [
                <When iso={e.time} />,
                <UserText>{e.subject}</UserText>,
                e.entitlement,
                <UserText>{e.justification}</UserText>,
                <UserText>{e.ticket}</UserText>,
              ],
            }))}
          />
          <Table
            caption="Approvers"
            head={['Approver', 'Approved', 'Denied', 'Median time to decide']}
            empty="No decisions in this period."
            rows={(s.by_approver ?? []).map((a) => ({
              key: a.approver,
              cells: [<UserText>{a.approver}</UserText>, a.approvals, a.denials, shortSeconds(a.seconds_to_decide?.p50)],
            }))}
          />
          <Table
            caption="Standing privileges found by discovery"
            head={['Connector', 'Account', 'Privilege', 'Since', 'Last seen', 'Times seen', 'Last action']}
            empty="Discovery found no standing privilege in this period."
            rows={(s.standing_privileges ?? []).map((p) => ({
              key: `${p.connector}/${p.target_user}/${p.privilege}`,
              cells: [
                p.connector,
                <UserText>{p.target_user}</UserText>,
                <UserText>{p.privilege}</UserText>,
                p.since ? <When iso={p.since} /> : 'unknown',
                <When iso={p.last_seen} />,
                p.times_seen,
                <UserText>{p.last_action}</UserText>,
              ],
            }))}
          />
        </>
      )}
    </section>
  );
}
