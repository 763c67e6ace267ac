// A bot's reply streams word by word into a second tab, renders as Markdown when done,
// and the turn status and stop button follow the flow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, chatWithBots, eventually, sleep } from '../http/helpers.mjs';
import { useBrowser, openPage } from './helpers.mjs';

const T = { timeout: 20000 };
// 250 ms a word: slow enough to watch the reply grow, fast enough for a test
const { srv, browser } = useBrowser({ args: ['--typing-ms', '250'] });

/** A chat page in a new page of `context`, once htmx has had a moment to connect its stream; page errors go onto `errors`. */
const openChat = (context, chatId, errors) => openPage(context, `${srv.url}/chats/${chatId}`, { errors, htmx: true });

/** The text of the newest bot message body in the page. */
function lastBotText(page) {
  return page.evaluate(() => {
    const bots = [...document.querySelectorAll('#messages .msg-bot .msg-body')];
    return bots.length ? bots[bots.length - 1].textContent : null;
  });
}

test('a reply streams into the other tab word by word, then renders as Markdown', T, async () => {
  const { chat } = await chatWithBots(srv.url, 'Streaming', [{ name: 'Parrot', backend: 'echo' }], { policy: 'round-robin' });
  const context = await browser.newContext();
  const errors = [];
  const one = await openChat(context, chat.id, errors);
  const two = await openChat(context, chat.id, errors);

  const words = 'the **quick** brown fox jumps over the lazy dog';
  await one.fill('[name=author]', 'Ada');
  await one.fill('[name=body]', words);
  await one.click('#composer button[type=submit]');

  // while the reply is being typed, tab two sees it grow, a prefix of the final text each time
  const seen = new Set();
  const deadline = Date.now() + 6000;
  while (Date.now() < deadline) {
    const text = await lastBotText(two);
    if (text !== null) seen.add(text.trim());
    const status = await two.textContent('#turn-status');
    if (text !== null && /Parrot/.test(status)) {
      assert.ok(words.startsWith(text.trim()), `partial reply "${text}" is a prefix of the message`);
    }
    if (await two.$('#messages .msg-bot.msg-complete')) break;
    await sleep(100);
  }
  const partials = [...seen].filter((t) => t.length > 0 && t !== words);
  assert.ok(partials.length >= 3, `saw the reply grow in several steps: ${JSON.stringify([...seen])}`);
  assert.ok(partials.some((t) => t.startsWith('the')), 'the first word was not lost');

  // when done: Markdown rendered, exactly one bot message, status idle, in both tabs
  for (const page of [one, two]) {
    await page.waitForSelector('#messages .msg-bot.msg-complete strong', { timeout: 5000 });
    assert.equal(await page.textContent('#messages .msg-bot.msg-complete strong'), 'quick');
    assert.equal(await page.locator('#messages .msg-bot').count(), 1);
    assert.equal(await page.locator('#messages .msg-person').count(), 1);
    await eventually(async () => (await page.textContent('#turn-status')).trim() === '', {
      timeout: 3000, what: 'turn status idle',
    });
  }
  assert.deepEqual(errors, []);
  await two.screenshot({ path: '/tmp/parley-bot-stream.png' });
  await context.close();
});

test('the stop button ends a reply in every tab, keeping its text', T, async () => {
  const { chat } = await chatWithBots(srv.url, 'Stopping', [{ name: 'Slowpoke', backend: 'echo' }]);
  const context = await browser.newContext();
  const one = await openChat(context, chat.id);
  const two = await openChat(context, chat.id);

  await one.fill('[name=author]', 'Ada');
  await one.fill('[name=body]', 'one two three four five six seven eight nine ten eleven twelve');
  await one.click('#composer button[type=submit]');
  await two.waitForSelector('#messages .msg-bot.msg-streaming', { timeout: 5000 });
  await eventually(async () => ((await lastBotText(two)) || '').includes('two'), {
    timeout: 5000, what: 'a few words typed',
  });
  await two.click('.stop button');

  for (const page of [one, two]) {
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
  const { chat } = await chatWithBots(srv.url, 'Late', [{ name: 'Latecomer', backend: 'echo' }]);
  const body = 'alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi'
    + ' omicron pi rho sigma tau upsilon phi chi psi omega';
  const posted = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body });
  assert.equal(posted.status, 201);
  await sleep(900); // a few words in (24 words take 6 s)
  const context = await browser.newContext();
  const late = await openPage(context, `${srv.url}/chats/${chat.id}`);
  const first = ((await lastBotText(late)) || '').trim();
  assert.ok(first.startsWith('alpha beta') && first !== body, `text so far on load: "${first}"`);
  // the rest arrives as tokens (before the final update replaces the element)
  await eventually(async () => {
    const t = ((await lastBotText(late)) || '').trim();
    return t.length > first.length && !(await late.$('#messages .msg-bot.msg-complete'));
  }, { timeout: 3000, what: 'the reply growing in the late tab' });
  await late.waitForSelector('#messages .msg-bot.msg-complete', { timeout: 10000 });
  assert.equal((await lastBotText(late)).trim(), body);
  assert.equal(await late.locator('#messages .msg-bot').count(), 1);
  await context.close();
});
