// The chat page's composer and what surrounds it (static/app.js, src/web/pages.c):
// the header's ask buttons in a "Bots only when asked" chat, the hint for an @mentioned
// bot that is not in the chat and the "@" popup, the view following a streaming reply
// (desktop and phone) without yanking a reader who scrolled up, sends refused visibly
// while the server is down (the draft kept, also across a reload), and errors said in
// words without htmx logging them to the console.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  createBot,
  createChat,
  chatWithBots,
  postMany,
  postMessage,
  eventually,
  sleep,
  uniqueName,
  useServerPool,
} from '../http/helpers.mjs';
import { useBrowser, openPage, streamOpen, VIEWPORTS } from './helpers.mjs';

const T = { timeout: 30000 };
const MSG = '#messages > article[id^=msg-]';
const BOT_MSG = '#messages > article.msg-bot';
const PHONE = { viewport: VIEWPORTS.phone, hasTouch: true, isMobile: true };

// 60 ms a word (the default): a 90-word reply streams for about 5 s
const { srv, browser } = useBrowser({ args: ['--typing-ms', '60'] });
const pool = useServerPool(); // the offline test's own server, stopped and restarted

before(async () => {
  await srv.ready();
  await browser.ready();
});

/** A browser context (desktop unless `options` say otherwise) in which nothing waits longer than 5 s. */
async function newContext(options = { viewport: VIEWPORTS.desktop }) {
  const c = await browser.newContext(options);
  c.setDefaultTimeout(5000);
  c.setDefaultNavigationTimeout(5000);
  return c;
}

/**
 * The chat page at `base` in a new page of `context`, its stream connected. Page errors go
 * onto `errors`; console messages of type error onto `consoleErrors` (when given).
 */
async function openChat(context, chatId, { base = srv.url, errors = [], consoleErrors } = {}) {
  const page = await openPage(context, `${base}/chats/${chatId}`, { errors, htmx: true, timeout: 5000 });
  if (consoleErrors) page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
  await streamOpen(page);
  return page;
}

/** Name oneself in the composer (the field folds into "Posting as NAME · change"). */
async function nameSelf(page, name = 'Ada') {
  await page.fill('#composer [name=author]', name);
  await page.locator('#composer [name=author]').dispatchEvent('change');
  await page.locator('#composer .posting-as').waitFor({ state: 'visible' });
}

/** Type `text` into the composer (replacing what is there) and press its Send button. */
async function send(page, text) {
  await page.fill('#composer [name=body]', text);
  await page.click('#composer button[type=submit]');
}

/** The chat's messages through the API. */
async function messagesOf(chatId, base = srv.url) {
  const r = await api(base, 'GET', `/api/v1/chats/${chatId}/messages`);
  assert.equal(r.status, 200);
  return r.json.messages;
}

/** Wait until no reply of the chat is being written (through the API). */
async function settled(chatId, base = srv.url) {
  await eventually(async () => (await messagesOf(chatId, base)).every((m) => m.state !== 'streaming'), {
    timeout: 10000, what: 'no reply streaming',
  });
}

/** Chromium's own line for an HTTP error answer (not a script's error). */
const NETWORK_LINE = /^Failed to load resource: the server responded with a status of 4\d\d\b/;

test('"Bots only when asked": a post calls no bot; a bot\'s ask button makes it reply, live', T, async () => {
  const echo = uniqueName('Parrot');
  const dice = uniqueName('Roller');
  const { chat } = await chatWithBots(srv.url, 'Asking', [
    { name: echo, backend: 'echo' },
    { name: dice, backend: 'dice' },
  ], { policy: 'manual' });
  const context = await newContext();
  const errors = [];
  try {
    const page = await openChat(context, chat.id, { errors });
    assert.match(await page.textContent('#chat-header .chat-policy'), /Bots only when asked/);
    const asks = await page.$$eval('#chat-header form.ask button.bot-name', (bs) => bs.map((b) => b.textContent));
    assert.deepEqual(asks, [echo, dice], 'one ask button per bot of the chat');

    await nameSelf(page);
    await send(page, 'roll 2d6+1 for me');
    await page.locator('#msg-1').waitFor({ state: 'attached' });
    // nobody answers on their own: give a bot well over its time to start
    await sleep(1500);
    assert.equal(await page.locator(BOT_MSG).count(), 0, 'no bot replied to the post');
    assert.equal((await messagesOf(chat.id)).length, 1, 'only the person\'s message is stored');

    // ask the dice bot: its reply shows up in the open page, without a reload
    const url = page.url();
    const t0 = Date.now();
    await page.click(`#chat-header form.ask button.bot-name:text-is("${dice}")`);
    await page.locator(`${BOT_MSG}.msg-complete`).first().waitFor({ state: 'attached', timeout: 5000 });
    const took = Date.now() - t0;
    assert.equal(page.url(), url, 'no navigation (htmx post)');
    assert.equal(await page.locator(BOT_MSG).count(), 1, 'exactly one reply');
    const reply = page.locator(BOT_MSG).first();
    assert.equal((await reply.locator('.msg-author').textContent()).trim(), dice, 'the asked bot replied');
    assert.match(await reply.locator('.msg-body').textContent(), /= \d+/, 'a dice roll with its total');
    assert.ok(took < 5000, `reply arrived in ${took} ms`);

    // the other bot was not called along with it; asking it makes it speak too
    await settled(chat.id);
    await sleep(300);
    assert.equal(await page.locator(BOT_MSG).count(), 1, 'asking one bot calls only that bot');
    await page.click(`#chat-header form.ask button.bot-name:text-is("${echo}")`);
    await eventually(async () => (await page.locator(`${BOT_MSG}.msg-complete`).count()) === 2, {
      timeout: 5000, what: `${echo}'s reply in the page`,
    });
    const second = page.locator(BOT_MSG).nth(1);
    assert.equal((await second.locator('.msg-author').textContent()).trim(), echo);
    assert.match(await second.locator('.msg-body').textContent(), /roll 2d6\+1 for me/, 'echo repeats the post');
    assert.deepEqual(errors, [], 'no JavaScript errors');
  } finally {
    await context.close();
  }
});

test('@mentioning a bot not in the chat says so; "@" offers the chat\'s bots and inserts the one chosen', T, async () => {
  const parrot = uniqueName('Parrot');
  const doctor = uniqueName('Doctor');
  const outsider = uniqueName('Roller');
  await createBot(srv.url, { name: outsider, backend: 'dice' });
  const { chat } = await chatWithBots(srv.url, 'Mentions', [
    { name: parrot, backend: 'echo' },
    { name: doctor, backend: 'eliza' },
  ], { policy: 'mentions' });
  const context = await newContext();
  const errors = [];
  const consoleErrors = [];
  try {
    const page = await openChat(context, chat.id, { errors, consoleErrors });
    await nameSelf(page);
    const body = page.locator('#composer [name=body]');
    const error = page.locator('#composer-error');

    // the outsider is not called, and the composer says why
    await send(page, `@${outsider} roll 1d6 please`);
    await page.locator('#msg-1').waitFor({ state: 'attached' });
    const hint = error.locator('p.hint');
    await hint.waitFor({ state: 'visible', timeout: 3000 });
    const said = (await hint.textContent()).replace(/\s+/g, ' ').trim();
    assert.match(said, new RegExp(`^${outsider} is not in this chat, so it was not called\\. Add it under Settings\\.$`), said);
    assert.equal(await hint.locator('a').getAttribute('href'), `/chats/${chat.id}`, 'the hint links the chat\'s settings');
    // nothing else broke: the message was posted once, the box emptied, and no bot answered
    assert.equal(await body.inputValue(), '', 'the box is emptied after the post');
    assert.match(await page.locator('#msg-1 .msg-body').textContent(), new RegExp(`@${outsider} roll 1d6 please`));
    await sleep(800);
    assert.equal(await page.locator(BOT_MSG).count(), 0, 'no bot replied');
    assert.equal((await messagesOf(chat.id)).length, 1);

    // "@" offers the chat's bots (not the outsider), in the header's order
    await body.click();
    await page.keyboard.type('@');
    const box = page.locator('#composer .mention-box');
    await box.waitFor({ state: 'visible', timeout: 2000 });
    assert.deepEqual(await box.locator('li').allTextContents(), [`@${parrot}`, `@${doctor}`], 'the chat\'s bots are offered');
    // choosing one (a click) puts "@Name " in the box, the caret after it
    await box.locator('li', { hasText: doctor }).click();
    assert.equal(await body.inputValue(), `@${doctor} `);
    assert.ok(await box.isHidden(), 'the popup closes after a choice');
    const caret = await body.evaluate((t) => [t.selectionStart, t.selectionEnd]);
    assert.deepEqual(caret, [doctor.length + 2, doctor.length + 2], 'the caret is after the inserted name');

    // typing narrows the list; Enter picks (and does not send)
    await page.keyboard.type('how are you @' + parrot.slice(0, 3).toLowerCase());
    await eventually(async () => (await box.locator('li').allTextContents()).join() === `@${parrot}`, {
      timeout: 2000, what: 'the popup narrowed to one bot',
    });
    await page.keyboard.press('Enter');
    assert.equal(await body.inputValue(), `@${doctor} how are you @${parrot} `);
    await sleep(300);
    assert.equal(await page.locator(MSG).count(), 1, 'Enter in the popup picked a name and did not send');

    // sending: both bots called, no hint any more
    await page.click('#composer button[type=submit]');
    await page.locator('#msg-2').waitFor({ state: 'attached' });
    await eventually(async () => (await error.textContent()).trim() === '', { timeout: 2000, what: 'the hint cleared' });
    await eventually(async () => (await page.locator(`${BOT_MSG}.msg-complete`).count()) === 2, {
      timeout: 8000, what: 'both mentioned bots replying',
    });
    const authors = await page.$$eval(`${BOT_MSG} .msg-author`, (xs) => xs.map((x) => x.textContent.trim()));
    assert.deepEqual(authors, [doctor, parrot], 'the mentioned bots replied, in mention order');
    assert.deepEqual(errors, [], 'no JavaScript errors');
    assert.deepEqual(consoleErrors, [], 'no console errors');
  } finally {
    await context.close();
  }
});

test('the view follows a streaming reply on a desktop and a phone, and leaves a reader who scrolled up where they are', T, async () => {
  const bot = uniqueName('Scroller');
  const { chat } = await chatWithBots(srv.url, 'Follow', [{ name: bot, backend: 'echo' }], { policy: 'manual' });
  // enough history to scroll, then a 45-line message the echo bot will type back (90 words)
  await postMany(srv.url, chat.id, 30, { body: (i) => `earlier message ${i}` });
  const lines = Array.from({ length: 45 }, (_, i) => `line ${i + 1}`);
  await postMessage(srv.url, chat.id, lines.join('\n'), 'Ada');

  const desktop = await newContext();
  const phone = await newContext(PHONE);
  const errors = [];
  try {
    const [d, p, u] = await Promise.all([
      openChat(desktop, chat.id, { errors }),
      openChat(phone, chat.id, { errors }),
      openChat(desktop, chat.id, { errors }),
    ]);
    const views = { desktop: d, phone: p, 'scrolled-up': u };
    /** #messages' scroll state, and where the newest bot reply's last line is. */
    const measure = (page) => page.evaluate(() => {
      const m = document.getElementById('messages');
      const box = m.getBoundingClientRect();
      const bots = m.querySelectorAll('article.msg-bot');
      const last = bots.length ? bots[bots.length - 1] : null;
      const body = last && last.querySelector('.msg-body');
      const r = body && body.getBoundingClientRect();
      return {
        gap: m.scrollHeight - m.scrollTop - m.clientHeight,
        scrollTop: m.scrollTop,
        scrollHeight: m.scrollHeight,
        clientHeight: m.clientHeight,
        streaming: !!(last && last.classList.contains('msg-streaming')),
        text: body ? body.textContent : '',
        // the reply's last line is inside the visible part of #messages
        lastLineShown: r ? r.bottom <= box.bottom + 2 && r.bottom >= box.top : null,
        lastLineBelow: r ? Math.round(r.bottom - box.bottom) : null,
      };
    });
    for (const name of ['desktop', 'phone']) {
      const m = await measure(views[name]);
      assert.ok(m.scrollHeight > m.clientHeight + 200, `${name}: the history scrolls (${m.scrollHeight} > ${m.clientHeight})`);
      assert.ok(m.gap <= 4, `${name}: opened at the bottom (gap ${m.gap} px)`);
    }
    await views['scrolled-up'].evaluate(() => { document.getElementById('messages').scrollTop = 0; });
    const before = { desktop: await measure(views.desktop), phone: await measure(views.phone) };

    const asked = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot });
    assert.equal(asked.status, 202);

    const samples = { desktop: [], phone: [], 'scrolled-up': [] };
    const deadline = Date.now() + 15000;
    let done = false;
    while (!done && Date.now() < deadline) {
      done = true;
      for (const [name, page] of Object.entries(views)) {
        const m = await measure(page);
        if (m.streaming && m.text.trim() !== '') samples[name].push(m);
        if (!(await page.$(`${BOT_MSG}.msg-complete`))) done = false;
      }
      await sleep(80);
    }
    assert.ok(done, 'the reply finished in every view');

    for (const name of ['desktop', 'phone']) {
      const s = samples[name];
      assert.ok(s.length >= 10, `${name}: watched the reply stream (${s.length} samples while it was being written)`);
      const worst = s.reduce((a, m) => (m.gap > a.gap ? m : a), s[0]);
      assert.ok(worst.gap <= 4, `${name}: #messages stayed scrolled to the bottom while the reply streamed; at worst ${worst.gap} px above it, with "${worst.text.trim().split('\n').pop()}" written`);
      const hidden = s.filter((m) => !m.lastLineShown);
      assert.deepEqual(hidden.map((m) => `${m.lastLineBelow} px below at "${m.text.trim().split('\n').pop()}"`), [], `${name}: the reply's last line stayed in view`);
      const after = await measure(views[name]);
      assert.ok(after.gap <= 4, `${name}: at the bottom once the reply is complete (gap ${after.gap} px)`);
      assert.ok(after.scrollTop > before[name].scrollTop + 200, `${name}: the view really moved with the reply (${before[name].scrollTop} → ${after.scrollTop})`);
    }
    const up = samples['scrolled-up'];
    assert.ok(up.length >= 10, `scrolled-up: watched the reply stream (${up.length} samples)`);
    const moved = up.filter((m) => m.scrollTop > 1).map((m) => m.scrollTop);
    assert.deepEqual(moved, [], 'a reader who scrolled up is not pulled down while the reply streams');
    assert.ok((await measure(views['scrolled-up'])).scrollTop <= 1, 'nor when it completes');
    assert.deepEqual(errors, [], 'no JavaScript errors');
  } finally {
    await desktop.close();
    await phone.close();
  }
});

test('offline: the banner shows, a send is refused in words and the text kept; back online it sends; a draft survives a reload', T, async () => {
  const db = pool.freshDb('parley-offline-');
  let server = await pool.start({ db });
  const { port } = server;
  const chat = await createChat(server.url, 'Offline');
  const context = await newContext();
  const errors = [];
  let passed = false;
  try {
    const page = await openChat(context, chat.id, { base: server.url, errors });
    const banner = page.locator('#connection');
    const body = page.locator('#composer [name=body]');
    const error = page.locator('#composer-error');
    assert.ok(await banner.isHidden(), 'no banner while connected');
    await nameSelf(page);
    const typed = 'kept while the server is away';
    await body.fill(typed);

    // the server goes away: the page says so
    await pool.stop(server);
    await banner.waitFor({ state: 'visible', timeout: 5000 });
    assert.match(await banner.textContent(), /Reconnecting/);
    assert.ok(await page.evaluate(() => document.body.classList.contains('offline')), 'body.offline');

    // sending is refused in words, and the text stays in the box
    await page.click('#composer button[type=submit]');
    await eventually(async () => /Not sent/.test(await error.textContent()), { timeout: 2000, what: 'a "Not sent" error' });
    assert.ok(await error.isVisible(), 'the error is visible');
    assert.match(await error.textContent(), /server cannot be reached/);
    assert.equal(await body.inputValue(), typed, 'the typed text stays in the box');

    // the server comes back on the same address and database
    server = await pool.start({ db, listen: `127.0.0.1:${port}` });
    await banner.waitFor({ state: 'hidden', timeout: 15000 });
    assert.ok(!(await page.evaluate(() => document.body.classList.contains('offline'))), 'body.offline cleared');
    // the stream carries new events again
    await postMessage(server.url, chat.id, 'welcome back', 'Bob');
    await page.locator('#msg-1').waitFor({ state: 'attached', timeout: 5000 });
    assert.match(await page.textContent('#msg-1'), /welcome back/);
    // and the kept text sends
    await page.click('#composer button[type=submit]');
    await page.locator('#msg-2').waitFor({ state: 'attached', timeout: 5000 });
    assert.match(await page.textContent('#msg-2 .msg-body'), new RegExp(typed));
    assert.equal(await body.inputValue(), '', 'the box is emptied once sent');
    await eventually(async () => (await error.textContent()).trim() === '', { timeout: 2000, what: 'the error cleared' });
    assert.deepEqual((await messagesOf(chat.id, server.url)).map((m) => m.body), ['welcome back', typed], 'sent once');

    // a draft survives a reload (and the name with it)
    const draft = 'a draft\nfor later';
    await body.fill(draft);
    await page.reload({ waitUntil: 'load' });
    await page.waitForFunction(() => window.htmx !== undefined);
    assert.equal(await page.locator('#composer [name=body]').inputValue(), draft, 'the draft is back after a reload');
    assert.match(await page.textContent('#composer .posting-as'), /Posting as Ada/);
    assert.deepEqual(errors, [], 'no JavaScript errors');
    passed = true;
  } finally {
    await context.close();
    // a clean exit is checked when all went well; otherwise the pool kills it after the file
    if (passed) await pool.stop(server);
  }
});

test('friendly errors: a blank body is refused in words, the box holds at most 16384 characters, no htmx console errors', T, async () => {
  const chat = await createChat(srv.url, 'Errors');
  const context = await newContext();
  const errors = [];
  const consoleErrors = [];
  try {
    const page = await openChat(context, chat.id, { errors, consoleErrors });
    await nameSelf(page);
    const body = page.locator('#composer [name=body]');
    const error = page.locator('#composer-error');

    // blank (white space only; the empty box is stopped by the browser's own check)
    await send(page, '   \n  ');
    await eventually(async () => (await error.textContent()).trim() !== '', { timeout: 3000, what: 'an error in the composer' });
    const said = (await error.textContent()).trim();
    assert.equal(said, 'Write something first: the message is empty.');
    assert.ok(await error.isVisible(), 'the error is visible');
    assert.equal((await messagesOf(chat.id)).length, 0, 'nothing was posted');

    // the box stops at 16384 characters, and that many ASCII ones are accepted
    assert.equal(await body.getAttribute('maxlength'), '16384');
    await body.fill('');
    await body.focus();
    await page.keyboard.insertText('a'.repeat(17000));
    assert.equal((await body.inputValue()).length, 16384, 'typing stops at 16384 characters');
    await page.click('#composer button[type=submit]');
    await page.locator('#msg-1').waitFor({ state: 'attached', timeout: 5000 });
    await eventually(async () => (await error.textContent()).trim() === '', { timeout: 2000, what: 'the error cleared by a good post' });
    assert.equal((await messagesOf(chat.id))[0].body.length, 16384);

    // a 4xx answer is shown, not logged as an htmx error
    const unexpected = consoleErrors.filter((t) => !NETWORK_LINE.test(t));
    assert.deepEqual(unexpected, [], 'no console errors but the browser\'s own line for the 4xx answer');
    assert.ok(consoleErrors.some((t) => NETWORK_LINE.test(t)), 'the 422 answer did reach the browser');
    assert.deepEqual(errors, [], 'no JavaScript errors');
  } finally {
    await context.close();
  }
});

test('friendly errors: a message over 16 KiB typed in non-ASCII text (within the box\'s 16384 characters) is refused in words', T, async () => {
  const chat = await createChat(srv.url, 'Too long');
  const context = await newContext();
  const errors = [];
  const consoleErrors = [];
  try {
    const page = await openChat(context, chat.id, { errors, consoleErrors });
    await nameSelf(page);
    const body = page.locator('#composer [name=body]');
    const error = page.locator('#composer-error');
    const tooLong = 'That message is too long: a message may hold 16 KiB of text.';
    // 9000 "é": 18000 bytes of UTF-8, 54 KB as a form
    for (const count of [9000, 16384]) {
      await body.fill('');
      await page.evaluate(() => { document.getElementById('composer-error').textContent = ''; });
      await body.focus();
      await page.keyboard.insertText('é'.repeat(count));
      assert.equal((await body.inputValue()).length, count, 'the box takes it (maxlength counts characters)');
      await page.click('#composer button[type=submit]');
      await eventually(async () => (await error.textContent()).trim() !== '', { timeout: 3000, what: 'an error in the composer' });
      const said = (await error.textContent()).trim();
      assert.equal(said, tooLong, `${count} × "é" (${count * 2} bytes): the error says so in words`);
      assert.equal((await body.inputValue()).length, count, 'the text stays in the box');
    }
    assert.equal((await messagesOf(chat.id)).length, 0, 'nothing was posted');
    assert.deepEqual(consoleErrors.filter((t) => !NETWORK_LINE.test(t)), [], 'no console errors but the browser\'s own');
    assert.deepEqual(errors, [], 'no JavaScript errors');
  } finally {
    await context.close();
  }
});
