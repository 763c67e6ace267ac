// Who may do what (SPEC §7): every route without credentials (401 or a redirect to the sign-in
// page, nothing changed), chats that do not exist for non-members, cross-site requests
// refused for cookies (and proxy headers) but not for Bearer tokens, the proxy and none modes.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  withServer,
  startServer,
  runParley,
  api,
  postForm,
  assertError,
  openStream,
  rawRequest,
  ID_RE,
} from './helpers.mjs';
import {
  useAccountsServer,
  admin,
  newUser,
  newToken,
  trySignIn,
  assertSameResponse,
  setupLine,
  ADMIN,
} from './account_helpers.mjs';

const T = { timeout: 30000 };
const srv = useAccountsServer();
const NOWHERE = 'zzzzzzzzzzzz'; // a chat id that exists nowhere

let a; // the admin
let b; // a user with a chat, a bot, a message, a token
let c; // a user who is a member of nothing of b's
let fx; // b's things

before(async () => {
  await srv.ready();
  a = await admin(srv.url);
  b = await newUser(a);
  c = await newUser(a);
  const bot = await b.ok('POST', '/api/v1/bots', { name: `Echo${b.user.name}`, backend: 'echo' });
  const chat = await b.createChat('b private', { bots: [bot.id], policy: 'manual' });
  await b.post(chat.id, 'hello from b');
  const tok = await newToken(b, 'b script');
  fx = { bot, chat, tok };
});

/** Everything a request could change, as the admin sees it. */
async function everything() {
  const chats = (await a.get('/api/v1/chats')).chats;
  const per = [];
  for (const ch of chats) {
    per.push({
      chat: await a.get(`/api/v1/chats/${ch.id}`),
      messages: (await a.get(`/api/v1/chats/${ch.id}/messages?limit=500`)).messages,
      members: (await a.get(`/api/v1/chats/${ch.id}/members`)).members,
    });
  }
  return {
    chats,
    per,
    bots: (await a.get('/api/v1/bots')).bots,
    users: (await a.get('/api/v1/users')).users,
    bTokens: (await b.get('/api/v1/tokens')).tokens,
    bMe: await b.get('/api/v1/me'),
  };
}

const form = { 'Content-Type': 'application/x-www-form-urlencoded' };

describe('without credentials', () => {
  // [method, path, body, kind]: kind 'api' → 401 sign in; 'stream' → 401; 'page' → 303 to /login?next=PATH
  const routes = () => {
    const ch = fx.chat.id;
    const bot = fx.bot.id;
    return [
      ['GET', '/api/v1/chats', undefined, 'api'],
      ['POST', '/api/v1/chats', { title: 'anonymous' }, 'api'],
      ['GET', `/api/v1/chats/${ch}`, undefined, 'api'],
      ['PATCH', `/api/v1/chats/${ch}`, { title: 'renamed' }, 'api'],
      ['DELETE', `/api/v1/chats/${ch}`, undefined, 'api'],
      ['GET', `/api/v1/chats/${ch}/messages`, undefined, 'api'],
      ['POST', `/api/v1/chats/${ch}/messages`, { author: 'Anon', body: 'sneaky' }, 'api'],
      ['POST', `/api/v1/chats/${ch}/turn`, { bot: bot }, 'api'],
      ['POST', `/api/v1/chats/${ch}/stop`, {}, 'api'],
      ['GET', '/api/v1/bots', undefined, 'api'],
      ['POST', '/api/v1/bots', { name: 'AnonBot', backend: 'echo' }, 'api'],
      ['GET', `/api/v1/bots/${bot}`, undefined, 'api'],
      ['PATCH', `/api/v1/bots/${bot}`, { persona: 'changed' }, 'api'],
      ['DELETE', `/api/v1/bots/${bot}`, undefined, 'api'],
      ['GET', '/api/v1/me', undefined, 'api'],
      ['GET', '/api/v1/users', undefined, 'api'],
      ['POST', '/api/v1/users', { name: 'intruder', password: 'intruder-pw-1', admin: true }, 'api'],
      ['PATCH', `/api/v1/users/${b.user.id}`, { display_name: 'Owned', admin: true }, 'api'],
      ['DELETE', `/api/v1/users/${b.user.id}`, undefined, 'api'],
      ['GET', '/api/v1/tokens', undefined, 'api'],
      ['POST', '/api/v1/tokens', { name: 'stolen' }, 'api'],
      ['DELETE', `/api/v1/tokens/${fx.tok.id}`, undefined, 'api'],
      ['GET', `/api/v1/chats/${ch}/members`, undefined, 'api'],
      ['POST', `/api/v1/chats/${ch}/members`, { user: c.user.name }, 'api'],
      ['DELETE', `/api/v1/chats/${ch}/members/${b.user.id}`, undefined, 'api'],
      ['POST', `/api/v1/chats/${ch}/invites`, {}, 'api'],
      ['GET', `/api/v1/chats/${ch}/events`, undefined, 'stream'],
      ['GET', `/chats/${ch}/events`, undefined, 'stream'],
      ['GET', '/', undefined, 'page'],
      ['GET', `/chats/${ch}`, undefined, 'page'],
      ['GET', '/bots', undefined, 'page'],
      ['POST', '/chats', 'title=anonymous', 'page'],
      ['POST', `/chats/${ch}/messages`, 'author=Anon&body=sneaky', 'page'],
      ['POST', `/chats/${ch}/stop`, '', 'page'],
      ['POST', `/chats/${ch}/settings`, 'title=renamed&bots_given=1', 'page'],
      ['POST', '/bots', 'name=AnonBot2&backend=echo', 'page'],
      ['POST', `/bots/${bot}`, 'name=Renamed&backend=echo', 'page'],
      ['POST', `/bots/${bot}/delete`, '', 'page'],
    ];
  };

  async function sweep(headers, what) {
    const before = await everything();
    for (const [method, p, body, kind] of routes()) {
      const h = { 'Sec-Fetch-Site': 'same-origin', ...headers, ...(kind === 'page' && method === 'POST' ? form : {}) };
      const label = `${what}: ${method} ${p}`;
      if (kind === 'stream') {
        const s = await openStream(srv.url, p, { headers });
        await s.waitEnd(3000);
        assert.equal(s.status, 401, `${label}: ${s.status} ${s.body}`);
        assert.deepEqual(JSON.parse(s.body), { detail: 'sign in' }, label);
        continue;
      }
      const r = await api(srv.url, method, p, body, { headers: h });
      if (kind === 'api') {
        assertError(r, 401, label);
        assert.deepEqual(r.json, { detail: 'sign in' }, label);
      } else {
        assert.equal(r.status, 303, `${label}: ${r.status} ${r.text.slice(0, 200)}`);
        const loc = r.headers.get('location') || '';
        const u = new URL(loc, srv.url);
        assert.equal(u.origin + u.pathname, `${srv.url}/login`, `${label}: Location ${loc}`);
        assert.equal(u.searchParams.get('next'), p, `${label}: next in ${loc}`);
      }
      assert.equal(r.headers.get('set-cookie'), null, `${label}: no cookie handed out`);
    }
    assert.deepEqual(await everything(), before, `${what}: nothing changed`);
  }

  test('every route answers 401 (API, streams) or 303 to /login?next=PATH (pages), and nothing changes', T, async () => {
    await sweep({}, 'no credentials');
  });

  test('an unknown session cookie or Bearer token counts as none', T, async () => {
    await sweep({ Cookie: 'parley_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'unknown cookie');
    await sweep({ Authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }, 'unknown token');
    await sweep({ Authorization: 'Basic YWRhOmFkYS1zZWNyZXQtcHctMQ==' }, 'Basic credentials');
  });

  test('open routes: /healthz, /static, sign in, sign out, setup; /metrics from a trusted proxy address', T, async () => {
    const h = await api(srv.url, 'GET', '/healthz');
    assert.equal(h.status, 200);
    assert.deepEqual(h.json, { status: 'ok' });
    const css = await api(srv.url, 'GET', '/static/app.css');
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type'), /^text\/css/);
    const wrong = await trySignIn(srv.url, ADMIN.name, 'not the password');
    assertError(wrong, 401);
    assert.deepEqual(wrong.json, { detail: 'wrong name or password' });
    const out = await api(srv.url, 'DELETE', '/api/v1/session', undefined, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
    assert.ok(out.status === 204, `sign out without a session: ${out.status} ${out.text}`);
    const setup = await api(srv.url, 'POST', '/api/v1/setup', { token: 'x'.repeat(32), name: 'mallory', password: 'mallory-pw-1' }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
    assertError(setup, 404);
    assert.deepEqual(setup.json, { detail: 'no setup is waiting for that token' });
    // the sign-in and setup pages never send one to sign in (whatever they show)
    for (const p of ['/login', '/login?next=/bots', '/setup']) {
      const r = await api(srv.url, 'GET', p);
      assert.ok(r.status !== 401 && r.status !== 303 && r.status < 500, `GET ${p} without credentials: ${r.status}`);
    }
    const m = await api(srv.url, 'GET', '/metrics');
    assert.equal(m.status, 200, '127.0.0.1 is a trusted proxy address by default');
    assert.match(m.text, /parley_sse_subscribers/);
  });

  test('/metrics from an address that is not a trusted proxy: 403', T, async () => {
    await withServer({ auth: 'accounts', args: ['--trusted-proxy', '10.0.0.0/8'], env: { PARLEY_ADMIN: 'ada', PARLEY_ADMIN_PASSWORD: ADMIN.password } }, async (s) => {
      assertError(await api(s.url, 'GET', '/metrics'), 403);
      assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
    });
  });
});

describe('choosing the mode', () => {
  test('accounts is the default; PARLEY_AUTH chooses another', T, async () => {
    await withServer({ auth: null }, async (s) => {
      assert.match(s.stdout(), /^parley setup: /m, 'accounts: no user yet, a setup line');
      assertError(await api(s.url, 'GET', '/api/v1/chats'), 401);
    });
    await withServer({ auth: null, env: { PARLEY_AUTH: 'proxy' } }, async (s) => {
      const r = await api(s.url, 'GET', '/api/v1/me', undefined, { headers: { 'X-Forwarded-User': 'pat' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.name, 'pat');
    });
    await withServer({ auth: 'accounts', env: { PARLEY_AUTH: 'none' } }, async (s) => {
      assertError(await api(s.url, 'GET', '/api/v1/chats'), 401, 'the flag beats its variable');
    });
  });
});

describe('a chat exists only for its members (and admins)', () => {
  const same = async (method, suffix, body, what) => {
    const real = await c.api(method, `/api/v1/chats/${fx.chat.id}${suffix}`, body);
    const none = await c.api(method, `/api/v1/chats/${NOWHERE}${suffix}`, body);
    assertError(real, 404, what);
    assert.deepEqual(real.json, { detail: 'chat not found' }, what);
    assertSameResponse(real, none, what);
  };

  test('a non-member gets the same 404 as for a chat that does not exist, and nothing changes', T, async () => {
    const before = await everything();
    await same('GET', '', undefined, 'GET chat');
    await same('PATCH', '', { title: 'taken over' }, 'PATCH chat');
    await same('DELETE', '', undefined, 'DELETE chat');
    await same('GET', '/messages', undefined, 'GET messages');
    await same('POST', '/messages', { body: 'intrusion' }, 'POST message');
    await same('POST', '/turn', { bot: fx.bot.id }, 'POST turn');
    await same('POST', '/stop', {}, 'POST stop');
    await same('GET', '/members', undefined, 'GET members');
    await same('POST', '/members', { user: c.user.id }, 'POST members (adding oneself)');
    await same('DELETE', `/members/${b.user.id}`, undefined, 'DELETE member');
    await same('POST', '/invites', {}, 'POST invites');
    for (const p of [(id) => `/api/v1/chats/${id}/events`, (id) => `/chats/${id}/events`]) {
      const real = await c.stream(p(fx.chat.id));
      const none = await c.stream(p(NOWHERE));
      await real.waitEnd(3000);
      await none.waitEnd(3000);
      assert.equal(real.status, 404, `${p(fx.chat.id)}: ${real.status}`);
      assert.deepEqual(JSON.parse(real.body), { detail: 'chat not found' });
      assertSameResponse(real, none, `stream ${p('ID')}`);
    }
    // the pages: 404 as for a chat that does not exist
    for (const [method, p, body] of [['GET', (id) => `/chats/${id}`], ['POST', (id) => `/chats/${id}/messages`, 'body=intrusion']]) {
      const real = await c.api(method, p(fx.chat.id), body, { headers: body ? form : {} });
      const none = await c.api(method, p(NOWHERE), body, { headers: body ? form : {} });
      assert.equal(real.status, 404, `${method} ${p('ID')}: ${real.status}`);
      assert.equal(none.status, 404);
    }
    // the same through a Bearer token of the non-member
    const ct = await newToken(c);
    const viaToken = await ct.client.api('GET', `/api/v1/chats/${fx.chat.id}`);
    assertSameResponse(viaToken, await ct.client.api('GET', `/api/v1/chats/${NOWHERE}`), 'GET chat by token');
    assert.deepEqual(await everything(), before, 'nothing changed');
  });

  test('lists show one\'s own chats; an admin sees and may use every chat', T, async () => {
    const cChat = await c.createChat('c only');
    const bIds = (await b.get('/api/v1/chats')).chats.map((x) => x.id);
    const cIds = (await c.get('/api/v1/chats')).chats.map((x) => x.id);
    assert.ok(bIds.includes(fx.chat.id));
    assert.ok(!bIds.includes(cChat.id), 'b does not see c\'s chat');
    assert.deepEqual(cIds, [cChat.id], 'c sees only their own chat');
    const all = (await a.get('/api/v1/chats')).chats.map((x) => x.id);
    assert.ok(all.includes(fx.chat.id) && all.includes(cChat.id), 'the admin sees every chat');
    // the admin is no member of c's chat and still reads it
    assert.equal((await a.get(`/api/v1/chats/${cChat.id}`)).id, cChat.id);
    const members = (await a.get(`/api/v1/chats/${cChat.id}/members`)).members;
    assert.deepEqual(members.map((m) => m.id), [c.user.id], 'the creator is the first and only member');
    // the home page lists c's chat for c and not for b
    const homeB = await b.api('GET', '/');
    assert.equal(homeB.status, 200);
    assert.ok(!homeB.text.includes(cChat.id), 'b\'s home page does not link c\'s chat');
    assert.ok((await c.api('GET', '/')).text.includes(cChat.id), 'c\'s home page links it');
  });
});

describe('cross-site requests', () => {
  const REFUSED = { detail: 'cross-site request refused' };
  let chat; // b's chat for these tests
  before(async () => {
    chat = await b.createChat('csrf target');
  });

  // [label, (client, headers) => request]; each changes something when allowed
  const cases = () => [
    ['POST /api/v1/chats', (x, h) => x.api('POST', '/api/v1/chats', { title: 'csrf' }, { headers: h }), 201],
    ['POST messages', (x, h) => x.api('POST', `/api/v1/chats/${chat.id}/messages`, { body: 'csrf' }, { headers: h }), 201],
    ['PATCH chat', (x, h) => x.api('PATCH', `/api/v1/chats/${chat.id}`, { title: `csrf ${Math.random()}` }, { headers: h }), 200],
    ['POST bots', (x, h) => x.api('POST', '/api/v1/bots', { name: `Csrf${Math.floor(Math.random() * 1e9)}`, backend: 'echo' }, { headers: h }), 201],
    ['POST tokens', (x, h) => x.api('POST', '/api/v1/tokens', { name: 'csrf' }, { headers: h }), 201],
    ['POST members', (x, h) => x.api('POST', `/api/v1/chats/${chat.id}/members`, { user: c.user.name }, { headers: h }), 201],
    ['POST invites', (x, h) => x.api('POST', `/api/v1/chats/${chat.id}/invites`, {}, { headers: h }), 201],
    ['form POST /chats', (x, h) => x.form('/chats', { title: 'csrf form' }, { headers: h }), 303],
    ['form POST /chats/ID/messages', (x, h) => x.form(`/chats/${chat.id}/messages`, { body: 'csrf form' }, { headers: h }), 303],
  ];

  const refusals = () => [
    ['Sec-Fetch-Site: cross-site', { 'Sec-Fetch-Site': 'cross-site' }],
    ['Sec-Fetch-Site: same-site', { 'Sec-Fetch-Site': 'same-site' }],
    ['a foreign Origin', { 'Sec-Fetch-Site': null, Origin: 'http://evil.example' }],
    ['an Origin on another port', { 'Sec-Fetch-Site': null, Origin: 'http://127.0.0.1:1' }],
    ['another scheme in Origin', { 'Sec-Fetch-Site': null, Origin: srv.url.replace('http:', 'https:') }],
    ['Origin: null', { 'Sec-Fetch-Site': null, Origin: 'null' }],
    ['neither header', { 'Sec-Fetch-Site': null }],
    ['cross-site even with our own Origin', { 'Sec-Fetch-Site': 'cross-site', Origin: srv.url }],
  ];

  test('cookie-authenticated changes without same-origin proof are refused (403), nothing changes', T, async () => {
    const target = await b.createChat('csrf delete target');
    const before = await everything();
    for (const [label, send] of [
      ...cases(),
      ['DELETE chat', (x, h) => x.api('DELETE', `/api/v1/chats/${target.id}`, undefined, { headers: h })],
      ['DELETE session', (x, h) => x.api('DELETE', '/api/v1/session', undefined, { headers: h })],
    ]) {
      for (const [how, h] of refusals()) {
        const r = await send(b, h);
        const what = `${label} with ${how}`;
        assert.equal(r.status, 403, `${what}: ${r.status} ${r.text.slice(0, 200)}`);
        if (!label.startsWith('form')) assert.deepEqual(JSON.parse(r.text), REFUSED, what);
        assert.equal(r.headers.get('set-cookie'), null, `${what}: no cookie change`);
      }
    }
    assert.deepEqual(await everything(), before, 'nothing changed');
  });

  test('the same changes pass with Sec-Fetch-Site same-origin or none, our own Origin, or a Bearer token', T, async () => {
    const allowed = [
      ['Sec-Fetch-Site: same-origin', b, {}],
      ['Sec-Fetch-Site: none', b, { 'Sec-Fetch-Site': 'none' }],
      ['our own Origin', b, { 'Sec-Fetch-Site': null, Origin: srv.url }],
      ['a Bearer token, no headers', fx.tok.client, {}],
      ['a Bearer token, even cross-site', fx.tok.client, { 'Sec-Fetch-Site': 'cross-site', Origin: 'http://evil.example' }],
    ];
    for (const [how, who, h] of allowed) {
      for (const [label, send, ok] of cases()) {
        if (label.startsWith('form') && who.token) continue; // pages are for browsers
        const r = await send(who, h);
        assert.equal(r.status, ok, `${label} with ${how}: ${r.status} ${r.text.slice(0, 200)}`);
      }
      const doomed = await b.createChat('to delete');
      const del = await who.api('DELETE', `/api/v1/chats/${doomed.id}`, undefined, { headers: h });
      assert.equal(del.status, 204, `DELETE chat with ${how}: ${del.status} ${del.text}`);
      assertError(await b.api('GET', `/api/v1/chats/${doomed.id}`), 404);
    }
    // signing out with same-origin proof works: that session is dead
    const again = await newUser(a);
    const out = await again.api('DELETE', '/api/v1/session');
    assert.equal(out.status, 204);
    assertError(await again.api('GET', '/api/v1/me'), 401);
  });

  test('signing in from another site is refused (login CSRF), no cookie', T, async () => {
    for (const h of [{ 'Sec-Fetch-Site': 'cross-site' }, { Origin: 'http://evil.example' }]) {
      const r = await trySignIn(srv.url, ADMIN.name, ADMIN.password, h);
      assertError(r, 403, JSON.stringify(h));
      assert.deepEqual(r.json, REFUSED);
      assert.equal(r.headers.get('set-cookie'), null);
    }
  });
});

describe('--auth proxy', () => {
  const psrv = useServer({ auth: 'proxy' });
  const as = (name, extra = {}) => ({ 'X-Forwarded-User': name, 'Sec-Fetch-Site': 'same-origin', ...extra });

  test('the header sent twice (a proxy that adds it to the client\'s instead of replacing it) names nobody: 401', T, async () => {
    await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as('zoe') }); // zoe exists
    const twice = await rawRequest(psrv.port, 'GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-User: zoe\r\nX-Forwarded-User: mallory\r\nConnection: close\r\n\r\n');
    assert.equal(twice.status, 401, twice.body);
    const once = await rawRequest(psrv.port, 'GET /api/v1/me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Forwarded-User: zoe\r\nConnection: close\r\n\r\n');
    assert.equal(once.status, 200, once.body);
  });

  test('the trusted header names the user, created on first sight; the first is an admin', T, async () => {
    const z = await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as('zoe') });
    assert.equal(z.status, 200, z.text);
    assert.equal(z.json.name, 'zoe');
    assert.equal(z.json.admin, true, 'the first user is an admin');
    assert.match(z.json.id, ID_RE);
    const y = await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as('yan') });
    assert.equal(y.json.name, 'yan');
    assert.equal(y.json.admin, false, 'the second is not');
    const z2 = await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as('zoe') });
    assert.deepEqual(z2.json, z.json, 'the same user the second time');
    const users = (await api(psrv.url, 'GET', '/api/v1/users', undefined, { headers: as('zoe') })).json.users;
    assert.deepEqual(users.map((u) => u.name).sort(), ['yan', 'zoe']);
    // their messages are theirs
    const chat = await api(psrv.url, 'POST', '/api/v1/chats', { title: 'proxied' }, { headers: as('zoe') });
    assert.equal(chat.status, 201, chat.text);
    const m = await api(psrv.url, 'POST', `/api/v1/chats/${chat.json.id}/messages`, { author: 'Someone', body: 'hi' }, { headers: as('zoe') });
    assert.equal(m.status, 201, m.text);
    assert.equal(m.json.user_id, z.json.id);
    assert.equal(m.json.author, 'zoe');
    // yan is no member of zoe's chat
    assertError(await api(psrv.url, 'GET', `/api/v1/chats/${chat.json.id}`, undefined, { headers: as('yan') }), 404);
  });

  test('a name that is someone\'s id is a name: a new user, not that someone', T, async () => {
    const z = (await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as('zoe') })).json;
    assert.equal(z.admin, true);
    const other = await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as(z.id) });
    assert.equal(other.status, 200, other.text);
    assert.equal(other.json.name, z.id);
    assert.notEqual(other.json.id, z.id, 'not zoe');
    assert.equal(other.json.admin, false);
    assertError(await api(psrv.url, 'POST', '/api/v1/users', { name: 'mallory', password: 'long-enough-pw', admin: true }, { headers: as(z.id) }), 403);
  });

  test('no header or an invalid name: 401; the header is an ambient credential (cross-site refused)', T, async () => {
    assertError(await api(psrv.url, 'GET', '/api/v1/me'), 401);
    for (const bad of ['bad name!', 'x'.repeat(33), '../etc', 'a,b']) {
      const r = await api(psrv.url, 'GET', '/api/v1/me', undefined, { headers: as(bad) });
      assertError(r, 401, bad);
    }
    const before = (await api(psrv.url, 'GET', '/api/v1/chats', undefined, { headers: as('zoe') })).json.chats.length;
    for (const h of [{ 'Sec-Fetch-Site': 'cross-site' }, { 'Sec-Fetch-Site': null, Origin: 'http://evil.example' }]) {
      const headers = { ...as('zoe'), ...h };
      for (const k of Object.keys(headers)) if (headers[k] === null) delete headers[k];
      const r = await api(psrv.url, 'POST', '/api/v1/chats', { title: 'csrf' }, { headers });
      assertError(r, 403, JSON.stringify(h));
      assert.deepEqual(r.json, { detail: 'cross-site request refused' });
    }
    assert.equal((await api(psrv.url, 'GET', '/api/v1/chats', undefined, { headers: as('zoe') })).json.chats.length, before, 'nothing created');
  });

  test('from a peer that is not a trusted proxy the header is ignored (401)', T, async () => {
    await withServer({ auth: 'proxy', args: ['--trusted-proxy', '10.0.0.0/8'] }, async (s) => {
      for (const p of ['/api/v1/me', '/api/v1/chats']) {
        const r = await api(s.url, 'GET', p, undefined, { headers: as('zoe') });
        assertError(r, 401, p);
        assert.deepEqual(r.json, { detail: 'sign in' });
      }
      const post = await api(s.url, 'POST', '/api/v1/chats', { title: 'x' }, { headers: as('zoe') });
      assertError(post, 401);
    });
  });

  test('--auth-header names another header; the default one is then ignored', T, async () => {
    await withServer({ auth: 'proxy', args: ['--auth-header', 'X-Remote-User'] }, async (s) => {
      const r = await api(s.url, 'GET', '/api/v1/me', undefined, { headers: { 'X-Remote-User': 'kim' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.name, 'kim');
      assertError(await api(s.url, 'GET', '/api/v1/me', undefined, { headers: { 'X-Forwarded-User': 'lee' } }), 401);
    });
  });
});

describe('--auth none', () => {
  test('refused unless --listen is a loopback address (exit 2, one line naming the problem)', T, async () => {
    const r = await runParley(['serve', '--listen', '0.0.0.0:0', '--auth', 'none', '--db', ':memory:'], { timeout: 5000 });
    assert.equal(r.timedOut, false, `it started: ${r.stdout}`);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, '', 'no listening line');
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.stderr}`);
    assert.match(lines[0], /--auth none/);
    assert.match(lines[0], /loopback/);
  });

  test('on loopback: anyone may do anything, author from the request, no user_id', T, async () => {
    await withServer({ auth: 'none' }, async (s) => {
      const chat = await api(s.url, 'POST', '/api/v1/chats', { title: 'open' });
      assert.equal(chat.status, 201, chat.text);
      const m = await api(s.url, 'POST', `/api/v1/chats/${chat.json.id}/messages`, { author: 'Grace', body: 'hi' });
      assert.equal(m.status, 201, m.text);
      assert.equal(m.json.author, 'Grace');
      assert.ok(!('user_id' in m.json), `no user_id key: ${m.text}`);
      const listed = (await api(s.url, 'GET', `/api/v1/chats/${chat.json.id}/messages`)).json.messages;
      assert.ok(!('user_id' in listed[0]), 'nor in lists');
      assertError(await api(s.url, 'POST', `/api/v1/chats/${chat.json.id}/messages`, { body: 'no author' }), 422);
      const page = await postForm(s.url, '/chats', { title: 'form' });
      assert.equal(page.status, 303, 'no sign-in redirect: the chat is created');
      assert.match(page.headers.get('location'), /^\/chats\/[a-z0-9]{12}$/);
    });
  });

  test('there are no accounts: making a user, signing in, tokens → 404 {"detail"}; a later --auth accounts still waits for its first admin', T, async () => {
    const s = await startServer({ auth: 'none' });
    try {
      const evil = { name: 'evil', password: 'long-enough-pw-1', admin: true };
      for (const [method, p, body] of [
        ['POST', '/api/v1/users', evil],
        ['POST', '/api/v1/session', { name: 'evil', password: evil.password }],
        ['GET', '/api/v1/users'],
        ['GET', '/api/v1/tokens'],
        ['POST', '/api/v1/tokens', { name: 'script' }],
        ['DELETE', '/api/v1/tokens/zzzzzzzzzzzz'],
      ]) {
        const r = await api(s.url, method, p, body);
        assertError(r, 404, `${method} ${p}:`);
        assert.equal(r.json.detail, 'there are no accounts (--auth none)', `${method} ${p}`);
      }
      const form = await postForm(s.url, '/admin/users', { name: 'evil2', password: evil.password, admin: '1' });
      assert.equal(form.status, 404, 'the users form: nobody to add');
    } finally {
      await s.stop('SIGTERM', { keepDb: true });
    }
    const later = await startServer({ auth: 'accounts', db: s.db });
    try {
      assert.ok(setupLine(later.stdout()), `no user was made: the setup link is offered: ${later.stdout()}`);
    } finally {
      await later.stop();
      s.cleanupDb();
    }
  });
});
