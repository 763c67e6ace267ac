// SPEC §2–3: chats over the JSON API (create, list, get, patch, delete).
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  api,
  createChat,
  getChat,
  postMessage,
  assertError,
  openStream,
  openReadyStream,
  openSnapshotStream,
  jsonStreamPath,
  htmlStreamPath,
  waitForEvents,
  ID_RE,
  RFC3339_UTC_RE,
  sleep,
} from './helpers.mjs';

const T = { timeout: 15000 };
const srv = useServer();

function assertChatShape(c, { title, policy = 'round-robin' } = {}) {
  assert.match(c.id, ID_RE, 'id format');
  if (title !== undefined) assert.equal(c.title, title);
  assert.equal(c.policy, policy);
  assert.deepEqual(c.bots, []);
  assert.match(c.created_at, RFC3339_UTC_RE, 'created_at is RFC 3339 UTC');
  const t = Date.parse(c.created_at);
  assert.ok(Math.abs(Date.now() - t) < 120000, `created_at is now-ish: ${c.created_at}`);
  assert.equal(typeof c.last_event_id, 'number');
  assert.ok(Number.isInteger(c.last_event_id) && c.last_event_id >= 0);
}

describe('create', () => {
  test('POST /api/v1/chats → 201 Chat with defaults', T, async () => {
    const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'Pirates' });
    assert.equal(r.status, 201, r.text);
    assert.match(r.headers.get('content-type') || '', /^application\/json/);
    assertChatShape(r.json, { title: 'Pirates' });
    assert.equal(r.json.last_event_id, 0, 'a new chat has no events');
  });

  test('explicit policy and empty bots are accepted', T, async () => {
    const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'Manual', policy: 'manual', bots: [] });
    assert.equal(r.status, 201, r.text);
    assertChatShape(r.json, { title: 'Manual', policy: 'manual' });
    for (const policy of ['round-robin', 'mentions', 'natural']) {
      const r2 = await api(srv.url, 'POST', '/api/v1/chats', { title: `p ${policy}`, policy });
      assert.equal(r2.status, 201, r2.text);
      assert.equal(r2.json.policy, policy);
    }
  });

  test('unicode title round-trips', T, async () => {
    const title = 'Пираты 🏴‍☠️ «ok» 日本';
    const c = await createChat(srv.url, title);
    assert.equal(c.title, title);
    assert.equal((await getChat(srv.url, c.id)).title, title);
  });

  test('ids are unique, URL-safe, 12 chars', T, async () => {
    const ids = new Set();
    const made = await Promise.all(Array.from({ length: 25 }, (_, i) => createChat(srv.url, `uniq ${i}`)));
    for (const c of made) {
      assert.match(c.id, ID_RE);
      ids.add(c.id);
    }
    assert.equal(ids.size, 25);
  });

  test('title of 200 chars is accepted, 201 chars is 422 title', T, async () => {
    const ok = await api(srv.url, 'POST', '/api/v1/chats', { title: 'x'.repeat(200) });
    assert.equal(ok.status, 201, ok.text);
    const bad = await api(srv.url, 'POST', '/api/v1/chats', { title: 'x'.repeat(201) });
    const e = assertError(bad, 422);
    assert.match(e.detail, /title/);
  });

  test('blank or missing title is 422 naming title, nothing created', T, async () => {
    const before = (await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length;
    for (const body of [{}, { title: '' }, { title: '   \t ' }, { title: 42 }, { title: null }]) {
      const r = await api(srv.url, 'POST', '/api/v1/chats', body);
      const e = assertError(r, 422, JSON.stringify(body));
      assert.match(e.detail, /title/, `detail names title: ${e.detail}`);
    }
    const after = (await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length;
    assert.equal(after, before, 'no chat created');
  });

  test('invalid policy is 422 naming policy', T, async () => {
    const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'x', policy: 'democracy' });
    const e = assertError(r, 422);
    assert.match(e.detail, /policy/);
  });
});

describe('list and get', () => {
  test('GET /api/v1/chats lists newest first', T, async () => {
    const a = await createChat(srv.url, 'order A');
    await sleep(5);
    const b = await createChat(srv.url, 'order B');
    await sleep(5);
    const c = await createChat(srv.url, 'order C');
    const r = await api(srv.url, 'GET', '/api/v1/chats');
    assert.equal(r.status, 200);
    assert.ok(Array.isArray(r.json.chats));
    const ids = r.json.chats.map((x) => x.id);
    const pos = [c.id, b.id, a.id].map((id) => ids.indexOf(id));
    assert.ok(pos.every((p) => p >= 0), 'all listed');
    assert.ok(pos[0] < pos[1] && pos[1] < pos[2], `newest first: positions ${pos}`);
    for (const chat of r.json.chats) assertChatShape(chat, { policy: chat.policy });
    // created_at is non-increasing in list order
    for (let i = 1; i < r.json.chats.length; i++) {
      assert.ok(Date.parse(r.json.chats[i - 1].created_at) >= Date.parse(r.json.chats[i].created_at), 'created_at non-increasing');
    }
  });

  test('GET /api/v1/chats/{id} returns the chat with messages', T, async () => {
    const c = await createChat(srv.url, 'single');
    const got = await getChat(srv.url, c.id);
    assertChatShape(got, { title: 'single' });
    assert.equal(got.id, c.id);
    assert.equal(got.created_at, c.created_at);
    assert.deepEqual(got.messages, []);
    const m = await postMessage(srv.url, c.id, 'hello');
    const got2 = await getChat(srv.url, c.id);
    assert.equal(got2.messages.length, 1);
    assert.deepEqual(got2.messages[0], m);
    assert.equal(got2.last_event_id, 1);
  });

  test('unknown chat id is 404 with detail', T, async () => {
    for (const id of ['zzzzzzzzzzzz', 'nope', '000000000000']) {
      assertError(await api(srv.url, 'GET', `/api/v1/chats/${id}`), 404, id);
      assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${id}`, { title: 'x' }), 404, id);
      assertError(await api(srv.url, 'DELETE', `/api/v1/chats/${id}`), 404, id);
    }
  });
});

describe('patch', () => {
  test('PATCH title → 200 Chat, emits a chat event with the next id', T, async () => {
    const c = await createChat(srv.url, 'before');
    await postMessage(srv.url, c.id, 'one'); // event 1
    const s = srv.track(await openSnapshotStream(srv.url, jsonStreamPath(c.id)));
    const h = srv.track(await openReadyStream(srv.url, htmlStreamPath(c.id)));
    assert.equal(s.snapshot.id, '1');
    const r = await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, { title: 'after' });
    assert.equal(r.status, 200, r.text);
    assertChatShape(r.json, { title: 'after' });
    assert.equal(r.json.id, c.id);
    assert.equal(r.json.created_at, c.created_at);
    assert.equal(r.json.last_event_id, 2);
    const evs = await waitForEvents(s, 2);
    assert.equal(evs[1].event, 'chat');
    assert.equal(evs[1].id, '2');
    assert.equal(evs[1].json.title, 'after');
    assert.equal(evs[1].json.id, c.id);
    assert.equal(evs[1].json.policy, 'round-robin');
    const hevs = await waitForEvents(h, 2);
    assert.equal(hevs[1].event, 'chat');
    assert.equal(hevs[1].id, '2');
    assert.ok(hevs[1].data.includes('after'), 'HTML chat header fragment carries the new title');
    const got = await getChat(srv.url, c.id);
    assert.equal(got.title, 'after');
    assert.equal(got.last_event_id, 2);
  });

  test('PATCH policy only keeps the title', T, async () => {
    const c = await createChat(srv.url, 'keep me');
    const r = await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, { policy: 'manual' });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.title, 'keep me');
    assert.equal(r.json.policy, 'manual');
  });

  test('invalid PATCH is 422 and changes nothing, emits nothing', T, async () => {
    const c = await createChat(srv.url, 'stable');
    const s = srv.track(await openReadyStream(srv.url, jsonStreamPath(c.id)));
    assert.match(assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, { title: '  ' }), 422).detail, /title/);
    assert.match(assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, { policy: 'x' }), 422).detail, /policy/);
    assert.match(
      assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, { title: 'new', policy: 'x' }), 422).detail,
      /policy/,
    );
    assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${c.id}`, '{"title":'), 400);
    await sleep(300);
    assert.equal(s.events.length, 1, 'no event after failed patches');
    const got = await getChat(srv.url, c.id);
    assert.equal(got.title, 'stable');
    assert.equal(got.policy, 'round-robin');
    assert.equal(got.last_event_id, 0);
  });
});

describe('delete', () => {
  test('DELETE → 204; open streams get `deleted` then end; later 404', T, async () => {
    const c = await createChat(srv.url, 'doomed');
    await postMessage(srv.url, c.id, 'bye');
    const s = srv.track(await openReadyStream(srv.url, jsonStreamPath(c.id)));
    const h = srv.track(await openReadyStream(srv.url, htmlStreamPath(c.id)));
    const r = await api(srv.url, 'DELETE', `/api/v1/chats/${c.id}`);
    assert.equal(r.status, 204);
    assert.equal(r.text, '', '204 has no body');
    await s.waitEnd(2000);
    await h.waitEnd(2000);
    const last = s.events[s.events.length - 1];
    assert.equal(last.event, 'deleted', 'JSON stream: last event is deleted');
    assert.deepEqual(JSON.parse(last.data), { chat_id: c.id });
    assert.equal(s.events.filter((e) => e.event === 'deleted').length, 1);
    const hlast = h.events[h.events.length - 1];
    assert.equal(hlast.event, 'deleted', 'HTML stream: last event is deleted');
    assert.ok(hlast.data && hlast.data.length > 0, 'HTML deleted carries a notice');
    for (const st of [s, h]) {
      assert.equal(st.error, null, `clean end: ${st.error}`);
      assert.ok(st.lastChunk, 'terminating chunk sent');
      assert.equal(st.incomplete, null);
    }
    assertError(await api(srv.url, 'GET', `/api/v1/chats/${c.id}`), 404);
    assertError(await api(srv.url, 'DELETE', `/api/v1/chats/${c.id}`), 404);
    assertError(await api(srv.url, 'GET', `/api/v1/chats/${c.id}/messages`), 404);
    assertError(await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'a', body: 'b' }), 404);
    const list = await api(srv.url, 'GET', '/api/v1/chats');
    assert.ok(!list.json.chats.some((x) => x.id === c.id), 'not listed');
    const again = srv.track(await openStream(srv.url, jsonStreamPath(c.id)));
    await again.waitEnd(2000);
    assert.equal(again.status, 404, 'stream on a deleted chat is 404');
  });

  test('DELETE of a chat without streams', T, async () => {
    const c = await createChat(srv.url, 'quiet');
    const r = await api(srv.url, 'DELETE', `/api/v1/chats/${c.id}`);
    assert.equal(r.status, 204);
    assertError(await api(srv.url, 'GET', `/api/v1/chats/${c.id}`), 404);
  });
});
