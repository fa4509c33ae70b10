// Reads wrk's text report (run with --latency).

// Requests/s, latency percentiles (ns), the non-2xx count and the socket
// error line ('' when there was none).
export function parseWrk(text) {
  const unit = { us: 1e3, ms: 1e6, s: 1e9 };
  const pct = {};
  for (const m of text.matchAll(/^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$/gm)) {
    pct[m[1]] = Number(m[2]) * unit[m[3]];
  }
  const rps = Number((text.match(/Requests\/sec:\s+([\d.]+)/) || [])[1]);
  const bad = Number((text.match(/Non-2xx or 3xx responses:\s+(\d+)/) || [0, 0])[1]);
  const errors = text.match(/Socket errors:.*/);
  return { rps, p50_ns: pct['50'], p99_ns: pct['99'], non2xx: bad,
           socketErrors: errors ? errors[0] : '' };
}
