// A slow database never stalls the server (issue 17 point 3): Parley on PostgreSQL behind
// a proxy that holds every packet 10 ms each way (20 ms a round trip). Posts slow down,
// but /healthz and static files answer within 50 ms, other chats' streams keep their
// keepalives and a bot's live tokens at the pace it types, no round trip ever holds up
// the event loop (parley_db_loop_waits_total), and nothing is lost or reordered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  api,
  openStream,
  postMessage,
  createChat,
  createBot,
  uniqueName,
  openSnapshotStream,
  jsonStreamPath,
  durableEvents,
  parsedEvents,
  replies,
  metrics,
  sleep,
  allMessages,
  eventually,
} from './helpers.mjs';
import { onPostgres, createPostgresDb, dropPostgresDb } from './postgres.mjs';
import { delayingProxy } from './delay_proxy.mjs';
import { spawn, execFileSync } from 'node:child_process';

const DELAY_MS = 10; // each way
const skip = !onPostgres() && 'about PostgreSQL (the PostgreSQL pass of make http-test)';

/** The database of a createPostgresDb URL, reached over TCP at 127.0.0.1:port instead. */
function throughProxy(dbUrl, port) {
  const name = /\/([^/?]+)(\?|$)/.exec(dbUrl.replace(/^postgres(ql)?:\/\/[^/]*/, ''))[1];
  return `postgres://parley@127.0.0.1:${port}/${name}`;
}

/** Stamps each event and comment of stream s with its arrival time (performance.now()). */
function stamped(s) {
  for (const list of [s.events, s.comments]) {
    const push = list.push.bind(list);
    list.push = (...items) => {
      for (const f of items) f.at = performance.now();
      return push(...items);
    };
  }
  return s;
}

/** When each token of the stream's first bot reply arrived. */
const replyTokenTimes = (s) => replies(parsedEvents(s))[0].tokenEvents.map((e) => e.frame.at);

/**
 * fn({s, proxy, dbUrl}): a server on a new database reached through a proxy that holds
 * each chunk `delay` ms each way (its URL ending in `query`, if given); all stopped and
 * removed afterwards (a server fn already stopped stays so).
 */
async function withProxiedServer(delay, args, fn, query = '') {
  const socketDir = /[?&]host=([^&]+)/.exec(process.env.PARLEY_TEST_PG)[1];
  const proxy = await delayingProxy(`${socketDir}/.s.PGSQL.5432`, delay);
  const dbUrl = createPostgresDb();
  const s = await startServer({ db: throughProxy(dbUrl, proxy.port) + query, args });
  try {
    await fn({ s, proxy, dbUrl });
  } finally {
    await s.stop('SIGTERM', { timeout: 15000 });
    proxy.close();
    dropPostgresDb(dbUrl);
  }
}

const percentile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

test('a database 20 ms away slows posts, never the server', { skip, timeout: 90000 }, (t) => withProxiedServer(DELAY_MS, ['--keepalive', '1', '--typing-ms', '50'], async ({ s }) => {
  const waitsAtStart = (await metrics(s.url)).get('parley_db_loop_waits_total');
  const bot = await createBot(s.url, { name: uniqueName('Echo'), backend: 'echo' });
  const busy = await createChat(s.url, 'Busy');
  const typing = await createChat(s.url, 'Typing', { bots: [bot.id] });
  const quiet = await createChat(s.url, 'Quiet');
  const busyStream = await openSnapshotStream(s.url, jsonStreamPath(busy.id));
  const typingStream = stamped(await openSnapshotStream(s.url, jsonStreamPath(typing.id)));
  const quietStream = stamped(await openSnapshotStream(s.url, jsonStreamPath(quiet.id)));

  let running = true;
  const acknowledged = [];
  const poster = async (who) => {
    for (let i = 1; running; i++) {
      const r = await api(s.url, 'POST', `/api/v1/chats/${busy.id}/messages`, { author: who, body: `${who} ${i}` }, { timeout: 20000 });
      assert.equal(r.status, 201, `a post: ${r.status} ${r.text}`);
      acknowledged.push(r.json);
    }
  };
  const latency = [];
  const prober = async () => {
    while (running) {
      for (const p of ['/healthz', '/static/app.js']) {
        const t = performance.now();
        const r = await fetch(s.url + p);
        await r.arrayBuffer();
        assert.equal(r.status, 200, `${p}: ${r.status}`);
        latency.push(performance.now() - t);
      }
      await sleep(25);
    }
  };
  const clients = [poster('Ada'), poster('Bob'), poster('Cy'), prober()];
  const words = Array.from({ length: 40 }, (_, i) => `w${i + 1}`).join(' ');
  const asked = await api(s.url, 'POST', `/api/v1/chats/${typing.id}/messages`, { author: 'Di', body: words }, { timeout: 20000 });
  assert.equal(asked.status, 201);
  await typingStream.waitFor(() => replies(parsedEvents(typingStream)).some((r) => r.update), 30000, 'the echo reply ends');
  running = false;
  await Promise.all(clients);

  const ms = (x) => x.toFixed(1);
  const at = replyTokenTimes(typingStream);
  const gaps = at.slice(1).map((x, i) => x - at[i]);
  t.diagnostic(`posts ${acknowledged.length}; /healthz+static p50 ${ms(percentile(latency, 0.5))} p99 ${ms(percentile(latency, 0.99))} max ${ms(Math.max(...latency))} ms; ` +
    `token gaps p50 ${ms(percentile(gaps, 0.5))} p90 ${ms(percentile(gaps, 0.9))} ms`);

  // /healthz and static files: answered from memory while the services wait for the database
  latency.sort((a, b) => a - b);
  assert.ok(percentile(latency, 0.99) < 50, `/healthz and static files p99 ${percentile(latency, 0.99).toFixed(1)} ms (max ${latency.at(-1).toFixed(1)})`);

  // another chat's live events: the bot's words at the pace it types them (every 50 ms)
  const [reply] = replies(parsedEvents(typingStream));
  assert.equal(reply.tokens.join(''), words, 'every word of the reply, once, in order');
  assert.equal(reply.update.body, words);
  assert.ok(percentile(gaps, 0.5) < 80, `token gaps p50 ${percentile(gaps, 0.5).toFixed(1)} ms`);
  assert.ok(percentile(gaps, 0.9) < 150, `token gaps p90 ${percentile(gaps, 0.9).toFixed(1)} ms`);

  // keepalives on a quiet chat's stream every second all along
  const beats = quietStream.comments.map((c) => c.at);
  const beatGaps = beats.slice(1).map((t, i) => t - beats[i]);
  assert.ok(beats.length >= 2 && Math.max(...beatGaps) < 2500, `keepalive gaps ${beatGaps.map((g) => g.toFixed(0))}`);

  // nothing lost or reordered: every acknowledged post on the busy chat's stream, ids in a row
  assert.ok(acknowledged.length >= 10, `posts went on, slower: ${acknowledged.length}`);
  const last = Math.max(...acknowledged.map((m) => m.seq));
  await busyStream.waitFor(() => durableEvents(busyStream.frames).some((e) => JSON.parse(e.data).seq === last), 10000, 'the last post on the stream');
  const events = durableEvents(busyStream.frames);
  assert.deepEqual(events.map((e) => e.id), events.map((_, i) => i + 1), 'event ids in a row from 1');
  assert.deepEqual(events.map((e) => JSON.parse(e.data).seq), [...acknowledged.map((m) => m.seq)].sort((a, b) => a - b));
  assert.equal((await allMessages(s.url, busy.id)).length, acknowledged.length);

  // and the event loop never waited for a round trip
  assert.equal((await metrics(s.url)).get('parley_db_loop_waits_total'), waitsAtStart);
  for (const st of [busyStream, typingStream, quietStream]) st.close();
}));

// A stream that cannot read its history (the database lost while it is read) is a 503 that
// the client retries, never a 200 that starts without the events it resumed from.
test('a resume whose events cannot be read is 503, and the retry gets them', { skip, timeout: 30000 }, () => withProxiedServer(0, [], async ({ s, proxy, dbUrl }) => {
  const chat = await createChat(s.url, 'Resumed');
  for (const body of ['one', 'two', 'three']) await postMessage(s.url, chat.id, body, 'Ada');
  const last = (await api(s.url, 'GET', `/api/v1/chats/${chat.id}`)).json.last_event_id;
  // the replay's read waits for a lock on the event log...
  const locker = spawn('psql', [dbUrl, '-qAtX', '-c', 'BEGIN; LOCK TABLE events IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT;']);
  const unlocked = new Promise((r) => locker.on('exit', r));
  const sql = (q) => execFileSync('psql', [dbUrl, '-qAtX', '-c', q], { encoding: 'utf8' }).trim();
  await eventually(() => sql("SELECT count(*) FROM pg_locks WHERE relation = 'events'::regclass AND granted") !== '0',
    { timeout: 5000, what: 'the lock taken' });
  const opening = openStream(s.url, jsonStreamPath(chat.id), { headers: { 'Last-Event-ID': '1' } });
  await eventually(() => sql("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'parley' AND wait_event_type = 'Lock'") !== '0',
    { timeout: 5000, what: 'the replay waiting for it' });
  proxy.cut(); // ...and the connection is lost under it
  const refused = await opening;
  await refused.waitEnd(5000).catch(() => {});
  assert.equal(refused.status, 503, `the stream is refused: ${refused.status} ${refused.body}`);
  assert.match(JSON.parse(refused.body).detail, /events cannot be read now; try again/);
  await unlocked;
  let again;
  for (let i = 0; i < 50; i++) { // the server connects again by itself
    again = await openStream(s.url, jsonStreamPath(chat.id), { headers: { 'Last-Event-ID': '1' } });
    if (again.status === 200) break;
    await again.waitEnd(2000).catch(() => {});
    await sleep(100);
  }
  assert.equal(again.status, 200);
  // the browser's one stream too: a chat that cannot be read is a 503, not "deleted"
  proxy.freeze();
  const many = openStream(s.url, `/events?chats=${chat.id}:1`);
  await sleep(300);
  proxy.cut();
  const manyRefused = await many;
  assert.equal(manyRefused.status, 503, `/events: ${manyRefused.status}`);
  await again.waitFor((st) => st.events.some((f) => f.id === String(last)), 5000, `the replay to ${last}`);
  assert.deepEqual(durableEvents(again.frames).map((e) => e.id), Array.from({ length: last - 1 }, (_, i) => i + 2));
  again.close();
}));

// The connection breaks after a post's commit went out (the database stored it, its answer
// is lost): the post answers 503 saying it may have been stored, not that nothing changed;
// once the server is connected again the stream gets the post without another one.
test('the connection breaks after a post\'s commit went out: 503 "it may have been stored"; the stream gets the stored post by itself', { skip, timeout: 60000 }, () => withProxiedServer(0, [], async ({ s, proxy }) => {
  const chat = await createChat(s.url, 'Unsure');
  await postMessage(s.url, chat.id, 'first', 'Ada'); // the post path warm: a post is one round trip
  const stream = await openSnapshotStream(s.url, jsonStreamPath(chat.id));
  let r;
  let body;
  for (let i = 0; i < 5; i++) { // the lost answer may be another round trip's (the server's own checks)
    body = `unsure ${i}`;
    proxy.loseAnswer();
    r = await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body });
    if (r.status !== 201) break;
  }
  assert.equal(r.status, 503, r.text);
  assert.match(r.json.detail, /it may have been stored; look before sending it again/);
  await eventually(async () => (await api(s.url, 'GET', '/healthz')).status === 200, { timeout: 10000, what: 'connected again' });
  assert.ok((await allMessages(s.url, chat.id)).some((m) => m.body === body), 'the post was stored');
  await stream.waitFor((st) => durableEvents(st.frames).some((e) => e.event === 'message' && JSON.parse(e.data).body === body), 8000, 'the stored post on the stream');
  stream.close();
}));

// A database that hangs while the server runs (the connection open, nothing answering,
// which TCP does not notice): a request waits the statement bound (here 1 s, from the URL)
// plus 5 s, answers 503, /healthz says so from 3 s on, and the server connects again once
// it answers.
test('a database that hangs: a post answers 503 after the statement bound plus 5 s, then the server connects again', { skip, timeout: 60000 }, () => withProxiedServer(0, [], async ({ s, proxy }) => {
  const chat = await createChat(s.url, 'Hung');
  proxy.freeze();
  const t0 = Date.now();
  let answeredAt = 0;
  const posting = api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: 'never sent' }, { timeout: 20000 })
    .then((r) => { answeredAt = Date.now(); return r; });
  // while the post waits: /healthz says the database does not answer, after 3 s of silence
  await eventually(async () => (await api(s.url, 'GET', '/healthz')).status === 503, { timeout: 5000, interval: 200, what: '/healthz 503 while a round trip waits' });
  assert.equal(answeredAt, 0, 'the post is still waiting');
  assert.ok(Date.now() - t0 >= 2500, `/healthz 503 after ${Date.now() - t0} ms, not at once`);
  const lost = await posting;
  const took = answeredAt - t0;
  assert.equal(lost.status, 503, JSON.stringify(lost.json));
  assert.match(lost.json.detail, /database/);
  assert.ok(took >= 5500 && took < 9000, `answered after ${took} ms`);
  assert.match(s.stderr(), /no answer in 6000 ms; closing the connection/);
  await eventually(async () => (await api(s.url, 'GET', '/healthz')).status === 503, { timeout: 5000, what: '/healthz 503' });
  proxy.thaw();
  await eventually(async () => (await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: 'after' })).status === 201,
    { timeout: 20000, interval: 250, what: 'a post taken again' });
  assert.equal((await api(s.url, 'GET', '/healthz')).status, 200);
  assert.deepEqual((await allMessages(s.url, chat.id)).map((m) => m.body), ['after'], 'the post that never reached the database is not there');
}, '?options=-c%20statement_timeout%3D1000'));

// A database that hangs (the connection open, nothing answering) does not hold up a
// shutdown: SIGTERM with a post waiting on it ends the server within SPEC's 5 s
// (LIMIT_SHUTDOWN_MS for the services, then LIMIT_SHUTDOWN_FIBERS_MS for what waits).
test('SIGTERM while the database hangs: the server stops within 5 s, saying what it left', { skip, timeout: 30000 }, () => withProxiedServer(0, [], async ({ s, proxy }) => {
  const chat = await createChat(s.url, 'Hanging');
  proxy.freeze();
  const waiting = api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: 'never answered' })
    .catch((e) => ({ status: 0, error: e.message }));
  await sleep(300);
  const t0 = Date.now();
  await s.stop('SIGTERM', { timeout: 10000, keepDb: true });
  const took = Date.now() - t0;
  assert.ok(took < 5000, `stopped after ${took} ms`);
  assert.match(s.stderr(), /still wait for the database; stopping without them/);
  const r = await waiting;
  assert.notEqual(r.status, 201, 'the post that never reached the database got no 201');
}));
