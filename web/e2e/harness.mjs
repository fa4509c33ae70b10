// What the console's end-to-end tests share: a real jitd (temporary config,
// memory store, fake connector, free 127.0.0.1 port) driven by Debian's
// chromium through playwright-core, and helpers to use the console like a
// person would. Never downloads a browser.
//
// A test calls runE2e(name, run), which reads the command line
//   --jitd PATH --web-dir web/dist --out DIR [--chromium PATH]
// and exits 0 (passed), 1 (failed) or 77 (skipped: no chromium, no built
// console, no playwright-core).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const SKIP = 77;
const BUDGET_MS = 80_000; // one test file, bounded (slow shared CI)
export const STEP_MS = 15_000; // one UI state

export function fail(message) {
  throw new Error(message);
}

export function check(cond, message) {
  if (!cond) fail(message);
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

export const TOKENS = {
  alice: 'e2e-alice-token-0000000001',
  bob: 'e2e-bob-token-000000000002',
  aliceAlt: 'e2e-alice-alt-token-000003',
  olga: 'e2e-olga-auditor-token-0004',
};

function configYaml(port, dataDir, webDir) {
  return `listen: 127.0.0.1:${port}
data_dir: ${JSON.stringify(dataDir)}
storage: memory
log_level: warn
web: {dir: ${JSON.stringify(webDir)}}
auth:
  tokens:
    - {subject: alice, groups: [dev], token: "${TOKENS.alice}"}
    - {subject: bob, groups: [sre], token: "${TOKENS.bob}"}
    - {subject: alice-alt, person: alice, groups: [sre], token: "${TOKENS.aliceAlt}"}
    - {subject: olga, groups: [audit], token: "${TOKENS.olga}"}
roles: {admin: [secops], auditor: [audit]}
connectors:
  - {name: demo, type: fake, state_file: ${JSON.stringify(path.join(dataDir, '..', 'demo-state.json'))}, discovery: {mode: report, every: 1s}}
entitlements:
  - {name: prod-db-read, connector: demo, max_duration: 1h, description: Read the production database}
  - {name: dev-logs, connector: demo, max_duration: 1h, description: Read the application logs}
policies:
  - name: dev-prod-read
    subjects: {groups: [dev]}
    entitlements: [prod-db-read]
    max_duration: 30m
    require: {justification_min_chars: 15, ticket_pattern: "^OPS-[0-9]+$"}
    approval: {groups: [sre], count: 1}
  - name: dev-logs-auto
    subjects: {groups: [dev]}
    entitlements: [dev-logs]
    max_duration: 1h
    approval: {auto: true}
`;
}

async function waitReady(base, proc) {
  for (let i = 0; i < 200; ++i) {
    if (proc.exitCode !== null) fail(`jitd exited with ${proc.exitCode}`);
    try {
      const r = await fetch(`${base}/readyz`);
      if (r.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100)); // bounded poll of a real process
  }
  fail('jitd did not become ready within 20 s');
}

export async function apiCall(base, token, method, p, body) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

// A privilege the fake target holds without a grant: discovery reports it
// as standing (Reports lists it).
export const STANDING_ACCOUNT = 'mallory-standing-account-with-a-long-name';

function fakeTargetState() {
  return JSON.stringify({
    version: 1,
    grants: {
      grt_planted_by_hand_0001: {
        request_id: '',
        subject: 'mallory',
        target_user: STANDING_ACCOUNT,
        entitlement: 'prod-db-read',
        expires_at: '',
      },
    },
  });
}

// Starts jitd and chromium, calls run(browser, base, out, deadline), and
// ends the process with its exit code; `name` names the temp dir.
export function runE2e(name, run) {
  main(name, run).then(
    (code) => process.exit(code),
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}

async function main(name, run) {
  const { values: args } = parseArgs({
    options: {
      jitd: { type: 'string' },
      'web-dir': { type: 'string' },
      out: { type: 'string' },
      chromium: { type: 'string', default: '/usr/bin/chromium' },
    },
  });
  const deadline = Date.now() + BUDGET_MS;
  if (!existsSync(args.chromium)) {
    console.log(`SKIP: no chromium at ${args.chromium}`);
    return SKIP;
  }
  const webDir = path.resolve(args['web-dir'] ?? '');
  if (!existsSync(path.join(webDir, 'index.html'))) {
    console.log(`SKIP: the console is not built in ${webDir} (run make)`);
    return SKIP;
  }
  check(args.jitd && existsSync(args.jitd), `no jitd binary at ${args.jitd}`);
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch {
    console.log('SKIP: playwright-core is not installed (npm ci in web/)');
    return SKIP;
  }
  const out = path.resolve(args.out ?? 'e2e-screenshots');
  mkdirSync(out, { recursive: true });

  const tmp = mkdtempSync(path.join(os.tmpdir(), `jitd-${name}-`));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = path.join(tmp, 'jitd.yaml');
  writeFileSync(config, configYaml(port, path.join(tmp, 'data'), webDir));
  writeFileSync(path.join(tmp, 'demo-state.json'), fakeTargetState());
  const jitd = spawn(args.jitd, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  // A hung browser call must not outlive the test: jitd and the browser
  // (playwright kills it on exit) go with it.
  const watchdog = setTimeout(() => {
    console.error(`FAIL: the test ran past ${(BUDGET_MS + 5000) / 1000} s`);
    jitd.kill('SIGKILL');
    process.exit(1);
  }, BUDGET_MS + 5000);
  watchdog.unref();
  let jitdLog = '';
  jitd.stderr.on('data', (d) => {
    jitdLog = (jitdLog + d).slice(-8000);
  });
  let browser;
  try {
    await waitReady(base, jitd);
    browser = await playwright.chromium.launch({
      executablePath: args.chromium,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      timeout: STEP_MS,
    });
    const started = Date.now();
    await run(browser, base, out);
    check(Date.now() < deadline, `the test ran past its ${BUDGET_MS / 1000} s budget`);
    console.log(`PASS in ${((Date.now() - started) / 1000).toFixed(1)} s (screenshots in ${out})`);
    return 0;
  } catch (e) {
    console.error(`FAIL: ${e.stack ?? e}`);
    console.error(`--- jitd log (tail) ---\n${jitdLog}`);
    return 1;
  } finally {
    if (browser) await browser.close().catch(() => {});
    jitd.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}

export const DESKTOP = { width: 1280, height: 860 };
export const PHONE = { width: 390, height: 844 };

// A signed-in page for `token`, failing the test on any CSP violation or
// page error.
export async function signedIn(browser, base, token, viewport, out, shotName) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  page.problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) page.problems.push(m.text());
  });
  page.on('pageerror', (e) => page.problems.push(String(e)));
  const res = await page.goto(`${base}/`);
  const csp = res.headers()['content-security-policy'] ?? '';
  for (const d of ["default-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'"]) {
    check(csp.includes(d), `console CSP lacks ${d}: ${csp}`);
  }
  await page.getByLabel('Access token').fill(token);
  if (shotName) await page.screenshot({ path: path.join(out, shotName) });
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  check((await page.evaluate(() => document.cookie)) === '', 'the session cookie is visible to JavaScript');
  return page;
}

export async function nav(page, label) {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

export async function ask(page, { duration, justification, ticket }) {
  await nav(page, 'Request access');
  await page.getByRole('radio', { name: /prod-db-read/ }).check();
  await page.getByLabel('For how long').fill(duration);
  await page.getByLabel('Why (justification)').fill(justification);
  await page.getByLabel('Ticket', { exact: true }).fill(ticket);
  await page.getByRole('button', { name: 'Request access' }).click();
}

// --- keyboard only -------------------------------------------------------

// Presses `key` (Tab or Shift+Tab) until the focused element satisfies
// `want` (a function run in the page on document.activeElement); bounded.
// `arg` is passed to `want`.
async function pressUntil(page, key, want, what, arg) {
  for (let i = 0; i < 60; ++i) {
    await page.keyboard.press(key);
    if (await page.evaluate(want, arg)) return;
  }
  fail(`60 x ${key} never reached ${what}`);
}
export const tabTo = (page, want, what, arg) => pressUntil(page, 'Tab', want, what, arg);
export const backTo = (page, want, what, arg) => pressUntil(page, 'Shift+Tab', want, what, arg);

// Signs in with the keyboard only: the token field has focus on load.
export async function signedInByKeyboard(browser, base, token) {
  const context = await browser.newContext({ viewport: DESKTOP });
  context.setDefaultTimeout(STEP_MS);
  const page = await context.newPage();
  page.problems = [];
  page.on('pageerror', (e) => page.problems.push(String(e)));
  await page.goto(`${base}/`);
  await page.getByLabel('Access token').waitFor();
  check(await page.evaluate(() => document.activeElement?.id === 'token'), 'sign-in does not focus the token field');
  await page.keyboard.type(token);
  await page.keyboard.press('Enter');
  await page.getByRole('navigation', { name: 'Pages' }).waitFor();
  return page;
}

// Follows a nav link with Tab and Enter; the page's main region gets focus.
export async function navByKeyboard(page, label) {
  await page.evaluate(() => document.activeElement?.blur());
  await tabTo(
    page,
    (l) => document.activeElement?.closest('nav[aria-label="Pages"]') && document.activeElement.textContent === l,
    `the ${label} link`,
    label,
  );
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
  check(await page.evaluate(() => document.activeElement?.id === 'main'), `${label}: focus did not move to the page`);
}

// The role and accessible name of the focused element, as the browser's
// accessibility tree has them (first line of its ARIA snapshot).
export async function focusedName(page) {
  const snap = await page.locator('*:focus').ariaSnapshot();
  const line = snap.split('\n')[0];
  const quoted = /^- '(.*)'$/.exec(line); // YAML quotes lines holding ": "
  return quoted ? `- ${quoted[1].replaceAll("''", "'")}` : line;
}

// Tabs through every focusable element of the page: each has an accessible
// name and a visible focus style. Returns how many there were.
export async function checkFocusables(page, label) {
  await page.evaluate(() => document.activeElement?.blur());
  const seen = new Set();
  let prev = null;
  let outside = 0;
  for (let i = 0; i < 200; ++i) {
    await page.keyboard.press('Tab');
    const el = await page.evaluate(() => {
      const a = document.activeElement;
      if (!a || a === document.body) return null;
      if (!a.dataset.e2eTab) a.dataset.e2eTab = String(Math.random());
      const st = getComputedStyle(a);
      const r = a.getBoundingClientRect();
      return {
        key: a.dataset.e2eTab,
        what: `${a.tagName.toLowerCase()}${a.id ? '#' + a.id : ''} "${(a.textContent ?? '').trim().slice(0, 40)}"`,
        summary: a.tagName === 'SUMMARY',
        outline: st.outlineStyle !== 'none' && parseFloat(st.outlineWidth) >= 2,
        shadow: st.boxShadow !== 'none',
        visible: r.width > 0 && r.height > 0,
      };
    });
    // Past the last element focus leaves the page, then wraps to the first:
    // the walk ends when an element comes round again.
    if (el === null) {
      if (++outside > 2) return seen.size;
      continue;
    }
    if (el.key === prev) continue; // date fields: one Tab per part
    if (seen.has(el.key)) return seen.size;
    prev = el.key;
    seen.add(el.key);
    check(el.visible, `${label}: focus went to an invisible element ${el.what}`);
    check(el.outline || el.shadow, `${label}: no visible focus style on ${el.what}`);
    const name = await focusedName(page);
    // A <summary> has no ARIA role in the snapshot: its text is its name.
    const named = el.summary ? /^- text: \S/.test(name) : /^- [\w-]+( \[[^\]]*\])* "[^"]*\S[^"]*"/.test(name);
    check(named, `${label}: ${el.what} has no accessible name: ${name}`);
  }
  fail(`${label}: more than 200 presses of Tab`);
}

// Event seqs of the Audit page's list, top to bottom.
export const shownSeqs = (page) =>
  page.evaluate(() =>
    [...document.querySelectorAll('[aria-label="Search results"] > li .seq')].map((e) =>
      Number(e.textContent.replace('#', '')),
    ),
  );
export const newestFirst = (seqs) => seqs.every((v, i) => i === 0 || seqs[i - 1] > v);
