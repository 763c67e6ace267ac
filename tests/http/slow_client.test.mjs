// SPEC §4.9 (slow client), §4.7 (resume), §6 (parley_sse_dropped_slow_total,
// parley_sse_subscribers); --stream-buffer.
//
// A subscriber that stops reading (its socket is paused, so the kernel buffers fill and
// then Parley's own queue grows) must be cut off once that queue passes --stream-buffer
// (64 KiB here) and counted; a normal subscriber gets every event in order and the
// posters are not slowed; the cut-off client resumes with Last-Event-ID and loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  useServerPool,
  api,
  createChat,
  postMany,
  openOkStream,
  openReadyStream,
  openSnapshotStream,
  jsonStreamPath,
  htmlStreamPath,
  durableEvents as durable,
  metrics,
  subscriberCount,
  eventually,
  parseHead,
  ChunkedDecoder,
  SSEParser,
  sleep,
} from './helpers.mjs';

const T = { timeout: 20000 };
const BODY = 'x'.repeat(15 * 1024 - 40); // with a counter prefix: just under 15 KiB
const CONCURRENCY = 8;
const BASELINE_POSTS = 100;
const MAX_POSTS = 1200; // safety cap for the slowed run (kernel buffers on loopback reach several MiB)
const AFTER_CUT_POSTS = 20; // events the slow client can only get by resuming

const pool = useServerPool(); // kills what a failed test left running

/** `count` posts from CONCURRENCY clients (or until stop() says so); returns {ms, posted: [Message]}. */
async function burst(srv, chatId, label, { count = Infinity, stop = () => false } = {}) {
  const posted = [];
  let n = 0;
  const t0 = Date.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (n < count && !stop()) {
        n += 1;
        const body = `${label} ${n} ${BODY}`;
        const r = await api(srv.url, 'POST', `/api/v1/chats/${chatId}/messages`, { author: 'Poster', body }, { timeout: 5000 });
        assert.equal(r.status, 201, `post ${label} ${n}: ${r.status} ${r.text.slice(0, 300)}`);
        posted.push(r.json);
      }
    }),
  );
  return { ms: Date.now() - t0, posted };
}

/**
 * A raw-socket subscriber that sends its request and never reads: the socket is paused
 * at once, so whatever Parley sends piles up in the kernel buffers and then in Parley.
 * drain() resumes reading and resolves, once the server has closed the connection,
 * with everything received, parsed: {status, frames, events, lastCompleteId, bytes}.
 */
function pausedSubscriber(srv, p) {
  const sock = pool.track(net.connect(srv.port, '127.0.0.1'));
  let raw = Buffer.alloc(0);
  let ended = false;
  let endWaiter = null;
  sock.on('data', (d) => (raw = Buffer.concat([raw, d])));
  sock.on('error', () => {});
  const onEnd = () => {
    ended = true;
    if (endWaiter) endWaiter();
  };
  sock.on('end', onEnd);
  sock.on('close', onEnd);
  sock.pause();
  sock.write(`GET ${p} HTTP/1.1\r\nHost: ${srv.host}:${srv.port}\r\nAccept: text/event-stream\r\n\r\n`);
  return {
    sock,
    get ended() {
      return ended;
    },
    async drain(timeout = 8000) {
      sock.resume();
      if (!ended) {
        await new Promise((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`the server did not close the slow subscriber within ${timeout} ms of resuming (${raw.length} bytes read)`)), timeout);
          endWaiter = () => {
            clearTimeout(t);
            resolve();
          };
        });
      }
      const i = raw.indexOf('\r\n\r\n');
      assert.ok(i > 0, 'the slow subscriber got no response head');
      const head = parseHead(raw.subarray(0, i).toString('latin1'));
      const frames = [];
      const parser = new SSEParser((f) => frames.push(f));
      const td = new TextDecoder();
      let lastChunk = false;
      if (/chunked/i.test(head.headers['transfer-encoding'] || '')) {
        const dec = new ChunkedDecoder();
        for (const piece of dec.push(raw.subarray(i + 4))) parser.push(td.decode(piece, { stream: true }));
        lastChunk = dec.done;
      } else {
        parser.push(td.decode(raw.subarray(i + 4)));
      }
      const events = frames.filter((f) => f.fields.length > 0);
      const withId = events.filter((f) => f.id !== undefined);
      return {
        status: head.status,
        frames,
        events,
        lastCompleteId: withId.length ? Number(withId[withId.length - 1].id) : null,
        bytes: raw.length,
        lastChunk,
      };
    },
  };
}

async function scenario(kind) {
  const srv = await pool.start({ args: ['--stream-buffer', '64'] });
  // Chat A: the baseline run (a normal subscriber, no slow one). Chat B: the same with a
  // slow subscriber. Separate chats keep B's snapshot small (see the snapshot test below).
  const chatA = await createChat(srv.url, `Baseline ${kind}`);
  const chat = await createChat(srv.url, `Slow ${kind}`);
  const streamPath = kind === 'json' ? jsonStreamPath : htmlStreamPath;
  const p = streamPath(chat.id);
  const m0 = await metrics(srv.url);
  const subs0 = m0.get('parley_sse_subscribers');
  const dropped0 = m0.get('parley_sse_dropped_slow_total');
  assert.equal(typeof subs0, 'number', 'parley_sse_subscribers is exposed');
  assert.equal(typeof dropped0, 'number', 'parley_sse_dropped_slow_total is exposed');

  // Baseline: chat A with a normal subscriber, no slow client.
  const normalA = await openReadyStream(srv.url, streamPath(chatA.id));
  const base = await burst(srv, chatA.id, 'base', { count: BASELINE_POSTS });
  await normalA.waitFor(1 + BASELINE_POSTS, 8000);
  normalA.close();
  await eventually(async () => (await subscriberCount(srv.url)) === subs0, { what: 'baseline subscriber gone' });

  // Chat B: a normal subscriber for the rest of the test.
  const normal = await openSnapshotStream(srv.url, p);

  // The slow client connects, then never reads.
  const slow = pausedSubscriber(srv, p);
  await eventually(async () => (await subscriberCount(srv.url)) === subs0 + 2, { what: 'the slow subscriber to be counted' }).catch(async (e) => {
    const m = await metrics(srv.url);
    throw new Error(`${e.message}; subscribers ${m.get('parley_sse_subscribers')}, dropped ${m.get('parley_sse_dropped_slow_total')}, normal ended ${normal.ended}`);
  });

  // Post until Parley cuts it off (polling the counter), then a few more.
  let cutSeen = false;
  let polling = true;
  const poller = (async () => {
    while (polling && !cutSeen) {
      const m = await metrics(srv.url);
      if (m.get('parley_sse_dropped_slow_total') > dropped0) cutSeen = true;
      else await sleep(50);
    }
  })();
  const t0 = Date.now();
  const run1 = await burst(srv, chat.id, 'slowed', { count: MAX_POSTS, stop: () => cutSeen });
  polling = false;
  await poller;
  assert.ok(cutSeen, `parley_sse_dropped_slow_total never moved after ${run1.posted.length} posts of ~15 KiB to a paused subscriber`);
  const run2 = await burst(srv, chat.id, 'after-cut', { count: AFTER_CUT_POSTS });
  const slowedMs = Date.now() - t0;
  const slowedCount = run1.posted.length + run2.posted.length;

  const perPostBase = base.ms / BASELINE_POSTS;
  const expectedMs = perPostBase * slowedCount;
  const report = `${kind}: baseline ${BASELINE_POSTS} posts in ${base.ms} ms (${perPostBase.toFixed(2)} ms/post); with the slow client ${slowedCount} posts in ${slowedMs} ms (${(slowedMs / slowedCount).toFixed(2)} ms/post); cut after ~${run1.posted.length} posts`;
  console.log(`${report}`);
  assert.ok(slowedMs < 3 * expectedMs + 1000, `posts were slowed by the slow client: ${report}`);

  // Exactly one subscriber was dropped: the slow one, not the normal one.
  const m1 = await metrics(srv.url);
  // (Checked at the end, so that the rest of the scenario still runs when this fails.)
  const problems = [];
  assert.ok(m1.get('parley_sse_dropped_slow_total') > dropped0, 'the cut-off was counted');
  if (m1.get('parley_sse_dropped_slow_total') !== dropped0 + 1) {
    await sleep(500);
    const m2 = await metrics(srv.url);
    problems.push(
      `expected exactly one subscriber cut off (the paused one), but parley_sse_dropped_slow_total went ${dropped0} → ${m1.get('parley_sse_dropped_slow_total')} ` +
        `(→ ${m2.get('parley_sse_dropped_slow_total')} 500 ms later); subscribers ${m2.get('parley_sse_subscribers')} (normal + slow were ${subs0 + 2}); ` +
        `normal stream ended: ${normal.ended}`,
    );
  }
  assert.ok(!normal.ended, `the normal subscriber was cut off too: ${normal.error}`);

  // The normal subscriber gets every event, in order, exactly once.
  const all = [...run1.posted, ...run2.posted];
  const lastId = Math.max(...all.map((m) => m.seq)); // one `message` event per message, no bots
  const chatNow = (await api(srv.url, 'GET', `/api/v1/chats/${chat.id}`)).json;
  assert.equal(chatNow.last_event_id, lastId, 'one event per message');
  await normal.waitFor((st) => st.events.length >= 1 + all.length, 8000, `${all.length} message events on the normal stream`);
  const nd = durable(normal.events.slice(1));
  assert.deepEqual(nd.map((e) => e.id), Array.from({ length: all.length }, (_, i) => i + 1), 'normal subscriber: ids 1..N in order');
  assert.ok(nd.every((e) => e.event === 'message'));
  if (kind === 'json') {
    const bySeq = new Map(all.map((m) => [m.seq, m]));
    for (const e of nd) assert.deepEqual(JSON.parse(e.data), bySeq.get(e.id), `event ${e.id} is message seq ${e.id}`);
  } else {
    for (const e of nd) assert.match(e.data, new RegExp(`id="msg-${e.id}"`), `HTML event ${e.id}`);
  }

  // The slow socket was closed by the server: drain what it had been sent.
  const got = await slow.drain();
  assert.equal(got.status, 200);
  assert.equal(got.events[0]?.event, 'snapshot', 'the slow client first got a snapshot');
  const sd = durable(got.events.slice(1));
  assert.ok(got.lastCompleteId !== null, 'the slow client got at least its snapshot');
  // What it did get is a prefix of the truth.
  assert.deepEqual(sd, nd.slice(0, sd.length), 'the slow client got a prefix of the events, in order');
  const N = got.lastCompleteId;
  console.log(`${kind}: slow client read ${got.bytes} bytes, ${sd.length} complete events, last id ${N}; chat at ${lastId}`);
  assert.ok(N < lastId - AFTER_CUT_POSTS + 1, `the slow client got events posted after its cut (last id ${N}, cut near ${lastId - AFTER_CUT_POSTS})`);

  // Resume with Last-Event-ID: every later event, once, in order, then live ones.
  const backlogKiB = Math.round(nd.filter((e) => e.id > N).reduce((a, e) => a + e.data.length, 0) / 1024);
  let resumed = null;
  try {
    resumed = await openOkStream(srv.url, p, { headers: { 'Last-Event-ID': String(N) } });
    await resumed.waitFor((st) => durable(st.events).length >= lastId - N, 8000, `${lastId - N} replayed events after id ${N}`);
  } catch (e) {
    const m = await metrics(srv.url);
    problems.push(
      `resume with Last-Event-ID: ${N} (${lastId - N} events, ~${backlogKiB} KiB of payload to replay, --stream-buffer 64) failed: ${e.message.slice(0, 300)}; ` +
        `parley_sse_dropped_slow_total now ${m.get('parley_sse_dropped_slow_total')}`,
    );
    if (resumed) resumed.close();
    resumed = null;
  }
  if (resumed) {
    assert.notEqual(resumed.events[0].event, 'snapshot', 'a resume within history does not start with a snapshot');
    const live = await burst(srv, chat.id, 'live', { count: 3 });
    assert.equal(live.posted.length, 3);
    await resumed.waitFor((st) => durable(st.events).length >= lastId - N + 3, 5000, 'live events after the replay');
    await sleep(200); // nothing extra may follow
    const rd = durable(resumed.events);
    const expectIds = Array.from({ length: lastId - N + 3 }, (_, i) => N + 1 + i);
    assert.deepEqual(rd.map((e) => e.id), expectIds, 'resumed: every later event exactly once, in order');
    await normal.waitFor((st) => durable(st.events.slice(1)).length >= lastId + 3, 5000, 'live events on the normal stream');
    assert.deepEqual(rd, durable(normal.events.slice(1)).filter((e) => e.id > N), 'resumed events equal the ones the normal subscriber got');
  }

  // Subscribers: the cut one is gone; closing the others brings the gauge back.
  const open = resumed ? 2 : 1;
  await eventually(async () => (await subscriberCount(srv.url)) === subs0 + open, {
    timeout: 3000,
    what: `parley_sse_subscribers = ${subs0 + open} (normal${resumed ? ' + resumed' : ''})`,
  });
  normal.close();
  if (resumed) resumed.close();
  await eventually(async () => (await subscriberCount(srv.url)) === subs0, {
    timeout: 3000,
    what: `parley_sse_subscribers back to ${subs0}`,
  });
  await pool.stop(srv);
  assert.deepEqual(problems, [], 'problems found along the way');
}

test('a paused JSON-stream subscriber is cut off, others are not slowed, and it resumes without loss', T, () => scenario('json'));

test('a paused HTML-stream subscriber is cut off, others are not slowed, and it resumes without loss', T, () => scenario('html'));

// A client that reads must never be cut off, however big the first frame it is owed:
// the bound is on output the kernel has not accepted, and a fresh socket has not yet
// had a chance to accept anything.
async function openBigSnapshot(args, body, count, what) {
  const srv = await pool.start({ args });
  const chat = await createChat(srv.url, what);
  await postMany(srv.url, chat.id, count, { concurrency: CONCURRENCY, body: () => body });
  const dropped0 = (await metrics(srv.url)).get('parley_sse_dropped_slow_total');
  const failures = [];
  for (const p of [jsonStreamPath(chat.id), htmlStreamPath(chat.id)]) {
    try {
      const s = await openSnapshotStream(srv.url, p, { wait: 8000 });
      assert.equal(s.snapshot.json.messages.length, 50);
      s.close();
    } catch (e) {
      failures.push(`${p}: ${e.message.slice(0, 200)}`);
    }
  }
  const dropped1 = (await metrics(srv.url)).get('parley_sse_dropped_slow_total');
  await pool.stop(srv);
  assert.deepEqual(failures, [], `a reading client could not open the stream of a chat with ${count} messages of ${body.length} × ${JSON.stringify(body[0])} (${args.join(' ') || 'default settings'}); parley_sse_dropped_slow_total ${dropped0} → ${dropped1}`);
  assert.equal(dropped1, dropped0, 'nobody was counted as slow');
}

test('a reading client can open a stream whose snapshot is larger than --stream-buffer (64 KiB)', T, () =>
  openBigSnapshot(['--stream-buffer', '64'], 'x'.repeat(15 * 1024), 55, 'Big snapshot'));

test('default settings: a chat of 50 maximal messages full of quotes can still be opened (snapshot > 1 MiB)', T, () =>
  openBigSnapshot([], '"'.repeat(16 * 1024), 50, 'Quotes'));
