// Reading and writing a long chat, by keyboard and on a phone (--auth none):
// "Earlier messages" brings the ones before the page's 200 into place, oldest first, once
// each; one's own post brings the view to the bottom even when scrolled up; the keyboard
// reaches a message and its actions (Shift+Tab from the composer), an editor opens with
// Enter, Escape closes it and Ctrl+Enter saves it, the focus staying on the message; a
// person who names themselves is listed as here at once, without a reload; a right-to-left
// message is laid out right to left.
// With $SCREENSHOT_DIR set, the chat scrolled to its earliest messages is saved at a desktop
// and a phone size (reading-earlier-desktop.png, reading-earlier-phone.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { api, createChat, postMessage, eventually, startServer, tempDir } from '../http/helpers.mjs';
import { runSql } from '../http/account_helpers.mjs';
import { useBrowser, openPage, streamOpen, screenshots, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const MSG = '#messages > article[id^=msg-]';
const { srv, browser } = useBrowser();
const errors = [];
let context;
let chat;

before(async () => {
  await srv.ready();
  await browser.ready();
  chat = await createChat(srv.url, 'A long history');
  for (let i = 1; i <= 260; i++) await postMessage(srv.url, chat.id, `message number ${i}`, i % 2 ? 'Ada' : 'Grace');
  context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  context.setDefaultTimeout(5000);
  await context.addInitScript(() => localStorage.setItem('parley.author', 'Ada'));
}, { timeout: 60000 });

after(async () => {
  if (context) await context.close();
});

async function chatTab() {
  const page = await openPage(context, `${srv.url}/chats/${chat.id}`, { errors, htmx: true });
  await streamOpen(page);
  return page;
}

const seqs = (page) => page.$$eval(MSG, (els) => els.map((e) => Number(e.dataset.seq)));

test('"Earlier messages" brings the 100 before into place, then the rest; no message twice, the view kept', T, async () => {
  const page = await chatTab();
  assert.deepEqual(await seqs(page), Array.from({ length: 200 }, (_, i) => i + 61), 'the page: the last 200');
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  const firstShown = page.locator('#msg-61');
  const before = await firstShown.boundingBox();
  await page.locator('#messages > button.earlier').click();
  await page.waitForSelector('#msg-1', { state: 'attached' });
  // the 100 before would be 1…60 with a button; 60 are left, so no button after them
  const list = await seqs(page);
  assert.deepEqual(list, Array.from({ length: 260 }, (_, i) => i + 1), 'every message once, oldest first');
  assert.equal(await page.locator('#messages > button.earlier').count(), 0, 'nothing earlier: the button is gone');
  const after = await firstShown.boundingBox();
  assert.ok(Math.abs(after.y - before.y) < 60, `the message that was first stays in view (${before.y} → ${after.y})`);
  assert.equal(await page.locator('#msg-1 time').evaluate((t) => t.textContent.length > 0), true, 'times shown as on the page');
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'msg-60', null, { timeout: 2000 })
    .catch(() => {});
  assert.equal(await page.evaluate(() => document.activeElement.id), 'msg-60', 'the focus moved from the button to the newest message it brought');
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  await screenshots(page, 'reading-earlier');
  await page.close();
});

test('posting while scrolled up brings the view down to one\'s own message', T, async () => {
  const page = await chatTab();
  await page.evaluate(() => { document.getElementById('messages').scrollTop = 0; });
  const box = page.locator('#composer textarea[name=body]');
  await box.fill('scrolled up and posting');
  await box.press('Enter');
  const mine = page.locator(MSG).filter({ hasText: 'scrolled up and posting' });
  await mine.waitFor({ state: 'attached' });
  await eventually(() => mine.isVisible() && page.evaluate(() => {
    const m = document.getElementById('messages');
    return m.scrollHeight - m.scrollTop - m.clientHeight < 5;
  }), { timeout: 3000, what: 'the view at the bottom, one\'s own message in it' });
  await page.close();
});

test('the keyboard reaches a message and its actions; Enter edits, Escape closes, Ctrl+Enter saves, the focus kept', T, async () => {
  const page = await chatTab();
  const box = page.locator('#composer textarea[name=body]');
  await box.focus();
  const focused = () => page.evaluate(() => {
    const el = document.activeElement;
    return { tag: el.tagName.toLowerCase(), id: el.id, act: el.dataset.act || null,
      msg: el.closest('article.msg')?.id || null, actions: !!el.closest('article.msg')?.querySelector('.msg-actions button')?.checkVisibility() };
  });
  const last = await page.locator(MSG).last().getAttribute('id');
  let f;
  for (let i = 0; i < 4 && (f = await focused()).tag !== 'article'; i++) await page.keyboard.press('Shift+Tab'); // past "Posting as"
  assert.deepEqual([f.tag, f.id, f.actions], ['article', last, true], `Shift+Tab from the composer: the last message, its actions shown (${JSON.stringify(f)})`);
  await page.keyboard.press('Tab');
  f = await focused();
  assert.deepEqual([f.act, f.msg], ['edit', last], `then Tab: its Edit button (${JSON.stringify(f)})`);
  await page.keyboard.press('Enter');
  const editor = page.locator(`#${last} .msg-edit textarea`);
  await editor.waitFor({ state: 'visible' });
  assert.equal((await focused()).tag, 'textarea', 'the editor has the focus');
  await page.keyboard.press('Escape');
  await editor.waitFor({ state: 'detached' });
  f = await focused();
  assert.deepEqual([f.tag, f.id], ['article', last], `Escape: the editor closed, the focus back on the message (${JSON.stringify(f)})`);
  await page.keyboard.press('Tab');
  await page.keyboard.press('Enter');
  await editor.waitFor({ state: 'visible' });
  await editor.fill('edited by keyboard');
  await page.keyboard.press('Control+Enter');
  await page.locator(`#${last} .msg-edited`).waitFor({ state: 'attached' });
  await eventually(async () => (await focused()).msg === last, { timeout: 3000, what: 'the focus still on the edited message' });
  assert.equal((await page.locator(`#${last} .msg-body`).textContent()).trim(), 'edited by keyboard');
  await page.close();
});

test('naming oneself lists one as here at once, in another person\'s tab too, without a reload', T, async () => {
  const small = await createChat(srv.url, 'Who is here');
  const other = await browser.newContext({ viewport: VIEWPORTS.phone });
  try {
    await other.addInitScript(() => localStorage.setItem('parley.author', 'Grace'));
    const grace = await openPage(other, `${srv.url}/chats/${small.id}`, { errors, htmx: true });
    const fresh = await browser.newContext({ viewport: VIEWPORTS.desktop });
    const page = await openPage(fresh, `${srv.url}/chats/${small.id}`, { errors, htmx: true });
    const here = (p) => p.$$eval('#presence .here-person', (els) => els.map((e) => e.textContent).sort());
    await eventually(async () => JSON.stringify(await here(page)) === '["Grace"]', { timeout: 5000, what: 'Grace here' });
    const author = page.locator('#composer [name=author]');
    await author.fill('Zoë');
    await author.dispatchEvent('change');
    await eventually(async () => JSON.stringify(await here(page)) === '["Grace","Zoë"]', { timeout: 5000, what: 'Zoë listed in her own tab' });
    await eventually(async () => JSON.stringify(await here(grace)) === '["Grace","Zoë"]', { timeout: 5000, what: 'Zoë listed in Grace\'s tab' });
    await fresh.close();
  } finally {
    await other.close();
  }
});

test('one\'s own messages change side with one\'s name (--auth none), without a reload', T, async () => {
  const page = await chatTab();
  const own = () => page.$$eval('#messages > article.msg-own .msg-author', (els) => [...new Set(els.map((e) => e.textContent))]);
  assert.deepEqual(await own(), ['Ada'], 'Ada\'s messages on her side');
  await page.locator('#composer .posting-as').click();
  const author = page.locator('#composer [name=author]');
  await author.fill('Grace');
  await author.dispatchEvent('change');
  await eventually(async () => JSON.stringify(await own()) === '["Grace"]', { timeout: 3000, what: 'Grace\'s messages on the own side, Ada\'s not' });
  await page.evaluate(() => localStorage.setItem('parley.author', 'Ada'));
  await page.close();
});

test('a right-to-left message is laid out right to left', T, async () => {
  await postMessage(srv.url, chat.id, 'مرحبا بكم في الدردشة.', 'Ada');
  const page = await chatTab();
  const dir = await page.locator(MSG).last().locator('.msg-body').evaluate((e) => getComputedStyle(e).direction);
  assert.equal(dir, 'rtl');
  await page.close();
});

test('messages of different days are parted by their day: a date, "Yesterday", "Today"; live posts and deletions keep the parts right', T, async (t) => {
  const dir = tempDir();
  const db = path.join(dir.dir, 'days.db');
  let own = await startServer({ db });
  t.after(async () => {
    await own.stop();
    dir.cleanup();
  });
  const days = await createChat(own.url, 'Across the days');
  for (let i = 1; i <= 5; i++) await postMessage(own.url, days.id, `day message ${i}`, 'Ada');
  await own.stop('SIGTERM', { keepDb: true });
  const ago = (when) => `strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '${when}')`;
  runSql(db, `UPDATE messages SET created_at = ${ago('-3 days')} WHERE seq <= 2;` +
    `UPDATE messages SET created_at = ${ago('-1 day')} WHERE seq = 3`);
  own = await startServer({ db });
  const ctx = await browser.newContext({ viewport: VIEWPORTS.phone, timezoneId: 'UTC' });
  t.after(() => ctx.close());
  const page = await openPage(ctx, `${own.url}/chats/${days.id}`, { errors, htmx: true });
  await streamOpen(page);
  // each part: its label and the message right after it
  const parts = () => page.$$eval('#messages > .day', (els) => els.map((e) => `${e.textContent} > ${e.nextElementSibling.id}`));
  const [first, ...rest] = await parts();
  assert.match(first, /^\w+, [\w ,]*\d[\w ,]* > msg-1$/, 'three days ago: its weekday and date');
  assert.deepEqual(rest, ['Yesterday > msg-3', 'Today > msg-4']);
  assert.match(await page.locator('#msg-1 time').textContent(), /^\d\d:\d\d/, 'a message\'s time is its hour: its day heads it');

  await postMessage(own.url, days.id, 'said today, live', 'Ada');
  await page.locator('#msg-6').waitFor({ state: 'attached' });
  assert.deepEqual((await parts()).slice(1), ['Yesterday > msg-3', 'Today > msg-4'], 'a live post of today adds no part');
  assert.equal((await api(own.url, 'DELETE', `/api/v1/chats/${days.id}/messages/3`)).status, 204);
  await eventually(async () => (await parts()).length === 2, { timeout: 3000, what: 'yesterday\'s part gone with its only message' });
  assert.equal((await parts())[1], 'Today > msg-4');
  for (const seq of [4, 5, 6]) assert.equal((await api(own.url, 'DELETE', `/api/v1/chats/${days.id}/messages/${seq}`)).status, 204);
  await eventually(async () => (await parts()).length === 1, { timeout: 3000, what: 'today\'s part gone with its messages' });
  await postMessage(own.url, days.id, 'today again', 'Ada');
  await eventually(async () => (await parts())[1] === 'Today > msg-7', { timeout: 3000, what: 'a part for today with the next post' });
  await screenshots(page, 'reading-days');
});

test('no JavaScript errors', () => {
  assert.deepEqual(errors, []);
});
