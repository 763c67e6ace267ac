// The account pages (SPEC §7 through the browser's eyes): signing in and out, the first admin
// from the setup link, one's own account (display name, password, API tokens), the admins'
// users page, a chat's members page, invite links and joining, the top bar of every page and
// the chat page in accounts mode. Also: user text escaped everywhere it shows, the shared
// (cached) chat page personal to each reader, secrets only where they are handed out, pages
// without a session sending people to sign in, and cross-site form posts refused.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  withServer,
  useServerPool,
  api,
  htmlStreamPath,
  htmlUnescape,
  assertEscaped,
} from './helpers.mjs';
import {
  ADMIN,
  useAccountsServer,
  accountsOptions,
  admin,
  newUser,
  signIn,
  trySignIn,
  uniqueUser,
  sessionCookie,
  setCookies,
  setupLine,
  assertSameResponse,
  responseShape,
  Client,
  cookieNamed,
  pageSignIn,
  pageSignInRaw,
  runSql,
} from './account_helpers.mjs';

const T = { timeout: 30000 };
const srv = useAccountsServer();
const pool = useServerPool();
const SECRET_RE = /^[A-Za-z0-9_-]{22,}$/; // ≥ 128 bits, URL-safe
const HOSTILE = `<img src=x onerror=alert(1)>&"'`;
const UNKNOWN_ID = 'zzzzzzzzzzzz';
// a browser drops tabs and newlines from a URL: "/\t/evil.example" is "//evil.example"
const FOREIGN_NEXTS = ['//evil.example', 'https://evil.example', '/\\evil', 'evil.example', '/x\r\nSet-Cookie: evil=1',
  '/\t/evil.example/x', '/\n/evil.example', '/x/\\evil'];

let a; // ADMIN, signed in
before(async () => {
  await srv.ready();
  a = await admin(srv.url);
});

// ---------------------------------------------------------------------------
// Reading pages

const VOID = new Set(['input', 'br', 'img', 'meta', 'link', 'hr', 'source', 'area', 'base', 'col', 'embed', 'wbr']);
const reEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The element whose opening tag starts at `start`, up to its matching closing tag. */
function elementAt(html, start) {
  const name = /^<([a-zA-Z][a-zA-Z0-9-]*)/.exec(html.slice(start))[1].toLowerCase();
  if (VOID.has(name)) return /^<[^>]*>/.exec(html.slice(start))[0];
  const re = new RegExp(`<(/?)${name}\\b[^>]*>`, 'gi');
  re.lastIndex = start;
  let depth = 0;
  let m;
  while ((m = re.exec(html))) {
    if (m[1]) {
      depth -= 1;
      if (depth === 0) return html.slice(start, m.index + m[0].length);
    } else depth += 1;
  }
  return null;
}

/** The first element whose opening tag matches `tagRe` (a RegExp source), or null. */
function element(html, tagRe) {
  const m = new RegExp(tagRe).exec(html);
  return m ? elementAt(html, m.index) : null;
}
const byId = (html, id) => element(html, `<[a-zA-Z][^>]*\\sid=["']${reEscape(id)}["'][^>]*>`);
const byClass = (html, cls) => element(html, `<[a-zA-Z][^>]*\\sclass=["'](?:[^"']*\\s)?${reEscape(cls)}(?:\\s[^"']*)?["'][^>]*>`);
/** The <form> posting to `action` (with method post), or null. */
function formFor(html, action) {
  const f = element(html, `<form[^>]*\\saction=["']${reEscape(action)}["'][^>]*>`);
  if (f) assert.match(/^<form[^>]*>/.exec(f)[0], /\smethod=["']post["']/i, `the form for ${action} posts`);
  return f;
}
function attr(tag, name) {
  const m = new RegExp(`\\s${name}=(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? htmlUnescape(m[1] ?? m[2]) : null;
}
/** The opening tags of a form's fields, by name. */
function fields(form) {
  const out = {};
  for (const [tag] of form.matchAll(/<(?:input|textarea|select)\b[^>]*>/g)) {
    const n = attr(tag, 'name');
    if (n !== null) out[n] = tag;
  }
  return out;
}
/** The text of the page's `<p class="error">`, unescaped (null when there is none). */
function errorText(html) {
  const m = /<p class=["']error["'][^>]*>([\s\S]*?)<\/p>/.exec(html);
  return m ? htmlUnescape(m[1].replace(/<[^>]*>/g, '')).trim() : null;
}

function assertHtml(r, status, what = '') {
  assert.equal(r.status, status, `${what}: status ${r.status}, expected ${status}: ${r.text.slice(0, 400)}`);
  assert.match(r.headers.get('content-type') || '', /^text\/html/, `${what}: an HTML answer`);
  assert.match(r.text, /<html|<!doctype/i, `${what}: a whole page`);
}
function assertRedirect(r, to, what = '') {
  assert.equal(r.status, 303, `${what}: status ${r.status}, expected 303 to ${to}: ${r.text.slice(0, 400)}`);
  assert.equal(r.headers.get('location'), to, `${what}: Location`);
}
/** 303 to /login?next=PATH (the path URL-encoded). */
function assertToLogin(r, path, what = '') {
  assert.equal(r.status, 303, `${what}: status ${r.status}, expected 303 to sign in: ${r.text.slice(0, 300)}`);
  const loc = r.headers.get('location') || '';
  const m = /^\/login\?next=([^#]*)$/.exec(loc);
  assert.ok(m, `${what}: Location /login?next=…: ${JSON.stringify(loc)}`);
  assert.match(m[1], /^(?:[A-Za-z0-9\-._~/]|%[0-9A-Fa-f]{2})*$/, `${what}: next is URL-encoded: ${loc}`);
  assert.equal(decodeURIComponent(m[1]), path, `${what}: next names the page`);
}
/** The signed-in person's top bar: .user-menu with their name, /account, POST /logout; Users for admins only. */
function assertTopBar(html, displayName, { isAdmin = false, what = 'page' } = {}) {
  const menu = byClass(html, 'user-menu');
  assert.ok(menu, `${what}: a .user-menu: ${html.slice(0, 1500)}`);
  assert.ok(htmlUnescape(menu.replace(/<[^>]*>/g, ' ')).includes(displayName), `${what}: the menu names ${JSON.stringify(displayName)}: ${menu}`);
  assert.match(menu, /<a\b[^>]*\shref=["']\/account["']/, `${what}: a link to /account in the menu`);
  assert.ok(formFor(menu, '/logout'), `${what}: a POST /logout form in the menu`);
  const usersLink = /<a\b[^>]*\shref=["']\/admin\/users["'][^>]*>\s*Users\s*<\/a>/.test(html);
  if (isAdmin) assert.ok(usersLink, `${what}: an admin has the Users link`);
  else assert.doesNotMatch(html, /href=["']\/admin\/users["']/, `${what}: no Users link for a non-admin`);
}

const anon = () => new Client(srv.url);
const same = { 'Sec-Fetch-Site': 'same-origin' };
const hx = { 'HX-Request': 'true' };
const usersByName = async (who = a) => new Map((await who.get('/api/v1/users')).users.map((u) => [u.name, u]));
const memberIds = async (chatId, who = a) => (await who.get(`/api/v1/chats/${chatId}/members`)).members.map((m) => m.id).sort();
/** A Client with the same session and more cookies (the invite's). */
const withCookies = (who, ...pairs) => Object.assign(new Client(who.base, { cookie: [who.cookie, ...pairs].filter(Boolean).join('; ') }), { user: who.user });

/**
 * Responses seen during a flow, to check that a secret went only where it was handed out:
 * never in a header of any of them (Location, Set-Cookie …), in a body only where allowed.
 */
function recorder() {
  const seen = [];
  return {
    seen,
    async add(label, p) {
      const r = await p;
      seen.push({ label, r });
      return r;
    },
    assertNowhere(secret, what, handedOut = []) {
      assert.ok(secret && secret.length >= 16, `${what}: a secret to look for`);
      for (const { label, r } of seen) {
        const heads = [...r.headers.entries()].map(([k, v]) => `${k}: ${v}`).concat(setCookies(r).map((c) => `set-cookie: ${c}`));
        for (const h of heads) assert.ok(!h.includes(secret), `${what} in a header of ${label}: ${h}`);
        if (!handedOut.includes(label)) assert.ok(!r.text.includes(secret), `${what} in the body of ${label} (${r.status})`);
      }
    },
  };
}

// ---------------------------------------------------------------------------

describe('signing in and out through the pages', () => {
  test('GET /login: the form (name, password, hidden next); no setup hint once an admin exists', T, async () => {
    const r = await anon().api('GET', '/login?next=%2Fchats%2Fabc');
    assertHtml(r, 200, 'GET /login');
    const form = formFor(r.text, '/login');
    assert.ok(form, 'a form posting to /login');
    const f = fields(form);
    assert.ok(f.name, 'a name field');
    assert.equal(attr(f.password || '', 'type'), 'password', 'a password field');
    assert.equal(attr(f.next || '', 'type'), 'hidden', 'a hidden next');
    assert.equal(attr(f.next, 'value'), '/chats/abc');
    assert.doesNotMatch(r.text, /parley setup/, 'no setup hint once a user exists');
    assert.equal(byClass(r.text, 'user-menu'), null, 'no user menu for nobody');
    // next is escaped in the form, and another site's address is never kept
    const evil = '/"><script>alert(1)</script>';
    const e = await anon().api('GET', `/login?next=${encodeURIComponent(evil)}`);
    assertHtml(e, 200);
    assert.ok(!e.text.includes('<script>alert(1)'), 'next is escaped');
    assert.ok([evil, '/'].includes(attr(fields(formFor(e.text, '/login'))['next'], 'value')));
    for (const next of FOREIGN_NEXTS) {
      const g = await anon().api('GET', `/login?next=${encodeURIComponent(next)}`);
      assertHtml(g, 200, next);
      assert.equal(attr(fields(formFor(g.text, '/login'))['next'], 'value'), '/', `next ${JSON.stringify(next)} becomes /`);
    }
  });

  test('GET /login when signed in: 303 to next (a local path) or /', T, async () => {
    const b = await newUser(a);
    for (const [q, to] of [['', '/'], ['?next=%2Faccount', '/account'], ...FOREIGN_NEXTS.map((n) => [`?next=${encodeURIComponent(n)}`, '/'])]) {
      assertRedirect(await b.api('GET', `/login${q}`), to, `GET /login${q}`);
    }
  });

  test('POST /login: 303 to next with a session cookie; another site as next goes to /; htmx gets HX-Redirect', T, async () => {
    const b = await newUser(a);
    const r = await pageSignInRaw(srv.url, b.user.name, b.password, { next: '/account' });
    assertRedirect(r, '/account', 'sign in');
    const c = sessionCookie(r);
    assert.ok(c && SECRET_RE.test(c.value), `a session cookie: ${JSON.stringify(setCookies(r))}`);
    assert.equal(c.attrs.httponly, true, c.raw);
    assert.equal(c.attrs.path, '/', c.raw);
    assert.equal(String(c.attrs.samesite).toLowerCase(), 'lax', c.raw);
    const signed = new Client(srv.url, { cookie: c.pair });
    assert.equal((await signed.get('/api/v1/me')).id, b.user.id);
    assertHtml(await signed.api('GET', '/account'), 200, 'the page it went to');
    for (const next of [...FOREIGN_NEXTS, '', undefined]) {
      const x = await pageSignInRaw(srv.url, b.user.name, b.password, { next });
      assertRedirect(x, '/', `next ${JSON.stringify(next)}`);
      assert.ok(sessionCookie(x), 'signed in all the same');
      assert.equal(cookieNamed(x, 'evil'), null, 'no header injected');
    }
    const h = await pageSignInRaw(srv.url, b.user.name, b.password, { next: '/bots', headers: hx });
    assert.equal(h.status, 204, `htmx sign-in: ${h.status} ${h.text.slice(0, 200)}`);
    assert.equal(h.headers.get('hx-redirect'), '/bots');
    assert.ok(sessionCookie(h), 'htmx sign-in sets the cookie');
  });

  test('a wrong password and an unknown name: the same 401 page with "wrong name or password", no cookie', T, async () => {
    const b = await newUser(a);
    const wrong = await pageSignInRaw(srv.url, b.user.name, 'Not-the-password-77', { next: '/account' });
    assertHtml(wrong, 401, 'wrong password');
    assert.equal(errorText(wrong.text), 'Wrong name or password');
    assert.equal(sessionCookie(wrong), null, 'no cookie');
    assert.ok(formFor(wrong.text, '/login'), 'the form again');
    assert.ok(!wrong.text.includes('Not-the-password-77'), 'the typed password is not sent back');
    assert.match(wrong.text, new RegExp(`<input name="name"[^>]* value="${b.user.name}"`), 'the name typed is kept in the form');
    const unknown = await pageSignInRaw(srv.url, 'nobody-by-that-name', 'Not-the-password-77', { next: '/account' });
    // alike but for the name each typed (kept in the form): nothing tells which names exist
    const typed = (r, name) => {
      const shape = responseShape(r);
      return { ...shape, body: shape.body.replace(`value="${name}"`, 'value="NAME"'), headers: shape.headers.filter(([k]) => k !== 'content-length') };
    };
    assert.deepEqual(typed(wrong, b.user.name), typed(unknown, 'nobody-by-that-name'), 'wrong password vs unknown name');
    const hostile = await pageSignInRaw(srv.url, '"><script>x</script>', 'Not-the-password-77');
    assert.ok(!hostile.text.includes('<script>x'), 'the name typed is escaped');
    assert.equal((await b.get('/api/v1/me')).id, b.user.id, 'b is not locked out by 1 failure');
  });

  test('throttled: after 5 failures for a name, 429 with Retry-After on the page, also for the right password; others sign in', T, async () => {
    await withServer(accountsOptions(), async (s) => {
      const root = await admin(s.url);
      const v = await newUser(root);
      const w = await newUser(root);
      for (let i = 0; i < 5; i++) assertHtml(await pageSignInRaw(s.url, v.user.name, `wrong-password-${i}`), 401, `failure ${i + 1}`);
      for (const pw of ['wrong-password-6', v.password]) {
        const r = await pageSignInRaw(s.url, v.user.name, pw);
        assertHtml(r, 429, `throttled (${pw === v.password ? 'right' : 'wrong'} password)`);
        assert.match(r.headers.get('retry-after') || '', /^[1-9]\d*$/, 'Retry-After in seconds');
        assert.ok(errorText(r.text), 'the page says why');
        assert.equal(sessionCookie(r), null, 'no cookie');
      }
      await pageSignIn(s.url, w.user.name, w.password);
    });
  });

  test('POST /logout: the cookie cleared (Max-Age=0), 303 /login; that session is dead, another lives', T, async () => {
    const b = await newUser(a);
    const b2 = await pageSignIn(srv.url, b.user.name, b.password);
    const r = await b2.form('/logout', {});
    assertRedirect(r, '/login', 'sign out');
    const cleared = sessionCookie(r);
    assert.ok(cleared, 'the cookie is cleared');
    assert.equal(cleared.value, '');
    assert.equal(cleared.attrs['max-age'], '0');
    assert.equal((await b2.api('GET', '/api/v1/me')).status, 401, 'that session is dead');
    assertToLogin(await b2.api('GET', '/account'), '/account', 'its pages');
    assert.equal((await b.get('/api/v1/me')).id, b.user.id, 'the other session lives');
    // with htmx
    const h = await b.form('/logout', {}, { headers: hx });
    assert.equal(h.status, 204, h.text.slice(0, 200));
    assert.equal(h.headers.get('hx-redirect'), '/login');
    assert.equal(sessionCookie(h)?.attrs['max-age'], '0');
    assert.equal((await b.api('GET', '/api/v1/me')).status, 401);
  });

  test('--auth none: /login and /account lead to next or /; --auth proxy: /login says the proxy signs in, no form', T, async () => {
    await withServer({}, async (s) => {
      const c = new Client(s.url);
      assertRedirect(await c.api('GET', '/login'), '/', 'none: /login');
      assertRedirect(await c.api('GET', '/login?next=%2Fbots'), '/bots', 'none: /login?next=/bots');
      assertRedirect(await c.api('GET', '/login?next=%2F%2Fevil.example'), '/', 'none: foreign next');
      assertRedirect(await c.api('GET', '/account'), '/', 'none: /account');
    });
    await withServer({ auth: 'proxy' }, async (s) => {
      const r = await new Client(s.url).api('GET', '/login');
      assertHtml(r, 200, 'proxy: /login');
      assert.equal(formFor(r.text, '/login'), null, 'no sign-in form');
      assert.doesNotMatch(r.text, /type=["']password["']/, 'no password field');
      assert.match(r.text, /sign/i, 'it says how people sign in');
      assertRedirect(await new Client(s.url).api('GET', '/login?next=%2Fbots', undefined, { headers: { 'X-Forwarded-User': 'pat' } }), '/bots', 'proxy: signed in');
    });
  });
});

describe('the first admin through the setup page', () => {
  test('the link moves its token into a cookie; the form creates the admin once; the token is never sent back', T, async () => {
    const s = await pool.start({ auth: 'accounts' });
    const line = setupLine(s.stdout());
    assert.ok(line, `a setup line: ${JSON.stringify(s.stdout())}`);
    const { token } = line;
    const rec = recorder();
    const nobody = new Client(s.url);

    const login = await rec.add('GET /login', nobody.api('GET', '/login'));
    assertHtml(login, 200, 'GET /login');
    assert.match(login.text, /parley setup/, 'the sign-in page tells where the setup link is');

    const bare = await rec.add('GET /setup (no cookie)', nobody.api('GET', '/setup'));
    assertHtml(bare, 200, 'GET /setup without the cookie');
    assert.match(bare.text, /parley setup/, 'it explains to open the printed link');
    assert.equal(formFor(bare.text, '/setup'), null, 'no form without the link');

    const link = await rec.add('GET /setup?token', nobody.api('GET', `/setup?token=${token}`));
    assertRedirect(link, '/setup', 'the link');
    const sc = cookieNamed(link, 'parley_setup');
    assert.ok(sc && sc.value.length > 0, `a parley_setup cookie: ${JSON.stringify(setCookies(link))}`);
    assert.equal(sc.attrs.path, '/setup', sc.raw);
    assert.equal(sc.attrs.httponly, true, sc.raw);
    assert.notEqual(sc.value, token, 'the cookie is not the token');
    assert.ok(!sc.value.includes(token) && !token.includes(sc.value), 'nor holds it');
    const holder = new Client(s.url, { cookie: sc.pair });

    const form = await rec.add('GET /setup (cookie)', holder.api('GET', '/setup'));
    assertHtml(form, 200, 'GET /setup with the cookie');
    const f = fields(formFor(form.text, '/setup') || '');
    assert.ok(f.name, 'a name field');
    assert.equal(attr(f.password || '', 'type'), 'password', 'a password field');

    // refused attempts create nobody and leave the link usable
    const short = await rec.add('POST /setup short', holder.form('/setup', { name: 'grace', password: 'short' }));
    assertHtml(short, 422, 'a short password');
    assert.match(errorText(short.text) || '', /password/i, 'the error names the password');
    assert.equal(sessionCookie(short), null);
    for (const [label, who] of [['no cookie', nobody], ['a made-up cookie', new Client(s.url, { cookie: `parley_setup=${'0'.repeat(64)}` })], ['the token as cookie', new Client(s.url, { cookie: `parley_setup=${token}` })]]) {
      const r = await rec.add(`POST /setup ${label}`, who.form('/setup', { name: 'mallory', password: 'mallory-password' }, { headers: same }));
      assert.ok(r.status >= 400 && r.status < 500, `${label}: refused, got ${r.status}`);
      assert.equal(sessionCookie(r), null, `${label}: no session`);
    }
    const cross = await rec.add('POST /setup cross-site', holder.form('/setup', { name: 'mallory', password: 'mallory-password' }, { headers: { 'Sec-Fetch-Site': 'cross-site' } }));
    assert.equal(cross.status, 403, `cross-site setup: ${cross.status}`);
    assert.equal(sessionCookie(cross), null);

    const done = await rec.add('POST /setup', holder.form('/setup', { name: 'Grace', password: 'grace-password-1' }));
    assertRedirect(done, '/', 'setup');
    const session = sessionCookie(done);
    assert.ok(session && session.value.length > 0, 'signed in');
    const grace = new Client(s.url, { cookie: session.pair });
    const me = await grace.get('/api/v1/me');
    assert.equal(me.name, 'Grace');
    assert.equal(me.admin, true, 'the first user is an admin');
    assert.deepEqual((await grace.get('/api/v1/users')).users.map((u) => u.name), ['Grace'], 'exactly one user: no GET and no refused post made one');
    assertTopBar((await rec.add('GET / (grace)', grace.api('GET', '/'))).text, 'Grace', { isAdmin: true, what: 'after setup' });

    // set up now: the page says so, and the old link sets no working cookie
    const after = await rec.add('GET /setup after', nobody.api('GET', '/setup'));
    assertHtml(after, 200, 'GET /setup after setup');
    assert.match(after.text, /set up/i);
    assert.equal(formFor(after.text, '/setup'), null, 'no form any more');
    const old = await rec.add('GET /setup?token again', nobody.api('GET', `/setup?token=${token}`));
    assert.ok(old.status === 303 || old.status === 200, `the old link: ${old.status}`);
    const oc = cookieNamed(old, 'parley_setup');
    for (const [label, who] of [['the old cookie', holder], ['a cookie from the old link', oc && oc.value ? new Client(s.url, { cookie: oc.pair }) : null]]) {
      if (!who) continue;
      const g = await rec.add(`GET /setup ${label}`, who.api('GET', '/setup'));
      assert.equal(formFor(g.text, '/setup'), null, `${label}: no form`);
      const p = await rec.add(`POST /setup ${label}`, who.form('/setup', { name: 'eve', password: 'eve-password-1' }));
      assert.ok(p.status >= 400 && p.status < 500, `${label}: setup again refused, got ${p.status}`);
      assert.equal(sessionCookie(p), null, `${label}: no session`);
    }
    assert.deepEqual((await grace.get('/api/v1/users')).users.map((u) => u.name), ['Grace'], 'still one user');
    assert.doesNotMatch((await rec.add('GET /login after', nobody.api('GET', '/login'))).text, /parley setup/, 'no setup hint any more');
    rec.assertNowhere(token, 'the setup token');
    await pool.stop(s);
  });
});

describe('your account page', () => {
  test('GET /account: the display name, password and token forms, the top bar', T, async () => {
    const b = await newUser(a, uniqueUser('acc'), { display_name: 'Bea Account' });
    const r = await b.api('GET', '/account');
    assertHtml(r, 200, 'GET /account');
    const name = fields(formFor(r.text, '/account') || '');
    assert.equal(attr(name.display_name || '', 'value'), 'Bea Account', 'the display name field, filled in');
    const pw = fields(formFor(r.text, '/account/password') || '');
    assert.equal(attr(pw.old_password || '', 'type'), 'password', 'old_password');
    assert.equal(attr(pw.password || '', 'type'), 'password', 'password');
    assert.ok(fields(formFor(r.text, '/account/tokens') || '').name, 'the new token form');
    assert.ok(byId(r.text, 'tokens'), '#tokens');
    assertTopBar(r.text, 'Bea Account', { what: '/account' });
  });

  test('display name: 303 /account?done=name and shown at once; a bad one re-renders with the error, nothing changed', T, async () => {
    const b = await newUser(a, uniqueUser('dn'), { display_name: 'Before Name' });
    assertRedirect(await b.form('/account', { display_name: 'After Name' }), '/account?done=name', 'change');
    assert.equal((await b.get('/api/v1/me')).display_name, 'After Name');
    assert.equal((await usersByName()).get(b.user.name).display_name, 'After Name');
    const page = await b.api('GET', '/account?done=name');
    assertHtml(page, 200);
    assertTopBar(page.text, 'After Name', { what: 'after the change' });
    for (const bad of ['', 'x'.repeat(65)]) {
      const r = await b.form('/account', { display_name: bad });
      assertHtml(r, 422, `display_name ${JSON.stringify(bad.slice(0, 10))}`);
      assert.match(errorText(r.text) || '', /^Display name: /, 'the error names the field as people read it');
      assert.equal((await b.get('/api/v1/me')).display_name, 'After Name', 'unchanged');
    }
    const none = await b.form('/account', {});
    assertHtml(none, 422, 'no display_name field');
    assert.match(errorText(none.text) || '', /^Display name: required/);
    assert.equal((await b.get('/api/v1/me')).display_name, 'After Name', 'unchanged');
    const h = await b.form('/account', { display_name: 'Htmx Name' }, { headers: hx });
    assert.equal(h.status, 204, h.text.slice(0, 200));
    assert.equal(h.headers.get('hx-redirect'), '/account?done=name');
    assert.equal((await b.get('/api/v1/me')).display_name, 'Htmx Name');
  });

  test('password: a wrong old one changes nothing; the right one → 303, other sessions die, this one lives', T, async () => {
    const b = await newUser(a);
    const b2 = await signIn(srv.url, b.user.name, b.password);
    const b3 = await pageSignIn(srv.url, b.user.name, b.password);
    const wrong = await b.form('/account/password', { old_password: 'not-my-old-password', password: 'brand-new-pw-1' });
    assert.ok(wrong.status === 403 || wrong.status === 422, `wrong old password: ${wrong.status}`);
    assertHtml(wrong, wrong.status, 'wrong old password');
    assert.match(errorText(wrong.text) || '', /^Old password: /, 'the error names the field as people read it');
    assert.ok(formFor(wrong.text, '/account/password'), 'the account page again');
    const short = await b.form('/account/password', { old_password: b.password, password: 'short' });
    assertHtml(short, 422, 'a short new password');
    assert.match(errorText(short.text) || '', /password/i);
    for (const fields of [{}, { old_password: b.password }]) {
      const missing = await b.form('/account/password', fields);
      assertHtml(missing, 422, `fields ${Object.keys(fields)}: not "your password was changed"`);
      assert.match(errorText(missing.text) || '', /: required$/);
    }
    for (const [who, what] of [[b2, 'API session'], [b3, 'page session']]) assert.equal((await who.api('GET', '/api/v1/me')).status, 200, `${what} lives`);
    await pageSignIn(srv.url, b.user.name, b.password); // the old password still works

    assertRedirect(await b.form('/account/password', { old_password: b.password, password: 'brand-new-pw-1' }), '/account?done=password', 'change');
    for (const [who, what] of [[b2, 'API session'], [b3, 'page session']]) assert.equal((await who.api('GET', '/api/v1/me')).status, 401, `${what} is signed out`);
    assert.equal((await b.get('/api/v1/me')).id, b.user.id, 'the current session lives');
    assertHtml(await b.api('GET', '/account?done=password'), 200);
    await pageSignIn(srv.url, b.user.name, 'brand-new-pw-1');
    assertHtml(await pageSignInRaw(srv.url, b.user.name, b.password), 401, 'the old password');
  });

  test('tokens: 201 page with the secret once (no-store), it works as Bearer; revoke → 303, it stops working', T, async () => {
    const b = await newUser(a);
    const c = await newUser(a);
    const rec = recorder();
    const tname = 'my <script>x</script> cli';
    const made = await rec.add('create', b.form('/account/tokens', { name: tname }));
    assertHtml(made, 201, 'create a token');
    assert.match(made.headers.get('cache-control') || '', /no-store/, 'Cache-Control: no-store');
    const input = byId(made.text, 'new-token');
    assert.ok(input, '#new-token');
    const secret = attr(input, 'value');
    assert.match(secret || '', SECRET_RE, 'the secret');
    assertEscaped(made.text, '<script>x</script>', 'the token name');
    const bearer = new Client(srv.url, { token: secret });
    assert.equal((await bearer.get('/api/v1/me')).id, b.user.id, 'the secret works as Bearer');
    const [tok] = (await b.get('/api/v1/tokens')).tokens;
    assert.equal(tok.name, tname);

    const page = await rec.add('GET /account', b.api('GET', '/account'));
    assertHtml(page, 200);
    assert.equal(byId(page.text, 'new-token'), null, 'shown once');
    const list = byId(page.text, 'tokens');
    assert.ok(htmlUnescape(list).includes(tname), 'listed by name');
    assert.ok(formFor(list, `/account/tokens/${tok.id}/delete`), 'with a revoke form');
    for (const p of ['/', '/bots', '/account?done=revoked']) await rec.add(`GET ${p}`, b.api('GET', p));

    // refused: a blank name, another user revoking it
    const blank = await rec.add('blank', b.form('/account/tokens', { name: '' }));
    assertHtml(blank, 422, 'a blank name');
    assert.ok(errorText(blank.text), 'the error');
    assert.equal(byId(blank.text, 'new-token'), null);
    const other = await rec.add('other revokes', c.form(`/account/tokens/${tok.id}/delete`, {}));
    assertHtml(other, 404, 'another user revokes');
    assert.equal((await b.get('/api/v1/tokens')).tokens.length, 1, 'still one token');
    assert.equal((await bearer.api('GET', '/api/v1/me')).status, 200, 'still works');

    const gone = await rec.add('revoke', b.form(`/account/tokens/${tok.id}/delete`, {}));
    assertRedirect(gone, '/account?done=revoked', 'revoke');
    assert.equal((await bearer.api('GET', '/api/v1/me')).status, 401, 'the revoked secret');
    assert.deepEqual((await b.get('/api/v1/tokens')).tokens, []);
    const after = await rec.add('GET /account after', b.api('GET', '/account'));
    assert.ok(!htmlUnescape(byId(after.text, 'tokens')).includes(tname), 'no longer listed');
    rec.assertNowhere(secret, 'the API token', ['create']);
    rec.assertNowhere(b.cookie.slice('parley_session='.length), 'the session id');
  });
});

describe('the users page (admins)', () => {
  test('GET /admin/users: the list and the new-user form for admins; a 403 page for others', T, async () => {
    const r = await a.api('GET', '/admin/users');
    assertHtml(r, 200, 'admin');
    const users = byId(r.text, 'users');
    assert.ok(users && users.includes(`@${ADMIN.name}`), '#users lists the admin');
    const f = fields(formFor(r.text, '/admin/users') || '');
    for (const n of ['name', 'display_name', 'password']) assert.ok(f[n], `field ${n}`);
    assert.equal(attr(f.admin || '', 'type'), 'checkbox');
    assert.equal(attr(f.admin, 'value'), '1');
    const b = await newUser(a);
    const no = await b.api('GET', '/admin/users');
    assertHtml(no, 403, 'non-admin');
    assert.equal(byId(no.text, 'users'), null, 'no list');
    assertTopBar(no.text, b.user.display_name, { what: 'the 403 page' });
  });

  test('add, make and unmake admin, set a password, remove: each 303 /admin/users and seen in GET /api/v1/users', T, async () => {
    const name = uniqueUser('adm');
    assertRedirect(await a.form('/admin/users', { name, display_name: 'New Admin Person', password: 'new-person-pw', admin: '1' }), '/admin/users', 'add an admin');
    let u = (await usersByName()).get(name);
    assert.ok(u, 'created');
    assert.equal(u.display_name, 'New Admin Person');
    assert.equal(u.admin, true);
    const plain = uniqueUser('adm');
    assertRedirect(await a.form('/admin/users', { name: plain, display_name: '', password: 'plain-person-pw' }), '/admin/users', 'add a plain user');
    const p = (await usersByName()).get(plain);
    assert.equal(p.admin, false, 'no checkbox, no admin');
    assert.equal(p.display_name, plain, 'display name defaults to the name');
    const list = byId((await a.api('GET', '/admin/users')).text, 'users');
    assert.ok(list.includes('New Admin Person') && list.includes(`@${plain}`), 'both listed');
    const pc = await pageSignIn(srv.url, plain, 'plain-person-pw');

    assertRedirect(await a.form(`/admin/users/${p.id}`, { admin: 'true' }), '/admin/users', 'make admin');
    assert.equal((await usersByName()).get(plain).admin, true);
    assert.equal((await pc.get('/api/v1/me')).admin, true, 'at once for their session');
    assertTopBar((await pc.api('GET', '/')).text, plain, { isAdmin: true, what: 'a new admin' });
    for (const typo of ['yes', 'TRUE', '']) {
      const r = await a.form(`/admin/users/${p.id}`, { admin: typo });
      assertHtml(r, 422, `admin=${JSON.stringify(typo)}`);
      assert.equal((await usersByName()).get(plain).admin, true, `admin=${JSON.stringify(typo)} changes nothing`);
    }
    assertRedirect(await a.form(`/admin/users/${p.id}`, { admin: 'false' }), '/admin/users', 'unmake admin');
    assert.equal((await usersByName()).get(plain).admin, false);
    assertTopBar((await pc.api('GET', '/')).text, plain, { what: 'no longer an admin' });

    assertRedirect(await a.form(`/admin/users/${p.id}`, { password: 'set-by-admin-pw' }), '/admin/users', 'set a password');
    const pc2 = await pageSignIn(srv.url, plain, 'set-by-admin-pw');
    assertHtml(await pageSignInRaw(srv.url, plain, 'plain-person-pw'), 401, 'the old password');

    // refused: a taken name (any case), a short password; the page again with the error
    const count = (await usersByName()).size;
    const taken = await a.form('/admin/users', { name: name.toUpperCase(), display_name: 'Kept <Name>', password: 'another-pw-1', admin: '1' });
    assertHtml(taken, 409, 'a taken name');
    assert.ok(errorText(taken.text), 'the error');
    assert.ok(byId(taken.text, 'users'), 'the users page again');
    // the add form again with what was sent (but the password), the error inside its card
    const addForm = element(taken.text, '<section class="card"><h1>Add someone');
    assert.match(addForm, new RegExp(`name="name"[^>]*value="${reEscape(name.toUpperCase())}"`), 'the name kept');
    assert.match(addForm, /name="display_name"[^>]*value="Kept &lt;Name&gt;"/, 'the display name kept, escaped');
    assert.match(addForm, /name="admin" value="1" checked/, 'the box still ticked');
    assert.doesNotMatch(addForm, /another-pw-1/, 'never the password');
    assert.match(addForm, /<p class="error" role="alert">Name: /, 'the error beside the form, in words');
    const short = await a.form('/admin/users', { name: uniqueUser('adm'), password: 'short' });
    assertHtml(short, 422, 'a short password');
    assert.match(errorText(short.text) || '', /password/i);
    assert.equal((await usersByName()).size, count, 'nobody added');

    const ptok = await pc2.ok('POST', '/api/v1/tokens', { name: 'theirs' });
    const removeForm = element((await a.api('GET', '/admin/users')).text, `<form method="post" action="/admin/users/${p.id}/delete"`);
    assert.match(removeForm, /data-confirm="Remove the account of [^"]+\? They can no longer sign in; their messages stay\."/, 'the page asks first');
    assertRedirect(await a.form(`/admin/users/${p.id}/delete`, {}), '/admin/users', 'remove');
    assert.equal((await usersByName()).has(plain), false, 'gone');
    assert.equal((await pc2.api('GET', '/api/v1/me')).status, 401, 'their session died');
    assert.equal((await new Client(srv.url, { token: ptok.token }).api('GET', '/api/v1/me')).status, 401, 'their token died');
    assert.ok(!byId((await a.api('GET', '/admin/users')).text, 'users').includes(`@${plain}`), 'no longer listed');
    u = (await usersByName()).get(name);
    assert.equal(u.admin, true, 'the other one untouched');
  });

  test('non-admins: every users form is refused (403), nothing changes', T, async () => {
    const b = await newUser(a);
    const victim = await newUser(a);
    const before = await a.get('/api/v1/users');
    for (const [p, body] of [
      ['/admin/users', { name: uniqueUser('no'), password: 'sneaky-password' }],
      [`/admin/users/${b.user.id}`, { admin: 'true' }],
      [`/admin/users/${victim.user.id}`, { password: 'sneaky-password' }],
      [`/admin/users/${victim.user.id}/delete`, {}],
    ]) {
      const r = await b.form(p, body);
      assertHtml(r, 403, `POST ${p}`);
    }
    assert.deepEqual(await a.get('/api/v1/users'), before, 'nothing changed');
    assert.equal((await victim.api('GET', '/api/v1/me')).status, 200);
  });

  test('the last admin stays an admin and stays: 409, the error on the page', T, async () => {
    await withServer(accountsOptions(), async (s) => {
      const root = await admin(s.url);
      for (const [p, body] of [[`/admin/users/${root.user.id}`, { admin: 'false' }], [`/admin/users/${root.user.id}/delete`, {}]]) {
        const r = await root.form(p, body);
        assertHtml(r, 409, `POST ${p}`);
        assert.match(errorText(r.text) || '', /admin/i, 'the error');
        assert.ok(byId(r.text, 'users'), 'the users page again');
      }
      const me = await root.get('/api/v1/me');
      assert.equal(me.admin, true);
    });
  });
});

describe('a chat\'s members page and invite links', () => {
  test('GET /chats/ID/members: members and admins see #members; anyone else the same 404 as an unknown chat', T, async () => {
    const b = await newUser(a, uniqueUser('mem'), { display_name: 'Member Bea' });
    const c = await newUser(a);
    const chat = await b.createChat('members page');
    const r = await b.api('GET', `/chats/${chat.id}/members`);
    assertHtml(r, 200, 'a member');
    const list = byId(r.text, 'members');
    assert.ok(list && list.includes('Member Bea') && list.includes(`@${b.user.name}`), '#members lists b');
    assert.ok(fields(formFor(r.text, `/chats/${chat.id}/members`) || '').user, 'the add form');
    const inv = formFor(r.text, `/chats/${chat.id}/invites`);
    assert.ok(inv, 'the invite form');
    const hours = [...inv.matchAll(/<option[^>]*\svalue=["'](\d+)["']/g)].map((m) => m[1]);
    assert.deepEqual(hours, ['24', '168', '720']);
    assertTopBar(r.text, 'Member Bea', { what: 'members page' });
    assertHtml(await a.api('GET', `/chats/${chat.id}/members`), 200, 'an admin who is no member');

    const hidden = await c.api('GET', `/chats/${chat.id}/members`);
    assertHtml(hidden, 404, 'a non-member');
    assertSameResponse(hidden, await c.api('GET', `/chats/${UNKNOWN_ID}/members`), 'non-member vs unknown chat');
    for (const [p, body] of [['members', { user: c.user.name }], ['invites', { hours: '24' }]]) {
      const x = await c.form(`/chats/${chat.id}/${p}`, body);
      assertHtml(x, 404, `a non-member posts ${p}`);
      assertSameResponse(x, await c.form(`/chats/${UNKNOWN_ID}/${p}`, body), `POST ${p}: non-member vs unknown chat`);
    }
    const page = await c.api('GET', `/chats/${chat.id}`);
    assertHtml(page, 404, 'a non-member: the chat page');
    assertSameResponse(page, await c.api('GET', `/chats/${UNKNOWN_ID}`), 'chat page: non-member vs unknown chat');
    const leave = await c.form(`/chats/${chat.id}/members/${b.user.id}/delete`, {});
    assertHtml(leave, 404, 'a non-member removes a member');
    assert.deepEqual(await memberIds(chat.id), [b.user.id], 'nothing changed');
  });

  test('add by name, remove, leave: 303s, seen in the API and on the page', T, async () => {
    const b = await newUser(a);
    const c = await newUser(a, uniqueUser('mem'), { display_name: 'Cee Member' });
    const chat = await b.createChat('members come and go');
    const back = `/chats/${chat.id}/members`;
    assertRedirect(await b.form(back, { user: ` ${c.user.name} ` }), back, 'add (the spaces a phone\'s keyboard adds are not part of the name)');
    assert.deepEqual(await memberIds(chat.id), [b.user.id, c.user.id].sort());
    assert.equal((await c.get(`/api/v1/chats/${chat.id}`)).id, chat.id, 'c sees the chat');
    const listed = byId((await b.api('GET', back)).text, 'members');
    assert.ok(listed.includes('Cee Member'), 'listed');
    assert.ok(listed.includes(`action="${back}/${c.user.id}/delete" data-confirm="Remove Cee Member from this chat?"`), 'removing asks first');
    assert.ok(listed.includes(`action="${back}/${b.user.id}/delete" data-confirm="Leave this chat? `), 'leaving asks first');

    const bad = await b.form(back, { user: 'nobody-by-that-name' });
    assertHtml(bad, 422, 'an unknown user');
    assert.equal(errorText(bad.text), 'There is no user named “nobody-by-that-name”.', 'in the page\'s words');
    assert.ok(byId(bad.text, 'members'), 'the members page again');
    assert.match(bad.text, /name="user"[^>]*value="nobody-by-that-name"/, 'the name kept in its box');
    assert.deepEqual(await memberIds(chat.id), [b.user.id, c.user.id].sort(), 'unchanged');

    assertRedirect(await b.form(`${back}/${c.user.id}/delete`, {}), back, 'remove');
    assert.deepEqual(await memberIds(chat.id), [b.user.id]);
    assert.equal((await c.api('GET', `/api/v1/chats/${chat.id}`)).status, 404, 'c lost the chat');
    assertHtml(await c.api('GET', `/chats/${chat.id}`), 404, 'and its page');

    assertRedirect(await b.form(back, { user: c.user.name }), back, 'add again');
    assertRedirect(await c.form(`${back}/${c.user.id}/delete`, {}), '/', 'c leaves');
    assert.deepEqual(await memberIds(chat.id), [b.user.id]);
    assert.equal((await c.api('GET', `/api/v1/chats/${chat.id}`)).status, 404);

    const h = await b.form(back, { user: c.user.name }, { headers: hx });
    assert.equal(h.status, 204, h.text.slice(0, 200));
    assert.equal(h.headers.get('hx-redirect'), back);
    assert.deepEqual(await memberIds(chat.id), [b.user.id, c.user.id].sort());
  });

  test('invites: a 201 page with #invite-url (no-store); the link joins through the pages; no GET makes a member; the token is never sent back', T, async () => {
    const b = await newUser(a);
    const title = `<b>Club</b> & "friends" 'here'`;
    const chat = await b.createChat(title);
    const back = `/chats/${chat.id}/members`;
    const rec = recorder();
    const created = [];
    for (const hours of [24, 168, 720]) {
      const t0 = Date.now();
      const r = await rec.add(`invite ${hours}`, b.form(`/chats/${chat.id}/invites`, { hours: String(hours) }));
      assertHtml(r, 201, `invite for ${hours} h`);
      assert.match(r.headers.get('cache-control') || '', /no-store/, 'Cache-Control: no-store');
      const url = attr(byId(r.text, 'invite-url') || '', 'value');
      const m = new RegExp(`^http://127\\.0\\.0\\.1:${srv.port}/join/([^/?#]+)$`).exec(url || '');
      assert.ok(m, `#invite-url is http://HOST/join/TOKEN: ${url}`);
      assert.match(m[1], SECRET_RE);
      const when = [...r.text.matchAll(/<time[^>]*\sdatetime=["']([^"']+)["']/g)].map((x) => Date.parse(x[1])).filter((x) => !Number.isNaN(x));
      assert.ok(when.some((x) => Math.abs(x - (t0 + hours * 3600e3)) < 120e3), `expires in ${hours} h: ${when.map((x) => new Date(x).toISOString())}`);
      assert.ok(byId(r.text, 'members'), 'on the members page');
      created.push(m[1]);
    }
    assert.equal(new Set(created).size, 3, 'a new token each time');
    for (const hours of ['0', '721', 'abc']) {
      const r = await rec.add(`invite bad ${hours}`, b.form(`/chats/${chat.id}/invites`, { hours }));
      assertHtml(r, 422, `hours ${JSON.stringify(hours)}`);
      assert.match(errorText(r.text) || '', /^Hours: /, 'the error names hours');
      assert.equal(byId(r.text, 'invite-url'), null, 'no link');
    }
    await rec.add('members page after', b.api('GET', back));
    const [token] = created;

    // d, signed in, opens the link, sees the confirmation, joins
    const d = await newUser(a);
    const link = await rec.add('d GET /join/TOKEN', d.api('GET', `/join/${token}`));
    assertRedirect(link, '/join', 'the link');
    const ic = cookieNamed(link, 'parley_invite');
    assert.ok(ic && ic.value.length > 0, `a parley_invite cookie: ${JSON.stringify(setCookies(link))}`);
    assert.equal(ic.attrs.path, '/join', ic.raw);
    assert.equal(ic.attrs.httponly, true, ic.raw);
    assert.notEqual(ic.value, token, 'the cookie is not the token');
    assert.ok(!ic.value.includes(token) && !token.includes(ic.value), 'nor holds it');
    const dj = withCookies(d, ic.pair);
    const confirm = await rec.add('d GET /join', dj.api('GET', '/join'));
    assertHtml(confirm, 200, 'the confirmation');
    assertEscaped(confirm.text, `<b>Club</b> & "friends"`, 'the chat title');
    assert.ok(formFor(confirm.text, '/join'), 'a POST /join form');
    assertTopBar(confirm.text, d.user.display_name, { what: 'join page' });
    assert.equal((await d.api('GET', `/api/v1/chats/${chat.id}`)).status, 404, 'no GET made d a member');
    assertRedirect(await rec.add('d POST /join', dj.form('/join', {})), `/chats/${chat.id}`, 'join');
    assert.ok((await memberIds(chat.id)).includes(d.user.id), 'd is a member');
    assertHtml(await d.api('GET', `/chats/${chat.id}`), 200, 'the chat page');

    // e, not signed in: the link, then sign in, then confirm
    const e = await newUser(a);
    const nobody = new Client(srv.url);
    const el = await rec.add('anon GET /join/TOKEN', nobody.api('GET', `/join/${created[1]}`));
    assertRedirect(el, '/join', 'the link without a session');
    const eic = cookieNamed(el, 'parley_invite');
    assert.ok(eic && eic.value.length > 0, 'the invite cookie');
    assertToLogin(await rec.add('anon GET /join', new Client(srv.url, { cookie: eic.pair }).api('GET', '/join')), '/join', 'to sign in first');
    const signed = await rec.add('e signs in', pageSignInRaw(srv.url, e.user.name, e.password, { next: '/join' }));
    assertRedirect(signed, '/join', 'back to /join');
    const ej = new Client(srv.url, { cookie: `${sessionCookie(signed).pair}; ${eic.pair}` });
    assertHtml(await rec.add('e GET /join', ej.api('GET', '/join')), 200, 'e: the confirmation');
    assert.equal((await e.api('GET', `/api/v1/chats/${chat.id}`)).status, 404, 'e not yet a member');
    assertRedirect(await rec.add('e POST /join', ej.form('/join', {})), `/chats/${chat.id}`, 'e joins');
    assert.ok((await memberIds(chat.id)).includes(e.user.id), 'e is a member');

    // f: POST /join/TOKEN, signed in, joins at once
    const f = await newUser(a);
    assertRedirect(await rec.add('f POST /join/TOKEN', f.form(`/join/${created[2]}`, {})), `/chats/${chat.id}`, 'POST /join/TOKEN');
    assert.ok((await memberIds(chat.id)).includes(f.user.id), 'f is a member');
    assertRedirect(await rec.add('f POST /join/TOKEN again', f.form(`/join/${created[2]}`, {})), `/chats/${chat.id}`, 'joining again leads to the chat');
    const ids = await memberIds(chat.id);
    assert.deepEqual(ids, [...new Set(ids)], 'nobody twice');
    assert.deepEqual(ids, [b.user.id, d.user.id, e.user.id, f.user.id].sort());
    await rec.add('members page at the end', b.api('GET', back));
    for (const [i, t] of created.entries()) rec.assertNowhere(t, `invite token ${i + 1}`, [`invite ${[24, 168, 720][i]}`]);
  });

  test('a bad or expired invite: 404 pages, nobody joins', T, async () => {
    const db = pool.freshDb();
    let s = await pool.start(accountsOptions({ db }));
    let root = await admin(s.url);
    const chat = await root.createChat('expiring');
    const inv = await root.form(`/chats/${chat.id}/invites`, { hours: '24' });
    assertHtml(inv, 201);
    const token = /\/join\/([^/?#"]+)$/.exec(attr(byId(inv.text, 'invite-url'), 'value'))[1];
    let d = await newUser(root);

    const tryJoin = async (who, t, what) => {
      const link = await who.api('GET', `/join/${t}`);
      let page = link;
      let joiner = who;
      if (link.status === 303) {
        assert.equal(link.headers.get('location'), '/join', `${what}: the link goes to /join`);
        const ic = cookieNamed(link, 'parley_invite');
        joiner = ic && ic.value ? withCookies(who, ic.pair) : who;
        page = await joiner.api('GET', '/join');
      }
      assertHtml(page, 404, `${what}: GET /join`);
      assertHtml(await joiner.form('/join', {}), 404, `${what}: POST /join`);
      assertHtml(await who.form(`/join/${t}`, {}), 404, `${what}: POST /join/TOKEN`);
      assert.equal((await who.api('GET', `/api/v1/chats/${chat.id}`)).status, 404, `${what}: no member`);
    };
    await tryJoin(d, 'A'.repeat(32), 'a made-up token');
    await tryJoin(d, token.slice(0, -2), 'a cut token');
    assertHtml(await d.form('/join', {}), 404, 'POST /join without an invite');

    await pool.stop(s);
    runSql(db, 'UPDATE invites SET expires_at = 1;');
    s = await pool.start(accountsOptions({ db }));
    root = await admin(s.url);
    d = await signIn(s.url, d.user.name, d.password);
    await tryJoin(d, token, 'an expired token');
    assert.deepEqual((await root.get(`/api/v1/chats/${chat.id}/members`)).members.map((m) => m.id), [root.user.id]);
    await pool.stop(s);
  });
});

describe('the top bar and the chat page', () => {
  test('every page shows the person\'s menu (name, /account, sign out); Users only for admins', T, async () => {
    const b = await newUser(a, uniqueUser('top'), { display_name: 'Topbar Bea' });
    const chat = await b.createChat('top bar');
    for (const p of ['/', '/bots', `/chats/${chat.id}`, `/chats/${chat.id}/members`, '/account', `/chats/${UNKNOWN_ID}`, '/admin/users', '/setup']) {
      const r = await b.api('GET', p);
      assert.ok([200, 403, 404].includes(r.status), `${p}: ${r.status}`);
      assertHtml(r, r.status, `b ${p}`);
      assertTopBar(r.text, 'Topbar Bea', { what: `b ${p}` });
    }
    for (const p of ['/', '/bots', `/chats/${chat.id}`, `/chats/${chat.id}/members`, '/account', '/admin/users', `/chats/${UNKNOWN_ID}`]) {
      const r = await a.api('GET', p);
      assertHtml(r, p.includes(UNKNOWN_ID) ? 404 : 200, `admin ${p}`);
      assertTopBar(r.text, a.user.display_name, { isAdmin: true, what: `admin ${p}` });
    }
  });

  test('error pages for an unknown path and a wrong method carry the top bar too', T, async () => {
    const b = await newUser(a, uniqueUser('top'), { display_name: 'Lost Bea' });
    const problems = [];
    for (const [method, p, status] of [['GET', '/no-such-page', 404], ['GET', '/chats/abc/nothing-here', 404], ['DELETE', '/account', 405], ['GET', '/account/tokens', 405]]) {
      const r = await b.api(method, p);
      assertHtml(r, status, `${method} ${p}`);
      try {
        assertTopBar(r.text, 'Lost Bea', { what: `${method} ${p}` });
      } catch (e) {
        problems.push(`${method} ${p} → ${r.status}: ${e.message.split(':')[0]}; top bar seen: ${(/<header class="topbar">[\s\S]*?<\/header>/.exec(r.text) || ['none'])[0]}`);
      }
    }
    assert.deepEqual(problems, [], 'every error page shows who is signed in');
  });

  test('the chat page: no author field and a members link with accounts; with --auth none the author field, no link', T, async () => {
    const b = await newUser(a);
    const chat = await b.createChat('composer');
    const r = await b.api('GET', `/chats/${chat.id}`);
    assertHtml(r, 200);
    const composer = byId(r.text, 'composer');
    assert.ok(composer, '#composer');
    assert.doesNotMatch(composer, /name=["']author["']/, 'no author field');
    assert.match(composer, /<textarea[^>]*name=["']body["']/);
    const link = byClass(r.text, 'members-link');
    assert.ok(link, '.members-link');
    assert.equal(attr(link, 'href'), `/chats/${chat.id}/members`);
    await withServer({}, async (s) => {
      const c = await api(s.url, 'POST', '/api/v1/chats', { title: 'open' });
      const p = await api(s.url, 'GET', `/chats/${c.json.id}`);
      assertHtml(p, 200, '--auth none');
      assert.match(byId(p.text, 'composer') || '', /<input[^>]*name=["']author["']/, 'the author field');
      assert.equal(byClass(p.text, 'members-link'), null, 'no members link');
      assert.equal(byClass(p.text, 'user-menu'), null, 'no user menu');
      assert.ok(!p.text.includes(`/chats/${c.json.id}/members`), 'no link to a members page');
    });
  });

  test('a hostile display name is escaped in the top bar, members, users, the chat page and the HTML stream', T, async () => {
    const name = uniqueUser('esc');
    assertRedirect(await a.form('/admin/users', { name, display_name: HOSTILE, password: 'hostile-pw-1' }), '/admin/users', 'add');
    const e = await signIn(srv.url, name, 'hostile-pw-1');
    assert.equal(e.user.display_name, HOSTILE);
    const b = await newUser(a);
    const chat = await e.createChat('escapes');
    assertRedirect(await e.form(`/chats/${chat.id}/members`, { user: b.user.name }), `/chats/${chat.id}/members`);
    const s = srv.track(await b.readyStream(htmlStreamPath(chat.id)));
    const m = await e.post(chat.id, 'hello from e');
    await s.waitFor((st) => st.events.some((f) => f.event === 'message' && f.data.includes(`msg-${m.seq}"`)), 5000, 'the message on the HTML stream');
    const frag = s.events.find((f) => f.event === 'message' && f.data.includes(`msg-${m.seq}"`)).data;
    assertEscaped(frag, HOSTILE, 'the stream fragment');
    assert.doesNotMatch(frag, /<img/);

    const check = async (who, p, part, what) => {
      const r = await who.api('GET', p);
      assertHtml(r, 200, what);
      assert.doesNotMatch(r.text, /<img/, `${what}: no raw tag anywhere`);
      const section = part(r.text);
      assert.ok(section, `${what}: the part`);
      assertEscaped(section, HOSTILE, what);
    };
    await check(e, '/', (h) => byClass(h, 'user-menu'), 'top bar on /');
    await check(e, '/account', (h) => byClass(h, 'user-menu'), 'top bar on /account');
    await check(e, '/account', (h) => formFor(h, '/account'), 'the display name field');
    await check(e, `/chats/${chat.id}`, (h) => byClass(h, 'user-menu'), 'top bar on the chat page');
    await check(b, `/chats/${chat.id}/members`, (h) => byId(h, 'members'), 'members list');
    await check(a, '/admin/users', (h) => byId(h, 'users'), 'users list');
    await check(b, `/chats/${chat.id}`, (h) => byClass(h, 'msg-author'), 'message author on the chat page');
  });

  test('the cached chat page is personal: each reader sees their own name, never another\'s; a new message reaches both', T, async () => {
    const ada = await newUser(a, uniqueUser('cache'), { display_name: 'Ada Cachewell' });
    const bob = await newUser(a, uniqueUser('cache'), { display_name: 'Bob Cachemore' });
    const cy = await newUser(a, uniqueUser('cache'), { display_name: 'Cy Poster' });
    const chat = await cy.createChat('cached for all');
    for (const who of [ada, bob]) assert.equal((await cy.api('POST', `/api/v1/chats/${chat.id}/members`, { user: who.user.id })).status, 201);
    await cy.post(chat.id, 'words before');
    const readers = [[ada, 'Ada Cachewell', 'Bob Cachemore'], [bob, 'Bob Cachemore', 'Ada Cachewell']];
    const round = async (expect, what) => {
      for (let i = 0; i < 3; i++) {
        // an admin first: its Users link must not reach the others either
        assertTopBar((await a.api('GET', `/chats/${chat.id}`)).text, a.user.display_name, { isAdmin: true, what });
        for (const [who, mine, other] of i % 2 ? [...readers].reverse() : readers) {
          const r = await who.api('GET', `/chats/${chat.id}`);
          assertHtml(r, 200, `${what}: ${mine}`);
          assertTopBar(r.text, mine, { what: `${what}: ${mine}, round ${i + 1}` });
          assert.ok(!r.text.includes(other), `${what}: ${mine}'s page names ${other}`);
          assert.ok(r.text.includes(expect), `${what}: ${mine} sees ${JSON.stringify(expect)}`);
        }
      }
    };
    await round('words before', 'before');
    await cy.post(chat.id, 'fresh words after');
    await round('fresh words after', 'after a message');
    assertRedirect(await cy.form(`/chats/${chat.id}/messages`, { body: 'a third, by form' }), `/chats/${chat.id}`, 'a form post');
    await round('a third, by form', 'after a form post');
    // a new display name shows at once, though the chat (and its cached page) did not change
    await bob.ok('PATCH', `/api/v1/users/${bob.user.id}`, { display_name: 'Bob Renamed' });
    readers[1][1] = 'Bob Renamed';
    readers[0][2] = 'Bob Renamed';
    await round('a third, by form', 'after a rename');
    assert.ok(!(await bob.api('GET', `/chats/${chat.id}`)).text.includes('Bob Cachemore'), 'the old name is gone');
  });
});

describe('no session: pages send people to sign in, and nothing changes', () => {
  /** A chat with b, c; a token of b; u to act on; o an outsider with an invite cookie. */
  let fx;
  before(async () => {
    await srv.ready();
    const adm = await admin(srv.url);
    const b = await newUser(adm);
    const c = await newUser(adm);
    const u = await newUser(adm);
    const o = await newUser(adm);
    const chat = await b.createChat('guarded');
    await b.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: c.user.id });
    const tok = await b.ok('POST', '/api/v1/tokens', { name: 'kept' });
    const invite = new URL((await b.ok('POST', `/api/v1/chats/${chat.id}/invites`, { hours: 24 })).url).pathname.slice('/join/'.length);
    const link = await o.api('GET', `/join/${invite}`);
    const ic = cookieNamed(link, 'parley_invite');
    assert.ok(ic, 'an invite cookie');
    fx = { adm, b, c, u, o, chat, tok, invite, inviteCookie: ic.pair, oj: withCookies(o, ic.pair) };
  });

  /** What the routes below could change. */
  async function state() {
    const { adm, b, c, u, o, chat } = fx;
    return {
      users: (await adm.get('/api/v1/users')).users,
      tokens: (await b.get('/api/v1/tokens')).tokens,
      members: await memberIds(chat.id, adm),
      sessions: await Promise.all([adm, b, c, u, o].map(async (w) => (await w.api('GET', '/api/v1/me')).status)),
      bearer: (await new Client(srv.url, { token: fx.tok.token }).api('GET', '/api/v1/me')).status,
      oSees: (await o.api('GET', `/api/v1/chats/${chat.id}`)).status,
      messages: (await b.get(`/api/v1/chats/${chat.id}/messages`)).messages.length,
    };
  }

  /** [method, path, fields, who may post it (for the cross-site test)] */
  const routes = () => {
    const { b, u, c, o, chat, tok, adm, oj } = fx;
    return [
      ['GET', '/'],
      ['GET', `/chats/${chat.id}`],
      ['GET', '/account'],
      ['POST', '/account', { display_name: 'Changed By Someone' }, b],
      ['POST', '/account/password', { old_password: b.password, password: 'changed-password-1' }, b],
      ['POST', '/account/tokens', { name: 'sneaky' }, b],
      ['POST', `/account/tokens/${tok.id}/delete`, {}, b],
      ['POST', '/logout', {}, b],
      ['GET', '/admin/users'],
      ['POST', '/admin/users', { name: 'sneaky-user', password: 'sneaky-password', admin: '1' }, adm],
      ['POST', `/admin/users/${u.user.id}`, { admin: 'true' }, adm],
      ['POST', `/admin/users/${u.user.id}`, { password: 'sneaky-password' }, adm],
      ['POST', `/admin/users/${u.user.id}/delete`, {}, adm],
      ['GET', `/chats/${chat.id}/members`],
      ['POST', `/chats/${chat.id}/members`, { user: o.user.name }, b],
      ['POST', `/chats/${chat.id}/members/${c.user.id}/delete`, {}, b],
      ['POST', `/chats/${chat.id}/invites`, { hours: '24' }, b],
      ['POST', `/chats/${chat.id}/messages`, { body: 'sneaky message' }, b],
      ['GET', '/join'],
      ['POST', '/join', {}, oj],
    ];
  };

  test('every page route without a session (none, a made-up one, a dead one): 303 /login?next=PATH', T, async () => {
    const before = await state();
    const dead = await signIn(srv.url, fx.b.user.name, fx.b.password);
    assert.equal((await dead.api('DELETE', '/api/v1/session')).status, 204);
    const cookies = [null, 'parley_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', dead.cookie];
    const problems = [];
    for (const cookie of cookies) {
      for (const [method, p, body] of routes()) {
        // an invite cookie alone is no session either
        const jar = [cookie, p.startsWith('/join') ? fx.inviteCookie : null].filter(Boolean).join('; ');
        const headers = { ...same, ...(jar ? { Cookie: jar } : {}) };
        const r = method === 'GET' ? await api(srv.url, 'GET', p, undefined, { headers }) : await new Client(srv.url).form(p, body, { headers });
        try {
          assertToLogin(r, p, `${method} ${p} (cookie ${cookie ? cookie.slice(0, 24) : 'none'})`);
          assert.equal(sessionCookie(r), null, 'no session handed out');
        } catch (e) {
          problems.push(e.message);
        }
      }
    }
    assert.deepEqual(problems, [], 'every page route sends to sign in');
    assert.deepEqual(await state(), before, 'nothing changed');
  });

  test('a page\'s htmx request without a session (signed out under an open tab): 401 with HX-Redirect to sign in and back to that page', T, async () => {
    const before = await state();
    const { chat } = fx;
    const page = `/chats/${chat.id}`;
    const cases = [
      [`${srv.url}${page}`, page],
      [`${srv.url}${page}?x=1#end`, page],   // the page's path, not its query
      ['not a URL', '/'],                       // else the chats (the request's own path
      [null, '/'],                              // takes only POST)
    ];
    for (const [current, back] of cases) {
      const headers = { ...same, 'HX-Request': 'true', ...(current ? { 'HX-Current-URL': current } : {}) };
      const r = await new Client(srv.url).form(`${page}/messages`, { body: 'typed before the session ended' }, { headers });
      assert.equal(r.status, 401, `${current}: 401, not a redirect htmx would follow into the page`);
      assert.equal(r.headers.get('location'), null);
      assert.equal(r.headers.get('hx-redirect'), `/login?next=${encodeURIComponent(back).replace(/%2F/g, '/')}`, `${current}: the whole page goes to sign in`);
    }
    assert.deepEqual(await state(), before, 'nothing changed');
  });

  test('cross-site form posts (Sec-Fetch-Site cross-site or same-site, a foreign Origin, neither): 403, nothing changes', T, async () => {
    const before = await state();
    const variants = [
      { 'Sec-Fetch-Site': 'cross-site' },
      { 'Sec-Fetch-Site': 'same-site' },
      { 'Sec-Fetch-Site': null, Origin: 'https://evil.example' },
      { 'Sec-Fetch-Site': null },
    ];
    const posts = routes().filter(([m]) => m === 'POST');
    posts.push(['POST', `/join/${fx.invite}`, {}, fx.o]);
    const problems = [];
    for (const headers of variants) {
      for (const [, p, body, who] of posts) {
        const r = await who.form(p, body, { headers });
        const what = `POST ${p} ${JSON.stringify(headers)}`;
        try {
          assert.equal(r.status, 403, `${what}: ${r.status} ${r.headers.get('location') || ''} ${r.text.slice(0, 200)}`);
          assert.equal(setCookies(r).length, 0, `${what}: no cookie`);
          assert.doesNotMatch(r.text, /id=["'](?:new-token|invite-url)["']/, `${what}: no secret`);
        } catch (e) {
          problems.push(e.message);
        }
      }
      // signing in from another site is refused too, with the right password (a request
      // with neither header is a program's, and not cookie-authenticated: allowed)
      const li = headers['Sec-Fetch-Site'] === null && !headers.Origin ? null : await pageSignInRaw(srv.url, fx.c.user.name, fx.c.password, { headers });
      if (li && (li.status !== 403 || sessionCookie(li))) problems.push(`POST /login ${JSON.stringify(headers)}: ${li.status}, cookie ${JSON.stringify(setCookies(li))}`);
      try {
        assert.deepEqual(await state(), before, `after ${JSON.stringify(headers)}`);
      } catch (e) {
        problems.push(e.message);
      }
    }
    assert.deepEqual(problems, [], 'every cross-site form post is refused');
    // and the same posts from the pages themselves work (the refusals were not for another reason)
    assertRedirect(await fx.b.form('/account', { display_name: 'Same Origin Works' }), '/account?done=name');
  });
});
