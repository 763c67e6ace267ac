// Helpers shared by the conversation-control, auto-round, presence and card tests
// (SPEC §8, §9; CONTRACT-NOTES "Conversation control", "Presence and typing", "Character cards").
//   on(srv)                      request helpers bound to one server: api, ok, bot, bots, chat, post, turn,
//                                stream (JSON stream with snapshot, tracked), patchChat
//   msgPath(chatId, seq, tail)   /api/v1/chats/{id}/messages/{seq}[/tail]
//   waitEv(s, pred, from, ms, what)   the first parsed event at index >= from matching pred (waits)
//   noEv(s, pred, from, ms, what)     assert no such event arrives within ms
//   waitIdleFrom(s, from)        the parsed events from `from` up to the next turn idle
//   botStarts(list)              bot `message` events (reply starts) among parsed events
//   hasText(e, text)             whether an event's data contains text (JSON-escaped or raw)
import assert from 'node:assert/strict';
import {
  api as apiOn,
  openSnapshotStream,
  openOkStream,
  jsonStreamPath,
  parsedEvent,
  parsedEvents,
  uniqueName,
  sleep,
  waitIdle,
} from './helpers.mjs';

export const msgPath = (chatId, seq, tail = '') => `/api/v1/chats/${chatId}/messages/${seq}${tail ? `/${tail}` : ''}`;

/** Request helpers for server `srv` (a useServer() stand-in or a started server). */
export function on(srv) {
  const self = {
    api: (method, p, body, opts) => apiOn(srv.url, method, p, body, opts),
    /** method p body → asserts `status`; returns the JSON. */
    async ok(method, p, body, status = method === 'POST' ? 201 : 200) {
      const r = await apiOn(srv.url, method, p, body);
      assert.equal(r.status, status, `${method} ${p} ${JSON.stringify(body)?.slice(0, 200)}: ${r.status} ${r.text}`);
      return r.json;
    },
    bot: (fields = {}) => self.ok('POST', '/api/v1/bots', { name: uniqueName(fields.prefix || 'Echo'), backend: 'echo', ...fields, prefix: undefined }),
    async bots(n, fields = {}) {
      const out = [];
      for (let i = 0; i < n; i++) out.push(await self.bot(fields));
      return out;
    },
    chat: (title, bots = [], extra = {}) => self.ok('POST', '/api/v1/chats', { title, bots: bots.map((b) => (typeof b === 'string' ? b : b.id)), ...extra }),
    patchChat: (chatId, fields, status = 200) => self.ok('PATCH', `/api/v1/chats/${chatId}`, fields, status),
    post: (chatId, body, author = 'Ada') => self.ok('POST', `/api/v1/chats/${chatId}/messages`, { author, body }),
    turn: (chatId, bot) => self.ok('POST', `/api/v1/chats/${chatId}/turn`, { bot: typeof bot === 'string' ? bot : bot.id }, 202),
    messages: async (chatId) => (await self.ok('GET', `/api/v1/chats/${chatId}/messages?limit=500`)).messages,
    /** The chat's JSON stream once its snapshot arrived (closed after the file). */
    async stream(chatId, query = '', opts = {}) {
      const s = await openSnapshotStream(srv.url, jsonStreamPath(chatId, query), opts);
      srv.track(s);
      return s;
    },
    /** A 200 stream (no snapshot expected: resumes), closed after the file. */
    async rawStream(chatId, query = '', opts = {}) {
      const s = await openOkStream(srv.url, jsonStreamPath(chatId, query), opts);
      srv.track(s);
      return s;
    },
  };
  return self;
}

/** The first parsed event of `s` at index >= from matching pred; waits up to ms. */
export async function waitEv(s, pred, from = 0, ms = 8000, what = 'event') {
  const find = () => parsedEvents(s).findIndex((e, i) => i >= from && pred(e));
  await s.waitFor(() => find() >= 0, ms, what);
  const i = find();
  return { ...parsedEvent(s.events[i]), index: i };
}

/** Assert no event of `s` at index >= from matches pred within ms (waits the whole time). */
export async function noEv(s, pred, from, ms, what) {
  await sleep(ms);
  const bad = parsedEvents(s).slice(from).filter(pred);
  assert.deepEqual(bad.map((e) => `${e.event} id=${e.id} ${e.data}`), [], `${what}: expected none`);
}

/** Parsed events of `s` from index `from` to the next turn idle (inclusive). */
export async function waitIdleFrom(s, from, timeout = 15000) {
  const idle = await waitIdle(s, from, timeout);
  return parsedEvents(s).slice(from, idle + 1);
}

export const botStarts = (list) => list.filter((e) => e.event === 'message' && e.json && e.json.kind === 'bot');

/** Whether event e's data carries `text` (as written or JSON-escaped). */
export const hasText = (e, text) => typeof e.data === 'string' && (e.data.includes(text) || e.data.includes(JSON.stringify(text).slice(1, -1)));

/** The `messages` of a recorded model request, as [role, content] pairs. */
export const pairs = (req) => req.body.messages.map((m) => [m.role, m.content]);

/** A parsed `turn` event's JSON list. */
export const turnStates = (list) => list.filter((e) => e.event === 'turn').map((e) => e.json);

/** Record each frame's arrival time (Date.now()) as frame.at, from now on (earlier frames get now). */
export function stampFrames(s) {
  const mark = () => {
    const now = Date.now();
    for (const f of s.frames) if (f.at === undefined) f.at = now;
  };
  mark();
  s.socket.on('data', mark); // registered after the stream's own reader: its frames are parsed first
  return s;
}

/** `presence` lists compared without regard to order: sorted by name, then user_id. */
export const sortHere = (list) => [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : String(a.user_id) < String(b.user_id) ? -1 : 1));
