// A browser without Web Locks keeps one EventSource per tab (static/tabs.js steps aside):
// without accounts, that stream still names its person, so the chat lists them as here.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createChat, eventually } from '../http/helpers.mjs';
import { useBrowser, openPage } from './helpers.mjs';

const T = { timeout: 20000 };
const { srv, browser } = useBrowser();
const errors = [];

before(async () => {
  await browser.ready();
});

/** A page of the chat in a browser context without Web Locks, its person named `name`. */
async function tabWithoutLocks(chatId, name) {
  const context = await browser.newContext();
  await context.addInitScript((n) => {
    delete Navigator.prototype.locks;
    localStorage.setItem('parley.author', n);
  }, name);
  return openPage(context, `${srv.url}/chats/${chatId}`, { errors, label: name, htmx: true });
}

const here = (page) => page.$$eval('#presence .here-person', (els) => els.map((e) => e.textContent));

test('without Web Locks each tab has its own stream, named: both people are listed in both', T, async () => {
  const chat = await createChat(srv.url, 'No locks');
  const ada = await tabWithoutLocks(chat.id, 'Ada');
  const bob = await tabWithoutLocks(chat.id, 'Bob');
  assert.equal(await ada.evaluate(() => 'locks' in navigator), false, 'no Web Locks in this tab');
  assert.equal(await ada.evaluate(() => Boolean(window.htmx.createEventSource.shared)), false,
    'tabs.js stepped aside');
  for (const page of [ada, bob])
    await eventually(async () => (await here(page)).sort().join() === 'Ada,Bob',
      { timeout: 8000, what: 'Ada and Bob listed' });
  await bob.context().close();
  await eventually(async () => (await here(ada)).join() === 'Ada',
    { timeout: 10000, what: 'Bob gone from the list' });
  assert.deepEqual(errors, []);
});
