// Durability: chats, messages, seq and event ids survive restarts and kill -9.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServerPool,
  api,
  createChat,
  getChat,
  postMessage,
  openOkStream,
  openSnapshotStream,
  jsonStreamPath,
  waitForEvents,
  sleep,
} from './helpers.mjs';

const T = { timeout: 15000 };
const pool = useServerPool();
const freshDb = () => pool.freshDb();
const start = (db) => pool.start({ db });
const stop = (s, sig = 'SIGTERM') => pool.stop(s, sig);

test('restart on the same db keeps chats, messages, seq and event ids', T, async () => {
  const db = freshDb();
  let s = await start(db);
  const a = await createChat(s.url, 'Kept A');
  const b = await createChat(s.url, 'Kept B', { policy: 'manual' });
  const m1 = await postMessage(s.url, a.id, 'first', 'Ada');
  const m2 = await postMessage(s.url, a.id, 'second\nwith newline 🦜', 'Grace');
  await api(s.url, 'PATCH', `/api/v1/chats/${a.id}`, { title: 'Kept A renamed' }); // event 3
  const m3 = await postMessage(s.url, a.id, 'third', 'Ada'); // event 4
  const beforeA = await getChat(s.url, a.id);
  assert.equal(beforeA.last_event_id, 4);
  await stop(s);

  s = await start(db);
  const list = (await api(s.url, 'GET', '/api/v1/chats')).json.chats;
  assert.deepEqual(list.map((c) => c.id), [b.id, a.id], 'both chats, newest first');
  const afterA = await getChat(s.url, a.id);
  assert.deepEqual(afterA, beforeA, 'chat A unchanged across restart');
  assert.deepEqual(afterA.messages, [m1, m2, m3]);
  assert.equal((await getChat(s.url, b.id)).policy, 'manual');

  // seq and event ids continue
  const live = await openSnapshotStream(s.url, jsonStreamPath(a.id));
  try {
    assert.equal(live.snapshot.id, '4');
    const m4 = await postMessage(s.url, a.id, 'fourth');
    assert.equal(m4.seq, 4, 'seq continues');
    const [, ev] = await waitForEvents(live, 2);
    assert.equal(ev.id, '5', 'event id continues');
  } finally {
    live.close();
  }

  // history of events is kept across restarts: resume from 1 replays 2..5
  const r = await openOkStream(s.url, jsonStreamPath(a.id, '?after=1'));
  try {
    const evs = await waitForEvents(r, 4);
    assert.deepEqual(evs.map((e) => [e.event, e.id]), [
      ['message', '2'],
      ['chat', '3'],
      ['message', '4'],
      ['message', '5'],
    ]);
    assert.equal(evs[0].json.body, 'second\nwith newline 🦜');
    assert.equal(evs[1].json.title, 'Kept A renamed');
  } finally {
    r.close();
  }
  await stop(s);
});

test('kill -9 right after a 201 keeps the message; ids are not reused', T, async () => {
  const db = freshDb();
  let s = await start(db);
  const c = await createChat(s.url, 'crash');
  const m1 = await postMessage(s.url, c.id, 'durable one');
  const m2 = await postMessage(s.url, c.id, 'durable two');
  await stop(s, 'SIGKILL');

  s = await start(db);
  const got = await getChat(s.url, c.id);
  assert.deepEqual(got.messages, [m1, m2], 'both messages survived kill -9');
  assert.equal(got.last_event_id, 2);
  const m3 = await postMessage(s.url, c.id, 'after crash');
  assert.equal(m3.seq, 3);
  const created = await createChat(s.url, 'made right before the crash');
  await stop(s, 'SIGKILL');

  s = await start(db);
  assert.equal((await getChat(s.url, created.id)).title, 'made right before the crash');
  const st = await openOkStream(s.url, jsonStreamPath(c.id, '?after=2'));
  try {
    const [ev] = await waitForEvents(st, 1);
    assert.equal(ev.event, 'message');
    assert.equal(ev.id, '3');
    assert.deepEqual(ev.json, m3);
  } finally {
    st.close();
  }
  await stop(s);
});

test('deleted chats stay deleted after restart', T, async () => {
  const db = freshDb();
  let s = await start(db);
  const c = await createChat(s.url, 'gone');
  await postMessage(s.url, c.id, 'x');
  assert.equal((await api(s.url, 'DELETE', `/api/v1/chats/${c.id}`)).status, 204);
  await stop(s, 'SIGKILL');
  s = await start(db);
  assert.equal((await api(s.url, 'GET', `/api/v1/chats/${c.id}`)).status, 404);
  assert.ok(!(await api(s.url, 'GET', '/api/v1/chats')).json.chats.some((x) => x.id === c.id));
  await stop(s);
});

test('SIGINT also flushes: data written just before shutdown survives', T, async () => {
  const db = freshDb();
  let s = await start(db);
  const c = await createChat(s.url, 'sigint');
  const ms = await Promise.all(Array.from({ length: 10 }, (_, i) => postMessage(s.url, c.id, `burst ${i}`)));
  await stop(s, 'SIGINT');
  await sleep(50);
  s = await start(db);
  const got = await getChat(s.url, c.id);
  assert.equal(got.messages.length, 10);
  assert.deepEqual(new Set(got.messages.map((m) => m.body)), new Set(ms.map((m) => m.body)));
  await stop(s);
});
