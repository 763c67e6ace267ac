// SPEC §8 (conversation control): edit, delete, regenerate, continue, alternatives and greetings,
// as CONTRACT-NOTES "Conversation control (SPEC 8)" chooses them: exact statuses, the events a
// stream sees, what a resumed stream never sees again, what the next model request carries,
// seqs never reused (across a restart too), and who may do what with accounts.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  useServerPool,
  api,
  assertError,
  openOkStream,
  jsonStreamPath,
  htmlStreamPath,
  parsedEvents as evs,
  replies,
  RFC3339_UTC_RE,
  uniqueName,
} from './helpers.mjs';
import { useAccountsServer, admin, newUser } from './account_helpers.mjs';
import { startFakeOpenAI, streamReply, stallAfter } from './fake_openai.mjs';
import { on, msgPath, waitEv, noEv, waitIdleFrom, botStarts, hasText, pairs, turnStates } from './control_helpers.mjs';

const T = { timeout: 25000 };
const fast = useServer({ args: ['--typing-ms', '5'] });
const slow = useServer({ args: ['--typing-ms', '150'] }); // a reply stays "streaming" long enough to act on it
const acc = useAccountsServer({ args: ['--typing-ms', '5'] });
const pool = useServerPool();
const F = on(fast);
const S = on(slow);

const LONG = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' '); // 40 words: 6 s at 150 ms a word

const isUpdate = (seq, state) => (e) => e.event === 'message-update' && e.json && e.json.seq === seq && (!state || e.json.state === state);
const isDeleted = (seq) => (e) => e.event === 'message-deleted' && e.json && e.json.seq === seq;

/** A fake model server closed after the file. */
const fake = async () => fast.track(await startFakeOpenAI());

// ---------------------------------------------------------------------------

describe('edit', () => {
  test('PATCH a person\'s message → 200 Message with edited_at (created_at kept); a durable message-update; GET, snapshot and replay show the edit', T, async () => {
    const c = await F.chat('edit', [], { policy: 'manual' });
    const s = await F.stream(c.id);
    const m = await F.post(c.id, 'original text');
    assert.equal(m.edited_at, null, 'a new message is not edited');
    assert.equal(m.alternative, 0);
    assert.equal(m.alternatives, 1);
    const from = s.events.length;
    const r = await F.api('PATCH', msgPath(c.id, m.seq), { body: 'edited  text\r\nline two' });
    assert.equal(r.status, 200, r.text);
    const e = r.json;
    assert.match(e.edited_at || '', RFC3339_UTC_RE, 'edited_at is a time');
    assert.deepEqual({ ...e, edited_at: 0 }, { ...m, body: 'edited  text\nline two', edited_at: 0 }, 'only body and edited_at change (CRLF stored as LF)');
    const ev = await waitEv(s, isUpdate(m.seq), from, 3000, 'the edit\'s message-update');
    assert.match(ev.id || '', /^\d+$/, 'the edit is a durable event');
    assert.deepEqual(ev.json, e, 'the event carries the edited Message');
    assert.deepEqual((await F.messages(c.id)).find((x) => x.seq === m.seq), e, 'GET messages');
    const s2 = await F.stream(c.id);
    assert.deepEqual(s2.snapshot.json.messages.find((x) => x.seq === m.seq), e, 'snapshot');
  });

  for (const keeper of [false, true]) {
    test(`a replay (${keeper ? 'from memory: a subscriber is open' : 'from the store: nobody subscribed'}) shows an edited person's message as it is now, then its message-update; the old text is not replayed`, T, async () => {
      const c = await F.chat(`edit-replay-${keeper}`, [], { policy: 'manual' });
      const live = keeper ? await F.stream(c.id) : null;
      const m = await F.post(c.id, 'OLDTEXT before the edit');
      const e = await F.ok('PATCH', msgPath(c.id, m.seq), { body: 'new text after the edit' });
      if (live) await waitEv(live, isUpdate(m.seq), 1, 3000, 'the live update');
      const rs = await F.rawStream(c.id, '?after=0');
      await rs.waitFor((st) => st.events.some((f) => f.id === '2'), 3000, 'the replay up to event 2');
      const rep = evs(rs).filter((x) => x.id !== undefined);
      assert.deepEqual(rep.map((x) => [x.id, x.event]), [['1', 'message'], ['2', 'message-update']]);
      assert.deepEqual(rep[1].json, e, 'the update carries the Message as edited');
      assert.equal(rep[0].json.body, e.body, 'CONTRACT-NOTES: a replayed message event of a person\'s message shows it as it is now');
      assert.deepEqual(evs(rs).filter((x) => hasText(x, 'OLDTEXT')).map((x) => `${x.id}:${x.event}`), [], 'the text before the edit is not replayed');
    });
  }

  test('PATCH refusals: unknown or non-numeric seq, unknown chat → 404; blank/missing/non-string body → 422; over 16 KiB → 413; bad JSON → 400; the message unchanged', T, async () => {
    const c = await F.chat('edit-bad', [], { policy: 'manual' });
    const m = await F.post(c.id, 'stays as it is');
    for (const seq of ['999', 'abc', '1x', '-1', '0']) {
      assertError(await F.api('PATCH', msgPath(c.id, seq), { body: 'x' }), 404, `PATCH seq ${seq}`);
    }
    assertError(await F.api('PATCH', msgPath('zzzzzzzzzzzz', m.seq), { body: 'x' }), 404, 'unknown chat');
    for (const body of [{ body: '' }, { body: '   \n\t ' }, {}, { body: 42 }, { body: null }, { body: ['x'] }]) {
      assertError(await F.api('PATCH', msgPath(c.id, m.seq), body), 422, `PATCH ${JSON.stringify(body)}`);
    }
    assertError(await F.api('PATCH', msgPath(c.id, m.seq), { body: 'x'.repeat(16 * 1024 + 1) }), 413, 'body over 16 KiB');
    assertError(await F.api('PATCH', msgPath(c.id, m.seq), '{"body": "x"'), 400, 'malformed JSON');
    const [now] = await F.messages(c.id);
    assert.deepEqual(now, m, 'unchanged after every refusal');
  });

  test('a message being written: PATCH, regenerate, continue and alternative → 409; DELETE stops it (message-update "stopped", then message-deleted) → 204', T, async () => {
    const [a] = await S.bots(1);
    const c = await S.chat('busy', [a]);
    const s = await S.stream(c.id);
    const from = s.events.length;
    const pm = await S.post(c.id, LONG);
    const start = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot', from, 5000, 'the reply starts');
    const seq = start.json.seq;
    await waitEv(s, (e) => e.event === 'token' && e.json.seq === seq, from, 5000, 'a first token');
    // every refusal is checked; the statuses are compared at the end so that the deletion is tested either way
    const got = [];
    for (const [method, tail, body] of [
      ['PATCH', '', { body: 'no' }],
      ['POST', 'regenerate', undefined],
      ['POST', 'continue', undefined],
      ['PUT', 'alternative', { index: 0 }],
    ]) {
      const r = await S.api(method, msgPath(c.id, seq, tail), body);
      got.push([`${method} ${tail || 'edit'}`, r.status, r.status === 409 ? typeof r.json?.detail : r.text]);
    }
    const d = await S.api('DELETE', msgPath(c.id, seq));
    assert.equal(d.status, 204, d.text);
    assert.equal(d.text, '', '204 has no body');
    const del = await waitEv(s, isDeleted(seq), from, 3000, 'message-deleted');
    const list = evs(s).slice(from, del.index + 1);
    const stopped = list.filter(isUpdate(seq));
    assert.deepEqual(stopped.map((e) => e.json.state), ['stopped'], `one message-update (stopped) before the deletion: ${JSON.stringify(stopped.map((e) => e.json))}`);
    assert.ok(stopped[0].json.body.length < LONG.length, 'stopped before the end');
    assert.deepEqual(del.json, { seq }, 'message-deleted carries {"seq"}');
    assert.match(del.id || '', /^\d+$/, 'message-deleted is durable');
    assert.ok(Number(del.id) > Number(stopped[0].id), 'after the stopped update');
    await waitIdleFrom(s, from, 5000);
    assert.deepEqual((await S.messages(c.id)).map((x) => x.seq), [pm.seq], 'only the person\'s message is left');
    const s2 = await S.stream(c.id);
    assert.deepEqual(s2.snapshot.json.messages.map((x) => x.seq), [pm.seq], 'the snapshot has no deleted message');
    assert.equal(s2.snapshot.json.turn.state, 'idle');
    assertError(await S.api('DELETE', msgPath(c.id, seq)), 404, 'deleting again');
    assert.deepEqual(got, [
      ['PATCH edit', 409, 'string'],
      ['POST regenerate', 409, 'string'],
      ['POST continue', 409, 'string'],
      ['PUT alternative', 409, 'string'],
    ], 'a message being written cannot be edited, regenerated, continued or flipped (409)');
  });
});

describe('delete', () => {
  for (const keeper of [true, false]) {
    test(`DELETE → 204, again 404; gone from GET and snapshots; a resumed stream (${keeper ? 'a subscriber kept the chat in memory' : 'nobody subscribed: from the store'}) never sees its text and gets message-deleted`, T, async () => {
      const c = await F.chat(`delete-${keeper}`, [], { policy: 'manual' });
      const live = keeper ? await F.stream(c.id) : null;
      const m1 = await F.post(c.id, 'keep one');
      const m2 = await F.post(c.id, 'SECRET-PERSON-x1');
      await F.ok('PATCH', msgPath(c.id, m2.seq), { body: 'SECRET-EDIT-x2' });
      const m3 = await F.post(c.id, 'keep three');
      const before = (await F.ok('GET', `/api/v1/chats/${c.id}`)).last_event_id;
      assert.equal(before, 4, 'three messages and one edit');
      const d = await F.api('DELETE', msgPath(c.id, m2.seq));
      assert.equal(d.status, 204, d.text);
      assertError(await F.api('DELETE', msgPath(c.id, m2.seq)), 404, 'DELETE again');
      assertError(await F.api('PATCH', msgPath(c.id, m2.seq), { body: 'x' }), 404, 'PATCH a deleted message');
      const got = await F.ok('GET', `/api/v1/chats/${c.id}`);
      assert.deepEqual(got.messages.map((x) => x.seq), [m1.seq, m3.seq], 'GET chat');
      assert.equal(got.last_event_id, 5, 'the deletion is event 5');
      assert.deepEqual((await F.messages(c.id)).map((x) => x.seq), [m1.seq, m3.seq], 'GET messages');
      if (live) {
        const ev = await waitEv(live, isDeleted(m2.seq), 1, 3000, 'live message-deleted');
        assert.equal(ev.id, '5');
      }
      const snap = await F.stream(c.id);
      assert.deepEqual(snap.snapshot.json.messages.map((x) => x.seq), [m1.seq, m3.seq], 'snapshot');
      assert.ok(!hasText(snap.snapshot, 'SECRET'), 'the snapshot carries no deleted text');

      for (const after of [0, 1]) {
        const r = await F.rawStream(c.id, '', { headers: { 'Last-Event-ID': String(after) } });
        await r.waitFor((st) => st.events.some((f) => f.id === '5'), 3000, 'the replay up to event 5');
        const list = evs(r).filter((e) => e.id !== undefined);
        assert.ok(!evs(r).some((e) => e.event === 'snapshot'), 'a resume, not a snapshot');
        assert.deepEqual(
          list.map((e) => [e.event, e.json.seq]),
          [...(after < 1 ? [['message', m1.seq]] : []), ['message', m3.seq], ['message-deleted', m2.seq]],
          `replay after ${after}: ${list.map((e) => `${e.id}:${e.event}`).join(' ')}`,
        );
        assert.deepEqual(list[list.length - 1].json, { seq: m2.seq });
        const ids = list.map((e) => Number(e.id));
        assert.ok(ids.every((x, i) => i === 0 || x > ids[i - 1]), `ids increase: ${ids}`);
        assert.ok(ids.every((x) => x > after), 'only ids after the one resumed from');
        assert.deepEqual(evs(r).filter((e) => hasText(e, 'SECRET')).map((e) => `${e.event}:${e.data}`), [], 'no event carries the deleted text');
        r.close();
      }
      // the HTML stream's replay neither
      const h = await openOkStream(fast.url, htmlStreamPath(c.id), { headers: { 'Last-Event-ID': '0' } });
      fast.track(h);
      await h.waitFor((st) => st.events.some((f) => f.id === '5'), 3000, 'the HTML replay up to event 5');
      assert.ok(!h.text.includes('SECRET'), `HTML replay carries no deleted text: ${h.text.slice(0, 600)}`);
      const hd = h.events.find((f) => f.id === '5');
      assert.equal(hd.event, 'message-deleted');
      assert.match(hd.data, new RegExp(`msg-${m2.seq}\\b`), 'the HTML deletion names #msg-N');
      // a deleted seq is never given again, not even the last one
      const dl = await F.api('DELETE', msgPath(c.id, m3.seq));
      assert.equal(dl.status, 204);
      const m4 = await F.post(c.id, 'after the deletions');
      assert.equal(m4.seq, m3.seq + 1, 'the next seq follows the highest ever given');
    });
  }

  test('"edited" belongs to an alternative: a new answer is not edited, flipping back to the edited one is', T, async () => {
    const [a] = await F.bots(1);
    const c = await F.chat('edited-alts', [a]);
    const s = await F.stream(c.id);
    let from = s.events.length;
    await F.post(c.id, 'echo me');
    const [rep] = replies(await waitIdleFrom(s, from));
    from = s.events.length;
    const edited = await F.ok('PATCH', msgPath(c.id, rep.seq), { body: 'the first answer, edited' });
    assert.ok(edited.edited_at, 'edited');
    await waitEv(s, isUpdate(rep.seq), from, 3000, 'the edit\'s update');
    from = s.events.length;
    await F.ok('POST', msgPath(c.id, rep.seq, 'regenerate'), undefined, 202);
    const fresh = await waitEv(s, isUpdate(rep.seq, 'complete'), from, 5000, 'the regenerated reply');
    await waitIdleFrom(s, from);
    assert.equal(fresh.json.edited_at, null, 'the new answer is nobody\'s edit');
    assert.equal((await F.ok('GET', `/api/v1/chats/${c.id}/messages?after=${rep.seq - 1}&limit=1`)).messages[0].edited_at, null);
    const back = await F.ok('PUT', msgPath(c.id, rep.seq, 'alternative'), { index: 0 });
    assert.equal(back.body, 'the first answer, edited');
    assert.equal(back.edited_at, edited.edited_at, 'the edited one still says when');
    const again = await F.ok('PUT', msgPath(c.id, rep.seq, 'alternative'), { index: 1 });
    assert.equal(again.edited_at, null, 'and the new one still does not');
  });

  test('deleting a bot reply with several alternatives: none of their texts is replayed', T, async () => {
    const [a] = await F.bots(1);
    const c = await F.chat('delete-alts', [a]);
    const s = await F.stream(c.id);
    let from = s.events.length;
    await F.post(c.id, 'ALTTEXT-echoed');
    const first = await waitIdleFrom(s, from);
    const [rep] = replies(first);
    from = s.events.length;
    await F.ok('PATCH', msgPath(c.id, rep.seq), { body: 'ALTTEXT-edited-zero' });
    await waitEv(s, isUpdate(rep.seq), from, 3000, 'the edit\'s update');
    from = s.events.length;
    await F.ok('POST', msgPath(c.id, rep.seq, 'regenerate'), undefined, 202);
    await waitEv(s, isUpdate(rep.seq, 'complete'), from, 5000, 'the regenerated reply');
    await waitIdleFrom(s, from);
    assert.equal((await F.api('DELETE', msgPath(c.id, rep.seq))).status, 204);
    const last = (await F.ok('GET', `/api/v1/chats/${c.id}`)).last_event_id;
    const r = await F.rawStream(c.id, '?after=0');
    await r.waitFor((st) => st.events.some((f) => f.id === String(last)), 3000, `replay to ${last}`);
    const bad = evs(r).filter((e) => e.json && e.json.seq === rep.seq && e.event !== 'message-deleted');
    assert.deepEqual(bad.map((e) => `${e.id}:${e.event}`), [], 'no event of the deleted reply but its deletion');
    assert.ok(!evs(r).some((e) => hasText(e, 'ALTTEXT-edited-zero')), 'the edited alternative is not replayed');
    // the person's message (which the echo repeated) is still there
    assert.ok(evs(r).some((e) => e.event === 'message' && e.json.kind === 'person' && e.json.body === 'ALTTEXT-echoed'));
  });

  test('deleting a reply a model server is still writing: the request is closed, stopped then deleted, and a replay never shows its words', T, async () => {
    const f = await fake();
    f.enqueue(stallAfter(['STREAMWORDS-one ', 'STREAMWORDS-two']));
    const m = await F.bot({ prefix: 'Model', backend: 'openai', base_url: f.baseUrl });
    const c = await F.chat('delete-streaming', [m]);
    const s = await F.stream(c.id);
    const from = s.events.length;
    await F.post(c.id, 'say something');
    const start = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot', from, 5000, 'the reply starts');
    const seq = start.json.seq;
    await s.waitFor(() => evs(s).filter((e) => e.event === 'token' && e.json.seq === seq).map((e) => e.json.delta).join('').includes('STREAMWORDS-two'), 5000, 'both pieces streamed');
    assert.equal((await F.api('DELETE', msgPath(c.id, seq))).status, 204);
    const del = await waitEv(s, isDeleted(seq), from, 3000, 'message-deleted');
    const ups = evs(s).slice(from, del.index).filter(isUpdate(seq));
    assert.deepEqual(ups.map((e) => e.json.state), ['stopped']);
    assert.equal(ups[0].json.body, 'STREAMWORDS-one STREAMWORDS-two', 'stopped with its text so far');
    await f.waitFor(() => f.requests[0] && f.requests[0].closed, 3000, 'the model request to be closed');
    await waitIdleFrom(s, from, 5000);
    const last = (await F.ok('GET', `/api/v1/chats/${c.id}`)).last_event_id;
    const r = await F.rawStream(c.id, '?after=0');
    await r.waitFor((st) => st.events.some((x) => x.id === String(last)), 3000, `replay to ${last}`);
    assert.deepEqual(evs(r).filter((e) => hasText(e, 'STREAMWORDS')).map((e) => `${e.id}:${e.event}`), [], 'no replayed event carries its words');
    assert.deepEqual(evs(r).filter((e) => e.event === 'message-deleted').map((e) => e.json), [{ seq }]);
  });

  test('deleting a reply being regenerated while another regenerate of it waits: the waiting one is dropped, nothing of it follows the deletion', T, async () => {
    const [a, b] = await S.bots(2);
    const c = await S.chat('delete-redo', [a, b]);
    const s = await S.stream(c.id);
    let from = s.events.length;
    await S.post(c.id, 'one two three four five six seven eight nine ten');
    const first = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot', from, 5000, 'the first reply');
    const seq = first.json.seq;
    await waitEv(s, isUpdate(seq, 'complete'), from, 5000, 'the first reply done');
    await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot' && e.json.seq > seq, from, 5000, 'the second bot writing');
    for (const tail of ['regenerate', 'regenerate']) await S.ok('POST', msgPath(c.id, seq, tail), undefined, 202); // both wait
    from = s.events.length;
    await waitEv(s, isUpdate(seq, 'streaming'), from, 8000, 'the first regenerate writing');
    assert.equal((await S.api('DELETE', msgPath(c.id, seq))).status, 204);
    const del = await waitEv(s, isDeleted(seq), from, 3000, 'message-deleted');
    await noEv(s, (e) => e.json && e.json.seq === seq && e.event !== 'message-deleted', del.index + 1, 1500, `events of ${seq} after its deletion`);
    await waitIdleFrom(s, from, 5000);
    assert.equal((await S.messages(c.id)).some((x) => x.seq === seq), false, 'gone from the messages');
    const s2 = await S.stream(c.id);
    assert.equal(s2.snapshot.json.messages.some((x) => x.seq === seq), false, 'gone from the snapshot');
    assert.equal(s2.snapshot.json.turn.state, 'idle', 'nothing left running');
  });

  test('openai: deleting the reply being written stops it first; the next bot\'s request does not carry it', T, async () => {
    const f = await fake();
    f.enqueue(stallAfter(['GONEWORDS-one ', 'GONEWORDS-two']));
    f.enqueue(streamReply(['second bot here']));
    const m1 = await F.bot({ prefix: 'Model', backend: 'openai', base_url: f.baseUrl });
    const m2 = await F.bot({ prefix: 'Model', backend: 'openai', base_url: f.baseUrl });
    const c = await F.chat('delete-then-next', [m1, m2]);
    const s = await F.stream(c.id);
    const from = s.events.length;
    await F.post(c.id, 'say something');
    const start = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot', from, 5000, 'the first reply');
    await s.waitFor(() => evs(s).filter((e) => e.event === 'token' && e.json.seq === start.json.seq).map((e) => e.json.delta).join('').includes('GONEWORDS-two'), 5000, 'its words');
    assert.equal((await F.api('DELETE', msgPath(c.id, start.json.seq))).status, 204);
    await f.waitRequests(2, 5000);
    await waitIdleFrom(s, from, 5000);
    assert.ok(!f.requests[1].raw.includes('GONEWORDS'), `the second request carries no deleted word: ${f.requests[1].raw.slice(0, 400)}`);
    assert.ok(f.requests[1].raw.includes('say something'), 'the person\'s message is there');
  });

  test('a deleted seq is not given again after a restart on the same database; event ids go on', T, async () => {
    const db = pool.freshDb('parley-control-');
    let s = await pool.start({ db });
    const c = (await api(s.url, 'POST', '/api/v1/chats', { title: 'restart', policy: 'manual' })).json;
    for (const body of ['one', 'two', 'SECRET-three']) {
      assert.equal((await api(s.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body })).status, 201);
    }
    assert.equal((await api(s.url, 'DELETE', msgPath(c.id, 3))).status, 204);
    assert.equal((await api(s.url, 'DELETE', msgPath(c.id, 2))).status, 204);
    const lastBefore = (await api(s.url, 'GET', `/api/v1/chats/${c.id}`)).json.last_event_id;
    await pool.stop(s);
    s = await pool.start({ db });
    const g = (await api(s.url, 'GET', `/api/v1/chats/${c.id}`)).json;
    assert.deepEqual(g.messages.map((m) => m.seq), [1], 'the deletions lasted');
    assert.equal(g.last_event_id, lastBefore);
    const p = await api(s.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'Ada', body: 'four' });
    assert.equal(p.status, 201);
    assert.equal(p.json.seq, 4, 'seq 2 and 3 are not given again after the restart');
    const r = pool.track(await openOkStream(s.url, jsonStreamPath(c.id, '?after=0')));
    await r.waitFor((st) => st.events.some((f) => f.id === String(lastBefore + 1)), 3000, 'replay');
    const list = evs(r).filter((e) => e.id !== undefined);
    assert.ok(!evs(r).some((e) => hasText(e, 'SECRET-three')), 'the deleted text is not replayed after a restart');
    assert.deepEqual(list.filter((e) => e.event === 'message').map((e) => e.json.seq), [1, 4]);
    assert.deepEqual(list.filter((e) => e.event === 'message-deleted').map((e) => e.json.seq), [3, 2]);
    assert.equal(list[list.length - 1].id, String(lastBefore + 1), 'event ids go on after the restart');
    r.close();
    await pool.stop(s);
  });
});

describe('a bot taken out of a chat, or deleted, stops talking', () => {
  test('taken out by PATCH while it writes: its reply ends stopped at once, the next bot goes on; deleted while it writes: the same', T, async () => {
    const [a, b] = await S.bots(2);
    const c = await S.chat('bots leave', [a, b]);
    const s = await S.stream(c.id);
    let from = s.events.length;
    await S.post(c.id, LONG);
    const first = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot', from, 5000, 'a\'s reply');
    assert.equal(first.json.bot_id, a.id);
    await waitEv(s, (e) => e.event === 'token' && e.json.seq === first.json.seq, from, 5000, 'a first token');
    await S.patchChat(c.id, { bots: [b.id] });
    const stopped = await waitEv(s, isUpdate(first.json.seq, 'stopped'), from, 2000, 'a\'s reply stopped');
    assert.ok(stopped.json.body.length < LONG.length, 'before its end');
    const second = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot' && e.json.seq > first.json.seq, from, 5000, 'b goes on');
    assert.equal(second.json.bot_id, b.id);
    await waitEv(s, (e) => e.event === 'token' && e.json.seq === second.json.seq, from, 5000, 'b\'s first token');
    from = s.events.length;
    assert.equal((await S.api('DELETE', `/api/v1/bots/${b.id}`)).status, 204);
    await waitEv(s, isUpdate(second.json.seq, 'stopped'), from, 2000, 'b\'s reply stopped');
    await waitIdleFrom(s, from, 5000);
  });
});

describe('regenerate and alternatives', () => {
  test('regenerate → 202 {"status":"queued"}: message-update (same seq, streaming, "", alternative 1 of 2), tokens, complete; PUT alternative flips; bad index → 422', T, async () => {
    const [a, b] = await F.bots(2);
    const c = await F.chat('regen', [a, b]);
    const s = await F.stream(c.id);
    let from = s.events.length;
    await F.post(c.id, 'the person said this');
    const [ra] = replies(await waitIdleFrom(s, from));
    assert.equal(ra.author, a.name);
    from = s.events.length;
    const edited = await F.ok('PATCH', msgPath(c.id, ra.seq), { body: 'ALT zero, edited' });
    assert.equal(edited.alternatives, 1);
    await waitEv(s, isUpdate(ra.seq), from, 3000, 'the edit\'s update');

    from = s.events.length;
    const r = await F.api('POST', msgPath(c.id, ra.seq, 'regenerate'));
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json, { status: 'queued' });
    const list = await waitIdleFrom(s, from);
    const mine = list.filter((e) => e.event !== 'turn');
    assert.deepEqual(botStarts(list), [], 'no new message: the reply is written in place');
    const ups = mine.filter(isUpdate(ra.seq));
    assert.ok(ups.length >= 2, `updates: ${JSON.stringify(ups.map((e) => e.json))}`);
    const [first] = ups;
    assert.equal(first.json.state, 'streaming');
    assert.equal(first.json.body, '');
    assert.equal(first.json.alternative, 1);
    assert.equal(first.json.alternatives, 2);
    assert.equal(first.json.bot_id, a.id);
    const toks = mine.filter((e) => e.event === 'token');
    assert.ok(toks.length >= 1, 'tokens');
    assert.ok(toks.every((e) => e.json.seq === ra.seq), 'every token is for that seq');
    const fin = ups[ups.length - 1];
    assert.equal(fin.json.state, 'complete');
    assert.match(fin.id || '', /^\d+$/, 'the end is durable');
    assert.equal(fin.json.body, 'the person said this', 'echo writes the new alternative');
    assert.equal(toks.map((e) => e.json.delta).join(''), fin.json.body, 'tokens make the new alternative');
    assert.equal(fin.json.alternative, 1);
    assert.equal(fin.json.alternatives, 2);
    assert.equal(fin.json.created_at, ra.start.created_at, 'same message, same created_at');
    assert.ok(mine.indexOf(first) < mine.indexOf(toks[0]) && mine.indexOf(toks[toks.length - 1]) < mine.indexOf(fin), 'update, tokens, update in that order');
    const turns = turnStates(list);
    assert.ok(turns.every((t) => t.state === 'idle' || (t.speaker === a.name && t.queue.length === 0)), `only ${a.name} speaks: ${JSON.stringify(turns)}`);

    from = s.events.length;
    const z = await F.api('PUT', msgPath(c.id, ra.seq, 'alternative'), { index: 0 });
    assert.equal(z.status, 200, z.text);
    assert.equal(z.json.body, 'ALT zero, edited');
    assert.equal(z.json.alternative, 0);
    assert.equal(z.json.alternatives, 2);
    assert.equal(z.json.state, 'complete');
    const flip = await waitEv(s, isUpdate(ra.seq), from, 3000, 'the flip\'s message-update');
    assert.match(flip.id || '', /^\d+$/, 'a flip is durable');
    assert.deepEqual(flip.json, z.json);
    assert.deepEqual((await F.messages(c.id)).find((m) => m.seq === ra.seq), z.json, 'GET shows alternative 0');

    for (const bad of [{ index: 2 }, { index: -1 }, { index: 99 }, { index: '0' }, { index: 0.5 }, {}]) {
      assertError(await F.api('PUT', msgPath(c.id, ra.seq, 'alternative'), bad), 422, `alternative ${JSON.stringify(bad)}`);
    }
    const one = await F.ok('PUT', msgPath(c.id, ra.seq, 'alternative'), { index: 1 });
    assert.equal(one.body, 'the person said this');
    assert.equal(one.alternative, 1);
    await noEv(s, (e) => e.event === 'message', s.events.length, 300, 'a flip makes no bot speak');
  });

  test('at most 50 alternatives: the 50th regenerate is refused with 409; editing changes only the alternative shown', T, async () => {
    const [a] = await F.bots(1);
    const c = await F.chat('regen-50', [a]);
    const s = await F.stream(c.id);
    let from = s.events.length;
    await F.post(c.id, 'w');
    const [r0] = replies(await waitIdleFrom(s, from));
    for (let i = 1; i < 49; i++) {
      from = s.events.length;
      const r = await F.api('POST', msgPath(c.id, r0.seq, 'regenerate'));
      assert.equal(r.status, 202, `regenerate #${i}: ${r.text}`);
      const fin = await waitEv(s, isUpdate(r0.seq, 'complete'), from, 5000, `regenerate #${i}`);
      assert.equal(fin.json.alternatives, i + 1);
      assert.equal(fin.json.alternative, i);
      await waitIdleFrom(s, from);
    }
    // the 50th waits behind a reply (400 words: 2 s); one more waiting would be a 51st: refused at once
    from = s.events.length;
    await F.post(c.id, Array.from({ length: 400 }, (_, i) => `w${i}`).join(' '));
    const running = await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'bot' && e.json.seq > r0.seq, from, 5000, 'a reply running');
    const asked = [];
    for (let i = 0; i < 2; i++) asked.push((await F.api('POST', msgPath(c.id, r0.seq, 'regenerate'))).status);
    const state = (await F.messages(c.id)).find((m) => m.seq === running.json.seq).state;
    assert.equal(state, 'streaming', 'the reply still ran: the 50th waited');
    assert.deepEqual(asked, [202, 409], 'the 50th is taken, a 51st is not, even while the 50th waits');
    const fin = await waitEv(s, isUpdate(r0.seq, 'complete'), from, 5000, 'the 50th alternative');
    assert.equal(fin.json.alternatives, 50);
    await waitIdleFrom(s, from);
    assertError(await F.api('POST', msgPath(c.id, r0.seq, 'regenerate')), 409, 'a 51st alternative');
    const e = await F.ok('PATCH', msgPath(c.id, r0.seq), { body: 'the last one, edited' });
    assert.equal(e.alternative, 49);
    assert.equal((await F.ok('PUT', msgPath(c.id, r0.seq, 'alternative'), { index: 48 })).body, 'w', 'the others keep their text');
    assert.equal((await F.ok('PUT', msgPath(c.id, r0.seq, 'alternative'), { index: 49 })).body, 'the last one, edited');
    assert.equal((await F.ok('PUT', msgPath(c.id, r0.seq, 'alternative'), { index: 0 })).body, 'w');
    assertError(await F.api('PUT', msgPath(c.id, r0.seq, 'alternative'), { index: 50 }), 422, 'index 50 of 50');
  });

  test('regenerate or continue a person\'s message → 422; unknown seq → 404; unknown chat → 404', T, async () => {
    const c = await F.chat('regen-bad', [], { policy: 'manual' });
    const m = await F.post(c.id, 'person text');
    for (const tail of ['regenerate', 'continue']) {
      assertError(await F.api('POST', msgPath(c.id, m.seq, tail)), 422, `${tail} a person's message`);
      assertError(await F.api('POST', msgPath(c.id, 77, tail)), 404, `${tail} unknown seq`);
      assertError(await F.api('POST', msgPath(c.id, 'x', tail)), 404, `${tail} non-numeric seq`);
      assertError(await F.api('POST', msgPath('zzzzzzzzzzzz', 1, tail)), 404, `${tail} unknown chat`);
    }
    assertError(await F.api('PUT', msgPath(c.id, 77, 'alternative'), { index: 0 }), 404, 'alternative of an unknown seq');
  });

  test('openai: the regenerated reply sees the messages before it; the next reply\'s context holds the alternative shown, not the other', T, async () => {
    const f = await fake();
    const m = await F.bot({ prefix: 'Model', backend: 'openai', base_url: f.baseUrl, persona: 'You are a test.' });
    const c = await F.chat('regen-oai', [m], { policy: 'manual' });
    const s = await F.stream(c.id);
    await F.post(c.id, 'question one');
    f.enqueue(streamReply(['ALPHA-', 'one']));
    let from = s.events.length;
    await F.turn(c.id, m);
    const [r1] = replies(await waitIdleFrom(s, from));
    assert.equal(r1.update.body, 'ALPHA-one', `error ${r1.update.error}`);

    f.enqueue(streamReply(['BRAVO-', 'two']));
    from = s.events.length;
    await F.ok('POST', msgPath(c.id, r1.seq, 'regenerate'), undefined, 202);
    const fin = await waitEv(s, isUpdate(r1.seq, 'complete'), from, 5000, 'the regenerated reply');
    assert.equal(fin.json.body, 'BRAVO-two');
    assert.equal(fin.json.alternative, 1);
    await waitIdleFrom(s, from);
    assert.equal(f.requests.length, 2);
    assert.deepEqual(pairs(f.requests[1]), [['system', 'You are a test.'], ['user', 'Ada: question one']], 'the regenerated reply sees what came before it, not its own first text');

    const z = await F.ok('PUT', msgPath(c.id, r1.seq, 'alternative'), { index: 0 });
    assert.equal(z.body, 'ALPHA-one');
    await F.post(c.id, 'question two');
    f.enqueue(streamReply(['CHARLIE']));
    from = s.events.length;
    await F.turn(c.id, m);
    await waitIdleFrom(s, from);
    assert.equal(f.requests.length, 3);
    assert.deepEqual(pairs(f.requests[2]), [
      ['system', 'You are a test.'],
      ['user', 'Ada: question one'],
      ['assistant', 'ALPHA-one'],
      ['user', 'Ada: question two'],
    ], 'the alternative shown (0) is the context');

    await F.ok('PUT', msgPath(c.id, r1.seq, 'alternative'), { index: 1 });
    f.enqueue(streamReply(['DELTA']));
    from = s.events.length;
    await F.turn(c.id, m);
    await waitIdleFrom(s, from);
    const ctx = JSON.stringify(f.requests[3].body.messages);
    assert.ok(ctx.includes('BRAVO-two') && !ctx.includes('ALPHA-one'), `after flipping to 1: ${ctx}`);
  });

  test('openai: an edited message is what the next request shows, a deleted one is gone (person and bot messages)', T, async () => {
    const f = await fake();
    const m = await F.bot({ prefix: 'Model', backend: 'openai', base_url: f.baseUrl, persona: 'P.' });
    const c = await F.chat('edit-oai', [m], { policy: 'manual' });
    const s = await F.stream(c.id);
    const p1 = await F.post(c.id, 'KEEP original words');
    const p2 = await F.post(c.id, 'DROP these words', 'Bob');
    f.enqueue(streamReply(['model ', 'said ', 'ORIGINAL']));
    let from = s.events.length;
    await F.turn(c.id, m);
    const [r] = replies(await waitIdleFrom(s, from));
    await F.ok('PATCH', msgPath(c.id, p1.seq), { body: 'EDITED words' });
    assert.equal((await F.api('DELETE', msgPath(c.id, p2.seq))).status, 204);
    await F.ok('PATCH', msgPath(c.id, r.seq), { body: 'BOT-EDITED reply' });
    await F.post(c.id, 'and now?');
    f.enqueue(streamReply(['ok']));
    from = s.events.length;
    await F.turn(c.id, m);
    await waitIdleFrom(s, from);
    assert.equal(f.requests.length, 2);
    assert.deepEqual(pairs(f.requests[1]), [
      ['system', 'P.'],
      ['user', 'Ada: EDITED words'],
      ['assistant', 'BOT-EDITED reply'],
      ['user', 'Ada: and now?'],
    ]);
  });
});

describe('continue', () => {
  test('echo: continue → 202; the message streams on from its text (message-update streaming with the text so far), tokens append, body = old + new', T, async () => {
    const [a, b] = await F.bots(2);
    const c = await F.chat('continue', [a, b]);
    const s = await F.stream(c.id);
    let from = s.events.length;
    await F.post(c.id, 'hello world');
    const [ra] = replies(await waitIdleFrom(s, from));
    assert.equal(ra.update.body, 'hello world');
    from = s.events.length;
    const r = await F.api('POST', msgPath(c.id, ra.seq, 'continue'));
    assert.equal(r.status, 202, r.text);
    const list = await waitIdleFrom(s, from);
    assert.deepEqual(botStarts(list), [], 'no new message, and the other bot is not pulled in');
    const ups = list.filter(isUpdate(ra.seq));
    assert.equal(ups[0].json.state, 'streaming');
    assert.equal(ups[0].json.body, 'hello world', 'it goes on from its text so far');
    assert.equal(ups[0].json.alternatives, 1, 'continuing adds no alternative');
    const fin = ups[ups.length - 1];
    assert.equal(fin.json.state, 'complete');
    const added = list.filter((e) => e.event === 'token' && e.json.seq === ra.seq).map((e) => e.json.delta).join('');
    assert.ok(added.length > 0, 'tokens appended');
    assert.equal(fin.json.body, 'hello world' + added, 'final body = old text + the tokens');
    assert.equal(fin.json.body, 'hello world hello world', 'a built-in bot writes a new reply after a space (CONTRACT-NOTES)');
    assert.equal(fin.json.alternatives, 1);
    assert.deepEqual(turnStates(list).filter((t) => t.state === 'running').map((t) => t.speaker), [a.name]);
    assert.equal((await F.messages(c.id)).find((x) => x.seq === ra.seq).body, 'hello world hello world');
  });

  test('openai: the request ends with the assistant text so far, then a system message asking to continue; the body is old + new', T, async () => {
    const f = await fake();
    const m = await F.bot({ prefix: 'Model', backend: 'openai', base_url: f.baseUrl, persona: 'Storyteller.' });
    const c = await F.chat('continue-oai', [m], { policy: 'manual' });
    const s = await F.stream(c.id);
    await F.post(c.id, 'tell a story');
    f.enqueue(streamReply(['Once ', 'upon']));
    let from = s.events.length;
    await F.turn(c.id, m);
    const [r] = replies(await waitIdleFrom(s, from));
    assert.equal(r.update.body, 'Once upon');
    f.enqueue(streamReply([' a ', 'time.']));
    from = s.events.length;
    assert.equal((await F.api('POST', msgPath(c.id, r.seq, 'continue'))).status, 202);
    const list = await waitIdleFrom(s, from);
    const ups = list.filter(isUpdate(r.seq));
    assert.equal(ups[0].json.state, 'streaming');
    assert.equal(ups[0].json.body, 'Once upon');
    assert.equal(ups[ups.length - 1].json.state, 'complete');
    assert.equal(ups[ups.length - 1].json.body, 'Once upon a time.');
    assert.equal(f.requests.length, 2);
    const msgs = f.requests[1].body.messages;
    assert.deepEqual(msgs.slice(0, 2), [{ role: 'system', content: 'Storyteller.' }, { role: 'user', content: 'Ada: tell a story' }]);
    assert.equal(msgs.length, 4, JSON.stringify(msgs));
    assert.deepEqual(msgs[2], { role: 'assistant', content: 'Once upon' }, 'the text so far, last but one');
    assert.equal(msgs[3].role, 'system', 'then a system message');
    assert.ok(typeof msgs[3].content === 'string' && /continue/i.test(msgs[3].content), `asking it to continue: ${JSON.stringify(msgs[3])}`);
  });
});

describe('greetings', () => {
  test('a bot with a greeting greets a chat created with it ({{user}} → everyone, {{char}} → its name); bots without one do not', T, async () => {
    const g = await F.bot({ prefix: 'Greeter', greeting: 'Hi {{user}}, I am {{char}}' });
    assert.equal(g.greeting, 'Hi {{user}}, I am {{char}}', 'Bot has "greeting", macros kept as written');
    const [plain] = await F.bots(1);
    assert.equal(plain.greeting, '', 'greeting defaults to empty');
    const c = await F.chat('greet', [g, plain]);
    const msgs = await F.messages(c.id);
    assert.equal(msgs.length, 1, JSON.stringify(msgs));
    const [m] = msgs;
    assert.equal(m.seq, 1);
    assert.equal(m.kind, 'bot');
    assert.equal(m.author, g.name);
    assert.equal(m.bot_id, g.id);
    assert.equal(m.state, 'complete');
    assert.equal(m.error, null);
    assert.equal(m.body, `Hi everyone, I am ${g.name}`);
    const s = await F.stream(c.id);
    assert.deepEqual(s.snapshot.json.messages, msgs, 'snapshot');
    await noEv(s, (e) => e.event === 'message' || e.event === 'turn', 1, 400, 'a greeting draws no replies');
  });

  test('PATCH bots adding a bot greets once; a bot already in the chat does not greet again', T, async () => {
    const g = await F.bot({ prefix: 'Greeter', greeting: '{{char}} has arrived. Hello {{user}}!' });
    const [e1, e2] = await F.bots(2);
    const c = await F.chat('greet-later', [e1]);
    const s = await F.stream(c.id);
    let from = s.events.length;
    await F.patchChat(c.id, { bots: [e1.id, g.id] });
    const ev = await waitEv(s, (e) => e.event === 'message', from, 3000, 'the greeting');
    assert.match(ev.id || '', /^\d+$/);
    assert.equal(ev.json.kind, 'bot');
    assert.equal(ev.json.bot_id, g.id);
    assert.equal(ev.json.state, 'complete');
    assert.equal(ev.json.body, `${g.name} has arrived. Hello everyone!`);
    from = s.events.length;
    await F.patchChat(c.id, { bots: [g.id, e1.id, e2.id] }); // g stays, e2 joins (no greeting)
    await F.patchChat(c.id, { title: 'renamed' });
    await F.patchChat(c.id, { bots: [g.name] });
    await noEv(s, (e) => e.event === 'message', from, 400, 'no second greeting');
    assert.equal((await F.messages(c.id)).length, 1);
  });

  test('greeting over 16 KiB → 422; PATCH sets a greeting', T, async () => {
    const name = uniqueName('Greeter');
    assertError(await F.api('POST', '/api/v1/bots', { name, backend: 'echo', greeting: 'x'.repeat(16 * 1024 + 1) }), 422, 'greeting too long');
    assertError(await F.api('POST', '/api/v1/bots', { name, backend: 'echo', greeting: 5 }), 422, 'greeting not a string');
    assert.equal((await F.api('GET', `/api/v1/bots/${name}`)).status, 404, 'nothing created');
    const b = await F.bot({ name });
    const p = await F.ok('PATCH', `/api/v1/bots/${b.id}`, { greeting: 'Hello from {{char}}' });
    assert.equal(p.greeting, 'Hello from {{char}}');
    const c = await F.chat('greet-patched', [b]);
    assert.deepEqual((await F.messages(c.id)).map((m) => m.body), [`Hello from ${b.name}`]);
  });
});

describe('rights with accounts', () => {
  test('a person\'s message: its author or an admin may edit or delete it (others 403, non-members 404); a bot\'s message: any member', T, async () => {
    const adm = await admin(acc.url);
    const bob = await newUser(adm, undefined, { display_name: 'Bob' });
    const cy = await newUser(adm, undefined, { display_name: 'Cy' });
    const dave = await newUser(adm);
    const bot = await bob.ok('POST', '/api/v1/bots', { name: uniqueName('AccEcho'), backend: 'echo' });
    const c = await bob.createChat('rights', { bots: [bot.id], policy: 'manual' });
    await bob.ok('POST', `/api/v1/chats/${c.id}/members`, { user: cy.user.id });
    const s = await bob.readyStream(jsonStreamPath(c.id));
    acc.track(s);
    const mb = await bob.post(c.id, 'bob wrote this');
    let from = s.events.length;
    await bob.ok('POST', `/api/v1/chats/${c.id}/turn`, { bot: bot.id }, 202);
    const [rb] = replies(await waitIdleFrom(s, from));
    const mc = await cy.post(c.id, 'cy wrote this');

    assertError(await cy.api('PATCH', msgPath(c.id, mb.seq), { body: 'cy edits bob' }), 403, 'member edits another person\'s message');
    assertError(await cy.api('DELETE', msgPath(c.id, mb.seq)), 403, 'member deletes another person\'s message');
    assertError(await dave.api('PATCH', msgPath(c.id, mb.seq), { body: 'x' }), 404, 'non-member edit');
    assertError(await dave.api('DELETE', msgPath(c.id, rb.seq)), 404, 'non-member delete');
    assertError(await dave.api('POST', msgPath(c.id, rb.seq, 'regenerate')), 404, 'non-member regenerate');
    assertError(await dave.api('PUT', msgPath(c.id, rb.seq, 'alternative'), { index: 0 }), 404, 'non-member alternative');
    assert.equal((await bob.get(`/api/v1/chats/${c.id}/messages`)).messages.find((m) => m.seq === mb.seq).body, 'bob wrote this', 'unchanged');

    const own = await bob.ok('PATCH', msgPath(c.id, mb.seq), { body: 'bob edits himself' });
    assert.equal(own.body, 'bob edits himself');
    assert.equal(own.user_id, bob.user.id);
    const byAdmin = await adm.ok('PATCH', msgPath(c.id, mb.seq), { body: 'the admin edits' });
    assert.equal(byAdmin.body, 'the admin edits');
    assert.equal(byAdmin.author, 'Bob', 'the author stays');

    const botEdit = await cy.ok('PATCH', msgPath(c.id, rb.seq), { body: 'cy edits the bot' });
    assert.equal(botEdit.body, 'cy edits the bot');
    from = s.events.length;
    assert.equal((await cy.api('POST', msgPath(c.id, rb.seq, 'regenerate'))).status, 202);
    await waitEv(s, isUpdate(rb.seq, 'complete'), from, 5000, 'regenerated by a member');
    await waitIdleFrom(s, from);
    assert.equal((await cy.ok('PUT', msgPath(c.id, rb.seq, 'alternative'), { index: 0 })).body, 'cy edits the bot');

    assertError(await bob.api('DELETE', msgPath(c.id, mc.seq)), 403, 'bob deletes cy\'s message');
    assert.equal((await cy.api('DELETE', msgPath(c.id, mc.seq))).status, 204, 'cy deletes her own');
    assert.equal((await cy.api('DELETE', msgPath(c.id, rb.seq))).status, 204, 'a member deletes a bot\'s message');
    assert.equal((await adm.api('DELETE', msgPath(c.id, mb.seq))).status, 204, 'the admin deletes bob\'s');
    assert.deepEqual((await bob.get(`/api/v1/chats/${c.id}/messages`)).messages, []);
  });
});

describe('a chat\'s queue of asked-for turns is bounded', () => {
  test('while a reply runs, 64 turns may wait; the 65th /turn or regenerate is 429 and queues nothing; /stop empties it', T, async () => {
    const f = await fake();
    f.enqueue(stallAfter(['held ']));
    const m = await F.bot({ prefix: 'Held', backend: 'openai', base_url: f.baseUrl });
    const e = await F.bot({ prefix: 'Quick' });
    const c = await F.chat('queue-bound', [m, e], { policy: 'manual' });
    const s = await F.stream(c.id);
    const done = await F.post(c.id, 'hello');
    assert.equal((await F.api('POST', `/api/v1/chats/${c.id}/turn`, { bot: m.id })).status, 202);
    await s.waitFor(() => evs(s).some((x) => x.event === 'token'), 5000, 'the held reply streams');
    for (let i = 0; i < 64; i++)
      assert.equal((await F.api('POST', `/api/v1/chats/${c.id}/turn`, { bot: e.id })).status, 202, `turn ${i + 1}`);
    const full = await F.api('POST', `/api/v1/chats/${c.id}/turn`, { bot: e.id });
    assert.equal(full.status, 429, full.text);
    assert.match(full.json.detail, /turns are waiting/);
    const state = (await F.ok('GET', `/api/v1/chats/${c.id}`));
    assert.ok(state, 'the chat still answers');
    assert.equal((await F.api('POST', `/api/v1/chats/${c.id}/stop`)).status, 202);
    assert.equal((await F.api('POST', `/api/v1/chats/${c.id}/turn`, { bot: e.id })).status, 202,
      'room again once stopped');
    assert.ok(done.seq === 1);
  });
});
