// SPEC §5 (the openai backend: POST {base_url}/chat/completions with "stream":true; failures
// end a reply as failed with a reason and the flow goes on), §2 (API keys by environment
// variable, never shown), §3 /stop. The model server is tests/http/fake_openai.mjs.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  withServer,
  api,
  createBot as createBotOn,
  uniqueName as uname,
  createChat,
  getChat,
  postMessage,
  postAndSettle,
  openReadyStream,
  jsonStreamPath,
  htmlStreamPath,
  parsedEvents as evs,
  replies,
  freePort,
  sleep,
  waitIdle,
} from './helpers.mjs';
import { startFakeOpenAI, streamReply, stallAfter, httpError, rawStream, completionText } from './fake_openai.mjs';

const T = { timeout: 20000 };
const SECRET = 'sk-fake-SECRET-d41d8cd98f00b204e980';
// Only PARLEY_KEY_* may be named (SPEC §2); the helpers strip the host's PARLEY_*
// variables from the child's environment and then add these.
const KEY_VAR = 'PARLEY_KEY_OAI_TEST_X';
const EMPTY_VAR = 'PARLEY_KEY_OAI_TEST_EMPTY';
const UNSET_VAR = 'PARLEY_KEY_OAI_TEST_NEVER_SET';
const LONG_VAR = 'PARLEY_KEY_OAI_TEST_LONG';
const LONG_SECRET = `sk-proj-${'Lk9'.repeat(52)}`; // 164 characters, as OpenAI's project keys

delete process.env[UNSET_VAR];
const srv = useServer({
  args: ['--typing-ms', '5', '--model-timeout', '10', '--log-level', 'debug'],
  env: { [KEY_VAR]: SECRET, [EMPTY_VAR]: '', [LONG_VAR]: LONG_SECRET },
});
const quick = useServer({ args: ['--typing-ms', '5', '--model-timeout', '1'] });

// ---------------------------------------------------------------------------
// helpers

/** A fake model server, closed after the file (before the servers stop). */
const fake = async () => srv.track(await startFakeOpenAI());

const createBot = (server, fields) => createBotOn(server.url, fields);

function oaiBot(server, baseUrl, extra = {}) {
  return createBot(server, { name: uname('Model'), backend: 'openai', base_url: baseUrl, ...extra });
}

/** Open a chat's stream (JSON unless `p` says otherwise), wait for its first event; closed after the file. */
const stream = async (server, chatId, p = jsonStreamPath(chatId)) => server.track(await openReadyStream(server.url, p));

/** A chat with `bots`, a stream on it; post `text` and wait for the flow to end. */
async function runFlow(server, bots, text = 'hello', { policy = 'round-robin', timeout = 10000, author = 'Ada' } = {}) {
  const chat = await createChat(server.url, 'oai', { bots: bots.map((b) => b.id), policy });
  const s = await stream(server, chat.id);
  const list = await postAndSettle(server.url, s, chat.id, text, author, timeout);
  return { chat, s, list, rs: replies(list) };
}

/** The reply ended complete with body. */
function assertComplete(r, body) {
  assert.equal(r.update.state, 'complete', JSON.stringify(r.update));
  assert.equal(r.update.body, body);
}

function assertFailed(r, what) {
  assert.ok(r && r.update, `${what}: a final message-update`);
  assert.equal(r.update.state, 'failed', `${what}: state (error ${JSON.stringify(r.update.error)})`);
  assert.equal(typeof r.update.error, 'string', `${what}: error is a string`);
  assert.ok(r.update.error.trim().length > 0, `${what}: error not empty`);
  assert.ok(r.update.error.length <= 500, `${what}: a short reason (${r.update.error.length} chars)`);
}

// ---------------------------------------------------------------------------

describe('streaming replies', () => {
  test('deltas (role-only first chunk, usage chunk, [DONE], CRLF and LF, comments, odd TCP splits) → complete with the concatenated text', T, async () => {
    const f = await fake();
    const deltas = ['Hel', 'lo', ', wor', 'ld! ', 'Grüße ', '🎉', '\nline "two"', ' <b>&amp;</b>'];
    f.enqueue(streamReply(deltas, { crlf: true, comments: true, split: 7, delayMs: 1 }));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs, list } = await runFlow(srv, [bot]);
    assert.equal(rs.length, 1);
    const [r] = rs;
    assert.equal(r.update.state, 'complete', `error: ${r.update.error}`);
    assert.equal(r.update.error, null);
    assert.equal(r.update.body, deltas.join(''));
    assert.equal(r.tokens.join(''), r.update.body, 'tokens concatenate to the body');
    assert.ok(r.tokens.length >= 2, 'streamed in pieces');
    assert.equal(f.requests.length, 1, 'one request');
    assert.equal(f.requests[0].method, 'POST');
    assert.equal(f.requests[0].path, '/v1/chat/completions');
    assert.deepEqual(list[list.length - 1].json, { state: 'idle', speaker: null, queue: [], auto_left: 0 });
  });

  test('a plain stream (LF only, no comments, one write) → complete', T, async () => {
    const f = await fake();
    f.enqueue(streamReply(['Just ', 'fine.']));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [bot]);
    assert.equal(rs[0].update.state, 'complete', `error: ${rs[0].update.error}`);
    assert.equal(rs[0].update.body, 'Just fine.');
  });

  test('[DONE] ends the reply even when the model server keeps the response open', T, async () => {
    const f = await fake();
    f.enqueue(rawStream(completionText(['All ', 'done.']), { keepOpen: true }));
    const bot = await oaiBot(srv, f.baseUrl);
    const t0 = Date.now();
    const { rs } = await runFlow(srv, [bot], 'hello', { timeout: 4000 });
    assert.equal(rs[0].update.state, 'complete', `error: ${rs[0].update.error} after ${Date.now() - t0} ms`);
    assert.equal(rs[0].update.body, 'All done.');
  });

  test('the request: "stream":true, model, temperature, max_tokens, the persona as system message, "Author: text" user messages, roles alternating (one after another of the same role joined on a new line)', T, async () => {
    const f = await fake();
    f.setDefault(streamReply(['Noted.']));
    const persona = 'You are Testy, a terse tester.\nNever apologise.';
    const bot = await oaiBot(srv, f.baseUrl, { model: 'fake-model-1', temperature: 0.3, max_tokens: 77, persona });
    const chat = await createChat(srv.url, 'context', { bots: [bot.id], policy: 'manual' });
    const s = await stream(srv, chat.id);
    await postMessage(srv.url, chat.id, 'hello', 'Ada');
    await postMessage(srv.url, chat.id, 'how are you?', 'Bob');
    let from = s.events.length;
    assert.equal((await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bot.name })).status, 202);
    await waitIdle(s, from);
    const [req] = await f.waitRequests(1);
    assert.match(req.headers['content-type'] || '', /^application\/json/);
    const b = req.body;
    assert.ok(b && typeof b === 'object', `JSON body: ${req.raw.slice(0, 300)}`);
    assert.equal(b.stream, true);
    assert.equal(b.model, 'fake-model-1');
    assert.ok(Math.abs(b.temperature - 0.3) < 1e-9, `temperature ${b.temperature}`);
    assert.equal(b.max_tokens, 77);
    assert.ok(Array.isArray(b.messages) && b.messages.length >= 2, `messages: ${JSON.stringify(b.messages)}`);
    assert.deepEqual(b.messages[0], { role: 'system', content: persona }, 'system message is the persona');
    const users = b.messages.filter((m) => m.role === 'user').map((m) => m.content);
    assert.ok(users.some((c) => c.includes('Ada: hello\nBob: how are you?')), `user messages carry authors, in order, two in a row joined: ${JSON.stringify(users)}`);
    b.messages.slice(2).forEach((m, i) => assert.notEqual(m.role, b.messages[i + 1].role, `roles alternate: ${JSON.stringify(b.messages)}`));
    for (const m of b.messages) {
      assert.ok(['system', 'user', 'assistant'].includes(m.role), `role ${m.role}`);
      assert.equal(typeof m.content, 'string');
      assert.ok(m.content.length > 0, `no empty message (the reply being written is not context): ${JSON.stringify(b.messages)}`);
    }
    assert.equal(b.messages[b.messages.length - 1].role, 'user', 'the conversation ends with the newest message');

    // the bot's own earlier reply is in the next request's context
    from = s.events.length;
    await postMessage(srv.url, chat.id, 'and now?', 'Ada');
    assert.equal((await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bot.id })).status, 202);
    await waitIdle(s, from);
    const [, req2] = await f.waitRequests(2);
    const all = JSON.stringify(req2.body.messages);
    assert.ok(all.includes('Noted.'), `earlier reply in context: ${all}`);
    assert.ok(req2.body.messages.some((m) => m.role === 'user' && m.content.includes('Ada: and now?')));
  });

  test('a bot\'s own greeting first in the context is sent as a user\'s line ("Name: text"): the model\'s turn never comes first', T, async () => {
    const f = await fake();
    f.setDefault(streamReply(['Hi.']));
    const bot = await oaiBot(srv, f.baseUrl, { greeting: 'Welcome, everyone!' });
    const chat = await createChat(srv.url, 'greeted', { bots: [bot.id], policy: 'manual' });
    const s = await stream(srv, chat.id);
    await postMessage(srv.url, chat.id, 'hello there', 'Ada');
    const from = s.events.length;
    assert.equal((await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bot.id })).status, 202);
    await waitIdle(s, from);
    const [req] = await f.waitRequests(1);
    assert.deepEqual(req.body.messages.slice(1).map((m) => m.role), ['user'], JSON.stringify(req.body.messages));
    assert.equal(req.body.messages[1].content, `${bot.name}: Welcome, everyone!\nAda: hello there`);
  });

  // 12,000 bytes of context: a newer message longer than that used to leave out everything
  test('a message longer than the context the model is sent: its end is sent, cut at a character', T, async () => {
    const f = await fake();
    f.setDefault(streamReply(['Long indeed.']));
    const bot = await oaiBot(srv, f.baseUrl);
    const chat = await createChat(srv.url, 'long', { bots: [bot.id], policy: 'manual' });
    const s = await stream(srv, chat.id);
    await postMessage(srv.url, chat.id, 'an older message', 'Bob');
    const long = `LONG-START ${'é'.repeat(7000)} LONG-END`; // 14,022 bytes
    await postMessage(srv.url, chat.id, long, 'Ada');
    const from = s.events.length;
    assert.equal((await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/turn`, { bot: bot.id })).status, 202);
    await waitIdle(s, from);
    const [req] = await f.waitRequests(1);
    const last = req.body.messages[req.body.messages.length - 1];
    assert.equal(last.role, 'user');
    assert.ok(last.content.endsWith('LONG-END'), `the newest message's end is there: ${last.content.slice(-40)}`);
    assert.ok(!last.content.includes('LONG-START') && !last.content.includes('\ufffd'), 'cut before, at a character');
    assert.ok(Buffer.byteLength(last.content) <= 12000 + 16, `within the budget: ${Buffer.byteLength(last.content)}`);
    assert.ok(!JSON.stringify(req.body.messages).includes('an older message'), 'nothing older fits');
  });
});

describe('API keys', () => {
  test('Authorization: Bearer <key> only when the named variable is set and not empty', T, async () => {
    const f = await fake();
    f.setDefault(streamReply(['ok']));
    const keyed = await oaiBot(srv, f.baseUrl, { api_key_env: KEY_VAR });
    const unset = await oaiBot(srv, f.baseUrl, { api_key_env: UNSET_VAR });
    const empty = await oaiBot(srv, f.baseUrl, { api_key_env: EMPTY_VAR });
    const none = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [keyed, unset, empty, none]);
    assert.deepEqual(rs.map((r) => r.update.state), ['complete', 'complete', 'complete', 'complete']);
    assert.equal(f.requests.length, 4);
    // round-robin: one request per bot, in chat order
    assert.equal(f.requests[0].headers.authorization, `Bearer ${SECRET}`, 'keyed bot sends its key');
    assert.equal(f.requests[1].headers.authorization, undefined, 'unset variable: no Authorization');
    assert.equal(f.requests[2].headers.authorization, undefined, 'empty variable: no Authorization');
    assert.equal(f.requests[3].headers.authorization, undefined, 'no api_key_env: no Authorization');
    for (const r of f.requests) assert.ok(!r.raw.includes(SECRET), 'the key is not in the request body');
  });

  test('the key never appears in any API response, page, stream or the server\'s stderr', T, async () => {
    const f = await fake();
    // one success, one refusal that makes the server log a failure
    f.enqueue(streamReply(['fine']));
    // a server that quotes the key it was sent back in its error (some do)
    f.enqueue(httpError(401, { error: { message: `Incorrect API key provided: ${SECRET}`, type: 'invalid_request_error' } }));
    const keyed = await oaiBot(srv, f.baseUrl, { api_key_env: KEY_VAR, persona: 'p' });
    const chat = await createChat(srv.url, 'secret', { bots: [keyed.id] });
    const js = await stream(srv, chat.id);
    const hs = await stream(srv, chat.id, htmlStreamPath(chat.id));
    await postAndSettle(srv.url, js, chat.id, 'first');
    await postAndSettle(srv.url, js, chat.id, 'second');
    const rs = replies(evs(js));
    assert.deepEqual(rs.map((r) => r.update.state), ['complete', 'failed']);
    assert.equal(rs[1].update.error, 'the model server answered 401: Incorrect API key provided: ***');
    assert.equal(f.requests[1].headers.authorization, `Bearer ${SECRET}`);

    const texts = [['JSON stream', js.text], ['HTML stream', hs.text]];
    for (const p of ['/api/v1/bots', `/api/v1/bots/${keyed.id}`, `/api/v1/chats/${chat.id}`, `/api/v1/chats/${chat.id}/messages`, '/api/v1/chats', '/', '/bots', `/chats/${chat.id}`, '/metrics', '/healthz']) {
      const r = await api(srv.url, 'GET', p);
      texts.push([`GET ${p} (${r.status})`, r.text]);
    }
    await sleep(200);
    texts.push(['stderr', srv.stderr()], ['stdout', srv.stdout()]);
    for (const [what, t] of texts) {
      assert.ok(!t.includes(SECRET), `the key appears in ${what}`);
      assert.ok(!t.includes(SECRET.slice(3, 20)), `part of the key appears in ${what}`);
    }
  });
});

describe('long keys', () => {
  // the shown error is cut to about 100 bytes: the key is hidden before, never cut in two
  test('a long key quoted back by the server, in its answer or inside the stream, shows as *** and no part of it anywhere', T, async () => {
    const f = await fake();
    f.enqueue(httpError(401, { error: { message: `Incorrect API key provided: ${LONG_SECRET}` } }));
    f.enqueue(rawStream(`data: {"error":{"message":"bad key ${LONG_SECRET} given"}}\n\n`));
    const bot = await oaiBot(srv, f.baseUrl, { api_key_env: LONG_VAR });
    const a = await runFlow(srv, [bot]);
    const b = await runFlow(srv, [bot]);
    assert.equal(a.rs[0].update.error, 'the model server answered 401: Incorrect API key provided: ***');
    assert.equal(b.rs[0].update.error, 'model server error: bad key *** given');
    await sleep(200);
    for (const [what, t] of [['the chat', JSON.stringify([a.list, b.list])], ['stderr', srv.stderr()]])
      assert.ok(!t.includes(LONG_SECRET.slice(0, 24)), `a part of the key appears in ${what}`);
  });
});

describe('failures', () => {
  test('HTTP 500 {"error":{"message":"boom"}} → reply failed with a reason naming 500 and boom, visible in the chat', T, async () => {
    const f = await fake();
    f.enqueue(httpError(500, { error: { message: 'boom', type: 'server_error' } }));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs, chat } = await runFlow(srv, [bot]);
    assertFailed(rs[0], '500');
    assert.match(rs[0].update.error, /500/);
    assert.match(rs[0].update.error, /boom/);
    const stored = (await getChat(srv.url, chat.id)).messages.find((m) => m.seq === rs[0].seq);
    assert.equal(stored.state, 'failed');
    assert.equal(stored.error, rs[0].update.error);
    const page = await api(srv.url, 'GET', `/chats/${chat.id}`);
    assert.ok(page.text.includes('boom'), 'the reason shows on the chat page');
  });

  test('HTTP 429 with a non-JSON body → failed, reason names 429', T, async () => {
    const f = await fake();
    f.enqueue((req, res) => {
      res.writeHead(429, { 'Content-Type': 'text/plain' });
      res.end('slow down');
    });
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [bot]);
    assertFailed(rs[0], '429');
    assert.match(rs[0].update.error, /429/);
  });

  test('garbage in the stream (data line that is not JSON) → failed', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"delta":{"content":"ok "}}]}\n\ndata: {this is not json at all\n\ndata: [DONE]\n\n'));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [bot]);
    assertFailed(rs[0], 'garbage');
    assert.equal(rs[0].update.body, 'ok ', 'a failed reply keeps the text it had before the garbage (SPEC §2)');
  });

  test('a 200 answer that is not an event stream at all → failed', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('<html><body>Welcome to nginx!</body></html>\n'));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [bot]);
    assertFailed(rs[0], 'html');
  });

  test('an error object inside the stream → failed with its message', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"index":0,"delta":{"content":"Hal"}}]}\n\ndata: {"error":{"message":"model overloaded"}}\n\n'));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [bot]);
    assertFailed(rs[0], 'in-stream error');
    assert.match(rs[0].update.error, /overloaded/);
  });

  test('llama.cpp\'s "error:" line (the prompt over its context), then [DONE] → failed with its message, not an empty complete reply', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('error: {"code":400,"message":"the request exceeds the available context size, try increasing it","type":"exceed_context_size_error"}\n\ndata: [DONE]\n\n'));
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertFailed(rs[0], 'error line');
    assert.match(rs[0].update.error, /exceeds the available context size/);
  });

  test('"event: error" with its data → failed with its message', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"delta":{"content":"Hal"}}]}\n\nevent: error\ndata: {"message":"upstream overloaded"}\n\n'));
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertFailed(rs[0], 'error event');
    assert.match(rs[0].update.error, /upstream overloaded/);
    assert.equal(rs[0].update.body, 'Hal');
  });

  test('a stream with no text at all → failed "answered nothing"; only reasoning until max_tokens → failed saying so', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"delta":{"role":"assistant"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\ndata: [DONE]\n\n'));
    f.enqueue(rawStream('data: {"choices":[{"delta":{"reasoning_content":"Let me think about"}}]}\n\ndata: {"choices":[{"delta":{"reasoning_content":" this at length"}}]}\n\ndata: {"choices":[{"delta":{},"finish_reason":"length"}]}\n\ndata: [DONE]\n\n'));
    const bot = await oaiBot(srv, f.baseUrl);
    const first = await runFlow(srv, [bot]);
    assertFailed(first.rs[0], 'nothing');
    assert.match(first.rs[0].update.error, /answered nothing/);
    const second = await runFlow(srv, [bot]);
    assertFailed(second.rs[0], 'reasoning only');
    assert.match(second.rs[0].update.error, /reasoned but wrote no answer before max_tokens ran out/);
    assert.equal(second.rs[0].update.body, '', 'reasoning is not shown as the answer');
  });

  test('a 200 JSON error instead of a stream → failed with its message; an old vLLM 404 {"object":"error","message"} → its message', T, async () => {
    const f = await fake();
    f.enqueue((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { message: 'model "foo" not found, try pulling it first' } }));
    });
    f.enqueue(httpError(404, { object: 'error', message: 'The model `foo` does not exist.', type: 'NotFoundError', code: 404 }));
    const bot = await oaiBot(srv, f.baseUrl);
    const first = await runFlow(srv, [bot]);
    assertFailed(first.rs[0], '200 JSON error');
    assert.match(first.rs[0].update.error, /model "foo" not found/);
    const second = await runFlow(srv, [bot]);
    assertFailed(second.rs[0], 'vLLM 404');
    assert.match(second.rs[0].update.error, /404: The model `foo` does not exist/);
  });

  test('the stream ends before [DONE] / finish → failed, keeping the text so far', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"index":0,"delta":{"role":"assistant"}}]}\n\ndata: {"choices":[{"index":0,"delta":{"content":"Partial "}}]}\n\n'));
    const bot = await oaiBot(srv, f.baseUrl);
    const { rs } = await runFlow(srv, [bot]);
    assertFailed(rs[0], 'cut stream');
    assert.equal(rs[0].update.body, 'Partial ', 'a failed reply keeps the text it had');
  });

  test('connection refused (base_url on a closed port) → failed quickly', T, async () => {
    const port = await freePort();
    const bot = await oaiBot(srv, `http://127.0.0.1:${port}/v1`);
    const t0 = Date.now();
    const { rs } = await runFlow(srv, [bot], 'anyone?', { timeout: 8000 });
    assertFailed(rs[0], 'refused');
    assert.ok(Date.now() - t0 < 5000, `failed within 5 s (took ${Date.now() - t0} ms)`);
    assert.equal(rs[0].update.body, '');
  });

  test('the flow goes on after a failure: next bots still reply, then idle', T, async () => {
    const f = await fake();
    f.enqueue(httpError(500, { error: { message: 'boom' } }));
    f.enqueue(streamReply(['second ', 'bot ', 'fine']));
    const broken = await oaiBot(srv, f.baseUrl);
    const good = await oaiBot(srv, f.baseUrl);
    const port = await freePort();
    const dead = await oaiBot(srv, `http://127.0.0.1:${port}`);
    const echo = await createBot(srv, { name: uname('Echo'), backend: 'echo' });
    const { rs, list } = await runFlow(srv, [broken, good, dead, echo], 'go on');
    assert.deepEqual(rs.map((r) => [r.author, r.update.state]), [
      [broken.name, 'failed'],
      [good.name, 'complete'],
      [dead.name, 'failed'],
      [echo.name, 'complete'],
    ]);
    assert.equal(rs[1].update.body, 'second bot fine');
    assert.equal(rs[3].update.body, 'go on');
    assert.deepEqual(list[list.length - 1].json, { state: 'idle', speaker: null, queue: [], auto_left: 0 });
  });
});

describe('what servers do that is not a failure', () => {
  test('"error": null beside a chunk is no error', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"delta":{"content":"fine"}}],"error":null}\n\n' +
      'data: {"choices":[{"delta":{},"finish_reason":"stop"}],"error":null}\n\ndata: [DONE]\n\n'));
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertComplete(rs[0], 'fine');
  });

  test('a reasoning model refusing "max_tokens", then "temperature" (400 with error.param): sent again with max_completion_tokens, then without temperature → complete', T, async () => {
    const f = await fake();
    const refuse = (param, message) => httpError(400, { error: { message, type: 'invalid_request_error', param, code: 'unsupported_parameter' } });
    f.enqueue(refuse('max_tokens', "Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' instead."));
    f.enqueue(refuse('temperature', "Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is supported."));
    f.enqueue(streamReply(['Thought ', 'through.']));
    const bot = await oaiBot(srv, f.baseUrl, { model: 'o-reasoner', max_tokens: 300 });
    const { rs } = await runFlow(srv, [bot]);
    assertComplete(rs[0], 'Thought through.');
    const [first, second, third] = (await f.waitRequests(3)).map((r) => r.body);
    assert.deepEqual([first.max_tokens, first.max_completion_tokens, first.temperature], [300, undefined, 0.7]);
    assert.deepEqual([second.max_tokens, second.max_completion_tokens, second.temperature], [undefined, 300, 0.7]);
    assert.deepEqual([third.max_tokens, third.max_completion_tokens, third.temperature], [undefined, 300, undefined]);
    assert.deepEqual(third.messages, first.messages, 'the same conversation');
  });

  test('a 429 with Retry-After: 1 → sent again a second later → complete; Retry-After: 120 → failed at once with the 429', T, async () => {
    const f = await fake();
    const busy = (after) => (req, res) => {
      const text = JSON.stringify({ error: { message: 'Rate limit reached, please retry', type: 'requests' } });
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': String(after), 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    f.enqueue(busy(1));
    f.enqueue(streamReply(['After ', 'waiting.']));
    const bot = await oaiBot(srv, f.baseUrl);
    const t0 = Date.now();
    const first = await runFlow(srv, [bot]);
    assertComplete(first.rs[0], 'After waiting.');
    assert.ok(Date.now() - t0 >= 900, `sent again after the wait asked (${Date.now() - t0} ms)`);
    f.enqueue(busy(120));
    const t1 = Date.now();
    const second = await runFlow(srv, [bot]);
    assertFailed(second.rs[0], 'a long Retry-After');
    assert.match(second.rs[0].update.error, /429: Rate limit reached/);
    assert.ok(Date.now() - t1 < 5000, 'not waited for');
    assert.equal(f.requests.length, 3);
  });

  test('a 400 refusing something else is not sent again', T, async () => {
    const f = await fake();
    f.enqueue(httpError(400, { error: { message: 'messages: too many', param: 'messages' } }));
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertFailed(rs[0], '400 messages');
    assert.match(rs[0].update.error, /400: messages: too many/);
    assert.equal(f.requests.length, 1);
  });

  test('a whole JSON answer instead of a stream (a proxy that ignores "stream") → complete with its text', T, async () => {
    const f = await fake();
    f.enqueue((req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8' });
      res.end(JSON.stringify({ id: 'x', object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: 'Whole at once, très bien.' }, finish_reason: 'stop' }] }));
    });
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertComplete(rs[0], 'Whole at once, très bien.');
  });

  test('a finish reason, the connection then kept open, no [DONE]: complete after 5 s of quiet, not the idle timeout (10 s here); a leading byte order mark is skipped', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('\ufeffdata: {"choices":[{"delta":{"content":"said "}}]}\n\n' +
      'data: {"choices":[{"delta":{"content":"it"},"finish_reason":"stop"}]}\n\n', { keepOpen: true }));
    const t0 = Date.now();
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertComplete(rs[0], 'said it');
    assert.ok(Date.now() - t0 < 8500, `ended after ${Date.now() - t0} ms`);
  });

  test('a finish reason on every chunk (as some proxies send) ends nothing early: the whole text', T, async () => {
    const f = await fake();
    const chunk = (text) => `data: {"choices":[{"delta":{"content":"${text}"},"finish_reason":"stop"}]}\n\n`;
    f.enqueue(rawStream(chunk('every ') + chunk('chunk ') + chunk('said stop') + 'data: [DONE]\n\n'));
    const { rs } = await runFlow(srv, [await oaiBot(srv, f.baseUrl)]);
    assertComplete(rs[0], 'every chunk said stop');
  });

  test('a reply whose last chunk said it was finished, the connection then kept open: complete, not a timeout', T, async () => {
    const f = await fake();
    f.enqueue(rawStream('data: {"choices":[{"delta":{"content":"all said"}}]}\n\n' +
      'data: {"choices":[{"delta":{},"finish_reason":"stop"}]}\n\n', { keepOpen: true }));
    const { rs } = await runFlow(quick, [await oaiBot(quick, f.baseUrl)]);
    assertComplete(rs[0], 'all said');
  });

  test('proxy variables in the server\'s environment are not used (their connections would escape the address check)', T, async () => {
    const model = await fake();
    model.setDefault(streamReply(['direct']));
    const proxy = await fake();
    proxy.setDefault(streamReply(['through the proxy']));
    const url = new URL(proxy.baseUrl);
    const proxied = `http://${url.host}`;
    await withServer({ env: { http_proxy: proxied, HTTP_PROXY: proxied, all_proxy: proxied, no_proxy: '' } }, async (s) => {
      const chat = await createChat(s.url, 'proxied', { bots: [(await oaiBot(s, model.baseUrl)).id] });
      const st = await openReadyStream(s.url, jsonStreamPath(chat.id));
      try {
        const rs = replies(await postAndSettle(s.url, st, chat.id, 'hello', 'Ada', 10000));
        assert.equal(rs[0].update.body, 'direct');
      } finally {
        st.close();
      }
    });
    assert.equal(proxy.requests.length, 0, 'the proxy saw nothing');
  });
});

describe('stalled model servers', () => {
  test('/stop ends a stalled reply as stopped with its text, the stream goes idle, the model connection is closed', T, async () => {
    const f = await fake();
    f.enqueue(stallAfter(['Partial ', 'answer']));
    const bot = await oaiBot(srv, f.baseUrl);
    const echo = await createBot(srv, { name: uname('Echo'), backend: 'echo' });
    const chat = await createChat(srv.url, 'stall', { bots: [bot.id, echo.id] });
    const s = await stream(srv, chat.id);
    const from = s.events.length;
    await postMessage(srv.url, chat.id, 'think hard');
    await s.waitFor(() => evs(s).slice(from).filter((e) => e.event === 'token').map((e) => e.json.delta).join('') === 'Partial answer', 5000, 'both deltas');
    await sleep(200); // still stalled
    assert.ok(!evs(s).slice(from).some((e) => e.event === 'message-update'), 'no update while stalled');
    const r = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/stop`);
    assert.equal(r.status, 202);
    const idle = await waitIdle(s, from, 3000);
    const rs = replies(evs(s).slice(from, idle + 1));
    assert.equal(rs.length, 1, 'the queued echo bot was dropped');
    assert.equal(rs[0].update.state, 'stopped');
    assert.equal(rs[0].update.body, 'Partial answer');
    await f.waitFor(() => f.requests[0].closed, 3000, 'the model request to be closed');
    await sleep(300);
    assert.equal(s.events.length, idle + 1, 'nothing after idle');
  });

  /**
   * On `quick`: the model bot (answered by `handler`), then `then` more bots; a post, its
   * first token, and once the flow is idle its replies and how long that took from the token.
   */
  async function stalledFlow(handler, title, then = []) {
    const f = await fake();
    f.enqueue(handler);
    const bot = await oaiBot(quick, f.baseUrl);
    const chat = await createChat(quick.url, title, { bots: [bot.id, ...then.map((b) => b.id)] });
    const s = await stream(quick, chat.id);
    const from = s.events.length;
    await postMessage(quick.url, chat.id, 'hello?');
    await s.waitFor(() => evs(s).slice(from).some((e) => e.event === 'token'), 5000, 'a token');
    const t0 = Date.now();
    const idle = await waitIdle(s, from, 8000);
    return { f, rs: replies(evs(s).slice(from, idle + 1)), waited: Date.now() - t0 };
  }

  /** The reply failed on the timeout, keeping its text so far. */
  function assertTimedOut(r, body, what) {
    assertFailed(r, what);
    assert.match(r.update.error, /time/i, `a timeout reason: ${r.update.error}`);
    assert.equal(r.update.body, body);
  }

  test('with --model-timeout 1 a stalled stream fails with a timeout reason within a few seconds, keeping its text', T, async () => {
    const echo = await createBot(quick, { name: uname('Echo'), backend: 'echo' });
    const { f, rs, waited } = await stalledFlow(stallAfter(['Half ']), 'timeout', [echo]);
    assertTimedOut(rs[0], 'Half ', 'timeout');
    // "a reply fails when the server sends nothing for --model-timeout seconds" (CONTRACT-NOTES)
    assert.ok(waited >= 500 && waited < 4000, `failed about 1 s after the last data (took ${waited} ms)`);
    // and the flow went on
    assert.equal(rs.length, 2);
    assert.equal(rs[1].update.state, 'complete');
    await f.waitFor(() => f.requests[0].closed, 3000, 'the model request to be closed');
  });

  test('keepalive comments hold a reply for a while (a queued model), then it goes on and completes', T, async () => {
    const f = await fake();
    f.enqueue(stallAfter(['Queued, '], { keepaliveMs: 200, thenMs: 2500, then: ['then answered.'] }));
    const bot = await oaiBot(quick, f.baseUrl);
    const chat = await createChat(quick.url, 'queued', { bots: [bot.id] });
    const s = await stream(quick, chat.id);
    const from = s.events.length;
    await postMessage(quick.url, chat.id, 'hello?');
    const idle = await waitIdle(s, from, 8000);
    assertComplete(replies(evs(s).slice(from, idle + 1))[0], 'Queued, then answered.');
  });

  test('keepalive comments alone do not hold a reply for ever: with --model-timeout 1 it fails after 5 s', T, async () => {
    const { f, rs, waited } = await stalledFlow(stallAfter(['Half '], { keepaliveMs: 200 }), 'keepalive');
    assertTimedOut(rs[0], 'Half ', 'keepalives only');
    // LIMIT_MODEL_KEEPALIVE_TIMES: keepalives hold it 5 --model-timeouts past the last chunk
    assert.ok(waited >= 3500 && waited < 8000, `failed about 5 s after the last chunk (took ${waited} ms)`);
    await f.waitFor(() => f.requests[0].closed, 3000, 'the model request to be closed');
  });

  test('a model server that accepts but never answers a header → failed by the timeout', T, async () => {
    const f = await fake();
    f.enqueue(() => {}); // read the request, never answer
    const bot = await oaiBot(quick, f.baseUrl);
    const chat = await createChat(quick.url, 'silent', { bots: [bot.id] });
    const s = await stream(quick, chat.id);
    const from = s.events.length;
    const t0 = Date.now();
    await postMessage(quick.url, chat.id, 'hello?');
    const idle = await waitIdle(s, from, 8000);
    const rs = replies(evs(s).slice(from, idle + 1));
    assertFailed(rs[0], 'silent');
    assert.match(rs[0].update.error, /time/i, rs[0].update.error);
    assert.ok(Date.now() - t0 < 4500, `failed about 1 s after the request (took ${Date.now() - t0} ms)`);
  });
});
