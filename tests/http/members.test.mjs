// Chat members and invites (SPEC §7), and revocation: signing out, deleting a user, revoking a
// token and removing a member end the matching open streams (a last `deleted` event naming the
// reason, then the end) within a second, and no other stream.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, assertError, parsedEvent, RFC3339_UTC_RE } from './helpers.mjs';
import { useAccountsServer, admin, newUser, newToken, signIn, endsWithin } from './account_helpers.mjs';

const T = { timeout: 30000 };
const srv = useAccountsServer();
const TOKEN_RE = /^[A-Za-z0-9_-]{22,}$/; // ≥ 128 bits, URL-safe

let a;
before(async () => {
  await srv.ready();
  a = await admin(srv.url);
});

const json = (id) => `/api/v1/chats/${id}/events`;
const html = (id) => `/chats/${id}/events`;

/** Stream `s` is still open and live: a message `poster` posts to `chatId` arrives on it. */
async function stillLive(s, poster, chatId, what) {
  const m = await poster.post(chatId, `still there? ${Math.random()}`);
  await s.waitFor(
    (st) => st.events.some((f) => f.event === 'message' && (f.data.includes(`"seq":${m.seq},`) || f.data.includes(`msg-${m.seq}"`))),
    3000,
    `${what}: message ${m.seq} on the stream`,
  );
  assert.equal(s.ended, false, `${what}: still open`);
}

/** A stream of `who` on `path`, closed after the file. */
const open = async (who, path) => srv.track(await who.readyStream(path));

describe('members', () => {
  test('the creator is the first member; members see, add and remove; others cannot', T, async () => {
    const b = await newUser(a);
    const c = await newUser(a);
    const d = await newUser(a);
    const chat = await b.createChat('members');
    let list = (await b.get(`/api/v1/chats/${chat.id}/members`)).members;
    assert.equal(list.length, 1);
    const [m0] = list;
    assert.deepEqual(Object.keys(m0).sort(), ['added_at', 'admin', 'created_at', 'display_name', 'id', 'name']);
    assert.equal(m0.id, b.user.id);
    assert.match(m0.added_at, RFC3339_UTC_RE);

    // c cannot see it until added (by name), then can read and post
    assertError(await c.api('GET', `/api/v1/chats/${chat.id}`), 404);
    const added = await b.api('POST', `/api/v1/chats/${chat.id}/members`, { user: c.user.name });
    assert.equal(added.status, 201, added.text);
    assert.deepEqual(added.json.members.map((m) => m.id).sort(), [b.user.id, c.user.id].sort());
    assert.equal((await c.get(`/api/v1/chats/${chat.id}`)).id, chat.id);
    assert.ok((await c.get('/api/v1/chats')).chats.some((x) => x.id === chat.id), 'now in c\'s list');
    await c.post(chat.id, 'hi from c');
    // c, a member, adds d by id; adding again changes nothing
    assert.equal((await c.api('POST', `/api/v1/chats/${chat.id}/members`, { user: d.user.id })).status, 201);
    const again = await c.api('POST', `/api/v1/chats/${chat.id}/members`, { user: d.user.id });
    assert.ok(again.status === 200 || again.status === 201, `adding a member twice: ${again.status}`);
    list = (await b.get(`/api/v1/chats/${chat.id}/members`)).members;
    assert.deepEqual(list.map((m) => m.id).sort(), [b.user.id, c.user.id, d.user.id].sort(), 'no duplicate');
    // unknown or missing user: 422 naming the field
    for (const body of [{ user: 'nobody-here' }, { user: 'zzzzzzzzzzzz' }, {}, { user: 7 }]) {
      const r = await b.api('POST', `/api/v1/chats/${chat.id}/members`, body);
      assert.match(assertError(r, 422, JSON.stringify(body)).detail, /^user/);
    }
    // a member removes another: 204, and they lose the chat
    assert.equal((await b.api('DELETE', `/api/v1/chats/${chat.id}/members/${d.user.id}`)).status, 204);
    assertError(await d.api('GET', `/api/v1/chats/${chat.id}`), 404);
    assert.ok(!(await d.get('/api/v1/chats')).chats.some((x) => x.id === chat.id));
    assertError(await b.api('DELETE', `/api/v1/chats/${chat.id}/members/${d.user.id}`), 404, 'no longer a member');
    // the admin, no member, may list and add
    assert.equal((await a.get(`/api/v1/chats/${chat.id}/members`)).members.length, 2);
    assert.equal((await a.api('POST', `/api/v1/chats/${chat.id}/members`, { user: d.user.name })).status, 201);
    assert.equal((await d.get(`/api/v1/chats/${chat.id}`)).id, chat.id);
  });

  test('a member may leave (remove themself): 204, and the chat is gone for them', T, async () => {
    const b = await newUser(a);
    const c = await newUser(a);
    const chat = await b.createChat('leaving');
    await b.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: c.user.id });
    const s = await open(c, json(chat.id));
    const r = await c.api('DELETE', `/api/v1/chats/${chat.id}/members/${c.user.id}`);
    assert.equal(r.status, 204, r.text);
    const t0 = Date.now();
    const ms = await endsWithin(s, t0, { reason: 'removed', what: 'the leaver\'s stream' });
    assertError(await c.api('GET', `/api/v1/chats/${chat.id}`), 404);
    assert.deepEqual((await b.get(`/api/v1/chats/${chat.id}/members`)).members.map((m) => m.id), [b.user.id]);
    return ms;
  });
});

describe('invites', () => {
  test('POST invites: a /join/TOKEN url on this server, 7 days by default, {"hours":N} 1–720', T, async () => {
    const b = await newUser(a);
    const chat = await b.createChat('invites');
    const now = Date.now();
    const near = (iso, ms, what) => {
      assert.match(iso, RFC3339_UTC_RE, what);
      const d = Date.parse(iso) - (now + ms);
      assert.ok(Math.abs(d) < 120000, `${what}: expires_at ${iso} is ${d} ms from expected`);
    };
    const seen = new Set();
    for (const [body, ms] of [[{}, 7 * 86400e3], [undefined, 7 * 86400e3], [{ hours: 1 }, 3600e3], [{ hours: 720 }, 720 * 3600e3]]) {
      const r = await b.api('POST', `/api/v1/chats/${chat.id}/invites`, body);
      assert.equal(r.status, 201, `${JSON.stringify(body)}: ${r.status} ${r.text}`);
      assert.deepEqual(Object.keys(r.json).sort(), ['expires_at', 'url']);
      const u = new URL(r.json.url);
      assert.equal(u.origin, srv.url);
      const m = /^\/join\/(.+)$/.exec(u.pathname);
      assert.ok(m, `url ${r.json.url}`);
      assert.match(m[1], TOKEN_RE);
      assert.ok(!seen.has(m[1]), 'a new token each time');
      seen.add(m[1]);
      near(r.json.expires_at, ms, JSON.stringify(body));
    }
    for (const hours of [0, 721, -1, 1.5, '2', null, true]) {
      const r = await b.api('POST', `/api/v1/chats/${chat.id}/invites`, { hours });
      assert.match(assertError(r, 422, `hours ${JSON.stringify(hours)}`).detail, /^hours/);
    }
  });

  /** b's chat and an invite to it; members() lists its member ids, sorted. */
  async function invited() {
    const b = await newUser(a);
    const c = await newUser(a);
    const chat = await b.createChat('join me');
    const inv = await b.ok('POST', `/api/v1/chats/${chat.id}/invites`, {});
    const members = async () => (await b.get(`/api/v1/chats/${chat.id}/members`)).members.map((m) => m.id).sort();
    return { b, c, chat, path: new URL(inv.url).pathname, members };
  }

  test('opening an invite link (GET), or posting it unsigned, makes nobody a member', T, async () => {
    const { b, c, chat, path, members } = await invited();
    for (const [who, r] of [
      ['c', await c.api('GET', path)],
      ['c again', await c.api('GET', path)],
      ['nobody', await api(srv.url, 'GET', path)],
      ['nobody, POST', await api(srv.url, 'POST', path, '', { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } })],
    ]) {
      assert.ok(r.status < 500, `${path} as ${who}: ${r.status}`);
      assert.ok(!(r.headers.get('location') || '').includes(path.slice('/join/'.length)), `${who}: never redirected to a URL with the token`);
    }
    assert.deepEqual(await members(), [b.user.id], 'nothing changed');
    assertError(await c.api('GET', `/api/v1/chats/${chat.id}`), 404);
  });

  test('confirming an invite (POST, signed in, same-origin) makes one a member; cross-site it does not', T, async () => {
    const { b, c, chat, path, members } = await invited();
    const xs = await c.form(path, {}, { headers: { 'Sec-Fetch-Site': 'cross-site' } });
    assert.equal(xs.status, 403, `cross-site POST ${path}: ${xs.status}`);
    assert.deepEqual(await members(), [b.user.id], 'cross-site: not a member');
    const yes = await c.form(path, {});
    assert.ok(yes.status < 400, `POST ${path} as c: ${yes.status} ${yes.text.slice(0, 200)}`);
    assert.deepEqual(await members(), [b.user.id, c.user.id].sort(), 'confirmed: a member');
    assert.equal((await c.get(`/api/v1/chats/${chat.id}`)).id, chat.id);
  });

  test('a member removed cannot come back through a link made before (each goes); one who left can', T, async () => {
    const { b, c, chat, path, members } = await invited();
    assert.ok((await c.form(path, {})).status < 400, 'c joins');
    const own = new URL((await c.ok('POST', `/api/v1/chats/${chat.id}/invites`, {})).url).pathname; // c's own link
    await b.ok('DELETE', `/api/v1/chats/${chat.id}/members/${c.user.id}`, undefined, 204);
    for (const p of [path, own]) {
      const r = await c.form(p, {});
      assert.ok(r.status >= 400, `${p} after the removal: ${r.status}`);
    }
    assert.deepEqual(await members(), [b.user.id], 'still out');
    // leaving by oneself keeps the chat's links
    const d = await newUser(a);
    const fresh = new URL((await b.ok('POST', `/api/v1/chats/${chat.id}/invites`, {})).url).pathname;
    assert.ok((await d.form(fresh, {})).status < 400, 'd joins');
    await d.ok('DELETE', `/api/v1/chats/${chat.id}/members/${d.user.id}`, undefined, 204);
    assert.ok((await d.form(fresh, {})).status < 400, 'd, who left, comes back');
    assert.deepEqual(await members(), [b.user.id, d.user.id].sort());
    // a removal that fails (not a member: 404) ends no link
    assertError(await b.api('DELETE', `/api/v1/chats/${chat.id}/members/${c.user.id}`), 404);
    const e = await newUser(a);
    assert.ok((await e.form(fresh, {})).status < 400, 'the link still works');
  });

  test('an administrator removed from a chat still sees it: their stream goes on', T, async () => {
    const b = await newUser(a);
    const chat = await b.createChat('with an admin');
    await b.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: a.user.id });
    const s = await open(a, json(chat.id));
    await b.ok('DELETE', `/api/v1/chats/${chat.id}/members/${a.user.id}`, undefined, 204);
    await stillLive(s, b, chat.id, 'the administrator\'s stream');
    assert.equal(s.events.some((f) => f.event === 'deleted'), false, 'not told they lost it');
  });
});

describe('revocation ends streams within a second', () => {
  test('signing out ends that session\'s streams only; another session of the same user keeps streaming', T, async (t) => {
    const b = await newUser(a);
    const b2 = await signIn(srv.url, b.user.name, b.password);
    const chat = await b.createChat('sign out');
    const other = await b.createChat('sign out 2');
    const doomed = [
      [await open(b, json(chat.id)), false],
      [await open(b, html(chat.id)), true],
      [await open(b, json(other.id)), false],
    ];
    const kept = await open(b2, json(chat.id));
    const out = await b.api('DELETE', '/api/v1/session');
    const t0 = Date.now();
    assert.equal(out.status, 204, out.text);
    const times = [];
    for (const [s, isHtml] of doomed) times.push(await endsWithin(s, t0, { reason: 'signed-out', html: isHtml, what: `signed-out ${isHtml ? 'HTML' : 'JSON'} stream` }));
    await stillLive(kept, b2, chat.id, 'the other session\'s stream');
    assertError(await b.api('GET', '/api/v1/me'), 401);
    assertError(await b.api('GET', json(chat.id)), 401, 'a new stream with the dead cookie');
    t.diagnostic(`ended after ${times.join(', ')} ms`);
  });

  test('deleting a user ends all their streams (cookie and token), no one else\'s', T, async (t) => {
    const b = await newUser(a);
    const d = await newUser(a);
    const chat = await b.createChat('delete user');
    await b.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: d.user.id });
    const own = await d.createChat('d own');
    const tok = await newToken(d);
    const doomed = [
      [await open(d, json(chat.id)), false],
      [await open(d, html(chat.id)), true],
      [await open(d, json(own.id)), false],
      [await open(tok.client, json(chat.id)), false],
    ];
    const kept = await open(b, json(chat.id));
    const del = await a.api('DELETE', `/api/v1/users/${d.user.id}`);
    const t0 = Date.now();
    assert.equal(del.status, 204, del.text);
    const times = [];
    for (const [s, isHtml] of doomed) times.push(await endsWithin(s, t0, { reason: 'revoked', html: isHtml, what: 'deleted user\'s stream' }));
    await stillLive(kept, b, chat.id, 'another member\'s stream');
    t.diagnostic(`ended after ${times.join(', ')} ms`);
  });

  test('revoking a token ends the streams opened with it; the cookie\'s stream goes on', T, async (t) => {
    const b = await newUser(a);
    const chat = await b.createChat('revoke token');
    const t1 = await newToken(b, 'one');
    const t2 = await newToken(b, 'two');
    const doomed = [await open(t1.client, json(chat.id)), await open(t1.client, json(chat.id))];
    const keptCookie = await open(b, json(chat.id));
    const keptToken = await open(t2.client, json(chat.id));
    const del = await b.api('DELETE', `/api/v1/tokens/${t1.id}`);
    const t0 = Date.now();
    assert.equal(del.status, 204, del.text);
    const times = [];
    for (const s of doomed) times.push(await endsWithin(s, t0, { reason: 'revoked', what: 'revoked token\'s stream' }));
    await stillLive(keptCookie, b, chat.id, 'the cookie stream');
    await stillLive(keptToken, b, chat.id, 'the other token\'s stream');
    assertError(await t1.client.api('GET', '/api/v1/me'), 401);
    t.diagnostic(`ended after ${times.join(', ')} ms`);
  });

  test('an administrator made a member again: their streams of chats they are not in end (revoked)', T, async () => {
    const boss = await newUser(a);
    await a.ok('PATCH', `/api/v1/users/${boss.user.id}`, { admin: true }, 200);
    const b = await newUser(a);
    const chat = await b.createChat('not boss\'s');
    const s = await open(boss, json(chat.id));
    const list = srv.track(await boss.stream('/events?list=1'));
    await list.waitFor((st) => st.events.some((f) => f.event === 'list:all'), 5000, 'list:all');
    await a.ok('PATCH', `/api/v1/users/${boss.user.id}`, { admin: false }, 200);
    const t0 = Date.now();
    await endsWithin(s, t0, { reason: 'revoked', what: 'the demoted admin\'s stream' });
    await list.waitEnd(3000);
    assertError(await boss.api('GET', `/api/v1/chats/${chat.id}`), 404);
  });

  test('removing a member ends their streams of that chat only', T, async (t) => {
    const b = await newUser(a);
    const f = await newUser(a);
    const x = await b.createChat('remove from x');
    const y = await b.createChat('stay in y');
    for (const ch of [x, y]) await b.ok('POST', `/api/v1/chats/${ch.id}/members`, { user: f.user.id });
    const ft = await newToken(f);
    const doomed = [
      [await open(f, json(x.id)), false],
      [await open(f, html(x.id)), true],
      [await open(ft.client, json(x.id)), false],
    ];
    const fInY = await open(f, json(y.id));
    const fInYHtml = await open(f, html(y.id));
    const bInX = await open(b, json(x.id));
    const del = await b.api('DELETE', `/api/v1/chats/${x.id}/members/${f.user.id}`);
    const t0 = Date.now();
    assert.equal(del.status, 204, del.text);
    const times = [];
    for (const [s, isHtml] of doomed) times.push(await endsWithin(s, t0, { reason: 'removed', html: isHtml, what: 'removed member\'s stream' }));
    await stillLive(fInY, b, y.id, 'their JSON stream of another chat');
    await stillLive(fInYHtml, b, y.id, 'their HTML stream of another chat');
    await stillLive(bInX, b, x.id, 'the remaining member\'s stream');
    assertError(await f.api('GET', `/api/v1/chats/${x.id}`), 404);
    const again = await f.stream(json(x.id));
    await again.waitEnd(3000);
    assert.equal(again.status, 404, 'no new stream of that chat');
    t.diagnostic(`ended after ${times.join(', ')} ms`);
    // the first event of a removed stream was its snapshot; nothing between it and `deleted` leaked
    const ev = doomed[0][0].events.map(parsedEvent).map((e) => e.event);
    assert.deepEqual(ev, ['snapshot', 'deleted']);
  });
});

// A person's read mark follows them to every device: moving it sends `list:read` ("ID SEQ")
// to their own list streams only (not to an administrator's, who sees every chat), never
// backwards and never past the chat's newest message. A member removed leaves their list
// (`list:gone`), not the administrator's.
describe('read marks and the lists of several devices', () => {
  /** `who`'s browser stream with the chat lists, once its `list:all` arrived. */
  async function listStream(who) {
    const s = srv.track(await who.stream('/events?list=1'));
    assert.equal(s.status, 200, `GET /events?list=1: ${s.status} ${s.body}`);
    await s.waitFor((st) => st.events.some((f) => f.event === 'list:all'), 5000, 'list:all');
    return s;
  }
  const reads = (s) => s.events.filter((f) => f.event === 'list:read').map((f) => f.data);

  test('a read mark moved on one device reaches the person\'s other devices, and nobody else', T, async () => {
    const b = await newUser(a);
    const c = await newUser(a);
    const chat = await a.createChat('read on the phone');
    for (const u of [b, c]) await a.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: u.user.id });
    for (const body of ['one', 'two', 'three']) await a.post(chat.id, body);
    const phone = await signIn(srv.url, b.user.name, b.password);
    const desk = await listStream(b);
    const others = [await listStream(a), await listStream(c)];

    await phone.ok('POST', `/api/v1/chats/${chat.id}/read`, { seq: 2 }, 204);
    await desk.waitFor(() => reads(desk).length === 1, 3000, 'list:read on the desktop');
    assert.deepEqual(reads(desk), [`${chat.id} 2`]);
    await phone.ok('POST', `/api/v1/chats/${chat.id}/read`, { seq: 1 }, 204); // backwards: nothing
    await phone.ok('POST', `/api/v1/chats/${chat.id}/read`, { seq: 2 }, 204); // the same: nothing
    await phone.ok('POST', `/api/v1/chats/${chat.id}/read`, { seq: 99 }, 204); // past the newest: 3
    await desk.waitFor(() => reads(desk).length === 2, 3000, 'the second list:read');
    assert.deepEqual(reads(desk), [`${chat.id} 2`, `${chat.id} 3`]);
    const page = await b.api('GET', '/');
    assert.match(page.text, new RegExp(`id="chat-${chat.id}"[^>]*data-read="3"`), 'the mark kept is 3');
    // a later message can be unread again: the mark did not run ahead of the chat
    await a.post(chat.id, 'four');
    const again = await b.api('GET', '/');
    assert.match(again.text, new RegExp(`id="chat-${chat.id}"[^>]*data-seq="4"[^>]*data-read="3"`));
    await desk.waitFor((st) => st.events.some((f) => f.event === 'list:chat' && f.data.includes('four')), 3000,
      'the list:chat of message 4'); // after any stray list:read
    assert.equal(reads(desk).length, 2, 'nothing more on the desktop');
    for (const s of others) assert.deepEqual(reads(s), [], 'nobody else hears Bob\'s marks');
  });

  test('a deleted chat leaves the lists of its members and administrators; others never hear its id', T, async () => {
    const b = await newUser(a);
    const outsider = await newUser(a);
    const chat = await b.createChat('soon gone');
    const lists = [await listStream(b), await listStream(a), await listStream(outsider)];
    await b.ok('DELETE', `/api/v1/chats/${chat.id}`, undefined, 204);
    for (const s of lists.slice(0, 2))
      await s.waitFor((st) => st.events.some((f) => f.event === 'list:gone' && f.data === chat.id), 3000, 'list:gone');
    const later = await b.createChat('after the deletion');
    await lists[0].waitFor((st) => st.events.some((f) => f.event === 'list:chat' && f.data.includes(later.id)), 3000, 'a later list event');
    assert.equal(lists[2].events.some((f) => f.data && f.data.includes(chat.id)), false, 'the outsider heard nothing of it');
  });

  test('removing a member takes the chat off their list, not off an administrator\'s', T, async () => {
    const b = await newUser(a);
    const chat = await a.createChat('b leaves');
    await a.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: b.user.id });
    const mine = await listStream(b);
    const admins = await listStream(a);
    await a.ok('DELETE', `/api/v1/chats/${chat.id}/members/${b.user.id}`, undefined, 204);
    await mine.waitFor((st) => st.events.some((f) => f.event === 'list:gone' && f.data === chat.id), 3000, 'list:gone for Bob');
    await a.post(chat.id, 'after the removal');
    await admins.waitFor((st) => st.events.some((f) => f.event === 'list:chat' && f.data.includes(`chat-${chat.id}`) &&
      f.data.includes('after the removal')), 3000, 'the administrator\'s list goes on');
    assert.equal(admins.events.some((f) => f.event === 'list:gone'), false, 'no list:gone for the administrator');
  });
});
