// The hostile cases found by trying Parley as a hostile client and environment would:
// keys sent only where meant (SPEC §2), bot URLs and what a failed reply says, replies that
// always end, the database file going away or read-only, paginated lists and clients that
// never read, strict HTTP framing, host names and page headers. No request here goes to an
// address off this machine: refused URLs are refused before any connection.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { execFileSync, spawnSync } from 'node:child_process';
import {
  useServer,
  useServerPool,
  withServer,
  runParley,
  api,
  assertError,
  createBot,
  createChat,
  uniqueName as uname,
  postMessage,
  openReadyStream,
  jsonStreamPath,
  parsedEvents,
  replies,
  rawRequest,
  freePort,
  sleep,
  eventually,
  onPostgres,
  waitIdle,
  postAndSettle,
} from './helpers.mjs';
import { startFakeOpenAI, httpError, streamReply, completionText } from './fake_openai.mjs';

const T = { timeout: 30000 };
const srv = useServer({ args: ['--typing-ms', '5', '--model-timeout', '5'] });
const pool = useServerPool();

const fake = async () => srv.track(await startFakeOpenAI());
const stream = async (server, chatId) => server.track(await openReadyStream(server.url, jsonStreamPath(chatId)));
const oaiBot = (server, baseUrl, extra = {}) =>
  createBot(server.url, { name: uname('Model'), backend: 'openai', base_url: baseUrl, ...extra });

/** The one reply of a flow started by posting `text` to a new chat with `bot`. */
async function oneReply(bot, text = 'hello') {
  const chat = await createChat(srv.url, 'hardening', { bots: [bot.id] });
  const s = await stream(srv, chat.id);
  const rs = replies(await postAndSettle(srv.url, s, chat.id, text, 'Ada', 15000));
  assert.equal(rs.length, 1, 'one reply');
  assert.ok(rs[0].update, 'the reply ended');
  return rs[0].update;
}

// ---------------------------------------------------------------------------

describe('API keys go only where they are meant to (SPEC §2)', () => {
  test('only PARLEY_KEY_* variables may be named, at creation and on PATCH', T, async () => {
    for (const bad of ['HOME', 'PATH', 'PARLEY_DB', 'AWS_SECRET_ACCESS_KEY', 'PARLEY_KEY_']) {
      const r = await api(srv.url, 'POST', '/api/v1/bots', { name: uname('K'), backend: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key_env: bad });
      assert.match(assertError(r, 422, bad).detail, /^api_key_env/);
    }
    const b = await oaiBot(srv, 'http://127.0.0.1:9/v1', { api_key_env: 'PARLEY_KEY_OK' });
    assert.equal(b.api_key_env, 'PARLEY_KEY_OK');
    assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { api_key_env: 'HOME' }), 422);
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${b.id}`)).json.api_key_env, 'PARLEY_KEY_OK');
  });

  test('a new base_url drops the key variable unless the same request names it', T, async () => {
    const b = await oaiBot(srv, 'http://127.0.0.1:9/v1', { api_key_env: 'PARLEY_KEY_A' });
    let r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { base_url: 'http://127.0.0.1:9/v1', persona: 'same url' });
    assert.equal(r.json.api_key_env, 'PARLEY_KEY_A', 'the same base_url keeps it');
    r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { base_url: 'http://127.0.0.1:10/v1' });
    assert.equal(r.status, 200);
    assert.equal(r.json.api_key_env, null, 'moved: the key stays behind');
    r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { base_url: 'http://127.0.0.1:11/v1', api_key_env: 'PARLEY_KEY_B' });
    assert.equal(r.json.api_key_env, 'PARLEY_KEY_B', 'named in the same request: kept');
    // the bots page form goes through the same rule
    const form = new URLSearchParams({ name: b.name, backend: 'openai', base_url: 'http://127.0.0.1:12/v1', persona: '', model: '', temperature: '0.7', max_tokens: '512', talkativeness: '0.5' });
    const res = await fetch(`${srv.url}/bots/${b.id}`, { method: 'POST', body: form, redirect: 'manual', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(res.status, 303);
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${b.id}`)).json.api_key_env, null);
  });
});

describe('bot URLs', () => {
  const refused = [
    'http://169.254.169.254/latest/meta-data',
    'http://169.254.1.1:8080/v1',
    'http://[fe80::1]/v1',
    'http://[fd00:ec2::254]/v1',
    'http://[::ffff:169.254.169.254]/v1',
    'http://user:pw@127.0.0.1:9/v1',
    'http://127.0.0.1:9/v1#frag',
    'http://127.0.0.1:9/v1?api-version=1', // the path goes after it: /v1?api-version=1/chat/completions
    'ftp://127.0.0.1/v1',
    'http:///v1',
  ];

  test('link-local and metadata addresses, credentials, fragments and queries are refused (422, nothing changed)', T, async () => {
    const before = (await api(srv.url, 'GET', '/api/v1/bots')).json.bots.length;
    for (const url of refused) {
      const r = await api(srv.url, 'POST', '/api/v1/bots', { name: uname('U'), backend: 'openai', base_url: url });
      assert.match(assertError(r, 422, url).detail, /^base_url/, url);
    }
    assert.equal((await api(srv.url, 'GET', '/api/v1/bots')).json.bots.length, before, 'nothing created');
    const b = await oaiBot(srv, 'http://127.0.0.1:9/v1');
    for (const url of refused) assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { base_url: url }), 422, url);
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${b.id}`)).json.base_url, 'http://127.0.0.1:9/v1');
  });

  test('loopback, private networks and names stay allowed (local model servers)', T, async () => {
    for (const url of ['http://127.0.0.1:8000/v1', 'http://localhost:11434/v1', 'http://10.1.2.3:8000/v1', 'http://[::1]:8000/v1', 'https://api.example.org/v1'])
      assert.equal((await oaiBot(srv, url)).base_url, url);
  });

  test('--allow-link-local lets them through (created only: no request is made)', T, async () => {
    await withServer({ args: ['--allow-link-local'] }, async (s) => {
      const r = await api(s.url, 'POST', '/api/v1/bots', { name: 'Meta', backend: 'openai', base_url: 'http://169.254.169.254/v1' });
      assert.equal(r.status, 201, r.text);
    });
  });
});

describe('what a failed reply says: what a user needs, never a foreign body', () => {
  test('a closed port: "could not be reached"', T, async () => {
    const u = await oneReply(await oaiBot(srv, `http://127.0.0.1:${await freePort()}/v1`));
    assert.equal(u.state, 'failed');
    assert.equal(u.error, 'the model server could not be reached');
  });

  test('an HTTP error: its status, and of a body only a JSON error\'s short message', T, async () => {
    const f = await fake();
    f.enqueue((req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html>internal admin console SECRET-PAGE</html>');
    });
    const u = await oneReply(await oaiBot(srv, f.baseUrl));
    assert.equal(u.error, 'the model server answered 404');
    f.enqueue(httpError(500, { error: { message: `${'é'.repeat(300)}\nline two` } }));
    const v = await oneReply(await oaiBot(srv, f.baseUrl));
    assert.equal(v.state, 'failed');
    assert.match(v.error, /^the model server answered 500: é+$/);
    assert.ok(v.error.length <= 160, `short: ${v.error.length} characters`);
  });

  test('an error answer without a body still names its status', T, async () => {
    const f = await fake();
    f.enqueue((req, res) => {
      res.writeHead(503, { 'Content-Length': '0' });
      res.end();
    });
    assert.equal((await oneReply(await oaiBot(srv, f.baseUrl))).error, 'the model server answered 503');
  });

  test('an error inside the stream cut mid-character still ends the reply, as valid text', T, async () => {
    const f = await fake();
    f.enqueue((req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.end(`data: {"choices":[{"delta":{"content":"ok "}}]}\n\ndata: {"error":{"message":"${'€'.repeat(200)}"}}\n\n`);
    });
    const u = await oneReply(await oaiBot(srv, f.baseUrl));
    assert.equal(u.state, 'failed');
    assert.equal(u.body, 'ok ');
    assert.match(u.error, /^model server error: €+$/);
  });

  test('one token over 64 KiB: the reply is cut there, on a character boundary, and kept', T, async () => {
    const f = await fake();
    f.enqueue(streamReply(['start ', '€'.repeat(23000)]));
    const u = await oneReply(await oaiBot(srv, f.baseUrl));
    assert.equal(u.state, 'failed');
    assert.match(u.error, /too long/);
    const bytes = Buffer.byteLength(u.body);
    assert.ok(bytes <= 65536 && bytes > 65536 - 4, `cut at 64 KiB: ${bytes} bytes`);
    assert.ok(u.body.startsWith('start €'));
    assert.ok(!u.body.includes('\ufffd'), 'no broken character');
  });
});

describe('every reply ends, whatever fails', () => {
  test('a disk that fills during a reply: the tabs see it end at once, and it is stored once there is room', { ...T, skip: onPostgres() && 'SQLite file only: a full disk is a size limit on the database file Parley writes' }, async () => {
    const f = await fake();
    let open;
    const gate = new Promise((r) => (open = r));
    f.enqueue(async (req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      res.write(completionText(['partial '], { finish: false, usage: false, done: false }));
      await gate;
      res.end(completionText(['words']));
    });
    const s = await pool.start({ db: pool.freshDb('full-'), args: ['--typing-ms', '5'], fsizeLimit: 768 * 1024 });
    const bot = await oaiBot(s, f.baseUrl);
    const chat = await createChat(s.url, 'full disk', { bots: [bot.id], policy: 'manual' });
    const st = pool.track(await openReadyStream(s.url, jsonStreamPath(chat.id)));
    assert.equal((await api(s.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bot.id })).status, 202);
    await st.waitFor(() => parsedEvents(st).some((e) => e.event === 'token'), 5000, 'the first token');
    let failed = null;
    for (let i = 0; i < 200 && !failed; i++) {
      const r = await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: `${i} ${'x'.repeat(16000)}` });
      if (r.status !== 201) failed = r;
    }
    assert.ok(failed, 'the disk filled up');
    assertError(failed, failed.status);
    const seq = replies(parsedEvents(st))[0].seq;
    open();
    // shown ended at once (without an id: not stored yet), and not left streaming
    await st.waitFor(() => parsedEvents(st).some((e) => e.event === 'message-update' && e.json?.seq === seq && e.json.state === 'complete'), 5000, 'the reply shown ended');
    const shown = (await api(s.url, 'GET', `/api/v1/chats/${chat.id}`)).json.messages.find((m) => m.seq === seq);
    assert.equal(shown.state, 'complete');
    assert.equal(shown.body, 'partial words');
    // room again: the end is stored, as a durable event
    execFileSync('prlimit', ['--pid', String(s.proc.pid), '--fsize=unlimited:unlimited']);
    await st.waitFor(() => parsedEvents(st).some((e) => e.event === 'message-update' && e.id !== undefined && e.json?.seq === seq && e.json.state === 'complete'), 8000, 'the stored end');
    await pool.stop(s);
    const again = await pool.start({ db: s.db });
    const stored = (await api(again.url, 'GET', `/api/v1/chats/${chat.id}`)).json.messages.find((m) => m.seq === seq);
    assert.equal(stored.state, 'complete');
    assert.equal(stored.body, 'partial words');
    await pool.stop(again);
  });
});

describe('the database file', () => {
  test('removed under a running server: writes are refused (503), /healthz fails, the log says so', { ...T, skip: onPostgres() && 'SQLite file only: removes the database file' }, async () => {
    const s = await pool.start({ db: pool.freshDb('gone-') });
    const chat = await createChat(s.url, 'doomed');
    await postMessage(s.url, chat.id, 'before');
    for (const suffix of ['', '-wal', '-shm']) fs.rmSync(s.db + suffix, { force: true });
    const r = await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: 'after' });
    assertError(r, 503);
    assertError(await api(s.url, 'POST', '/api/v1/chats', { title: 'new' }), 503);
    await eventually(async () => (await api(s.url, 'GET', '/healthz')).status === 503, { timeout: 5000, what: '/healthz 503' });
    assert.match(s.stderr(), /REMOVED OR REPLACED/);
    await pool.stop(s);
  });

  test('read-only: the server does not start, and names the path', { ...T, skip: onPostgres() && 'SQLite file only: a read-only database file' }, async () => {
    const db = pool.freshDb('ro-');
    const first = await pool.start({ db });
    await createChat(first.url, 'x');
    await pool.stop(first);
    const bin = path.resolve(process.env.PARLEY_BIN || 'build/asan/parley');
    let r;
    if (process.getuid() === 0) {
      // root writes through file modes: make the file a read-only mount instead
      const sh = `mount --bind -o ro "$1" "$1" && exec "$0" serve --listen 127.0.0.1:0 --db "$1"`;
      r = spawnSync('unshare', ['-m', 'sh', '-c', sh, bin, db], { encoding: 'utf8', timeout: 10000 });
    } else {
      fs.chmodSync(db, 0o444);
      r = spawnSync(bin, ['serve', '--listen', '127.0.0.1:0', '--db', db], { encoding: 'utf8', timeout: 10000 });
    }
    assert.equal(r.status, 1, `exit status (stderr: ${r.stderr})`);
    assert.ok(r.stderr.includes(db), `names the path: ${r.stderr}`);
    assert.match(r.stderr, /cannot be written|read-only/);
  });
});

describe('lists are paginated; clients that never read hold nothing', () => {
  test('GET /api/v1/chats: limit and a cursor, newest first, every chat once', T, async () => {
    await withServer({}, async (s) => {
      const made = [];
      for (let i = 0; i < 120; i++) made.push((await createChat(s.url, `chat ${i}`)).id);
      const first = await api(s.url, 'GET', '/api/v1/chats');
      assert.equal(first.json.chats.length, 100, 'default limit');
      assert.equal(typeof first.json.next, 'string');
      const seen = [];
      let next = null;
      do {
        const r = await api(s.url, 'GET', `/api/v1/chats?limit=50${next ? `&before=${next}` : ''}`);
        assert.equal(r.status, 200);
        seen.push(...r.json.chats.map((c) => c.id));
        next = r.json.next;
      } while (next);
      assert.deepEqual(seen, made.slice().reverse(), 'all, newest first, once');
      assert.equal((await api(s.url, 'GET', '/api/v1/chats?limit=0')).json.chats.length, 1);
      assert.deepEqual((await api(s.url, 'GET', '/api/v1/chats?before=nosuchchat00')).json, { chats: [], next: null });
      assertError(await api(s.url, 'GET', '/api/v1/chats?limit=many'), 422);
      // the page lists by last activity (none here: by creation, newest first), 50 at a time
      const page = await (await fetch(`${s.url}/`)).text();
      assert.equal((page.match(/href="\/chats\//g) || []).length, 50, 'the page shows 50');
      const more = /href="\/\?offset=(\d+)"/.exec(page);
      assert.ok(more, 'an "Older chats" link');
      assert.equal(more[1], '50');
      const page2 = await (await fetch(`${s.url}/?offset=${more[1]}`)).text();
      assert.ok(page2.includes(`/chats/${made[69]}`) && !page2.includes(`/chats/${made[70]}"`));
    });
  });

  test('connections that never read their answers are cut off', { timeout: 60000 }, async () => {
    await withServer({}, async (s) => {
      const chat = await createChat(s.url, 'big');
      for (let i = 0; i < 500; i++) await postMessage(s.url, chat.id, `${i} ${'y'.repeat(16000)}`);
      const fds = () => fs.readdirSync(`/proc/${s.proc.pid}/fd`).length;
      const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${s.proc.pid}/status`, 'utf8'))[1]);
      const baseFds = fds();
      const socks = [];
      for (let i = 0; i < 8; i++) {
        const sock = net.connect(s.port, '127.0.0.1');
        sock.on('error', () => {});
        sock.pause(); // never read: each answer (8 MB) is more than the kernel's buffers take
        sock.write(`GET /api/v1/chats/${chat.id}/messages?limit=500 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
        socks.push(sock);
      }
      await eventually(() => fds() >= baseFds + 8, { timeout: 5000, what: 'the connections open' });
      // the answers wait in the server's memory (the allocator keeps the pages, so RSS
      // only shows them arrive); closing a connection frees what it held
      await eventually(() => rssKiB() > 40 * 1024, { timeout: 30000, what: 'the answers queued' });
      await eventually(() => fds() <= baseFds, { timeout: 20000, interval: 250, what: 'the stuck connections cut off' });
      assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
      for (const sock of socks) sock.destroy();
    });
  });
});

describe('HTTP framing, read strictly', () => {
  test('Transfer-Encoding with a space before the colon, beside Content-Length: 400, and the smuggled request never runs', T, async () => {
    const chat = await createChat(srv.url, 'smuggle');
    const inner = `POST /api/v1/chats/${chat.id}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 30\r\n\r\n{"author":"x","body":"smuggled"}`;
    const body = `0\r\n\r\n${inner}`;
    const r = await rawRequest(srv.port, `POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding : chunked\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
    assertError(r, 400);
    await sleep(200);
    assert.equal((await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages`)).json.messages.length, 0);
  });

  test('HTTP/1.1 without Host, a header name with a space, obs-fold: 400 with a JSON detail', T, async () => {
    for (const req of ['GET /healthz HTTP/1.1\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\n\r\n', 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: 1\r\n folded\r\n\r\n'])
      assertError(await rawRequest(srv.port, req), 400, JSON.stringify(req));
  });

  test('a chunk extension is valid and ignored', T, async () => {
    const chat = await createChat(srv.url, 'ext');
    const body = '{"author":"Ada","body":"with an extension"}';
    const r = await rawRequest(srv.port, `POST /api/v1/chats/${chat.id}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)};name="value"\r\n${body}\r\n0\r\n\r\n`);
    assert.equal(r.status, 201, r.body);
    assert.equal(JSON.parse(r.body).body, 'with an extension');
  });

  test('every refusal of the wire is Parley\'s own JSON', T, async () => {
    const cases = [
      [`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'a'.repeat(300 * 1024)}\r\n\r\n`, 431],
      [`POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${2 * 1024 * 1024}\r\n\r\n`, 413],
      ['TRACE / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 501],
      ['\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n', 400],
      ['GET http://[ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n', 400],
    ];
    for (const [req, status] of cases) {
      const r = await rawRequest(srv.port, req);
      assertError(r, status, JSON.stringify(req.slice(0, 40)));
      assert.doesNotMatch(r.body, /<html/i);
    }
  });
});

describe('host names and pages', () => {
  test('a Host the server is not known by is refused (421): no DNS rebinding', T, async () => {
    for (const p of ['/', '/api/v1/chats', '/bots']) {
      const r = await rawRequest(srv.port, `GET ${p} HTTP/1.1\r\nHost: rebind.attacker.example:${srv.port}\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 421, p);
    }
    for (const host of [`127.0.0.1:x@evil.example`, `127.0.0.1:${srv.port}x`, 'localhost:123456']) {
      const r = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 421, `a port that is no port: ${host}`);
    }
    for (const host of [`127.0.0.1:${srv.port}`, `localhost:${srv.port}`, 'localhost', `[::1]:${srv.port}`]) {
      const r = await rawRequest(srv.port, `GET /healthz HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`);
      assert.equal(r.status, 200, host);
    }
    // a target in absolute form names the host as well: it is held to the same rule
    const host = `Host: 127.0.0.1:${srv.port}\r\nConnection: close\r\n\r\n`;
    const foreign = await rawRequest(srv.port, `GET http://rebind.attacker.example/api/v1/chats HTTP/1.1\r\n${host}`);
    assert.equal(foreign.status, 421, 'absolute form, a foreign authority');
    const own = await rawRequest(srv.port, `GET http://127.0.0.1:${srv.port}/healthz HTTP/1.1\r\n${host}`);
    assert.equal(own.status, 200, 'absolute form, our own authority');
    await withServer({ args: ['--public-url', 'https://chat.example.org/'] }, async (s) => {
      const ok = await rawRequest(s.port, 'GET /healthz HTTP/1.1\r\nHost: chat.example.org\r\nConnection: close\r\n\r\n');
      assert.equal(ok.status, 200);
      const no = await rawRequest(s.port, 'GET /healthz HTTP/1.1\r\nHost: chat.example.net\r\nConnection: close\r\n\r\n');
      assert.equal(no.status, 421);
    });
  });

  test('pages cannot be framed and run only the server\'s own scripts; nothing is sniffed', T, async () => {
    const chat = await createChat(srv.url, 'headers');
    for (const p of ['/', '/bots', `/chats/${chat.id}`, '/chats/nosuchchat00']) {
      const r = await fetch(srv.url + p);
      assert.match(r.headers.get('content-security-policy') || '', /frame-ancestors 'none'/, p);
      assert.match(r.headers.get('content-security-policy'), /script-src 'self'/, p);
      assert.equal(r.headers.get('x-frame-options'), 'DENY', p);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', p);
      const html = await r.text();
      assert.doesNotMatch(html, /<script>|<script [^>]*>[^<]/, `${p}: no inline script`);
    }
    const j = await fetch(`${srv.url}/api/v1/chats`);
    assert.equal(j.headers.get('x-content-type-options'), 'nosniff');
  });

  test('the JSON API takes only JSON bodies (415): a cross-site text/plain form cannot post', T, async () => {
    const before = (await api(srv.url, 'GET', '/api/v1/chats?limit=500')).json.chats.length;
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x'])
      assertError(await api(srv.url, 'POST', '/api/v1/chats', '{"title":"sneaky"}', { headers: { 'Content-Type': type } }), 415, type);
    assert.equal((await api(srv.url, 'GET', '/api/v1/chats?limit=500')).json.chats.length, before);
    assert.equal((await api(srv.url, 'POST', '/api/v1/chats', '{"title":"ok"}', { headers: { 'Content-Type': 'application/json; charset=utf-8' } })).status, 201);
  });
});
