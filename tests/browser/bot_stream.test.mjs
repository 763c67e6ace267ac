// A bot's reply streams word by word into a second tab, renders as Markdown when done,
// and the turn status and stop button follow the flow.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chromium } from 'playwright-core';
import { startServer, api, createChat, eventually, sleep } from '../http/helpers.mjs';

const T = { timeout: 20000 };
let srv;
let browser;

before(
  async () => {
    // 250 ms a word: slow enough to watch the reply grow, fast enough for a test
    srv = await startServer({ args: ['--typing-ms', '250'] });
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  },
  { timeout: 15000 },
);

after(
  async () => {
    if (browser) await browser.close().catch(() => {});
    if (srv) await srv.stop();
  },
  { timeout: 15000 },
);

async function makeBot(name, backend) {
  const r = await api(srv.url, 'POST', '/api/v1/bots', { name, backend });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

async function openChat(context, chatId) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e));
  await page.goto(`${srv.url}/chats/${chatId}`);
  // the stream is open once the server counts the subscriber; give htmx a moment to connect
  await page.waitForFunction(() => window.htmx !== undefined);
  await sleep(300);
  return { page, errors };
}

/** The text of the newest bot message body in the page. */
function lastBotText(page) {
  return page.evaluate(() => {
    const bots = [...document.querySelectorAll('#messages .msg-bot .msg-body')];
    return bots.length ? bots[bots.length - 1].textContent : null;
  });
}

test('a reply streams into the other tab word by word, then renders as Markdown', T, async () => {
  const echo = await makeBot('Parrot', 'echo');
  const chat = await createChat(srv.url, 'Streaming', { bots: [echo.id], policy: 'round-robin' });
  const context = await browser.newContext();
  const one = await openChat(context, chat.id);
  const two = await openChat(context, chat.id);

  const words = 'the **quick** brown fox jumps over the lazy dog';
  await one.page.fill('[name=author]', 'Ada');
  await one.page.fill('[name=body]', words);
  await one.page.click('#composer button[type=submit]');

  // while the reply is being typed, tab two sees it grow, a prefix of the final text each time
  const seen = new Set();
  const deadline = Date.now() + 6000;
  while (Date.now() < deadline) {
    const text = await lastBotText(two.page);
    if (text !== null) seen.add(text.trim());
    const status = await two.page.textContent('#turn-status');
    if (text !== null && /Parrot/.test(status)) {
      assert.ok(words.startsWith(text.trim()), `partial reply "${text}" is a prefix of the message`);
    }
    if (await two.page.$('#messages .msg-bot.msg-complete')) break;
    await sleep(100);
  }
  const partials = [...seen].filter((t) => t.length > 0 && t !== words);
  assert.ok(partials.length >= 3, `saw the reply grow in several steps: ${JSON.stringify([...seen])}`);
  assert.ok(partials.some((t) => t.startsWith('the')), 'the first word was not lost');

  // when done: Markdown rendered, exactly one bot message, status idle, in both tabs
  for (const { page } of [one, two]) {
    await page.waitForSelector('#messages .msg-bot.msg-complete strong', { timeout: 5000 });
    assert.equal(await page.textContent('#messages .msg-bot.msg-complete strong'), 'quick');
    assert.equal(await page.locator('#messages .msg-bot').count(), 1);
    assert.equal(await page.locator('#messages .msg-person').count(), 1);
    await eventually(async () => (await page.textContent('#turn-status')).trim() === '', {
      timeout: 3000, what: 'turn status idle',
    });
  }
  assert.deepEqual([...one.errors, ...two.errors], []);
  await two.page.screenshot({ path: '/tmp/parley-bot-stream.png' });
  await context.close();
});

test('the stop button ends a reply in every tab, keeping its text', T, async () => {
  const echo = await makeBot('Slowpoke', 'echo');
  const chat = await createChat(srv.url, 'Stopping', { bots: [echo.id] });
  const context = await browser.newContext();
  const one = await openChat(context, chat.id);
  const two = await openChat(context, chat.id);

  await one.page.fill('[name=author]', 'Ada');
  await one.page.fill('[name=body]', 'one two three four five six seven eight nine ten eleven twelve');
  await one.page.click('#composer button[type=submit]');
  await two.page.waitForSelector('#messages .msg-bot.msg-streaming', { timeout: 5000 });
  await eventually(async () => ((await lastBotText(two.page)) || '').includes('two'), {
    timeout: 5000, what: 'a few words typed',
  });
  await two.page.click('.stop button');

  for (const { page } of [one, two]) {
    await page.waitForSelector('#messages .msg-bot.msg-stopped', { timeout: 5000 });
    const text = (await lastBotText(page)).trim();
    assert.ok(text.startsWith('one two'), `kept the text so far: "${text}"`);
    assert.ok(!text.includes('twelve'), 'stopped before the end');
  }
  const r = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages`);
  const bot = r.json.messages.find((m) => m.kind === 'bot');
  assert.equal(bot.state, 'stopped');
  await context.close();
});

test('a tab opened in the middle of a reply shows the text so far and the rest as it comes', T, async () => {
  const echo = await makeBot('Latecomer', 'echo');
  const chat = await createChat(srv.url, 'Late', { bots: [echo.id] });
  const body = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi'
    + ' omicron pi rho sigma tau upsilon phi chi psi omega';
  const posted = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body });
  assert.equal(posted.status, 201);
  await sleep(900); // a few words in (24 words take 6 s)
  const context = await browser.newContext();
  const late = { page: await context.newPage() };
  await late.page.goto(`${srv.url}/chats/${chat.id}`);
  const first = ((await lastBotText(late.page)) || '').trim();
  assert.ok(first.startsWith('alpha beta') && first !== body, `text so far on load: "${first}"`);
  // the rest arrives as tokens (before the final update replaces the element)
  await eventually(async () => {
    const t = ((await lastBotText(late.page)) || '').trim();
    return t.length > first.length && !(await late.page.$('#messages .msg-bot.msg-complete'));
  }, { timeout: 3000, what: 'the reply growing in the late tab' });
  await late.page.waitForSelector('#messages .msg-bot.msg-complete', { timeout: 10000 });
  assert.equal((await lastBotText(late.page)).trim(), body);
  assert.equal(await late.page.locator('#messages .msg-bot').count(), 1);
  await context.close();
});
