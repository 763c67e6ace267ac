// Nothing lost across crashes and shutdowns.
// SPEC §1 (SIGINT/SIGTERM: end streams cleanly, mark a reply in flight `stopped`, exit 0
// within 5 s), §2 (seq never reused), §4.5 (event ids never reused, survive restarts),
// CONTRACT-NOTES ("A reply left `streaming` by a crash is marked `stopped` (with the
// reason in `error`) at the next start").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServerPool,
  api,
  createChat,
  chatWithBots,
  postMessage,
  postAndSee,
  openOkStream,
  openReadyStream,
  jsonStreamPath,
  parsedEvents as evs,
  durableEvents,
  sleep,
} from './helpers.mjs';

const T = { timeout: 20000 };
const TYPING = ['--typing-ms', '200'];
const LONG = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(' '); // ~12 s of typing

const pool = useServerPool();
const freshDb = () => pool.freshDb('parley-crash-');
const start = (db, args = TYPING) => pool.start({ db, args });
const stop = (s, sig = 'SIGTERM') => pool.stop(s, sig);
async function kill9(s) {
  const e = await pool.stop(s, 'SIGKILL');
  assert.equal(e.signal, 'SIGKILL', 'the server died of SIGKILL');
}
const stream = async (s, chatId, headers = {}) => pool.track(await openOkStream(s.url, jsonStreamPath(chatId), { headers }));
const readyStream = async (s, chatId) => pool.track(await openReadyStream(s.url, jsonStreamPath(chatId)));
const echoChat = async (s, name) => (await chatWithBots(s.url, `Crash ${name}`, [{ name, backend: 'echo' }])).chat;
async function allMessages(s, chatId) {
  const r = await api(s.url, 'GET', `/api/v1/chats/${chatId}/messages?limit=500`);
  assert.equal(r.status, 200, r.text);
  return r.json.messages;
}

/** Wait for a bot message in state streaming with at least `tokens` token events. Returns its seq. */
async function waitStreamingReply(st, tokens = 2, timeout = 8000) {
  let seq = null;
  await st.waitFor(
    (x) => {
      const e = evs(x);
      const m = e.find((ev) => ev.event === 'message' && ev.json?.kind === 'bot' && ev.json.state === 'streaming' && !e.some((u) => u.event === 'message-update' && u.json?.seq === ev.json.seq && u.json.state !== 'streaming'));
      if (!m) return false;
      seq = m.json.seq;
      return e.filter((ev) => ev.event === 'token' && ev.json?.seq === seq).length >= tokens;
    },
    timeout,
    `a streaming bot reply with ${tokens} tokens`,
  );
  return seq;
}

/** Durable events of a stream as [{id, event, data}]. */
const durable = (st) => durableEvents(st.events);

// ---------------------------------------------------------------------------

test('kill -9 while a bot reply streams: after restart it is stopped with an error, nothing else lost, ids continue', T, async () => {
  const db = freshDb();
  let s = await start(db);
  const chat = await echoChat(s, 'CrashEcho');
  const st = await readyStream(s, chat.id);

  // A short exchange that completes, then a long reply, and a person's message during it.
  const p1 = await postMessage(s.url, chat.id, 'hello', 'Ada');
  await st.waitFor((x) => evs(x).some((e) => e.event === 'message-update' && e.json?.kind === 'bot' && e.json.state === 'complete'), 5000, 'the first reply to complete');
  const p2 = await postMessage(s.url, chat.id, LONG, 'Ada');
  const botSeq = await waitStreamingReply(st, 3);
  const p3 = await postAndSee(s.url, st, chat.id, 'and meanwhile…', 'Grace');
  await sleep(300);
  const seenBefore = durable(st);
  const maxIdBefore = Math.max(...seenBefore.map((e) => e.id));
  const before = await allMessages(s, chat.id);
  assert.equal(before.find((m) => m.seq === botSeq).state, 'streaming');
  await kill9(s);
  st.close();

  s = await start(db);
  const afterMsgs = await allMessages(s, chat.id);
  const bot = afterMsgs.find((m) => m.seq === botSeq);
  assert.ok(bot, `bot message seq ${botSeq} is gone after restart`);
  assert.equal(bot.state, 'stopped', `a reply left streaming by kill -9: ${JSON.stringify(bot)}`);
  assert.equal(typeof bot.error, 'string', `stopped-by-crash reply carries the reason in error: ${JSON.stringify(bot)}`);
  assert.ok(bot.error.length > 0);
  console.log(`after kill -9: reply seq ${botSeq} stopped with error ${JSON.stringify(bot.error)}, kept ${bot.body.split(' ').filter(Boolean).length} words; ${seenBefore.length} events seen before the kill`);
  assert.ok(LONG.startsWith(bot.body.trim()), `the kept text is a prefix of the echo: ${JSON.stringify(bot.body)}`);
  assert.ok(!afterMsgs.some((m) => m.state === 'streaming'), 'no message is left streaming');
  for (const p of [p1, p2, p3]) {
    assert.deepEqual(afterMsgs.find((m) => m.seq === p.seq), p, `person message seq ${p.seq} survived as acknowledged`);
  }
  assert.deepEqual(afterMsgs.map((m) => m.seq), afterMsgs.map((_, i) => i + 1), 'seqs 1..N without gaps');
  // Everything that was complete before the kill is unchanged.
  for (const m of before.filter((x) => x.state === 'complete')) assert.deepEqual(afterMsgs.find((x) => x.seq === m.seq), m);

  // Event ids: the log still holds every event we saw, with the same ids and payloads.
  const chatNow = (await api(s.url, 'GET', `/api/v1/chats/${chat.id}`)).json;
  assert.ok(chatNow.last_event_id >= maxIdBefore, `last_event_id ${chatNow.last_event_id} < ${maxIdBefore} seen before the kill: ids would be reused`);
  const replay = await stream(s, chat.id, { 'Last-Event-ID': '0' });
  await replay.waitFor((x) => durable(x).length >= chatNow.last_event_id, 5000, `replay of ${chatNow.last_event_id} events`);
  const rd = durable(replay);
  assert.deepEqual(rd.map((e) => e.id), Array.from({ length: chatNow.last_event_id }, (_, i) => i + 1), 'ids 1..last, once each');
  for (const e of seenBefore) assert.deepEqual(rd.find((r) => r.id === e.id), e, `event ${e.id} (${e.event}) as seen before the kill`);

  // New activity continues the numbering.
  const p4 = await postAndSee(s.url, replay, chat.id, 'after the crash', 'Ada');
  const maxSeq = Math.max(...afterMsgs.map((m) => m.seq));
  assert.equal(p4.seq, maxSeq + 1, 'seq continues without reuse');
  const p4ev = replay.events.find((f) => f.event === 'message' && JSON.parse(f.data).seq === p4.seq);
  assert.ok(Number(p4ev.id) > chatNow.last_event_id, `new event id ${p4ev.id} > ${chatNow.last_event_id}`);
  assert.ok(Number(p4ev.id) > maxIdBefore);
  replay.close();
  await stop(s);
});

test('kill -9 during a burst of 200 posts from 4 clients: every 201 survives', T, async () => {
  const db = freshDb();
  let s = await start(db, []);
  const chat = await createChat(s.url, 'Burst');
  const acked = [];
  let n = 0;
  let killed = false;
  const failures = [];
  const killer = (async () => {
    while (acked.length < 70) await sleep(2);
    killed = true;
    await kill9(s);
  })();
  await Promise.all(
    Array.from({ length: 4 }, async (_, c) => {
      while (n < 200 && !killed) {
        n += 1;
        const body = `client ${c} post ${n} ${'z'.repeat(n % 50)}`;
        try {
          const r = await api(s.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: `C${c}`, body }, { timeout: 3000 });
          if (r.status === 201) acked.push(r.json);
          else failures.push(`${r.status} ${r.text}`);
        } catch {
          // the server died under this request: neither acknowledged nor promised
        }
      }
    }),
  );
  await killer;
  assert.deepEqual(failures, [], 'non-201 answers before the kill');
  assert.ok(acked.length >= 70, `only ${acked.length} posts acknowledged`);

  s = await start(db, []);
  const got = await allMessages(s, chat.id);
  const bySeq = new Map(got.map((m) => [m.seq, m]));
  const lost = acked.filter((m) => !bySeq.has(m.seq) || JSON.stringify(bySeq.get(m.seq)) !== JSON.stringify(m));
  assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged posts missing or changed after kill -9`);
  assert.deepEqual(got.map((m) => m.seq), got.map((_, i) => i + 1), 'seqs 1..N without gaps');
  console.log(`burst: ${n} posts started, ${acked.length} acknowledged before kill -9, ${got.length} stored after restart`);
  assert.ok(got.length <= n, 'no message appeared from nowhere');
  const seqs = acked.map((m) => m.seq);
  assert.equal(new Set(seqs).size, seqs.length, 'no two 201s share a seq');
  const chatNow = (await api(s.url, 'GET', `/api/v1/chats/${chat.id}`)).json;
  assert.ok(chatNow.last_event_id >= got.length, 'one event per stored message at least');
  const next = await postMessage(s.url, chat.id, 'after', 'Ada');
  assert.equal(next.seq, got.length + 1);
  await stop(s);
});

for (const sig of ['SIGTERM', 'SIGINT']) {
  test(`${sig} with a reply in flight: stream gets the stopped update and ends cleanly, exit 0 within 5 s, stopped after restart`, T, async () => {
    const db = freshDb();
    let s = await start(db);
    const chat = await echoChat(s, `Sig${sig.slice(3)}`);
    const st = await readyStream(s, chat.id);
    const person = await postMessage(s.url, chat.id, LONG, 'Ada');
    const botSeq = await waitStreamingReply(st, 2);

    const t0 = Date.now();
    await stop(s, sig); // asserts: exit code 0 within 5 s, no sanitizer report
    const ms = Date.now() - t0;
    assert.ok(ms < 5000, `exit took ${ms} ms`);
    await st.waitEnd(3000);

    const e = evs(st);
    const upd = e.filter((x) => x.event === 'message-update' && x.json?.seq === botSeq);
    const last = upd[upd.length - 1];
    assert.ok(last, `no message-update for the reply in flight before the stream ended; last events: ${JSON.stringify(e.slice(-4).map((x) => [x.event, x.data?.slice(0, 100)]))}`);
    assert.equal(last.json.state, 'stopped', `the last update of seq ${botSeq}: ${last.data}`);
    assert.ok(last.id !== undefined, 'the stopped update is a durable event (has an id)');
    assert.ok(st.lastChunk, `the stream ended cleanly (last chunk), error: ${st.error}`);
    assert.equal(st.incomplete, null, 'no half frame at the end');

    s = await start(db);
    const msgs = await allMessages(s, chat.id);
    assert.deepEqual(msgs.find((m) => m.seq === person.seq), person);
    const bot = msgs.find((m) => m.seq === botSeq);
    assert.equal(bot.state, 'stopped', `after restart: ${JSON.stringify(bot)}`);
    assert.deepEqual(bot, last.json, 'stored as announced');
    const chatNow = (await api(s.url, 'GET', `/api/v1/chats/${chat.id}`)).json;
    const maxSeen = Math.max(...durable(st).map((x) => x.id));
    assert.equal(chatNow.last_event_id, maxSeen, 'every stored event reached the stream before it ended; none added at restart');
    await stop(s);
  });
}

test('kill -9 after a few seconds of a reply keeps its words up to the last save', T, async () => {
  const db = freshDb();
  let s = await start(db);
  const chat = await echoChat(s, 'SaverEcho');
  const st = await readyStream(s, chat.id);
  await postMessage(s.url, chat.id, LONG, 'Ada');
  const botSeq = await waitStreamingReply(st, 2);
  await sleep(3500); // past the first save (every 2 s), ~17 words typed
  await kill9(s);
  st.close();

  s = await start(db);
  const bot = (await allMessages(s, chat.id)).find((m) => m.seq === botSeq);
  assert.equal(bot.state, 'stopped');
  const words = bot.body.split(' ').filter(Boolean);
  assert.ok(words.length >= 5, `kept ${words.length} words: ${JSON.stringify(bot.body)}`);
  assert.ok(LONG.startsWith(bot.body.trim()), `the kept text is a prefix of the reply: ${JSON.stringify(bot.body)}`);
});
