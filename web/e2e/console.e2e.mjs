// End-to-end test of the web console (harness.mjs): a requester asks in one
// browser context, an approver approves in another, the grant goes active,
// counts down and expires; policy refusals, self-approval, hostile text,
// cross-site posts, Audit, Reports, Policies; every page at phone width.
//
//   node web/e2e/console.e2e.mjs --jitd PATH --web-dir web/dist --out DIR
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium or no built console).
// Screenshots of every page at 1280 px and 390 px land in --out.
import path from 'node:path';
import {
  DESKTOP,
  PHONE,
  STANDING_ACCOUNT,
  TOKENS,
  apiCall,
  ask,
  check,
  nav,
  newestFirst,
  runE2e,
  shownSeqs,
  signedIn,
} from './harness.mjs';

const HOSTILE =
  '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> ' +
  '<!channel> \u202Etxt.exe\u202C Robert\'); DROP TABLE requests;-- OPS-7';

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
  const before = await apiCall(base, TOKENS.olga, 'GET', '/v1/audit?order=newest&limit=1');
  await nav(olga, 'Audit');
  await olga.getByRole('status').getByText(/^Intact/).waitFor();
  await olga.getByLabel('Search results').locator('li').first().waitFor();
  const head = await apiCall(base, TOKENS.olga, 'GET', '/v1/audit?order=newest&limit=1');
  const firstShown = await shownSeqs(olga);
  const [lo, hi] = [before.body.items[0].seq, head.body.items[0].seq];
  check(lo <= firstShown[0] && firstShown[0] <= hi, `Audit starts at #${firstShown[0]}, not the newest (#${lo}..#${hi})`);
  check(newestFirst(firstShown), `Audit is not newest first: ${firstShown.slice(0, 10)}`);
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
  check(newestFirst(await shownSeqs(olga)), 'Audit search results are not newest first');
  const oldest = results.locator(':scope > li').last(); // request.created
  await oldest.locator('summary').click();
  await oldest.getByText('<img src=x onerror', { exact: false }).first().waitFor();
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
  await olga.getByRole('table', { name: 'Standing privileges found by discovery' })
    .getByText(STANDING_ACCOUNT).waitFor();
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
  await waitingCard.getByRole('listitem').filter({ hasText: 'dev-logs' }).first().waitFor();
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
    if (label === 'Reports') {
      await olgaPhone.locator('.recharts-surface').nth(3).waitFor();
      const standing = olgaPhone.getByRole('table', { name: 'Standing privileges found by discovery' });
      await standing.getByText(STANDING_ACCOUNT).waitFor();
      const fits = await standing.evaluate((t) => t.scrollWidth <= t.parentElement.clientWidth);
      check(fits, 'the standing-privileges table is wider than the phone screen');
    }
    if (label === 'Policies') await olgaPhone.getByLabel('User').waitFor();
    const wide = await olgaPhone.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= PHONE.width, `${label} is ${wide} px wide at phone width`);
    await shot(olgaPhone, `${name}-390.png`);
  }

  for (const p of [alice, bob, alt, phone, bobPhone, olga, olgaPhone]) {
    check(p.problems.length === 0, `page errors: ${p.problems.join(' | ')}`);
  }
}

runE2e('web-e2e', run);
