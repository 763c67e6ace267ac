// The live chat list (/): chats appear, are renamed, move to the top with a preview of
// their last message, and leave, in an open tab without a reload (static/unread.js on the
// browser's shared stream, list events "chat", "gone", "read", "all"); unread badges and the
// tab's title count what was posted while a chat was not open, and with accounts a chat
// read in another browser is read at once; the settings form deletes a chat
// only once its box is ticked. First with --auth none (read marks in localStorage), then
// with accounts (read marks per member on the server): Ada and Bob, each in a browser
// context of their own, where Bob sees only his chats and none of their previews reach him.
// With $SCREENSHOT_DIR set, the populated list is saved (chat-list-desktop.png, -phone.png).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, createChat, postMessage, eventually, sleep } from '../http/helpers.mjs';
import { useAccountsServer, admin, newUser } from '../http/account_helpers.mjs';
import { useBrowser, openPage, streamOpen, screenshots, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const HOSTILE = '<img src=x onerror="window.__pwned=1">';
const BASE_TITLE = 'Chats · Parley';

const { srv, browser } = useBrowser(); // --auth none
const acc = useAccountsServer({ hookTimeout: 15000 }); // --auth accounts, ada the admin
const pageErrors = [];
let context; // the --auth none browser
let listTab; // its list, open from the first test on

/** A browser context at desktop size in which nothing waits longer than 5 s. */
async function newContext(options = {}) {
  const c = await browser.newContext({ viewport: VIEWPORTS.desktop, ...options });
  c.setDefaultTimeout(5000);
  c.setDefaultNavigationTimeout(5000);
  return c;
}

before(async () => {
  await browser.ready();
  context = await newContext();
}, { timeout: 15000 });

// ---------- what a list page shows ----------

const item = (page, id) => page.locator(`#chats > li#chat-${id}`);
/** The chat ids of the list, top first. */
const order = (page) => page.$$eval('#chats > li.chat-item', (els) => els.map((e) => e.id.slice('chat-'.length)));
/** Chat `id`'s item: {name, preview, unread (the badge's number, 0 when hidden)}, or null when not listed. */
async function shown(page, id) {
  return page.evaluate((id) => {
    const li = document.getElementById(`chat-${id}`);
    if (!li) return null;
    const badge = li.querySelector('.chat-unread');
    return {
      name: li.querySelector('.chat-name').textContent,
      preview: li.querySelector('.chat-preview').textContent,
      unread: badge && !badge.hidden ? Number(badge.textContent) : 0,
    };
  }, id);
}
/** Every badge shown on the list added up. */
const totalUnread = (page) => page.$$eval('#chats .chat-unread:not([hidden])', (els) => els.reduce((n, e) => n + Number(e.textContent), 0));
/** The title a list showing `n` unread messages carries. */
const titleFor = (n) => (n > 0 ? `(${n}) ${BASE_TITLE}` : BASE_TITLE);

/** Wait until `fn()` (a value) deep-equals `want`; fails with the last value seen. */
async function until(fn, want, what, timeout = 3000) {
  let last;
  try {
    await eventually(async () => JSON.stringify(last = await fn()) === JSON.stringify(want), { timeout, what });
  } catch (e) {
    assert.deepEqual(last, want, `${what}: ${e.message}`);
  }
}

/** Open the list at `base` in `ctx`, its stream connected, its window marked (a reload would lose the mark). */
async function openList(ctx, base, label) {
  const page = await openPage(ctx, base + '/', { errors: pageErrors, label, timeout: 5000 });
  await streamOpen(page);
  await page.evaluate(() => (window.__same = true));
  return page;
}
const notReloaded = async (page) => assert.equal(await page.evaluate(() => window.__same), true, 'the list was not reloaded');

// ---------- --auth none ----------

test('a chat created through the API appears on the open list, renamed, and deleted, without a reload', T, async () => {
  listTab = await openList(context, srv.url, 'list');
  const chat = await createChat(srv.url, 'Fresh chat');
  await item(listTab, chat.id).waitFor({ state: 'attached', timeout: 3000 });
  assert.deepEqual(await shown(listTab, chat.id), { name: 'Fresh chat', preview: 'No messages yet', unread: 0 });
  assert.equal((await order(listTab))[0], chat.id, 'a new chat is on top');
  assert.equal(await listTab.locator('#no-chats').isHidden(), true, 'no "no chats" line');

  // renamed (a title that looks like markup is text)
  const title = '<i>Renamed</i> & co';
  const r = await api(srv.url, 'PATCH', `/api/v1/chats/${chat.id}`, { title });
  assert.equal(r.status, 200, r.text);
  await until(async () => (await shown(listTab, chat.id))?.name, title, 'the new title');
  assert.equal(await item(listTab, chat.id).count(), 1, 'still one item for the chat');
  assert.equal(await listTab.locator('#chats i').count(), 0, 'no markup from the title');

  // deleted
  const d = await api(srv.url, 'DELETE', `/api/v1/chats/${chat.id}`);
  assert.ok(d.status === 204 || d.status === 200, `DELETE: ${d.status} ${d.text}`);
  await item(listTab, chat.id).waitFor({ state: 'detached', timeout: 3000 });
  await notReloaded(listTab);
});

test('a post moves its chat to the top with a preview of it, shown as text', T, async () => {
  assert.ok(listTab, 'the list of the previous test');
  const older = await createChat(srv.url, 'Older chat');
  const newer = await createChat(srv.url, 'Newer chat');
  await until(async () => (await order(listTab)).slice(0, 2), [newer.id, older.id], 'the newer chat on top');

  await postMessage(srv.url, older.id, 'Hello from the older chat', 'Ada');
  await until(async () => (await order(listTab)).slice(0, 2), [older.id, newer.id], 'the chat posted to on top');
  assert.equal((await shown(listTab, older.id)).preview, 'Ada: Hello from the older chat');

  await postMessage(srv.url, newer.id, HOSTILE, '<b>Mallory</b>');
  await until(async () => (await order(listTab)).slice(0, 2), [newer.id, older.id], 'the newer chat on top again');
  const hostile = `<b>Mallory</b>: ${HOSTILE}`;
  assert.equal((await shown(listTab, newer.id)).preview, hostile, 'the hostile preview, as text');
  assert.equal(await listTab.locator('#chats img').count(), 0, 'no injected image');
  assert.equal(await listTab.locator('#chats .chat-preview b').count(), 2, 'only the authors are bold');
  await sleep(300); // an image's onerror would have run by now
  assert.equal(await listTab.evaluate(() => window.__pwned), undefined, 'nothing ran');
  await notReloaded(listTab);

  // rendered by the server (a reload): the same, escaped
  const fresh = await openPage(context, srv.url + '/', { errors: pageErrors, label: 'list reloaded' });
  assert.equal((await shown(fresh, newer.id)).preview, hostile);
  assert.equal(await fresh.locator('#chats img').count(), 0);
  assert.deepEqual((await order(fresh)).slice(0, 2), [newer.id, older.id]);
  await fresh.close();
});

test('unread badges count posts made while the chat is not open, and the title their sum', T, async () => {
  assert.ok(listTab, 'the list of the previous tests');
  const chat = await createChat(srv.url, 'Unread here');
  await item(listTab, chat.id).waitFor({ state: 'attached', timeout: 3000 });
  const before = await totalUnread(listTab);
  for (const body of ['one', 'two', 'three']) await postMessage(srv.url, chat.id, body, 'Bob');
  await until(async () => (await shown(listTab, chat.id))?.unread, 3, 'three unread');
  assert.equal(await item(listTab, chat.id).getAttribute('class'), 'chat-item has-unread');
  assert.equal(await totalUnread(listTab), before + 3);
  assert.equal(await listTab.title(), titleFor(before + 3), 'the title counts every unread message');
  await screenshots(listTab, 'chat-list');

  // the chat opened in another tab of the same browser: read, the badge goes
  const chatTab = await openPage(context, `${srv.url}/chats/${chat.id}`, { errors: pageErrors, label: 'unread chat' });
  await until(async () => (await shown(listTab, chat.id))?.unread, 0, 'read once open');
  assert.equal(await item(listTab, chat.id).getAttribute('class'), 'chat-item');
  assert.equal(await listTab.title(), titleFor(before));
  // while it is open, a new post is read at once
  await postMessage(srv.url, chat.id, 'four', 'Bob');
  await chatTab.locator('#msg-4').waitFor({ state: 'attached', timeout: 3000 });
  await until(async () => (await shown(listTab, chat.id))?.preview, 'Bob: four', 'the preview of the fourth');
  await sleep(300);
  assert.equal((await shown(listTab, chat.id)).unread, 0, 'a post seen in an open tab is not unread');
  await chatTab.close();

  // closed again: counting starts from what was read
  await postMessage(srv.url, chat.id, 'five', 'Bob');
  await until(async () => (await shown(listTab, chat.id))?.unread, 1, 'one unread after closing the chat');
  assert.equal(await listTab.title(), titleFor(before + 1));
  await notReloaded(listTab);
  // this browser keeps its marks: a reload counts the same
  await listTab.reload({ waitUntil: 'load' });
  await streamOpen(listTab);
  await listTab.evaluate(() => (window.__same = true));
  assert.equal((await shown(listTab, chat.id)).unread, 1, 'after a reload');
  assert.equal(await listTab.title(), titleFor(await totalUnread(listTab)));
});

// The live list puts each chat posted to on top; the list the server renders (a page, or
// "list:all" when the shared stream reconnects) must agree, even when times tie.
test('the list orders by last activity after a reload too (two posts in the same second)', T, async () => {
  assert.ok(listTab, 'the list of the previous tests');
  // Two chats, the later created posted to first, both posts in the same second (times
  // are kept in whole seconds): tried again should the posts straddle a second.
  let first;
  let second;
  for (let attempt = 1; ; attempt++) {
    first = await createChat(srv.url, 'Created first');
    second = await createChat(srv.url, 'Created second');
    while (Date.now() % 1000 > 100) await sleep(10); // at the start of a second
    const earlier = await postMessage(srv.url, second.id, 'earlier', 'Ada');
    const later = await postMessage(srv.url, first.id, 'later', 'Ada');
    if (earlier.created_at === later.created_at) break;
    assert.ok(attempt < 3, `two posts in the same second: ${earlier.created_at}, ${later.created_at}`);
  }
  // live: the last post's chat is on top
  await until(async () => (await order(listTab)).slice(0, 2), [first.id, second.id], 'live: the chat posted to last on top');
  // and so when the server renders the list
  const fresh = await openPage(context, srv.url + '/', { errors: pageErrors, label: 'list reloaded' });
  const rendered = (await order(fresh)).slice(0, 2);
  await fresh.close();
  assert.deepEqual(rendered, [first.id, second.id], 'the rendered list: the chat posted to last on top');
});

test('the settings form deletes a chat only with its box ticked; the open list drops it', T, async () => {
  assert.ok(listTab, 'the list of the previous tests');
  const chat = await createChat(srv.url, 'Doomed');
  await item(listTab, chat.id).waitFor({ state: 'attached', timeout: 3000 });
  const page = await openPage(context, `${srv.url}/chats/${chat.id}`, { errors: pageErrors, label: 'doomed' });
  await page.locator('details.chat-settings > summary').click();
  const form = page.locator(`form.delete-chat[action="/chats/${chat.id}/delete"]`);
  const box = form.locator('input[type=checkbox][name=confirm]');
  await form.waitFor({ state: 'visible' });
  assert.equal(await box.isChecked(), false);

  // not ticked: the browser does not send it (the box is required) …
  await form.locator('button[type=submit]').click();
  await sleep(500);
  assert.equal(page.url(), `${srv.url}/chats/${chat.id}`, 'still on the chat');
  // … and the server refuses it when sent anyway
  const [refused] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/chats/${chat.id}/delete`)),
    form.evaluate((f) => f.submit()), // no constraint validation
  ]);
  assert.equal(refused.status(), 422);
  await page.waitForLoadState('load');
  assert.match(await page.locator('body').textContent(), /Tick the box to confirm that the chat should be deleted\./);
  assert.equal((await api(srv.url, 'GET', `/api/v1/chats/${chat.id}`)).status, 200, 'the chat is still there');
  assert.equal(await item(listTab, chat.id).count(), 1, 'and still listed');

  // ticked: deleted, back to the list, and gone from the open list tab
  await page.goto(`${srv.url}/chats/${chat.id}`, { waitUntil: 'load' });
  await page.locator('details.chat-settings > summary').click();
  await box.check();
  await Promise.all([page.waitForURL(`${srv.url}/`), form.locator('button[type=submit]').click()]);
  assert.equal(await item(page, chat.id).count(), 0, 'not on the list it lands on');
  assert.equal((await api(srv.url, 'GET', `/api/v1/chats/${chat.id}`)).status, 404, 'the chat is gone');
  await item(listTab, chat.id).waitFor({ state: 'detached', timeout: 3000 });
  await notReloaded(listTab);
  await page.close();
});

// ---------- with accounts: Ada (administrator) and Bob ----------

let ada; // API clients
let bob;
let adaContext;
let bobContext;
let adaList;
let bobList;
let shared; // Ada's chat with Bob in it
let hidden; // Ada's chat without Bob, there before Bob's list opened

/** A browser context signed in with `client`'s session cookie. */
async function contextOf(client) {
  const ctx = await newContext();
  const value = client.cookie.slice('parley_session='.length);
  await ctx.addCookies([{ name: 'parley_session', value, url: acc.url, httpOnly: true, sameSite: 'Lax' }]);
  return ctx;
}

/** Everything the list on `page` receives from here on: window.__list = ["TYPE DATA"…]. */
const recordList = (page) => page.evaluate(() => {
  window.__list = [];
  document.addEventListener('htmx:sseBeforeMessage', (e) => {
    if (e.target && e.target.id === 'chats') window.__list.push(`${e.detail.type} ${e.detail.data}`);
  }, true);
});

test('accounts: Bob\'s unread count rises with Ada\'s posts, and what Ada writes in her tab is not unread for her', T, async () => {
  await acc.ready();
  ada = await admin(acc.url);
  bob = await newUser(ada, 'bob', { password: 'bob-secret-pw-1', display_name: 'Bob' });
  shared = await ada.createChat('Ada and Bob');
  await ada.ok('POST', `/api/v1/chats/${shared.id}/members`, { user: 'bob' });
  hidden = await ada.createChat('Ada alone');
  await ada.post(hidden.id, 'SECRET-1 only Ada reads this');
  adaContext = await contextOf(ada);
  bobContext = await contextOf(bob);
  adaList = await openList(adaContext, acc.url, 'ada list');
  bobList = await openList(bobContext, acc.url, 'bob list');
  await recordList(bobList);
  assert.deepEqual(await order(bobList), [shared.id], 'Bob\'s list: only his chat');
  assert.deepEqual((await order(adaList)).sort(), [shared.id, hidden.id].sort(), 'Ada\'s list: both');

  // Ada writes in the chat, in a tab of her browser
  const adaChat = await openPage(adaContext, `${acc.url}/chats/${shared.id}`, { errors: pageErrors, label: 'ada chat' });
  await streamOpen(adaChat);
  for (const [i, body] of ['Tea at five?', 'Or six.'].entries()) {
    const box = adaChat.locator('#composer textarea[name=body]');
    await box.fill(body);
    await box.press('Enter');
    await adaChat.locator(`#msg-${i + 1}`).waitFor({ state: 'attached', timeout: 3000 });
  }
  await until(async () => shown(bobList, shared.id), { name: 'Ada and Bob', preview: 'ada: Or six.', unread: 2 }, 'Bob: two unread');
  assert.equal(await bobList.title(), titleFor(2), 'Bob\'s title');
  await until(async () => shown(adaList, shared.id), { name: 'Ada and Bob', preview: 'ada: Or six.', unread: 0 }, 'Ada: her own posts, read');
  await sleep(300);
  assert.equal((await shown(adaList, shared.id)).unread, 0, 'still none unread for Ada');
  await adaChat.close();

  // Bob opens the chat in another tab: read, on his list and on the server
  const bobChat = await bobContext.newPage();
  bobChat.on('pageerror', (e) => pageErrors.push(`bob chat: ${e.message}`));
  // the page sends its read mark to the server within a second
  const marked = bobChat.waitForResponse((r) => r.url() === `${acc.url}/chats/${shared.id}/read` && r.request().method() === 'POST', { timeout: 5000 });
  await bobChat.goto(`${acc.url}/chats/${shared.id}`, { waitUntil: 'load' });
  await until(async () => (await shown(bobList, shared.id)).unread, 0, 'Bob: read once open');
  assert.equal(await bobList.title(), BASE_TITLE);
  assert.equal((await marked).status(), 204, 'the read mark was taken');
  await bobChat.close();
  const elsewhere = await contextOf(bob); // another browser of Bob's: no local marks
  try {
    const page = await openPage(elsewhere, acc.url + '/', { errors: pageErrors, label: 'bob elsewhere' });
    assert.equal((await shown(page, shared.id)).unread, 0, 'the server kept Bob\'s read mark');
    assert.equal(await page.title(), BASE_TITLE);
  } finally {
    await elsewhere.close();
  }
  await notReloaded(bobList);
  await notReloaded(adaList);
});

// Her own post is hers whichever way it was sent (a script, her phone): no tab of hers had
// to show it for it to count as read.
test('accounts: what Ada posts from elsewhere (the API) is not unread for her either', T, async () => {
  assert.ok(adaList && bobList, 'the lists of the previous test');
  const was = (await shown(bobList, shared.id)).unread;
  await ada.post(shared.id, 'Posted from my phone');
  await until(async () => (await shown(bobList, shared.id))?.unread, was + 1, 'Bob: one more unread');
  await until(async () => (await shown(adaList, shared.id))?.preview, 'ada: Posted from my phone', 'Ada\'s list follows');
  await sleep(300);
  assert.equal((await shown(adaList, shared.id)).unread, 0, 'Ada\'s own post is not unread for her');
});

// Bob reads on his phone: the badge on his desktop goes without a reload (the read mark
// comes through the shared stream as list "read"; the two browsers share no storage).
test('accounts: what Bob reads in another browser is read on his list at once', T, async () => {
  assert.ok(adaList && bobList, 'the lists of the previous tests');
  await until(async () => (await shown(bobList, shared.id))?.unread, 1, 'Bob: one unread before');
  const phone = await contextOf(bob);
  try {
    const chat = await openPage(phone, `${acc.url}/chats/${shared.id}`, { errors: pageErrors, label: 'bob phone chat' });
    await until(async () => (await shown(bobList, shared.id))?.unread, 0, 'Bob\'s other browser: read');
    assert.equal(await bobList.title(), BASE_TITLE);
    await chat.close();
  } finally {
    await phone.close();
  }
  assert.ok((await bobList.evaluate(() => window.__list)).some((e) => e === `read ${shared.id} 3`),
    'the list heard "read CHAT SEQ"');
  await notReloaded(bobList);
});

test('accounts: a chat Bob is not in never reaches his list, nor do its previews', T, async () => {
  assert.ok(adaList && bobList, 'the lists of the previous tests');
  const another = await ada.createChat('Ada plans a surprise');
  await ada.post(another.id, 'SECRET-2 a party for Bob');
  await ada.post(hidden.id, 'SECRET-3 the cake');
  await ada.ok('PATCH', `/api/v1/chats/${hidden.id}`, { title: 'SECRET-4 renamed' });
  // Ada sees all of it (she is in both, and an administrator) …
  await until(async () => (await shown(adaList, hidden.id))?.name, 'SECRET-4 renamed', 'Ada\'s list: the rename');
  await until(async () => (await shown(adaList, another.id))?.preview, 'ada: SECRET-2 a party for Bob', 'Ada\'s list: the new chat');
  // … then a post in the chat Bob is in: once it reached him, anything before it would have too
  await ada.post(shared.id, 'See you there');
  await until(async () => (await shown(bobList, shared.id))?.preview, 'ada: See you there', 'Bob\'s list: the shared chat');
  await sleep(300);
  assert.deepEqual(await order(bobList), [shared.id], 'Bob\'s list: still only his chat');
  const heard = await bobList.evaluate(() => window.__list);
  assert.ok(heard.some((e) => e.includes('See you there')), `Bob's list heard the shared chat: ${JSON.stringify(heard)}`);
  const leaks = heard.filter((e) => /SECRET|surprise/.test(e) || e.includes(hidden.id) || e.includes(another.id));
  assert.deepEqual(leaks, [], 'nothing of Ada\'s other chats reached Bob\'s browser');
  assert.doesNotMatch(await bobList.content(), /SECRET|surprise/);
  await notReloaded(bobList);
});

test('accounts: Bob removed from the chat: it leaves his open list, and stays away', T, async () => {
  assert.ok(adaList && bobList, 'the lists of the previous tests');
  // his chat is open in a tab too, as it would be
  const bobChat = await openPage(bobContext, `${acc.url}/chats/${shared.id}`, { errors: pageErrors, label: 'bob chat' });
  await streamOpen(bobChat);
  const r = await ada.api('DELETE', `/api/v1/chats/${shared.id}/members/${bob.user.id}`);
  assert.ok(r.status === 204 || r.status === 200, `remove Bob: ${r.status} ${r.text}`);
  await item(bobList, shared.id).waitFor({ state: 'detached', timeout: 3000 });
  assert.deepEqual(await order(bobList), [], 'Bob\'s list is empty');
  assert.equal(await bobList.locator('#no-chats').isVisible(), true, 'and says so');
  await bobChat.locator('#chat-notice', { hasText: 'You are no longer a member of this chat.' }).waitFor({ state: 'visible', timeout: 3000 });

  // Ada goes on writing: her list follows, Bob's stays empty and hears nothing of it
  await ada.post(shared.id, 'SECRET-5 after Bob left');
  await until(async () => (await shown(adaList, shared.id))?.preview, 'ada: SECRET-5 after Bob left', 'Ada\'s list follows');
  await sleep(500);
  assert.deepEqual(await order(bobList), [], 'still empty');
  const heard = await bobList.evaluate(() => window.__list);
  assert.deepEqual(heard.filter((e) => e.includes('SECRET')), [], 'nothing after the removal reached Bob');
  assert.equal(await bobList.title(), BASE_TITLE, 'no unread count left');
  await notReloaded(bobList);
  await bobChat.close();
});

test('no JavaScript errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
