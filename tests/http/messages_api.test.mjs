// SPEC §2–3: a person's messages over the JSON API.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  useServer,
  api,
  createChat,
  getChat,
  postMessage,
  postMany,
  range,
  assertError,
  openSnapshotStream,
  jsonStreamPath,
  waitForEvents,
  metrics,
  ID_RE,
  RFC3339_UTC_RE,
} from './helpers.mjs';

const T = { timeout: 15000 };
const srv = useServer();

function assertMessageShape(m, { chatId, seq, author, body }) {
  assert.deepEqual(
    Object.keys(m).sort(),
    ['alternative', 'alternatives', 'author', 'body', 'bot_id', 'chat_id', 'created_at',
      'edited_at', 'error', 'kind', 'seq', 'state'],
    `message fields: ${JSON.stringify(m)}`,
  );
  assert.equal(m.chat_id, chatId);
  assert.equal(m.seq, seq);
  assert.equal(m.kind, 'person');
  assert.equal(m.author, author);
  assert.equal(m.bot_id, null);
  assert.equal(m.body, body);
  assert.equal(m.state, 'complete');
  assert.equal(m.error, null);
  assert.equal(m.edited_at, null);
  assert.equal(m.alternative, 0);
  assert.equal(m.alternatives, 1);
  assert.match(m.created_at, RFC3339_UTC_RE);
  assert.ok(Math.abs(Date.now() - Date.parse(m.created_at)) < 120000, 'created_at is now-ish');
}

describe('POST messages', () => {
  test('201 with the Message shape; seq 1, 2, 3', T, async () => {
    const c = await createChat(srv.url, 'msgs');
    for (let seq = 1; seq <= 3; seq++) {
      const r = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body: `hello ${seq}` });
      assert.equal(r.status, 201, r.text);
      assert.match(r.headers.get('content-type') || '', /^application\/json/);
      assertMessageShape(r.json, { chatId: c.id, seq, author: 'Ada', body: `hello ${seq}` });
    }
    const chat = await getChat(srv.url, c.id);
    assert.equal(chat.last_event_id, 3, 'one durable event per message');
    assert.deepEqual(chat.messages.map((m) => m.seq), [1, 2, 3]);
  });

  test('seq is per chat', T, async () => {
    const a = await createChat(srv.url, 'A');
    const b = await createChat(srv.url, 'B');
    assert.equal((await postMessage(srv.url, a.id, 'x')).seq, 1);
    assert.equal((await postMessage(srv.url, a.id, 'y')).seq, 2);
    assert.equal((await postMessage(srv.url, b.id, 'z')).seq, 1);
  });

  test('concurrent posts get distinct consecutive seqs', T, async () => {
    const c = await createChat(srv.url, 'concurrent');
    const ms = await Promise.all(Array.from({ length: 20 }, (_, i) => postMessage(srv.url, c.id, `c${i}`)));
    assert.deepEqual(ms.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1));
    const chat = await getChat(srv.url, c.id);
    assert.equal(chat.last_event_id, 20);
  });

  test('body is kept exactly: unicode, newlines, markup, spaces', T, async () => {
    const c = await createChat(srv.url, 'exact');
    const bodies = [
      'line one\nline two\n\n  indented\ttab',
      'emoji 🦜 and ünïcödé, 日本語',
      '<b>not bold</b> & "quotes" \'single\'',
      '  leading and trailing spaces  ',
      'crlf\r\nline',
    ];
    // Line endings are stored as \n (CONTRACT-NOTES: browsers submit textareas with CRLF,
    // and SSE cannot carry a CR inside data); everything else is kept byte for byte.
    const norm = (b) => b.replace(/\r\n?/g, '\n');
    const stored = [];
    for (const body of bodies) {
      const m = await postMessage(srv.url, c.id, body, 'Grace');
      assert.equal(m.body, norm(body), `body kept: ${JSON.stringify(m.body)} vs ${JSON.stringify(body)}`);
      stored.push(m.body);
    }
    const r = await api(srv.url, 'GET', `/api/v1/chats/${c.id}/messages`);
    assert.deepEqual(r.json.messages.map((m) => m.body), stored, 'GET returns what POST returned');
  });

  test('author: 64 chars ok, 65 is 422 author; missing/blank/wrong type 422 author', T, async () => {
    const c = await createChat(srv.url, 'authors');
    const ok = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'a'.repeat(64), body: 'x' });
    assert.equal(ok.status, 201, ok.text);
    const ok2 = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'é'.repeat(64), body: 'x' });
    assert.equal(ok2.status, 201, `64 two-byte characters are 64 characters: ${ok2.text}`);
    for (const author of ['a'.repeat(65), '', '   ', 7, null, undefined]) {
      const r = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author, body: 'x' });
      const e = assertError(r, 422, `author ${JSON.stringify(author)}`);
      assert.match(e.detail, /author/, `detail names author: ${e.detail}`);
    }
    const chat = await getChat(srv.url, c.id);
    assert.equal(chat.messages.length, 2, 'no partial data');
    assert.equal(chat.last_event_id, 2);
  });

  test('body: missing/blank/wrong type 422 body', T, async () => {
    const c = await createChat(srv.url, 'bodies');
    for (const body of ['', '  \n\t ', 12, null, undefined, ['x']]) {
      const r = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body });
      const e = assertError(r, 422, `body ${JSON.stringify(body)}`);
      assert.match(e.detail, /body/, `detail names body: ${e.detail}`);
    }
    assert.equal((await getChat(srv.url, c.id)).messages.length, 0);
  });

  test('body: exactly 16 KiB of UTF-8 ok, one byte more is 413', T, async () => {
    const c = await createChat(srv.url, 'sizes');
    const ok = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body: 'é'.repeat(8192) });
    assert.equal(ok.status, 201, `16384 bytes: ${ok.text.slice(0, 200)}`);
    assert.equal(ok.json.body, 'é'.repeat(8192));
    const big = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body: 'é'.repeat(8192) + 'x' });
    assertError(big, 413, '16385 bytes');
    const big2 = await api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body: 'a'.repeat(16385) });
    assertError(big2, 413, '16385 ascii bytes');
    const chat = await getChat(srv.url, c.id);
    assert.equal(chat.messages.length, 1);
  });

  test('unknown chat is 404', T, async () => {
    assertError(await api(srv.url, 'POST', '/api/v1/chats/zzzzzzzzzzzz/messages', { author: 'a', body: 'b' }), 404);
    assertError(await api(srv.url, 'GET', '/api/v1/chats/zzzzzzzzzzzz/messages'), 404);
  });
});

describe('GET messages: after and limit', () => {
  let chat;
  before(async () => {
    chat = await createChat(srv.url, 'many');
    await postMany(srv.url, chat.id, 520, { concurrency: 8, body: (i) => `m${i}` });
  });

  const get = async (q) => {
    const r = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages${q}`);
    assert.equal(r.status, 200, `${q}: ${r.text.slice(0, 200)}`);
    assert.ok(Array.isArray(r.json.messages));
    return r.json.messages.map((m) => m.seq);
  };

  test('default: the first 100, oldest first', T, async () => {
    assert.deepEqual(await get(''), range(1, 100));
  });
  test('after=SEQ gives seq > SEQ', T, async () => {
    assert.deepEqual(await get('?after=10&limit=5'), range(11, 15));
    assert.deepEqual(await get('?after=510'), range(511, 520));
    assert.deepEqual(await get('?after=520'), []);
    assert.deepEqual(await get('?after=9999'), []);
    assert.deepEqual(await get('?after=0&limit=3'), [1, 2, 3]);
  });
  test('limit clamps to 1..500', T, async () => {
    assert.deepEqual(await get('?limit=0'), [1]);
    assert.deepEqual(await get('?limit=1'), [1]);
    assert.deepEqual(await get('?limit=500'), range(1, 500));
    assert.deepEqual(await get('?limit=501'), range(1, 500));
    assert.deepEqual(await get('?limit=100000'), range(1, 500));
    assert.deepEqual(await get('?after=400&limit=1000'), range(401, 520));
  });
  test('non-integer after/limit is 422', T, async () => {
    for (const q of ['?limit=abc', '?limit=-1', '?after=-3', '?after=x', '?limit=1.5']) {
      const r = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages${q}`);
      const e = assertError(r, 422, q);
      const field = q.startsWith('?limit') ? 'limit' : 'after';
      assert.match(e.detail, new RegExp(field), `${q}: detail names ${field}: ${e.detail}`);
    }
  });
  test('GET chat holds the last 50 messages, oldest first', T, async () => {
    const c = await getChat(srv.url, chat.id);
    assert.deepEqual(c.messages.map((m) => m.seq), range(471, 520));
    assert.equal(c.last_event_id, 520);
    for (const m of c.messages) assert.match(m.body, /^m\d+$/);
  });
});

test('chat ids in messages match', T, async () => {
  const c = await createChat(srv.url, 'ids');
  const m = await postMessage(srv.url, c.id, 'x');
  assert.match(m.chat_id, ID_RE);
  assert.equal(m.chat_id, c.id);
});

// Posts that arrive together are committed together (one SQLite commit per loop
// iteration, CONTRACT-NOTES "Group commit"): each still gets its own 201 once it is
// durable, and every stream sees its chat's messages in order, without gaps.
test('posts arriving together from 8 clients to 4 chats: each 201 matches what the streams show, in order', T, async () => {
  const chats = await Promise.all([0, 1, 2, 3].map((i) => createChat(srv.url, `together ${i}`)));
  const streams = await Promise.all(chats.map(async (c) => srv.track(await openSnapshotStream(srv.url, jsonStreamPath(c.id)))));
  const acked = chats.map(() => []);
  await Promise.all(
    Array.from({ length: 8 }, async (_, c) => {
      for (let k = 0; k < 10; k++) {
        const i = (c + k) % 4;
        const r = await api(srv.url, 'POST', `/api/v1/chats/${chats[i].id}/messages`, { author: `C${c}`, body: `c${c} k${k}` });
        assert.equal(r.status, 201, r.text);
        acked[i].push(r.json);
      }
    }),
  );
  for (let i = 0; i < 4; i++) {
    assert.equal(acked[i].length, 20);
    const evs = (await waitForEvents(streams[i], 21)).slice(1);
    assert.deepEqual(evs.map((e) => e.event), Array(20).fill('message'));
    assert.deepEqual(evs.map((e) => Number(e.id)), range(1, 20), `chat ${i}: event ids in order`);
    assert.deepEqual(evs.map((e) => e.json.seq), range(1, 20), `chat ${i}: seqs in order`);
    const bySeq = new Map(acked[i].map((m) => [m.seq, m]));
    for (const e of evs) assert.deepEqual(e.json, bySeq.get(e.json.seq), `chat ${i}: the 201 and the event agree`);
    const c = await getChat(srv.url, chats[i].id);
    assert.equal(c.last_event_id, 20);
  }
});

/* POSTs sent on n open connections in the same instant; resolves to their status codes. */
async function postAllAtOnce(port, chatId, n) {
  const socks = await Promise.all(
    Array.from({ length: n }, () => new Promise((resolve, reject) => {
      const sock = net.connect(port, '127.0.0.1', () => resolve(sock));
      sock.on('error', reject);
    })),
  );
  const answers = socks.map((sock) => new Promise((resolve) => {
    let raw = '';
    sock.setEncoding('latin1').on('data', (d) => {
      raw += d;
      const head = raw.indexOf('\r\n\r\n');
      const len = /content-length: *(\d+)/i.exec(raw);
      if (head >= 0 && len && raw.length >= head + 4 + Number(len[1])) {
        sock.destroy();
        resolve(Number(raw.slice(9, 12)));
      }
    });
  }));
  socks.forEach((sock, i) => {
    const body = JSON.stringify({ author: 'Ada', body: `together ${i}` });
    sock.write(`POST /api/v1/chats/${chatId}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });
  return Promise.all(answers);
}

test('posts that arrive in the same instant share commits (parley_post_commits_total)', T, async () => {
  const c = await createChat(srv.url, 'same instant');
  const m0 = await metrics(srv.url);
  const statuses = await postAllAtOnce(srv.port, c.id, 16);
  assert.deepEqual(statuses, Array(16).fill(201));
  const m1 = await metrics(srv.url);
  const posts = m1.get('parley_posts_committed_total') - m0.get('parley_posts_committed_total');
  const commits = m1.get('parley_post_commits_total') - m0.get('parley_post_commits_total');
  console.log(`same instant: 16 posts in ${commits} commits`);
  assert.equal(posts, 16);
  assert.ok(commits >= 1 && commits < 16, `16 posts took ${commits} commits`);
  const got = await api(srv.url, 'GET', `/api/v1/chats/${c.id}/messages`);
  assert.deepEqual(got.json.messages.map((m) => m.seq), Array.from({ length: 16 }, (_, i) => i + 1));
});
