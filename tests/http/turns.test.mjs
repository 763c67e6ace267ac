// SPEC §5 (turn flow), §3 (/turn, /stop), §4 (message / token / message-update / turn
// events, snapshot and resume while a reply is in flight), §6 (bot reply metrics).
// Built-in backends only (echo, eliza, dice); the OpenAI-compatible backend has its own file.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  api,
  createBot as createBotOn,
  uniqueName as uname,
  createChat,
  getChat,
  postMessage,
  postAndSettle as postAndSettleOn,
  openOkStream,
  openSnapshotStream,
  jsonStreamPath,
  parsedEvent,
  parsedEvents as evs,
  replies,
  metrics,
  assertError,
  sleep,
  waitIdle,
} from './helpers.mjs';

const T = { timeout: 20000 };
const fast = useServer({ args: ['--typing-ms', '5'] });
const slow = useServer({ args: ['--typing-ms', '300'] }); // a reply stays in flight long enough to act on it

// ---------------------------------------------------------------------------
// helpers

const createBot = (srv, fields) => createBotOn(srv.url, fields);

async function echoBots(srv, n, extra = {}, prefix = 'Echo') {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await createBot(srv, { name: uname(prefix), backend: 'echo', ...extra }));
  return out;
}

/** Open the chat's JSON stream (closed after the file). */
async function stream(srv, chatId, { query = '', headers = {} } = {}) {
  return srv.track(await openOkStream(srv.url, jsonStreamPath(chatId, query), { headers }));
}

/** Open the chat's JSON stream and wait for its snapshot; returns {s, snap (its JSON)}. */
async function streamWithSnapshot(srv, chatId) {
  const s = srv.track(await openSnapshotStream(srv.url, jsonStreamPath(chatId)));
  return { s, snap: s.snapshot.json };
}

/** Wait until predicate over the parsed events holds. */
function waitEv(s, pred, timeout = 10000, what = 'event') {
  return s.waitFor(() => evs(s).some(pred), timeout, what);
}

const turnEvents = (list) => list.filter((e) => e.event === 'turn').map((e) => e.json);

/** Post and wait for the flow to go idle; returns the parsed events since the post. */
const postAndSettle = (srv, s, chatId, body, author, timeout) => postAndSettleOn(srv.url, s, chatId, body, author, timeout);

/** Assert nothing bot-related happens for `ms` after index `from`. */
async function assertQuiet(s, from, ms, what) {
  await sleep(ms);
  const extra = evs(s).slice(from).filter((e) => e.event !== 'message' || e.json.kind !== 'person');
  assert.deepEqual(
    extra.map((e) => `${e.event}:${e.data}`),
    [],
    `${what}: expected no bot activity, got ${extra.length} event(s)`,
  );
}

// ---------------------------------------------------------------------------

describe('echo replies and the event sequence', () => {
  test('an echo bot repeats the person\'s message: message(streaming, "") → turn running → tokens → message-update complete → turn idle', T, async () => {
    const [bot] = await echoBots(fast, 1);
    const chat = await createChat(fast.url, 'echo', { bots: [bot.id] });
    const { s, snap } = await streamWithSnapshot(fast, chat.id);
    assert.deepEqual(snap.turn, { state: 'idle', speaker: null, queue: [], auto_left: 0 }, 'snapshot turn before anything');

    const text = 'hello there, parley';
    const list = await postAndSettle(fast, s, chat.id, text);
    const names = list.map((e) => e.event);
    // person's message, bot message, turn running, tokens…, message-update, turn idle
    assert.equal(names[0], 'message', `first event: ${names.join(',')}`);
    assert.equal(list[0].json.kind, 'person');
    assert.equal(list[0].json.body, text);

    const rs = replies(list);
    assert.equal(rs.length, 1, `one bot reply, events: ${names.join(',')}`);
    const r = rs[0];
    assert.equal(r.start.state, 'streaming');
    assert.equal(r.start.body, '');
    assert.equal(r.start.kind, 'bot');
    assert.equal(r.start.author, bot.name);
    assert.equal(r.start.bot_id, bot.id);
    assert.equal(r.start.seq, list[0].json.seq + 1, 'bot message seq follows the person\'s');
    assert.ok(r.update, 'a final message-update arrived');
    assert.equal(r.update.state, 'complete');
    assert.equal(r.update.body, text);
    assert.equal(r.update.error, null);
    assert.equal(r.update.seq, r.start.seq);

    const iMsg = list.findIndex((e) => e.event === 'message' && e.json.kind === 'bot');
    const iRun = list.findIndex((e) => e.event === 'turn' && e.json.state === 'running');
    const iTok = list.findIndex((e) => e.event === 'token');
    const iUpd = list.findIndex((e) => e.event === 'message-update');
    const iIdle = list.length - 1;
    assert.ok(iMsg >= 0 && iRun >= 0 && iTok >= 0 && iUpd >= 0, `all kinds present: ${names.join(',')}`);
    assert.ok(iMsg < iTok && iRun < iTok && iTok < iUpd && iUpd < iIdle, `order: ${names.join(',')}`);
    assert.deepEqual(list[iRun].json, { state: 'running', speaker: bot.name, queue: [], auto_left: 0 });
    assert.deepEqual(list[iIdle].json, { state: 'idle', speaker: null, queue: [], auto_left: 0 });

    // durable events carry increasing ids; tokens carry none
    const durable = list.filter((e) => e.event !== 'token');
    for (const e of durable) assert.match(e.id || '', /^\d+$/, `${e.event} has an id`);
    const ids = durable.map((e) => Number(e.id));
    assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'ids increase');
    assert.equal(new Set(ids).size, ids.length, 'ids unique');
    for (const e of list.filter((x) => x.event === 'token')) assert.equal(e.id, undefined, 'token has no id');

    // the stored message agrees
    const got = await getChat(fast.url, chat.id);
    const stored = got.messages.find((m) => m.seq === r.seq);
    assert.equal(stored.state, 'complete');
    assert.equal(stored.body, text);
    assert.equal(stored.kind, 'bot');
    assert.equal(stored.bot_id, bot.id);
    // the snapshot of a fresh stream is idle again
    const { snap: snap2 } = await streamWithSnapshot(fast, chat.id);
    assert.deepEqual(snap2.turn, { state: 'idle', speaker: null, queue: [], auto_left: 0 });
  });

  test('tokens, concatenated, equal the final body exactly (whitespace, newlines, non-ASCII); each token names the reply\'s seq', T, async () => {
    const [bot] = await echoBots(fast, 1);
    const chat = await createChat(fast.url, 'tokens', { bots: [bot.name] });
    const { s } = await streamWithSnapshot(fast, chat.id);
    const text = 'Grüße  an alle\nzweite Zeile\t🎲 tab\n\nend <b>&amp;</b> "q"';
    const list = await postAndSettle(fast, s, chat.id, text);
    const [r] = replies(list);
    assert.ok(r && r.update, 'reply finished');
    assert.ok(r.tokens.length >= 5, `typed in several pieces (got ${r.tokens.length})`);
    assert.equal(r.tokens.join(''), r.update.body, 'tokens concatenate to the final body');
    assert.equal(r.update.body, text);
    for (const e of r.tokenEvents) {
      assert.deepEqual(Object.keys(e.json).sort(), ['delta', 'seq']);
      assert.equal(e.json.seq, r.seq);
      assert.ok(e.json.delta.length > 0, 'no empty token');
    }
  });
});

describe('policies', () => {
  test('round-robin: every bot replies once, in chat order, with matching turn events', T, async () => {
    const [a, b, c] = await echoBots(fast, 3);
    // chat order differs from creation order
    const chat = await createChat(fast.url, 'rr', { bots: [c.id, a.name, b.id], policy: 'round-robin' });
    assert.deepEqual(chat.bots.map((x) => x.name), [c.name, a.name, b.name]);
    const { s } = await streamWithSnapshot(fast, chat.id);
    const list = await postAndSettle(fast, s, chat.id, 'round we go');
    const rs = replies(list);
    assert.deepEqual(rs.map((r) => r.author), [c.name, a.name, b.name], 'reply order');
    for (const r of rs) {
      assert.equal(r.update && r.update.state, 'complete');
      assert.equal(r.update.body, 'round we go');
    }
    assert.deepEqual(turnEvents(list), [
      { state: 'running', speaker: c.name, queue: [a.name, b.name], auto_left: 0 },
      { state: 'running', speaker: a.name, queue: [b.name], auto_left: 0 },
      { state: 'running', speaker: b.name, queue: [], auto_left: 0 },
      { state: 'idle', speaker: null, queue: [], auto_left: 0 },
    ]);
    // one reply fully ends before the next starts
    const order = list.filter((e) => (e.event === 'message' && e.json.kind === 'bot') || (e.event === 'message-update')).map((e) => `${e.event}:${e.json.author}`);
    assert.deepEqual(order, [
      `message:${c.name}`, `message-update:${c.name}`,
      `message:${a.name}`, `message-update:${a.name}`,
      `message:${b.name}`, `message-update:${b.name}`,
    ]);
    // round-robin bots do not answer each other: nothing more happens
    await assertQuiet(s, s.events.length, 300, 'after the round');
  });

  test('round-robin with 10 bots: all ten reply (the limit of 8 is for bots that bots call in)', T, async () => {
    const bots = await echoBots(fast, 10);
    const chat = await createChat(fast.url, 'big round', { bots: bots.map((b) => b.id), policy: 'round-robin' });
    const { s } = await streamWithSnapshot(fast, chat.id);
    const list = await postAndSettle(fast, s, chat.id, 'hi all');
    assert.deepEqual(replies(list).map((r) => r.author), bots.map((b) => b.name));
  });

  test('round-robin with 2 bots and a second person message: again each once', T, async () => {
    const [a, b] = await echoBots(fast, 2);
    const chat = await createChat(fast.url, 'rr2', { bots: [a.id, b.id] });
    assert.equal(chat.policy, 'round-robin', 'default policy');
    const { s } = await streamWithSnapshot(fast, chat.id);
    let rs = replies(await postAndSettle(fast, s, chat.id, 'first'));
    assert.deepEqual(rs.map((r) => [r.author, r.update.body]), [[a.name, 'first'], [b.name, 'first']]);
    rs = replies(await postAndSettle(fast, s, chat.id, 'second', 'Bob'));
    assert.deepEqual(rs.map((r) => [r.author, r.update.body]), [[a.name, 'second'], [b.name, 'second']]);
  });

  test('mentions: only the @mentioned bots reply, in mention order; no mention → nobody; a bot not in the chat is ignored', T, async () => {
    const [a, b, c] = await echoBots(fast, 3);
    const [outsider] = await echoBots(fast, 1, {}, 'Out');
    const chat = await createChat(fast.url, 'mentions', { bots: [a.id, b.id, c.id], policy: 'mentions' });
    const { s } = await streamWithSnapshot(fast, chat.id);

    const text = `hey @${c.name}, then you @${a.name} (and @${c.name} again)`;
    const list = await postAndSettle(fast, s, chat.id, text);
    assert.deepEqual(replies(list).map((r) => r.author), [c.name, a.name], 'mention order, each once');
    assert.deepEqual(turnEvents(list)[0], { state: 'running', speaker: c.name, queue: [a.name], auto_left: 0 });

    let from = s.events.length;
    await postMessage(fast.url, chat.id, 'nobody is mentioned here, email me at x@y.z');
    await assertQuiet(s, from, 400, 'message without mentions');

    from = s.events.length;
    await postMessage(fast.url, chat.id, `only @${outsider.name} who is not in this chat`);
    await assertQuiet(s, from, 400, 'mention of a bot outside the chat');
  });

  test('manual: nobody speaks until POST /turn (by name or id) → 202, then that bot replies', T, async () => {
    const [a, b] = await echoBots(fast, 2);
    const chat = await createChat(fast.url, 'manual', { bots: [a.id, b.id], policy: 'manual' });
    const { s } = await streamWithSnapshot(fast, chat.id);
    let from = s.events.length;
    await postMessage(fast.url, chat.id, `hello @${a.name} and @${b.name}`);
    await assertQuiet(s, from, 400, 'manual chat after a person posts');

    from = s.events.length;
    const r1 = await api(fast.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: b.name });
    assert.equal(r1.status, 202, `turn by name: ${r1.text}`);
    assert.deepEqual(r1.json, { status: 'queued' }, 'CONTRACT-NOTES: 202 {"status":"queued"}');
    let idle = await waitIdle(s, from);
    let rs = replies(evs(s).slice(from, idle + 1));
    assert.deepEqual(rs.map((r) => r.author), [b.name]);
    assert.equal(rs[0].update.state, 'complete');
    assert.equal(rs[0].update.body, `hello @${a.name} and @${b.name}`);

    from = s.events.length;
    const r2 = await api(fast.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: a.id });
    assert.equal(r2.status, 202, `turn by id: ${r2.text}`);
    idle = await waitIdle(s, from);
    rs = replies(evs(s).slice(from, idle + 1));
    assert.deepEqual(rs.map((r) => r.author), [a.name]);
    // and only that bot: the flow stays quiet afterwards
    await assertQuiet(s, s.events.length, 300, 'after the requested turn');
  });

  test('/turn: a bot not in the chat, an unknown bot, or a missing/invalid field → 422; unknown chat → 404', T, async () => {
    const [a] = await echoBots(fast, 1);
    const [other] = await echoBots(fast, 1);
    const chat = await createChat(fast.url, 'turn-422', { bots: [a.id], policy: 'manual' });
    const { s } = await streamWithSnapshot(fast, chat.id);
    const from = s.events.length;
    const p = `/api/v1/chats/${chat.id}/turn`;
    assertError(await api(fast.url, 'POST', p, { bot: other.name }), 422, 'bot not in chat (name)');
    assertError(await api(fast.url, 'POST', p, { bot: other.id }), 422, 'bot not in chat (id)');
    assertError(await api(fast.url, 'POST', p, { bot: 'nosuchbot' }), 422, 'unknown bot');
    const missing = assertError(await api(fast.url, 'POST', p, {}), 422, 'missing bot');
    assert.match(missing.detail, /bot/, 'detail names the field');
    assertError(await api(fast.url, 'POST', p, { bot: 7 }), 422, 'bot not a string');
    assertError(await api(fast.url, 'POST', '/api/v1/chats/zzzzzzzzzzzz/turn', { bot: a.id }), 404, 'unknown chat');
    await assertQuiet(s, from, 300, 'after rejected /turn requests');
  });

  test('natural with talkativeness 0 for every bot: exactly one bot answers each person message', T, async () => {
    const bots = await echoBots(fast, 3, { talkativeness: 0 });
    const chat = await createChat(fast.url, 'natural-0', { bots: bots.map((b) => b.id), policy: 'natural' });
    const { s } = await streamWithSnapshot(fast, chat.id);
    for (const text of ['anyone there?', 'hello again', 'third time']) {
      const rs = replies(await postAndSettle(fast, s, chat.id, text));
      assert.equal(rs.length, 1, `exactly one reply to ${JSON.stringify(text)}, got ${rs.map((r) => r.author)}`);
      assert.ok(bots.some((b) => b.name === rs[0].author));
      assert.equal(rs[0].update.body, text);
    }
  });

  test('natural with talkativeness 1: every bot answers, mentioned bots first', T, async () => {
    const [a, b, c] = await echoBots(fast, 3, { talkativeness: 1 });
    const chat = await createChat(fast.url, 'natural-1', { bots: [a.id, b.id, c.id], policy: 'natural' });
    const { s } = await streamWithSnapshot(fast, chat.id);
    // the message mentions c; echo repeats the PERSON's message, which mentions c, so c may be
    // pulled in again by the others' replies; the first three replies are what we check.
    const rs = replies(await postAndSettle(fast, s, chat.id, `over to you @${c.name}`));
    assert.ok(rs.length >= 3 && rs.length <= 8, `3..8 replies, got ${rs.length}`);
    assert.equal(rs[0].author, c.name, 'the mentioned bot speaks first');
    assert.deepEqual(new Set(rs.slice(0, 3).map((r) => r.author)), new Set([a.name, b.name, c.name]), 'everyone answers');
  });

  test('natural: bots mentioning each other stop after at most 8 bot turns per person message and the flow ends idle', T, async () => {
    const [a, b] = await echoBots(fast, 2, { talkativeness: 0 });
    const chat = await createChat(fast.url, 'natural-loop', { bots: [a.id, b.id], policy: 'natural' });
    const { s } = await streamWithSnapshot(fast, chat.id);
    // echo repeats the last person's message, so every bot reply mentions both bots
    const list = await postAndSettle(fast, s, chat.id, `@${a.name} @${b.name} talk to each other`, 'Ada', 15000);
    const rs = replies(list);
    assert.ok(rs.length > 2, `bots pull each other in (got ${rs.length} replies)`);
    assert.ok(rs.length <= 8, `at most 8 bot turns, got ${rs.length}`);
    for (const r of rs) assert.equal(r.update && r.update.state, 'complete');
    for (const r of rs) assert.ok([a.name, b.name].includes(r.author), `speaker ${r.author} is a bot of the chat`);
    assert.deepEqual(list[list.length - 1].json, { state: 'idle', speaker: null, queue: [], auto_left: 0 });
    await assertQuiet(s, s.events.length, 400, 'after the 8-turn limit');
    const { snap } = await streamWithSnapshot(fast, chat.id);
    assert.deepEqual(snap.turn, { state: 'idle', speaker: null, queue: [], auto_left: 0 });

    // a new person message resets the budget
    const rs2 = replies(await postAndSettle(fast, s, chat.id, `@${a.name} @${b.name} once more`, 'Ada', 15000));
    assert.ok(rs2.length > 2 && rs2.length <= 8, `second round 3..8 replies, got ${rs2.length}`);
  });
});

describe('built-in backends', () => {
  test('dice: rolls every expression and ends with "= N", N the grand total (deterministic with d1 dice)', T, async () => {
    const dice = await createBot(fast, { name: uname('Dice'), backend: 'dice' });
    const chat = await createChat(fast.url, 'dice', { bots: [dice.id] });
    const { s } = await streamWithSnapshot(fast, chat.id);

    // 3d1+2 = 5, 2d1 = 2 → 7
    let [r] = replies(await postAndSettle(fast, s, chat.id, 'roll 3d1+2 and 2d1 please'));
    assert.equal(r.update.state, 'complete');
    assert.match(r.update.body.trimEnd(), /=\s*7$/, `dice body: ${JSON.stringify(r.update.body)}`);
    assert.ok(r.update.body.includes('3d1+2') && r.update.body.includes('2d1'), `each roll shown: ${r.update.body}`);

    // random dice: the total is the sum of the shown rolls and in range
    [r] = replies(await postAndSettle(fast, s, chat.id, 'attack 2d6+1 and damage 1d4'));
    const body = r.update.body.trimEnd();
    const m = /=\s*(-?\d+)$/.exec(body);
    assert.ok(m, `ends with "= N": ${JSON.stringify(body)}`);
    const n = Number(m[1]);
    assert.ok(n >= 2 + 1 + 1 && n <= 12 + 1 + 4, `total ${n} in 4..17`);
    // each expression's line total, if shown as "= k", sums to N
    const lineTotals = body.split('\n').slice(0, -1).map((l) => /=\s*(-?\d+)\s*$/.exec(l)).filter(Boolean).map((x) => Number(x[1]));
    if (lineTotals.length === 2) assert.equal(lineTotals[0] + lineTotals[1], n, `grand total is the sum: ${body}`);
    assert.equal(r.tokens.join(''), r.update.body);
  });

  test('eliza: replies with something non-empty and complete', T, async () => {
    const eliza = await createBot(fast, { name: uname('Eliza'), backend: 'eliza' });
    const chat = await createChat(fast.url, 'eliza', { bots: [eliza.id] });
    const { s } = await streamWithSnapshot(fast, chat.id);
    const [r] = replies(await postAndSettle(fast, s, chat.id, 'I feel sad about my computer'));
    assert.ok(r && r.update, 'eliza replied');
    assert.equal(r.update.state, 'complete');
    assert.ok(r.update.body.trim().length > 0, 'non-empty reply');
    assert.notEqual(r.update.body, 'I feel sad about my computer', 'not just an echo');
    assert.equal(r.tokens.join(''), r.update.body);
  });
});

describe('interrupting a reply', () => {
  test('a person\'s message during a reply is shown at once; the reply finishes; queued turns are replaced', T, async () => {
    const [a, b, c] = await echoBots(slow, 3);
    const chat = await createChat(slow.url, 'interrupt', { bots: [a.id, b.id, c.id], policy: 'mentions' });
    const { s } = await streamWithSnapshot(slow, chat.id);
    const first = `@${a.name} @${b.name} one two three four five`;
    const from = s.events.length;
    await postMessage(slow.url, chat.id, first);
    // a's reply is in flight
    await waitEv(s, (e) => e.event === 'token', 5000, 'a first token');
    const second = `@${c.name} jump in`;
    const t0 = Date.now();
    const p2 = await postMessage(slow.url, chat.id, second, 'Bob');
    await waitEv(s, (e) => e.event === 'message' && e.json.kind === 'person' && e.json.body === second, 2000, 'the second person message');
    assert.ok(Date.now() - t0 < 1000, 'shown at once');
    const idle = await waitIdle(s, from, 15000);
    const list = evs(s).slice(from, idle + 1);

    const iSecond = list.findIndex((e) => e.event === 'message' && e.json.body === second);
    const rs = replies(list);
    assert.deepEqual(rs.map((r) => r.author), [a.name, c.name], `a finishes, b's queued turn is replaced by c's; got ${rs.map((r) => r.author)}`);
    const iAUpdate = list.findIndex((e) => e.event === 'message-update' && e.json.seq === rs[0].seq);
    assert.ok(iSecond < iAUpdate, 'the person\'s message event comes before the current reply\'s message-update');
    assert.equal(rs[0].update.state, 'complete', 'the reply being generated finishes');
    assert.equal(rs[0].update.body, first);
    assert.ok(p2.seq > rs[0].seq && p2.seq < rs[1].seq, 'seq order: a\'s reply, Bob\'s message, c\'s reply');
    assert.equal(rs[1].update.body, second, 'c answers the newest message');
    const turns = turnEvents(list);
    assert.ok(!turns.some((t) => t.speaker === b.name), 'b never spoke');
    assert.ok(turns.some((t) => t.state === 'running' && t.speaker === c.name), 'a turn event shows c speaking');
  });

  test('turns asked for (/turn) stay queued when a person posts; the new message\'s picks follow them', T, async () => {
    const [a, b, c] = await echoBots(slow, 3);
    const chat = await createChat(slow.url, 'asked', { bots: [a.id, b.id, c.id], policy: 'manual' });
    const { s } = await streamWithSnapshot(slow, chat.id);
    await postMessage(slow.url, chat.id, 'one two three four');
    const from = s.events.length;
    for (const bot of [a, b, c]) assert.equal((await api(slow.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bot.id })).status, 202);
    await waitEv(s, (e) => e.event === 'token', 5000, 'a first token');
    await postMessage(slow.url, chat.id, 'thanks', 'Bob');
    const idle = await waitIdle(s, from, 20000);
    assert.equal(replies(evs(s).slice(from, idle + 1)).length, 3, 'every bot asked for answered');
  });

  test('mentions: a reply outrun by a newer post calls in nobody; a bot muted after its turn was queued keeps quiet', T, async () => {
    const [a, b] = await echoBots(slow, 2);
    const chat = await createChat(slow.url, 'outrun', { bots: [a.id, b.id], policy: 'natural' });
    await api(slow.url, 'PATCH', `/api/v1/bots/${a.id}`, { talkativeness: 0 });
    await api(slow.url, 'PATCH', `/api/v1/bots/${b.id}`, { talkativeness: 0 });
    const { s } = await streamWithSnapshot(slow, chat.id);
    let from = s.events.length;
    await postMessage(slow.url, chat.id, `@${a.name} please say @${b.name} once more`);
    await waitEv(s, (e) => e.event === 'token', 5000, 'a first token');
    await postMessage(slow.url, chat.id, `@${a.name} never mind`, 'Bob');
    let idle = await waitIdle(s, from, 20000);
    assert.deepEqual(replies(evs(s).slice(from, idle + 1)).map((r) => r.author), [a.name, a.name], 'b, called in only by the outrun reply, stays quiet');

    const round = await createChat(slow.url, 'muted later', { bots: [a.id, b.id], policy: 'round-robin' });
    const s2 = (await streamWithSnapshot(slow, round.id)).s;
    from = s2.events.length;
    await postMessage(slow.url, round.id, 'one two three four');
    await waitEv(s2, (e) => e.event === 'token', 5000, 'a first token');
    assert.equal((await api(slow.url, 'PATCH', `/api/v1/chats/${round.id}`, { muted: [b.id] })).status, 200);
    idle = await waitIdle(s2, from, 20000);
    assert.deepEqual(replies(evs(s2).slice(from, idle + 1)).map((r) => r.author), [a.name], 'b, muted while queued, keeps quiet');
  });

  test('a person\'s post deleted while its bots are queued: those still queued never answer', T, async () => {
    const [a, b] = await echoBots(slow, 2);
    const chat = await createChat(slow.url, 'taken back', { bots: [a.id, b.id], policy: 'mentions' });
    const { s } = await streamWithSnapshot(slow, chat.id);
    const from = s.events.length;
    const post = await postMessage(slow.url, chat.id, `@${a.name} @${b.name} one two three four`);
    await waitEv(s, (e) => e.event === 'token', 5000, 'a first token');
    assert.equal((await api(slow.url, 'DELETE', `/api/v1/chats/${chat.id}/messages/${post.seq}`)).status, 204);
    const idle = await waitIdle(s, from, 20000);
    assert.deepEqual(replies(evs(s).slice(from, idle + 1)).map((r) => r.author), [a.name], 'a, already writing, finishes; b never starts');
  });

  test('/stop: the reply ends "stopped" with its partial text, queued turns are dropped, the stream gets turn idle', T, async () => {
    const [a, b] = await echoBots(slow, 2);
    const chat = await createChat(slow.url, 'stop', { bots: [a.id, b.id] });
    const { s } = await streamWithSnapshot(slow, chat.id);
    const before = await metrics(slow.url);
    const text = 'w1 w2 w3 w4 w5 w6 w7 w8 w9 w10 w11 w12';
    const from = s.events.length;
    await postMessage(slow.url, chat.id, text);
    await s.waitFor(() => evs(s).slice(from).filter((e) => e.event === 'token').length >= 2, 5000, '2 tokens');
    const r = await api(slow.url, 'POST', `/api/v1/chats/${chat.id}/stop`);
    assert.equal(r.status, 202, `stop: ${r.text}`);
    assert.deepEqual(r.json, { status: 'stopped' }, 'CONTRACT-NOTES: 202 {"status":"stopped"}');
    const idle = await waitIdle(s, from, 3000);
    const list = evs(s).slice(from, idle + 1);
    const [rep, ...rest] = replies(list);
    assert.equal(rest.length, 0, 'b never started');
    assert.ok(rep.update, 'message-update arrived');
    assert.equal(rep.update.state, 'stopped');
    assert.equal(rep.update.error, null, 'stopped is not an error');
    assert.ok(rep.update.body.length > 0 && text.startsWith(rep.update.body), `partial text kept: ${JSON.stringify(rep.update.body)}`);
    assert.ok(rep.update.body.length < text.length, 'stopped before the end');
    assert.equal(rep.tokens.join(''), rep.update.body, 'the stopped body is exactly what was streamed');
    assert.deepEqual(list[list.length - 1].json, { state: 'idle', speaker: null, queue: [], auto_left: 0 });
    // nothing more: no late tokens, b does not speak
    await assertQuiet(s, s.events.length, 900, 'after /stop');
    const stored = (await getChat(slow.url, chat.id)).messages.find((m) => m.seq === rep.seq);
    assert.equal(stored.state, 'stopped');
    assert.equal(stored.body, rep.update.body);
    const afterM = await metrics(slow.url);
    const d = (st) => (afterM.get('parley_bot_replies_total', { state: st }) ?? 0) - (before.get('parley_bot_replies_total', { state: st }) ?? 0);
    assert.equal(d('stopped'), 1, 'one stopped reply counted');
  });

  test('/stop with nothing running → 202 and no events; unknown chat → 404', T, async () => {
    const [a] = await echoBots(fast, 1);
    const chat = await createChat(fast.url, 'stop-idle', { bots: [a.id] });
    const { s } = await streamWithSnapshot(fast, chat.id);
    const from = s.events.length;
    const r = await api(fast.url, 'POST', `/api/v1/chats/${chat.id}/stop`);
    assert.equal(r.status, 202, r.text);
    await assertQuiet(s, from, 300, '/stop while idle');
    assertError(await api(fast.url, 'POST', '/api/v1/chats/zzzzzzzzzzzz/stop'), 404, 'stop unknown chat');
  });
});

describe('joining while a reply is in flight', () => {
  test('snapshot mid-reply shows turn running; its message body plus later tokens equal the final body', T, async () => {
    const [a, b] = await echoBots(slow, 2);
    const chat = await createChat(slow.url, 'mid', { bots: [a.id, b.id] });
    const { s } = await streamWithSnapshot(slow, chat.id);
    const text = 'alpha beta gamma delta epsilon zeta';
    await postMessage(slow.url, chat.id, text);
    await s.waitFor(() => evs(s).filter((e) => e.event === 'token').length >= 2, 5000, '2 tokens');

    const { s: s2, snap } = await streamWithSnapshot(slow, chat.id);
    assert.deepEqual(snap.turn, { state: 'running', speaker: a.name, queue: [b.name], auto_left: 0 }, 'snapshot turn while a speaks');
    const m = snap.messages.find((x) => x.kind === 'bot' && x.author === a.name);
    assert.ok(m, 'the reply in flight is in the snapshot messages');
    assert.equal(m.state, 'streaming');
    assert.ok(m.body.length > 0 && text.startsWith(m.body), `snapshot holds the text so far: ${JSON.stringify(m.body)}`);
    // after the snapshot: a message-update without id holding the text so far (CONTRACT-NOTES), before any token
    await s2.waitFor(2, 3000);
    const second = parsedEvent(s2.events[1]);
    assert.equal(second.event, 'message-update', `event after the snapshot: ${second.event}`);
    assert.equal(second.id, undefined, 'the in-flight update has no id');
    assert.equal(second.json.seq, m.seq);
    assert.ok(text.startsWith(second.json.body) && second.json.body.startsWith(m.body), 'it holds the text so far');

    await s2.waitFor(() => evs(s2).some((e) => e.event === 'message-update' && e.json.seq === m.seq && e.json.state === 'complete'), 10000, 'a\'s final update on the late stream');
    const l2 = evs(s2);
    const tokens = l2.filter((e) => e.event === 'token' && e.json.seq === m.seq).map((e) => e.json.delta).join('');
    const fin = l2.find((e) => e.event === 'message-update' && e.json.seq === m.seq && e.json.state === 'complete').json;
    assert.equal(fin.body, text);
    assert.equal(m.body + tokens, fin.body, 'snapshot text + later tokens = final body (nothing lost or doubled)');
    await api(slow.url, 'POST', `/api/v1/chats/${chat.id}/stop`);
    await waitIdle(s2, 0, 5000);
  });

  test('resume (Last-Event-ID) mid-reply: missed durable events, then a message-update without id holding the text so far, then live tokens', T, async () => {
    const [a] = await echoBots(slow, 1);
    const chat = await createChat(slow.url, 'resume', { bots: [a.id] });
    const { s } = await streamWithSnapshot(slow, chat.id);
    const text = 'one two three four five six seven';
    const person = await postMessage(slow.url, chat.id, text);
    await s.waitFor(() => evs(s).filter((e) => e.event === 'token').length >= 2, 5000, '2 tokens');
    const personEv = evs(s).find((e) => e.event === 'message' && e.json.seq === person.seq);
    assert.ok(personEv && personEv.id, 'person message event has an id');

    const s3 = await stream(slow, chat.id, { headers: { 'Last-Event-ID': personEv.id } });
    await s3.waitFor(() => evs(s3).some((e) => e.event === 'message-update' && e.id === undefined), 3000, 'the in-flight message-update');
    const l3 = evs(s3);
    assert.notEqual(l3[0].event, 'snapshot', 'a valid Last-Event-ID resumes without a snapshot');
    const iCur = l3.findIndex((e) => e.event === 'message-update' && e.id === undefined);
    const replayed = l3.slice(0, iCur);
    assert.ok(replayed.some((e) => e.event === 'message' && e.json.kind === 'bot' && e.json.author === a.name), 'the bot message event is replayed');
    assert.ok(replayed.some((e) => e.event === 'turn' && e.json.state === 'running'), 'the turn running event is replayed');
    for (const e of replayed) assert.ok(Number(e.id) > Number(personEv.id), 'only events after the resume point');
    const cur = l3[iCur].json;
    assert.equal(cur.state, 'streaming');
    assert.ok(cur.body.length > 0 && text.startsWith(cur.body), `text so far: ${JSON.stringify(cur.body)}`);
    assert.ok(!l3.slice(0, iCur).some((e) => e.event === 'token'), 'no tokens before the in-flight update');

    await s3.waitFor(() => evs(s3).some((e) => e.event === 'message-update' && e.id !== undefined), 10000, 'the final update');
    const all = evs(s3);
    const fin = all.find((e) => e.event === 'message-update' && e.id !== undefined).json;
    const later = all.slice(iCur + 1).filter((e) => e.event === 'token').map((e) => e.json.delta).join('');
    assert.equal(fin.body, text);
    assert.equal(cur.body + later, fin.body, 'text so far + live tokens = final body');
    await waitIdle(s3, 0, 5000);
  });
});

describe('metrics', () => {
  test('parley_bot_replies_total counts replies by state (complete, stopped, failed)', T, async () => {
    const m0 = await metrics(slow.url);
    for (const st of ['complete', 'failed', 'stopped']) {
      assert.equal(typeof m0.get('parley_bot_replies_total', { state: st }), 'number', `parley_bot_replies_total{state="${st}"} exported`);
    }
    assert.equal(m0.types.parley_bot_replies_total, 'counter');
    const [e] = await echoBots(slow, 1);
    // an openai bot pointing at a port nobody listens on fails fast
    const dead = await createBot(slow, { name: uname('Dead'), backend: 'openai', base_url: 'http://127.0.0.1:1/v1' });
    const chat = await createChat(slow.url, 'metrics', { bots: [e.id, dead.id] });
    const { s } = await streamWithSnapshot(slow, chat.id);
    // complete: a one-word echo, then the dead bot fails
    let list = await postAndSettle(slow, s, chat.id, 'hi');
    assert.deepEqual(replies(list).map((r) => r.update.state), ['complete', 'failed']);
    // stopped
    const from = s.events.length;
    await postMessage(slow.url, chat.id, 'a b c d e f g h');
    await s.waitFor(() => evs(s).slice(from).some((x) => x.event === 'token'), 5000, 'a token');
    assert.equal((await api(slow.url, 'POST', `/api/v1/chats/${chat.id}/stop`)).status, 202);
    await waitIdle(s, from);
    const m1 = await metrics(slow.url);
    const d = (st) => m1.get('parley_bot_replies_total', { state: st }) - m0.get('parley_bot_replies_total', { state: st });
    assert.equal(d('complete'), 1, 'complete +1');
    assert.equal(d('failed'), 1, 'failed +1');
    assert.equal(d('stopped'), 1, 'stopped +1');
  });
});
