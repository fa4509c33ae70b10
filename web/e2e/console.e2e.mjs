// End-to-end test of the web console: a real jitd (temporary config, memory
// store, fake connector, free 127.0.0.1 port) driven by Debian's chromium
// through playwright-core. Never downloads a browser.
//
//   node web/e2e/console.e2e.mjs --jitd PATH --web-dir web/dist --out DIR
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium or no built console).
// Screenshots of every page at 1280 px and 390 px land in --out.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    jitd: { type: 'string' },
    'web-dir': { type: 'string' },
    out: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
  },
});

const SKIP = 77;
const DEADLINE = Date.now() + 80_000; // the whole test, bounded (slow shared CI)
const STEP_MS = 15_000; // one UI state

function fail(message) {
  throw new Error(message);
}

function check(cond, message) {
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

const TOKENS = {
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
  - {name: demo, type: fake}
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

async function apiCall(base, token, method, p, body) {
  const r = await fetch(`${base}${p}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

const HOSTILE =
  '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> ' +
  '<!channel> \u202Etxt.exe\u202C Robert\'); DROP TABLE requests;-- OPS-7';

async function main() {
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

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'jitd-web-e2e-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const config = path.join(tmp, 'jitd.yaml');
  writeFileSync(config, configYaml(port, path.join(tmp, 'data'), webDir));
  const jitd = spawn(args.jitd, ['--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  // A hung browser call must not outlive the test: jitd and the browser
  // (playwright kills it on exit) go with it.
  const watchdog = setTimeout(() => {
    console.error('FAIL: the test ran past 85 s');
    jitd.kill('SIGKILL');
    process.exit(1);
  }, 85_000);
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
    await run(browser, base, out);
    console.log(`PASS (screenshots in ${out})`);
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

const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 390, height: 844 };

// A signed-in page for `token`, failing the test on any CSP violation or
// page error.
async function signedIn(browser, base, token, viewport, out, shotName) {
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

async function nav(page, label) {
  await page.getByRole('navigation', { name: 'Pages' }).getByRole('link', { name: label }).click();
  await page.getByRole('heading', { level: 1, name: label }).waitFor();
}

async function ask(page, { duration, justification, ticket }) {
  await nav(page, 'Request access');
  await page.getByRole('radio', { name: /prod-db-read/ }).check();
  await page.getByLabel('For how long').fill(duration);
  await page.getByLabel('Why (justification)').fill(justification);
  await page.getByLabel('Ticket', { exact: true }).fill(ticket);
  await page.getByRole('button', { name: 'Request access' }).click();
}

async function run(browser, base, out) {
  const shot = (page, name) => page.screenshot({ path: path.join(out, name), fullPage: true });

  // Requester signs in (sign-in page shot on the way).
  const alice = await signedIn(browser, base, TOKENS.alice, DESKTOP, out, 'signin-1280.png');

  // 1. A vague justification: the policy's reason, in the page.
  await ask(alice, { duration: '15s', justification: 'fix stuff', ticket: 'OPS-1' });
  const denied = alice.getByRole('alert');
  await denied.getByText('The policy does not allow this request').waitFor();
  await denied.getByText(/justification has 9 characters; policy dev-prod-read requires at least 15/).waitFor();
  await shot(alice, 'request-denied-1280.png');

  // 2. A request with hostile text, for a short time the policy allows.
  await ask(alice, { duration: '15s', justification: HOSTILE, ticket: 'OPS-7' });
  await alice.getByRole('status').getByText('waiting for approval').waitFor();
  await shot(alice, 'request-created-1280.png');
  await nav(alice, 'My access');
  await alice.getByLabel('Waiting requests').getByText('prod-db-read').waitFor();

  // 3. Approver in another browser context: the hostile text is text.
  const bob = await signedIn(browser, base, TOKENS.bob, DESKTOP, out);
  await nav(bob, 'Approvals');
  const card = bob.getByRole('listitem').filter({ hasText: 'alice wants prod-db-read' });
  await card.waitFor();
  await card.getByText('<img src=x onerror', { exact: false }).waitFor();
  check((await card.locator('img, script').count()) === 0, 'justification was rendered as HTML');
  check((await bob.evaluate(() => window.__pwned)) === undefined, 'justification ran script');
  await card.locator('summary').click();
  await shot(bob, 'inbox-1280.png');

  // 4. A cross-site form post with bob's session cannot approve.
  const pendingId = await card.getAttribute('data-request');
  const attacker = await bob.context().newPage();
  await attacker.setContent(
    `<form method="post" action="${base}/v1/requests/${pendingId}/approve" enctype="text/plain">` +
      `<input name='{"comment":"x","a":"' value='"}'></form>`,
  );
  const [forged] = await Promise.all([
    attacker.waitForResponse((r) => r.url().includes('/approve')),
    attacker.evaluate(() => document.forms[0].submit()),
  ]);
  check([401, 403].includes(forged.status()), `cross-site form post answered ${forged.status()}`);
  const still = await apiCall(base, TOKENS.bob, 'GET', `/v1/requests/${pendingId}`);
  check(still.body?.state === 'pending', `cross-site post changed the request: ${still.body?.state}`);
  // Not closed: closing a page while its form navigation commits can hang
  // in chromium; the browser closes it at the end.
  await attacker.waitForURL(/\/approve$/);

  // 5. Bob approves; alice's page goes active (live, by SSE) and counts down.
  await card.getByLabel('Comment (optional)').fill('ok for the replica rotation');
  await card.getByRole('button', { name: 'Approve' }).click();
  await card.waitFor({ state: 'detached' });
  const grant = alice.getByLabel('Active grants').getByRole('listitem').first();
  await grant.locator('.state-active').waitFor();
  const clock = grant.locator('.clock');
  const first = await clock.textContent();
  await alice.waitForFunction(
    (before) => document.querySelector('[aria-label="Active grants"] .clock')?.textContent !== before,
    first,
    { timeout: 5000 },
  );
  await shot(alice, 'my-access-active-1280.png');

  // 6. The grant expires; the page shows it ended (no reload).
  const ended = alice.getByLabel('Ended grants').getByRole('listitem').first();
  await ended.getByText('expired').first().waitFor({ timeout: 30_000 });
  check((await alice.getByLabel('Active grants').count()) === 0, 'expired grant still listed as active');
  await shot(alice, 'my-access-ended-1280.png');

  // 7. Self-approval under an alias is refused in plain words; the
  //    requester's own inbox marks the request as not approvable.
  await ask(alice, { duration: '10m', justification: 'rotate the replica credentials', ticket: 'OPS-8' });
  await alice.getByRole('status').getByText('waiting for approval').waitFor();
  await nav(alice, 'Approvals');
  await alice.getByText('This is your own request').waitFor();
  check((await alice.getByRole('button', { name: 'Approve' }).count()) === 0, 'own request offered Approve');
  const alt = await signedIn(browser, base, TOKENS.aliceAlt, DESKTOP, out);
  await nav(alt, 'Approvals');
  const own = alt.getByRole('listitem').filter({ hasText: 'alice wants prod-db-read' });
  await own.getByRole('button', { name: 'Approve' }).click();
  await own.getByRole('alert').getByText('You cannot decide your own request').waitFor();
  await shot(alt, 'inbox-self-approval-1280.png');

  // 8. Bob approves that one; alice ends it early with "I'm done".
  await bob.reload();
  await nav(bob, 'Approvals');
  await bob.getByRole('listitem').filter({ hasText: 'alice wants prod-db-read' }).getByRole('button', { name: 'Approve' }).click();
  await nav(alice, 'My access');
  const second = alice.getByLabel('Active grants').getByRole('listitem').first();
  await second.getByRole('button', { name: "I'm done" }).click();
  await alice.getByLabel('Ended grants').getByText(/ended early|revoked/).first().waitFor();
  check((await alice.getByLabel('Active grants').count()) === 0, 'grant still active after "I\'m done"');

  // 9. Activity: the live audit stream.
  await nav(alice, 'Activity');
  await alice.getByLabel('Audit events').getByText('grant.expired').first().waitFor();
  await shot(alice, 'activity-1280.png');

  // 10. Audit (auditor): chain verified; search by the first request's id
  //     finds its events, user text shown as text; the export link works
  //     with the session cookie.
  const olga = await signedIn(browser, base, TOKENS.olga, DESKTOP, out);
  await nav(olga, 'Audit');
  await olga.getByRole('status').getByText(/^Intact/).waitFor();
  await olga.getByLabel('Request id').fill(pendingId);
  await olga.getByRole('button', { name: 'Search' }).click();
  const results = olga.getByLabel('Search results');
  await results.getByText('grant.expired').waitFor();
  const want = await apiCall(base, TOKENS.olga, 'GET', `/v1/audit?request_id=${pendingId}`);
  check(want.status === 200 && want.body.items.length >= 4, `audit by request id: ${JSON.stringify(want.body)}`);
  await olga.waitForFunction(
    (n) => document.querySelectorAll('[aria-label="Search results"] > li').length === n,
    want.body.items.length,
  );
  await results.locator('summary').first().click();
  await results.getByText('<img src=x onerror', { exact: false }).first().waitFor();
  check((await results.locator('img, script').count()) === 0, 'audit data was rendered as HTML');
  const csvHref = await olga.getByRole('link', { name: 'CSV' }).getAttribute('href');
  check(csvHref.includes(`request_id=${pendingId}`), `export link lacks the filter: ${csvHref}`);
  const csv = await olga.evaluate(async (href) => (await fetch(href)).text(), csvHref);
  const csvRows = csv.trim().split('\r\n');
  check(csvRows[0].startsWith('seq,time,type,'), `export is no CSV: ${csv.slice(0, 80)}`);
  check(csvRows.length === want.body.items.length + 1, `export has ${csvRows.length - 1} rows`);
  await shot(olga, 'audit-1280.png');

  // 11. Reports (auditor): the charts draw under the console's CSP.
  await nav(olga, 'Reports');
  await olga.locator('.recharts-surface').nth(3).waitFor();
  check((await olga.locator('.recharts-bar-rectangle').count()) > 0, 'report charts drew no bars');
  await olga.getByRole('form', { name: 'Report period' }).waitFor();
  await shot(olga, 'reports-1280.png');

  // 12. Policies: the rules in force, and an explain that is denied shows
  //     the policy's reasons in plain words.
  await nav(alice, 'Policies');
  await alice.getByRole('list', { name: 'Policies' }).getByText('dev-prod-read').waitFor();
  await alice.getByLabel('Entitlement').selectOption('prod-db-read');
  await alice.getByLabel('For how long').fill('2h');
  await alice.getByLabel('Justification').fill('fix it');
  await alice.getByRole('button', { name: 'Explain' }).click();
  const why = alice.getByRole('status', { name: 'Explanation' });
  await why.getByText('No: alice would not get this.').waitFor();
  await why.getByText(/justification has 6 characters/).waitFor();
  await why.getByText(/2h/).first().waitFor();
  await shot(alice, 'policies-1280.png');

  // 13. An approver sees the requester's earlier requests, also those of
  //     another policy they cannot otherwise read (dev-logs, auto-approved).
  const logs = await apiCall(base, TOKENS.alice, 'POST', '/v1/requests', {
    entitlement: 'dev-logs',
    duration: '10m',
    justification: 'read the logs of the failed deploy',
  });
  check(logs.status === 201 && logs.body.grant_id, `dev-logs request answered ${logs.status}`);
  const done = await apiCall(base, TOKENS.alice, 'POST', `/v1/grants/${logs.body.grant_id}/revoke`, { reason: 'done' });
  check(done.status === 200, `ending dev-logs answered ${done.status}`);
  const hidden = await apiCall(base, TOKENS.bob, 'GET', `/v1/requests/${logs.body.id}`);
  check(hidden.status === 404, `bob reads alice's dev-logs request directly: ${hidden.status}`);

  // 14. Phone width: every page, with one request waiting.
  const waiting = await apiCall(base, TOKENS.alice, 'POST', '/v1/requests', {
    entitlement: 'prod-db-read',
    duration: '20m',
    justification: 'check replication lag after the failover',
    ticket: 'OPS-9',
  });
  check(waiting.status === 201, `request over the API answered ${waiting.status}`);
  const phone = await signedIn(browser, base, TOKENS.alice, PHONE, out, 'signin-390.png');
  for (const [label, name] of [
    ['Request access', 'request'],
    ['My access', 'my-access'],
    ['Approvals', 'inbox'],
    ['Activity', 'activity'],
  ]) {
    await nav(phone, label);
    if (label === 'Request access') await phone.getByRole('radio', { name: /prod-db-read/ }).check();
    const wide = await phone.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= PHONE.width, `${label} is ${wide} px wide at phone width`);
    await shot(phone, `${name}-390.png`);
  }
  const bobPhone = await signedIn(browser, base, TOKENS.bob, PHONE, out);
  await nav(bobPhone, 'Approvals');
  const waitingCard = bobPhone.getByRole('listitem').filter({ hasText: 'check replication lag' });
  await waitingCard.locator('summary').click();
  await waitingCard.getByRole('listitem').filter({ hasText: 'dev-logs' }).waitFor();
  await waitingCard.getByRole('listitem').filter({ hasText: 'prod-db-read' }).first().waitFor();
  await shot(bobPhone, 'inbox-approver-390.png');
  await bobPhone.setViewportSize(DESKTOP);
  await shot(bobPhone, 'inbox-history-1280.png');

  const olgaPhone = await signedIn(browser, base, TOKENS.olga, PHONE, out);
  for (const [label, name] of [
    ['Audit', 'audit'],
    ['Reports', 'reports'],
    ['Policies', 'policies'],
  ]) {
    await nav(olgaPhone, label);
    if (label === 'Audit') await olgaPhone.getByRole('status').getByText(/^Intact/).waitFor();
    if (label === 'Reports') await olgaPhone.locator('.recharts-surface').nth(3).waitFor();
    if (label === 'Policies') await olgaPhone.getByLabel('User').waitFor();
    const wide = await olgaPhone.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= PHONE.width, `${label} is ${wide} px wide at phone width`);
    await shot(olgaPhone, `${name}-390.png`);
  }

  for (const p of [alice, bob, alt, phone, bobPhone, olga, olgaPhone]) {
    check(p.problems.length === 0, `page errors: ${p.problems.join(' | ')}`);
  }
  check(Date.now() < DEADLINE, 'the test ran past its 80 s budget');
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
