// Replica rows of `make bench` (issue 9): auto-approved grants/s and
// POST /v1/check requests/s with 1 and with 3 real jitd replicas sharing
// one real PostgreSQL (bench_pg), 64 keep-alive wrk connections spread
// evenly across the replicas. Everything runs on loopback, unpinned.
//
// Used by run_bench.mjs (measureReplicas); also runs alone:
//   node bench/replicas.mjs --build build/bench [--quick]
// which prints the measurements as JSON.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

import { parseWrk } from './wrk_report.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const token = 'bench-alice-token-0123456789';  // bench_seed's config
const clients = 64;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A port free on 127.0.0.1 now (also used by run_bench.mjs).
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts bench_pg with `databases`; resolves to { child, dsns } once every
// DSN line is printed (bounded: 60 s).
function startPostgres(build, databases) {
  const child = spawn(path.join(build, 'bench', 'bench_pg'), databases,
    { stdio: ['pipe', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error('bench_pg: no DSN within 60 s'));
    }, 60000);
    child.stdout.on('data', (d) => {
      text += d;
      const lines = text.split('\n').filter((l) => l.length > 0);
      if (lines.length >= databases.length) {
        clearTimeout(timer);
        resolve({ child, dsns: lines.slice(0, databases.length) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`bench_pg exited with ${code}`));
    });
  });
}

function stopProcess(child, limitMs = 20000) {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), limitMs);
    child.once('exit', () => { clearTimeout(kill); resolve(); });
    child.kill('SIGTERM');
  });
}

// Writes DIR/jitd.yaml (bench_seed's config, no grants) with the
// PostgreSQL store `dsn`.
function writeConfig(build, dir, port, dsn) {
  fs.rmSync(dir, { recursive: true, force: true });
  execFileSync(path.join(build, 'bench', 'bench_seed'),
    [`--jitd_dir=${dir}`, '--jitd_grants=0', `--jitd_port=${port}`],
    { stdio: 'ignore' });
  const file = path.join(dir, 'jitd.yaml');
  const text = fs.readFileSync(file, 'utf8');
  if (!text.includes('storage: sqlite\n')) throw new Error(`${file}: no storage line`);
  fs.writeFileSync(file, text.replace('storage: sqlite\n',
    `storage: {postgres: ${JSON.stringify(dsn)}}\n`));
}

async function waitReady(port, child, limitMs) {
  const since = performance.now();
  while (performance.now() - since < limitMs) {
    if (child.exitCode !== null) throw new Error(`jitd exited with ${child.exitCode}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (r.status === 200) return;
    } catch { /* not listening yet */ }
    await sleep(20);
  }
  throw new Error(`jitd on port ${port} not ready within ${limitMs} ms`);
}

// Runs one wrk per port at once, `clients` connections split evenly, and
// sums their requests/s. Throws on any non-2xx answer or socket error.
function wrkAcross(ports, route, body, seconds) {
  const runs = ports.map((port, i) => new Promise((resolve, reject) => {
    const conns = Math.floor(clients / ports.length) +
      (i < clients % ports.length ? 1 : 0);
    const args = [`-t${ports.length === 1 ? 2 : 1}`, `-c${conns}`,
      `-d${seconds}s`, '--latency', '-s', path.join(benchDir, 'wrk/post.lua'),
      `http://127.0.0.1:${port}${route}`];
    const child = spawn('wrk', args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, JITD_BENCH_BODY: body, JITD_BENCH_TOKEN: token },
    });
    let text = '';
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), (seconds + 30) * 1000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      const r = parseWrk(text);
      if (code !== 0 || !(r.rps > 0) || r.non2xx > 0 || r.socketErrors) {
        reject(new Error(`wrk ${route} on ${port}: exit ${code}, ${r.non2xx} non-2xx, ${r.socketErrors}\n${text}`));
      } else {
        resolve(r);
      }
    });
  }));
  return Promise.all(runs).then((rs) => ({
    rps: rs.reduce((sum, r) => sum + r.rps, 0),
    p99_ns: Math.max(...rs.map((r) => r.p99_ns ?? 0)),
  }));
}

// One configuration: `replicas` jitd processes on database `dsn`.
async function measure({ build, work, dsn, replicas, seconds, log }) {
  const started = [];
  try {
    const ports = [];
    for (let i = 0; i < replicas; ++i) {
      const port = await freePort();
      const dir = path.join(work, `replicas-${replicas}`, `r${i}`);
      writeConfig(build, dir, port, dsn);
      const child = spawn(path.join(build, 'apps/jitd/jitd'),
        ['--config', path.join(dir, 'jitd.yaml')],
        { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr.on('data', (d) => process.stderr.write(`jitd r${i}: ${d}`));
      started.push(child);
      ports.push(port);
    }
    for (let i = 0; i < replicas; ++i) await waitReady(ports[i], started[i], 30000);
    log(`${replicas} replica(s): grants, ${clients} clients, ${seconds} s`);
    const grants = await wrkAcross(ports, '/v1/requests',
      JSON.stringify({ entitlement: 'ent-0', duration: '1h' }), seconds);
    log(`${replicas} replica(s): checks, ${clients} clients, ${seconds} s`);
    const checks = await wrkAcross(ports, '/v1/check',
      JSON.stringify({ subject: 'alice', entitlement: 'ent-0' }), seconds);
    return { grants, checks };
  } finally {
    await Promise.all(started.map((c) => stopProcess(c)));
  }
}

// Measures 1 and 3 replicas, each on a fresh database of one PostgreSQL.
// Returns { one, three } as { grants: {rps, p99_ns}, checks: {...} }.
export async function measureReplicas({ build, work, quick = false,
  log = console.error }) {
  const seconds = quick ? 2 : 8;
  log('bench_pg: PostgreSQL for the replica rows');
  const pg = await startPostgres(build, ['jitd_r1', 'jitd_r3']);
  try {
    const one = await measure({ build, work, dsn: pg.dsns[0], replicas: 1, seconds, log });
    const three = await measure({ build, work, dsn: pg.dsns[1], replicas: 3, seconds, log });
    return { one, three };
  } finally {
    pg.child.stdin.end();
    await stopProcess(pg.child, 30000);
    fs.rmSync(path.join(work, 'replicas-1'), { recursive: true, force: true });
    fs.rmSync(path.join(work, 'replicas-3'), { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const i = process.argv.indexOf('--build');
  const build = path.resolve(i > 0 ? process.argv[i + 1] : 'build/bench');
  const work = path.join(build, 'bench-work');
  fs.mkdirSync(work, { recursive: true });
  measureReplicas({ build, work, quick: process.argv.includes('--quick') })
    .then((r) => console.log(JSON.stringify(r, null, 2)))
    .catch((e) => { console.error(e); process.exit(1); });
}
