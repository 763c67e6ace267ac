// Accounts mode in a browser: two people in two browser contexts, and a third signed out.
// Ada signs in through the form, starts a chat and makes an invite link; Bob opens it signed
// out, signs in, confirms and joins; each sees the other's messages live, once; Ada removes
// Bob, whose open tab says so and hears nothing more; signed out, every page is the sign-in.
// With $SCREENSHOT_DIR set, the login, join, members (with the link) and chat pages, and Bob's
// tab once removed and reloaded, are saved at a desktop and a phone size (NAME-desktop.png,
// NAME-phone.png).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { sleep } from '../http/helpers.mjs';
import { ADMIN, adminEnv, admin } from '../http/account_helpers.mjs';
import { useBrowser, openPage, streamOpen, screenshots, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const MSG = '#messages > article[id^=msg-]';
const BOB = { name: 'bob', password: 'bob-secret-pw-1', display_name: 'Bob' };
const TITLE = 'Tea & plans';
const NOTICE = 'You are no longer a member of this chat.';

const { srv, browser } = useBrowser({ auth: 'accounts', env: adminEnv() });
const pageErrors = [];
let adaContext; // Ada's browser
let bobContext; // Bob's browser
let anonContext; // someone signed out
let chatId;
let inviteUrl;
let adaChat; // Ada's chat tab
let adaMembers; // Ada's members tab
let bobChat; // Bob's chat tab

/** A browser context at desktop size in which nothing waits longer than 5 s. */
async function newContext() {
  const c = await browser.newContext({ viewport: VIEWPORTS.desktop });
  c.setDefaultTimeout(5000);
  c.setDefaultNavigationTimeout(5000);
  return c;
}

before(async () => {
  await srv.ready();
  await browser.ready();
  // Bob's account, made by Ada through the API
  const ada = await admin(srv.url);
  await ada.ok('POST', '/api/v1/users', BOB);
  adaContext = await newContext();
  bobContext = await newContext();
  anonContext = await newContext();
}, { timeout: 15000 });

const at = (p) => srv.url + p;
const escapeRe = (x) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
/** Exactly the URL of path `p` on the server, for waitForURL. */
const urlIs = (p) => new RegExp(`^${escapeRe(at(p))}$`);
/** The sign-in page's URL with next=`next` (encoded or not). */
const loginFor = (next) => new RegExp(`^${escapeRe(at('/login?next='))}(${escapeRe(next)}|${escapeRe(encodeURIComponent(next))})$`);

/** Sign in through the form on `page` (a sign-in page) as `who`; waits for the page it leads to. */
async function signInThroughForm(page, who, then) {
  const form = page.locator('form[action="/login"]');
  await form.waitFor({ state: 'visible', timeout: 5000 });
  await form.locator('input[name=name]').fill(who.name);
  await form.locator('input[name=password]').fill(who.password);
  await form.locator('button[type=submit]').click();
  await page.waitForURL(then, { timeout: 5000 });
}

/** Type `body` into the composer of `page` and send it with Enter. */
async function send(page, body) {
  const box = page.locator('#composer textarea[name=body]');
  await box.fill(body);
  await box.press('Enter');
}

/** The messages shown on `page`: [{id, author, body}]. */
const shown = (page) =>
  page.$$eval(MSG, (els) => els.map((e) => ({
    id: e.id,
    author: e.querySelector('.msg-author')?.textContent.trim(),
    body: e.querySelector('.msg-body')?.textContent.trim(),
  })));

/** Wait (≤ `timeout` ms) until `page` shows a message with body `body`; returns its element. */
async function seeMessage(page, body, timeout = 5000) {
  const el = page.locator(MSG).filter({ has: page.locator('.msg-body', { hasText: body }) });
  await el.first().waitFor({ state: 'attached', timeout });
  return el;
}

/** Each message on `page` once: no id twice, no body twice. */
async function assertNoDuplicates(page, what) {
  const list = await shown(page);
  const ids = list.map((m) => m.id);
  const bodies = list.map((m) => m.body);
  assert.equal(new Set(ids).size, ids.length, `${what}: no message id twice: ${ids}`);
  assert.equal(new Set(bodies).size, bodies.length, `${what}: no message shown twice: ${JSON.stringify(bodies)}`);
  return list;
}

test('Ada signs in through the form, starts a chat, and makes an invite link', T, async () => {
  // signed out, / leads to the sign-in page
  const page = await openPage(adaContext, at('/'), { errors: pageErrors, label: 'ada' });
  assert.match(page.url(), loginFor('/'));
  await signInThroughForm(page, ADMIN, urlIs('/'));
  assert.equal((await page.locator('.user-menu summary').textContent()).trim(), 'ada', 'the top bar names her');
  assert.equal(await page.locator('.user-menu form[action="/logout"] button', { hasText: 'Sign out' }).count(), 1);

  // the "Start a chat" form
  await page.locator('#new-chat input[name=title]').fill(TITLE);
  await page.locator('#new-chat button[type=submit]').click();
  await page.waitForURL(/\/chats\/[a-z0-9]{12}$/, { timeout: 5000 });
  chatId = new URL(page.url()).pathname.split('/')[2];
  assert.equal((await page.locator('#chat-header .chat-title').textContent()).trim(), TITLE);
  assert.equal(await page.locator('#composer [name=author]').count(), 0, 'no name field with accounts');
  await streamOpen(page);
  adaChat = page;

  // the members page, in a second tab: Ada alone, then an invite link
  const href = await page.locator('.members-link').getAttribute('href');
  assert.equal(href, `/chats/${chatId}/members`);
  adaMembers = await openPage(adaContext, at(href), { errors: pageErrors, label: 'ada members' });
  const members = adaMembers.locator('#members > li');
  assert.equal(await members.count(), 1);
  assert.match(await members.first().textContent(), /@ada/);
  const invite = adaMembers.locator('form[action$="/invites"]');
  await invite.locator('select[name=hours]').selectOption('24');
  await invite.locator('button[type=submit]').click();
  const input = adaMembers.locator('#invite-url');
  await input.waitFor({ state: 'visible', timeout: 5000 });
  inviteUrl = await input.inputValue();
  assert.match(inviteUrl, new RegExp(`^${escapeRe(at('/join/'))}[A-Za-z0-9_-]{22,}$`), 'the link is on this server');
  assert.equal(await input.getAttribute('readonly'), '', 'read-only');
  assert.equal(await adaMembers.locator('button[data-copy=invite-url]').count(), 1, 'a Copy button');
  await screenshots(adaMembers, 'members-invite');
});

test('Bob, signed out, opens the link, signs in, confirms and lands in the chat', T, async () => {
  assert.ok(inviteUrl, 'the link from the previous test');
  const token = inviteUrl.split('/').pop();
  const page = await bobContext.newPage();
  page.on('pageerror', (e) => pageErrors.push(`bob: ${e.message}`));
  const navigations = []; // every URL the tab requested or showed, and every Referer it sent
  page.on('request', (r) => {
    navigations.push(r.url());
    const referer = r.headers().referer;
    if (referer) navigations.push(`referer ${referer}`);
  });
  page.on('framenavigated', (f) => f === page.mainFrame() && navigations.push(f.url()));

  const res = await page.goto(inviteUrl, { waitUntil: 'load', timeout: 5000 });
  assert.equal(res.status(), 200);
  assert.match(page.url(), loginFor('/join'), 'the invite leads to the sign-in page');
  assert.equal(await page.locator('form[action="/login"] input[name=next]').inputValue(), '/join');
  assert.ok(!(await page.content()).includes(token), 'the sign-in page does not hold the token');
  await screenshots(page, 'login');

  await signInThroughForm(page, BOB, urlIs('/join'));
  assert.equal((await page.locator('main h1').textContent()).trim(), `Join “${TITLE}”?`);
  assert.equal((await page.locator('.user-menu summary').textContent()).trim(), 'Bob');
  await screenshots(page, 'join');
  await page.locator('form[action="/join"] button[type=submit]').click();
  await page.waitForURL(urlIs(`/chats/${chatId}`), { timeout: 5000 });
  assert.equal((await page.locator('#chat-header .chat-title').textContent()).trim(), TITLE);
  await streamOpen(page);
  bobChat = page;

  assert.equal(navigations[0], inviteUrl, 'the first request was the link');
  const later = navigations.slice(1).filter((u) => u.includes(token));
  assert.deepEqual(later, [], `no URL or Referer after the redirect holds the token: ${JSON.stringify(navigations)}`);
  assert.ok(!page.url().includes(token));
  // Ada's members page now lists Bob
  await adaMembers.goto(at(`/chats/${chatId}/members`), { waitUntil: 'load', timeout: 5000 });
  assert.equal(await adaMembers.locator('#members > li', { hasText: '@bob' }).count(), 1, 'Bob is a member');
});

test('each sees the other\'s messages live, by display name, once', T, async (t) => {
  assert.ok(adaChat && bobChat, 'the tabs from the previous tests');
  const before = { ada: (await shown(adaChat)).length, bob: (await shown(bobChat)).length };

  await send(adaChat, 'Hello Bob, welcome!');
  let t0 = Date.now();
  const onBob = await seeMessage(bobChat, 'Hello Bob, welcome!', 5000);
  const toBob = Date.now() - t0;
  assert.equal((await onBob.locator('.msg-author').textContent()).trim(), 'ada', 'Ada\'s display name');
  await seeMessage(adaChat, 'Hello Bob, welcome!', 5000);
  // emptied once the post is answered (which may come after the message's event)
  await adaChat.waitForFunction(() => document.querySelector('#composer textarea[name=body]').value === '', null, { timeout: 5000 });

  await send(bobChat, 'Hi Ada, glad to be here.');
  t0 = Date.now();
  const onAda = await seeMessage(adaChat, 'Hi Ada, glad to be here.', 5000);
  const toAda = Date.now() - t0;
  assert.equal((await onAda.locator('.msg-author').textContent()).trim(), 'Bob', 'Bob\'s display name');
  await seeMessage(bobChat, 'Hi Ada, glad to be here.', 5000);

  await sleep(500); // time for a duplicate to arrive, if one were coming
  for (const [who, page] of [['ada', adaChat], ['bob', bobChat]]) {
    const list = await assertNoDuplicates(page, who);
    assert.equal(list.length, before[who] + 2, `${who}: two new messages`);
    assert.deepEqual(list.slice(-2).map((m) => [m.author, m.body]), [
      ['ada', 'Hello Bob, welcome!'],
      ['Bob', 'Hi Ada, glad to be here.'],
    ], `${who}: in order`);
    assert.equal(page.url(), at(`/chats/${chatId}`), `${who}: no navigation (htmx post)`);
  }
  t.diagnostic(`Ada → Bob ${toBob} ms, Bob → Ada ${toAda} ms (from the Enter key)`);
  await screenshots(adaChat, 'chat');
});

test('Ada removes Bob: his open tab says so, hears nothing more, and the chat is gone for him', T, async (t) => {
  assert.ok(adaMembers && bobChat, 'the tabs from the previous tests');
  await adaMembers.goto(at(`/chats/${chatId}/members`), { waitUntil: 'load', timeout: 5000 });
  const row = adaMembers.locator('#members > li', { hasText: '@bob' });
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /Bob/, 'shown by display name');
  const remove = row.locator(`form[action$="/delete"] button`);
  assert.equal((await remove.textContent()).trim(), 'Remove');
  // the notice is watched for from before the click; its delay counts from the removal's answer
  const noticeAt = bobChat.locator('#chat-notice', { hasText: NOTICE })
    .waitFor({ state: 'visible', timeout: 8000 }).then(() => Date.now());
  const answeredAt = adaMembers.waitForResponse(
    (r) => r.request().method() === 'POST' && /\/members\/[a-z0-9]{12}\/delete$/.test(r.url()), { timeout: 5000 },
  ).then(() => Date.now());
  noticeAt.catch(() => {});
  answeredAt.catch(() => {});
  const asked = [];
  adaMembers.once('dialog', (d) => { asked.push(d.message()); d.accept().catch(() => {}); });
  await remove.click();
  await adaMembers.waitForURL(urlIs(`/chats/${chatId}/members`), { timeout: 5000 });
  await adaMembers.locator('#members').waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await adaMembers.locator('#members > li', { hasText: '@bob' }).count(), 0, 'Bob is no longer listed');
  assert.deepEqual(asked, ['Remove Bob from this chat?'], 'asked first, naming him');

  // Bob's tab: the notice, within ~2 s of the removal, and its stream closed
  const [answered, noticed] = await Promise.all([answeredAt, noticeAt]);
  const took = noticed - answered;
  t.diagnostic(`notice shown ${took} ms after the removal was answered`);
  assert.ok(took <= 2000, `notice shown ${took} ms after the removal was answered`);
  await bobChat.waitForFunction(() => {
    const el = document.querySelector('[sse-connect]');
    const es = el && el['htmx-internal-data'] && el['htmx-internal-data'].sseEventSource;
    return !es || es.readyState === 2;
  }, null, { timeout: 5000 });

  // Ada posts; her own tab shows it, Bob's never does
  const bobBefore = await shown(bobChat);
  await send(adaChat, 'Only Ada can read this now.');
  await seeMessage(adaChat, 'Only Ada can read this now.', 5000);
  await sleep(1500);
  const bobAfter = await shown(bobChat);
  assert.deepEqual(bobAfter, bobBefore, 'Bob\'s tab shows nothing new');
  assert.equal(await bobChat.locator(MSG, { hasText: 'Only Ada can read this now.' }).count(), 0);
  await assertNoDuplicates(adaChat, 'ada after the removal');

  await screenshots(bobChat, 'chat-removed');

  // reloading: the chat is gone for him (404), and not in his list
  const res = await bobChat.reload({ waitUntil: 'load', timeout: 5000 });
  assert.equal(res.status(), 404, 'the chat page after the removal');
  assert.equal(await bobChat.locator('#messages').count(), 0, 'no messages shown');
  assert.ok(!(await bobChat.content()).includes('Only Ada can read this now.'));
  await screenshots(bobChat, 'chat-gone');
  const list = await openPage(bobContext, at('/'), { errors: pageErrors, label: 'bob list' });
  assert.equal(await list.locator(`#chats a[href="/chats/${chatId}"]`).count(), 0, 'not in Bob\'s chat list');
  assert.equal(await adaChat.locator('#chat-notice .notice').count(), 0, 'Ada was not told anything');
});

// Signing out ends the browser's shared stream; signing in again (in any tab) and opening a
// page makes it live again, even while the tab that held the old stream stays open.
test('signed out in one tab, in again in another: the chat is live again in a new tab', T, async () => {
  assert.ok(chatId, 'the chat from the first test');
  const ctx = await newContext();
  try {
    const first = await openPage(ctx, at('/'), { errors: pageErrors, label: 'ada again' });
    await signInThroughForm(first, ADMIN, urlIs('/'));
    const held = await openPage(ctx, at(`/chats/${chatId}`), { errors: pageErrors, label: 'ada held chat' });
    await streamOpen(held);
    await first.locator('.user-menu summary').click();
    await first.locator('.user-menu form[action="/logout"] button').click();
    await held.waitForFunction(() => document.body.classList.contains('offline'), null, { timeout: 5000 });
    await first.goto(at('/login'));
    await signInThroughForm(first, ADMIN, urlIs('/'));
    const fresh = await openPage(ctx, at(`/chats/${chatId}`), { errors: pageErrors, label: 'ada fresh chat' });
    await streamOpen(fresh);
    const ada = await admin(srv.url);
    await ada.post(chatId, 'Back in, and live');
    await seeMessage(fresh, 'Back in, and live');
  } finally {
    await ctx.close();
  }
});

test('signed out, / and the chat lead to the sign-in page', T, async () => {
  assert.ok(chatId, 'the chat from the first test');
  for (const p of ['/', `/chats/${chatId}`, `/chats/${chatId}/members`]) {
    const page = await openPage(anonContext, at(p), { errors: pageErrors, label: `signed out ${p}` });
    assert.match(page.url(), loginFor(p), `${p}: the sign-in page`);
    assert.equal(await page.locator('form[action="/login"]').isVisible(), true, `${p}: the sign-in form`);
    assert.equal(await page.locator('form[action="/login"] input[name=next]').inputValue(), p);
    assert.equal(await page.locator('.user-menu').count(), 0, `${p}: no one signed in`);
    assert.ok(!(await page.content()).includes(TITLE), `${p}: nothing of the chat`);
    await page.close();
  }
});

test('a new API token from the account page: shown once at /account, and a reload makes no second one', T, async () => {
  const page = await openPage(adaContext, at('/account'), { errors: pageErrors, label: 'ada tokens' });
  const name = `reload-${Date.now()}`;
  await page.locator('form[action="/account/tokens"] input[name=name]').fill(name);
  await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST' && r.url().endsWith('/account/tokens'), { timeout: 5000 }),
    page.locator('form[action="/account/tokens"] button[type=submit]').click(),
  ]);
  await page.locator('#new-token').waitFor({ state: 'visible', timeout: 5000 });
  await page.waitForURL(urlIs('/account'), { timeout: 2000 });
  assert.equal(await page.locator('#tokens li', { hasText: name }).count(), 1, 'listed once');
  assert.equal(await page.locator(`#tokens button[aria-label="Revoke ${name}"]`).count(), 1, 'its Revoke button names it');
  await page.reload({ waitUntil: 'load' });
  assert.equal(await page.locator('#new-token').count(), 0, 'the secret is not shown again');
  assert.equal(await page.locator('#tokens li', { hasText: name }).count(), 1, 'still one: the reload sent nothing');
  // a form answered with a redirect keeps the address it was sent to (?done=…)
  const shownName = page.locator('form[action="/account"] input[name=display_name]');
  await shownName.fill(await shownName.inputValue());
  await page.locator('form[action="/account"] button[type=submit]').click();
  await page.waitForURL(urlIs('/account?done=name'), { timeout: 5000 });
  await sleep(200);
  assert.equal(page.url(), at('/account?done=name'), 'the redirect\'s address kept');
  await page.close();
});

test('the user menu closes with Escape (the focus back on it) and with a click elsewhere', T, async () => {
  const page = await openPage(adaContext, at('/'), { errors: pageErrors, label: 'ada menu' });
  const menu = page.locator('details.user-menu');
  const open = () => menu.evaluate((d) => d.open);
  await menu.locator('summary').click();
  assert.equal(await open(), true, 'opened');
  await page.keyboard.press('Escape');
  assert.equal(await open(), false, 'Escape closes it');
  assert.equal(await page.evaluate(() => document.activeElement.tagName), 'SUMMARY', 'the focus on the menu');
  await menu.locator('summary').click();
  await page.locator('h1').first().click();
  assert.equal(await open(), false, 'a click elsewhere closes it');
  await page.close();
});

test('a session gone under an open chat tab: sending takes the page to sign in, and back to the chat with the text kept', T, async () => {
  assert.ok(chatId, 'the chat from the first test');
  const context = await browser.newContext();
  const page = await openPage(context, at(`/chats/${chatId}`), { errors: pageErrors, label: 'session gone' });
  await signInThroughForm(page, ADMIN, urlIs(`/chats/${chatId}`));
  await page.locator('#composer').waitFor({ state: 'visible', timeout: 5000 });
  await context.clearCookies();                      // as when a session ends or expires
  const text = 'written while the session ended';
  await send(page, text);
  await page.waitForURL(loginFor(`/chats/${chatId}`), { timeout: 5000 });
  assert.equal(await page.locator('#composer').count(), 0, 'a whole page, not one inside the composer');
  await signInThroughForm(page, ADMIN, urlIs(`/chats/${chatId}`));
  await page.locator('#composer').waitFor({ state: 'visible', timeout: 5000 });
  assert.equal(await page.locator('#composer textarea[name=body]').inputValue(), text, 'the text kept');
  assert.ok(!(await shown(page)).some((m) => m.body === text), 'and not sent');
  await context.close();
});

test('no JavaScript errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
