// SPEC §10, Redis down or restarting under three nodes: posts still commit and answer 201,
// /healthz answers 503 on every node while Redis is unreachable and 200 again soon after its
// return, and within 5 s of its return every stream on every node has every acknowledged
// post, in id order, exactly once, ids without a gap. Then Redis cutting the nodes'
// subscriptions off (a tiny pubsub output buffer limit) under a burst: the nodes reconnect
// and catch up, and count it. It stops and starts the Redis, so it needs one of its own:
// `make http-test` runs it alone under scripts/with-redis.sh (PARLEY_TEST_REDIS_OWNED=1).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createChat, openSnapshotStream, jsonStreamPath, durableEvents, eventually, metrics, allMessages, sleep } from './helpers.mjs';
import { clusterAvailable, ownedRedis, startCluster, stopRedis, startRedis, redisCli, health } from './cluster.mjs';

const skip = !ownedRedis() && (clusterAvailable() ? 'needs a Redis of its own (make http-test runs it so, with PARLEY_TEST_REDIS_OWNED=1)' : 'needs PostgreSQL and a Redis of its own (make http-test runs it)');
const T = { timeout: 40000 };

/** The message events of stream s: [{id, body}]. */
const messageEvents = (s) => durableEvents(s.frames).filter((e) => e.event === 'message').map((e) => ({ id: e.id, body: JSON.parse(e.data).body }));

/** A metric of every node, in node order. */
const metricOf = async (nodes, name) => Promise.all(nodes.map(async (n) => (await metrics(n.url)).get(name)));

/**
 * Posts from `clients` concurrent clients, post i on node i % 3 to chat floor(i / 3) % chats,
 * `pause` ms between a client's posts, until stop(); every answer is kept
 * ({i, body, chat, node, status, text, at}); bodies are made by body(i).
 */
function load(cl, chats, { clients = 4, pause = 10, body = (i) => `post ${i}` } = {}) {
  const answers = [];
  let next = 0;
  let running = true;
  const client = async () => {
    while (running) {
      const i = next++;
      const node = cl.nodes[i % cl.nodes.length];
      const chat = chats[Math.floor(i / cl.nodes.length) % chats.length];
      const b = body(i);
      let status;
      let text;
      try {
        const r = await api(node.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: b });
        status = r.status;
        text = r.text;
      } catch (e) {
        status = 0;
        text = String(e);
      }
      answers.push({ i, body: b, chat: chat.id, node: node.name, status, text, at: Date.now() });
      if (pause) await sleep(pause);
    }
  };
  const done = Promise.all(Array.from({ length: clients }, client));
  return {
    answers,
    acked: () => answers.filter((a) => a.status === 201),
    async stop() {
      running = false;
      await done;
    },
  };
}

/** Every answer of the load was 201 (else: the ones that were not, and when). */
function assertAll201(answers, t0, what) {
  const bad = answers.filter((a) => a.status !== 201);
  assert.deepEqual(
    bad.slice(0, 10).map((a) => `${a.body} on ${a.node} at +${a.at - t0} ms: ${a.status} ${a.text.slice(0, 200)}`),
    [],
    `${what}: ${bad.length} of ${answers.length} posts not answered 201`,
  );
}

/**
 * Each stream (streams[k] of chat chatOf[k]) has, before `deadline`, a message event for every
 * acknowledged post of its chat; then (a sentinel posted to each chat arriving last) each has
 * every one exactly once, ids 1, 2, 3 … without a gap (the streams opened on empty chats).
 */
async function assertStreamsComplete(cl, streams, acked, deadline, what) {
  const want = new Map(); // chat id → Set of bodies
  for (const a of acked) {
    if (!want.has(a.chat)) want.set(a.chat, new Set());
    want.get(a.chat).add(a.body);
  }
  const lacking = [];
  for (const s of streams) {
    const bodies = want.get(s.chatId) || new Set();
    try {
      await s.waitFor(() => {
        const have = new Set(messageEvents(s).map((e) => e.body));
        for (const b of bodies) if (!have.has(b)) return false;
        return true;
      }, Math.max(1, deadline - Date.now()), `every acknowledged post on ${s.node}'s stream of ${s.chatId}`);
    } catch {
      // the chats have only message events: a post's event id is its seq
      const seqOf = new Map((await allMessages(cl.nodes[0].url, s.chatId)).map((m) => [m.body, m.seq]));
      const have = new Set(messageEvents(s).map((e) => e.body));
      const missing = [...bodies].filter((b) => !have.has(b)).map((b) => `id ${seqOf.get(b)} "${b.slice(0, 12)}…"`);
      const ids = messageEvents(s).map((e) => e.id);
      lacking.push(`${s.node}'s stream of ${s.chatId}: ${missing.length} of ${bodies.size} acknowledged posts missing (${missing.slice(0, 12).join(', ')}${missing.length > 12 ? ' …' : ''}); first ids ${JSON.stringify(ids.slice(0, 8))}, last ids ${JSON.stringify(ids.slice(-8))}`);
    }
  }
  if (lacking.length) {
    const m = [];
    for (const n of cl.nodes) {
      const x = await metrics(n.url);
      m.push(`${n.name}: ${x.samples.filter((v) => /^parley_(bus|gap|duplicates|resyncs)/.test(v.name)).map((v) => `${v.name} ${v.value}`).join(', ')}`);
    }
    assert.fail(`${what}: not every acknowledged post reached every stream in time:\n  ${lacking.join('\n  ')}\n  ${m.join('\n  ')}\n${cl.logs(2500)}`);
  }

  // exactly once, in id order, gap-free: a sentinel per chat, posted last, arrives last
  const sentinels = new Map();
  for (const [k, chatId] of [...want.keys()].entries()) {
    const body = `sentinel ${Math.random().toString(36).slice(2)}`;
    const r = await api(cl.nodes[k % cl.nodes.length].url, 'POST', `/api/v1/chats/${chatId}/messages`, { author: 'Ada', body });
    assert.equal(r.status, 201, `${what}: the sentinel post: ${r.status} ${r.text}`);
    sentinels.set(chatId, body);
  }
  for (const s of streams) {
    const sentinel = sentinels.get(s.chatId);
    await s.waitFor(() => messageEvents(s).some((e) => e.body === sentinel), 5000, `${what}: the sentinel on ${s.node}'s stream of ${s.chatId}`);
  }
  for (const s of streams) {
    const ms = messageEvents(s);
    const where = `${what}, ${s.node}'s stream of ${s.chatId}`;
    const ids = ms.map((e) => e.id);
    const bad = ids.findIndex((id, i) => id !== i + 1);
    assert.equal(bad, -1, `${where}: ids 1, 2, 3 … without a gap or repeat, but #${bad} is ${ids[bad]} (after ${ids[bad - 1]})`);
    const bodies = ms.map((e) => e.body);
    const expected = [...(want.get(s.chatId) || [])];
    assert.equal(bodies.length, expected.length + 1, `${where}: one event per acknowledged post and the sentinel (${bodies.length} events for ${expected.length + 1} posts)`);
    assert.equal(new Set(bodies).size, bodies.length, `${where}: no post twice`);
    assert.equal(bodies.at(-1), sentinels.get(s.chatId), `${where}: the sentinel last`);
  }
  // and the streams agree with the database
  for (const chatId of want.keys()) {
    const stored = await allMessages(cl.nodes[0].url, chatId);
    assert.deepEqual(
      stored.map((m) => m.body),
      messageEvents(streams.find((s) => s.chatId === chatId)).map((e) => e.body),
      `${what}: chat ${chatId}: the stream's events are the stored messages, in order`,
    );
  }
}

describe('three nodes, Redis stopped and cut off', { skip }, () => {
  let cl;
  const open = new Set();
  before(async () => {
    cl = await startCluster(3, { args: ['--keepalive', '1'] });
  });
  after(async () => {
    for (const s of open) s.close();
    try {
      redisCli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
    } catch {
      // Redis not running: startRedis below, whose config file has the default
    }
    await startRedis();
    if (cl) await cl.stop();
  });

  /** Two fresh chats and a JSON stream of each on every node (snapshot arrived). */
  async function chatsAndStreams(title) {
    const chats = [await createChat(cl.nodes[0].url, `${title} A`), await createChat(cl.nodes[1].url, `${title} B`)];
    const streams = [];
    for (const n of cl.nodes) {
      for (const c of chats) {
        const s = await openSnapshotStream(n.url, jsonStreamPath(c.id));
        s.node = n.name;
        s.chatId = c.id;
        open.add(s);
        streams.push(s);
      }
    }
    return { chats, streams };
  }

  test('Redis stopped ~3 s under load: every post 201, /healthz 503 on every node then 200 within 5 s of its return; within 5 s every stream has every post once, in order', T, async (t) => {
    const { chats, streams } = await chatsAndStreams('outage');
    const reconnects0 = await metricOf(cl.nodes, 'parley_bus_reconnects_total');
    const t0 = Date.now();
    const l = load(cl, chats);
    try {
      await eventually(() => l.acked().length >= 30, { timeout: 5000, what: '30 posts acknowledged before the outage' });

      await stopRedis();
      const tStop = Date.now();
      const ackedBefore = l.acked().length;
      // every node sees it (the heartbeat goes unanswered for 3 s at most)
      const down = new Set();
      await eventually(async () => {
        for (const n of cl.nodes) {
          if (down.has(n.name)) continue;
          const h = await health(n);
          if (h.status === 503) {
            assert.equal(h.node, n.name, `${n.name}: the 503 names the node`);
            assert.match(h.json.detail, /redis/i, `${n.name}: the 503's detail names Redis`);
            down.add(n.name);
          } else {
            assert.equal(h.status, 200, `${n.name}: /healthz while Redis is down: ${JSON.stringify(h.json)}`);
          }
        }
        return down.size === cl.nodes.length;
      }, { timeout: 4500, interval: 100, what: '/healthz 503 on every node within 4.5 s of Redis stopping' }).catch((e) => {
        throw new Error(`${e.message} (503 so far: ${[...down].join(', ') || 'none'})`);
      });
      const tDown = Date.now() - tStop;
      // the outage lasts 3 s at least; /healthz stays 503 throughout
      await sleep(Math.max(0, 3000 - (Date.now() - tStop)));
      for (const n of cl.nodes) assert.equal((await health(n)).status, 503, `${n.name}: /healthz still 503 just before Redis returns`);
      const duringOutage = l.acked().length - ackedBefore;
      assert.ok(duringOutage >= 20, `posts go on while Redis is down (${duringOutage} acknowledged in ${Date.now() - tStop} ms)`);

      await startRedis();
      const tBack = Date.now();
      const up = new Map();
      await eventually(async () => {
        for (const n of cl.nodes) {
          if (up.has(n.name)) continue;
          const h = await health(n);
          if (h.status === 200) up.set(n.name, Date.now() - tBack);
        }
        return up.size === cl.nodes.length;
      }, { timeout: Math.max(1, 5000 - (Date.now() - tBack)), interval: 50, what: '/healthz 200 on every node within 5 s of Redis\'s return' }).catch((e) => {
        throw new Error(`${e.message} (200 again: ${[...up.keys()].join(', ') || 'none'})\n${cl.logs(1500)}`);
      });
      await eventually(() => l.answers.some((a) => a.at > tBack + 300 && a.status === 201), { timeout: 3000, what: 'posts acknowledged after the return' });
      await l.stop();
      t.diagnostic(`${l.answers.length} posts (${duringOutage} while Redis was down); every node's /healthz 503 within ${tDown} ms of the stop, 200 again after ${[...up].map(([k, v]) => `${k} ${v} ms`).join(', ')}`);
      assertAll201(l.answers, t0, 'Redis stopped and started');
      await assertStreamsComplete(cl, streams, l.acked(), tBack + 5000, 'Redis stopped and started');
      t.diagnostic(`every stream complete ${Date.now() - tBack} ms after Redis's return (sentinels included)`);
      const reconnects = await metricOf(cl.nodes, 'parley_bus_reconnects_total');
      for (const [k, n] of cl.nodes.entries()) assert.ok(reconnects[k] > reconnects0[k], `${n.name}: parley_bus_reconnects_total grew (${reconnects0[k]} → ${reconnects[k]})`);
      assert.deepEqual(await metricOf(cl.nodes, 'parley_bus_connected'), cl.nodes.map(() => 1), 'parley_bus_connected 1 on every node');
    } finally {
      await l.stop();
      await startRedis();
    }
  });

  test('Redis cuts the subscribers off (pubsub output limit 1 byte) during a burst: the nodes reconnect and catch up, every stream has every post once, in order', T, async (t) => {
    const { chats, streams } = await chatsAndStreams('cut off');
    const reconnects0 = await metricOf(cl.nodes, 'parley_bus_reconnects_total');
    // Redis counts a client's output beyond its 16 KiB reply buffer: bodies of 15,000
    // characters overflow it from the second message waiting to be written
    const big = (i) => `burst ${i} ${'x'.repeat(15000)}`;
    redisCli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 1 1 1');
    let tBack;
    const t0 = Date.now();
    const l = load(cl, chats, { clients: 6, pause: 0, body: big });
    try {
      await eventually(() => l.acked().length >= 90, { timeout: 10000, what: '90 big posts acknowledged' });
      // every node's subscription was cut (and the node reconnected): the burst goes on
      // until each has fallen behind once (a node that reads fast may keep up for a while)
      let seen = reconnects0;
      await eventually(async () => {
        seen = await metricOf(cl.nodes, 'parley_bus_reconnects_total');
        return seen.every((v, k) => v > reconnects0[k]);
      }, { timeout: 15000, interval: 100, what: () => `parley_bus_reconnects_total to grow on every node while the limit holds (${reconnects0.join('/')} → ${seen.join('/')})` });
      await l.stop();
    } finally {
      await l.stop();
      redisCli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60');
      tBack = Date.now();
    }
    const reconnects = await metricOf(cl.nodes, 'parley_bus_reconnects_total');
    t.diagnostic(`${l.answers.length} posts of 15 kB; parley_bus_reconnects_total ${reconnects0.join('/')} → ${reconnects.join('/')}`);
    assertAll201(l.answers, t0, 'the burst');
    await assertStreamsComplete(cl, streams, l.acked(), tBack + 5000, 'subscribers cut off');
    t.diagnostic(`every stream complete ${Date.now() - tBack} ms after the limit was lifted (sentinels included)`);
  });
});

// A reply that ends while Redis is away: the other nodes heard it begin, not end. Once Redis
// is back they show it as stored (complete), in a message list and in a new stream's
// snapshot, not as still being written with the text they had seen.
test('a reply that ended while Redis was away shows as ended on the other node, not as being written', { skip, timeout: 60000 }, async (t) => {
  const cl = await startCluster(2, { args: ['--typing-ms', '100'] });
  t.after(async () => {
    await startRedis();
    if (t.passed) await cl.stop();
    else await cl.kill();
  });
  const [n1, n2] = cl.nodes;
  const echo = await api(n1.url, 'POST', '/api/v1/bots', { name: `Echo${Date.now() % 100000}`, backend: 'echo' });
  assert.equal(echo.status, 201);
  const chat = await createChat(n1.url, 'ended unheard', { bots: [echo.json.id] });
  const words = Array.from({ length: 40 }, (_, i) => `w${i + 1}`).join(' ');
  assert.equal((await api(n1.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'Ada', body: words })).status, 201);
  const reply = async (node) => (await allMessages(node.url, chat.id)).find((m) => m.kind === 'bot');
  await eventually(async () => (await reply(n2))?.state === 'streaming' && (await reply(n2)).body.length > 0,
    { timeout: 5000, what: 'node 2 showing the reply being written' });
  await stopRedis();
  await eventually(async () => (await reply(n1))?.state === 'complete', { timeout: 15000, what: 'the reply finished on node 1' });
  await startRedis();
  await eventually(async () => (await health(n2)).status === 200, { timeout: 10000, what: 'node 2 back on Redis' });
  const done = await reply(n1);
  const seen = await reply(n2);
  assert.deepEqual([seen.state, seen.body], [done.state, done.body], 'node 2 lists the reply as stored');
  const s = await openSnapshotStream(n2.url, jsonStreamPath(chat.id));
  await sleep(300);
  s.close();
  const snap = JSON.parse(s.events.find((e) => e.event === 'snapshot').data);
  assert.equal(snap.messages.find((m) => m.kind === 'bot').state, 'complete', 'a new stream\'s snapshot on node 2');
  assert.ok(!s.events.some((e) => e.event === 'message-update'), 'no stale reply sent after the snapshot');
});
