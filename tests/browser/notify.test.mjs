// Notifications are opt-in: nothing is asked on load; "Notify me" asks once; then a
// hidden chat tab notifies on an @mention of the person or a bot's finished reply,
// and a visible one never does. The browser's Notification is replaced by a recorder
// (headless chromium shows none), and the tab's visibility is driven by the test.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { chatWithBots, postMessage, sleep, eventually, uniqueName } from '../http/helpers.mjs';
import { useBrowser, openPage, screenshots } from './helpers.mjs';

const T = { timeout: 30000 };
const { srv, browser } = useBrowser();
let context;

before(async () => {
  await browser.ready();
  context = await browser.newContext();
  await context.addInitScript(() => {
    window.__asked = 0;
    window.__shown = [];
    window.__hidden = false;
    let permission = 'default';
    class Recorder {
      constructor(title, options) { window.__shown.push({ title, body: options && options.body }); }
      close() {}
      static get permission() { return permission; }
      static requestPermission() { window.__asked++; permission = 'granted'; return Promise.resolve(permission); }
    }
    window.Notification = Recorder;
    Object.defineProperty(Document.prototype, 'hidden', { get: () => window.__hidden, configurable: true });
    Object.defineProperty(Document.prototype, 'visibilityState', { get: () => (window.__hidden ? 'hidden' : 'visible'), configurable: true });
  });
});

async function setHidden(page, hidden) {
  await page.evaluate((h) => { window.__hidden = h; document.dispatchEvent(new Event('visibilitychange')); }, hidden);
}

test('nothing is asked on load; "Notify me" asks once, then says notifications are on', T, async () => {
  const { chat } = await chatWithBots(srv.url, 'Quiet', [{ name: uniqueName('Echo'), backend: 'echo' }], { policy: 'mentions' });
  const page = await openPage(context, `${srv.url}/chats/${chat.id}`, { htmx: true });
  await sleep(300);
  assert.equal(await page.evaluate(() => window.__asked), 0, 'no permission asked by itself');
  const button = page.locator('#notify');
  assert.equal(await button.textContent(), 'Notify me');
  await button.click();
  await eventually(async () => (await button.textContent()) === 'Notifications on', { what: 'button updated' });
  assert.equal(await page.evaluate(() => window.__asked), 1);
  assert.ok(await button.isDisabled(), 'asked once: the button is done');
  await screenshots(page, 'chat-notify');
  await page.close();
});

test('a hidden tab notifies on an @mention and on a finished bot reply; a visible one does not', T, async () => {
  const { chat, bots } = await chatWithBots(srv.url, 'Pings', [{ name: uniqueName('Echo'), backend: 'echo' }], { policy: 'mentions' });
  const bot = bots[0].name;
  const page = await openPage(context, `${srv.url}/chats/${chat.id}`, { htmx: true });
  // this browser posts as Ada (the name kept from the composer)
  await page.evaluate(() => localStorage.setItem('parley.author', 'Ada'));
  // permission granted in the previous test lives in this context's storage
  assert.equal(await page.evaluate(() => localStorage.getItem('parley.notify')), '1');
  await page.evaluate(() => Notification.requestPermission());

  // visible: a mention shows no notification
  await postMessage(srv.url, chat.id, 'hey @Ada, look', 'Bob');
  await page.locator('#msg-1').waitFor({ state: 'attached', timeout: 3000 });
  await sleep(300);
  assert.deepEqual(await page.evaluate(() => window.__shown), [], 'nothing while visible');

  await setHidden(page, true);
  await postMessage(srv.url, chat.id, 'still there @ada?', 'Bob');
  await page.locator('#msg-2').waitFor({ state: 'attached', timeout: 3000 });
  await eventually(async () => (await page.evaluate(() => window.__shown.length)) === 1, { what: 'the mention notified' });
  let shown = await page.evaluate(() => window.__shown);
  assert.equal(shown[0].title, 'Bob mentioned you');
  assert.match(shown[0].body, /still there @ada\?/);

  // a message that mentions nobody here: nothing
  await postMessage(srv.url, chat.id, 'talking to myself', 'Bob');
  await page.locator('#msg-3').waitFor({ state: 'attached', timeout: 3000 });
  await sleep(300);
  assert.equal(await page.evaluate(() => window.__shown.length), 1, 'no mention, no notification');

  // a bot's finished reply
  await postMessage(srv.url, chat.id, `@${bot} say this`, 'Bob');
  await eventually(async () => (await page.evaluate(() => window.__shown.length)) === 2, { timeout: 5000, what: 'the reply notified' });
  shown = await page.evaluate(() => window.__shown);
  assert.equal(shown[1].title, `${bot} replied`);
  assert.equal(await page.evaluate(() => document.title.startsWith('(')), true, 'the hidden tab counts what arrived');

  await setHidden(page, false);
  await eventually(async () => !(await page.evaluate(() => document.title.startsWith('('))), { what: 'the count cleared when seen' });
  await page.close();
});
