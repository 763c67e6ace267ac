// Event-stream edge cases: HEAD gets the head and no stream; one frame bigger than the
// stream buffer does not count as a slow client.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, createChat, postMessage, openOkStream, waitForEvents, metrics } from './helpers.mjs';

let srv;
before(async () => { srv = await startServer({ args: ['--stream-buffer', '16'] }); });
after(async () => { if (srv) await srv.stop(); });

test('HEAD on a stream route answers the head only and opens no stream', { timeout: 10000 }, async () => {
  const chat = await createChat(srv.url, 'head');
  const before = (await metrics(srv.url)).get('parley_sse_subscribers');
  const r = await fetch(`${srv.url}/api/v1/chats/${chat.id}/events`, { method: 'HEAD' });
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type'), /^text\/event-stream/);
  assert.equal(await r.text(), '');
  assert.equal((await metrics(srv.url)).get('parley_sse_subscribers'), before);
  const missing = await fetch(`${srv.url}/api/v1/chats/zzzzzzzzzzzz/events`, { method: 'HEAD' });
  assert.equal(missing.status, 404);
});

test('a single message bigger than --stream-buffer reaches a reading client', { timeout: 10000 }, async () => {
  const chat = await createChat(srv.url, 'big');
  const s = await openOkStream(srv.url, `/api/v1/chats/${chat.id}/events`);
  await waitForEvents(s, 1);
  const dropped = (await metrics(srv.url)).get('parley_sse_dropped_slow_total');
  const body = '"'.repeat(16 * 1024); // ~32 KiB escaped, twice the 16 KiB buffer
  await postMessage(srv.url, chat.id, body);
  const evs = await waitForEvents(s, 2);
  assert.equal(evs[1].json.body, body);
  assert.equal((await metrics(srv.url)).get('parley_sse_dropped_slow_total'), dropped);
  s.close();
});
