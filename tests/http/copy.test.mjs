// SPEC §10: `parley copy --from FILE --to postgres://…` moves a whole deployment from a SQLite
// file into an empty PostgreSQL database, ids, seqs and event ids unchanged. A deployment is
// built on SQLite through the API (accounts, sessions, a token, bots, chats with bot order and
// mutes, members, read marks, an invite, edits, alternatives, deletions), copied, and served
// from PostgreSQL: every answer, every row and every replayed event must be the same, old
// credentials must still work, and new writes must go on from where SQLite stopped.
// Needs the test cluster (PARLEY_TEST_PG, see postgres.mjs); skipped without it.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  useServerPool,
  runParley,
  tempDir,
  jsonStreamPath,
  durableEvents,
  parsedEvent,
  waitIdle,
  assertNoSanitizerReport,
} from './helpers.mjs';
import { accountsOptions, admin, newUser, newToken, uniqueUser, Client } from './account_helpers.mjs';
import { postgresAdminUrl, createPostgresDb, dropPostgresDb } from './postgres.mjs';

const T = { timeout: 60000 };
const PG = postgresAdminUrl();
const ARGS = ['--typing-ms', '1'];

// Every table and the columns that order its rows (n, PostgreSQL's identity column, is left out:
// it follows rowid, which `ordered` checks).
const TABLES = {
  users: 'id', sessions: 'hash', tokens: 'id', bots: 'id', chats: 'id', chat_bots: 'chat_id, bot_id',
  members: 'chat_id, user_id', invites: 'hash', messages: 'chat_id, seq',
  alternatives: 'chat_id, seq, idx', events: 'chat_id, id',
};
const ORDERED = ['users', 'tokens', 'bots', 'chats']; // SQLite's rowid order = PostgreSQL's n order

/** Rows of a SQLite file (a stopped server's), as JSON. */
function liteRows(db, sql) {
  const out = execFileSync('/usr/bin/sqlite3', ['-json', db, sql], { encoding: 'utf8', timeout: 10000, maxBuffer: 64 << 20 });
  return out.trim() === '' ? [] : JSON.parse(out);
}

/** Rows of a PostgreSQL database, as JSON. */
function pgRows(url, sql) {
  const out = execFileSync('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', url, '-c',
    `SELECT coalesce(json_agg(r), '[]'::json) FROM (${sql}) r`], { encoding: 'utf8', timeout: 10000, maxBuffer: 64 << 20 });
  return JSON.parse(out);
}

/** One text holding every row of every table of PostgreSQL database `url` (n included). */
function pgEverything(url) {
  return Object.entries(TABLES).map(([t, key]) => JSON.stringify(pgRows(url, `SELECT * FROM ${t} ORDER BY ${key}`))).join('\n')
    + JSON.stringify(pgRows(url, 'SELECT last_value, is_called FROM activity_clock'));
}

const copyArgs = (from, to) => ['copy', '--from', from, '--to', to];

/** The non-empty lines of a text. */
const lines = (text) => text.split('\n').filter((l) => l.trim() !== '');

/** Asserts a run exited with `code` and said one line on stderr matching `re`, nothing on stdout. */
function assertFailed(r, code, re, what) {
  assert.equal(r.timedOut, false, `${what}: exits promptly`);
  assertNoSanitizerReport(r.stderr, what);
  assert.equal(r.code, code, `${what}: exit code; stderr: ${r.stderr}`);
  assert.equal(r.stdout, '', `${what}: nothing on stdout`);
  assert.equal(lines(r.stderr).length, 1, `${what}: one line on stderr: ${JSON.stringify(r.stderr)}`);
  assert.match(r.stderr.trim(), re, `${what}: what stderr says`);
}

/** Each chat of the chat list page as it shows it: order, last seq, activity and read mark. */
async function listItems(client) {
  const r = await client.api('GET', '/');
  assert.equal(r.status, 200, `GET /: ${r.status}`);
  return [...r.text.matchAll(/<li id="chat-([a-z0-9]+)"[^>]*>/g)].map(([li, id]) => ({
    id,
    seq: /data-seq="(\d+)"/.exec(li)?.[1],
    active: /data-active="(\d+)"/.exec(li)?.[1],
    read: /data-read="(\d+)"/.exec(li)?.[1],
  }));
}

/** The durable events a stream resuming after `after` replays, up to event id `last`. */
async function replay(client, chatId, after, last) {
  const s = await client.stream(jsonStreamPath(chatId), { headers: { 'Last-Event-ID': String(after) } });
  try {
    assert.equal(s.status, 200, `resume ${chatId} after ${after}: ${s.status} ${s.body}`);
    if (after < last) await s.waitFor((st) => st.events.some((f) => f.id === String(last)), 10000, `event ${last}`);
    else await new Promise((r) => setTimeout(r, 200));
    return durableEvents(s.frames).map((e) => ({ ...e, data: JSON.parse(e.data) }));
  } finally {
    s.close();
  }
}

/** Runs `action` and waits for the chat's turn flow to go idle again (a bot answered). */
async function settled(client, chatId, action) {
  const s = await client.readyStream(jsonStreamPath(chatId));
  try {
    const from = s.events.length;
    const out = await action();
    await waitIdle(s, from, 15000);
    return out;
  } finally {
    s.close();
  }
}

describe('parley copy', { skip: PG ? false : 'needs PARLEY_TEST_PG (scripts/with-postgres.sh)' }, () => {
  const pool = useServerPool();
  const dir = tempDir('parley-copy-');
  const made = [];
  const newPg = () => {
    const url = createPostgresDb();
    made.push(url);
    return url;
  };
  after(() => {
    for (const url of made) {
      try {
        dropPostgresDb(url);
      } catch {
        // the cluster is gone: nothing to drop
      }
    }
    dir.cleanup();
  });

  const db = path.join(dir.dir, 'parley.db');
  let target; // the PostgreSQL URL copied into
  let srv; // the SQLite server, then the PostgreSQL one
  const who = {}; // cookie and token Clients, per role: {adm, bob, carol, script}
  const built = {}; // ids of what was built: {a, b, bots, deletedA, deletedB, invite}
  let before; // what the SQLite server answered (see answers())

  const on = (c, base) => new Client(base, { cookie: c.cookie, token: c.token, user: c.user });

  /** Everything the server at `base` answers about the deployment, for each person. */
  async function answers(base) {
    const adm = on(who.adm, base);
    const bob = on(who.bob, base);
    const out = {
      me: [await adm.get('/api/v1/me'), await bob.get('/api/v1/me'), await on(who.script, base).get('/api/v1/me')],
      users: await adm.get('/api/v1/users'),
      bots: await adm.get('/api/v1/bots'),
      tokens: await adm.get('/api/v1/tokens'),
      chats: [await adm.get('/api/v1/chats'), await bob.get('/api/v1/chats')],
      list: [await listItems(adm), await listItems(bob)],
      chat: {},
      replays: {},
    };
    for (const id of [built.a, built.b]) {
      const chat = await adm.get(`/api/v1/chats/${id}`);
      const last = chat.last_event_id;
      out.chat[id] = {
        chat,
        messages: await adm.get(`/api/v1/chats/${id}/messages?after=0&limit=500`),
        members: await adm.get(`/api/v1/chats/${id}/members`),
      };
      out.replays[id] = {
        last,
        all: await replay(bob, id, 0, last),
        middle: await replay(bob, id, Math.floor(last / 2), last),
        end: await replay(bob, id, last, last),
      };
    }
    return out;
  }

  test('a deployment built on SQLite', T, async () => {
    srv = await pool.start(accountsOptions({ db, args: ARGS }));
    const adm = await admin(srv.url);
    const bob = await newUser(adm, uniqueUser('bob'));
    const carol = await newUser(adm, uniqueUser('carol'));
    const script = (await newToken(adm, 'nightly')).client;
    Object.assign(who, { adm, bob, carol, script });

    const bot = (name, extra = {}) => adm.ok('POST', '/api/v1/bots', { name, backend: 'echo', ...extra });
    const echo = await bot(`Echo${process.pid}`, { temperature: 0.30000000000000004, persona: 'tab\there, back\\slash \\N' });
    const parrot = await bot(`Parrot${process.pid}`, { max_tokens: 77, talkativeness: 0.125 });
    const idle = await bot(`Idle${process.pid}`, { model: null });
    built.bots = [echo.id, parrot.id, idle.id];

    // chat a: bots in an order that is not their creation order, one muted, two members
    const a = await adm.createChat('alpha', { bots: [parrot.id, echo.id], policy: 'mentions' });
    built.a = a.id;
    await adm.ok('PATCH', `/api/v1/chats/${a.id}`, { muted: [parrot.id], auto_rounds: 0 }, 200);
    await adm.ok('POST', `/api/v1/chats/${a.id}/members`, { user: bob.user.name });
    await adm.post(a.id, 'first\twith a tab\nand a line, a back\\slash, \\N and ünïcödé 🙂');
    await settled(adm, a.id, () => bob.post(a.id, `@${echo.name} say this`));
    await bob.post(a.id, 'to be deleted');
    const doomed = await adm.post(a.id, 'also to be deleted');
    const edited = await adm.post(a.id, 'before the edit');
    await adm.ok('PATCH', `/api/v1/chats/${a.id}/messages/${edited.seq}`, { body: 'after the edit' }, 200);
    const msgs = (await adm.get(`/api/v1/chats/${a.id}/messages`)).messages;
    const botMsg = msgs.find((m) => m.kind === 'bot');
    assert.ok(botMsg, `a bot replied in alpha: ${JSON.stringify(msgs)}`);
    await settled(adm, a.id, () => adm.ok('POST', `/api/v1/chats/${a.id}/messages/${botMsg.seq}/regenerate`, undefined, 202));
    const picked = await adm.ok('PUT', `/api/v1/chats/${a.id}/messages/${botMsg.seq}/alternative`, { index: 0 }, 200);
    assert.equal(picked.alternatives, 2, 'two alternatives');
    await adm.ok('DELETE', `/api/v1/chats/${a.id}/messages/${doomed.seq}`, undefined, 204);
    built.deletedA = doomed.seq;
    await bob.ok('POST', `/api/v1/chats/${a.id}/read`, { seq: doomed.seq }, 204); // past his own post
    const invite = await adm.ok('POST', `/api/v1/chats/${a.id}/invites`, { hours: 48 });
    built.invite = new URL(invite.url).pathname;
    await adm.ok('PATCH', `/api/v1/chats/${a.id}`, { title: 'alpha, renamed' }, 200);

    // chat b: bob's, every bot answers him; its newest message is then deleted
    const b = await bob.createChat('beta', { bots: [echo.id] });
    built.b = b.id;
    await settled(bob, b.id, () => bob.post(b.id, 'hello beta'));
    await settled(bob, b.id, () => bob.post(b.id, 'again'));
    const newest = (await bob.get(`/api/v1/chats/${b.id}/messages`)).messages.at(-1);
    assert.equal(newest.kind, 'bot', 'the newest message of beta is the bot\'s reply');
    await bob.ok('DELETE', `/api/v1/chats/${b.id}/messages/${newest.seq}`, undefined, 204);
    built.deletedB = newest.seq;

    before = await answers(srv.url);
    assert.ok(before.replays[built.a].middle.length > 0, 'the middle of alpha replays something');
    await pool.stop(srv);
  });

  test('copy exits 0 and prints one line of counts that match the file', T, async () => {
    target = newPg();
    const r = await runParley(copyArgs(db, target), { timeout: 60000 });
    assertNoSanitizerReport(r.stderr, 'parley copy');
    assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
    assert.equal(r.stderr, '', 'nothing on stderr');
    assert.equal(lines(r.stdout).length, 1, `one line: ${r.stdout}`);
    const m = /^copied (\d+) users, (\d+) sessions, (\d+) API tokens, (\d+) bots, (\d+) chats \((\d+) chat bots, (\d+) members, (\d+) invites\), (\d+) messages \((\d+) alternatives\), (\d+) logged events$/.exec(r.stdout.trim());
    assert.ok(m, `the summary: ${r.stdout}`);
    const order = ['users', 'sessions', 'tokens', 'bots', 'chats', 'chat_bots', 'members', 'invites', 'messages', 'alternatives', 'events'];
    const counts = Object.fromEntries(order.map((t, i) => [t, Number(m[i + 1])]));
    const inFile = Object.fromEntries(order.map((t) => [t, liteRows(db, `SELECT count(*) AS n FROM ${t}`)[0].n]));
    assert.deepEqual(counts, inFile, 'the counts are the file\'s');
    assert.equal(counts.users, 3);
    assert.equal(counts.alternatives, 2);
  });

  test('every row of every table is copied, every column and NULL as it was', T, async () => {
    for (const [t, key] of Object.entries(TABLES)) {
      const rows = liteRows(db, `SELECT * FROM ${t} ORDER BY ${key}`);
      const cols = rows.length ? Object.keys(rows[0]).join(', ') : '*';
      const copied = pgRows(target, `SELECT ${cols} FROM ${t} ORDER BY ${key}`);
      if (t === 'chats') {
        // SQLite's counters are floors; PostgreSQL's are exact (checked below)
        const floors = ({ last_seq, last_event_id, ...rest }) => (void last_seq, void last_event_id, rest);
        assert.deepEqual(copied.map(floors), rows.map(floors), 'chats');
        continue;
      }
      assert.deepEqual(copied, rows, `table ${t}`);
    }
    // every bit of the reals (sqlite3 -json rounds them to 15 digits)
    const reals = (rows) => rows.map(({ id, t, k }) => ({ id, t: Number(t), k: Number(k) }));
    assert.deepEqual(reals(pgRows(target, 'SELECT id, temperature::text AS t, talkativeness::text AS k FROM bots ORDER BY id')),
      reals(liteRows(db, "SELECT id, printf('%!.17g', temperature) AS t, printf('%!.17g', talkativeness) AS k FROM bots ORDER BY id")), 'bots\' reals');
    for (const t of ORDERED) {
      assert.deepEqual(pgRows(target, `SELECT id FROM ${t} ORDER BY n`), liteRows(db, `SELECT id FROM ${t} ORDER BY rowid`), `${t}: n in rowid order`);
    }
    const live = liteRows(db, `SELECT id, max(last_seq, coalesce((SELECT max(seq) FROM messages m WHERE m.chat_id = c.id), 0)) AS last_seq,
      max(last_event_id, coalesce((SELECT max(id) FROM events e WHERE e.chat_id = c.id), 0),
          coalesce((SELECT max(event_id) FROM messages m WHERE m.chat_id = c.id), 0)) AS last_event_id FROM chats c ORDER BY id`);
    assert.deepEqual(pgRows(target, 'SELECT id, last_seq, last_event_id FROM chats ORDER BY id'), live, 'the counters are SQLite\'s live ones');
    const beta = live.find((c) => c.id === built.b);
    assert.equal(beta.last_seq, built.deletedB, 'beta\'s seq counter stays at its deleted newest message');
    const [{ active }] = liteRows(db, 'SELECT max(active_at) AS active FROM chats');
    const [clock] = pgRows(target, 'SELECT last_value, is_called FROM activity_clock');
    assert.ok(clock.is_called && clock.last_value >= active, `the activity clock (${JSON.stringify(clock)}) is past ${active}`);
  });

  test('served from PostgreSQL: users, bots, chats, members, messages, read marks and replays are the same', T, async () => {
    srv = await pool.start(accountsOptions({ db: target, args: ARGS }));
    const now = await answers(srv.url);
    assert.deepEqual(now.users, before.users, 'users');
    assert.deepEqual(now.bots, before.bots, 'bots');
    assert.deepEqual(now.chats, before.chats, 'chats, in the same order, for each person');
    assert.deepEqual(now.list, before.list, 'the chat list: order, activity and read marks');
    assert.deepEqual(now.chat, before.chat, 'each chat, its messages (seqs, bodies, alternatives) and members');
    assert.deepEqual(now.replays, before.replays, 'Last-Event-ID replays: the same events with the same ids');
    assert.deepEqual(now.tokens, before.tokens, 'API tokens');
    assert.deepEqual(now, before, 'everything else');
  });

  test('the old session cookies, API token and invite link still work', T, async () => {
    assert.equal((await on(who.adm, srv.url).get('/api/v1/me')).id, who.adm.user.id, 'the admin\'s cookie');
    assert.equal((await on(who.bob, srv.url).get('/api/v1/me')).id, who.bob.user.id, 'bob\'s cookie');
    const me = await on(who.script, srv.url).get('/api/v1/me');
    assert.equal(me.id, who.adm.user.id, 'the API token acts as the admin');
    const carol = on(who.carol, srv.url);
    assert.equal((await carol.api('GET', `/api/v1/chats/${built.a}`)).status, 404, 'carol is not in alpha yet');
    const r = await carol.form(built.invite, {});
    assert.ok(r.status === 303 || r.status === 200, `POST ${built.invite}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.equal((await carol.api('GET', `/api/v1/chats/${built.a}`)).status, 200, 'the invite made on SQLite let carol in');
  });

  test('new writes go on from where SQLite stopped: no seq or event id skipped or used again', T, async () => {
    const adm = on(who.adm, srv.url);
    const bob = on(who.bob, srv.url);
    for (const [id, seqAfter] of [[built.a, null], [built.b, built.deletedB]]) {
      const was = before.chat[id];
      const lastSeq = seqAfter ?? Math.max(...was.messages.messages.map((m) => m.seq), built.deletedA);
      const s = await bob.readyStream(jsonStreamPath(id));
      try {
        const snap = parsedEvent(s.events[0]).json;
        assert.equal(snap.last_event_id, was.chat.last_event_id, 'the snapshot\'s last_event_id');
        const from = s.events.length;
        const m = await bob.post(id, `after the move ${id}`);
        assert.equal(m.seq, lastSeq + 1, `chat ${id}: the next seq`);
        await s.waitFor((st) => st.events.slice(from).some((f) => f.event === 'message'), 5000, 'the new message');
        const ev = s.events.slice(from).find((f) => f.event === 'message');
        assert.equal(Number(ev.id), was.chat.last_event_id + 1, `chat ${id}: the next event id`);
        assert.equal(parsedEvent(ev).json.seq, m.seq);
      } finally {
        s.close();
      }
    }
    // the activity clock went on too: the chat just written to, then a new one, come first
    const items = await listItems(adm);
    assert.equal(items[0].id, built.b, 'the chat written to last is first');
    assert.ok(Number(items[0].active) > Math.max(...before.list[0].map((i) => Number(i.active))), 'its activity is newer than anything copied');
    const c = await adm.createChat('gamma');
    assert.equal((await listItems(adm))[0].id, c.id, 'a new chat comes first');
  });

  test('a second copy into the same database exits 1, says why in one line and changes nothing', T, async () => {
    await pool.stop(srv);
    const was = pgEverything(target);
    const r = await runParley(copyArgs(db, target), { timeout: 30000 });
    assert.equal(pgEverything(target), was, 'the target is unchanged');
    assertFailed(r, 1, /^parley: the target database is not empty \(3 users, 3 bots, 3 chats\)/, 'a second copy');
  });

  test('a file a server holds is refused: stop the server first', T, async () => {
    const busy = path.join(dir.dir, 'busy.db');
    const srv = await pool.start(accountsOptions({ db: busy }));
    const to = newPg();
    const r = await runParley(copyArgs(busy, to), { timeout: 30000 });
    await pool.stop(srv);
    assertFailed(r, 1, /^parley: cannot open .*busy\.db: .*stop the server first/, 'a held file');
  });

  test('a missing file exits 1 and is not created', T, async () => {
    const missing = path.join(dir.dir, 'missing.db');
    const r = await runParley(copyArgs(missing, newPg()), { timeout: 30000 });
    assertFailed(r, 1, /^parley: cannot open .*missing\.db: No such file or directory$/, 'a missing file');
    assert.equal(fs.existsSync(missing), false, 'no file was made');
  });

  test('an unreachable database exits 1', T, async () => {
    const url = target.replace(/\/t_[a-z0-9_]+/, '/t_no_such_database');
    const r = await runParley(copyArgs(db, url), { timeout: 30000 });
    assertFailed(r, 1, /^parley: cannot open the PostgreSQL database: .*t_no_such_database/, 'no such database');
  });

  const usage = [
    ['no flags', ['copy']],
    ['no --to', ['copy', '--from', 'x.db']],
    ['no --from', ['copy', '--to', 'postgres://u@h/db']],
    ['--from without a value', ['copy', '--to', 'postgres://u@h/db', '--from']],
    ['an empty --to', ['copy', '--from', 'x.db', '--to=']],
    ['a --to that is not PostgreSQL', ['copy', '--from', 'x.db', '--to', 'mysql://u@h/db']],
    ['a --to that is a file', ['copy', '--from', 'x.db', '--to', 'y.db']],
    ['a --from that is a URL', ['copy', '--from', 'postgres://u@h/a', '--to', 'postgres://u@h/b']],
    ['an unknown flag', ['copy', '--from', 'x.db', '--to', 'postgres://u@h/db', '--db', 'z.db']],
  ];
  for (const [name, args] of usage) {
    test(`usage error: ${name} exits 2`, T, async () => {
      const r = await runParley(args);
      assertFailed(r, 2, /^parley: /, name);
    });
  }
});
