// Resume (SPEC §4.7) from both sources of history: the channel's memory of recent events
// (while the chat has another subscriber) and the store's event log (otherwise, or when
// the events asked for are older than memory holds). Either way: every durable event
// after N, once, in order, then live ones, with no gap and no duplicate; from the store,
// people's messages (whose rows are their events) and the log's other events, merged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer, createChat, postMany, openOkStream, openReadyStream, waitForEvents, sleep, api,
  jsonStreamPath as path, htmlStreamPath as htmlPath, range,
} from './helpers.mjs';

const T = { timeout: 20000 };
const srv = useServer();

const post = (chatId, n, first = 1) => postMany(srv.url, chatId, n, { first });

/** Opens a stream resuming after N and returns the ids of its first `count` events. */
async function resumedIds(p, n, count) {
  const s = await openOkStream(srv.url, p, { headers: { 'Last-Event-ID': String(n) } });
  const evs = await waitForEvents(s, count);
  s.close();
  assert.ok(evs.every((e) => e.event !== 'snapshot'), 'a valid resume starts without a snapshot');
  return evs.map((e) => Number(e.id));
}

test('from memory: a chat with a live subscriber resumes from its recent events', T, async () => {
  const c = await createChat(srv.url, 'ring');
  const keeper = await openReadyStream(srv.url, path(c.id)); // keeps the channel alive
  await post(c.id, 30);
  await waitForEvents(keeper, 31);
  assert.deepEqual(await resumedIds(path(c.id), 12, 18), range(13, 30));
  assert.deepEqual(await resumedIds(htmlPath(c.id), 25, 5), range(26, 30));
  keeper.close();
});

test('from the store: older than memory, or before the channel existed', T, async () => {
  const c = await createChat(srv.url, 'log');
  await post(c.id, 5); // no subscriber: these are only in the store
  const keeper = await openReadyStream(srv.url, path(c.id));
  await post(c.id, 95, 6); // memory now holds the newest events only
  await waitForEvents(keeper, 96);
  assert.deepEqual(await resumedIds(path(c.id), 2, 98), range(3, 100));
  assert.deepEqual(await resumedIds(path(c.id), 80, 20), range(81, 100));
  keeper.close();
  await sleep(200);
  // with nobody subscribed the store serves it all
  assert.deepEqual(await resumedIds(htmlPath(c.id), 0, 100), range(1, 100));
});

test('from the store: messages and other events in id order, as they went out live', T, async () => {
  const c = await createChat(srv.url, 'mixed');
  const live = await openReadyStream(srv.url, path(c.id)); // with the snapshot
  await post(c.id, 2);
  const r = await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, { title: 'renamed' });
  assert.equal(r.status, 200);
  await post(c.id, 2, 3);
  const sent = (await waitForEvents(live, 6)).slice(1);
  live.close();
  await sleep(200); // nobody subscribed: the store serves the resume
  const s = await openOkStream(srv.url, path(c.id), { headers: { 'Last-Event-ID': '0' } });
  const replayed = await waitForEvents(s, 5);
  s.close();
  const shape = (evs) => evs.map((e) => [Number(e.id), e.event, e.data]);
  assert.deepEqual(shape(sent).map(([id, name]) => [id, name]),
    [[1, 'message'], [2, 'message'], [3, 'chat'], [4, 'message'], [5, 'message']]);
  assert.deepEqual(shape(replayed), shape(sent));
});

test('events published right after a resume follow it with no gap or duplicate', T, async () => {
  const c = await createChat(srv.url, 'live');
  const keeper = await openOkStream(srv.url, path(c.id));
  await post(c.id, 10);
  const s = await openOkStream(srv.url, path(c.id), { headers: { 'Last-Event-ID': '4' } });
  const posting = post(c.id, 10, 11);
  const evs = await waitForEvents(s, 16);
  await posting;
  assert.deepEqual(evs.map((e) => Number(e.id)), range(5, 20));
  assert.deepEqual(evs.map((e) => e.json.body), range(5, 20).map((i) => `message ${i}`));
  s.close();
  keeper.close();
});
