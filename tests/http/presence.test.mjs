// SPEC §9 presence and typing, as CONTRACT-NOTES "Presence and typing (SPEC 9)" chooses them:
// the snapshot's "here", `presence` events (ephemeral: no id, never replayed) when the set
// changes, at most one a second, a 5 s grace for a reload; `typing` events from
// POST /api/v1/chats/{id}/typing, at most one a second per person. With --auth none a stream
// names its person with ?name=; with accounts the person is the signed-in user.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import {
  useServer,
  assertError,
  openOkStream,
  jsonStreamPath,
  parsedEvent,
  parsedEvents as evs,
  sleep,
  eventually,
} from './helpers.mjs';
import { useAccountsServer, admin, newUser } from './account_helpers.mjs';
import { on, waitEv, noEv, stampFrames, sortHere } from './control_helpers.mjs';

const T = { timeout: 25000 };
const srv = useServer({ args: ['--typing-ms', '2'] });
const acc = useAccountsServer({ args: ['--typing-ms', '2'] });
const N = on(srv);

const person = (name, user_id = null) => ({ user_id, name });
const isPresence = (e) => e.event === 'presence';
const isTyping = (e) => e.event === 'typing';
const typingPath = (chatId) => `/api/v1/chats/${chatId}/typing`;

/** A named (or unnamed: name null) JSON stream of chat, snapshot arrived, arrival times recorded. */
async function named(chatId, name) {
  const q = name === null ? '' : `?name=${encodeURIComponent(name)}`;
  return stampFrames(await N.stream(chatId, q));
}

/** The events of a frame list as parsed, ids and raw frames kept. */
const presenceEvents = (s, from = 0) => evs(s).slice(from).filter(isPresence);

/** Assert an ephemeral event: no id field at all in its frame. */
function assertNoId(e, what) {
  assert.equal(e.id, undefined, `${what}: no id`);
  assert.ok(!/^id:/m.test(e.frame.raw), `${what}: no id line in ${JSON.stringify(e.frame.raw)}`);
}

// ---------------------------------------------------------------------------

describe('presence with --auth none', { concurrency: true }, () => {
  test('the snapshot lists who is here; a second person makes a presence event (no id) listing both; a second stream of the same name counts once', T, async () => {
    const c = await N.chat('here');
    const ada = await named(c.id, 'Ada');
    assert.deepEqual(ada.snapshot.json.here, [person('Ada')], 'Ada sees herself');
    const bob = await named(c.id, 'Bob');
    assert.deepEqual(sortHere(bob.snapshot.json.here), [person('Ada'), person('Bob')]);
    const p = await waitEv(ada, isPresence, 1, 2500, 'a presence event on Ada\'s stream');
    assertNoId(p, 'presence');
    assert.deepEqual(sortHere(p.json), [person('Ada'), person('Bob')]);
    const pb = await waitEv(bob, isPresence, 1, 1000, 'the same event on Bob\'s stream');
    assert.deepEqual(pb.json, p.json);

    const fromAda = ada.events.length;
    const fromBob = bob.events.length;
    const ada2 = await named(c.id, 'Ada');
    assert.deepEqual(sortHere(ada2.snapshot.json.here), [person('Ada'), person('Bob')], 'Ada is listed once');
    await noEv(bob, isPresence, fromBob, 1500, 'a second stream of Ada changes nothing');
    await noEv(ada, isPresence, fromAda, 0, 'nor on Ada\'s first stream');
    ada2.close(); // Ada still has a stream: nobody leaves
    await noEv(bob, isPresence, fromBob, 1500, 'closing one of Ada\'s two streams');
    // the same name in another case (her phone's keyboard): still one Ada, as she came first
    const lower = await named(c.id, 'ada');
    assert.deepEqual(sortHere(lower.snapshot.json.here), [person('Ada'), person('Bob')], '"ada" is Ada');
    await noEv(bob, isPresence, fromBob, 1500, 'nobody new');
    lower.close();
  });

  test('a stream without a name, or with a blank one, is nobody: not listed, no presence event', T, async () => {
    const c = await N.chat('nobody');
    const ada = await named(c.id, 'Ada');
    const from = ada.events.length;
    for (const q of [null, '', '   ']) {
      const s = await named(c.id, q);
      assert.deepEqual(s.snapshot.json.here, [person('Ada')], `name ${JSON.stringify(q)}`);
    }
    await noEv(ada, isPresence, from, 1500, 'unnamed streams');
  });

  describe('leaving and reloading (5 s grace)', { concurrency: true }, () => {
    test('closing Bob\'s only stream and reopening it within 2 s: no presence event without Bob', T, async () => {
      const c = await N.chat('reload');
      const ada = await named(c.id, 'Ada');
      let bob = await named(c.id, 'Bob');
      await waitEv(ada, (e) => isPresence(e) && e.json.length === 2, 1, 2500, 'Bob arrives');
      const from = ada.events.length;
      bob.close();
      await sleep(1000);
      bob = await named(c.id, 'Bob');
      assert.deepEqual(sortHere(bob.snapshot.json.here), [person('Ada'), person('Bob')], 'Bob is still listed on his return');
      await noEv(ada, (e) => isPresence(e) && !e.json.some((x) => x.name === 'Bob'), from, 7000, 'a reload within the grace');
      const s = await named(c.id, 'Cy');
      assert.deepEqual(sortHere(s.snapshot.json.here), [person('Ada'), person('Bob'), person('Cy')]);
    });

    test('closing Bob\'s only stream for good: a presence event without him after the 5 s grace (within about 5–7 s)', T, async () => {
      const c = await N.chat('leave');
      const ada = await named(c.id, 'Ada');
      const bob = await named(c.id, 'Bob');
      await waitEv(ada, (e) => isPresence(e) && e.json.length === 2, 1, 2500, 'Bob arrives');
      const from = ada.events.length;
      const t0 = Date.now();
      bob.close();
      const gone = await waitEv(ada, isPresence, from, 9000, 'Bob leaves');
      const ms = gone.frame.at - t0;
      assert.deepEqual(gone.json, [person('Ada')]);
      assertNoId(gone, 'presence');
      assert.ok(ms >= 4500 && ms <= 7500, `Bob left ${ms} ms after closing (expected 5–7 s)`);
      const s = await named(c.id, null);
      assert.deepEqual(s.snapshot.json.here, [person('Ada')]);
    });
  });

  test('presence events for one chat come at most once a second, the last one carrying the set as it is', T, async () => {
    const c = await N.chat('rate');
    const obs = await named(c.id, 'Observer');
    const t0 = Date.now();
    const opened = [];
    for (let i = 1; i <= 6; i++) {
      opened.push(await named(c.id, `P${i}`));
      if (i % 2 === 0) opened[i - 2].close(); // closed at once: they stay listed through the grace
      await sleep(150);
    }
    const want = sortHere([person('Observer'), ...[1, 2, 3, 4, 5, 6].map((i) => person(`P${i}`))]);
    await eventually(() => {
      const ps = presenceEvents(obs);
      return ps.length && JSON.stringify(sortHere(ps[ps.length - 1].json)) === JSON.stringify(want);
    }, { timeout: 4000, what: `a presence event listing all seven; got ${JSON.stringify(presenceEvents(obs).map((e) => e.json))}` });
    await sleep(1200); // anything still coalescing comes out
    const ps = presenceEvents(obs);
    for (const e of ps) assertNoId(e, 'presence');
    const at = ps.map((e) => e.frame.at);
    const gaps = at.slice(1).map((x, i) => x - at[i]);
    assert.ok(gaps.every((g) => g >= 900), `at most one a second: gaps ${JSON.stringify(gaps)} ms`);
    assert.ok(ps.length <= Math.ceil((at[at.length - 1] - t0) / 1000) + 1, `${ps.length} events in ${at[at.length - 1] - t0} ms`);
    assert.ok(ps.length < 6, `six arrivals coalesced into fewer events (got ${ps.length})`);
    assert.deepEqual(sortHere(ps[ps.length - 1].json), want, 'the last event has the latest set');
  });

  test('presence and typing are never replayed: a resumed stream gets the durable events, then one presence event (no id) with the set as it is', T, async () => {
    const c = await N.chat('resume', [], { policy: 'manual' });
    const ada = await named(c.id, 'Ada');
    const bob = await named(c.id, 'Bob');
    await waitEv(ada, (e) => isPresence(e) && e.json.length === 2, 1, 2500, 'Bob arrives');
    assert.equal((await N.api('POST', typingPath(c.id), { name: 'Bob' })).status, 204);
    await waitEv(ada, isTyping, 1, 2000, 'typing');
    await N.post(c.id, 'one');
    await N.post(c.id, 'two');
    bob.close();
    const r = stampFrames(await openOkStream(srv.url, jsonStreamPath(c.id), { headers: { 'Last-Event-ID': '0' } }));
    srv.track(r);
    await r.waitFor((st) => st.events.some((f) => f.event === 'presence'), 2000, 'a presence event on the resumed stream');
    await sleep(500);
    const list = evs(r);
    assert.ok(!list.some((e) => e.event === 'snapshot'), 'a resume');
    assert.deepEqual(list.filter((e) => e.id !== undefined).map((e) => [e.id, e.event, e.json.body]), [['1', 'message', 'one'], ['2', 'message', 'two']], 'the durable events only');
    const ps = list.filter(isPresence);
    assert.equal(ps.length, 1, `one presence event: ${JSON.stringify(ps.map((e) => e.data))}`);
    assertNoId(ps[0], 'presence on resume');
    assert.deepEqual(sortHere(ps[0].json), [person('Ada'), person('Bob')], 'Bob is still in his grace');
    assert.deepEqual(list.filter(isTyping), [], 'typing is not replayed');
    assert.equal((await N.ok('GET', `/api/v1/chats/${c.id}`)).last_event_id, 2, 'presence and typing take no event ids');
  });

  test('EventSource: a presence event carries no id (the package reports the frame\'s own id: none)', T, async () => {
    const c = await N.chat('eventsource', [], { policy: 'manual' });
    await N.post(c.id, 'so the chat has an event');
    const es = new EventSource(`${srv.url}${jsonStreamPath(c.id, '?name=Eve')}`);
    try {
      const got = [];
      const snap = await new Promise((resolve, reject) => {
        es.addEventListener('snapshot', (e) => resolve(e));
        es.onerror = (e) => reject(new Error(`EventSource error ${e && e.message}`));
      });
      assert.equal(snap.lastEventId, '1');
      assert.deepEqual(JSON.parse(snap.data).here, [person('Eve')]);
      es.addEventListener('presence', (e) => got.push({ id: e.lastEventId, data: JSON.parse(e.data) }));
      await named(c.id, 'Fay');
      await eventually(() => got.length >= 1, { timeout: 2500, what: 'presence through EventSource' });
      // eventsource 4 reports an event's own id (event.id || ''), keeping the last one for reconnects
      assert.equal(got[0].id, '', 'the presence event has no id of its own');
      assert.deepEqual(sortHere(got[0].data), [person('Eve'), person('Fay')]);
    } finally {
      es.close();
    }
  });
});

describe('typing with --auth none', () => {
  test('POST typing {"name"} → 204 and a typing event (no id) on every stream; again within a second → 204, no event; after a second → an event', T, async () => {
    const c = await N.chat('typing');
    const s1 = await named(c.id, 'Ada');
    const s2 = await named(c.id, null);
    const from1 = s1.events.length;
    const from2 = s2.events.length;
    const t0 = Date.now();
    const r = await N.api('POST', typingPath(c.id), { name: 'Ada' });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '');
    for (const [s, from] of [[s1, from1], [s2, from2]]) {
      const e = await waitEv(s, isTyping, from, 2000, 'typing');
      assertNoId(e, 'typing');
      assert.deepEqual(e.json, person('Ada'));
    }
    assert.equal((await N.api('POST', typingPath(c.id), { name: 'Ada' })).status, 204, 'a second one within the second');
    assert.equal((await N.api('POST', typingPath(c.id), { name: 'Bob' })).status, 204, 'another person');
    await waitEv(s2, (e) => isTyping(e) && e.json.name === 'Bob', from2, 2000, 'Bob types too (one a second per person)');
    const left = 900 - (Date.now() - t0);
    if (left > 0) await sleep(left);
    assert.deepEqual(evs(s2).slice(from2).filter(isTyping).map((e) => e.json.name), ['Ada', 'Bob'], 'Ada\'s second was not passed on');
    await sleep(Math.max(0, 1100 - (Date.now() - t0)));
    assert.equal((await N.api('POST', typingPath(c.id), { name: 'Ada' })).status, 204);
    await eventually(() => evs(s2).slice(from2).filter((e) => isTyping(e) && e.json.name === 'Ada').length === 2, { timeout: 2000, what: 'a second typing event from Ada after a second' });
    assert.equal(presenceEvents(s2, from2).length, 0, 'typing is not presence');
  });

  test('typing refusals: missing or blank name → 422, not a string → 422, unknown chat → 404, malformed JSON → 400', T, async () => {
    const c = await N.chat('typing-bad');
    const s = await named(c.id, null);
    const from = s.events.length;
    for (const body of [undefined, {}, { name: '' }, { name: '   ' }, { name: 7 }, { name: null }]) {
      assertError(await N.api('POST', typingPath(c.id), body), 422, `typing ${JSON.stringify(body)}`);
    }
    assertError(await N.api('POST', typingPath(c.id), '{"name":'), 400, 'malformed JSON');
    assertError(await N.api('POST', typingPath('zzzzzzzzzzzz'), { name: 'Ada' }), 404, 'unknown chat');
    await noEv(s, isTyping, from, 300, 'no typing event after refusals');
  });
});

describe('with accounts', () => {
  test('presence lists members by display name with user_id (?name= is ignored); typing needs no body, carries the user, non-members get 404', T, async () => {
    const adm = await admin(acc.url);
    const bob = await newUser(adm, undefined, { display_name: 'Bob Builder' });
    const cy = await newUser(adm, undefined, { display_name: 'Cy' });
    const dave = await newUser(adm);
    const c = await bob.createChat('acc-presence');
    await bob.ok('POST', `/api/v1/chats/${c.id}/members`, { user: cy.user.id });
    const bs = stampFrames(acc.track(await bob.readyStream(jsonStreamPath(c.id, '?name=Mallory'))));
    const snap = parsedEvent(bs.events[0]).json;
    assert.deepEqual(snap.here, [person('Bob Builder', bob.user.id)], 'the display name and user id, not ?name=');
    const cs = acc.track(await cy.readyStream(jsonStreamPath(c.id)));
    assert.deepEqual(sortHere(parsedEvent(cs.events[0]).json.here), sortHere([person('Bob Builder', bob.user.id), person('Cy', cy.user.id)]));
    const p = await waitEv(bs, isPresence, 1, 2500, 'Cy arrives');
    assertNoId(p, 'presence');
    assert.deepEqual(sortHere(p.json), sortHere([person('Bob Builder', bob.user.id), person('Cy', cy.user.id)]));
    await waitEv(cs, isPresence, 1, 1000, 'the same event on Cy\'s stream');
    // a second stream of Bob's counts once
    const from = cs.events.length;
    acc.track(await bob.readyStream(jsonStreamPath(c.id)));
    await noEv(cs, isPresence, from, 1300, 'Bob\'s second stream');

    // typing
    const r = await cy.api('POST', typingPath(c.id));
    assert.equal(r.status, 204, r.text);
    const t = await waitEv(bs, isTyping, 1, 2000, 'Cy types');
    assertNoId(t, 'typing');
    assert.deepEqual(t.json, person('Cy', cy.user.id));
    await sleep(1050);
    assert.equal((await bob.api('POST', typingPath(c.id), { name: 'Mallory' })).status, 204, 'a body name is ignored with accounts');
    const t2 = await waitEv(cs, (e) => isTyping(e) && e.json.user_id === bob.user.id, from, 2000, 'Bob types');
    assert.deepEqual(t2.json, person('Bob Builder', bob.user.id), 'nobody can type as someone else');
    assertError(await dave.api('POST', typingPath(c.id)), 404, 'a non-member');
    const ds = await dave.stream(jsonStreamPath(c.id));
    assert.equal(ds.status, 404, 'a non-member cannot stream, so is never present');
    ds.close();
    const anon = await fetch(`${acc.url}${typingPath(c.id)}`, { method: 'POST' });
    assert.equal(anon.status, 401, 'signed out');
    assert.ok(!evs(bs).some((e) => isTyping(e) && e.json.user_id === dave.user.id));
    assert.ok(!evs(bs).some((e) => (isTyping(e) || isPresence(e)) && JSON.stringify(e.json).includes('Mallory')), 'no Mallory anywhere');
  });

  test('renamed while here: listed by the new name at once, in new streams\' snapshots too', T, async () => {
    const adm = await admin(acc.url);
    const bob = await newUser(adm, undefined, { display_name: 'Bobby' });
    const cy = await newUser(adm, undefined, { display_name: 'Cy' });
    const c = await bob.createChat('renamed-presence');
    await bob.ok('POST', `/api/v1/chats/${c.id}/members`, { user: cy.user.id });
    acc.track(await bob.readyStream(jsonStreamPath(c.id)));
    const cs = acc.track(await cy.readyStream(jsonStreamPath(c.id)));
    const from = cs.events.length;
    await bob.ok('PATCH', `/api/v1/users/${bob.user.id}`, { display_name: 'Roberto' });
    const p = await waitEv(cs, isPresence, from, 2500, 'the new name told');
    assert.deepEqual(sortHere(p.json), sortHere([person('Roberto', bob.user.id), person('Cy', cy.user.id)]));
    const ds = acc.track(await cy.readyStream(jsonStreamPath(c.id)));
    assert.deepEqual(sortHere(parsedEvent(ds.events[0]).json.here), sortHere([person('Roberto', bob.user.id), person('Cy', cy.user.id)]), 'a new stream\'s snapshot too');
  });
});
