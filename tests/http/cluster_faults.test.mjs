// SPEC §10 and §4.7 under faults, three nodes on one PostgreSQL database and one Redis:
//   - a node SIGKILLed while tabs stream from it: they reconnect like EventSource (after a
//     short random delay, with Last-Event-ID) to the other nodes, and later to the node
//     restarted on the same database; across all its connections every tab sees every
//     committed post of its chat once, in id order, ids without a gap;
//   - PostgreSQL stopped for ~2 s under load: posts answer 503 with a JSON detail (or 201
//     when they got in before), streams stay open with keepalives, /healthz 503 on every
//     node; once it is back, /healthz 200 everywhere within 10 s and every stream has every
//     post that got a 201, once, in order, and nothing that got a 503.
//   - a reply a lone node (without --redis) left streaming is marked stopped when a node
//     starts with Redis on the same database; a reply a live node writes under its lease is not.
// Needs PostgreSQL and Redis; the last test stops PostgreSQL, so it needs a cluster of its
// own: `make http-test` runs this file alone under scripts/with-postgres.sh and
// scripts/with-redis.sh (PARLEY_TEST_PG_OWNED=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  allMessages,
  createBot,
  createChat,
  postMessage,
  startServer,
  uniqueName,
  openStream,
  openSnapshotStream,
  jsonStreamPath,
  durableEvents,
  eventually,
  sleep,
} from './helpers.mjs';
import { ownedPostgres, stopPostgres, startPostgres, createPostgresDb, dropPostgresDb } from './postgres.mjs';
import { clusterAvailable, startCluster, health, redisUrl } from './cluster.mjs';

const NEEDS = 'needs PostgreSQL and Redis (make http-test runs it)';
const T = { timeout: 60000 };

/**
 * A tab's event stream that reconnects like EventSource: when its connection ends or fails
 * (or a connection attempt fails), after a random 0–300 ms it connects again, with
 * Last-Event-ID = the last id it saw, to the node `pick(tab)` names ({name, url}).
 * It keeps every durable event it received, over all its connections, in the order received:
 *   events    [{id, event, json, conn}]   (conn: index into conns)
 *   conns     [{node, url, after, startedAt, headAt, status, firstEventAt, endedAt, end, events, dropped}]
 *   problems  what an EventSource would not expect: a non-200 answer, a fresh snapshot on a resume
 *   startId   the first snapshot's last_event_id
 *   live()    the connection open now (200 received, not ended), or null
 *   drop()    close the current connection (as a network blip would): it reconnects
 *   stop()    close it for good
 *   waitFor(pred, timeout, what)
 */
function reconnectingTab({ chatId, label, pick }) {
  const tab = { chatId, label, events: [], conns: [], problems: [], lastId: null, startId: null, stream: null, stopped: false, alt: 0 };
  const waiters = new Set();
  const notify = () => {
    for (const w of [...waiters]) w();
  };
  let timer = null;
  const retry = () => {
    if (tab.stopped || timer) return;
    timer = setTimeout(() => {
      timer = null;
      if (!tab.stopped) tab.connect(pick(tab));
    }, Math.random() * 300);
  };
  tab.connect = async (node) => {
    const k = tab.conns.length;
    const conn = { node: node.name, url: node.url, after: tab.lastId, startedAt: Date.now(), headAt: null, status: null, firstEventAt: null, endedAt: null, end: null, events: 0, dropped: false };
    tab.conns.push(conn);
    let s;
    try {
      s = await openStream(node.url, jsonStreamPath(chatId), tab.lastId === null ? {} : { headers: { 'Last-Event-ID': String(tab.lastId) } });
    } catch (e) {
      conn.endedAt = Date.now();
      conn.end = `could not connect: ${e.code || e.message}`;
      notify();
      retry();
      return;
    }
    conn.headAt = Date.now();
    conn.status = s.status;
    if (s.status !== 200) {
      tab.problems.push(`${label}: ${node.name} answered ${s.status} to a resume after ${tab.lastId}: ${s.text.slice(0, 200)}`);
      s.close();
      conn.endedAt = Date.now();
      conn.end = `status ${s.status}`;
      notify();
      retry();
      return;
    }
    if (tab.stopped) {
      s.close();
      return;
    }
    conn.stream = s;
    tab.stream = s;
    let cursor = 0;
    const consume = () => {
      for (; cursor < s.frames.length; cursor++) {
        const f = s.frames[cursor];
        if (f.fields.length === 0) continue; // a keepalive
        if (f.event === 'snapshot') {
          const snap = JSON.parse(f.data);
          if (tab.lastId !== null) tab.problems.push(`${label}: ${node.name} sent a fresh snapshot (last_event_id ${snap.last_event_id}) to a resume after ${tab.lastId}`);
          else tab.startId = snap.last_event_id;
        } else if (f.id !== undefined) {
          let json;
          try {
            json = JSON.parse(f.data);
          } catch {
            json = undefined;
          }
          tab.events.push({ id: Number(f.id), event: f.event, json, conn: k });
          conn.events++;
          if (conn.firstEventAt === null) conn.firstEventAt = Date.now();
        }
        if (f.id !== undefined) tab.lastId = Number(f.id);
      }
      notify();
    };
    let over = false;
    const ended = () => {
      if (over) return;
      over = true;
      consume();
      conn.endedAt = Date.now();
      conn.end = s.error ? `error: ${s.error.code || s.error.message}` : conn.dropped ? 'dropped by the tab' : 'ended by the server';
      if (tab.stream === s) tab.stream = null;
      notify();
      retry();
    };
    consume();
    s.socket.on('data', consume); // after the stream's own reader: its frames are parsed first
    s.socket.on('close', ended);
    if (s.ended) ended();
  };
  tab.live = () => (tab.stream ? tab.conns.find((c) => c.stream === tab.stream) : null);
  tab.drop = () => {
    const c = tab.live();
    if (c) {
      c.dropped = true;
      c.stream.close();
    }
  };
  tab.stop = () => {
    tab.stopped = true;
    clearTimeout(timer);
    if (tab.stream) tab.stream.close();
  };
  tab.waitFor = (pred, timeout, what) =>
    new Promise((resolve, reject) => {
      if (pred(tab)) return resolve(tab);
      const w = () => {
        if (pred(tab)) {
          clearTimeout(tm);
          waiters.delete(w);
          resolve(tab);
        }
      };
      const tm = setTimeout(() => {
        waiters.delete(w);
        reject(new Error(`${label}: timed out after ${timeout} ms waiting for ${what}`));
      }, timeout);
      waiters.add(w);
    });
  /** Its connections, one line each (for failure messages). */
  tab.history = () =>
    tab.conns.map((c) => `${c.node}${c.after !== null ? ` after ${c.after}` : ''} at ${c.startedAt}: ${c.status ?? '-'}, ${c.events} events, ${c.end ?? 'open'}`).join('; ');
  return tab;
}

/** The message events of a plain stream (openStream) as tab-like events [{id, event, json}]. */
const streamEvents = (s) => durableEvents(s.frames).map((e) => ({ id: e.id, event: e.event, json: JSON.parse(e.data) }));

/**
 * Every stream (records {label, chatId, startId, events: [{id, event, json}]}) has exactly
 * the chat's stored messages after its startId: ids startId + 1, +2 … without a gap or a
 * repeat, each event the stored message of that seq (the chats have message events only: an
 * event's id is its message's seq), the chat's last stored message last; so every post that
 * got a 201 (its seq and body in answers) once. Returns the stored messages by chat.
 */
async function assertStreamsExact(base, records, answers, what, logs) {
  const stored = new Map();
  for (const chatId of new Set(records.map((r) => r.chatId))) stored.set(chatId, await allMessages(base, chatId));
  const failures = [];
  for (const r of records) {
    const msgs = stored.get(r.chatId);
    const want = msgs.filter((m) => m.seq > r.startId);
    const ids = r.events.map((e) => e.id);
    const bad = ids.findIndex((id, i) => id !== r.startId + 1 + i);
    if (bad >= 0) {
      failures.push(`${r.label}: ids ${r.startId + 1}, ${r.startId + 2} … without a gap or repeat, but event #${bad} has id ${ids[bad]} (after ${ids[bad - 1]}); ids around it ${JSON.stringify(ids.slice(Math.max(0, bad - 5), bad + 5))}${r.history ? `; connections: ${r.history()}` : ''}`);
      continue;
    }
    const notMessage = r.events.find((e) => e.event !== 'message');
    if (notMessage) failures.push(`${r.label}: event ${notMessage.id} is a ${notMessage.event}, not a message`);
    const wrong = r.events.find((e, i) => !want[i] || e.json?.seq !== want[i].seq || e.json?.body !== want[i].body);
    if (wrong) failures.push(`${r.label}: event ${wrong.id} is ${JSON.stringify(wrong.json?.body)} (seq ${wrong.json?.seq}), the stored message of seq ${wrong.id} is ${JSON.stringify(msgs.find((m) => m.seq === wrong.id)?.body)}`);
    if (r.events.length !== want.length) failures.push(`${r.label}: ${r.events.length} events for the ${want.length} stored messages after ${r.startId} (last id seen ${ids.at(-1)}, last seq stored ${msgs.at(-1)?.seq})`);
  }
  // every 201 is stored, with the seq its answer gave
  for (const a of answers.filter((x) => x.status === 201)) {
    const m = stored.get(a.chat)?.find((x) => x.seq === a.seq);
    if (!m || m.body !== a.body) failures.push(`the post ${JSON.stringify(a.body)} (201, seq ${a.seq}, via ${a.node}) is not stored as seq ${a.seq}: ${JSON.stringify(m?.body)}`);
  }
  if (failures.length) assert.fail(`${what}: ${failures.length} failure(s):\n  ${failures.slice(0, 20).join('\n  ')}\n${logs()}`);
  return stored;
}

/** POST a message; the answer as a record {chat, body, node, status, seq, json, text, contentType, sentAt, at}. */
async function post(node, chatId, body) {
  const a = { chat: chatId, body, node: node.name, url: node.url, sentAt: Date.now() };
  try {
    const r = await api(node.url, 'POST', `/api/v1/chats/${chatId}/messages`, { author: 'Ada', body });
    Object.assign(a, { status: r.status, json: r.json, text: r.text, seq: r.json?.seq, contentType: r.headers.get('content-type') });
  } catch (e) {
    Object.assign(a, { status: 0, text: String(e.cause?.code || e.cause || e.message) });
  }
  a.at = Date.now();
  return a;
}

test('a node restarted while its tabs reconnect to the others: 12 tabs of 6 chats on node 1, SIGKILLed under load, resume on nodes 2 and 3, then on node 1 restarted; each sees every post once, in order, ids without a gap', { ...T, skip: !clusterAvailable() && NEEDS }, async (t) => {
  const cl = await startCluster(3, { args: ['--keepalive', '1'] });
  const tabs = [];
  let running = true;
  let loops = [];
  t.after(async () => {
    running = false;
    await Promise.all(loops);
    for (const tab of tabs) tab.stop();
    if (t.passed) await cl.stop();
    else await cl.kill();
  });
  const [, n2, n3] = cl.nodes;
  const node1 = () => cl.nodes[0]; // replaced by its restart (a new port)
  let n1Up = true; // posts go to node 1 only while it runs
  let n1Back = false; // tabs reconnect to node 1 once it is back

  const CHATS = 6;
  const chats = [];
  for (let k = 0; k < CHATS; k++) chats.push(await createChat(node1().url, `restart ${k + 1}`));
  // two tabs per chat on node 1; each alternates between nodes 2 and 3 while node 1 is down
  const pick = (tab) => (n1Back ? node1() : tab.alt++ % 2 === 0 ? n2 : n3);
  for (const [k, c] of chats.entries()) {
    for (const j of [0, 1]) {
      const tab = reconnectingTab({ chatId: c.id, label: `tab ${2 * k + j} (chat ${k + 1})`, pick });
      tab.alt = j;
      tabs.push(tab);
      await tab.connect(node1());
    }
  }
  for (const tab of tabs) await tab.waitFor((x) => x.startId !== null, 5000, 'its snapshot');
  assert.deepEqual(tabs.map((x) => x.startId), tabs.map(() => 0), 'the tabs open on chats without events');

  // a few posts a second to every chat, through nodes 2 and 3 and through node 1 while it runs
  const answers = [];
  const EVERY_MS = 300;
  loops = chats.map(async (c, k) => {
    await sleep(k * (EVERY_MS / CHATS));
    for (let i = 0; running; i++) {
      const t0 = Date.now();
      const via = n1Up ? [node1(), n2, n3] : [n2, n3];
      const node = via[i % via.length];
      answers.push(await post(node, c.id, `chat ${k + 1} post ${i} via ${node.name}`));
      await sleep(Math.max(0, EVERY_MS - (Date.now() - t0)));
    }
  });

  await sleep(2500);
  // one post per chat to node 1 on the wire as it dies: each is answered 201 (then it was
  // committed and every tab gets it) or cut (then it may have been committed or not)
  n1Up = false;
  const inFlight = chats.map((c, k) => post(node1(), c.id, `chat ${k + 1} in flight at the kill`));
  await sleep(8);
  const killedAt = Date.now();
  await node1().kill();
  answers.push(...(await Promise.all(inFlight)));
  // every tab is live again on node 2 or node 3: a 200 to its resume
  const liveElsewhere = (tab) => {
    const c = tab.live();
    return c && c.startedAt >= killedAt && (c.node === n2.name || c.node === n3.name);
  };
  for (const tab of tabs) {
    await tab.waitFor(liveElsewhere, Math.max(1, killedAt + 10000 - Date.now()), 'a live connection to node 2 or 3 within 10 s of the kill').catch((e) => {
      throw new Error(`${e.message}; connections: ${tab.history()}\n${cl.logs(1500)}`);
    });
  }
  const resumedAt = tabs.map((tab) => tab.conns.find((c) => c.startedAt >= killedAt && c.status === 200).headAt - killedAt);
  const allLive = Math.max(...resumedAt);
  // … and has had an event there (the posts go on): its resume delivers
  for (const tab of tabs) {
    await tab.waitFor((x) => x.live()?.firstEventAt, Math.max(1, killedAt + 10000 - Date.now()), 'an event on its connection to node 2 or 3').catch((e) => {
      throw new Error(`${e.message}; connections: ${tab.history()}\n${cl.logs(1500)}`);
    });
  }
  const firstEventAfter = Math.max(...tabs.map((tab) => tab.live().firstEventAt - killedAt));
  t.diagnostic(`node 1 SIGKILLed: every tab live again on node 2 or 3 within ${allLive} ms of the kill (median ${resumedAt.sort((a, b) => a - b)[resumedAt.length >> 1]} ms), each with an event there within ${firstEventAfter} ms`);

  // node 1 again, on the same database (a new port)
  await sleep(1000);
  const restartAt = Date.now();
  const again = await cl.restart(0);
  await eventually(async () => (await health(again)).status === 200, { timeout: 10000, what: '/healthz 200 on node 1 after its restart' });
  const upAfter = Date.now() - restartAt;
  n1Up = true;
  n1Back = true;
  // the tabs lose their connections (a network blip, one after another over a second) and come back to node 1
  const movedAt = Date.now();
  await Promise.all(tabs.map(async (tab) => {
    await sleep(Math.random() * 1000);
    tab.drop();
  }));
  for (const tab of tabs) {
    await tab.waitFor((x) => x.live()?.url === again.url && x.live().firstEventAt, Math.max(1, movedAt + 10000 - Date.now()), 'a live connection to node 1 (restarted) with an event on it').catch((e) => {
      throw new Error(`${e.message}; connections: ${tab.history()}\n${cl.logs(1500)}`);
    });
  }
  t.diagnostic(`node 1 restarted: /healthz 200 ${upAfter} ms after the restart began; every tab back on it ${Date.now() - movedAt} ms after the blip began`);
  await sleep(1500);

  // the load stops; one last post per chat, then every tab has it
  running = false;
  await Promise.all(loops);
  const finals = [];
  for (const [k, c] of chats.entries()) {
    const node = cl.nodes[k % 3];
    const a = await post(node, c.id, `chat ${k + 1} final`);
    assert.equal(a.status, 201, `the final post of chat ${k + 1} via ${node.name}: ${a.status} ${a.text}`);
    finals.push(a);
    answers.push(a);
  }
  const finalAt = Date.now();
  for (const [i, tab] of tabs.entries()) {
    const fin = finals[Math.floor(i / 2)];
    await tab.waitFor((x) => x.events.some((e) => e.json?.body === fin.body), Math.max(1, finalAt + 10000 - Date.now()), `the final post (seq ${fin.seq}) within 10 s`).catch((e) => {
      throw new Error(`${e.message}; last ids ${JSON.stringify(tab.events.slice(-5).map((x) => x.id))}; connections: ${tab.history()}\n${cl.logs(1500)}`);
    });
  }

  // every post 201, but those to node 1 in flight when it was killed (connection errors)
  const bad = answers.filter((a) => a.status !== 201 && !(a.status === 0 && a.node === 'node-1' && a.sentAt <= killedAt && a.at >= killedAt));
  assert.deepEqual(bad.map((a) => `${a.body} at +${a.sentAt - killedAt} ms (answered +${a.at - killedAt} ms): ${a.status} ${String(a.text).slice(0, 200)}`), [], 'every post answered 201 (a post to node 1 may fail only if it was in flight at the kill)');
  const cut = answers.filter((a) => a.status === 0);
  const problems = tabs.flatMap((x) => x.problems);
  assert.deepEqual(problems, [], 'every resume answered 200 and went on without a fresh snapshot');
  for (const tab of tabs) {
    assert.ok(tab.conns.filter((c) => c.status === 200).length >= 3, `${tab.label}: node 1, then node 2 or 3, then node 1 again: ${tab.history()}`);
    assert.equal(tab.events.at(-1).json?.body, finals[Math.floor(tabs.indexOf(tab) / 2)].body, `${tab.label}: the final post is its last event`);
  }
  const stored = await assertStreamsExact(n2.url, tabs, answers, 'the tabs across the restart', () => cl.logs(1500));
  const storedCut = cut.filter((a) => stored.get(a.chat).some((m) => m.body === a.body)).length;
  const reconnections = tabs.reduce((n, x) => n + x.conns.length - 1, 0);
  const inFlightOk = answers.filter((a) => a.status === 201 && a.body.endsWith('in flight at the kill')).length;
  t.diagnostic(`${answers.length} posts (of the 6 on the wire to node 1 at the kill: ${inFlightOk} answered 201, ${cut.length} cut, ${storedCut} of those committed); ${reconnections} reconnections of 12 tabs (${tabs.reduce((n, x) => n + x.conns.filter((c) => c.status === null).length, 0)} attempts refused); ${tabs.reduce((n, x) => n + x.events.length, 0)} events received`);
});

test('a reply a lone node (no --redis) left streaming is marked stopped when a node starts with Redis; a live node\'s reply is not', { ...T, skip: !clusterAvailable() && NEEDS }, async (t) => {
  const db = createPostgresDb();
  const words = (n) => Array.from({ length: n }, (_, i) => `w${i + 1}`).join(' ');
  const lone = await startServer({ db, args: ['--typing-ms', '100'] });
  const nodes = [];
  const startNode = async (i) => {
    const node = await startServer({ db, args: ['--typing-ms', '100', '--redis', redisUrl(), '--node', `node-${i}`] });
    nodes.push(node);
    return node;
  };
  t.after(async () => {
    await lone.kill();
    for (const n of nodes) await n.stop('SIGTERM', { keepDb: true });
    dropPostgresDb(db);
  });
  const bot = await createBot(lone.url, { name: uniqueName('Echo'), backend: 'echo' });
  const chat = await createChat(lone.url, 'left streaming', { bots: [bot.id], policy: 'mentions' });
  await postMessage(lone.url, chat.id, `@${bot.name} ${words(60)}`);
  const botReply = async (url, id) => (await allMessages(url, id)).find((m) => m.kind === 'bot');
  await eventually(async () => (await botReply(lone.url, chat.id))?.state === 'streaming', { timeout: 5000, what: 'the lone node writing its reply' });
  await lone.kill();

  const n1 = await startNode(1);
  const left = await botReply(n1.url, chat.id);
  assert.equal(left.state, 'stopped', `the reply the lone node left: ${JSON.stringify(left)}`);
  assert.match(left.error, /restarted/);

  // node 1 writes a reply under its lease while node 2 starts: node 2 leaves it alone
  const other = await createChat(n1.url, 'live reply', { bots: [bot.id], policy: 'mentions' });
  await postMessage(n1.url, other.id, `@${bot.name} ${words(30)}`);
  await eventually(async () => (await botReply(n1.url, other.id))?.state === 'streaming', { timeout: 5000, what: 'node 1 writing its reply' });
  const n2 = await startNode(2);
  assert.equal((await botReply(n2.url, other.id)).state, 'streaming', 'node 2 started: the live reply still streams');
  await eventually(async () => (await botReply(n2.url, other.id)).state === 'complete', { timeout: 10000, what: 'node 1 finishing its reply' });
});

test('a node whose lease lapsed while PostgreSQL was away takes it again and ends the reply it could not finish: stopped, saying why; the chat goes on', { ...T, skip: !(clusterAvailable() && ownedPostgres()) && (clusterAvailable() ? 'needs a PostgreSQL cluster of its own (make http-test runs it so, with PARLEY_TEST_PG_OWNED=1)' : NEEDS) }, async (t) => {
  const cl = await startCluster(1, { args: ['--typing-ms', '150'] });
  t.after(async () => {
    startPostgres();
    if (t.passed) await cl.stop();
    else await cl.kill();
  });
  const [n1] = cl.nodes;
  const words = (n) => Array.from({ length: n }, (_, i) => `w${i + 1}`).join(' ');
  const bot = await createBot(n1.url, { name: uniqueName('Echo'), backend: 'echo' });
  const chat = await createChat(n1.url, 'lease lapsed', { bots: [bot.id], policy: 'mentions' });
  await postMessage(n1.url, chat.id, `@${bot.name} ${words(100)}`);
  const replies = async () => {
    const r = await api(n1.url, 'GET', `/api/v1/chats/${chat.id}/messages`);
    return r.status === 200 ? r.json.messages.filter((m) => m.kind === 'bot') : null;
  };
  await eventually(async () => (await replies())?.[0]?.state === 'streaming', { timeout: 5000, what: 'the reply being written' });
  stopPostgres('fast');
  try {
    await sleep(9000); // past the lease's keeping (7 s): the flow is lost, its reply unwritten
  } finally {
    startPostgres();
  }
  let first;
  await eventually(async () => (first = (await replies())?.[0])?.state === 'stopped',
    { timeout: 30000, interval: 250, what: `the reply ended as stopped\n${cl.logs(1500)}` });
  assert.match(first.error, /database was away/);
  await postMessage(n1.url, chat.id, `@${bot.name} again`);
  await eventually(async () => (await replies())?.[1]?.state === 'complete', { timeout: 15000, what: 'the next reply written' });
});

test('PostgreSQL briefly down under three nodes: posts 503 with a detail (or 201), streams stay open with keepalives, /healthz 503 everywhere; back within 10 s, every stream has every 201 once, in order, and no 503', { ...T, skip: !(clusterAvailable() && ownedPostgres()) && (clusterAvailable() ? 'needs a PostgreSQL cluster of its own (make http-test runs it so, with PARLEY_TEST_PG_OWNED=1)' : NEEDS) }, async (t) => {
  const cl = await startCluster(3, { args: ['--keepalive', '1'] });
  const streams = [];
  let running = true;
  let clients = [];
  t.after(async () => {
    running = false;
    await Promise.all(clients);
    for (const s of streams) s.close();
    startPostgres();
    if (t.passed) await cl.stop();
    else await cl.kill();
  });
  const chats = [await createChat(cl.nodes[0].url, 'outage A'), await createChat(cl.nodes[1].url, 'outage B')];
  for (const n of cl.nodes) {
    for (const c of chats) {
      const s = await openSnapshotStream(n.url, jsonStreamPath(c.id));
      Object.assign(s, { node: n.name, chatId: c.id, label: `${n.name}'s stream of chat ${c.id}` });
      streams.push(s);
    }
  }
  // three clients, post i on node i % 3 to chat floor(i / 3) % 2, 20 ms apart
  const answers = [];
  let next = 0;
  clients = [0, 1, 2].map(async () => {
    while (running) {
      const i = next++;
      const node = cl.nodes[i % 3];
      const chat = chats[Math.floor(i / 3) % 2];
      answers.push(await post(node, chat.id, `post ${i} via ${node.name}`));
      await sleep(20);
    }
  });
  const acked = () => answers.filter((a) => a.status === 201);
  await eventually(() => acked().length >= 30, { timeout: 5000, what: '30 posts acknowledged before the outage' });

  const stopAt = Date.now();
  stopPostgres('fast');
  const stoppedIn = Date.now() - stopAt;
  const comments0 = streams.map((s) => s.comments.length);
  // /healthz 503 on every node (naming the database); a read answers 503 with a detail too
  const down = new Map();
  await eventually(async () => {
    for (const n of cl.nodes) {
      if (down.has(n.name)) continue;
      const h = await health(n);
      if (h.status === 503) {
        assert.equal(typeof h.json?.detail, 'string', `${n.name}: the 503 of /healthz has a detail: ${JSON.stringify(h.json)}`);
        assert.match(h.json.detail, /database|postgres/i, `${n.name}: /healthz's detail names the database`);
        down.set(n.name, Date.now() - stopAt);
      } else {
        assert.equal(h.status, 200, `${n.name}: /healthz while PostgreSQL stops: ${JSON.stringify(h.json)}`);
      }
    }
    return down.size === 3;
  }, { timeout: 5000, interval: 100, what: '/healthz 503 on every node within 5 s of PostgreSQL stopping' }).catch((e) => {
    throw new Error(`${e.message} (503 so far: ${[...down.keys()].join(', ') || 'none'})\n${cl.logs(1500)}`);
  });
  for (const n of cl.nodes) {
    const r = await api(n.url, 'GET', `/api/v1/chats/${chats[0].id}/messages`);
    assert.equal(r.status, 503, `${n.name}: a read while PostgreSQL is down: ${r.status} ${r.text}`);
    assert.equal(typeof r.json?.detail, 'string', `${n.name}: the read's 503 has a JSON detail: ${r.text}`);
  }
  await sleep(Math.max(0, stopAt + 2000 - Date.now()));
  for (const n of cl.nodes) assert.equal((await health(n)).status, 503, `${n.name}: /healthz still 503 just before PostgreSQL returns`);
  const ended = streams.filter((s) => s.ended);
  assert.deepEqual(ended.map((s) => `${s.label}: ${s.error ? s.error.message : 'ended'}`), [], 'every stream stays open while PostgreSQL is down');
  const quiet = streams.filter((s, k) => s.comments.length <= comments0[k]);
  assert.deepEqual(quiet.map((s) => s.label), [], `every stream gets keepalives while PostgreSQL is down (${Date.now() - stopAt} ms)`);
  const refusedDuring = answers.filter((a) => a.status === 503).length;

  const startAt = Date.now();
  startPostgres();
  const startedIn = Date.now() - startAt;
  const up = new Map();
  await eventually(async () => {
    for (const n of cl.nodes) {
      if (!up.has(n.name) && (await health(n)).status === 200) up.set(n.name, Date.now() - startAt);
    }
    return up.size === 3;
  }, { timeout: 10000, interval: 100, what: '/healthz 200 on every node within 10 s of PostgreSQL\'s return' }).catch((e) => {
    throw new Error(`${e.message} (200 again: ${[...up.keys()].join(', ') || 'none'})\n${cl.logs(1500)}`);
  });
  const back = Date.now();
  // posts go through every node again
  await eventually(() => cl.nodes.every((n) => answers.some((a) => a.node === n.name && a.sentAt > back && a.status === 201)), { timeout: 5000, what: 'a 201 from every node after the return' });
  running = false;
  await Promise.all(clients);

  // every answer 201, or 503 with a JSON detail; never anything else
  const others = answers.filter((a) => a.status !== 201 && !(a.status === 503 && /^application\/json/.test(a.contentType || '') && typeof a.json?.detail === 'string' && a.json.detail.length > 0));
  assert.deepEqual(others.slice(0, 10).map((a) => `${a.body} at +${a.sentAt - stopAt} ms: ${a.status} ${a.contentType} ${String(a.text).slice(0, 200)}`), [], `${others.length} of ${answers.length} posts answered neither 201 nor 503 with a JSON detail`);
  const refused = answers.filter((a) => a.status === 503);
  assert.ok(refused.length > 0, 'some posts met the outage (503)');
  assert.ok(refused.every((a) => a.at >= stopAt), 'no 503 before PostgreSQL stopped');

  // a sentinel per chat, then every stream is exact
  const sentinels = [];
  for (const [k, c] of chats.entries()) {
    const a = await post(cl.nodes[k], c.id, `sentinel ${k}`);
    assert.equal(a.status, 201, `the sentinel of chat ${c.id}: ${a.status} ${a.text}`);
    sentinels.push(a);
    answers.push(a);
  }
  const sentAt = Date.now();
  for (const s of streams) {
    const fin = sentinels[chats.findIndex((c) => c.id === s.chatId)];
    await s.waitFor(() => streamEvents(s).some((e) => e.json.body === fin.body), Math.max(1, sentAt + 10000 - Date.now()), `${s.label}: the sentinel within 10 s`).catch((e) => {
      throw new Error(`${e.message.slice(0, 500)}\n${cl.logs(1500)}`);
    });
  }
  const records = streams.map((s) => ({ label: s.label, chatId: s.chatId, startId: s.snapshot.json.last_event_id, events: streamEvents(s) }));
  const stored = await assertStreamsExact(cl.nodes[0].url, records, answers, 'streams across the PostgreSQL outage', () => cl.logs(1500));
  // nothing that got a 503 was stored or streamed
  const storedBodies = new Set([...stored.values()].flat().map((m) => m.body));
  const leaked = refused.filter((a) => storedBodies.has(a.body));
  assert.deepEqual(leaked.map((a) => `${a.body} (503 via ${a.node} at +${a.sentAt - stopAt} ms: ${a.text})`), [], 'no post answered 503 was stored or streamed');
  for (const r of records) assert.equal(r.events.at(-1).json.body, sentinels[chats.findIndex((c) => c.id === r.chatId)].body, `${r.label}: the sentinel last`);
  t.diagnostic(`${answers.length} posts: ${acked().length} 201, ${refused.length} 503 (${refusedDuring} in the first 2 s); pg_ctl stop took ${stoppedIn} ms, start ${startedIn} ms; /healthz 503 after ${[...down].map(([k, v]) => `${k} ${v} ms`).join(', ')}; 200 again after ${[...up].map(([k, v]) => `${k} ${v} ms`).join(', ')}; every stream had its sentinel ${Date.now() - sentAt} ms after it; keepalives during the outage: ${streams.map((s, k) => s.comments.length - comments0[k]).join('/')}`);
});
