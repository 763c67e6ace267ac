// Conversation control (SPEC 8) and presence and typing (SPEC 9) in two browsers at once:
// Ada and Bob, signed in (accounts mode) in two browser contexts, on one chat with the
// built-in bots Echo and Eliza (round-robin). Everything is checked in both tabs, live,
// without a reload: who is here (and leaving only after the grace), "Ada is typing…" (never
// in her own tab), editing a message through its Edit button, regenerating a bot's reply and
// flipping between the answers, continuing one, deleting one (confirmed), and a tab that was
// offline catching up on an edit and a deletion. No message id is ever shown twice.
// Offline: chromium's context.setOffline(true) does not end a response already streaming
// (the page keeps getting events), so the test also cuts the page's open stream (its
// fetch wrapped by an init script); the page's reconnections then fail until it is back
// online, and it resumes from its last event. Were the stream not cuttable, the tab is
// closed and reopened instead (the test says which it used).
// With $SCREENSHOT_DIR set, both tabs (1280x800) are saved once every mark is on show
// (control-ada-marks-desktop.png, control-bob-marks-desktop.png) and at the end
// (control-ada-desktop.png, control-bob-desktop.png), and a touch phone's chat (390x844) with
// a message's actions tapped open (control-actions-phone.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { sleep } from '../http/helpers.mjs';
import { ADMIN, adminEnv, admin } from '../http/account_helpers.mjs';
import { useBrowser, openPage, streamOpen, streamCutter, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const BOB = { name: 'bob', password: 'bob-secret-pw-1', display_name: 'Bob' };
const FIRST = 'first message';
const EDITED = 'first message, edited';
const BOT_EDIT = 'Echo said this, edited while Bob was away';

const { srv, browser } = useBrowser({ auth: 'accounts', env: adminEnv(), args: ['--typing-ms', '20'] });
const pageErrors = [];
let adaContext;
let bobContext;
let phoneContext;
let chatId;
let ada; // Ada's chat tab
let bob; // Bob's chat tab
let adaSeq; // Ada's "first message"
let echoSeq; // Echo's reply to it
let elizaSeq; // Eliza's reply to it

// In every page of the contexts: a record of any message id shown twice, of each state of
// #presence and of each text of #typing, kept by a MutationObserver from the first mutation.
function watcher() {
  window.__dups = [];
  window.__presence = [];
  window.__typing = [];
  const check = () => {
    const seen = new Set();
    for (const e of document.querySelectorAll('article[id^=msg-]')) {
      if (seen.has(e.id)) window.__dups.push(e.id);
      seen.add(e.id);
    }
    const p = document.getElementById('presence');
    if (p) {
      const names = Array.from(p.querySelectorAll('.here-person'), (e) => e.textContent.trim());
      const last = window.__presence[window.__presence.length - 1];
      if (!last || last.names.join('|') !== names.join('|')) window.__presence.push({ t: Date.now(), names });
    }
    const ty = document.getElementById('typing');
    if (ty) {
      const text = ty.textContent;
      const last = window.__typing[window.__typing.length - 1];
      if (!last || last.text !== text) window.__typing.push({ t: Date.now(), text });
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true, attributes: false });
}

/** A browser context at desktop size, nothing waiting longer than 5 s, with the watcher. */
async function newContext(options = {}) {
  const c = await browser.newContext({ viewport: VIEWPORTS.desktop, ...options });
  c.setDefaultTimeout(5000);
  c.setDefaultNavigationTimeout(5000);
  await c.addInitScript(watcher);
  await c.addInitScript(streamCutter);
  return c;
}

const at = (p) => srv.url + p;
const chatPath = () => `/chats/${chatId}`;

/** Sign in as `who` on a fresh page of `context` through the form the chat page leads to; the chat tab, its stream open. */
async function signInToChat(context, who, label) {
  const page = await openPage(context, at(chatPath()), { errors: pageErrors, label });
  assert.match(page.url(), /\/login\?next=/, `${label}: signed out, the chat leads to the sign-in page`);
  const form = page.locator('form[action="/login"]');
  await form.locator('input[name=name]').fill(who.name);
  await form.locator('input[name=password]').fill(who.password);
  await form.locator('button[type=submit]').click();
  await page.waitForURL(at(chatPath()), { timeout: 5000 });
  await ready(page);
  return page;
}

/** The chat tab of `context` opened again (the session kept), its stream open. */
async function reopen(context, label) {
  const page = await openPage(context, at(chatPath()), { errors: pageErrors, label });
  await ready(page);
  return page;
}

async function ready(page) {
  await page.waitForFunction(() => window.htmx !== undefined);
  await streamOpen(page, { timeout: 5000 });
}

/** What `page` shows of message `seq`: how many elements have its id, and the first's class, text, "n/m", "edited". */
function describe(page, seq) {
  return page.evaluate((id) => {
    const els = document.querySelectorAll(`[id="${id}"]`);
    const e = els[0];
    return {
      count: els.length,
      class: e?.className,
      author: e?.querySelector('.msg-author')?.textContent.trim(),
      body: e?.querySelector('.msg-body')?.textContent.trim(),
      pos: e?.querySelector('.alt-pos')?.textContent ?? null,
      edited: !!e?.querySelector('.msg-edited'),
    };
  }, `msg-${seq}`);
}

/**
 * Wait (≤ `timeout` ms) until `page` shows message `seq` as `want` says: {gone}, or one element
 * with that id and {complete, body, grownFrom (starts with it and is longer), pos, edited, text (non-empty)}.
 */
async function until(page, seq, want, what, timeout = 5000) {
  try {
    await page.waitForFunction(([id, w]) => {
      const els = document.querySelectorAll(`[id="${id}"]`);
      if (w.gone) return els.length === 0;
      if (els.length !== 1) return false;
      const e = els[0];
      const body = (e.querySelector('.msg-body')?.textContent || '').trim();
      if (w.complete && !e.classList.contains('msg-complete')) return false;
      if (w.body !== undefined && body !== w.body) return false;
      if (w.grownFrom !== undefined && !(body.startsWith(w.grownFrom) && body.length > w.grownFrom.length)) return false;
      if (w.pos !== undefined && (e.querySelector('.alt-pos')?.textContent ?? null) !== w.pos) return false;
      if (w.edited && !e.querySelector('.msg-edited')) return false;
      if (w.text && !body) return false;
      return true;
    }, [`msg-${seq}`, want], { timeout, polling: 50 });
  } catch (e) {
    if (!/Timeout/i.test(String(e && e.message))) throw e;
    assert.fail(`${what}: waited ${timeout} ms for msg-${seq} ${JSON.stringify(want)}; it is ${JSON.stringify(await describe(page, seq))}`);
  }
}

/** The names in `page`'s #presence. */
const presence = (page) => page.$$eval('#presence .here-person', (els) => els.map((e) => e.textContent.trim()));

/** Wait (≤ `timeout`) until `page`'s #presence lists exactly `names` (any order, each once); returns the ms it took. */
async function presenceIs(page, names, what, timeout = 5000) {
  const t0 = Date.now();
  try {
    await page.waitForFunction((want) => {
      const got = Array.from(document.querySelectorAll('#presence .here-person'), (e) => e.textContent.trim()).sort();
      return got.join('|') === want.slice().sort().join('|');
    }, names, { timeout, polling: 50 });
  } catch (e) {
    if (!/Timeout/i.test(String(e && e.message))) throw e;
    assert.fail(`${what}: waited ${timeout} ms for #presence to list ${JSON.stringify(names)}; it lists ${JSON.stringify(await presence(page))}`);
  }
  return Date.now() - t0;
}

/** The seq of the message in `page` by `author` with a body that is `body` (or any body), after `after`. */
function seqOf(page, { author, body, kind, after = 0 }) {
  return page.evaluate(([a, b, k, n]) => {
    for (const e of document.querySelectorAll('#messages > article[id^=msg-]')) {
      if (Number(e.dataset.seq) <= n) continue;
      if (k && !e.classList.contains(`msg-${k}`)) continue;
      if (a && e.querySelector('.msg-author')?.textContent.trim() !== a) continue;
      if (b && e.querySelector('.msg-body')?.textContent.trim() !== b) continue;
      return Number(e.dataset.seq);
    }
    return null;
  }, [author, body, kind, after]);
}

/** The action button `act` of message `seq` on `page`, once the message is hovered (its actions shown). */
async function action(page, seq, act) {
  const msg = page.locator(`#msg-${seq}`);
  await msg.hover();
  return msg.locator(`.msg-actions button[data-act=${act}]`);
}

/** Which of Edit/Delete/Regenerate/Continue `page` shows for message `seq` when it is hovered. */
async function shownActions(page, seq) {
  const msg = page.locator(`#msg-${seq}`);
  await msg.hover();
  const out = [];
  for (const act of ['edit', 'regenerate', 'continue', 'delete']) {
    const b = msg.locator(`.msg-actions button[data-act=${act}]`);
    if ((await b.count()) > 0 && (await b.isVisible())) out.push(act);
  }
  return out;
}

/** Edit message `seq` on `page` through the page: Edit, the box holds `from`, change to `to`, Save. */
async function editThroughPage(page, seq, from, to) {
  await (await action(page, seq, 'edit')).click();
  const box = page.locator(`#msg-${seq} form.msg-edit textarea`);
  await box.waitFor({ state: 'visible', timeout: 5000 });
  if (from !== undefined) assert.equal(await box.inputValue(), from, 'the editor holds the text as written');
  await box.fill(to);
  await page.locator(`#msg-${seq} form.msg-edit button[type=submit]`).click();
}

/** Nothing went wrong on `page`: #chat-error empty, no id shown twice (since the page loaded). */
async function assertClean(page, what) {
  assert.equal((await page.locator('#chat-error').textContent()).trim(), '', `${what}: #chat-error`);
  assert.deepEqual(await page.evaluate(() => window.__dups), [], `${what}: no message id shown twice`);
}

/** With $SCREENSHOT_DIR set, a full-page PNG of `page` at its current size, DIR/NAME.png. */
async function shot(page, name) {
  const dir = process.env.SCREENSHOT_DIR;
  if (!dir) return;
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`), fullPage: true });
}

before(async () => {
  await srv.ready();
  await browser.ready();
  const adm = await admin(srv.url);
  await adm.ok('PATCH', `/api/v1/users/${adm.user.id}`, { display_name: 'Ada' });
  await adm.ok('POST', '/api/v1/users', BOB);
  const echo = await adm.ok('POST', '/api/v1/bots', { name: 'Echo', backend: 'echo' });
  const eliza = await adm.ok('POST', '/api/v1/bots', { name: 'Eliza', backend: 'eliza' });
  const chat = await adm.createChat('Control room', { bots: [echo.id, eliza.id], policy: 'round-robin' });
  chatId = chat.id;
  await adm.ok('POST', `/api/v1/chats/${chatId}/members`, { user: BOB.name });
  adaContext = await newContext();
  bobContext = await newContext();
}, { timeout: 15000 });

after(async () => {
  for (const c of [phoneContext, bobContext, adaContext]) if (c) await c.close().catch(() => {});
});

test('presence: both listed once in both tabs; a closed tab leaves after the grace; a reload does not', T, async (t) => {
  let t0 = Date.now();
  ada = await signInToChat(adaContext, ADMIN, 'ada');
  bob = await signInToChat(bobContext, BOB, 'bob');
  t.diagnostic(`signed in both in ${Date.now() - t0} ms`);
  t0 = Date.now();
  await presenceIs(ada, ['Ada', 'Bob'], 'Ada\'s tab');
  await presenceIs(bob, ['Ada', 'Bob'], 'Bob\'s tab');
  t.diagnostic(`both listed in both tabs ${Date.now() - t0} ms later`);

  // Bob closes his tab: Ada's list drops him after the 5 s grace (+ ≤ 1 s coalescing)
  await bob.close();
  const closedAt = Date.now();
  const dropped = await presenceIs(ada, ['Ada'], 'Ada\'s tab once Bob closed his', 8500);
  const took = Date.now() - closedAt;
  t.diagnostic(`Bob left Ada's list ${took} ms after his tab closed`);
  assert.ok(dropped <= 8500);
  assert.ok(took >= 4000, `Bob left after the grace, not at once (${took} ms)`);

  // he comes back
  bob = await reopen(bobContext, 'bob again');
  await presenceIs(ada, ['Ada', 'Bob'], 'Ada\'s tab once Bob is back', 3000);
  await presenceIs(bob, ['Ada', 'Bob'], 'Bob\'s reopened tab');

  // Ada reloads: Bob's list keeps her throughout (sampled on every change, for the grace and more)
  const mark = Date.now();
  await ada.reload({ waitUntil: 'load' });
  await ready(ada);
  await presenceIs(ada, ['Ada', 'Bob'], 'Ada\'s reloaded tab');
  await sleep(Math.max(0, 6500 - (Date.now() - mark)));
  const log = await bob.evaluate(() => window.__presence);
  const during = log.filter((s) => s.t >= mark);
  const without = during.filter((s) => !s.names.includes('Ada'));
  assert.deepEqual(without.map((s) => ({ ms: s.t - mark, names: s.names })), [], 'Bob\'s tab never showed Ada leaving during her reload');
  assert.deepEqual((await presence(bob)).sort(), ['Ada', 'Bob']);
  for (const [who, page] of [['ada', ada], ['bob', bob]]) {
    const names = await presence(page);
    assert.equal(new Set(names).size, names.length, `${who}: each person listed once: ${names}`);
  }
});

test('typing: "Ada is typing…" in Bob\'s tab within 2 s, never in hers, gone within ~7 s', T, async (t) => {
  assert.ok(ada && bob, 'the tabs of the previous test');
  const box = ada.locator('#composer textarea[name=body]');
  await box.click();
  const seen = bob.waitForFunction(() => document.getElementById('typing').textContent === 'Ada is typing…', null, { timeout: 2000, polling: 50 });
  seen.catch(() => {});
  const t0 = Date.now();
  await ada.keyboard.type(FIRST, { delay: 40 });
  try {
    await seen;
  } catch {
    assert.fail(`Bob's #typing within 2 s: it says ${JSON.stringify(await bob.locator('#typing').textContent())}`);
  }
  const showedIn = Date.now() - t0;
  const stopped = Date.now();
  t.diagnostic(`"Ada is typing…" in Bob's tab ${showedIn} ms after her first key`);
  try {
    await bob.waitForFunction(() => document.getElementById('typing').textContent === '', null, { timeout: 7000, polling: 100 });
  } catch {
    assert.fail(`Bob's #typing cleared within 7 s of Ada stopping: it says ${JSON.stringify(await bob.locator('#typing').textContent())}`);
  }
  t.diagnostic(`cleared ${Date.now() - stopped} ms after she stopped`);
  const own = (await ada.evaluate(() => window.__typing)).filter((s) => s.text !== '');
  assert.deepEqual(own, [], 'Ada\'s own tab never says someone (herself) is typing');
  assert.equal(await box.inputValue(), FIRST, 'her text is still in the composer');
});

test('Ada posts, the bots reply; she edits through the page; Bob may not edit or delete hers', T, async () => {
  assert.ok(ada && bob, 'the tabs of the previous tests');
  await ada.locator('#composer textarea[name=body]').press('Enter');
  await ada.waitForFunction((b) => Array.from(document.querySelectorAll('#messages .msg-person .msg-body'))
    .some((e) => e.textContent.trim() === b), FIRST, { timeout: 5000, polling: 50 });
  adaSeq = await seqOf(ada, { body: FIRST, kind: 'person' });
  assert.ok(adaSeq, 'Ada\'s message in her tab');
  await until(bob, adaSeq, { body: FIRST, complete: true }, 'Bob\'s tab: Ada\'s message');
  assert.equal((await describe(bob, adaSeq)).author, 'Ada');

  // the bots reply, Echo then Eliza, in both tabs
  await ada.waitForFunction((n) => ['Echo', 'Eliza'].every((b) => Array.from(document.querySelectorAll('#messages > article.msg-bot.msg-complete'))
    .some((e) => Number(e.dataset.seq) > n && e.querySelector('.msg-author').textContent.trim() === b)), adaSeq, { timeout: 8000, polling: 50 });
  echoSeq = await seqOf(ada, { author: 'Echo', kind: 'bot', after: adaSeq });
  elizaSeq = await seqOf(ada, { author: 'Eliza', kind: 'bot', after: adaSeq });
  assert.ok(echoSeq < elizaSeq, `Echo (msg-${echoSeq}) then Eliza (msg-${elizaSeq})`);
  assert.equal((await describe(ada, echoSeq)).body, FIRST, 'Echo echoes her');
  for (const seq of [echoSeq, elizaSeq]) await until(bob, seq, { complete: true, text: true }, `Bob's tab: msg-${seq}`);
  assert.equal((await describe(bob, elizaSeq)).body, (await describe(ada, elizaSeq)).body, 'Eliza\'s reply alike in both tabs');

  // Ada edits hers through the page
  assert.deepEqual(await shownActions(ada, adaSeq), ['edit', 'delete'], 'Ada is offered Edit and Delete on her message');
  await editThroughPage(ada, adaSeq, FIRST, EDITED);
  for (const [who, page] of [['Ada', ada], ['Bob', bob]]) {
    await until(page, adaSeq, { body: EDITED, edited: true }, `${who}'s tab: the edit`);
    assert.equal(await page.locator(`#msg-${adaSeq} .msg-edited`).isVisible(), true, `${who}'s tab: "edited" shown`);
  }
  await ada.locator(`#msg-${adaSeq} form.msg-edit`).waitFor({ state: 'detached', timeout: 3000 });

  // what Bob is offered: nothing of Ada's message, everything of the bots'
  assert.deepEqual(await shownActions(bob, adaSeq), [], 'Bob is offered neither Edit nor Delete on Ada\'s message');
  // (not offered: the buttons hidden, or not there at all)
  const offered = await bob.$$eval(`#msg-${adaSeq} button[data-act=edit], #msg-${adaSeq} button[data-act=delete]`,
    (els) => els.filter((b) => !b.hidden).map((b) => b.dataset.act));
  assert.deepEqual(offered, [], 'Bob\'s tab: Ada\'s message has no Edit or Delete that is not hidden');
  for (const seq of [echoSeq, elizaSeq]) {
    assert.deepEqual(await shownActions(bob, seq), ['edit', 'regenerate', 'continue', 'delete'], `Bob is offered every action on msg-${seq}`);
  }
  await assertClean(ada, 'Ada');
  await assertClean(bob, 'Bob');
});

test('Bob regenerates Eliza\'s reply: 2/2 in both tabs; ‹ flips back to the first answer; one element', T, async (t) => {
  assert.ok(elizaSeq, 'Eliza\'s reply from the previous test');
  const first = (await describe(bob, elizaSeq)).body;
  assert.equal((await describe(bob, elizaSeq)).pos, null, 'one answer: no ‹ n/n ›');
  await (await action(bob, elizaSeq, 'regenerate')).click();
  for (const [who, page] of [['Ada', ada], ['Bob', bob]]) {
    await until(page, elizaSeq, { pos: '2/2', complete: true, text: true }, `${who}'s tab: the second answer`, 8000);
  }
  const second = (await describe(ada, elizaSeq)).body;
  assert.equal((await describe(bob, elizaSeq)).body, second, 'the second answer alike in both tabs');
  t.diagnostic(`first answer ${JSON.stringify(first)}, second ${JSON.stringify(second)}`);

  // ‹ (from Ada's tab) back to 1/2
  const prev = ada.locator(`#msg-${elizaSeq} .msg-alts button.alt`).first();
  assert.equal(await prev.getAttribute('aria-label'), 'Previous answer');
  await prev.click();
  for (const [who, page] of [['Ada', ada], ['Bob', bob]]) {
    await until(page, elizaSeq, { pos: '1/2', body: first, complete: true }, `${who}'s tab: flipped back to the first answer`);
    assert.equal(await page.locator(`[id="msg-${elizaSeq}"]`).count(), 1, `${who}'s tab: one msg-${elizaSeq}`);
    const ids = await page.$$eval('#messages > article', (els) => els.map((e) => e.id));
    assert.equal(ids.filter((id) => id === `msg-${elizaSeq}`).length, 1, `${who}'s tab: ${ids}`);
    await assertClean(page, who);
  }
});

test('continuing Echo\'s reply makes it grow in both tabs', T, async () => {
  assert.ok(echoSeq, 'Echo\'s reply from the earlier test');
  const old = (await describe(ada, echoSeq)).body;
  await (await action(ada, echoSeq, 'continue')).click();
  for (const [who, page] of [['Ada', ada], ['Bob', bob]]) {
    await until(page, echoSeq, { grownFrom: old, complete: true }, `${who}'s tab: Echo's reply grown`, 8000);
    await assertClean(page, who);
  }
  assert.equal((await describe(bob, echoSeq)).body, (await describe(ada, echoSeq)).body, 'alike in both tabs');
});

test('screenshots with every kind of mark: both tabs, and a touch phone with a message\'s actions tapped open', T, async () => {
  assert.ok(ada && bob && elizaSeq, 'the tabs and messages of the earlier tests');
  await shot(ada, 'control-ada-marks-desktop');
  await shot(bob, 'control-bob-marks-desktop');
  // a touch phone, signed in as Bob: a tap on Eliza's reply (two answers) shows its actions
  phoneContext = await newContext({
    viewport: VIEWPORTS.phone, hasTouch: true, isMobile: true, storageState: await bobContext.storageState(),
  });
  const phone = await reopen(phoneContext, 'phone');
  try {
    const msg = phone.locator(`#msg-${elizaSeq}`);
    assert.equal(await msg.locator('.msg-actions').isVisible(), false, 'the actions hidden before a tap');
    await msg.locator('.msg-body').tap();
    await phone.waitForFunction((id) => document.getElementById(id).classList.contains('acting'), `msg-${elizaSeq}`, { timeout: 3000 });
    for (const act of ['edit', 'regenerate', 'continue', 'delete']) {
      const b = msg.locator(`.msg-actions button[data-act=${act}]`);
      assert.equal(await b.isVisible(), true, `a tap shows ${act}`);
      const box = await b.boundingBox();
      assert.ok(box.x >= 0 && box.x + box.width <= VIEWPORTS.phone.width, `${act} inside the screen: ${JSON.stringify(box)}`);
    }
    assert.equal((await msg.locator('.alt-pos').textContent()), '1/2');
    await shot(phone, 'control-actions-phone');
  } finally {
    await phone.close();
  }
});

test('Ada deletes her message (confirmed): gone from both tabs, and after Bob reloads', T, async () => {
  assert.ok(adaSeq, 'Ada\'s message from the earlier test');
  const dialogs = [];
  const onDialog = (d) => { dialogs.push(d.message()); d.accept().catch(() => {}); };
  ada.on('dialog', onDialog);
  try {
    await (await action(ada, adaSeq, 'delete')).click();
    for (const [who, page] of [['Ada', ada], ['Bob', bob]]) {
      await until(page, adaSeq, { gone: true }, `${who}'s tab: the deleted message`);
    }
  } finally {
    ada.off('dialog', onDialog);
  }
  assert.deepEqual(dialogs, ['Delete this message for everyone?'], 'asked once');
  await sleep(300); // a late duplicate, were one coming
  for (const [who, page] of [['Ada', ada], ['Bob', bob]]) {
    assert.equal(await page.locator(`[id="msg-${adaSeq}"]`).count(), 0, `${who}'s tab: still gone`);
    await assertClean(page, who);
  }
  await bob.reload({ waitUntil: 'load' });
  await ready(bob);
  await sleep(300);
  assert.equal(await bob.locator(`[id="msg-${adaSeq}"]`).count(), 0, 'gone after Bob reloads');
  assert.equal(await bob.locator(`#msg-${echoSeq}`).count(), 1, 'the bots\' replies stay');
  assert.equal(await bob.locator(`#msg-${elizaSeq}`).count(), 1, 'the bots\' replies stay');
  await assertClean(bob, 'Bob after reloading');
});

test('a tab that was offline catches up: the edit shown, the deleted message not', T, async (t) => {
  assert.ok(echoSeq && elizaSeq, 'the bots\' replies from the earlier tests');
  const offline = (timeout) => bob.waitForFunction(() => document.body.classList.contains('offline'), null, { timeout, polling: 50 })
    .then(() => true, () => false);
  await bob.evaluate(() => { window.__samePage = true; });
  const streamsBefore = (await bob.evaluate(() => window.__streams)).length;
  // Bob's browser goes offline. Does that end his open stream? (the page says so: body.offline)
  // An event for the stream (Ada "typing", as her page sends it) gives it a read to fail on.
  await bobContext.setOffline(true);
  await ada.evaluate((id) => fetch(`/api/v1/chats/${id}/typing`, {
    method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: '{}',
  }).then((r) => r.status), chatId);
  let how = 'setOffline';
  if (!(await offline(2000))) {
    const heard = (await bob.evaluate(() => window.__typing)).some((s) => s.text === 'Ada is typing…');
    t.diagnostic(`setOffline(true) did not end Bob's open stream within 2 s${heard ? ' (his tab even got Ada\'s typing notice sent after it)' : ''}`);
    // then the open connection is cut as a lost network would end it (the page's own
    // reconnections go through the offline network, and fail)
    how = 'setOffline, the open stream cut';
    const cut = await bob.evaluate(() => (window.__cutStream ? (window.__cutStream(), true) : false));
    if (!cut || !(await offline(2000))) {
      how = 'closed and reopened';
      await bobContext.setOffline(false);
      await bob.close();
    }
  }
  t.diagnostic(`Bob's tab went away by: ${how}`);

  await editThroughPage(ada, echoSeq, (await describe(ada, echoSeq)).body, BOT_EDIT);
  await until(ada, echoSeq, { body: BOT_EDIT, edited: true }, 'Ada\'s tab: the edit of Echo\'s reply');
  const dialogs = [];
  const onDialog = (d) => { dialogs.push(d.message()); d.accept().catch(() => {}); };
  ada.on('dialog', onDialog);
  try {
    await (await action(ada, elizaSeq, 'delete')).click();
    await until(ada, elizaSeq, { gone: true }, 'Ada\'s tab: Eliza\'s reply deleted');
  } finally {
    ada.off('dialog', onDialog);
  }
  assert.equal(dialogs.length, 1, 'asked once');
  await assertClean(ada, 'Ada');

  if (how !== 'closed and reopened') {
    // offline long enough for the page to try again, and fail
    await bob.waitForFunction(() => window.__streamFailed >= 1, null, { timeout: 5000, polling: 50 });
    t.diagnostic(`while offline, ${await bob.evaluate(() => window.__streamFailed)} reconnection(s) failed`);
  }
  const back = Date.now();
  if (how !== 'closed and reopened') {
    assert.equal(await bob.evaluate(() => document.body.classList.contains('offline')), true, 'Bob\'s tab still offline');
    // while offline Bob's tab still shows what it had
    assert.notEqual((await describe(bob, echoSeq)).body, BOT_EDIT, 'offline: not the edit yet');
    assert.equal(await bob.locator(`#msg-${elizaSeq}`).count(), 1, 'offline: the deleted message still there');
    await bobContext.setOffline(false);
  } else {
    bob = await reopen(bobContext, 'bob back');
  }
  await until(bob, echoSeq, { body: BOT_EDIT, edited: true }, `Bob's tab back (${how}): the edit`, 10000);
  await until(bob, elizaSeq, { gone: true }, `Bob's tab back (${how}): the deleted message`, 10000);
  t.diagnostic(`Bob's tab caught up ${Date.now() - back} ms after coming back`);
  await bob.waitForFunction(() => !document.body.classList.contains('offline'), null, { timeout: 10000, polling: 100 });
  if (how !== 'closed and reopened') {
    assert.equal(await bob.evaluate(() => window.__samePage), true, 'the same page, not reloaded');
    const streams = (await bob.evaluate(() => window.__streams)).slice(streamsBefore);
    t.diagnostic(`Bob's stream reopened as ${JSON.stringify(streams)}`);
    assert.ok(streams.some((u) => u.includes(`chats=${chatId}:`)), `resumed from the last event Bob's tab had: ${streams}`);
  }
  await sleep(300);
  assert.equal(await bob.locator(`[id="msg-${elizaSeq}"]`).count(), 0, 'still gone');
  assert.equal(await bob.locator(`[id="msg-${echoSeq}"]`).count(), 1);
  await assertClean(bob, 'Bob back');
});

// The page shows a chat's last 200 messages; an update of an older one (edited through the
// API, say) is not added to the end of the page.
test('an edit of a message older than the page shows leaves the page as it is', T, async () => {
  const adm = await admin(srv.url);
  const chat = await adm.createChat('A long chat');
  for (let i = 1; i <= 201; i++) await adm.post(chat.id, `message number ${i}`);
  const ctx = await newContext();
  try {
    await ctx.addCookies([{ name: 'parley_session', value: adm.cookie.slice('parley_session='.length), url: srv.url, httpOnly: true, sameSite: 'Lax' }]);
    const page = await openPage(ctx, `${srv.url}/chats/${chat.id}`, { errors: pageErrors, label: 'long chat' });
    await ready(page);
    assert.equal(await page.locator('#msg-1').count(), 0, 'message 1 is older than the page shows');
    await adm.ok('PATCH', `/api/v1/chats/${chat.id}/messages/1`, { body: 'message number 1, edited' });
    await adm.post(chat.id, 'the newest');
    await page.locator('#msg-202').waitFor({ state: 'attached', timeout: 5000 });
    assert.equal(await page.locator('#msg-1').count(), 0, 'the edited old message was not added');
    assert.equal(await page.locator('#messages > article').last().getAttribute('id'), 'msg-202');
  } finally {
    await ctx.close();
  }
});

test('screenshots at the end, and no JavaScript errors on any page', T, async () => {
  if (ada) await shot(ada, 'control-ada-desktop');
  if (bob && process.env.SCREENSHOT_DIR) {
    // the offline test's "typing" notice gone first (it shows for 5 s)
    await bob.waitForFunction(() => document.getElementById('typing').textContent === '', null, { timeout: 6000, polling: 100 });
    await shot(bob, 'control-bob-desktop');
  }
  assert.deepEqual(pageErrors, [], 'no JavaScript errors on the pages');
});
