// Helpers for the accounts-mode tests (SPEC §7): people signed in by cookie, programs by
// Bearer token, the first admin from the environment or from the printed setup link.
//   ADMIN, adminEnv(), accountsOptions()   the first admin and server options for --auth accounts
//   useAccountsServer()                    useServer() for --auth accounts with that admin
//   Client                                 requests as someone: cookie (with Sec-Fetch-Site:
//                                          same-origin) or Bearer token; .api() .form() .stream()
//   signIn(), trySignIn(), admin()         POST /api/v1/session
//   sessionCookie(), setCookies()          Set-Cookie parsing
//   newUser()                              an admin creates a user, who signs in
//   newToken()                             POST /api/v1/tokens; a Bearer client for it
//   setupLine(), setupFromLink()           the "parley setup:" line and POST /api/v1/setup
//   assertSameResponse()                   two responses alike but for Date
//   endsWithin()                           a stream's last `deleted` event and its end, timed
//   runSql()                               SQL on a stopped server's database (sqlite3, or psql
//                                          for a postgres:// URL)
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, postForm, openStream, parsedEvent, useServer, startServer, isPostgresUrl } from './helpers.mjs';

export const ADMIN = { name: 'ada', password: 'ada-secret-pw-1' };

/** The environment that makes ADMIN the first admin. */
export const adminEnv = (who = ADMIN) => ({ PARLEY_ADMIN: who.name, PARLEY_ADMIN_PASSWORD: who.password });

/** startServer() options for --auth accounts with ADMIN (extra `args`, `env` and options merged). */
export const accountsOptions = ({ env = {}, ...rest } = {}) => ({ auth: 'accounts', env: { ...adminEnv(), ...env }, ...rest });

/** useServer() for --auth accounts with ADMIN created from the environment. */
export const useAccountsServer = (options = {}) => useServer(accountsOptions(options));

/** startServer() for --auth accounts with ADMIN. */
export const startAccountsServer = (options = {}) => startServer(accountsOptions(options));

/** Every Set-Cookie header of a fetch or raw response. */
export function setCookies(res) {
  if (res.headers && typeof res.headers.getSetCookie === 'function') return res.headers.getSetCookie();
  if (res.rawHeaders) return res.rawHeaders.filter(([k]) => k === 'set-cookie').map(([, v]) => v);
  return [];
}

/**
 * The parley_session cookie set by a response: {raw, value, attrs (lower-case names → value
 * or true), pair ("parley_session=…")}, or null when there is none.
 */
export function sessionCookie(res) {
  const raw = setCookies(res).find((c) => /^parley_session=/.test(c));
  if (!raw) return null;
  const [pair, ...rest] = raw.split(';').map((s) => s.trim());
  const attrs = {};
  for (const a of rest) {
    const i = a.indexOf('=');
    if (i < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
  }
  return { raw, pair, value: pair.slice('parley_session='.length), attrs };
}

/** Someone talking to the server: by cookie (`cookie`: "parley_session=…") or Bearer `token`. */
export class Client {
  constructor(base, { cookie = null, token = null, user = null } = {}) {
    this.base = base;
    this.cookie = cookie;
    this.token = token;
    this.user = user;
  }
  /** The credential headers alone (no CSRF header). */
  authHeaders() {
    if (this.token) return { Authorization: `Bearer ${this.token}` };
    if (this.cookie) return { Cookie: this.cookie };
    return {};
  }
  /**
   * api() with the credential and, for a cookie, `Sec-Fetch-Site: same-origin` (as a browser
   * sends on its own pages). `headers` are merged over those; a null value drops a header.
   */
  api(method, p, body, { headers = {}, ...opts } = {}) {
    return api(this.base, method, p, body, { ...opts, headers: this.headers(headers) });
  }
  /** A form post (application/x-www-form-urlencoded) with the same headers as api(). */
  form(p, fields, { headers = {}, ...opts } = {}) {
    return postForm(this.base, p, fields, { ...opts, headers: this.headers(headers) });
  }
  headers(extra = {}) {
    const h = { ...this.authHeaders() };
    if (this.cookie && !this.token) h['Sec-Fetch-Site'] = 'same-origin';
    for (const [k, v] of Object.entries(extra)) {
      for (const old of Object.keys(h)) if (old.toLowerCase() === k.toLowerCase()) delete h[old];
      if (v !== null) h[k] = v;
    }
    return h;
  }
  /** openStream() with the credential. */
  stream(p, opts = {}) {
    return openStream(this.base, p, { ...opts, headers: { ...this.authHeaders(), ...(opts.headers || {}) } });
  }
  /** A 200 stream whose first event (the snapshot) has arrived. */
  async readyStream(p, opts = {}) {
    const s = await this.stream(p, opts);
    assert.equal(s.status, 200, `GET ${p}: ${s.status} ${s.body}`);
    await s.waitFor(1, 5000);
    assert.equal(s.events[0].event, 'snapshot', `GET ${p}: first event`);
    return s;
  }
  /** GET and assert 200; returns the JSON. */
  async get(p) {
    const r = await this.api('GET', p);
    assert.equal(r.status, 200, `GET ${p}: ${r.status} ${r.text}`);
    return r.json;
  }
  /** method p body, asserting `status` (default 201 for POST, else 200); returns the JSON. */
  async ok(method, p, body, status = method === 'POST' ? 201 : 200) {
    const r = await this.api(method, p, body);
    assert.equal(r.status, status, `${method} ${p} ${JSON.stringify(body)}: ${r.status} ${r.text}`);
    return r.json;
  }
  createChat(title = 'chat', extra = {}) {
    return this.ok('POST', '/api/v1/chats', { title, ...extra });
  }
  post(chatId, body) {
    return this.ok('POST', `/api/v1/chats/${chatId}/messages`, { body });
  }
}

/** POST /api/v1/session (with `Sec-Fetch-Site: same-origin` unless headers say otherwise); the raw api() answer. */
export function trySignIn(base, name, password, headers = { 'Sec-Fetch-Site': 'same-origin' }) {
  return api(base, 'POST', '/api/v1/session', { name, password }, { headers });
}

/** Sign in (asserting 200, a User and a session cookie); returns a cookie Client. */
export async function signIn(base, name, password) {
  const r = await trySignIn(base, name, password);
  assert.equal(r.status, 200, `sign in as ${name}: ${r.status} ${r.text}`);
  const c = sessionCookie(r);
  assert.ok(c && c.value.length > 0, `sign in as ${name}: a parley_session cookie: ${JSON.stringify(setCookies(r))}`);
  assert.equal(r.json.name.toLowerCase(), name.toLowerCase(), 'the User signed in');
  return new Client(base, { cookie: c.pair, user: r.json });
}

/** ADMIN signed in. */
export const admin = (base) => signIn(base, ADMIN.name, ADMIN.password);

let userCounter = 0;
/** A fresh user name (lower case, unique in this process). */
export const uniqueUser = (prefix = 'u') => `${prefix}${process.pid % 1000}x${++userCounter}`;

/** `adm` (an admin Client) creates user `name` (fresh if omitted), who then signs in; returns their Client. */
export async function newUser(adm, name = uniqueUser(), { password = `pw-${name}-secret`, ...extra } = {}) {
  const u = await adm.ok('POST', '/api/v1/users', { name, password, ...extra });
  const c = await signIn(adm.base, name, password);
  c.password = password;
  assert.equal(c.user.id, u.id);
  return c;
}

/** `c` creates an API token; returns {id, token, created (the 201 body), client (Bearer)}. */
export async function newToken(c, name = 'script') {
  const created = await c.ok('POST', '/api/v1/tokens', { name });
  assert.equal(typeof created.token, 'string');
  return { id: created.id, token: created.token, created, client: new Client(c.base, { token: created.token, user: c.user }) };
}

const SETUP_RE = /^parley setup: (http:\/\/\S+\/setup\?token=(\S+))$/m;

/** The setup line of `stdout`: {url, token}, or null. */
export function setupLine(stdout) {
  const m = SETUP_RE.exec(stdout);
  return m ? { url: m[1], token: m[2] } : null;
}

/** Create the first admin through POST /api/v1/setup with the printed token; returns {client, res, token}. */
export async function setupFromLink(server, name, password) {
  const line = setupLine(server.stdout());
  assert.ok(line, `a setup line on stdout: ${JSON.stringify(server.stdout())}`);
  const res = await api(server.url, 'POST', '/api/v1/setup', { token: line.token, name, password }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
  assert.equal(res.status, 201, `setup: ${res.status} ${res.text}`);
  const c = sessionCookie(res);
  assert.ok(c, `setup sets a session cookie: ${JSON.stringify(setCookies(res))}`);
  return { client: new Client(server.url, { cookie: c.pair, user: res.json }), res, token: line.token, cookie: c };
}

/** A response (api(), rawRequest() or a stream's) as {status, headers: [[name, value]] sorted, Date left out, body}. */
export function responseShape(r) {
  const entries = typeof r.headers.entries === 'function' && !(r.headers instanceof Object && r.headers.constructor === Object) ? [...r.headers.entries()] : Object.entries(r.headers);
  const headers = entries.filter(([k]) => k.toLowerCase() !== 'date').map(([k, v]) => [k.toLowerCase(), v]).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
  return { status: r.status, headers, body: r.text !== undefined ? r.text : r.body };
}

/** Assert two responses alike: status, headers but Date, body. */
export function assertSameResponse(a, b, what = '') {
  assert.deepEqual(responseShape(a), responseShape(b), `${what}: the two responses differ`);
}

/**
 * Stream `s` ends (within `limit` ms of `t0`, the moment the revoking request was answered),
 * with a last `deleted` event whose JSON names `reason` (JSON streams; HTML streams: a
 * `<p class="notice">` fragment). Returns the ms it took.
 */
export async function endsWithin(s, t0, { reason, html = false, limit = 1000, what = 'stream' } = {}) {
  await s.waitEnd(limit + 2000);
  const ms = Date.now() - t0;
  assert.ok(s.endedCleanly, `${what}: ended cleanly (last chunk), error ${s.error}`);
  const last = s.events[s.events.length - 1];
  assert.equal(last.event, 'deleted', `${what}: the last event`);
  if (html) {
    assert.match(last.data, /<p class="notice"/, `${what}: the deleted event is a notice fragment`);
  } else {
    assert.deepEqual(parsedEvent(last).json, { reason }, `${what}: the deleted event's data`);
  }
  assert.ok(ms < limit, `${what}: ended ${ms} ms after the revoking answer (limit ${limit})`);
  return ms;
}

/**
 * Run `sql` on database `db` (a SQLite file: the sqlite3 CLI; a postgres:// URL: psql) and
 * return its output: values separated by |, one row a line, no headers, as sqlite3 prints them.
 */
export const runSql = (db, sql) =>
  isPostgresUrl(db)
    ? execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { encoding: 'utf8', timeout: 5000 })
    : execFileSync('/usr/bin/sqlite3', [db, sql], { encoding: 'utf8', timeout: 5000 });

// ---------------------------------------------------------------------------
// Page helpers (added for account_pages.test.mjs)
//   cookieNamed()                      any Set-Cookie of a response, parsed like sessionCookie()
//   pageSignInRaw(), pageSignIn()      POST /login (the sign-in page's form)

/** The cookie `name` set by a response: {raw, pair, value, attrs}, or null (the last one wins). */
export function cookieNamed(res, name) {
  const raws = setCookies(res).filter((c) => c.startsWith(`${name}=`));
  if (raws.length === 0) return null;
  const raw = raws[raws.length - 1];
  const [pair, ...rest] = raw.split(';').map((s) => s.trim());
  const attrs = {};
  for (const a of rest) {
    const i = a.indexOf('=');
    if (i < 0) attrs[a.toLowerCase()] = true;
    else attrs[a.slice(0, i).toLowerCase()] = a.slice(i + 1);
  }
  return { raw, pair, value: pair.slice(name.length + 1), attrs };
}

/**
 * POST /login as the sign-in page's form does (name, password and, unless undefined, next),
 * with `Sec-Fetch-Site: same-origin` unless `headers` say otherwise (a null value drops a
 * header); the raw postForm() answer.
 */
export function pageSignInRaw(base, name, password, { next, headers = {} } = {}) {
  const fields = { name, password };
  if (next !== undefined) fields.next = next;
  const h = { 'Sec-Fetch-Site': 'same-origin', ...headers };
  for (const k of Object.keys(h)) if (h[k] === null) delete h[k];
  return postForm(base, '/login', fields, { headers: h });
}

/** Sign in through the page (asserting 303 to `next` and a session cookie); returns a cookie Client (with .user from /api/v1/me). */
export async function pageSignIn(base, name, password, next = '/') {
  const r = await pageSignInRaw(base, name, password, { next });
  assert.equal(r.status, 303, `page sign-in as ${name}: ${r.status} ${r.text.slice(0, 300)}`);
  assert.equal(r.headers.get('location'), next, `page sign-in as ${name}: Location`);
  const c = sessionCookie(r);
  assert.ok(c && c.value.length > 0, `page sign-in as ${name}: a parley_session cookie: ${JSON.stringify(setCookies(r))}`);
  const client = new Client(base, { cookie: c.pair });
  client.user = await client.get('/api/v1/me');
  client.password = password;
  return client;
}
