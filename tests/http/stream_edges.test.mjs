// Event-stream edge cases: HEAD gets the head and no stream; one frame bigger than the
// stream buffer does not count as a slow client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer, api, createChat, postMessage, openReadyStream, jsonStreamPath, waitForEvents, metrics, subscriberCount,
} from './helpers.mjs';

const srv = useServer({ args: ['--stream-buffer', '16'] });

test('HEAD on a stream route answers the head only and opens no stream', { timeout: 10000 }, async () => {
  const chat = await createChat(srv.url, 'head');
  const before = await subscriberCount(srv.url);
  const r = await fetch(`${srv.url}${jsonStreamPath(chat.id)}`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'text/event-stream');
  assert.equal(await r.text(), '');
  assert.equal(await subscriberCount(srv.url), before);
  const missing = await fetch(`${srv.url}/api/v1/chats/zzzzzzzzzzzz/events`, { method: 'HEAD' });
  assert.equal(missing.status, 404);
});

test('a single message bigger than --stream-buffer reaches a reading client', { timeout: 10000 }, async () => {
  const chat = await createChat(srv.url, 'big');
  const s = await openReadyStream(srv.url, jsonStreamPath(chat.id));
  const dropped = (await metrics(srv.url)).get('parley_sse_dropped_slow_total');
  const body = '"'.repeat(16 * 1024); // ~32 KiB escaped, twice the 16 KiB buffer
  await postMessage(srv.url, chat.id, body);
  const evs = await waitForEvents(s, 2);
  assert.equal(evs[1].json.body, body);
  assert.equal((await metrics(srv.url)).get('parley_sse_dropped_slow_total'), dropped);
  s.close();
});

// A browser's one stream (GET /events?chats=…): a list it cannot serve as asked is a 422,
// not a stream that carries a chat twice (every event twice) or drops part of the list.
test('/events?chats=: a chat listed twice, over 64 chats, or a malformed item → 422 {"detail"}', async () => {
  const c = await createChat(srv.url, 'listed twice');
  const many = Array.from({ length: 65 }, () => c.id).join(',');
  for (const q of [`${c.id},${c.id}`, `${c.id}:0,${c.id}:3`, many, `${c.id}:x`, 'nope']) {
    const r = await api(srv.url, 'GET', `/events?chats=${q}`);
    assert.equal(r.status, 422, `${q.slice(0, 40)}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.match(r.json.detail, /^chats: /);
  }
});
