// Sessions over time (SPEC §7): they survive a restart, die when idle (--session-days), and
// `parley admin reset` replaces a forgotten password with the server stopped. Sign-in
// throttling: 5 failures for a name or 20 from an address, then 429 with Retry-After; behind a
// --trusted-proxy the address is the client its X-Forwarded-For names.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { useServerPool, runParley, assertError, onPostgres } from './helpers.mjs';
import { ADMIN, accountsOptions, admin, newUser, newToken, trySignIn, signIn, Client, runSql } from './account_helpers.mjs';

const T = { timeout: 30000 };
const pool = useServerPool();

const DAY = 86400;

/** Move the sessions of `userId` back `days` days (the server must be stopped). */
function age(db, userId, days) {
  runSql(db, `UPDATE sessions SET last_seen = last_seen - ${days * DAY}, created_at = created_at - ${days * DAY} WHERE user_id = '${userId}';`);
  const rows = runSql(db, `SELECT count(*) FROM sessions WHERE user_id = '${userId}';`).trim();
  assert.ok(Number(rows) >= 1, `sessions of ${userId} in the table: ${rows}`);
}

describe('sessions', () => {
  test('a session and a token survive a restart', T, async () => {
    const db = pool.freshDb();
    let s = await pool.start(accountsOptions({ db }));
    const a = await admin(s.url);
    const tok = await newToken(a);
    await pool.stop(s);
    s = await pool.start(accountsOptions({ db }));
    const again = new Client(s.url, { cookie: a.cookie });
    assert.deepEqual(await again.get('/api/v1/me'), a.user, 'the same cookie');
    assert.deepEqual(await new Client(s.url, { token: tok.token }).get('/api/v1/me'), a.user, 'the same token');
    assert.equal((await again.api('POST', '/api/v1/chats', { title: 'after restart' })).status, 201);
    await pool.stop(s);
  });

  test('idle for 31 days: the session is dead (30 days by default); a fresh one lives', T, async () => {
    const db = pool.freshDb();
    let s = await pool.start(accountsOptions({ db }));
    const a = await admin(s.url);
    const old = await newUser(a);
    await pool.stop(s);
    age(db, old.user.id, 31);
    s = await pool.start(accountsOptions({ db }));
    const r = await new Client(s.url, { cookie: old.cookie }).api('GET', '/api/v1/me');
    assertError(r, 401, 'idle 31 days');
    assert.deepEqual(r.json, { detail: 'sign in' });
    assert.equal((await new Client(s.url, { cookie: a.cookie }).api('GET', '/api/v1/me')).status, 200, 'not idle: alive');
    await signIn(s.url, old.user.name, old.password); // the account itself is fine
    await pool.stop(s);
  });

  test('--session-days 2: idle 1 day lives, idle 3 days is dead', T, async () => {
    const db = pool.freshDb();
    const opts = accountsOptions({ db, args: ['--session-days', '2'] });
    let s = await pool.start(opts);
    const a = await admin(s.url);
    const oneDay = await newUser(a);
    const threeDays = await newUser(a);
    await pool.stop(s);
    age(db, oneDay.user.id, 1);
    age(db, threeDays.user.id, 3);
    s = await pool.start(opts);
    assert.equal((await new Client(s.url, { cookie: oneDay.cookie }).api('GET', '/api/v1/me')).status, 200, 'idle 1 of 2 days');
    assertError(await new Client(s.url, { cookie: threeDays.cookie }).api('GET', '/api/v1/me'), 401, 'idle 3 of 2 days');
    await pool.stop(s);
  });
});

describe('parley admin reset', () => {
  test('refused while the server runs; with it stopped, a new password and the old sessions dead', T, async () => {
    const db = pool.freshDb();
    let s = await pool.start(accountsOptions({ db }));
    const a = await admin(s.url);
    // SQLite: the running server holds the file's lock; PostgreSQL: it is connected
    const busy = await runParley(['admin', 'reset', ADMIN.name, '--db', db]);
    assert.notEqual(busy.code, 0, `exit code while running: ${busy.stdout}`);
    assert.match(busy.stderr, onPostgres() ? /a Parley server is using database .*: stop it first/ : /stop the server/);
    assert.doesNotMatch(busy.stdout, /new password/);
    assert.equal((await a.api('GET', '/api/v1/me')).status, 200, 'nothing changed');
    await pool.stop(s);

    const r = await runParley(['admin', 'reset', ADMIN.name, '--db', db]);
    assert.equal(r.code, 0, r.stderr);
    const m = new RegExp(`^new password for ${ADMIN.name}: (\\S+)$`, 'm').exec(r.stdout);
    assert.ok(m, `the new password line: ${JSON.stringify(r.stdout)}`);
    const pw = m[1];
    assert.ok(pw.length >= 8 && pw.length <= 256, `a usable password: ${pw.length} characters`);
    s = await pool.start(accountsOptions({ db }));
    assertError(await new Client(s.url, { cookie: a.cookie }).api('GET', '/api/v1/me'), 401, 'the old session');
    assertError(await trySignIn(s.url, ADMIN.name, ADMIN.password), 401, 'the old password');
    const fresh = await signIn(s.url, ADMIN.name, pw);
    assert.equal(fresh.user.admin, true);
    await pool.stop(s);

    const unknown = await runParley(['admin', 'reset', 'nobody', '--db', db]);
    assert.notEqual(unknown.code, 0);
    assert.match(unknown.stderr, /there is no user nobody/);
    assert.doesNotMatch(unknown.stdout, /new password/);
  });
});

describe('sign-in throttling', () => {
  const assert429 = (r, what) => {
    assertError(r, 429, what);
    const ra = r.headers.get('retry-after');
    assert.match(ra || '', /^[1-9]\d*$/, `${what}: Retry-After in whole seconds: ${ra}`);
    assert.ok(Number(ra) <= 15 * 60, `${what}: Retry-After ${ra} within the 15-minute window`);
    assert.equal(r.headers.get('set-cookie'), null, `${what}: no cookie`);
  };

  test('5 failures for one name: 429 with Retry-After, even for the right password; others unaffected', T, async () => {
    const s = await pool.start(accountsOptions());
    const a = await admin(s.url);
    const tom = await newUser(a, 'tom');
    for (let i = 1; i <= 5; i++) {
      const r = await trySignIn(s.url, i % 2 ? 'tom' : 'TOM', `wrong-${i}-password`);
      assertError(r, 401, `failure ${i}`);
    }
    assert429(await trySignIn(s.url, 'tom', tom.password), 'the right password after 5 failures');
    assert429(await trySignIn(s.url, 'Tom', tom.password), 'another spelling of the name');
    assert429(await trySignIn(s.url, 'tom', 'wrong-again-pw'), 'another wrong one');
    // tom's existing session is not touched, and others still sign in
    assert.equal((await tom.api('GET', '/api/v1/me')).status, 200);
    await signIn(s.url, ADMIN.name, ADMIN.password);
    await newUser(a, 'uma');
    await pool.stop(s);
  });

  test('30 sign-ins for one name at once, the right password among the last: 5 are checked (401), the rest 429 at once, the right one too', T, async () => {
    const s = await pool.start(accountsOptions());
    const a = await admin(s.url);
    const vic = await newUser(a, 'vic');
    const answers = await Promise.all(Array.from({ length: 30 }, (_, i) =>
      trySignIn(s.url, 'vic', i === 29 ? vic.password : `guess-${i}-password`)));
    const counts = {};
    for (const r of answers) counts[r.status] = (counts[r.status] || 0) + 1;
    assert.deepEqual(counts, { 401: 5, 429: 25 }, `answers: ${JSON.stringify(counts)}`);
    assert429(answers[29], 'the right password, sent with the burst');
    assert429(await trySignIn(s.url, 'vic', vic.password), 'and after it');
    await pool.stop(s);
  });

  test('20 failures from one address: 429 for every name from it, the right password too', T, async () => {
    const s = await pool.start(accountsOptions());
    for (let i = 1; i <= 20; i++) {
      const r = await trySignIn(s.url, `ghost${i}`, `wrong-${i}-password`);
      assertError(r, 401, `failure ${i} (for a name of its own)`);
    }
    assert429(await trySignIn(s.url, ADMIN.name, ADMIN.password), 'the right password from that address');
    assert429(await trySignIn(s.url, 'ghost99', 'whatever-pw'), 'any other name');
    await pool.stop(s);
  });

  const from = (forwardedFor) => ({ 'Sec-Fetch-Site': 'same-origin', 'X-Forwarded-For': forwardedFor });

  test('behind a trusted proxy: the client X-Forwarded-For names is locked out, not everyone behind it', T, async () => {
    const s = await pool.start(accountsOptions());	// loopback is a trusted proxy by default
    for (let i = 1; i <= 20; i++) {
      const r = await trySignIn(s.url, `ghost${i}`, `wrong-${i}-password`, from('203.0.113.7'));
      assertError(r, 401, `failure ${i} from 203.0.113.7`);
    }
    assert429(await trySignIn(s.url, ADMIN.name, ADMIN.password, from('203.0.113.7')), 'the right password from that client');
    assert429(await trySignIn(s.url, ADMIN.name, ADMIN.password, from('198.51.100.1, 203.0.113.7')),
      'the same client, having written an address of its own left of what the proxy saw');
    const other = await trySignIn(s.url, ADMIN.name, ADMIN.password, from('198.51.100.9'));
    assert.equal(other.status, 200, `another client behind the same proxy signs in: ${other.status} ${other.text}`);
    const direct = await trySignIn(s.url, ADMIN.name, ADMIN.password);
    assert.equal(direct.status, 200, `the proxy's own address is not locked out: ${direct.status} ${direct.text}`);
    await pool.stop(s);
  });

  /** POST /api/v1/session with one X-Forwarded-For header line per item of `forwarded`; its status. */
  const signInForwarded = (base, name, password, forwarded) => new Promise((resolve, reject) => {
    const u = new URL('/api/v1/session', base);
    const body = JSON.stringify({ name, password });
    const req = http.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: {
      'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
      'Sec-Fetch-Site': 'same-origin', 'X-Forwarded-For': forwarded } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', reject);
    req.end(body);
  });

  test('many X-Forwarded-For headers of a client\'s own do not push out the one the proxy added after them', T, async () => {
    const s = await pool.start(accountsOptions());
    const own = (i) => Array.from({ length: 12 }, (_, k) => `198.51.100.${((i * 12 + k) % 250) + 1}`);
    for (let i = 1; i <= 20; i++)
      assert.equal(await signInForwarded(s.url, `ghost${i}`, `wrong-${i}-password`, [...own(i), '203.0.113.99']), 401, `failure ${i}`);
    assert.equal(await signInForwarded(s.url, ADMIN.name, ADMIN.password, [...own(21), '203.0.113.99']), 429,
      'the address the proxy added last is locked out, whatever the client wrote before it');
    assert.equal(await signInForwarded(s.url, ADMIN.name, ADMIN.password, [...own(22), '203.0.113.98']), 200, 'another address is not');
    await pool.stop(s);
  });

  test('from a peer that is not a trusted proxy, X-Forwarded-For is not believed', T, async () => {
    const s = await pool.start(accountsOptions({ args: ['--trusted-proxy', '10.0.0.0/8'] }));
    for (let i = 1; i <= 20; i++) {
      const r = await trySignIn(s.url, `ghost${i}`, `wrong-${i}-password`, from(`203.0.113.${i}`));
      assertError(r, 401, `failure ${i}, claiming to come from 203.0.113.${i}`);
    }
    assert429(await trySignIn(s.url, ADMIN.name, ADMIN.password, from('198.51.100.9')), 'yet another claimed address');
    await pool.stop(s);
  });
});
