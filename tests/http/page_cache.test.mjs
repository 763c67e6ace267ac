// Chat pages are cached while nothing they show changes; every change shows at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, api, createBot, chatWithBots, postMessage, eventually, sleep } from './helpers.mjs';

const srv = useServer({ args: ['--typing-ms', '150'] });

const page = async (id) => {
  const r = await fetch(`${srv.url}/chats/${id}`);
  assert.equal(r.status, 200);
  return r.text();
};

test('a cached page follows new messages, chat changes and bot changes', { timeout: 15000 }, async () => {
  const { chat, bots: [bot] } = await chatWithBots(srv.url, 'cache me', [{ name: 'Cachey', backend: 'echo' }], { policy: 'manual' });
  await postMessage(srv.url, chat.id, 'first words');
  const a = await page(chat.id);
  assert.equal(await page(chat.id), a, 'the same state renders the same page');
  assert.match(a, /first words/);

  await postMessage(srv.url, chat.id, 'second words');
  assert.match(await page(chat.id), /second words/);

  await api(srv.url, 'PATCH', `/api/v1/chats/${chat.id}`, { title: 'renamed chat' });
  assert.match(await page(chat.id), /renamed chat/);

  await api(srv.url, 'PATCH', `/api/v1/bots/${bot.id}`, { name: 'Cachier' });
  const c = await page(chat.id);
  assert.match(c, /Cachier/);
  assert.doesNotMatch(c, /Cachey/);

  // an unrelated new bot shows up among the chat's settings choices
  await createBot(srv.url, { name: 'Newcomer', backend: 'dice' });
  assert.match(await page(chat.id), /Newcomer/);
});

test('a page during a reply shows the text so far; afterwards the finished reply', { timeout: 15000 }, async () => {
  const { chat } = await chatWithBots(srv.url, 'typing', [{ name: 'Typist', backend: 'echo' }]);
  await page(chat.id); // cache the empty chat
  await postMessage(srv.url, chat.id, 'one two three four five six seven eight');
  await sleep(450);
  const during = await page(chat.id);
  assert.match(during, /msg-streaming/);
  assert.match(during, /Typist is typing/);
  await eventually(async () => /msg-bot msg-complete/.test(await page(chat.id)), {
    timeout: 5000, what: 'the finished reply on the page',
  });
  const done = await page(chat.id);
  assert.doesNotMatch(done, /msg-streaming/);
  assert.doesNotMatch(done, /is typing/);
});
