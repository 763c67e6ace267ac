// SPEC §9 presence and typing across several nodes (§10 "Presence and typing cross nodes
// too"), as CONTRACT-NOTES chooses it: each node shares who has streams of a chat open on it
// (on every change and every 4 s); another node's people count for 12 s after its last word,
// so a dead node's people leave within 20 s; every stream is told the union (the snapshot's
// "here", then ephemeral `presence` events, at most one a second per chat); a person whose
// last stream closes stays for a 5 s grace; `typing` events cross nodes like any event.
// Three nodes with --keepalive 1 and --auth none; streams name their person with ?name=.
// Needs PostgreSQL and Redis: `make http-test` runs it, alone, under scripts/with-postgres.sh
// and scripts/with-redis.sh; elsewhere it skips itself.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, createChat, openSnapshotStream, jsonStreamPath, parsedEvents as evs } from './helpers.mjs';
import { stampFrames, sortHere } from './control_helpers.mjs';
import { clusterAvailable, startCluster } from './cluster.mjs';

const skip = !clusterAvailable() && 'needs PostgreSQL and Redis (make http-test runs it)';
const ARGS = ['--keepalive', '1'];

const person = (name) => ({ user_id: null, name });
const people = (...names) => sortHere(names.map(person));
const isPresence = (e) => e.event === 'presence';
const isTyping = (e) => e.event === 'typing';
const typingPath = (chatId) => `/api/v1/chats/${chatId}/typing`;
const namesOf = (list) => (Array.isArray(list) ? list.map((p) => (p && typeof p === 'object' ? p.name : String(p))) : [`not a list: ${JSON.stringify(list)}`]);
const sameSet = (list, want) => Array.isArray(list) && JSON.stringify(sortHere(list)) === JSON.stringify(want);

/**
 * A JSON stream of chatId on node, named ?name=NAME (null: unnamed, nobody), once its
 * snapshot arrived; frames stamped with their arrival time. Added to `bag` (closed after).
 */
async function named(bag, node, chatId, name) {
  const q = name === null ? '' : `?name=${encodeURIComponent(name)}`;
  const openedAt = Date.now();
  const s = stampFrames(await openSnapshotStream(node.url, jsonStreamPath(chatId, q)));
  s.node = node.name;
  s.label = `${name === null ? 'unnamed' : name}'s stream on ${node.name}`;
  s.openedAt = openedAt;
  bag.add(s);
  return s;
}

/** Who the stream was last told is here: its last presence event, or else its snapshot's "here". */
function hereNow(s) {
  const ps = evs(s).filter(isPresence);
  return ps.length ? ps[ps.length - 1].json : s.snapshot.json.here;
}

/** What a stream was told, for failure messages: the snapshot's here, then each presence event with its arrival time. */
function told(s) {
  const at = (f) => `+${f.at - s.openedAt} ms`;
  const ps = evs(s).filter(isPresence).map((e) => `${at(e.frame)} presence${e.id !== undefined ? ` (id ${e.id}!)` : ''} ${JSON.stringify(namesOf(e.json))}`);
  const ts = evs(s).filter(isTyping).map((e) => `${at(e.frame)} typing ${e.data}`);
  return `${s.label}${s.ended ? ' (ended)' : ''}: snapshot here ${JSON.stringify(namesOf(s.snapshot.json.here))}; ${[...ps, ...ts].join('; ') || 'no presence or typing event'}`;
}

/** Fail with what every stream was told and every node's log tail. */
function failWith(cl, msg, streams) {
  assert.fail(`${msg}\n${streams.map((s) => `  ${told(s)}`).join('\n')}\n${cl.logs(2500)}`);
}

/**
 * Wait (up to ms from `since`) until stream s was told exactly the people `want`;
 * returns how long after `since` that was.
 */
async function waitHere(cl, s, want, since, ms, what, streams) {
  try {
    await s.waitFor(() => sameSet(hereNow(s), want), Math.max(1, since + ms - Date.now()), what);
  } catch {
    failWith(cl, `${what}: ${s.label} was not told ${JSON.stringify(namesOf(want))} within ${ms} ms (it was last told ${JSON.stringify(namesOf(hereNow(s)))})`, streams);
  }
  const ps = evs(s).filter(isPresence);
  return ps.length ? Math.max(0, ps[ps.length - 1].frame.at - since) : 0;
}

/** The first event of s at index >= from matching pred, waiting up to ms from `since`; fails with the streams' story and the logs. */
async function waitEvent(cl, s, pred, from, since, ms, what, streams) {
  const find = () => evs(s).findIndex((e, i) => i >= from && pred(e));
  try {
    await s.waitFor(() => find() >= 0, Math.max(1, since + ms - Date.now()), what);
  } catch {
    failWith(cl, `${what}: nothing on ${s.label} within ${ms} ms`, streams);
  }
  return evs(s)[find()];
}

/** Every presence event carries no id (ephemeral); no list names a person twice. */
function assertPresenceShape(s) {
  for (const e of evs(s).filter(isPresence)) {
    assert.equal(e.id, undefined, `${s.label}: a presence event has no id: ${JSON.stringify(e.frame.raw)}`);
    assert.ok(!/^id:/m.test(e.frame.raw), `${s.label}: no id line in ${JSON.stringify(e.frame.raw)}`);
    assert.ok(Array.isArray(e.json), `${s.label}: a presence event is a JSON list: ${e.data}`);
    const ns = namesOf(e.json);
    assert.equal(new Set(ns).size, ns.length, `${s.label}: nobody listed twice: ${e.data}`);
  }
}

/** Presence events on s at least ~a second apart (900 ms: arrival jitter). */
function assertRate(s) {
  const at = evs(s).filter(isPresence).map((e) => e.frame.at);
  const gaps = at.slice(1).map((x, i) => x - at[i]);
  assert.ok(gaps.every((g) => g >= 900), `${s.label}: presence events at most one a second: gaps ${JSON.stringify(gaps)} ms\n  ${told(s)}`);
}

describe('presence and typing across three nodes over Redis', { skip }, () => {
  let cl;
  const open = new Set();
  before(async () => {
    cl = await startCluster(3, { args: ARGS });
  });
  after(async () => {
    for (const s of open) s.close();
    if (cl) await cl.stop();
  });

  test('Ada on node 1 and Bob on node 2, then Cy opens the chat on node 3: within 3 s every stream is told Ada, Bob and Cy (the union everywhere); no ids, at most one presence event a second', { timeout: 30000 }, async (t) => {
    const [n1, n2, n3] = cl.nodes;
    const chat = await createChat(n1.url, 'presence across nodes');
    const ada = await named(open, n1, chat.id, 'Ada');
    assert.deepEqual(ada.snapshot.json.here, [person('Ada')], 'Ada sees herself in her snapshot');
    const bob = await named(open, n2, chat.id, 'Bob');
    const all = [ada, bob];
    const bobOpened = bob.openedAt;
    // Ada and Bob, on two nodes, see each other
    const adaSeesBob = await waitHere(cl, ada, people('Ada', 'Bob'), bobOpened, 3000, 'Bob (node 2) reaches Ada\'s stream (node 1)', all);
    const bobSeesAda = await waitHere(cl, bob, people('Ada', 'Bob'), bobOpened, 3000, 'Ada (node 1) reaches Bob\'s stream (node 2)', all);
    t.diagnostic(`Ada and Bob: node 1 told of Bob ${adaSeesBob} ms, node 2 knew Ada ${bobSeesAda} ms after Bob's stream opened (0: in the snapshot)`);

    // Cy on node 3, which had no stream of the chat until now
    const cy = await named(open, n3, chat.id, 'Cy');
    all.push(cy);
    const since = cy.openedAt;
    const want = people('Ada', 'Bob', 'Cy');
    const took = {};
    took.cy = await waitHere(cl, cy, want, since, 3000, 'node 3\'s stream lists Ada, Bob and Cy', all);
    took.ada = await waitHere(cl, ada, want, since, 3000, 'node 1\'s stream lists Bob and Cy too', all);
    took.bob = await waitHere(cl, bob, want, since, 3000, 'node 2\'s stream lists Ada and Cy too', all);
    t.diagnostic(`after Cy's stream opened on node 3: node 3 told all three ${took.cy} ms (snapshot here ${JSON.stringify(namesOf(cy.snapshot.json.here))}), node 1 ${took.ada} ms, node 2 ${took.bob} ms`);

    // nothing changes after that: the set stays the union on every stream
    const quiet = Date.now();
    const counts = all.map((s) => evs(s).filter(isPresence).length);
    await new Promise((r) => setTimeout(r, 5000)); // past a 4 s share of every node
    for (const [k, s] of all.entries()) {
      assert.ok(sameSet(hereNow(s), want), `${s.label}: still told all three ${Date.now() - quiet} ms later\n  ${told(s)}`);
      const later = evs(s).filter(isPresence).slice(counts[k]);
      assert.ok(later.every((e) => sameSet(e.json, want)), `${s.label}: no presence event without one of them while nobody moved\n  ${told(s)}`);
      assertPresenceShape(s);
      assertRate(s);
    }
  });

  test('typing crosses nodes: Ada types on node 1 → a typing event (no id) {"user_id":null,"name":"Ada"} on node 3\'s stream within 2 s, once on every stream; Bob on node 2 → node 1 and 3', { timeout: 30000 }, async (t) => {
    const [n1, n2, n3] = cl.nodes;
    const chat = await createChat(n2.url, 'typing across nodes');
    const ada = await named(open, n1, chat.id, 'Ada');
    const bob = await named(open, n2, chat.id, 'Bob');
    const cy = await named(open, n3, chat.id, 'Cy');
    const all = [ada, bob, cy];
    // everyone in place (every node has heard of every other's stream) before anyone types
    for (const s of all) await waitHere(cl, s, people('Ada', 'Bob', 'Cy'), cy.openedAt, 5000, 'all three present before typing', all);

    const typed = async (node, name) => {
      const from = all.map((s) => s.events.length);
      const t0 = Date.now();
      const r = await api(node.url, 'POST', typingPath(chat.id), { name });
      assert.equal(r.status, 204, `POST typing {"name":"${name}"} on ${node.name}: ${r.status} ${r.text}`);
      return { from, t0 };
    };
    const naming = (name) => (e) => isTyping(e) && e.json && e.json.name === name;

    // Ada types on node 1
    const a = await typed(n1, 'Ada');
    const onCy = await waitEvent(cl, cy, naming('Ada'), a.from[2], a.t0, 2000, 'Ada\'s typing (node 1) on node 3\'s stream', all);
    t.diagnostic(`Ada's typing on node 1 reached node 3's stream ${onCy.frame.at - a.t0} ms after the POST`);
    assert.deepEqual(onCy.json, person('Ada'));
    assert.equal(onCy.id, undefined, 'a typing event has no id');
    assert.ok(!/^id:/m.test(onCy.frame.raw), `no id line: ${JSON.stringify(onCy.frame.raw)}`);
    const onBob = await waitEvent(cl, bob, naming('Ada'), a.from[1], a.t0, 2000, 'Ada\'s typing on node 2\'s stream', all);
    const onAda = await waitEvent(cl, ada, naming('Ada'), a.from[0], a.t0, 2000, 'Ada\'s typing on her own node\'s stream', all);
    t.diagnostic(`… node 2's stream ${onBob.frame.at - a.t0} ms, node 1's ${onAda.frame.at - a.t0} ms`);

    // Bob types on node 2 (more than a second later: not Ada's limit anyway, another person)
    const b = await typed(n2, 'Bob');
    for (const [k, s] of [[0, ada], [2, cy]]) {
      const e = await waitEvent(cl, s, naming('Bob'), b.from[k], b.t0, 2000, `Bob's typing (node 2) on ${s.label}`, all);
      assert.deepEqual(e.json, person('Bob'));
      t.diagnostic(`Bob's typing on node 2 reached ${s.label} ${e.frame.at - b.t0} ms after the POST`);
    }

    // each once: nothing echoed back through Redis, nothing passed on twice
    await new Promise((r) => setTimeout(r, 1500));
    for (const s of all) {
      const ts = evs(s).filter(isTyping);
      assert.deepEqual(ts.map((e) => e.json), [person('Ada'), person('Bob')], `${s.label}: Ada's then Bob's typing, each once\n  ${told(s)}`);
      assert.ok(ts.every((e) => e.id === undefined), `${s.label}: typing events carry no id`);
    }
  });
});

describe('presence when a node dies, and when a stream closes, across nodes', { skip }, () => {
  test('kill -9 of node 1: its Ada leaves node 3\'s list within 20 s while Bob (node 2) and Cy stay; then Bob\'s stream closed on node 2: he leaves after the 5 s grace (5–7 s), on node 3 and on node 2', { timeout: 60000 }, async (t) => {
    // a cluster of its own: the shared one keeps its three nodes
    const own = await startCluster(3, { args: ARGS });
    const bag = new Set();
    t.after(async () => {
      for (const s of bag) s.close();
      await own.stop(); // node 1 is already killed; nodes 2 and 3 must stop cleanly (no sanitizer report)
    });
    const [n1, n2, n3] = own.nodes;
    const chat = await createChat(n2.url, 'a node dies');
    const ada = await named(bag, n1, chat.id, 'Ada');
    const bob = await named(bag, n2, chat.id, 'Bob');
    const cy = await named(bag, n3, chat.id, 'Cy');
    const watch2 = await named(bag, n2, chat.id, null); // nobody: watches node 2's own view
    const all = [cy, watch2, bob, ada];
    const three = people('Ada', 'Bob', 'Cy');
    await waitHere(own, cy, three, cy.openedAt, 5000, 'node 3 lists all three before the kill', all);
    await waitHere(own, watch2, three, cy.openedAt, 5000, 'node 2 lists all three before the kill', all);

    // kill -9 node 1 (Ada's only stream is there)
    const from3 = cy.events.length;
    const from2 = watch2.events.length;
    const killedAt = Date.now();
    await n1.kill();
    const withoutAda = (e) => isPresence(e) && Array.isArray(e.json) && !namesOf(e.json).includes('Ada');
    const gone3 = await waitEvent(own, cy, withoutAda, from3, killedAt, 20000, 'Ada (on the killed node 1) leaves node 3\'s list within 20 s', all);
    const took3 = gone3.frame.at - killedAt;
    t.diagnostic(`Ada left node 3's list ${took3} ms after the kill -9 of node 1`);
    assert.deepEqual(sortHere(gone3.json), people('Bob', 'Cy'), `node 3: Bob and Cy stay when Ada leaves\n  ${told(cy)}`);
    const gone2 = await waitEvent(own, watch2, withoutAda, from2, killedAt, 20000, 'Ada leaves node 2\'s list within 20 s', all);
    t.diagnostic(`Ada left node 2's list ${gone2.frame.at - killedAt} ms after the kill`);
    assert.deepEqual(sortHere(gone2.json), people('Bob', 'Cy'), `node 2: Bob and Cy stay\n  ${told(watch2)}`);
    // Bob never dropped out meanwhile (node 2 kept sharing); nor did Cy
    for (const [s, from] of [[cy, from3], [watch2, from2]]) {
      const bad = evs(s).slice(from).filter((e) => isPresence(e) && !(namesOf(e.json).includes('Bob') && namesOf(e.json).includes('Cy')));
      assert.deepEqual(bad.map((e) => e.data), [], `${s.label}: every presence event since the kill lists Bob and Cy\n  ${told(s)}`);
      assertPresenceShape(s);
      assertRate(s);
    }

    // Bob closes his only stream (on node 2) normally: the 5 s grace, then he leaves
    const c3 = cy.events.length;
    const c2 = watch2.events.length;
    const closedAt = Date.now();
    bob.close();
    const withoutBob = (e) => isPresence(e) && Array.isArray(e.json) && !namesOf(e.json).includes('Bob');
    const left3 = await waitEvent(own, cy, withoutBob, c3, closedAt, 10000, 'Bob (closed on node 2) leaves node 3\'s list', all);
    const left2 = await waitEvent(own, watch2, withoutBob, c2, closedAt, 10000, 'Bob leaves node 2\'s list', all);
    const ms3 = left3.frame.at - closedAt;
    const ms2 = left2.frame.at - closedAt;
    t.diagnostic(`Bob left ${ms3} ms after closing his stream on node 3's list, ${ms2} ms on node 2's`);
    assert.deepEqual(left3.json, [person('Cy')], `node 3: Cy alone\n  ${told(cy)}`);
    assert.deepEqual(left2.json, [person('Cy')], `node 2: Cy alone\n  ${told(watch2)}`);
    assert.ok(ms3 >= 4500 && ms3 <= 7500, `on node 3 Bob left ${ms3} ms after closing (expected the 5 s grace: 5–7 s)\n  ${told(cy)}`);
    assert.ok(ms2 >= 4500 && ms2 <= 7500, `on node 2 Bob left ${ms2} ms after closing (expected 5–7 s)\n  ${told(watch2)}`);
    // a new stream on each surviving node is told the same
    for (const n of [n2, n3]) {
      const s = await named(bag, n, chat.id, null);
      assert.deepEqual(s.snapshot.json.here, [person('Cy')], `a new stream on ${n.name}: only Cy is here`);
    }
  });
});
