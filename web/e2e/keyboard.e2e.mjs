// End-to-end test of the web console with the keyboard only (harness.mjs):
// a requester signs in, asks and ends a grant, an approver approves, using
// Tab, Shift+Tab, arrows, Enter and Space, no pointer; every focusable
// element of every page has an accessible name and a visible focus style;
// the Audit page pages back to older events from the keyboard.
//
//   node web/e2e/keyboard.e2e.mjs --jitd PATH --web-dir web/dist --out DIR
//
// Exit 0: passed; 1: failed; 77: skipped (no chromium or no built console).
import path from 'node:path';
import {
  DESKTOP,
  TOKENS,
  apiCall,
  backTo,
  check,
  checkFocusables,
  focusedName,
  nav,
  navByKeyboard,
  newestFirst,
  shownSeqs,
  runE2e,
  signedIn,
  signedInByKeyboard,
  tabTo,
} from './harness.mjs';

async function run(browser, base, out) {
  const shot = (page, name) => page.screenshot({ path: path.join(out, name), fullPage: true });

  // 1. Keyboard only: alice asks, bob approves, alice ends it; every
  //      focusable element on each page has a name and a visible focus.
  const kAlice = await signedInByKeyboard(browser, base, TOKENS.alice);
  for (const label of ['My access', 'Activity', 'Audit', 'Policies', 'Request access']) {
    await navByKeyboard(kAlice, label);
    const n = await checkFocusables(kAlice, label);
    check(n >= 8, `${label}: only ${n} focusable elements`);
  }
  await kAlice.evaluate(() => document.getElementById('main').focus());
  await tabTo(kAlice, () => document.activeElement?.type === 'radio', 'an entitlement');
  if ((await kAlice.evaluate(() => document.activeElement.value)) === 'prod-db-read') {
    await kAlice.keyboard.press('Space');
  } else {
    await kAlice.keyboard.press('ArrowDown');
  }
  check(
    await kAlice.evaluate(() => document.activeElement.value === 'prod-db-read' && document.activeElement.checked),
    'the keyboard did not choose prod-db-read',
  );
  await tabTo(kAlice, () => document.activeElement?.id === 'duration', 'For how long');
  await kAlice.keyboard.press('ControlOrMeta+A');
  await kAlice.keyboard.type('10m');
  await tabTo(kAlice, () => document.activeElement?.id === 'justification', 'the justification');
  await kAlice.keyboard.type('typed with the keyboard only');
  await tabTo(kAlice, () => document.activeElement?.id === 'ticket', 'the ticket');
  await kAlice.keyboard.type('OPS-11');
  await backTo(kAlice, () => document.activeElement?.id === 'justification', 'the justification, backwards');
  await kAlice.keyboard.press('ControlOrMeta+End');
  await kAlice.keyboard.type(', checked');
  await tabTo(kAlice, () => document.activeElement?.type === 'submit', 'Request access');
  check((await focusedName(kAlice)).includes('Request access'), 'focus is not on the submit button');
  await kAlice.keyboard.press('Enter');
  const kCreated = kAlice.getByRole('status').filter({ hasText: 'waiting for approval' });
  await kCreated.waitFor();
  const kId = (await kCreated.locator('code').textContent()).trim();
  const kAsked = await apiCall(base, TOKENS.alice, 'GET', `/v1/requests/${kId}`);
  check(
    kAsked.body?.justification === 'typed with the keyboard only, checked' && kAsked.body?.duration === '10m',
    `the keyboard request holds ${JSON.stringify(kAsked.body)}`,
  );

  const kBob = await signedInByKeyboard(browser, base, TOKENS.bob);
  await navByKeyboard(kBob, 'Approvals');
  const kCard = kBob.locator(`[data-request="${kId}"]`);
  await kCard.waitFor();
  check((await checkFocusables(kBob, 'Approvals')) >= 8, 'Approvals: too few focusable elements');
  await kBob.evaluate(() => document.getElementById('main').focus());
  await tabTo(kBob, (id) => document.activeElement?.id === `c-${id}`, 'the comment field', kId);
  await kBob.keyboard.type('keyboard approval');
  await tabTo(kBob, () => document.activeElement?.textContent === 'Approve', 'Approve');
  check((await focusedName(kBob)).includes(`Approve alice's request for prod-db-read`), 'Approve has no specific name');
  await kBob.screenshot({ path: path.join(out, 'keyboard-approve-focus-1280.png') });
  await kBob.keyboard.press('Space');
  await kCard.waitFor({ state: 'detached' });

  await navByKeyboard(kAlice, 'My access');
  const kGrant = kAlice.getByLabel('Active grants').getByRole('listitem').first();
  await kGrant.locator('.state-active').waitFor();
  const kGrantId = await kGrant.getAttribute('data-grant');
  await tabTo(kAlice, () => document.activeElement?.textContent === "I'm done", "I'm done");
  await kAlice.keyboard.press('Enter');
  await kAlice.getByLabel('Active grants').waitFor({ state: 'detached' });
  await kAlice.locator(`[aria-label="Ended grants"] [data-grant="${kGrantId}"]`).waitFor();
  await shot(kAlice, 'keyboard-my-access-1280.png');

  // 2. Reports (auditor): the charts are not in the Tab order; their
  //    numbers are, behind named disclosures.
  const olga = await signedIn(browser, base, TOKENS.olga, DESKTOP, out);
  await nav(olga, 'Reports');
  await olga.locator('.recharts-surface').first().waitFor();
  check((await checkFocusables(olga, 'Reports')) > 8, 'Reports: too few focusable elements');

  // 3. Audit pages back to older events (more than one page of them).
  for (let i = 0; i < 25; ++i) {
    const r = await apiCall(base, TOKENS.alice, 'POST', '/v1/requests', {
      entitlement: 'dev-logs',
      duration: '5m',
      justification: `read the logs, round ${i}`,
    });
    check(r.status === 201, `dev-logs request ${i} answered ${r.status}`);
    await apiCall(base, TOKENS.alice, 'POST', `/v1/grants/${r.body.grant_id}/revoke`, { reason: 'done' });
  }
  await nav(olga, 'Audit');
  await olga.waitForFunction(() => document.querySelectorAll('[aria-label="Search results"] > li').length === 100);
  const page1 = await shownSeqs(olga);
  // From the last event of the page (a hundred disclosures before it).
  await olga.getByLabel('Search results').locator('li summary').last().focus();
  await tabTo(olga, () => document.activeElement?.textContent === 'Show older events', 'Show older events');
  await olga.keyboard.press('Enter');
  await olga.waitForFunction(() => document.querySelectorAll('[aria-label="Search results"] > li').length > 100);
  const page2 = await shownSeqs(olga);
  check(newestFirst(page2), 'older events are not appended newest first');
  check(page2.slice(0, 100).join() === page1.join(), 'paging changed the first page');
  check(page2[100] < page1[99], `page two starts at #${page2[100]}, page one ended at #${page1[99]}`);


  for (const p of [kAlice, kBob, olga]) {
    check(p.problems.length === 0, `page errors: ${p.problems.join(' | ')}`);
  }
}

runE2e('web-keyboard-e2e', run);
