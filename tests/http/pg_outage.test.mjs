// PostgreSQL stopped and restarted under the server (SPEC §10, issue 17 point 4): writes and
// reads answer 503 with a detail, /healthz 503, open streams stay open with keepalives, the
// server connects again by itself and streams go on; no 201 for a post that was not committed,
// and a restart mid-load loses no acknowledged post. It stops the cluster, so it needs one of
// its own: `make http-test` runs it alone under scripts/with-postgres.sh (PARLEY_TEST_PG_OWNED).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  startServer,
  api,
  createChat,
  postMessage,
  openSnapshotStream,
  jsonStreamPath,
  durableEvents,
  eventually,
  assertError,
  metrics,
  sleep,
  allMessages,
} from './helpers.mjs';
import { ownedPostgres, stopPostgres, startPostgres } from './postgres.mjs';

const skip = !ownedPostgres() && 'needs a PostgreSQL cluster of its own (make http-test runs it so)';
const T = { timeout: 60000, skip };

async function serve() {
  return startServer({ args: ['--keepalive', '1'] });
}

async function healthStatus(url) {
  return (await api(url, 'GET', '/healthz')).status;
}

test('PostgreSQL stopped: 503 with a detail, streams stay open, all comes back by itself', T, async () => {
  const s = await serve();
  try {
    const chat = await createChat(s.url, 'Outage');
    await postMessage(s.url, chat.id, 'before');
    const st = await openSnapshotStream(s.url, jsonStreamPath(chat.id));

    stopPostgres();
    await eventually(async () => (await healthStatus(s.url)) === 503, { timeout: 5000, what: '/healthz 503' });
    const health = await api(s.url, 'GET', '/healthz');
    assert.match(health.json.detail, /database/);
    assertError(await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: 'lost' }), 503, 'a post');
    assertError(await api(s.url, 'GET', `/api/v1/chats/${chat.id}/messages`), 503, 'a read');
    const comments = st.comments.length;
    await sleep(2500);
    assert.ok(!st.ended, 'the stream stays open');
    assert.ok(st.comments.length > comments, 'keepalives go on meanwhile');

    const reconnects = (await metrics(s.url)).get('parley_db_reconnects_total');
    startPostgres();
    await eventually(async () => (await healthStatus(s.url)) === 200, { timeout: 10000, what: '/healthz 200 again' });
    assert.equal((await metrics(s.url)).get('parley_db_reconnects_total'), reconnects + 1, 'one reconnection counted');
    const after = await postMessage(s.url, chat.id, 'after');
    assert.equal(after.seq, 2, 'the refused post took no seq');
    await st.waitFor((x) => durableEvents(x.frames).some((e) => e.event === 'message' && JSON.parse(e.data).body === 'after'), 5000, 'the post after the outage on the open stream');
    const msgs = (await api(s.url, 'GET', `/api/v1/chats/${chat.id}/messages`)).json.messages;
    assert.deepEqual(msgs.map((m) => m.body), ['before', 'after'], 'nothing of the refused post was stored');
    st.close();
  } finally {
    startPostgres();
    await s.stop();
  }
});

test('PostgreSQL restarted mid-load: every acknowledged post is kept, in order, once', T, async () => {
  const s = await serve();
  try {
    const chat = await createChat(s.url, 'Restart');
    const st = await openSnapshotStream(s.url, jsonStreamPath(chat.id));
    const acknowledged = [];
    let refused = 0;
    let i = 0;
    let running = true;
    const client = async () => {
      while (running) {
        const body = `post ${++i}`;
        const r = await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body });
        if (r.status === 201) acknowledged.push(r.json);
        else {
          assertError(r, 503, `post "${body}"`);
          refused++;
          await sleep(20);
        }
      }
    };
    const clients = [client(), client(), client()];
    await sleep(500);
    stopPostgres('immediate');
    await sleep(1000);
    startPostgres();
    await eventually(async () => (await healthStatus(s.url)) === 200, { timeout: 10000, what: '/healthz 200 again' });
    await sleep(500);
    running = false;
    await Promise.all(clients);
    assert.ok(acknowledged.length > 20 && refused > 0, `posts went on around the restart (${acknowledged.length} acknowledged, ${refused} refused)`);

    const msgs = await allMessages(s.url, chat.id);
    const stored = new Set(msgs.map((m) => m.body));
    for (const m of acknowledged) assert.ok(stored.has(m.body), `acknowledged "${m.body}" (seq ${m.seq}) is stored`);
    const seqs = msgs.map((m) => m.seq);
    assert.deepEqual(seqs, seqs.map((_, k) => k + 1), 'seqs without a gap');

    // the open stream saw every stored post once, in id order, with ids without a gap
    await st.waitFor((x) => durableEvents(x.frames).length >= msgs.length, 5000, 'every stored post on the stream');
    const events = durableEvents(st.frames);
    assert.deepEqual(events.map((e) => JSON.parse(e.data).body), msgs.map((m) => m.body));
    assert.deepEqual(events.map((e) => e.id), events.map((_, k) => k + 1));
    st.close();
  } finally {
    startPostgres();
    await s.stop();
  }
});
