// Secrets (SPEC §7): session ids, API tokens, invite and setup tokens and passwords appear
// only where they are handed out (that Set-Cookie, that 201 body, that stdout line), never in
// another response, a log line (at --log-level debug) or the database file. And password
// hashing does not stall the event loop: streams keep their keepalives and /healthz answers
// while 50 sign-ins are hashed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServerPool, api, sleep, storedText } from './helpers.mjs';
import { accountsOptions, admin, Client, sessionCookie, setCookies, setupLine, setupFromLink } from './account_helpers.mjs';

const T = { timeout: 60000 };
const pool = useServerPool();

describe('secrets go only where they are handed out', () => {
  test('a whole session: setup, sign in, token, invite, sign out, wrong passwords', T, async () => {
    const db = pool.freshDb();
    const s = await pool.start({ auth: 'accounts', db, args: ['--log-level', 'debug'] });
    const responses = []; // {label, head (status line, every header), body}
    const rec = async (label, p) => {
      const r = await p;
      const head = [`${r.status}`, ...[...r.headers.entries()].map(([k, v]) => `${k}: ${v}`), ...setCookies(r).map((c) => `set-cookie: ${c}`)].join('\n');
      responses.push({ label, head, body: r.text });
      return r;
    };
    const sameOrigin = { 'Sec-Fetch-Site': 'same-origin' };
    const pw = {
      admin: 'Adm1n-pass-QmZx7tTr',
      admin2: 'Adm1n-new-pass-Kw93hh',
      bob: 'B0b-pass-Lp02xxQe',
      wrong1: 'Wr0ng-pass-Zt7h2Q',
      wrong2: 'Wr0ng-pass-Vb6n1R',
    };

    const setup = setupLine(s.stdout());
    assert.ok(setup, s.stdout());
    await rec('GET /setup?token', api(s.url, 'GET', `/setup?token=${setup.token}`));
    const done = await setupFromLink(s, 'ada', pw.admin);
    responses.push({ label: 'setup', head: [...done.res.headers.entries()].map(([k, v]) => `${k}: ${v}`).join('\n') + '\n' + setCookies(done.res).join('\n'), body: done.res.text });
    const s1 = done.cookie.value;
    const ada1 = done.client;
    await rec('me (s1)', ada1.api('GET', '/api/v1/me'));
    await rec('setup again', api(s.url, 'POST', '/api/v1/setup', { token: setup.token, name: 'eve', password: pw.wrong1 }, { headers: sameOrigin }));

    const signin = await rec('sign in (s2)', api(s.url, 'POST', '/api/v1/session', { name: 'ada', password: pw.admin }, { headers: sameOrigin }));
    const s2 = sessionCookie(signin).value;
    const ada2 = new Client(s.url, { cookie: `parley_session=${s2}` });
    const tokRes = await rec('token create', ada2.api('POST', '/api/v1/tokens', { name: 'script' }));
    const tok = tokRes.json.token;
    const bearer = new Client(s.url, { token: tok });
    await rec('tokens list', ada2.api('GET', '/api/v1/tokens'));
    await rec('me (bearer)', bearer.api('GET', '/api/v1/me'));
    const chat = (await rec('chat create', bearer.api('POST', '/api/v1/chats', { title: 'secret keeping' }))).json;
    const invRes = await rec('invite create', ada2.api('POST', `/api/v1/chats/${chat.id}/invites`, {}));
    const inviteUrl = new URL(invRes.json.url);
    const invite = inviteUrl.pathname.slice('/join/'.length);
    await rec('user create', ada1.api('POST', '/api/v1/users', { name: 'bob', password: pw.bob, display_name: 'Bob' }));
    const bobIn = await rec('bob signs in (s3)', api(s.url, 'POST', '/api/v1/session', { name: 'bob', password: pw.bob }, { headers: sameOrigin }));
    const s3 = sessionCookie(bobIn).value;
    const bob = new Client(s.url, { cookie: `parley_session=${s3}` });
    await rec('GET /join (bob)', bob.api('GET', inviteUrl.pathname));
    await rec('POST /join (bob)', bob.form(inviteUrl.pathname, {}));
    await rec('GET /join (anonymous)', api(s.url, 'GET', inviteUrl.pathname));
    await rec('wrong password', api(s.url, 'POST', '/api/v1/session', { name: 'ada', password: pw.wrong1 }, { headers: sameOrigin }));
    await rec('unknown name', api(s.url, 'POST', '/api/v1/session', { name: 'nobody', password: pw.wrong2 }, { headers: sameOrigin }));
    await rec('bad old password', ada1.api('PATCH', `/api/v1/users/${ada1.user.id}`, { password: pw.admin2, old_password: pw.wrong1 }));
    await rec('password change', ada1.api('PATCH', `/api/v1/users/${ada1.user.id}`, { password: pw.admin2, old_password: pw.admin }));
    await rec('users list', ada1.api('GET', '/api/v1/users'));
    await rec('home page', ada1.api('GET', '/'));
    await rec('chat page', ada1.api('GET', `/chats/${chat.id}`));
    await rec('chat page (bob)', bob.api('GET', `/chats/${chat.id}`));
    const st = await ada1.readyStream(`/api/v1/chats/${chat.id}/events`);
    st.close();
    responses.push({ label: 'stream', head: st.rawHead, body: st.text });
    await rec('sign out (s2)', ada2.api('DELETE', '/api/v1/session'));
    await rec('me after sign out (s2)', ada2.api('GET', '/api/v1/me'));
    await rec('token revoke', ada1.api('DELETE', `/api/v1/tokens/${tokRes.json.id}`));
    await rec('me after revoke (bearer)', bearer.api('GET', '/api/v1/me'));
    await rec('a bad bearer', api(s.url, 'GET', '/api/v1/me', undefined, { headers: { Authorization: `Bearer ${tok}x` } }));
    await rec('metrics', api(s.url, 'GET', '/metrics'));
    await pool.stop(s);

    const stdout = s.stdout();
    const stderr = s.stderr();
    assert.ok(stderr.length > 0, 'the debug log says something');
    const dbBytes = storedText(db); // SQLite: the file, its WAL and journal; PostgreSQL: its data

    // where each secret may appear: [label, part] of the responses, or 'stdout'
    const secrets = [
      ['the setup token', setup.token, []],
      ['session 1 (setup)', s1, [['setup', 'head']]],
      ['session 2 (sign in)', s2, [['sign in (s2)', 'head']]],
      ['session 3 (bob)', s3, [['bob signs in (s3)', 'head']]],
      ['the API token', tok, [['token create', 'body']]],
      ['the invite token', invite, [['invite create', 'body']]],
      ...Object.entries(pw).map(([k, v]) => [`password ${k}`, v, []]),
    ];
    for (const [what, secret, allowed] of secrets) {
      assert.ok(secret && secret.length >= 8, `${what}: a real secret`);
      for (const r of responses) {
        for (const part of ['head', 'body']) {
          const ok = allowed.some(([l, p]) => l === r.label && p === part);
          const has = r[part].includes(secret);
          if (ok) assert.ok(has, `${what}: expected in the ${part} of "${r.label}"`);
          else assert.ok(!has, `${what} appears in the ${part} of the response to "${r.label}": ${r[part].slice(0, 300)}`);
        }
      }
      const inStdout = stdout.split(secret).length - 1;
      assert.equal(inStdout, what === 'the setup token' ? 1 : 0, `${what} on stdout ${inStdout} times: ${stdout}`);
      assert.ok(!stderr.includes(secret), `${what} in the log: ${stderr.split('\n').find((l) => l.includes(secret))}`);
      assert.ok(!dbBytes.includes(secret), `${what} stored as is in the database file`);
    }
    assert.equal(setupLine(stdout).token, setup.token, 'the setup token is on its line');
    assert.match(dbBytes, /\$argon2id\$v=19\$m=\d+,t=\d+,p=\d+\$/, 'passwords are stored as Argon2id hashes');
  });
});

describe('password hashing stays off the event loop', () => {
  test('50 sign-ins at once: keepalives keep coming, /healthz keeps answering', T, async (t) => {
    const s = await pool.start(accountsOptions({ args: ['--keepalive', '1'] }));
    const a = await admin(s.url);
    const chat = await a.createChat('heartbeat');
    const st = pool.track(await a.readyStream(`/api/v1/chats/${chat.id}/events`));
    const beats = [];
    let done = false;
    const watching = st.waitFor(
      (x) => {
        while (beats.length < x.comments.length) beats.push(Date.now());
        return done;
      },
      50000,
      'the end of the measurement',
    );
    watching.catch(() => {}); // ends with the stream
    // the stream is idle: wait for its first keepalive
    await st.waitFor((x) => x.comments.length >= 1, 3000, 'a first keepalive');
    assert.ok(st.comments[0].comments.includes('keepalive'), 'a keepalive comment');

    const latencies = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const t0 = Date.now();
        const r = await api(s.url, 'GET', '/healthz', undefined, { timeout: 5000 });
        latencies.push(Date.now() - t0);
        assert.equal(r.status, 200);
        await sleep(Math.max(0, 50 - (Date.now() - t0)));
      }
    })();

    const start = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => api(s.url, 'POST', '/api/v1/session', { name: `nobody${i}`, password: `wrong-password-${i}` }, { headers: { 'Sec-Fetch-Site': 'same-origin' }, timeout: 30000 })),
    );
    const burst = Date.now() - start;
    await sleep(1500); // and a little after
    const end = Date.now();
    sampling = false;
    await sampler;
    done = true; // the watcher lets go at the stream's next frame or end

    const counts = {};
    for (const r of answers) counts[r.status] = (counts[r.status] || 0) + 1;
    for (const r of answers) assert.ok([401, 429, 503].includes(r.status), `sign-in answered ${r.status}: ${r.text}`);
    const inWindow = beats.filter((b) => b >= start - 1500 && b <= end);
    const gaps = [];
    for (let i = 1; i < inWindow.length; i++) gaps.push(inWindow[i] - inWindow[i - 1]);
    if (inWindow.length) gaps.push(end - inWindow[inWindow.length - 1]);
    const maxGap = Math.max(...gaps);
    const maxLatency = Math.max(...latencies);
    t.diagnostic(`burst of 50 sign-ins took ${burst} ms; answers ${JSON.stringify(counts)}`);
    t.diagnostic(`keepalive gaps (ms): ${gaps.join(', ')}; max ${maxGap}`);
    t.diagnostic(`/healthz: ${latencies.length} samples, max ${maxLatency} ms, median ${latencies.sort((x, y) => x - y)[latencies.length >> 1]} ms`);
    assert.ok(inWindow.length >= 2, `keepalives during the measurement: ${inWindow.length}`);
    assert.ok(maxGap < 2500, `longest keepalive gap ${maxGap} ms`);
    assert.ok(latencies.length >= 10, `healthz samples: ${latencies.length}`);
    assert.ok(maxLatency < 500, `slowest /healthz ${maxLatency} ms`);
    st.close();
    await pool.stop(s);
  });
});
