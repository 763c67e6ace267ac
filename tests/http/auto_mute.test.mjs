// SPEC §8 muted bots and auto rounds, as CONTRACT-NOTES "Conversation control (SPEC 8)"
// chooses them: PATCH {"muted"} and {"auto_rounds"} with their refusals; a muted bot is picked
// by no policy (round-robin, mentions, natural, nor in auto rounds) but still speaks on /turn;
// the mute survives changes to the chat's other bots; auto rounds come exactly as many as set,
// with auto_left counting down, and a person's post, /stop or auto_rounds 0 end them.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, assertError, replies, parsedEvents as evs } from './helpers.mjs';
import { on, waitEv, noEv, waitIdleFrom, botStarts, turnStates } from './control_helpers.mjs';

const T = { timeout: 20000 };
const fast = useServer({ args: ['--typing-ms', '2'] });
const mid = useServer({ args: ['--typing-ms', '30'] }); // twenty words take 600 ms: time to act during a reply
const F = on(fast);
const M = on(mid);

const words = (w, n) => Array.from({ length: n }, (_, i) => `${w}${i}`).join(' ');

/** Post and wait for the flow to settle; returns the replies (helpers.replies) and the events. */
async function postSettle(X, s, chatId, body) {
  const from = s.events.length;
  await X.post(chatId, body);
  const list = await waitIdleFrom(s, from);
  return { list, rs: replies(list) };
}

const isBotMsg = (e) => e.event === 'message' && e.json && e.json.kind === 'bot';

// ---------------------------------------------------------------------------

describe('PATCH muted and auto_rounds', () => {
  test('a new chat has muted [] and auto_rounds 0; PATCH muted by name or id → 200 Chat with ids, a chat event, the snapshot shows it', T, async () => {
    const [a, b, c] = await F.bots(3);
    const chat = await F.chat('mute', [a, b, c]);
    assert.deepEqual(chat.muted, []);
    assert.equal(chat.auto_rounds, 0);
    const s = await F.stream(chat.id);
    assert.deepEqual(s.snapshot.json.muted, []);
    assert.equal(s.snapshot.json.auto_rounds, 0);
    const from = s.events.length;
    const p = await F.patchChat(chat.id, { muted: [c.name, a.id] });
    assert.deepEqual([...p.muted].sort(), [a.id, c.id].sort(), 'muted holds ids');
    assert.deepEqual(p.bots.map((x) => x.id), [a.id, b.id, c.id], 'the bots stay in the chat');
    const ev = await waitEv(s, (e) => e.event === 'chat', from, 3000, 'the chat event');
    assert.deepEqual(ev.json.muted, p.muted);
    assert.deepEqual((await F.ok('GET', `/api/v1/chats/${chat.id}`)).muted, p.muted);
    const s2 = await F.stream(chat.id);
    assert.deepEqual(s2.snapshot.json.muted, p.muted);
    const q = await F.patchChat(chat.id, { auto_rounds: 7 });
    assert.equal(q.auto_rounds, 7);
    assert.deepEqual(q.muted, p.muted, 'a change of auto_rounds keeps the mute');
    const s3 = await F.stream(chat.id);
    assert.equal(s3.snapshot.json.auto_rounds, 7);
    assert.deepEqual((await F.patchChat(chat.id, { muted: [] })).muted, []);
  });

  test('refusals: a bot not in the chat, an unknown bot, not a list → 422; auto_rounds outside 0..50 or not an integer → 422; nothing changes', T, async () => {
    const [a, b] = await F.bots(2);
    const [outsider] = await F.bots(1);
    const chat = await F.chat('mute-bad', [a, b]);
    await F.patchChat(chat.id, { muted: [a.id], auto_rounds: 2 });
    const before = await F.ok('GET', `/api/v1/chats/${chat.id}`);
    for (const body of [
      { muted: [outsider.id] },
      { muted: [outsider.name, a.id] },
      { muted: ['NoSuchBot_xyz'] },
      { muted: a.id },
      { muted: [5] },
      { muted: [a.id], title: '' },
      { auto_rounds: 51 },
      { auto_rounds: -1 },
      { auto_rounds: 2.5 },
      { auto_rounds: '3' },
      { auto_rounds: true },
      { auto_rounds: 1000000 },
    ]) {
      assertError(await F.api('PATCH', `/api/v1/chats/${chat.id}`, body), 422, `PATCH ${JSON.stringify(body)}`);
    }
    const after = await F.ok('GET', `/api/v1/chats/${chat.id}`);
    assert.deepEqual(after, before, 'the chat is unchanged by every refusal');
    assert.equal((await F.patchChat(chat.id, { auto_rounds: 50 })).auto_rounds, 50, '50 is allowed');
    assert.equal((await F.patchChat(chat.id, { auto_rounds: 0 })).auto_rounds, 0, '0 is allowed');
  });
});

describe('muted bots', () => {
  test('round-robin skips a muted bot; /turn still makes it speak; unmuted it answers again', T, async () => {
    const [a, b, c] = await F.bots(3);
    const chat = await F.chat('rr-mute', [a, b, c]);
    await F.patchChat(chat.id, { muted: [b.name] });
    const s = await F.stream(chat.id);
    let { list, rs } = await postSettle(F, s, chat.id, 'first');
    assert.deepEqual(rs.map((r) => r.author), [a.name, c.name], 'the muted bot is skipped');
    assert.deepEqual(turnStates(list)[0], { state: 'running', speaker: a.name, queue: [c.name], auto_left: 0 });
    const from = s.events.length;
    await F.turn(chat.id, b);
    const turned = replies(await waitIdleFrom(s, from));
    await F.patchChat(chat.id, { muted: [] });
    ({ rs } = await postSettle(F, s, chat.id, 'second'));
    assert.deepEqual(rs.map((r) => r.author), [a.name, b.name, c.name], 'unmuted, it answers again');
    // checked last so that the rest is tested either way
    assert.deepEqual(turned.map((r) => [r.author, r.update.state, r.update.body]), [[b.name, 'complete', 'first']],
      '/turn makes the muted bot speak, and only it: round-robin bots do not answer a bot (as with an unmuted bot)');
  });

  test('mentions: a muted bot is not picked even when @mentioned', T, async () => {
    const [a, b] = await F.bots(2);
    const chat = await F.chat('mentions-mute', [a, b], { policy: 'mentions' });
    await F.patchChat(chat.id, { muted: [a.id] });
    const s = await F.stream(chat.id);
    const { rs } = await postSettle(F, s, chat.id, `@${a.name} and @${b.name}, hello`);
    assert.deepEqual(rs.map((r) => r.author), [b.name]);
    const from = s.events.length;
    await F.post(chat.id, `only @${a.name}, please`);
    await noEv(s, isBotMsg, from, 500, 'a muted bot @mentioned alone');
    await noEv(s, (e) => e.event === 'turn', from, 0, 'no turn either');
    // /turn makes it speak; its reply (an echo of "@B …") pulls in nobody: in mentions, bots' replies do not
    await F.post(chat.id, `@${b.name} once more`);
    await waitIdleFrom(s, from);
    const from2 = s.events.length;
    await F.turn(chat.id, a);
    const rs2 = replies(await waitIdleFrom(s, from2));
    assert.deepEqual(rs2.map((r) => [r.author, r.update.body]), [[a.name, `@${b.name} once more`]], 'only the muted bot asked by /turn speaks');
  });

  test('natural: a muted bot is never drawn (even at talkativeness 1, even @mentioned by a person or a bot)', T, async () => {
    const a = await F.bot({ talkativeness: 1 });
    const b = await F.bot({ talkativeness: 0 });
    const chat = await F.chat('natural-mute', [a, b], { policy: 'natural' });
    await F.patchChat(chat.id, { muted: [a.id] });
    const s = await F.stream(chat.id);
    for (const text of ['plain words', `hey @${a.name}`, `@${a.name} @${b.name}`]) {
      // b's echo repeats the @mention of a: natural would pull a in, were it not muted
      const { rs } = await postSettle(F, s, chat.id, text);
      assert.deepEqual(rs.map((r) => r.author), [b.name], `after ${JSON.stringify(text)}`);
    }
  });

  test('changing the chat\'s other bots keeps the mute; removing the muted bot drops it from muted', T, async () => {
    const [a, b, c, d] = await F.bots(4);
    const chat = await F.chat('keep-mute', [a, b, c]);
    await F.patchChat(chat.id, { muted: [a.id] });
    assert.deepEqual((await F.patchChat(chat.id, { bots: [a.id, c.id] })).muted, [a.id], 'another bot removed');
    assert.deepEqual((await F.patchChat(chat.id, { bots: [c.id, a.id, b.id, d.id] })).muted, [a.id], 'bots added and reordered');
    assert.deepEqual((await F.patchChat(chat.id, { title: 'renamed', policy: 'round-robin' })).muted, [a.id], 'title and policy changed');
    const s = await F.stream(chat.id);
    const { rs } = await postSettle(F, s, chat.id, 'who answers');
    assert.deepEqual(rs.map((r) => r.author), [c.name, b.name, d.name]);
    const p = await F.patchChat(chat.id, { bots: [b.id, c.id] });
    assert.deepEqual(p.muted, [], 'a bot no longer in the chat is not muted in it');
  });
});

describe('auto rounds', () => {
  test('round-robin, 2 echo bots, auto_rounds 3: exactly 2 + 3 replies in chat order, auto_left 3,3,2,1,0, then idle and nothing more', T, async () => {
    const [a, b] = await F.bots(2);
    const chat = await F.chat('auto', [a, b]);
    await F.patchChat(chat.id, { auto_rounds: 3 });
    const s = await F.stream(chat.id);
    const { list, rs } = await postSettle(F, s, chat.id, 'round and round');
    assert.deepEqual(rs.map((r) => r.author), [a.name, b.name, a.name, b.name, a.name]);
    for (const r of rs) {
      assert.equal(r.update && r.update.state, 'complete');
      assert.equal(r.update.body, 'round and round', 'each echo answers the conversation (the newest person\'s message)');
    }
    assert.deepEqual(turnStates(list), [
      { state: 'running', speaker: a.name, queue: [b.name], auto_left: 3 },
      { state: 'running', speaker: b.name, queue: [], auto_left: 3 },
      { state: 'running', speaker: a.name, queue: [], auto_left: 2 },
      { state: 'running', speaker: b.name, queue: [], auto_left: 1 },
      { state: 'running', speaker: a.name, queue: [], auto_left: 0 },
      { state: 'idle', speaker: null, queue: [], auto_left: 0 },
    ]);
    await noEv(s, (e) => e.event !== 'presence', s.events.length, 800, 'after the auto rounds');
    assert.equal((await F.messages(chat.id)).length, 6, 'one person message and five replies');
    assert.equal((await F.ok('GET', `/api/v1/chats/${chat.id}`)).auto_rounds, 3, 'the setting stays for the next post');
    const again = await postSettle(F, s, chat.id, 'again');
    assert.equal(again.rs.length, 5, 'the next post gets its own rounds');
  });

  test('a muted bot takes no auto round', T, async () => {
    const [a, b, c] = await F.bots(3);
    const chat = await F.chat('auto-mute', [a, b, c]);
    await F.patchChat(chat.id, { auto_rounds: 2, muted: [c.id] });
    const s = await F.stream(chat.id);
    const { rs } = await postSettle(F, s, chat.id, 'no c please');
    assert.deepEqual(rs.map((r) => r.author), [a.name, b.name, a.name, b.name]);
  });

  test('manual: auto rounds never start (not after a post, not after /turn)', T, async () => {
    const [a, b] = await F.bots(2);
    const chat = await F.chat('auto-manual', [a, b], { policy: 'manual' });
    await F.patchChat(chat.id, { auto_rounds: 5 });
    const s = await F.stream(chat.id);
    let from = s.events.length;
    await F.post(chat.id, 'nobody answers');
    await noEv(s, isBotMsg, from, 500, 'manual after a post');
    from = s.events.length;
    await F.turn(chat.id, a);
    const list = await waitIdleFrom(s, from);
    assert.deepEqual(replies(list).map((r) => r.author), [a.name]);
    await noEv(s, isBotMsg, s.events.length, 500, 'manual after /turn');
  });

  test('a person\'s post during auto rounds ends them: the reply being written finishes, then only the new post\'s replies and rounds', T, async () => {
    const [a, b] = await M.bots(2);
    const chat = await M.chat('auto-interrupt', [a, b]);
    await M.patchChat(chat.id, { auto_rounds: 4 });
    const s = await M.stream(chat.id);
    const from = s.events.length;
    const one = words('one', 20); // the reply being written when the second post comes is long
    const two = words('two', 3); // the new post's replies are short
    await M.post(chat.id, one);
    // the first auto round (the third reply) is being written
    const third = await waitEv(s, (e) => isBotMsg(e) && evs(s).filter(isBotMsg).length >= 3, from, 8000, 'the third reply');
    const thirdSeq = evs(s).filter(isBotMsg)[2].json.seq;
    await waitEv(s, (e) => e.event === 'token' && e.json.seq === thirdSeq, third.index, 3000, 'its first token');
    const p2 = await M.post(chat.id, two);
    const seen = await waitEv(s, (e) => e.event === 'message' && e.json.seq === p2.seq, from, 3000, 'the second post');
    // the flow settles once the new post's replies and rounds are done
    const idle = await waitEv(s, (e) => e.event === 'turn' && e.json.state === 'idle', seen.index, 15000, 'idle');
    const list = evs(s).slice(from, idle.index + 1);
    const rs = replies(list);
    const before = rs.filter((r) => r.seq < p2.seq);
    const afterPost = rs.filter((r) => r.seq > p2.seq);
    assert.deepEqual(before.map((r) => r.author), [a.name, b.name, a.name], 'two answers and one auto round before the post');
    assert.deepEqual(before.map((r) => r.update && r.update.state), ['complete', 'complete', 'complete'], 'the reply being written finished');
    assert.equal(before[2].update.body, one);
    assert.deepEqual(afterPost.map((r) => r.author), [a.name, b.name, a.name, b.name, a.name, b.name], 'the new post: 2 answers + 4 rounds, none left of the old ones');
    assert.ok(afterPost.every((r) => r.update && r.update.body === two), 'all answer the new post');
    const autoLeft = turnStates(list.slice(list.findIndex((e) => e.event === 'message' && e.json.seq === p2.seq))).map((t) => t.auto_left);
    assert.deepEqual(autoLeft.slice(-5), [3, 2, 1, 0, 0], `auto_left after the new post: ${autoLeft}`);
    assert.ok(autoLeft.every((x) => x <= 4), `never more than the setting: ${autoLeft}`);
    await noEv(s, isBotMsg, s.events.length, 700, 'after the new rounds');
  });

  test('/stop during auto rounds: the reply ends "stopped", idle with auto_left 0, no more bot messages', T, async () => {
    const [a, b] = await M.bots(2);
    const chat = await M.chat('auto-stop', [a, b]);
    await M.patchChat(chat.id, { auto_rounds: 10 });
    const s = await M.stream(chat.id);
    const from = s.events.length;
    await M.post(chat.id, words('stopme', 20));
    await waitEv(s, (e) => isBotMsg(e) && evs(s).filter(isBotMsg).length >= 3, from, 8000, 'the first auto round');
    const seq = evs(s).filter(isBotMsg)[2].json.seq;
    await waitEv(s, (e) => e.event === 'token' && e.json.seq === seq, from, 3000, 'its first token');
    const r = await M.api('POST', `/api/v1/chats/${chat.id}/stop`);
    assert.equal(r.status, 202, r.text);
    const up = await waitEv(s, (e) => e.event === 'message-update' && e.json.seq === seq && e.json.state !== 'streaming', from, 3000, 'the end of the reply');
    assert.equal(up.json.state, 'stopped');
    const idle = await waitEv(s, (e) => e.event === 'turn' && e.json.state === 'idle', up.index, 3000, 'idle');
    assert.deepEqual(idle.json, { state: 'idle', speaker: null, queue: [], auto_left: 0 });
    await noEv(s, isBotMsg, up.index, 1000, 'after /stop');
    assert.equal(botStarts(evs(s).slice(from)).length, 3);
  });

  test('setting auto_rounds to 0 while rounds run ends them (no bot message after the chat event)', T, async () => {
    const [a, b] = await M.bots(2);
    const chat = await M.chat('auto-zero', [a, b]);
    await M.patchChat(chat.id, { auto_rounds: 10 });
    const s = await M.stream(chat.id);
    const from = s.events.length;
    await M.post(chat.id, words('zero', 20));
    await waitEv(s, (e) => isBotMsg(e) && evs(s).filter(isBotMsg).length >= 3, from, 8000, 'the first auto round');
    const seq = evs(s).filter(isBotMsg)[2].json.seq;
    await waitEv(s, (e) => e.event === 'token' && e.json.seq === seq, from, 3000, 'its first token');
    const p = await M.patchChat(chat.id, { auto_rounds: 0 });
    assert.equal(p.auto_rounds, 0);
    const ce = await waitEv(s, (e) => e.event === 'chat' && e.json.auto_rounds === 0, from, 3000, 'the chat event');
    const idle = await waitEv(s, (e) => e.event === 'turn' && e.json.state === 'idle', ce.index, 3000, 'idle within one reply');
    assert.equal(idle.json.auto_left, 0);
    const startsAfter = evs(s).slice(ce.index).filter(isBotMsg);
    assert.deepEqual(startsAfter.map((e) => e.json.seq), [], 'no round starts after auto_rounds 0');
    await noEv(s, isBotMsg, ce.index, 800, 'after auto_rounds 0');
    const runningAfter = turnStates(evs(s).slice(ce.index)).filter((t) => t.state === 'running');
    assert.ok(runningAfter.every((t) => t.auto_left === 0), `auto_left 0 after the change: ${JSON.stringify(runningAfter)}`);
    const ends = evs(s).filter((e) => e.event === 'message-update' && e.json.seq === seq && e.id !== undefined);
    assert.ok(ends.length >= 1 && ends[ends.length - 1].json.state !== 'streaming', 'the reply being written ended');
  });
});
