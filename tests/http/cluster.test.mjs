// SPEC §10 several nodes over Redis: three nodes on one PostgreSQL database and one Redis.
// An event committed on any node reaches every stream on every node, in id order, exactly
// once; a stream resumes on another node; a reply being written is seen from another node
// (text so far, then tokens); changes that nodes cache (chat settings, bots, sessions,
// tokens) cross at once; the chat lists are live across nodes; /healthz names the node.
// Needs PostgreSQL and Redis: `make http-test` runs it under scripts/with-postgres.sh and
// scripts/with-redis.sh. The --redis refusal with a SQLite database needs neither and runs
// on every pass.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import {
  api,
  createBot,
  createChat,
  getChat,
  postMessage,
  openOkStream,
  openSnapshotStream,
  jsonStreamPath,
  parsedEvent,
  parsedEvents as evs,
  durableEvents,
  runParley,
  tempDir,
  uniqueName,
  waitIdle,
  assertError,
  allMessages,
  metrics,
  sleep,
  startServer,
  eventually,
} from './helpers.mjs';
import { ADMIN, accountsOptions, signIn, trySignIn, newUser, newToken, Client, setupLine } from './account_helpers.mjs';
import { stampFrames } from './control_helpers.mjs';
import { clusterAvailable, startCluster, health, tcpRedis, redisUrl } from './cluster.mjs';

const skip = !clusterAvailable() && 'needs PostgreSQL and Redis (make http-test runs it)';
const T = { timeout: 30000 };

/** Message events of a stream's frames as [{id (number), json}]. */
const messageEvents = (s) => durableEvents(s.frames).filter((e) => e.event === 'message').map((e) => ({ id: e.id, json: JSON.parse(e.data) }));

/** The q-quantile (0..1) of numbers xs (nearest rank). */
function quantile(xs, q) {
  const a = [...xs].sort((x, y) => x - y);
  return a[Math.min(a.length - 1, Math.max(0, Math.ceil(q * a.length) - 1))];
}

/** Wait until stream s carries a `message` event whose body is `body`. */
const waitBody = (s, body, timeout, what) =>
  s.waitFor(() => messageEvents(s).some((e) => e.json.body === body), timeout, what || `message ${JSON.stringify(body)}`);

/**
 * Every stream got the message events of `bodies` exactly once, with ids strictly increasing
 * by 1 from its first, and nothing else after them: a sentinel posted last arrives last.
 */
async function assertExactlyOnce(cl, streams, chatId, bodies, what) {
  const sentinel = `sentinel ${Math.random().toString(36).slice(2)}`;
  await postMessage(cl.nodes[0].url, chatId, sentinel);
  for (const [k, s] of streams.entries()) await waitBody(s, sentinel, 5000, `${what}: the sentinel on stream ${k}`);
  const want = [...bodies, sentinel].sort();
  for (const [k, s] of streams.entries()) {
    const ms = messageEvents(s);
    const ids = ms.map((e) => e.id);
    const bad = ids.findIndex((id, i) => i > 0 && id !== ids[i - 1] + 1);
    assert.equal(bad, -1, `${what}, stream ${k} (${s.node}): ids strictly increasing by 1, but ${ids[bad - 1]} then ${ids[bad]}; ids ${JSON.stringify(ids)}`);
    const got = ms.map((e) => e.json.body).sort();
    if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
      const count = new Map();
      for (const b of got) count.set(b, (count.get(b) || 0) + 1);
      const missing = want.filter((b) => !count.has(b));
      const twice = [...count].filter(([, n]) => n > 1).map(([b]) => b);
      assert.fail(`${what}, stream ${k} (${s.node}): ${got.length} message events for ${want.length} posts; missing ${JSON.stringify(missing.slice(0, 10))}, more than once ${JSON.stringify(twice.slice(0, 10))}\n${cl.logs(1500)}`);
    }
    assert.equal(ms.at(-1).json.body, sentinel, `${what}, stream ${k}: the sentinel is the last message`);
  }
}

describe('three nodes over Redis', { skip }, () => {
  let cl;
  const open = new Set();
  /** A JSON stream of chatId on node (snapshot arrived; frames stamped with their arrival time), closed after the test. */
  const stream = async (node, chatId, opts = {}) => {
    const s = opts.headers ? await openOkStream(node.url, jsonStreamPath(chatId), opts) : await openSnapshotStream(node.url, jsonStreamPath(chatId), opts);
    s.node = node.name;
    open.add(s);
    return stampFrames(s);
  };
  before(async () => {
    cl = await startCluster(3, { args: ['--typing-ms', '40', '--keepalive', '1'] });
  });
  after(async () => {
    for (const s of open) s.close();
    if (cl) await cl.stop();
  });

  test('/healthz of each node: 200 {"status":"ok"} naming the node (X-Parley-Node, or "node" in the body)', T, async () => {
    for (const [i, n] of cl.nodes.entries()) {
      const h = await health(n);
      assert.equal(h.status, 200, `${n.name}: ${JSON.stringify(h.json)}`);
      assert.equal(h.json.status, 'ok', `${n.name}: ${JSON.stringify(h.json)}`);
      assert.equal(h.node, `node-${i + 1}`, `${n.name}: the answer names the node`);
    }
  });

  // A latency is the product's: measured on the optimized build when make gives it
  // (PARLEY_PERF_BIN=build/parley), on a cluster of its own; ASan's is several times slower.
  test('300 posts round-robin over the 3 nodes at 100 a second: every node\'s stream has each once, ids +1; p99 latency to the other nodes under 50 ms', T, async (t) => {
    const perf = process.env.PARLEY_PERF_BIN ? path.resolve(process.env.PARLEY_PERF_BIN) : undefined;
    const own = await startCluster(3, { args: ['--keepalive', '1'], bin: perf });
    t.after(() => own.stop());
    const cl = own;
    const chat = await createChat(cl.nodes[0].url, 'fan-out');
    const streams = [];
    for (const n of cl.nodes) streams.push(await stream(n, chat.id));
    // a moderate load: 100 posts a second, round-robin over the nodes, each sent on time
    const N = 300;
    const EVERY_MS = 10;
    const sent = new Map(); // body → {at, node}
    const posts = [];
    const start = Date.now();
    for (let i = 0; i < N; i++) {
      const wait = start + i * EVERY_MS - Date.now();
      if (wait > 0) await sleep(wait);
      const node = i % 3;
      const body = `post ${i} via node-${node + 1}`;
      sent.set(body, { at: Date.now(), node });
      posts.push(postMessage(cl.nodes[node].url, chat.id, body));
    }
    await Promise.all(posts);
    // every post on every stream (a node's periodic check against the database, every 5 s,
    // brings anything missed): a shared deadline
    const deadline = Date.now() + 8000;
    let late = null;
    for (const [k, s] of streams.entries()) {
      try {
        await s.waitFor(() => messageEvents(s).length >= N, Math.max(1, deadline - Date.now()), `${N} message events on ${s.node}'s stream (stream ${k})`);
      } catch (e) {
        late = late || e;
      }
    }

    // latency: from sending a post to its event on each OTHER node's stream
    // (and, for comparison, to the stream of the node that took the post)
    const lat = [];
    const local = [];
    for (const [k, s] of streams.entries()) {
      for (const f of s.frames) {
        if (f.event !== 'message') continue;
        const p = sent.get(parsedEvent(f).json.body);
        if (p) (p.node === k ? local : lat).push(f.at - p.at);
      }
    }
    const p50 = quantile(lat, 0.5);
    const p99 = quantile(lat, 0.99);
    t.diagnostic(`cross-node latency over ${lat.length} deliveries: p50 ${p50} ms, p99 ${p99} ms, max ${Math.max(...lat)} ms (on the posting node's own stream: p50 ${quantile(local, 0.5)} ms, p99 ${quantile(local, 0.99)} ms)`);

    if (late) {
      // which events each stream lacks, and which node took those posts (the chat has only
      // message events: an event's id is its message's seq)
      const stored = await allMessages(cl.nodes[0].url, chat.id);
      const bySeq = new Map(stored.map((m) => [m.seq, m.body]));
      const lines = [];
      for (const [k, s] of streams.entries()) {
        const have = new Set(messageEvents(s).map((e) => e.id));
        const missing = stored.filter((m) => !have.has(m.seq)).map((m) => `${m.seq} (${bySeq.get(m.seq).replace(/^post \d+ via /, '')})`);
        lines.push(`  ${s.node}'s stream: ${have.size} of ${stored.length} events; missing ids ${missing.length}: ${missing.slice(0, 40).join(', ')}${missing.length > 40 ? ' …' : ''}`);
      }
      for (const n of cl.nodes) {
        const m = await metrics(n.url);
        lines.push(`  ${n.name} metrics: ${m.samples.filter((x) => /^parley_(bus|gap|duplicates|resyncs)/.test(x.name)).map((x) => `${x.name} ${x.value}`).join(', ')}`);
      }
      assert.fail(`${late.message.slice(0, 300)}\n${lines.join('\n')}\n${cl.logs(1500)}`);
    }
    await assertExactlyOnce(cl, streams, chat.id, [...sent.keys()], 'fan-out');
    for (const s of streams) assert.equal(messageEvents(s)[0].id, 1, `${s.node}: the first event is id 1 (the stream opened on an empty chat)`);
    assert.equal(lat.length, 2 * N, 'each post measured on the two other nodes');
    assert.ok(p99 < 50, `p99 cross-node latency ${p99} ms (p50 ${p50} ms) is under 50 ms`);
  });

  test('a stream opened on a chat without events: the first two events, posted at once on node 1 and node 2, both reach it (10 chats)', T, async () => {
    const [n1, n2] = cl.nodes;
    const lost = [];
    for (let round = 1; round <= 10; round++) {
      const chat = await createChat(n1.url, `first events ${round}`);
      const s = await stream(n2, chat.id);
      assert.equal(s.snapshot.id, '0', 'the snapshot of a chat without events has id 0');
      const posted = await Promise.all([postMessage(n1.url, chat.id, `on node 1 (${round})`), postMessage(n2.url, chat.id, `on node 2 (${round})`)]);
      // the event posted on node 2 comes first there; then the one from node 1, whose id may be lower
      await waitBody(s, `on node 2 (${round})`, 3000);
      try {
        await waitBody(s, `on node 1 (${round})`, 2000);
      } catch {
        lost.push(`round ${round}: the event of node 1's post (id ${posted[0].seq}) never came; the stream has ids ${JSON.stringify(messageEvents(s).map((e) => e.id))}`);
        continue;
      }
      assert.deepEqual(messageEvents(s).map((e) => e.id), [1, 2], `round ${round}: ids 1 then 2`);
    }
    assert.deepEqual(lost, [], `events lost on node 2's stream in ${lost.length} of 10 rounds`);
  });

  test('resume across nodes: read on node 1 up to id K, post on node 2, resume on node 3 with Last-Event-ID: K → exactly the missed events, in order, once', T, async () => {
    const [n1, n2, n3] = cl.nodes;
    const chat = await createChat(n1.url, 'resume');
    const s1 = await stream(n1, chat.id);
    for (let i = 1; i <= 5; i++) await postMessage(n1.url, chat.id, `before ${i}`);
    await waitBody(s1, 'before 5', 3000);
    const K = messageEvents(s1).at(-1).id;
    assert.equal(K, 5);
    s1.close();
    const missed = [];
    for (let i = 1; i <= 8; i++) missed.push(await postMessage(n2.url, chat.id, `missed ${i}`));

    // node 3 has no stream of the chat yet: the missed events come from the database; a
    // second resume, once node 3 has a stream of it, from what that node heard over Redis
    const check = async (what) => {
      const s3 = await stream(n3, chat.id, { headers: { 'Last-Event-ID': String(K) } });
      await s3.waitFor(missed.length, 5000);
      const got = evs(s3).slice(0, missed.length);
      assert.deepEqual(got.map((e) => [e.event, e.id]), missed.map((m, i) => ['message', String(K + 1 + i)]), `${what}: the missed events, by id, and no snapshot`);
      assert.deepEqual(got.map((e) => e.json), missed, `${what}: the missed Messages`);
      return s3;
    };
    const first = await check('node 3 without a stream of the chat');
    const second = await check('node 3 with a stream of the chat');
    // nothing more: a live post arrives next on both, right after the missed ones
    const live = await postMessage(n1.url, chat.id, 'live');
    for (const s of [first, second]) {
      await waitBody(s, 'live', 3000);
      assert.deepEqual(messageEvents(s).map((e) => e.id), Array.from({ length: missed.length + 1 }, (_, i) => K + 1 + i), 'the missed events once, then the live one');
      assert.deepEqual(messageEvents(s).at(-1).json, live);
    }
  });

  test('a reply being written on node 1, joined from node 2: its turn running, its text so far, then the tokens; text so far + tokens = the final text, as on node 1', T, async () => {
    const [n1, n2] = cl.nodes;
    const bot = await createBot(n1.url, { name: uniqueName('Echo'), backend: 'echo' });
    const chat = await createChat(n1.url, 'reply across', { bots: [bot.id], policy: 'mentions' });
    const s1 = await stream(n1, chat.id);
    const words = Array.from({ length: 30 }, (_, i) => `w${i + 1}`);
    const text = `@${bot.name} ${words.join(' ')}`;
    await postMessage(n1.url, chat.id, text);
    await s1.waitFor(() => evs(s1).some((e) => e.event === 'token'), 5000, 'the first token on node 1');
    const seq = evs(s1).find((e) => e.event === 'token').json.seq;

    const s2 = await stream(n2, chat.id);
    const isFinal = (e) => e.event === 'message-update' && e.id !== undefined && e.json?.seq === seq && e.json.state !== 'streaming';
    await s1.waitFor(() => evs(s1).some(isFinal), 10000, 'the final message-update on node 1');
    await s2.waitFor(() => evs(s2).some(isFinal), 5000, 'the final message-update on node 2');

    const l1 = evs(s1);
    const fin1 = l1.find(isFinal).json;
    assert.equal(fin1.state, 'complete');
    assert.equal(fin1.body, text, 'echo repeats the message');
    const tokens1 = l1.filter((e) => e.event === 'token' && e.json.seq === seq).map((e) => e.json.delta).join('');
    assert.equal(tokens1, fin1.body, 'node 1: its tokens make the final text');

    // node 2: the snapshot (the reply's message as stored) and the id-less message-updates
    // before its first token hold the text so far; the tokens after it carry the rest
    const l2 = evs(s2);
    const turn2 = l2[0].json.turn;
    assert.equal(l2[0].event, 'snapshot');
    assert.deepEqual([turn2.state, turn2.speaker], ['running', bot.name], `node 2's snapshot shows the turn running on node 1: ${JSON.stringify(turn2)}`);
    const iFirstToken = l2.findIndex((e) => e.event === 'token' && e.json.seq === seq);
    const iFinal = l2.findIndex(isFinal);
    const shown = l2.map((e) => `${e.event}${e.id !== undefined ? `#${e.id}` : ''}:${e.event === 'token' ? JSON.stringify(e.json.delta) : e.json?.seq === seq ? JSON.stringify(e.json.body) : '…'}`);
    assert.ok(iFirstToken > 0 && iFirstToken < iFinal, `node 2 gets tokens of the reply before its end: ${shown.join(' ')}`);
    let soFar = null;
    const inSnapshot = l2[0].json.messages.find((m) => m.seq === seq);
    if (inSnapshot) soFar = inSnapshot.body;
    for (const e of l2.slice(1, iFirstToken)) {
      if (e.event === 'message-update' && e.json.seq === seq) {
        assert.equal(e.id, undefined, `the text so far comes without an id: ${shown.join(' ')}`);
        soFar = e.json.body;
      }
    }
    assert.ok(soFar !== null && soFar.length > 0, `node 2 gets the reply's text so far (node 1 had sent a token before node 2's stream opened): ${shown.join(' ')}`);
    const after = l2.slice(iFirstToken, iFinal);
    assert.ok(!after.some((e) => e.event === 'message-update' && e.json.seq === seq), `no message-update of the reply between its tokens: ${shown.join(' ')}`);
    const tokens2 = after.filter((e) => e.event === 'token' && e.json.seq === seq).map((e) => e.json.delta).join('');
    const fin2 = l2[iFinal].json;
    assert.deepEqual(fin2, fin1, 'node 2 ends with the same Message as node 1');
    assert.equal(soFar + tokens2, fin2.body, `text so far ${JSON.stringify(soFar)} + tokens ${JSON.stringify(tokens2)} = the final text (no piece missing or twice)`);
    await waitIdle(s2, iFinal, 5000);
  });

  test('kill -9 of the node writing a reply: within 20 s another marks it stopped (its text at least what tabs were shown, the lost node named) and runs the queued turns; one reply at a time, none twice', T, async (t) => {
    const own = await startCluster(3, { args: ['--typing-ms', '60', '--keepalive', '1'] });
    const [n1, n2, n3] = own.nodes;
    t.after(async () => {
      await n1.kill();
      await Promise.all([n2.stop('SIGTERM', { keepDb: true }), n3.stop('SIGTERM', { keepDb: true })]);
      await own.kill();	// drops the database (the nodes are stopped already)
    });
    const echo = await createBot(n1.url, { name: uniqueName('Echo'), backend: 'echo' });
    const dice = await createBot(n1.url, { name: uniqueName('Dice'), backend: 'dice' });
    const chat = await createChat(n1.url, 'takeover', { bots: [echo.id, dice.id], policy: 'mentions' });
    const s2 = await stream(n2, chat.id);
    const s3 = await stream(n3, chat.id);
    const words = Array.from({ length: 120 }, (_, i) => `w${i + 1}`).join(' ');
    await postMessage(n1.url, chat.id, `@${echo.name} ${words}`);
    await s2.waitFor(() => evs(s2).filter((e) => e.event === 'token').length >= 5, 10000, 'five tokens on node 2');
    // asked on node 3 while node 1 writes: forwarded to node 1, which holds the chat's turns
    await postMessage(n3.url, chat.id, `@${echo.name} @${dice.name} roll 2d6`);
    await s2.waitFor(() => evs(s2).some((e) => e.event === 'turn' && e.json.queue.length === 2), 5000, 'the queue of node 1, told on node 2');
    const killedAt = Date.now();
    await n1.kill();
    const shown = (s) => evs(s).filter((e) => e.event === 'token' && e.json.seq === 2).map((e) => e.json.delta).join('');
    const shownBefore = [shown(s2), shown(s3)].sort((a, b) => b.length - a.length)[0];
    const stopped = (e) => e.event === 'message-update' && e.id !== undefined && e.json.seq === 2 && e.json.state === 'stopped';
    await s2.waitFor(() => evs(s2).some(stopped), 20000, 'the reply marked stopped within 20 s of the kill');
    const took = Date.now() - killedAt;
    t.diagnostic(`the reply was marked stopped ${took} ms after the kill`);
    const end = evs(s2).find(stopped).json;
    assert.ok(end.body.startsWith(shownBefore) && end.body.length >= shownBefore.length,
      `the stopped text (${end.body.length} chars) keeps at least what the tabs were shown (${shownBefore.length})`);
    assert.match(end.error, /node-1/, 'the error names the lost node');
    // the queued turns go on elsewhere: Echo again, then Dice, each once
    const final = (e) => e.event === 'message-update' && e.id !== undefined && e.json.state === 'complete';
    await s2.waitFor(() => evs(s2).filter(final).length >= 2, 15000, 'the two queued replies');
    const replies = evs(s2).filter(final).map((e) => e.json);
    assert.deepEqual(replies.map((m) => m.author), [echo.name, dice.name]);
    assert.match(replies[1].body, /2d6/);
    // one reply at a time, none written twice: every bot message in the store, in order
    await s2.waitFor(() => evs(s2).some((e) => e.event === 'turn' && e.json.state === 'idle' && evs(s2).filter(final).length >= 2), 5000, 'the flow idle');
    const all = await allMessages(n2.url, chat.id);
    const bots = all.filter((m) => m.kind === 'bot');
    assert.deepEqual(bots.map((m) => [m.author, m.state]), [[echo.name, 'stopped'], [echo.name, 'complete'], [dice.name, 'complete']]);
    const streaming = evs(s3).filter((e) => e.event === 'message' && e.json.kind === 'bot').map((e) => e.json.seq);
    assert.deepEqual(streaming, [2, 4, 5], 'each reply started once, one after another');
    for (const [k, m] of all.entries()) assert.equal(m.seq, k + 1, 'no post lost');
  });

  /**
   * Three nodes of its own (stopped after test t); Echo and Dice in a chat; node 1 writing
   * Echo's long reply (Dice queued behind it when diceToo), a stream on node 2 seeing its
   * tokens; then node 1 frozen with SIGSTOP: it hears nothing more (the test kills it).
   */
  const frozenWriter = async (t, title, diceToo) => {
    const own = await startCluster(3, { args: ['--typing-ms', '60', '--keepalive', '1'] });
    const [n1, n2, n3] = own.nodes;
    t.after(async () => {
      await n1.kill();
      await Promise.all([n2.stop('SIGTERM', { keepDb: true }), n3.stop('SIGTERM', { keepDb: true })]);
      await own.kill();
    });
    const echo = await createBot(n1.url, { name: uniqueName('Echo'), backend: 'echo' });
    const dice = await createBot(n1.url, { name: uniqueName('Dice'), backend: 'dice' });
    const chat = await createChat(n1.url, title, { bots: [echo.id, dice.id], policy: 'mentions' });
    const s2 = await stream(n2, chat.id);
    const words = Array.from({ length: 120 }, (_, i) => `w${i + 1}`).join(' ');
    await postMessage(n1.url, chat.id, `@${echo.name} ${diceToo ? `@${dice.name} ` : ''}${words}`);
    await s2.waitFor(() => evs(s2).filter((e) => e.event === 'token').length >= 3, 10000, 'node 1 writing the reply');
    n1.proc.kill('SIGSTOP');
    return { n1, n2, n3, echo, dice, chat, s2 };
  };

  test('asked of a node that dies before it hears: a turn asked on node 3 while node 1, writing the chat\'s reply, is frozen is done by the node that takes the lease over', { timeout: 60000 }, async (t) => {
    const { n1, n2, n3, echo, dice, chat, s2 } = await frozenWriter(t, 'asked of the dead', false);
    const asked = api(n3.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: dice.name });
    await sleep(500);
    await n1.kill();
    const r = await asked;
    assert.equal(r.status, 202, r.text);
    const diced = (e) => e.event === 'message-update' && e.id !== undefined && e.json.state === 'complete' && e.json.author === dice.name;
    await s2.waitFor(() => evs(s2).some(diced), 25000, 'the turn asked on node 3, done after the takeover');
    const bots = (await allMessages(n2.url, chat.id)).filter((m) => m.kind === 'bot');
    assert.deepEqual(bots.map((m) => [m.author, m.state]), [[echo.name, 'stopped'], [dice.name, 'complete']]);
  });

  test('a stop asked of a node that dies before it hears holds after the takeover: the queued turn never starts, and a turn asked afterwards runs to its end', { timeout: 60000 }, async (t) => {
    const { n1, n2, n3, echo, dice, chat, s2 } = await frozenWriter(t, 'stopped before the takeover', true);
    const stop = await api(n3.url, 'POST', `/api/v1/chats/${chat.id}/stop`);
    assert.equal(stop.status, 202, stop.text);
    await sleep(500);
    await n1.kill();
    const stopped = (e) => e.event === 'message-update' && e.id !== undefined && e.json.state === 'stopped' && e.json.author === echo.name;
    await s2.waitFor(() => evs(s2).some(stopped), 25000, 'Echo\'s reply marked stopped by the node taking over');
    const asked = await api(n2.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: dice.name });
    assert.equal(asked.status, 202, asked.text);
    const diced = (e) => e.event === 'message-update' && e.id !== undefined && e.json.author === dice.name && e.json.state !== 'streaming';
    await s2.waitFor(() => evs(s2).some(diced), 10000, 'the turn asked after the takeover ends');
    await sleep(1000);
    const bots = (await allMessages(n2.url, chat.id)).filter((m) => m.kind === 'bot');
    assert.deepEqual(bots.map((m) => [m.author, m.state]), [[echo.name, 'stopped'], [dice.name, 'complete']],
      'the stop dropped the queued Dice turn (it never started), and did not stop the one asked after');
  });

  test('changes cross nodes: a title PATCHed on node 1 reads back on node 2; a bot muted, then removed, on node 1 no longer answers a post on node 2', T, async () => {
    const [n1, n2] = cl.nodes;
    const chat = await createChat(n1.url, 'old title');
    assert.equal((await getChat(n2.url, chat.id)).title, 'old title', 'node 2 reads the chat (and may keep it)');
    for (let round = 1; round <= 5; round++) {
      const title = `new title ${round}`;
      const p = await api(n1.url, 'PATCH', `/api/v1/chats/${chat.id}`, { title });
      assert.equal(p.status, 200, p.text);
      assert.equal((await getChat(n2.url, chat.id)).title, title, `round ${round}: node 2, right after the PATCH on node 1`);
      const listed = (await api(n2.url, 'GET', '/api/v1/chats')).json.chats.find((c) => c.id === chat.id);
      assert.equal(listed && listed.title, title, `round ${round}: node 2's chat list`);
    }

    const quiet = await createBot(n1.url, { name: uniqueName('Quiet'), backend: 'echo' });
    const other = await createBot(n1.url, { name: uniqueName('Other'), backend: 'echo' });
    const c2 = await createChat(n1.url, 'bots', { bots: [quiet.id, other.id], policy: 'mentions' });
    const s2 = await stream(n2, c2.id);
    // A post on node 2 mentioning both (Quiet first): the bots that answer, in order
    const answerers = async (body) => {
      const from = s2.events.length;
      await postMessage(n2.url, c2.id, `@${quiet.name} @${other.name} ${body}`);
      const idle = await waitIdle(s2, from, 10000);
      return evs(s2).slice(from, idle + 1).filter((e) => e.event === 'message' && e.json.kind === 'bot').map((e) => e.json.author);
    };
    assert.deepEqual(await answerers('both of you'), [quiet.name, other.name], 'before: both answer a post on node 2 (node 2 knows the chat\'s bots)');

    const m = await api(n1.url, 'PATCH', `/api/v1/chats/${c2.id}`, { muted: [quiet.id] });
    assert.equal(m.status, 200, m.text);
    assert.deepEqual(await answerers('muted on node 1'), [other.name], 'a bot muted on node 1 does not answer a post on node 2');

    const r = await api(n1.url, 'PATCH', `/api/v1/chats/${c2.id}`, { bots: [other.id], muted: [] });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(await answerers('removed on node 1'), [other.name], 'a bot removed on node 1 does not answer a post on node 2');

    // and a bot renamed on node 1 answers to its new name on node 2
    const renamed = uniqueName('Renamed');
    const b = await api(n1.url, 'PATCH', `/api/v1/bots/${other.id}`, { name: renamed });
    assert.equal(b.status, 200, b.text);
    const from = s2.events.length;
    await postMessage(n2.url, c2.id, `@${renamed} your new name`);
    const idle = await waitIdle(s2, from, 10000);
    assert.deepEqual(evs(s2).slice(from, idle + 1).filter((e) => e.event === 'message' && e.json.kind === 'bot').map((e) => e.json.author), [renamed], 'node 2 knows the bot by its new name');
  });

  test('one bot PATCHed on two nodes at once, each a different field: both changes kept (10 rounds)', T, async () => {
    const [n1, n2] = cl.nodes;
    const bot = await createBot(n1.url, { name: uniqueName('Edited'), backend: 'echo' });
    for (let i = 1; i <= 10; i++) {
      const [a, b] = await Promise.all([
        api(n1.url, 'PATCH', `/api/v1/bots/${bot.id}`, { persona: `persona ${i}` }),
        api(n2.url, 'PATCH', `/api/v1/bots/${bot.id}`, { temperature: i / 10 }),
      ]);
      assert.deepEqual([a.status, b.status], [200, 200], `${a.text} | ${b.text}`);
      const now = (await api(n1.url, 'GET', `/api/v1/bots/${bot.id}`)).json;
      assert.deepEqual([now.persona, now.temperature], [`persona ${i}`, i / 10], `round ${i}: neither change lost`);
    }
  });

  test('the chat lists: a browser\'s stream (?chats=ID&list=1) on node 2 gets a list:chat event when a message is posted on node 1', T, async () => {
    const [n1, n2] = cl.nodes;
    const chat = await createChat(n1.url, 'listed');
    const s = await openOkStream(n2.url, `/events?chats=${chat.id}&list=1`);
    open.add(s);
    await s.waitFor(() => s.events.some((f) => f.event === 'list:all'), 5000, 'the list:all event');
    const from = s.events.length;
    const body = `list preview ${Math.random().toString(36).slice(2, 8)}`;
    await postMessage(n1.url, chat.id, body, 'Grace');
    await s.waitFor(() => s.events.slice(from).some((f) => f.event === 'list:chat'), 3000, 'a list:chat event on node 2');
    const item = s.events.slice(from).find((f) => f.event === 'list:chat');
    assert.match(item.data, new RegExp(`id="chat-${chat.id}"`), 'the item of that chat');
    assert.ok(item.data.includes(body), `the item shows the new message: ${item.data}`);
    await s.waitFor(() => s.events.some((f) => f.event === `${chat.id}:message`), 3000, 'the message on the browser\'s stream');
  });
});

describe('three nodes with --auth accounts', { skip }, () => {
  let cl;
  before(async () => {
    cl = await startCluster(3, accountsOptions());
  });
  after(async () => {
    if (cl) await cl.stop();
  });

  test('a session made on node 1 works on node 2; signed out on node 1, nodes 2 and 3 refuse it at once; a token deleted on node 2 is refused on node 3 at once (5 rounds each)', T, async () => {
    const [n1, n2, n3] = cl.nodes;
    for (let round = 1; round <= 5; round++) {
      const a1 = await signIn(n1.url, ADMIN.name, ADMIN.password);
      const a2 = new Client(n2.url, { cookie: a1.cookie });
      const a3 = new Client(n3.url, { cookie: a1.cookie });
      assert.equal((await a2.get('/api/v1/me')).name, ADMIN.name, `round ${round}: the cookie of node 1 on node 2`);
      assert.equal((await a3.get('/api/v1/me')).name, ADMIN.name, `round ${round}: and on node 3`);
      if (round === 1) {
        const chat = await a2.createChat('by cookie on node 2');
        assert.equal((await a1.get(`/api/v1/chats/${chat.id}`)).title, 'by cookie on node 2');
      }
      const out = await a1.api('DELETE', '/api/v1/session');
      assert.equal(out.status, 204, out.text);
      // right after the 204, both at once
      const [r2, r3] = await Promise.all([a2.api('GET', '/api/v1/me'), a3.api('GET', '/api/v1/me')]);
      assertError(r2, 401, `round ${round}: node 2, right after the sign-out on node 1:`);
      assertError(r3, 401, `round ${round}: node 3, right after the sign-out on node 1:`);
    }

    const b1 = await signIn(n1.url, ADMIN.name, ADMIN.password);
    const b2 = new Client(n2.url, { cookie: b1.cookie });
    for (let round = 1; round <= 5; round++) {
      const tok = await newToken(b1, `cluster script ${round}`);
      const t3 = new Client(n3.url, { token: tok.token });
      assert.equal((await t3.get('/api/v1/me')).name, ADMIN.name, `round ${round}: the token made on node 1 works on node 3`);
      const del = await b2.api('DELETE', `/api/v1/tokens/${tok.id}`);
      assert.equal(del.status, 204, del.text);
      assertError(await t3.api('GET', '/api/v1/me'), 401, `round ${round}: node 3, right after the deletion on node 2:`);
      assertError(await tok.client.api('GET', '/api/v1/me'), 401, `round ${round}: node 1 too:`);
    }
  });

  test('a read mark moved on node 1 reaches the person\'s list stream on node 2 (list:read), not an administrator\'s on node 3', T, async () => {
    const [n1, n2, n3] = cl.nodes;
    const a1 = await signIn(n1.url, ADMIN.name, ADMIN.password);
    const bob = await newUser(a1);
    const chat = await a1.createChat('read across nodes');
    await a1.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: bob.user.id });
    for (const body of ['one', 'two']) await a1.post(chat.id, body);
    const lists = [];
    try {
      for (const c of [new Client(n2.url, { cookie: bob.cookie }), new Client(n3.url, { cookie: a1.cookie })]) {
        const s = await c.stream('/events?list=1');
        lists.push(s);
        assert.equal(s.status, 200, s.body);
        await s.waitFor(() => s.events.some((f) => f.event === 'list:all'), 5000, 'list:all');
      }
      const [bobs, admins] = lists;
      await bob.ok('POST', `/api/v1/chats/${chat.id}/read`, { seq: 2 }, 204);
      await bobs.waitFor(() => bobs.events.some((f) => f.event === 'list:read'), 3000, 'list:read on node 2');
      assert.deepEqual(bobs.events.filter((f) => f.event === 'list:read').map((f) => f.data), [`${chat.id} 2`]);
      await a1.post(chat.id, 'three');
      await admins.waitFor(() => admins.events.some((f) => f.event === 'list:chat' && f.data.includes('three')), 3000,
        'the administrator\'s list:chat of the next post, on node 3');
      assert.equal(admins.events.some((f) => f.event === 'list:read'), false, 'Bob\'s mark is his alone');
    } finally {
      for (const s of lists) s.close();
    }
  });

  // Two hops, each told at most once a second (SPEC 9): node 2 renames and shares, node 3 tells.
  test('renamed on node 1 while here on node 2: node 3\'s stream lists the new name within 4 s', T, async (t) => {
    const [n1, n2, n3] = cl.nodes;
    const a1 = await signIn(n1.url, ADMIN.name, ADMIN.password);
    const bob = await newUser(a1, undefined, { display_name: 'Bobby' });
    const chat = await a1.createChat('renamed across nodes');
    await a1.ok('POST', `/api/v1/chats/${chat.id}/members`, { user: bob.user.id });
    const streams = [];
    try {
      const bobs = await new Client(n2.url, { cookie: bob.cookie }).stream(`/api/v1/chats/${chat.id}/events`);
      streams.push(bobs);
      const watch = await new Client(n3.url, { cookie: a1.cookie }).stream(`/api/v1/chats/${chat.id}/events`);
      streams.push(watch);
      const names = () => {
        const last = watch.events.filter((f) => f.event === 'presence' || f.event === 'snapshot').pop();
        const data = last && JSON.parse(last.data);
        return data ? (data.here || data).map((p) => p.name).sort().join() : '';
      };
      await watch.waitFor(() => names().includes('Bobby'), 5000, 'Bobby here on node 3');
      const t0 = Date.now();
      await a1.ok('PATCH', `/api/v1/users/${bob.user.id}`, { display_name: 'Roberto' });
      await watch.waitFor(() => names().includes('Roberto') && !names().includes('Bobby'), 4000,
        'the new name on node 3 (Bob\'s stream is on node 2, the rename on node 1)')
        .catch((e) => assert.fail(`${e.message}\n${cl.logs(1500)}`));
      t.diagnostic(`the new name on node 3 after ${Date.now() - t0} ms`);
    } finally {
      for (const s of streams) s.close();
    }
  });

  test('sign-in limits hold for the deployment: failures spread over the nodes lock a name and an address out on every node; a success clears the name everywhere', T, async () => {
    const [n1, n2, n3] = cl.nodes;
    const from = (ip) => ({ 'Sec-Fetch-Site': 'same-origin', 'X-Forwarded-For': ip });
    const a = await signIn(n1.url, ADMIN.name, ADMIN.password);
    const nina = await newUser(a, uniqueName('nina'));
    const name = nina.user.name;
    await sleep(200);

    // every sign-in is told to the other two nodes: wait until each has heard what it must
    const received = () => Promise.all(cl.nodes.map(async (n) => (await metrics(n.url)).get('parley_bus_received_total') || 0));
    const base = await received();
    const due = [0, 0, 0];
    const attempt = async (node, user, password, ip) => {
      const r = await trySignIn(node.url, user, password, from(ip));
      if (r.status !== 429) cl.nodes.forEach((_, j) => { if (cl.nodes[j] !== node) due[j] += 1; });
      return r;
    };
    const heard = async (what) => {
      const deadline = Date.now() + 10000;
      for (;;) {
        const got = await received();
        if (got.every((g, j) => g - base[j] >= due[j])) return;
        if (Date.now() > deadline) assert.fail(`${what}: not every node heard the sign-ins within 10 s: received ${JSON.stringify(got)}, from ${JSON.stringify(base)} + ${JSON.stringify(due)}`);
        await sleep(20);
      }
    };
    const fail = async (node, user, ip, what) => assertError(await attempt(node, user, 'not-the-password', ip), 401, what);

    // 4 failures over three nodes, a success on node 1, 4 more: not locked (the success
    // cleared the name on every node), then 5 over three nodes: locked on every node
    for (let i = 0; i < 4; i++) await fail(cl.nodes[i % 3], name, '198.51.100.1', `failure ${i + 1}`);
    await heard('4 failures');
    assert.equal((await attempt(n1, name, nina.password, '198.51.100.2')).status, 200, 'the right password after 4');
    await heard('the success');
    for (let i = 0; i < 4; i++) await fail(cl.nodes[(i + 1) % 3], name, '198.51.100.3', `failure ${i + 1} after the success`);
    await heard('4 more failures');
    assert.equal((await attempt(n3, name, nina.password, '198.51.100.4')).status, 200,
      'the right password on node 3 after 4 more: node 3 forgot the failures from before the success on node 1');
    await heard('the second success');
    for (let i = 0; i < 5; i++) await fail(cl.nodes[i % 3], name, '198.51.100.5', `failure ${i + 1} of 5`);
    await heard('5 failures');
    for (const [k, node] of [n1, n2, n3].entries())
      assertError(await attempt(node, name, nina.password, '198.51.100.6'), 429, `node ${k + 1}: the name is locked`);

    // 20 failures from one address over three nodes: that address is refused on every node
    for (let i = 0; i < 20; i++) await fail(cl.nodes[i % 3], uniqueName('ghost'), '203.0.113.50', `address failure ${i + 1}`);
    await heard('20 failures from one address');
    for (const [k, node] of [n1, n2, n3].entries())
      assertError(await attempt(node, ADMIN.name, ADMIN.password, '203.0.113.50'), 429, `node ${k + 1}: the address is locked`);
    assert.equal((await attempt(n2, ADMIN.name, ADMIN.password, '203.0.113.51')).status, 200, 'another address is not');
  });
});

test('the first administrator: the setup link one node printed works on another, once', { skip, timeout: 30000 }, async (t) => {
  const own = await startCluster(3, { auth: 'accounts' });
  t.after(() => own.stop());
  const [n1, n2, n3] = own.nodes;
  const links = own.nodes.map((n) => setupLine(n.stdout()));
  links.forEach((l, k) => assert.ok(l, `node ${k + 1} printed a setup link: ${JSON.stringify(own.nodes[k].stdout())}`));
  const setup = (node, link, name) => api(node.url, 'POST', '/api/v1/setup', { token: link.token, name, password: 'first-admin-pw-1' }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
  // node 3 hears node 1's link with node 1's next heartbeat (every 0.5 s)
  let r;
  const deadline = Date.now() + 10000;
  while ((r = await setup(n3, links[0], 'ada')).status === 404 && Date.now() < deadline) await sleep(100);
  assert.equal(r.status, 201, `node 1's link on node 3: ${r.status} ${r.text}\n${own.logs(1500)}`);
  assert.equal(r.json.name, 'ada');
  assertError(await setup(n2, links[1], 'bob'), 409, 'node 2\'s own link once the administrator exists:');
  assertError(await setup(n1, links[0], 'bob'), 409, 'node 1\'s link again, on node 1:');
  assert.equal((await signIn(n2.url, 'ada', 'first-admin-pw-1')).user.name, 'ada', 'the administrator signs in on node 2');
});

test('the first administrator: setups sent on two nodes at once with their own links make one administrator, the other 409', { skip, timeout: 30000 }, async (t) => {
  const own = await startCluster(2, { auth: 'accounts' });
  t.after(() => own.stop());
  const links = own.nodes.map((n) => setupLine(n.stdout()));
  const setup = (k, name) => api(own.nodes[k].url, 'POST', '/api/v1/setup', { token: links[k].token, name, password: 'first-admin-pw-1' }, { headers: { 'Sec-Fetch-Site': 'same-origin' } });
  const answers = await Promise.all([setup(0, 'ada'), setup(1, 'bob')]);
  assert.deepEqual(answers.map((r) => r.status).sort(), [201, 409], answers.map((r) => `${r.status} ${r.text}`).join(' | '));
  const admin = answers.find((r) => r.status === 201).json.name;
  const other = admin === 'ada' ? 'bob' : 'ada';
  assert.equal((await trySignIn(own.nodes[0].url, other, 'first-admin-pw-1')).status, 401, `${other} was not made`);
});

test('the first administrator from the environment: three nodes started at once on an empty database all start, with one administrator', { skip, timeout: 30000 }, async (t) => {
  const own = await startCluster(0);
  const nodes = [];
  t.after(async () => {
    for (const n of nodes) await n.kill();
    await own.stop();
  });
  const start = (i) => startServer({ ...accountsOptions(), db: own.db, args: ['--redis', redisUrl(), '--node', `node-${i}`] });
  const started = await Promise.allSettled([1, 2, 3].map(start));
  for (const s of started) if (s.status === 'fulfilled') nodes.push(s.value);
  assert.deepEqual(started.map((s) => s.status), Array(3).fill('fulfilled'), started.map((s) => s.reason?.message ?? 'ok').join(' | '));
  const signedIn = [];
  for (const n of nodes) signedIn.push(await signIn(n.url, ADMIN.name, ADMIN.password));
  const users = (await signedIn[0].get('/api/v1/users')).users;
  assert.deepEqual(users.map((u) => [u.name, u.admin]), [[ADMIN.name, true]]);
});

test('--auth proxy on two nodes: of new names first seen on both at once, exactly one becomes the administrator', { skip, timeout: 30000 }, async (t) => {
  const own = await startCluster(2, { auth: 'proxy' });
  t.after(() => own.stop());
  const as = (name) => ({ 'X-Forwarded-User': name, 'Sec-Fetch-Site': 'same-origin' });
  const answers = await Promise.all(Array.from({ length: 16 }, (_, i) =>
    api(own.nodes[i % 2].url, 'GET', '/api/v1/me', undefined, { headers: as(`early${i}`) })));
  assert.deepEqual(answers.map((r) => r.status), Array(16).fill(200), answers.map((r) => r.text).join(' | '));
  assert.equal(answers.filter((r) => r.json.admin).length, 1, answers.map((r) => `${r.json.name}:${r.json.admin}`).join(' '));
});

test('Redis named by host (redis://localhost:PORT, looked up on the loop) or by an IPv4 literal: events cross nodes', { skip, timeout: 40000 }, async (t) => {
  const redis = await tcpRedis();
  let own, s, literal;
  t.after(async () => { // in this order: the database is dropped once no node uses it
    s?.close();
    await literal?.stop('SIGTERM', { keepDb: true });
    await own?.stop();
    await redis.stop();
  });
  own = await startCluster(2, { redis: `redis://localhost:${redis.port}` });
  const [n1, n2] = own.nodes;
  const chat = await createChat(n1.url, 'By name');
  s = await openSnapshotStream(n1.url, jsonStreamPath(chat.id));
  await eventually(async () => (await health(n2)).status === 200, { timeout: 5000, what: `node 2 up on Redis\n${own.logs(1500)}` });
  await postMessage(n2.url, chat.id, 'over TCP');
  await waitBody(s, 'over TCP', 5000, `node 2's post on node 1\n${own.logs(1500)}`);
  literal = await startServer({ db: own.db, args: ['--redis', `redis://127.0.0.1:${redis.port}`, '--node', 'node-literal'] });
  await eventually(async () => (await health(literal)).status === 200, { timeout: 5000, what: 'the third node up on Redis' });
  await postMessage(literal.url, chat.id, 'from an address');
  await waitBody(s, 'from an address', 5000, 'the literal address node\'s post on node 1');
});

test('--auth proxy on two nodes: a new name first seen on both at once is one user, every request answered as them', { skip, timeout: 30000 }, async (t) => {
  const own = await startCluster(2, { auth: 'proxy' });
  t.after(() => own.stop());
  const as = (name) => ({ 'X-Forwarded-User': name, 'Sec-Fetch-Site': 'same-origin' });
  for (let round = 0; round < 5; round++) {
    const name = `newcomer${round}`;
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) =>
      api(own.nodes[i % 2].url, 'GET', '/api/v1/me', undefined, { headers: as(name) })));
    assert.deepEqual(answers.map((r) => r.status), Array(16).fill(200), `${name}: ${answers.map((r) => r.text).join(' | ')}`);
    assert.equal(new Set(answers.map((r) => r.json.id)).size, 1, `${name}: one user`);
  }
});

test('--redis with a SQLite database: exit 2, one line on stderr naming --redis', { timeout: 15000 }, async () => {
  const t = tempDir();
  try {
    for (const [what, args, env, names] of [
      ['--redis unix:// with a SQLite file', ['--db', path.join(t.dir, 'parley.db'), '--redis', `unix://${t.dir}/redis.sock`], {}, /--redis/],
      ['--redis redis:// with :memory:', ['--db', ':memory:', '--redis', 'redis://127.0.0.1:6379'], {}, /--redis/],
      ['PARLEY_REDIS with a SQLite file', ['--db', path.join(t.dir, 'parley.db')], { PARLEY_REDIS: 'redis://127.0.0.1:6379' }, /--redis|PARLEY_REDIS/],
    ]) {
      const r = await runParley(['serve', '--listen', '127.0.0.1:0', '--auth', 'none', ...args], { env, timeout: 10000 });
      assert.equal(r.timedOut, false, `${what}: it exits (stdout ${JSON.stringify(r.stdout)})`);
      assert.equal(r.code, 2, `${what}: exit status; stderr ${JSON.stringify(r.stderr)}`);
      assert.equal(r.stdout, '', `${what}: nothing on stdout (it never listens)`);
      const lines = r.stderr.split('\n').filter((l) => l.length > 0);
      assert.equal(lines.length, 1, `${what}: one line on stderr: ${JSON.stringify(r.stderr)}`);
      assert.match(lines[0], names, `${what}: the line names the option`);
    }
  } finally {
    t.cleanup();
  }
});
