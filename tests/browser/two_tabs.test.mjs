// Two browser tabs on one chat: live updates over the browser's one shared stream
// (static/tabs.js), escaping, idempotency when events are replayed.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  createChat,
  postMessage,
  subscriberCount,
  eventually,
  sleep,
} from '../http/helpers.mjs';
import { useBrowser, openPage, streamOpen, streamCutter } from './helpers.mjs';

const T = { timeout: 15000 };
const HOSTILE = `<img src=x onerror="window.__pwned=1"><script>window.__pwned=1</script>`;
const MSG = '#messages > [id^=msg-]';

const { srv, browser } = useBrowser();
let context;
let chat;
let tab1;
let tab2;
const pageErrors = [];

before(async () => {
  await browser.ready();
  context = await browser.newContext();
});

const subscribers = () => subscriberCount(srv.url);

/** Open path `p` of the server in a new tab; its page errors go onto pageErrors. */
const openTab = (p) => openPage(context, srv.url + p, { errors: pageErrors, label: p, timeout: 5000 });

async function msgIds(page) {
  return page.$$eval(MSG, (els) => els.map((e) => e.id));
}

function assertUnique(ids, what) {
  assert.equal(new Set(ids).size, ids.length, `${what}: no message shown twice: ${ids}`);
}

test('a message typed in tab 1 shows up in tab 2 within 1 s, exactly once', T, async () => {
  chat = await createChat(srv.url, 'Two tabs');
  const base = await subscribers();
  tab1 = await openTab(`/chats/${chat.id}`);
  tab2 = await openTab(`/chats/${chat.id}`);
  // the two tabs share one stream: the browser holds one connection, not one per tab
  await eventually(async () => (await subscribers()) === base + 1, { timeout: 5000, what: 'one SSE subscriber' });
  await sleep(300);
  assert.equal(await subscribers(), base + 1, 'still one stream for two tabs');
  assert.equal(await tab1.locator(MSG).count(), 0);
  assert.equal(await tab2.locator(MSG).count(), 0);

  await tab1.locator('#composer input[name=author]').fill('Ada');
  await tab1.locator('#composer textarea[name=body]').fill('Hello from tab one');
  const t0 = Date.now();
  await tab1.locator('#composer').evaluate((f) => f.requestSubmit());
  await tab2.locator('#msg-1').waitFor({ state: 'attached', timeout: 1000 });
  const took = Date.now() - t0;
  assert.ok(took <= 1000, `arrived in ${took} ms`);
  await tab1.locator('#msg-1').waitFor({ state: 'attached', timeout: 1000 });
  assert.equal(tab1.url(), srv.url + `/chats/${chat.id}`, 'no navigation in tab 1 (htmx post)');
  await sleep(300);
  for (const [name, tab] of [['tab1', tab1], ['tab2', tab2]]) {
    assert.equal(await tab.locator(MSG).count(), 1, `${name}: exactly one message`);
    const text = await tab.locator('#msg-1').textContent();
    assert.ok(text.includes('Hello from tab one'), `${name}: body shown`);
    assert.ok(text.includes('Ada'), `${name}: author shown`);
  }
});

test('a hostile body is shown as text and never runs', T, async () => {
  assert.ok(tab1 && tab2, 'tabs from the previous test');
  // once named, the name folds into "Posting as Ada · change"
  await tab1.locator('#composer .posting-as').click();
  await tab1.locator('#composer input[name=author]').fill('<b>Mallory</b>');
  await tab1.locator('#composer textarea[name=body]').fill(HOSTILE);
  await tab1.locator('#composer').evaluate((f) => f.requestSubmit());
  await tab2.locator('#msg-2').waitFor({ state: 'attached', timeout: 2000 });
  await tab1.locator('#msg-2').waitFor({ state: 'attached', timeout: 2000 });
  await sleep(300);
  for (const [name, tab] of [['tab1', tab1], ['tab2', tab2]]) {
    const text = await tab.locator('#msg-2').textContent();
    assert.ok(text.includes(HOSTILE), `${name}: hostile body shown as text: ${JSON.stringify(text)}`);
    assert.ok(text.includes('<b>Mallory</b>'), `${name}: hostile author shown as text`);
    assert.equal(await tab.evaluate(() => window.__pwned), undefined, `${name}: no script ran`);
    assert.equal(await tab.locator('#messages img, #messages script').count(), 0, `${name}: no injected elements`);
    assert.equal(await tab.locator(MSG).count(), 2, `${name}: two messages`);
  }
});

test('three quick posts: every tab shows each message exactly once, in order', T, async () => {
  assert.ok(tab1 && tab2, 'tabs from the previous tests');
  await Promise.all([1, 2, 3].map((i) => postMessage(srv.url, chat.id, `burst ${i}`, 'Bot-less')));
  for (const tab of [tab1, tab2]) await tab.locator('#msg-5').waitFor({ state: 'attached', timeout: 2000 });
  await sleep(500);
  for (const [name, tab] of [['tab1', tab1], ['tab2', tab2]]) {
    const ids = await msgIds(tab);
    assertUnique(ids, name);
    assert.deepEqual(ids, ['msg-1', 'msg-2', 'msg-3', 'msg-4', 'msg-5'], `${name}: in order`);
  }
  await tab2.screenshot({ path: '/tmp/parley-chat.png', fullPage: true });
});

test('a replay from ?after=0 (the shared stream reconnecting from earlier) does not duplicate messages', T, async () => {
  assert.ok(tab2, 'tab from the previous tests');
  await tab2.evaluate(() => {
    window.__sseMessages = 0;
    // counted before the page's own handler may swallow a duplicate (app.js dedup)
    document.addEventListener('htmx:sseBeforeMessage', (e) => {
      if (e.detail && e.detail.type === 'message') window.__sseMessages++;
    }, true);
  });
  // Another tab whose source wants the chat from event 0 makes the shared stream
  // reconnect from there, so every event is replayed to every source of the chat, tab2's
  // page included.
  const tab3 = await openTab('/');
  const asked = await tab3.evaluate((id) => !!(window.__extra = window.htmx.createEventSource(`/chats/${id}/events?after=0`)), chat.id);
  assert.ok(asked, 'made a shared source');
  // the replay really happened: the five already-shown messages came again
  await tab2.waitForFunction(() => window.__sseMessages >= 5, null, { timeout: 5000 });
  await sleep(500);
  let ids = await msgIds(tab2);
  assertUnique(ids, 'tab2 after reconnect');
  assert.deepEqual(ids, ['msg-1', 'msg-2', 'msg-3', 'msg-4', 'msg-5']);
  // and live events still arrive on the new connection, once
  await postMessage(srv.url, chat.id, 'after reconnect', 'Ada');
  await tab2.locator('#msg-6').waitFor({ state: 'attached', timeout: 2000 });
  await sleep(300);
  ids = await msgIds(tab2);
  assertUnique(ids, 'tab2 after a live post');
  assert.equal(ids.length, 6);
  assert.equal(await tab2.evaluate(() => window.__pwned), undefined, 'replayed hostile fragment did not run');
  assert.deepEqual(pageErrors, [], 'no JavaScript errors on the pages');
  await tab3.close();
});

// The shared stream, cut (a lost connection), comes back from the last event it passed on,
// not from where the page was rendered: else a long absence would replay everything, or
// fall out of the kept window and lose what came meanwhile.
test('a cut stream resumes from the last event it passed on, not from the page\'s first', T, async () => {
  const ctx = await browser.newContext();
  try {
    await ctx.addInitScript(streamCutter);
    const c = await createChat(srv.url, 'Resumed after a cut');
    const page = await openPage(ctx, `${srv.url}/chats/${c.id}`, { errors: pageErrors, label: 'cut tab', timeout: 5000 });
    await streamOpen(page);
    const first = await page.evaluate(() => window.__streams.slice());
    for (const body of ['one', 'two', 'three']) await postMessage(srv.url, c.id, body);
    await page.locator('#msg-3').waitFor({ state: 'attached', timeout: 3000 });
    const last = (await (await fetch(`${srv.url}/api/v1/chats/${c.id}`)).json()).last_event_id;
    await page.evaluate(() => window.__cutStream());
    await eventually(async () => (await page.evaluate(() => window.__streams.length)) > first.length, { timeout: 5000, what: 'a new stream' });
    const again = (await page.evaluate(() => window.__streams)).slice(first.length);
    assert.ok(again[0].includes(`chats=${c.id}:${last}`), `reconnected from ${last}: ${again[0]} (first: ${first})`);
    await postMessage(srv.url, c.id, 'four');
    await page.locator('#msg-4').waitFor({ state: 'attached', timeout: 3000 });
    assertUnique(await msgIds(page), 'after the cut');
  } finally {
    await ctx.close();
  }
});

test('a freshly opened tab renders history and gets only new events', T, async () => {
  const tab3 = await openTab(`/chats/${chat.id}`);
  try {
    assert.equal(await tab3.locator(MSG).count(), 6);
    // tab1, tab2 and tab3 share the one stream
    await sleep(500);
    assert.equal(await subscribers(), 1, 'one stream for three tabs');
    await postMessage(srv.url, chat.id, 'seven', 'Ada');
    await tab3.locator('#msg-7').waitFor({ state: 'attached', timeout: 2000 });
    await sleep(300);
    const ids = await msgIds(tab3);
    assertUnique(ids, 'tab3');
    assert.equal(ids.length, 7);
  } finally {
    await tab3.close();
  }
});
