// Many tabs of one browser over HTTP/1.1: the chat list plus ten chats, all on the ONE
// event stream the tabs share (static/tabs.js). A browser opens at most six connections to
// a host over HTTP/1.1, so eleven tabs each holding a stream would leave the seventh
// hanging; with the shared stream every tab loads, the server sees one stream, and each
// post reaches its tab. Then the leader's tab (the one holding the stream) closes while
// posts keep coming: another tab takes over and every tab still shows every message once,
// in order, and the list keeps following.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createChat, postMessage, subscriberCount, eventually, sleep } from '../http/helpers.mjs';
import { useBrowser, openPage, streamOpen, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const N = 10; // chats, one tab each
const MSG = '#messages > [id^=msg-]';

const { srv, browser } = useBrowser();
let context;
const pageErrors = [];
const chats = []; // [{id, title}], chats[0] is the first tab's
const tabs = []; // tabs[i] shows chats[i]; null once closed
let listTab;
let base; // server streams before any tab opened
/** Every GET /events (the shared stream) a tab asked for: {page, url, at}. */
const streamRequests = [];

before(async () => {
  await browser.ready();
  context = await browser.newContext({ viewport: VIEWPORTS.desktop });
  context.setDefaultTimeout(5000);
  context.setDefaultNavigationTimeout(5000);
  context.on('request', (r) => {
    if (!/\/events\?/.test(r.url())) return;
    let page = null;
    try {
      page = r.frame().page();
    } catch { /* not a page's request */ }
    streamRequests.push({ page, url: r.url(), at: Date.now() });
  });
}, { timeout: 15000 });

const subscribers = () => subscriberCount(srv.url);
/** Open path `p` in a new tab. A tab waiting for one of the six connections HTTP/1.1 allows
 *  a host (held by other tabs' streams) would wait forever: `timeout` bounds it. */
const open = (p, label, timeout = 10000) => openPage(context, srv.url + p, { errors: pageErrors, label, timeout });
let leaderTab; // tab 1, while open and after
const labelOf = (page) => (page === listTab ? 'the list' : page === leaderTab ? 'tab 1' : `tab ${tabs.indexOf(page) + 1}`);

/** The message ids `page` shows, in order. */
const msgIds = (page) => page.$$eval(MSG, (els) => els.map((e) => e.id));
/** The chat ids of the list page's items, top first. */
const listOrder = () => listTab.$$eval('#chats > li.chat-item', (els) => els.map((e) => e.id.slice('chat-'.length)));
/** Wait (≤ `timeout` ms) until the list shows the chats `ids` in this order, top first. */
async function listShows(ids, what, timeout = 3000) {
  const name = (id) => chats.find((c) => c.id === id)?.title || id;
  let last = [];
  try {
    await eventually(async () => JSON.stringify(last = await listOrder()) === JSON.stringify(ids), { timeout, what });
  } catch (e) {
    assert.deepEqual(last.map(name), ids.map(name), `${what}: ${e.message}`);
  }
}

/** The preview text of chat `id` on the list page. */
const preview = (id) => listTab.locator(`#chat-${id} .chat-preview`).textContent();

test('the list and ten chats in eleven tabs of one browser: all load, and share one stream', T, async (t) => {
  for (let i = 1; i <= N; i++) chats.push(await createChat(srv.url, `Room ${i}`));
  base = await subscribers();
  const t0 = Date.now();
  // Room 1 first: its tab asks for the stream lock (Web Locks) before any other tab does,
  // so it is the leader; then the list, then the other nine.
  tabs.push(leaderTab = await open(`/chats/${chats[0].id}`, 'tab 1'));
  listTab = await open('/', 'list');
  // the other nine at once: more than the six connections HTTP/1.1 allows a host
  tabs.push(...await Promise.all(chats.slice(1).map((c, k) => open(`/chats/${c.id}`, `tab ${k + 2}`))));
  // every page's (shared) stream is open
  for (const page of [...tabs, listTab]) await streamOpen(page, { timeout: 5000 });
  t.diagnostic(`11 tabs loaded and connected in ${Date.now() - t0} ms`);
  assert.equal(await listTab.locator('#chats > li.chat-item').count(), N, 'the list shows the ten chats');

  // one stream on the server for all eleven tabs
  await eventually(async () => (await subscribers()) === base + 1, { timeout: 5000, what: `${base + 1} streams` });
  await sleep(500);
  assert.equal(await subscribers(), base + 1, 'still one stream for eleven tabs');

  // it is the first tab's, and it carries every chat and the list
  const asked = new Set(streamRequests.map((r) => r.page));
  assert.deepEqual([...asked].map(labelOf), ['tab 1'], 'only the first tab (the leader) asked for the stream');
  const last = new URL(streamRequests[streamRequests.length - 1].url);
  const carried = last.searchParams.get('chats').split(',').map((c) => c.split(':')[0]).sort();
  assert.deepEqual(carried, chats.map((c) => c.id).sort(), 'the stream carries the ten chats');
  assert.equal(last.searchParams.get('list'), '1', 'and the list');
});

test('a post into each chat appears in its tab within 2 s, and the list follows', T, async (t) => {
  assert.equal(tabs.length, N, 'the tabs of the previous test');
  // each tab notes when its first message arrived (the browser and this process share a clock)
  for (const tab of tabs) {
    await tab.evaluate(() => new MutationObserver(() => {
      if (!window.__arrived && document.getElementById('msg-1')) window.__arrived = Date.now();
    }).observe(document.getElementById('messages'), { childList: true }));
  }
  // one by one, Room 1 first: the last one posted is on top of the list
  const answered = [];
  for (let i = 0; i < N; i++) {
    await postMessage(srv.url, chats[i].id, `msg-1 in Room ${i + 1}`, 'Ada');
    answered.push(Date.now());
  }
  const took = [];
  for (let i = 0; i < N; i++) {
    await tabs[i].locator('#msg-1').waitFor({ state: 'attached', timeout: 10000 });
    took.push(await tabs[i].evaluate(() => window.__arrived) - answered[i]);
  }
  t.diagnostic(`shown ${took.join(', ')} ms after each post was answered`);
  assert.ok(took.every((ms) => ms <= 2000), `each tab shows its post within 2 s: ${took.join(', ')} ms`);
  await sleep(300);
  for (let i = 0; i < N; i++) {
    assert.deepEqual(await msgIds(tabs[i]), ['msg-1'], `tab ${i + 1}: its one message`);
    assert.match(await tabs[i].locator('#msg-1 .msg-body').textContent(), new RegExp(`msg-1 in Room ${i + 1}$`));
  }
  const newestFirst = chats.map((c) => c.id).reverse();
  await listShows(newestFirst, 'the list by last activity');
  for (let i = 0; i < N; i++) assert.equal((await preview(chats[i].id)).trim(), `Ada: msg-1 in Room ${i + 1}`);
  // each chat is open in a visible tab, so none of it is unread
  await eventually(async () => (await listTab.locator('#chats .chat-unread:not([hidden])').count()) === 0,
    { timeout: 3000, what: 'no unread badge' });
});

test('the leader tab closes while posts keep coming: every tab still shows every message once, in order', T, async (t) => {
  assert.equal(tabs.length, N, 'the tabs of the previous tests');
  const leader = tabs[0];
  assert.ok(streamRequests.every((r) => r.page === leader), 'tab 1 is the leader');
  const remaining = chats.slice(1);
  const before = streamRequests.length;

  // The next leader's stream request is held until the posts below are made, so they
  // certainly fall between the old stream's end and the new one's start.
  let release;
  const gate = new Promise((r) => (release = r));
  const held = []; // each held request's continue()
  const hold = (route) => {
    const done = gate.then(() => route.continue());
    held.push(done);
    return done;
  };
  await context.route(/\/events\?/, hold);
  try {
    await leader.close();
    tabs[0] = null;
    for (const n of [2, 3]) {
      await Promise.all(remaining.map((c, k) => postMessage(srv.url, c.id, `msg-${n} in Room ${k + 2}`, 'Bob')));
    }
    // a new leader did ask (and waits at the gate)
    await eventually(() => streamRequests.length > before, { timeout: 5000, what: 'a new leader asking for the stream' });
  } finally {
    release();
  }
  const asked = streamRequests.slice(before);
  assert.ok(asked.every((r) => r.page && r.page !== leader), 'the new stream is another tab\'s');
  t.diagnostic(`new leader: ${labelOf(asked[0].page)}; ${asked.length} stream request(s) held`);
  await Promise.all(held);
  await context.unroute(/\/events\?/, hold);

  // the new stream replaced the old one on the server, and the tabs settled on it (no
  // stream asked for in the last 500 ms)
  await eventually(async () => (await subscribers()) === base + 1 &&
    Date.now() - streamRequests[streamRequests.length - 1].at > 500, { timeout: 5000, what: `${base + 1} streams after the handover` });

  // after the handover, one by one from Room 10 down to Room 2: Room 2 ends on top
  for (let k = remaining.length - 1; k >= 0; k--) await postMessage(srv.url, remaining[k].id, `msg-4 in Room ${k + 2}`, 'Cy');
  const want = ['msg-1', 'msg-2', 'msg-3', 'msg-4'];
  for (let i = 1; i < N; i++) await tabs[i].locator('#msg-4').waitFor({ state: 'attached', timeout: 3000 });
  await sleep(500); // time for a duplicate or a late replay to show up
  for (let i = 1; i < N; i++) {
    const ids = await msgIds(tabs[i]);
    assert.equal(new Set(ids).size, ids.length, `tab ${i + 1}: no message twice: ${ids}`);
    assert.deepEqual(ids, want, `tab ${i + 1}: every message, in order`);
    const bodies = await tabs[i].$$eval(`${MSG} .msg-body`, (els) => els.map((e) => e.textContent.trim()));
    assert.deepEqual(bodies, want.map((m) => `${m} in Room ${i + 1}`), `tab ${i + 1}: the bodies`);
  }

  // the list still follows: Room 2 … Room 10 by the last posts, then Room 1
  const order = [...remaining.map((c) => c.id), chats[0].id];
  await listShows(order, 'the list reordered by the posts after the handover');
  for (let k = 0; k < remaining.length; k++) assert.equal((await preview(remaining[k].id)).trim(), `Cy: msg-4 in Room ${k + 2}`);
  assert.equal((await preview(chats[0].id)).trim(), 'Ada: msg-1 in Room 1', 'Room 1 unchanged');
  await sleep(300);
  assert.equal(await subscribers(), base + 1, 'one stream still');
});

test('no JavaScript errors on any page', () => {
  assert.deepEqual(pageErrors, []);
});
