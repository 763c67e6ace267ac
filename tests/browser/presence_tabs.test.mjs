// Who is here (SPEC 9) through the browser's one shared stream (static/tabs.js), with
// --auth none: Ada's tabs are named by the composer's stored name; Bob watches the chat
// on a JSON stream of his own. A tab's chat leaves Ada's presence when that tab closes,
// though another Parley tab (the chat list) keeps the shared stream open; a tab that comes
// to a chat the stream carries already shows who is there; a stored name with a space at
// its end does not make Ada see herself typing.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createChat, openReadyStream, eventually, sleep } from '../http/helpers.mjs';
import { useBrowser, openPage } from './helpers.mjs';

const T = { timeout: 30000 };
const { srv, browser } = useBrowser();
const pageErrors = [];
let context;

before(async () => {
  await browser.ready();
  context = await browser.newContext();
  await context.addInitScript(() => {
    try { if (!localStorage.getItem('parley.author')) localStorage.setItem('parley.author', 'Ada '); } catch (_) {}
  });
});

const openTab = (p) => openPage(context, srv.url + p, { errors: pageErrors, label: p, timeout: 5000 });

/** Bob's own stream of the chat, and the names his latest presence (or snapshot) lists. */
async function bobWatches(chatId) {
  const s = srv.track(await openReadyStream(srv.url, `/api/v1/chats/${chatId}/events?name=Bob`));
  s.here = () => {
    const last = s.events.filter((e) => e.event === 'presence' || e.event === 'snapshot').pop();
    const data = JSON.parse(last.data);
    return (data.here || data).map((w) => w.name).sort();
  };
  return s;
}

/** Waits until the page's "here" list names exactly `names`, saying what it showed if not. */
async function showsHere(page, names, what, timeout = 3000) {
  let shown = [];
  await eventually(async () => {
    shown = await page.$$eval('#presence .here-person', (els) => els.map((e) => e.textContent.trim()).sort());
    return shown.join() === names.join();
  }, { timeout, what: () => `${what} lists ${names} (shows ${shown})` });
}

/**
 * With page `other` open, Ada opens a chat in a tab and closes it: Bob sees her come and
 * leave (the stream's 5 s grace, then at most a second for the change to be told).
 */
async function comeAndGo(title, other) {
  const chat = await createChat(srv.url, title);
  const bob = await bobWatches(chat.id);
  const stays = await openTab(other);
  const tab = await openTab(`/chats/${chat.id}`);
  await eventually(() => bob.here().join() === 'Ada,Bob', { timeout: 5000, what: () => `Bob sees Ada come (${bob.here()})` });
  await tab.close();
  await eventually(() => bob.here().join() === 'Bob', { timeout: 9000, what: () => `Bob sees Ada leave (${bob.here()})` });
  return stays;
}

test('closing a chat tab takes Ada out of who is here while her chat-list tab stays open', T, async () => {
  const list = await comeAndGo('Leaving', '/');
  assert.equal(list.isClosed(), false, 'the chat list tab is still open');
  await list.close();
});

test('the last chat tab closed while a page without streams stays open: Ada leaves, and that page is not "Reconnecting…"', T, async () => {
  const bots = await comeAndGo('Last tab', '/bots');
  assert.equal(await bots.evaluate(() => document.body.classList.contains('offline')), false, 'the bots page is not offline');
  assert.equal(await bots.locator('#connection').isVisible(), false, 'no "Reconnecting…" badge');
  await bots.close();
});

test('a second tab on a chat, and a reload of it, show who is here', T, async () => {
  const chat = await createChat(srv.url, 'Arriving');
  await bobWatches(chat.id);
  const list = await openTab('/');
  const first = await openTab(`/chats/${chat.id}`);
  await showsHere(first, ['Ada', 'Bob'], 'the first tab', 5000);
  const second = await openTab(`/chats/${chat.id}`);
  await showsHere(second, ['Ada', 'Bob'], 'the second tab');
  await second.reload();
  await showsHere(second, ['Ada', 'Bob'], 'the reloaded tab');
  await Promise.all([first.close(), second.close(), list.close()]);
});

test('a stored name with a space at its end: Ada never sees "Ada is typing…" in her own tab', T, async () => {
  const chat = await createChat(srv.url, 'Typing');
  const bob = await bobWatches(chat.id);
  const tab = await openTab(`/chats/${chat.id}`);
  await tab.evaluate(() => {
    window.__typing = [];
    const t = document.getElementById('typing');
    new MutationObserver(() => window.__typing.push(t.textContent)).observe(t, { subtree: true, childList: true, characterData: true });
  });
  await eventually(() => bob.here().join() === 'Ada,Bob', { timeout: 5000, what: () => `Ada is here (${bob.here()})` });
  await tab.locator('#composer textarea[name=body]').pressSequentially('hello there', { delay: 20 });
  await bob.waitFor(() => bob.events.some((e) => e.event === 'typing'), 3000, 'Bob hears Ada typing');
  await sleep(300);   // her own tab had the same event by now
  const seen = await tab.evaluate(() => window.__typing.filter((t) => t.trim() !== ''));
  assert.deepEqual(seen, [], `Ada's tab never showed her own typing: ${JSON.stringify(seen)}`);
  await tab.close();
  assert.deepEqual(pageErrors, []);
});
