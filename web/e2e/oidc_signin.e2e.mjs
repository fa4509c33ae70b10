// End-to-end test of browser sign-in with an OpenID provider: the real
// oidc-provider of tests/oidc (https, certificates made here with the
// openssl CLI), the real jitd with auth.oidc.web_client_id, and Debian's
// chromium through playwright-core. Clicks "Sign in with ...", fills the
// provider's login and consent forms, lands back in the console signed in
// as alice with her mapped groups, signs out; then a replayed callback
// shows the error page and signs nobody in.
//
//   node web/e2e/oidc_signin.e2e.mjs --jitd PATH --web-dir web/dist
//        --oidc-dir tests/oidc --out DIR
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium, console, openssl or
// provider modules).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    jitd: { type: 'string' },
    'web-dir': { type: 'string' },
    'oidc-dir': { type: 'string' },
    out: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

const SKIP = 77;
const STEP_MS = 15_000;

function check(cond, message) {
  if (!cond) throw new Error(message);
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

// A CA and a server certificate for 127.0.0.1 (the provider's https).
function makeCerts(dir) {
  const run = (...a) => execFileSync('openssl', a, { cwd: dir, stdio: 'ignore' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem',
    '-days', '1', '-subj', '/CN=jitd e2e test CA');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'idp.key', '-out', 'idp.csr',
    '-subj', '/CN=127.0.0.1');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n');
  run('x509', '-req', '-in', 'idp.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'idp.pem', '-days', '1', '-extfile', 'san.ext');
}

function configYaml(port, dataDir, webDir, issuer, caFile) {
  return `listen: 127.0.0.1:${port}
data_dir: ${JSON.stringify(dataDir)}
storage: memory
log_level: warn
web: {dir: ${JSON.stringify(webDir)}}
auth:
  oidc:
    issuer: ${JSON.stringify(issuer)}
    audience: jitd
    ca_file: ${JSON.stringify(caFile)}
    group_map: {idp-developers: dev}
    only_mapped_groups: true
    web_client_id: jitd-web
    web_scope: openid jit
    web_resource: https://jitd.test
connectors:
  - {name: demo, type: fake}
entitlements:
  - {name: dev-logs, connector: demo, max_duration: 1h}
policies:
  - name: dev-logs-auto
    subjects: {groups: [dev]}
    entitlements: [dev-logs]
    max_duration: 1h
    approval: {auto: true}
`;
}

// Bounded polling of a real process until `probe` answers.
async function waitFor(what, proc, probe) {
  for (let i = 0; i < 200; ++i) {
    if (proc.exitCode !== null) throw new Error(`${what} exited with ${proc.exitCode}`);
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within 20 s`);
}

function tail(proc) {
  const t = { text: '' };
  proc.stdout?.on('data', (d) => (t.text = (t.text + d).slice(-6000)));
  proc.stderr?.on('data', (d) => (t.text = (t.text + d).slice(-6000)));
  return t;
}

async function main() {
  if (!existsSync(args.chromium)) return skip(`no chromium at ${args.chromium}`);
  const webDir = path.resolve(args['web-dir'] ?? '');
  if (!existsSync(path.join(webDir, 'index.html'))) return skip(`the console is not built in ${webDir}`);
  const oidcDir = path.resolve(args['oidc-dir'] ?? '');
  if (!existsSync(path.join(oidcDir, 'node_modules', 'oidc-provider')))
    return skip(`no oidc-provider in ${oidcDir}/node_modules (npm ci there)`);
  check(args.jitd && existsSync(args.jitd), `no jitd binary at ${args.jitd}`);
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch {
    return skip('playwright-core is not installed (npm ci in web/)');
  }
  const out = path.resolve(args.out ?? 'e2e-screenshots');
  mkdirSync(out, { recursive: true });

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'jitd-oidc-e2e-'));
  const procs = [];
  const watchdog = setTimeout(() => {
    console.error('FAIL: the test ran past 55 s');
    for (const p of procs) p.kill('SIGKILL');
    process.exit(1);
  }, 55_000);
  watchdog.unref();
  let browser;
  let idpLog = { text: '' };
  let jitdLog = { text: '' };
  try {
    try {
      makeCerts(tmp);
    } catch (e) {
      return skip(`openssl cannot make test certificates: ${e.message}`);
    }
    const [port, idpPort] = [await freePort(), await freePort()];
    const base = `http://127.0.0.1:${port}`;
    const issuer = `https://127.0.0.1:${idpPort}`;
    const idp = spawn(process.execPath, [path.join(oidcDir, 'provider.mjs'), '--port', String(idpPort),
      '--cert', path.join(tmp, 'idp.pem'), '--key', path.join(tmp, 'idp.key'), '--kid', 'web-e2e',
      '--web-redirect', `${base}/v1/session/oidc/callback`], { cwd: oidcDir, stdio: ['ignore', 'pipe', 'pipe'] });
    procs.push(idp);
    idpLog = tail(idp);
    await waitFor('the provider', idp, async () => idpLog.text.includes('oidc test provider on'));

    const config = path.join(tmp, 'jitd.yaml');
    writeFileSync(config, configYaml(port, path.join(tmp, 'data'), webDir, issuer, path.join(tmp, 'ca.pem')));
    const jitd = spawn(args.jitd, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    procs.push(jitd);
    jitdLog = tail(jitd);
    await waitFor('jitd', jitd, async () => (await fetch(`${base}/readyz`)).status === 200);

    browser = await playwright.chromium.launch({
      executablePath: args.chromium,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: STEP_MS,
    });
    await run(browser, base, issuer, out);
    console.log(`PASS (screenshots in ${out})`);
    return 0;
  } catch (e) {
    console.error(`FAIL: ${e.stack ?? e}`);
    console.error(`--- jitd log (tail) ---\n${jitdLog.text}`);
    console.error(`--- provider log (tail) ---\n${idpLog.text}`);
    return 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    for (const p of procs) p.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}

function skip(why) {
  console.log(`SKIP: ${why}`);
  return SKIP;
}

async function run(browser, base, issuer, out) {
  // The provider's certificate is from the test's own CA, which chromium
  // does not know; jitd checks it with auth.oidc.ca_file.
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ignoreHTTPSErrors: true });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(m.text());
  });

  await page.goto(`${base}/`);
  const host = new URL(issuer).host;
  const sso = page.getByRole('link', { name: `Sign in with ${host}` });
  await sso.waitFor();
  check(await page.locator('#token').isVisible(), 'the token form is gone');
  await page.screenshot({ path: path.join(out, 'signin-oidc-1280.png') });

  // Capture the IdP's redirect back to jitd, to replay it later.
  let callbackUrl = null;
  page.on('request', (r) => {
    if (r.url().startsWith(`${base}/v1/session/oidc/callback`)) callbackUrl = r.url();
  });
  await sso.click();
  await page.waitForURL((u) => u.href.startsWith(`${issuer}/interaction/`));
  await page.fill('input[name=login]', 'alice');
  await page.fill('input[name=password]', 'alice-password');
  await page.click('button:has-text("Continue")');
  await page.getByText('Allow jit?').first().waitFor();
  await page.click('button:has-text("Continue")');

  // Back in the console, signed in as alice with her mapped group only.
  await page.waitForURL(`${base}/`);
  await page.getByText('alice').first().waitFor();
  const who = await page.evaluate(async () => (await fetch('/v1/whoami')).json());
  check(who.subject === 'alice', `whoami says ${JSON.stringify(who)}`);
  check(JSON.stringify(who.groups) === JSON.stringify(['dev']), `groups ${JSON.stringify(who.groups)}`);
  // No token anywhere JavaScript can read it.
  const cookies = await page.evaluate(() => document.cookie);
  check(cookies === '', `cookies visible to the page: ${cookies}`);
  check(callbackUrl && /[?&]code=/.test(callbackUrl), 'no callback with a code was seen');
  await page.screenshot({ path: path.join(out, 'signed-in-oidc-1280.png') });

  // Sign out: whoami is refused again.
  await page.getByRole('button', { name: /sign out/i }).click();
  await page.locator('#token').waitFor();
  const after = await page.evaluate(async () => (await fetch('/v1/whoami')).status);
  check(after === 401, `whoami after sign-out answered ${after}`);

  // The same redirect again (a replay): an error page, nobody signed in.
  const replay = await page.goto(callbackUrl);
  check(replay.status() === 403, `a replayed callback answered ${replay.status()}`);
  await page.getByText('Sign-in failed').waitFor();
  await page.screenshot({ path: path.join(out, 'signin-replayed-1280.png') });
  // (The error page's CSP allows no fetch; ask with the context's cookies.)
  const still = (await context.request.get(`${base}/v1/whoami`)).status();
  check(still === 401, `whoami after a replayed callback answered ${still}`);
  await page.goto(`${base}/`);
  await page.locator('#token').waitFor();
  check(problems.length === 0, `page errors: ${problems.join(' | ')}`);
  await context.close();
}

process.exitCode = await main().catch((e) => {
  console.error(`FAIL: ${e.message}`);
  return 1;
});
