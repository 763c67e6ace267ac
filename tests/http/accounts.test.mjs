// Accounts (SPEC §7): signing in and out, the session cookie and its flags, users (create,
// list, change, delete, the last admin), API tokens, the first admin from the printed setup
// link, and messages that carry their author's account.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, api, assertError, rawRequest, parsedEvent, ID_RE, RFC3339_UTC_RE } from './helpers.mjs';
import {
  ADMIN,
  useAccountsServer,
  accountsOptions,
  admin,
  newUser,
  newToken,
  signIn,
  trySignIn,
  sessionCookie,
  setupLine,
  setupFromLink,
  assertSameResponse,
  uniqueUser,
  Client,
} from './account_helpers.mjs';

const T = { timeout: 30000 };
const srv = useAccountsServer();
const SECRET_RE = /^[A-Za-z0-9_-]{22,}$/; // ≥ 128 bits, URL-safe
const USER_KEYS = ['admin', 'created_at', 'display_name', 'id', 'name'];

let a;
before(async () => {
  await srv.ready();
  a = await admin(srv.url);
});

function assertUser(u, { name, display_name = name, admin: isAdmin = false }, what = 'user') {
  assert.deepEqual(Object.keys(u).sort(), USER_KEYS, `${what}: keys of ${JSON.stringify(u)}`);
  assert.match(u.id, ID_RE);
  assert.equal(u.name, name);
  assert.equal(u.display_name, display_name);
  assert.equal(u.admin, isAdmin);
  assert.match(u.created_at, RFC3339_UTC_RE);
}

/** The flags every session cookie carries. */
function assertCookieFlags(c, { secure }, what = 'cookie') {
  assert.ok(c, `${what}: a parley_session cookie`);
  assert.equal(c.attrs.httponly, true, `${what}: HttpOnly in ${c.raw}`);
  assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', `${what}: SameSite=Lax in ${c.raw}`);
  assert.equal(c.attrs.path, '/', `${what}: Path=/ in ${c.raw}`);
  assert.equal(c.attrs.secure === true, secure, `${what}: Secure ${secure ? '' : 'not '}expected in ${c.raw}`);
}

describe('signing in and out', () => {
  test('sign in: 200 User and a session cookie (HttpOnly, SameSite=Lax, Path=/); /me is that user', T, async () => {
    const r = await trySignIn(srv.url, ADMIN.name, ADMIN.password);
    assert.equal(r.status, 200, r.text);
    assertUser(r.json, { name: ADMIN.name, admin: true });
    const c = sessionCookie(r);
    assertCookieFlags(c, { secure: false });
    assert.equal(c.attrs['max-age'], '34560000');
    assert.match(c.value, SECRET_RE, 'a session id of at least 128 bits');
    const me = await new Client(srv.url, { cookie: c.pair }).api('GET', '/api/v1/me');
    assert.equal(me.status, 200);
    assert.deepEqual(me.json, r.json);
    // every sign-in is a new session
    const again = sessionCookie(await trySignIn(srv.url, ADMIN.name, ADMIN.password));
    assert.notEqual(again.value, c.value);
  });

  test('an unknown name and a wrong password get the same 401; no cookie', T, async () => {
    const wrong = await trySignIn(srv.url, ADMIN.name, 'wrong password!');
    const unknown = await trySignIn(srv.url, 'nosuchperson', 'wrong password!');
    assertError(wrong, 401);
    assert.deepEqual(wrong.json, { detail: 'wrong name or password' });
    assertSameResponse(wrong, unknown, 'wrong password vs unknown name');
    assert.equal(wrong.headers.get('set-cookie'), null);
    // a password that differs only in case, or a prefix, is wrong
    assertError(await trySignIn(srv.url, ADMIN.name, ADMIN.password.toUpperCase()), 401);
    assertError(await trySignIn(srv.url, ADMIN.name, ADMIN.password.slice(0, -1)), 401);
  });

  test('one signs in by name: a user\'s id, or a spelling PostgreSQL would fold into a name, is nobody (401)', T, async () => {
    const k = await newUser(a, `kim${Date.now() % 100000}`);
    assert.equal((await trySignIn(srv.url, k.user.name.toUpperCase(), k.password)).status, 200, 'any letter case');
    assertError(await trySignIn(srv.url, k.user.id, k.password), 401);
    assertError(await trySignIn(srv.url, `\u212a${k.user.name.slice(1)}`, k.password), 401); // KELVIN SIGN
  });

  test('DELETE /api/v1/session with a Bearer token: 422 (a token is revoked), and the token still works', T, async () => {
    const t = await newToken(a, 'not a session');
    const r = await t.client.api('DELETE', '/api/v1/session');
    assertError(r, 422);
    assert.match(r.json.detail, /tokens/);
    assert.equal((await t.client.api('GET', '/api/v1/me')).status, 200);
  });

  test('sign out: 204, the cookie cleared (Max-Age=0), the session dead; another session lives', T, async () => {
    const b = await newUser(a);
    const b2 = await signIn(srv.url, b.user.name, b.password);
    const r = await b.api('DELETE', '/api/v1/session');
    assert.equal(r.status, 204, r.text);
    const cleared = sessionCookie(r);
    assert.ok(cleared, 'the cookie is cleared');
    assert.equal(cleared.value, '');
    assert.equal(cleared.attrs['max-age'], '0');
    assertCookieFlags(cleared, { secure: false }, 'clearing cookie');
    const me = await b.api('GET', '/api/v1/me');
    assertError(me, 401);
    assert.deepEqual(me.json, { detail: 'sign in' });
    assert.equal((await b2.api('GET', '/api/v1/me')).status, 200, 'the other session lives');
  });
});

describe('the Secure flag', () => {
  const body = JSON.stringify({ name: ADMIN.name, password: ADMIN.password });
  const raw = (host, extra = '') =>
    `POST /api/v1/session HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\nSec-Fetch-Site: same-origin\r\n${extra}Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;

  test('with an https:// --public-url', T, async () => {
    await withServer(accountsOptions({ args: ['--public-url', 'https://chat.example.org'] }), async (s) => {
      const r = await rawRequest(s.port, raw('chat.example.org'));
      assert.equal(r.status, 200, r.body);
      assertCookieFlags(sessionCookie(r), { secure: true });
    });
  });

  test('with X-Forwarded-Proto: https from a trusted proxy, not from another peer', T, async () => {
    const r = await rawRequest(srv.port, raw(`127.0.0.1:${srv.port}`, 'X-Forwarded-Proto: https\r\n'));
    assert.equal(r.status, 200, r.body);
    assertCookieFlags(sessionCookie(r), { secure: true }, '127.0.0.1 trusted by default');
    await withServer(accountsOptions({ args: ['--trusted-proxy', '10.0.0.0/8'] }), async (s) => {
      const u = await rawRequest(s.port, raw(`127.0.0.1:${s.port}`, 'X-Forwarded-Proto: https\r\n'));
      assert.equal(u.status, 200, u.body);
      assertCookieFlags(sessionCookie(u), { secure: false }, 'untrusted peer');
    });
  });
});

describe('users', () => {
  test('an admin creates users (201); names are unique in any case (409); bad fields 422', T, async () => {
    const name = uniqueUser('cre');
    const r = await a.api('POST', '/api/v1/users', { name, password: 'eight888' });
    assert.equal(r.status, 201, r.text);
    assertUser(r.json, { name });
    const named = await a.ok('POST', '/api/v1/users', { name: uniqueUser('dn'), password: 'p'.repeat(256), display_name: 'Émile Zola 🚀', admin: true });
    assert.equal(named.display_name, 'Émile Zola 🚀');
    assert.equal(named.admin, true);
    const edge = 'A.b_c-' + 'x'.repeat(26);
    assert.equal((await a.ok('POST', '/api/v1/users', { name: edge, password: 'password', display_name: 'd'.repeat(64) })).name, edge);
    for (const taken of [name, name.toUpperCase(), ADMIN.name.toUpperCase(), edge.toLowerCase()]) {
      const t = await a.api('POST', '/api/v1/users', { name: taken, password: 'password1' });
      assertError(t, 409, taken);
    }
    const bad = [
      [{ name: 'has space', password: 'password1' }, /^name/],
      [{ name: 'x'.repeat(33), password: 'password1' }, /^name/],
      [{ name: '', password: 'password1' }, /^name/],
      [{ name: 'émile', password: 'password1' }, /^name/],
      [{ name: 'a/b', password: 'password1' }, /^name/],
      [{ password: 'password1' }, /^name/],
      [{ name: uniqueUser('p'), password: 'seven77' }, /^password/],
      [{ name: uniqueUser('p'), password: 'p'.repeat(257) }, /^password/],
      [{ name: uniqueUser('p') }, /^password/],
      [{ name: uniqueUser('p'), password: 12345678 }, /^password/],
      [{ name: uniqueUser('d'), password: 'password1', display_name: 'd'.repeat(65) }, /^display_name/],
      [{ name: uniqueUser('d'), password: 'password1', display_name: '' }, /^display_name/],
      [{ name: uniqueUser('d'), password: 'password1', admin: 'yes' }, /^admin/],
    ];
    const before = (await a.get('/api/v1/users')).users.length;
    for (const [body, field] of bad) {
      const e = assertError(await a.api('POST', '/api/v1/users', body), 422, JSON.stringify(body));
      assert.match(e.detail, field, JSON.stringify(body));
    }
    assert.equal((await a.get('/api/v1/users')).users.length, before, 'nothing created');
  });

  test('anyone signed in lists users; only an admin creates them', T, async () => {
    const b = await newUser(a);
    const list = await b.get('/api/v1/users');
    assert.deepEqual(Object.keys(list), ['users']);
    assert.ok(list.users.some((u) => u.id === a.user.id) && list.users.some((u) => u.id === b.user.id));
    for (const u of list.users) assert.deepEqual(Object.keys(u).sort(), USER_KEYS, 'no password or hash in a User');
    const r = await b.api('POST', '/api/v1/users', { name: uniqueUser('no'), password: 'password1' });
    assertError(r, 403);
    assert.equal((await b.get('/api/v1/users')).users.length, list.users.length);
  });

  test('a user changes their display name and, with the old one, their password', T, async () => {
    const b = await newUser(a);
    const p = (body, who = b) => who.api('PATCH', `/api/v1/users/${b.user.id}`, body);
    const r = await p({ display_name: 'Bee Bee' });
    assert.equal(r.status, 200, r.text);
    assertUser(r.json, { name: b.user.name, display_name: 'Bee Bee' });
    assert.match(assertError(await p({ display_name: 'x'.repeat(65) }), 422).detail, /^display_name/);
    // the password: old_password required and checked
    assert.match(assertError(await p({ password: 'brand-new-pw' }), 422).detail, /old_password/);
    const wrong = await p({ password: 'brand-new-pw', old_password: 'not-it-at-all' });
    assert.ok(wrong.status === 403 || wrong.status === 422, `wrong old_password: ${wrong.status}`);
    assert.match(assertError(wrong, wrong.status).detail, /old_password/);
    assert.match(assertError(await p({ password: 'short', old_password: b.password }), 422).detail, /^password/);
    assertError(await trySignIn(srv.url, b.user.name, 'brand-new-pw'), 401, 'nothing changed yet');
    assert.equal((await p({ password: 'brand-new-pw', old_password: b.password })).status, 200);
    assertError(await trySignIn(srv.url, b.user.name, b.password), 401, 'the old password');
    await signIn(srv.url, b.user.name, 'brand-new-pw');
    // an admin sets another's password without the old one
    assert.equal((await p({ password: 'admin-set-pw' }, a)).status, 200);
    await signIn(srv.url, b.user.name, 'admin-set-pw');
    // nobody else may change b
    const c = await newUser(a);
    assertError(await p({ display_name: 'Hijacked' }, c), 403);
    assertError(await p({ password: 'hijacked-pw', old_password: 'admin-set-pw' }, c), 403);
    assert.equal((await a.get('/api/v1/users')).users.find((u) => u.id === b.user.id).display_name, 'Bee Bee');
    assertError(await a.api('PATCH', '/api/v1/users/zzzzzzzzzzzz', { display_name: 'x' }), 404);
  });

  test('admin: only an admin grants it; the last admin stays one and cannot be deleted', T, async () => {
    await withServer(accountsOptions(), async (s) => {
      const root = await admin(s.url);
      const b = await newUser(root);
      assertError(await b.api('PATCH', `/api/v1/users/${b.user.id}`, { admin: true }), 403, 'non-admin grants themself');
      assert.equal((await b.get('/api/v1/me')).admin, false);
      assert.match(assertError(await root.api('PATCH', `/api/v1/users/${root.user.id}`, { admin: false }), 409).detail, /admin/);
      assertError(await root.api('DELETE', `/api/v1/users/${root.user.id}`), 409);
      const up = await root.api('PATCH', `/api/v1/users/${b.user.id}`, { admin: true });
      assert.equal(up.status, 200, up.text);
      assert.equal(up.json.admin, true);
      assert.equal((await b.get('/api/v1/me')).admin, true, 'at once, in the same session');
      await b.ok('POST', '/api/v1/users', { name: 'made-by-b', password: 'password1' });
      // two admins: one may step down; then the other is the last
      assert.equal((await root.api('PATCH', `/api/v1/users/${root.user.id}`, { admin: false })).json.admin, false);
      assertError(await root.api('POST', '/api/v1/users', { name: 'nope', password: 'password1' }), 403, 'no longer an admin');
      assertError(await b.api('PATCH', `/api/v1/users/${b.user.id}`, { admin: false }), 409);
      assertError(await b.api('DELETE', `/api/v1/users/${b.user.id}`), 409);
      assert.equal((await b.get('/api/v1/me')).admin, true);
    });
  });

  // A change with a password waits for its hash (about 60 ms); the other admin's change,
  // made meanwhile, must not leave nobody in charge.
  test('two admins stepping down at once (one change hashing a password): one stays an admin', T, async () => {
    await withServer(accountsOptions(), async (s) => {
      const root = await admin(s.url);
      const b = await newUser(root);
      await root.ok('PATCH', `/api/v1/users/${b.user.id}`, { admin: true }, 200);
      const [slow, fast] = await Promise.all([
        root.api('PATCH', `/api/v1/users/${b.user.id}`, { admin: false, password: 'a-new-password-for-b' }),
        (async () => { await new Promise((r) => setTimeout(r, 5)); return root.api('PATCH', `/api/v1/users/${root.user.id}`, { admin: false }); })(),
      ]);
      const statuses = [slow.status, fast.status].sort();
      assert.deepEqual(statuses, [200, 409], `one of them refused: ${slow.status} ${slow.text} / ${fast.status} ${fast.text}`);
      const admins = (await b.get('/api/v1/users')).users.filter((u) => u.admin);
      assert.equal(admins.length, 1, 'one administrator left');
    });
  });

  test('deleting a user: 204; their sessions and tokens die, their messages stay', T, async () => {
    const d = await newUser(a);
    const tok = await newToken(d);
    const chat = await d.createChat('d was here');
    const m = await d.post(chat.id, 'a message that outlives its author');
    const c = await newUser(a);
    assertError(await c.api('DELETE', `/api/v1/users/${d.user.id}`), 403, 'not an admin');
    assertError(await d.api('DELETE', `/api/v1/users/${a.user.id}`), 403);
    const r = await a.api('DELETE', `/api/v1/users/${d.user.id}`);
    assert.equal(r.status, 204, r.text);
    assertError(await d.api('GET', '/api/v1/me'), 401, 'their cookie');
    assertError(await tok.client.api('GET', '/api/v1/me'), 401, 'their token');
    assertError(await trySignIn(srv.url, d.user.name, d.password), 401, 'their password');
    assert.ok(!(await a.get('/api/v1/users')).users.some((u) => u.id === d.user.id), 'gone from the list');
    const msgs = (await a.get(`/api/v1/chats/${chat.id}/messages`)).messages;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].body, m.body);
    assert.equal(msgs[0].user_id, d.user.id);
    assert.equal(msgs[0].author, d.user.display_name);
    assertError(await a.api('DELETE', `/api/v1/users/${d.user.id}`), 404, 'deleted twice');
  });
});

describe('API tokens', () => {
  test('create (201, the secret once), list (never the secret), use as Bearer, revoke', T, async () => {
    const b = await newUser(a);
    const r = await b.api('POST', '/api/v1/tokens', { name: 'my script' });
    assert.equal(r.status, 201, r.text);
    assert.deepEqual(Object.keys(r.json).sort(), ['created_at', 'id', 'name', 'token']);
    assert.match(r.json.id, ID_RE);
    assert.equal(r.json.name, 'my script');
    assert.match(r.json.created_at, RFC3339_UTC_RE);
    assert.match(r.json.token, SECRET_RE);
    const list = await b.get('/api/v1/tokens');
    assert.deepEqual(list, { tokens: [{ id: r.json.id, name: 'my script', created_at: r.json.created_at }] });
    assert.ok(!JSON.stringify(list).includes(r.json.token));
    const bearer = new Client(srv.url, { token: r.json.token });
    assert.deepEqual(await bearer.get('/api/v1/me'), await b.get('/api/v1/me'), 'acts as that user');
    const chat = await bearer.createChat('by token');
    const m = await bearer.post(chat.id, 'by token');
    assert.equal(m.user_id, b.user.id);
    // another user neither sees nor revokes it
    const c = await newUser(a);
    assert.deepEqual(await c.get('/api/v1/tokens'), { tokens: [] });
    assertError(await c.api('DELETE', `/api/v1/tokens/${r.json.id}`), 404);
    assert.equal((await bearer.api('GET', '/api/v1/me')).status, 200);
    // bad names
    for (const body of [{}, { name: '' }, { name: 5 }]) assertError(await b.api('POST', '/api/v1/tokens', body), 422, JSON.stringify(body));
    // revoke
    assert.equal((await b.api('DELETE', `/api/v1/tokens/${r.json.id}`)).status, 204);
    assertError(await bearer.api('GET', '/api/v1/me'), 401);
    assert.deepEqual(await b.get('/api/v1/tokens'), { tokens: [] });
    assertError(await b.api('DELETE', `/api/v1/tokens/${r.json.id}`), 404, 'revoked twice');
    // a token cannot be used as a session cookie, nor a session id as a token
    const t2 = await newToken(b);
    assertError(await new Client(srv.url, { cookie: `parley_session=${t2.token}` }).api('GET', '/api/v1/me'), 401);
    assertError(await new Client(srv.url, { token: b.cookie.slice('parley_session='.length) }).api('GET', '/api/v1/me'), 401);
  });
});

describe('the first admin from the setup link', () => {
  test('no user yet: a setup line after the listening line; POST /api/v1/setup once; GET changes nothing', T, async () => {
    await withServer({ auth: 'accounts' }, async (s) => {
      const lines = s.stdout().split('\n');
      const line = setupLine(s.stdout());
      assert.ok(line, `setup line in ${JSON.stringify(s.stdout())}`);
      assert.equal(lines[1], `parley setup: ${s.url}/setup?token=${line.token}`, 'the line right after the listening line');
      assert.match(line.token, SECRET_RE);
      // opening the page is no setup
      for (const p of [`/setup?token=${line.token}`, `/setup?token=${line.token}`, '/setup']) {
        const g = await api(s.url, 'GET', p);
        assert.ok(g.status < 500, `GET ${p}: ${g.status}`);
        assert.ok(!(g.headers.get('location') || '').includes(line.token), 'never redirected to a URL with the token');
      }
      assertError(await trySignIn(s.url, 'ada', 'whatever-pw'), 401, 'nobody exists');
      const bad = await api(s.url, 'POST', '/api/v1/setup', { token: line.token.slice(0, -1) + (line.token.endsWith('A') ? 'B' : 'A'), name: 'eve', password: 'eve-password' }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
      assertError(bad, 404);
      assert.deepEqual(bad.json, { detail: 'no setup is waiting for that token' });
      const short = await api(s.url, 'POST', '/api/v1/setup', { token: line.token, name: 'grace', password: 'short' }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
      assert.match(assertError(short, 422).detail, /^password/, 'a bad password does not use the token up');
      const { client, res } = await setupFromLink(s, 'Grace', 'grace-password');
      assertUser(res.json, { name: 'Grace', admin: true });
      assertCookieFlags(sessionCookie(res), { secure: false });
      assert.deepEqual(await client.get('/api/v1/me'), res.json);
      const again = await api(s.url, 'POST', '/api/v1/setup', { token: line.token, name: 'mallory', password: 'mallory-pw' }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
      assertError(again, 404, 'used once');
      assert.deepEqual(again.json, { detail: 'no setup is waiting for that token' });
      assert.deepEqual((await client.get('/api/v1/users')).users.map((u) => u.name), ['Grace']);
      await signIn(s.url, 'grace', 'grace-password');
    });
  });

  test('with PARLEY_ADMIN and PARLEY_ADMIN_PASSWORD: that admin, and no setup line', T, async () => {
    assert.equal(setupLine(srv.stdout()), null, srv.stdout());
    assertUser(a.user, { name: ADMIN.name, admin: true });
  });
});

describe('messages carry their author\'s account', () => {
  test('author is the display name, a request\'s author is ignored, user_id is set; a new name shows on new messages', T, async () => {
    const b = await newUser(a, uniqueUser('msg'), { display_name: 'Bea' });
    const bot = await b.ok('POST', '/api/v1/bots', { name: `Echo${b.user.name.replace(/[^A-Za-z0-9]/g, '')}`, backend: 'echo' });
    const chat = await b.createChat('authors', { bots: [bot.id] });
    const s = srv.track(await b.readyStream(`/api/v1/chats/${chat.id}/events`));
    const m1 = await b.ok('POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Mallory', body: 'one' });
    assert.equal(m1.author, 'Bea');
    assert.equal(m1.user_id, b.user.id);
    assert.equal(m1.kind, 'person');
    // the bot's reply: user_id null
    await s.waitFor((st) => st.events.some((f) => f.event === 'message-update' && parsedEvent(f).json?.kind === 'bot' && parsedEvent(f).json?.state === 'complete'), 10000, 'the echo reply');
    const onStream = s.events.map(parsedEvent).filter((e) => e.event === 'message').map((e) => e.json);
    assert.equal(onStream[0].user_id, b.user.id, 'the stream carries user_id');
    assert.equal(onStream[0].author, 'Bea');
    const reply = onStream.find((x) => x.kind === 'bot');
    assert.ok(reply, 'a bot message on the stream');
    assert.equal(reply.user_id, null, 'a bot has no user_id');
    await b.ok('PATCH', `/api/v1/users/${b.user.id}`, { display_name: 'Beatrice' });
    const m2 = await b.ok('POST', `/api/v1/chats/${chat.id}/messages`, { body: 'two' });
    assert.equal(m2.author, 'Beatrice');
    assert.equal(m2.user_id, b.user.id);
    const listed = (await b.get(`/api/v1/chats/${chat.id}/messages`)).messages.filter((x) => x.kind === 'person');
    assert.deepEqual(listed.map((x) => [x.seq, x.user_id]), [[m1.seq, b.user.id], [m2.seq, b.user.id]]);
    // a form post from the page is authored the same way
    const f = await b.form(`/chats/${chat.id}/messages`, { author: 'Mallory', body: 'three' });
    assert.equal(f.status, 303, f.text.slice(0, 200));
    const last = (await b.get(`/api/v1/chats/${chat.id}/messages`)).messages.filter((x) => x.kind === 'person').pop();
    assert.equal(last.body, 'three');
    assert.equal(last.author, 'Beatrice');
    assert.equal(last.user_id, b.user.id);
  });
});

describe('bots: built-in for everyone signed in; model servers and deletion for admins', () => {
  test('a non-admin creates and edits a built-in bot, but cannot set a model server or delete', T, async () => {
    const b = await newUser(a);
    const name = `Own${b.user.name.replace(/[^A-Za-z0-9]/g, '')}`;
    const bot = await b.ok('POST', '/api/v1/bots', { name, backend: 'eliza' });
    assert.equal((await b.ok('PATCH', `/api/v1/bots/${bot.id}`, { persona: 'kind' })).persona, 'kind');
    const before = (await a.get('/api/v1/bots')).bots;
    assertError(await b.api('POST', '/api/v1/bots', { name: `${name}x`, backend: 'openai', base_url: 'http://127.0.0.1:9/v1' }), 403);
    assertError(await b.api('PATCH', `/api/v1/bots/${bot.id}`, { backend: 'openai', base_url: 'http://127.0.0.1:9/v1' }), 403);
    // a server and key set on a built-in bot would go with it once an admin made it an openai one
    for (const f of [{ base_url: 'http://127.0.0.1:9/v1' }, { api_key_env: 'PARLEY_KEY_OPENAI' }, { model: 'gpt-x' }]) {
      assertError(await b.api('PATCH', `/api/v1/bots/${bot.id}`, f), 403, `PATCH ${JSON.stringify(f)} of a built-in bot`);
      assertError(await b.api('POST', '/api/v1/bots', { name: `${name}y`, backend: 'echo', ...f }), 403, `POST an echo bot with ${JSON.stringify(f)}`);
    }
    assert.equal((await b.ok('PATCH', `/api/v1/bots/${bot.id}`, { base_url: null, model: null })).persona, 'kind', 'nulls (as the form sends) are no setting');
    assertError(await b.api('DELETE', `/api/v1/bots/${bot.id}`), 403);
    assert.deepEqual((await a.get('/api/v1/bots')).bots, before, 'nothing changed');
    const oai = await a.ok('POST', '/api/v1/bots', { name: `${name}o`, backend: 'openai', base_url: 'http://127.0.0.1:9/v1' });
    assertError(await b.api('PATCH', `/api/v1/bots/${oai.id}`, { base_url: 'http://127.0.0.1:10/v1' }), 403);
    assert.equal((await a.api('DELETE', `/api/v1/bots/${bot.id}`)).status, 204);
  });
});
