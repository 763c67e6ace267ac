// SPEC §2 (Bot), §3 (/api/v1/bots routes, 409/422), chats' "bots" field and the `chat`
// event when a bot the chat has is deleted or renamed.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  api,
  createBot as createBotOn,
  uniqueName as uname,
  createChat,
  getChat,
  openSnapshotStream,
  jsonStreamPath,
  parsedEvent,
  assertError,
  ID_RE,
  sleep,
  storedText,
} from './helpers.mjs';

const T = { timeout: 15000 };
const SECRET = 'sk-parley-test-SECRET-7f3a9c1e55d0';
const KEY_VAR = 'PARLEY_KEY_BOTS_API_TEST'; // only PARLEY_KEY_* may be named (SPEC §2)
const srv = useServer({ args: ['--typing-ms', '5', '--log-level', 'debug'], env: { [KEY_VAR]: SECRET } });

const BOT_KEYS = ['id', 'name', 'persona', 'backend', 'model', 'base_url', 'api_key_env', 'temperature', 'max_tokens', 'talkativeness'];

const createBot = (fields) => createBotOn(srv.url, fields);

async function listBots() {
  const r = await api(srv.url, 'GET', '/api/v1/bots');
  assert.equal(r.status, 200, r.text);
  assert.ok(Array.isArray(r.json.bots), `{"bots":[…]}: ${r.text}`);
  return r.json.bots;
}

const stream = async (chatId) => srv.track(await openSnapshotStream(srv.url, jsonStreamPath(chatId)));

function assertBotShape(b) {
  for (const k of BOT_KEYS) assert.ok(k in b, `Bot has "${k}": ${JSON.stringify(b)}`);
  assert.match(b.id, ID_RE);
  assert.equal(typeof b.name, 'string');
  assert.equal(typeof b.persona, 'string');
  assert.equal(typeof b.temperature, 'number');
  assert.ok(Number.isInteger(b.max_tokens));
  assert.equal(typeof b.talkativeness, 'number');
}

describe('create, list, get, patch, delete', () => {
  test('create with only name and backend → 201 Bot with the documented defaults', T, async () => {
    const name = uname('Echo');
    const b = await createBot({ name, backend: 'echo' });
    assertBotShape(b);
    assert.equal(b.name, name);
    assert.equal(b.backend, 'echo');
    assert.equal(b.persona, '');
    assert.equal(b.model, null);
    assert.equal(b.base_url, null);
    assert.equal(b.api_key_env, null);
    assert.equal(b.temperature, 0.7);
    assert.equal(b.max_tokens, 512);
    assert.equal(b.talkativeness, 0.5);
  });

  test('create with every field → all echoed back; list, get by id and by name agree', T, async () => {
    const name = uname('Oai');
    const fields = {
      name,
      persona: 'You are a pirate.\nSpeak like one — arr! "quoted" <tags>',
      backend: 'openai',
      model: 'llama-3.1-8b',
      base_url: 'http://127.0.0.1:9/v1',
      api_key_env: 'PARLEY_KEY_SOME_VAR',
      temperature: 1.25,
      max_tokens: 64,
      talkativeness: 0.9,
    };
    const b = await createBot(fields);
    assertBotShape(b);
    for (const [k, v] of Object.entries(fields)) assert.deepEqual(b[k], v, `field ${k}`);

    const listed = (await listBots()).find((x) => x.id === b.id);
    assert.deepEqual(listed, b, 'listed bot equals the created one');

    const byId = await api(srv.url, 'GET', `/api/v1/bots/${b.id}`);
    assert.equal(byId.status, 200, byId.text);
    assert.deepEqual(byId.json, b);
    const byName = await api(srv.url, 'GET', `/api/v1/bots/${encodeURIComponent(name)}`);
    assert.equal(byName.status, 200, `get by name: ${byName.text}`);
    assert.deepEqual(byName.json, b);
  });

  test('list holds every created bot exactly once', T, async () => {
    const made = [];
    for (let i = 0; i < 3; i++) made.push(await createBot({ name: uname('L'), backend: 'dice' }));
    const bots = await listBots();
    for (const m of made) assert.equal(bots.filter((x) => x.id === m.id).length, 1, `${m.name} listed once`);
    for (const b of bots) assertBotShape(b);
  });

  test('unknown bot: GET/PATCH/DELETE → 404 with detail', T, async () => {
    assertError(await api(srv.url, 'GET', '/api/v1/bots/zzzzzzzzzzzz'), 404, 'get');
    assertError(await api(srv.url, 'PATCH', '/api/v1/bots/zzzzzzzzzzzz', { persona: 'x' }), 404, 'patch');
    assertError(await api(srv.url, 'DELETE', '/api/v1/bots/zzzzzzzzzzzz'), 404, 'delete');
  });

  test('PATCH changes only the given fields (by id and by name) and GET shows the change', T, async () => {
    const b = await createBot({ name: uname('P'), backend: 'echo', persona: 'old', temperature: 0.2 });
    let r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { persona: 'new persona', temperature: 1.5, talkativeness: 0 });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.json, { ...b, persona: 'new persona', temperature: 1.5, talkativeness: 0 });
    r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.name}`, { max_tokens: 100, backend: 'eliza' });
    assert.equal(r.status, 200, `patch by name: ${r.text}`);
    assert.equal(r.json.max_tokens, 100);
    assert.equal(r.json.backend, 'eliza');
    assert.equal(r.json.persona, 'new persona');
    const newName = uname('Renamed');
    r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { name: newName });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.name, newName);
    assert.equal(r.json.id, b.id, 'id unchanged');
    const got = await api(srv.url, 'GET', `/api/v1/bots/${b.id}`);
    assert.deepEqual(got.json, r.json);
    assertError(await api(srv.url, 'GET', `/api/v1/bots/${b.name}`), 404, 'old name no longer resolves');
  });

  test('PATCH with an invalid field → 422 and nothing changes', T, async () => {
    const b = await createBot({ name: uname('Pv'), backend: 'echo', persona: 'keep me' });
    for (const body of [
      { persona: 'changed', temperature: 3 },
      { name: 'bad name' },
      { backend: 'gpt' },
      { backend: 'openai' }, // no base_url
      { talkativeness: -0.5 },
      { max_tokens: 0 },
    ]) {
      assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, body), 422, `patch ${JSON.stringify(body)}`);
    }
    const got = await api(srv.url, 'GET', `/api/v1/bots/${b.id}`);
    assert.deepEqual(got.json, b, 'bot unchanged after rejected patches');
    assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, '{"persona":'), 400, 'malformed JSON');
  });

  test('DELETE → 204; then GET 404, not listed, DELETE again 404; the name is free again', T, async () => {
    const b = await createBot({ name: uname('D'), backend: 'echo' });
    const r = await api(srv.url, 'DELETE', `/api/v1/bots/${b.id}`);
    assert.equal(r.status, 204, r.text);
    assert.equal(r.text, '', '204 has no body');
    assertError(await api(srv.url, 'GET', `/api/v1/bots/${b.id}`), 404, 'get after delete');
    assertError(await api(srv.url, 'GET', `/api/v1/bots/${b.name}`), 404, 'get by name after delete');
    assert.ok(!(await listBots()).some((x) => x.id === b.id), 'not listed');
    assertError(await api(srv.url, 'DELETE', `/api/v1/bots/${b.id}`), 404, 'second delete');
    const again = await createBot({ name: b.name, backend: 'dice' });
    assert.notEqual(again.id, b.id, 'a new bot with the freed name gets a new id');
  });

  test('DELETE by name works', T, async () => {
    const b = await createBot({ name: uname('Dn'), backend: 'echo' });
    const r = await api(srv.url, 'DELETE', `/api/v1/bots/${b.name}`);
    assert.equal(r.status, 204, r.text);
    assertError(await api(srv.url, 'GET', `/api/v1/bots/${b.id}`), 404);
  });
});

describe('validation', () => {
  test('duplicate name in any letter case → 409 (create and rename), nothing created', T, async () => {
    const base = uname('Dup');
    const b = await createBot({ name: base, backend: 'echo' });
    const countBefore = (await listBots()).length;
    for (const n of [base, base.toUpperCase(), base.toLowerCase(), base[0].toLowerCase() + base.slice(1).toUpperCase()]) {
      assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: n, backend: 'dice' }), 409, `create ${n}`);
    }
    assert.equal((await listBots()).length, countBefore, 'no bot created by a 409');
    const other = await createBot({ name: uname('Other'), backend: 'echo' });
    assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${other.id}`, { name: base.toUpperCase() }), 409, 'rename onto another bot\'s name');
    // renaming a bot to a different case of its own name is not a conflict
    const r = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { name: base.toUpperCase() });
    assert.equal(r.status, 200, `re-case own name: ${r.text}`);
    assert.equal(r.json.name, base.toUpperCase());
  });

  test('bad names → 422 naming "name"', T, async () => {
    const bad = ['', ' ', 'has space', 'a'.repeat(33), 'dot.name', '@at', 'ünï', 'semi;colon', 'new\nline', 'slash/x', 42, null, true, ['a']];
    for (const name of bad) {
      const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name, backend: 'echo' }), 422, `name ${JSON.stringify(name)}`);
      assert.match(e.detail, /name/, `detail names the field: ${e.detail}`);
    }
    const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { backend: 'echo' }), 422, 'missing name');
    assert.match(e.detail, /name/);
    // the edges that are fine
    const n32 = `${uname('L')}${'x'.repeat(40)}`.slice(0, 32);
    assert.equal((await createBot({ name: n32, backend: 'echo' })).name, n32, '32 characters is fine');
    await createBot({ name: uname('x_-'), backend: 'echo' });
    await createBot({ name: uname(''), backend: 'echo' }); // digits only
  });

  test('unknown or missing backend → 422 naming "backend"', T, async () => {
    for (const backend of ['gpt', 'OpenAI', 'ECHO', '', 3, null]) {
      const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: uname('Bk'), backend }), 422, `backend ${JSON.stringify(backend)}`);
      assert.match(e.detail, /backend/, e.detail);
    }
    const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: uname('Bk') }), 422, 'missing backend');
    assert.match(e.detail, /backend/);
  });

  test('openai without base_url (absent, null, or not a URL) → 422 naming "base_url"', T, async () => {
    for (const extra of [{}, { base_url: null }, { base_url: 'ftp://example.com' }, { base_url: 'not a url' }, { base_url: 5 }]) {
      const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: uname('Nb'), backend: 'openai', ...extra }), 422, `openai ${JSON.stringify(extra)}`);
      assert.match(e.detail, /base_url/, e.detail);
    }
    const ok = await createBot({ name: uname('Ok'), backend: 'openai', base_url: 'https://api.example.com/v1' });
    assert.equal(ok.base_url, 'https://api.example.com/v1');
    // clearing base_url of an openai bot is refused too
    assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${ok.id}`, { base_url: null }), 422, 'clear base_url');
  });

  test('temperature outside 0..2 (or not a number) → 422 naming "temperature"; edges 0 and 2 are fine', T, async () => {
    for (const temperature of [-0.01, 2.01, 100, '0.5', null, true]) {
      const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: uname('Tp'), backend: 'echo', temperature }), 422, `temperature ${JSON.stringify(temperature)}`);
      assert.match(e.detail, /temperature/, e.detail);
    }
    assert.equal((await createBot({ name: uname('T0'), backend: 'echo', temperature: 0 })).temperature, 0);
    assert.equal((await createBot({ name: uname('T2'), backend: 'echo', temperature: 2 })).temperature, 2);
  });

  test('talkativeness outside 0..1 and max_tokens not a positive integer → 422 naming the field', T, async () => {
    for (const talkativeness of [-0.1, 1.1, 'x']) {
      const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: uname('Tk'), backend: 'echo', talkativeness }), 422, `talkativeness ${talkativeness}`);
      assert.match(e.detail, /talkativeness/, e.detail);
    }
    for (const max_tokens of [0, -5, 1.5, '10']) {
      const e = assertError(await api(srv.url, 'POST', '/api/v1/bots', { name: uname('Mt'), backend: 'echo', max_tokens }), 422, `max_tokens ${max_tokens}`);
      assert.match(e.detail, /max_tokens/, e.detail);
    }
  });

  test('malformed JSON → 400; a non-object body → 400; nothing created', T, async () => {
    const before = (await listBots()).length;
    assertError(await api(srv.url, 'POST', '/api/v1/bots', '{"name": "x", '), 400, 'malformed');
    assertError(await api(srv.url, 'POST', '/api/v1/bots', '["name"]'), 400, 'array body');
    assert.equal((await listBots()).length, before);
  });
});

describe('API keys', () => {
  test('api_key_env names a variable; responses hold only the name; a literal api_key is never stored or echoed', T, async () => {
    const b = await createBot({
      name: uname('Keyed'),
      backend: 'openai',
      base_url: 'http://127.0.0.1:9/v1',
      api_key_env: KEY_VAR,
      api_key: SECRET, // not a Bot field: must be ignored, not stored
    });
    assert.equal(b.api_key_env, KEY_VAR);
    assert.ok(!('api_key' in b), 'no api_key field in a Bot');
    const chat = await createChat(srv.url, 'keys', { bots: [b.id] });
    const s = await stream(chat.id);
    const texts = [JSON.stringify(b)];
    for (const p of ['/api/v1/bots', `/api/v1/bots/${b.id}`, `/api/v1/bots/${b.name}`, `/api/v1/chats/${chat.id}`, '/api/v1/chats', '/', '/bots', `/chats/${chat.id}`, '/metrics']) {
      const r = await api(srv.url, 'GET', p);
      assert.equal(r.status, 200, `GET ${p}`);
      texts.push(r.text);
    }
    const pr = await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { persona: 'p', api_key: SECRET });
    assert.equal(pr.status, 200);
    texts.push(pr.text, s.text);
    for (const t of texts) assert.ok(!t.includes(SECRET), `the key appears in a response: ${t.slice(0, 300)}`);
    // an invalid variable name is refused, and so is any variable not meant as a key
    for (const bad of ['sk-not-a-var name', 'HOME', 'PATH', 'PARLEY_KEY_', 'parley_key_x', 'PARLEY_DB'])
      assert.match(assertError(await api(srv.url, 'PATCH', `/api/v1/bots/${b.id}`, { api_key_env: bad }), 422, `api_key_env ${bad}`).detail, /api_key_env/);
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${b.id}`)).json.api_key_env, KEY_VAR, 'unchanged by the refusals');
    // not stored in the database either (SQLite: the file and its WAL; PostgreSQL: its data)
    await sleep(100);
    assert.ok(!storedText(srv.db).includes(SECRET), `the key is stored in ${srv.db}`);
    assert.ok(!srv.stderr().includes(SECRET), 'the key appears on stderr');
  });
});

describe('bots and chats', () => {
  test('chats take bots by id or name, in the order given; an unknown bot → 422', T, async () => {
    const a = await createBot({ name: uname('Ca'), backend: 'echo' });
    const b = await createBot({ name: uname('Cb'), backend: 'dice' });
    const chat = await createChat(srv.url, 'with bots', { bots: [b.name, a.id] });
    assert.deepEqual(chat.bots, [{ id: b.id, name: b.name }, { id: a.id, name: a.name }]);
    const e = assertError(await api(srv.url, 'POST', '/api/v1/chats', { title: 'x', bots: [a.id, 'NoSuchBot999'] }), 422, 'unknown bot');
    assert.match(e.detail, /bots/, e.detail);
    assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${chat.id}`, { bots: ['zzzzzzzzzzzz'] }), 422, 'patch unknown bot');
    assert.deepEqual((await getChat(srv.url, chat.id)).bots, chat.bots, 'unchanged after a rejected patch');
  });

  test('deleting a bot removes it from its chats, whose streams get a `chat` event', T, async () => {
    const a = await createBot({ name: uname('Da'), backend: 'echo' });
    const b = await createBot({ name: uname('Db'), backend: 'echo' });
    const c1 = await createChat(srv.url, 'has a and b', { bots: [a.id, b.id] });
    const c2 = await createChat(srv.url, 'has a only', { bots: [a.id] });
    const c3 = await createChat(srv.url, 'has b only', { bots: [b.id] });
    const s1 = await stream(c1.id);
    const s2 = await stream(c2.id);
    const s3 = await stream(c3.id);
    const r = await api(srv.url, 'DELETE', `/api/v1/bots/${a.id}`);
    assert.equal(r.status, 204, r.text);

    for (const [s, chat, left] of [[s1, c1, [{ id: b.id, name: b.name }]], [s2, c2, []]]) {
      await s.waitFor(2, 3000);
      const ev = parsedEvent(s.events[1]);
      assert.equal(ev.event, 'chat', `${chat.title}: a chat event`);
      assert.match(ev.id || '', /^\d+$/, 'chat event is durable');
      assert.equal(ev.json.id, chat.id);
      assert.deepEqual(ev.json.bots, left, `${chat.title}: bots after delete`);
      assert.deepEqual((await getChat(srv.url, chat.id)).bots, left, `${chat.title}: GET shows the bots left`);
    }
    await sleep(300);
    assert.equal(s3.events.length, 1, 'a chat without the bot gets no event');
    // the chat still works: posting in c2 (no bots now) is fine
    const p = await api(srv.url, 'POST', `/api/v1/chats/${c2.id}/messages`, { author: 'Ada', body: 'anyone?' });
    assert.equal(p.status, 201);
    // the deleted bot is no longer a bot of the chat
    assertError(await api(srv.url, 'POST', `/api/v1/chats/${c1.id}/turn`, { bot: a.id }), 422, '/turn for the deleted bot');
  });

  test('renaming a bot shows the new name in its chats (chat event and GET)', T, async () => {
    const a = await createBot({ name: uname('Rn'), backend: 'echo' });
    const chat = await createChat(srv.url, 'rename', { bots: [a.id] });
    const s = await stream(chat.id);
    const newName = uname('Rn');
    assert.equal((await api(srv.url, 'PATCH', `/api/v1/bots/${a.id}`, { name: newName })).status, 200);
    await s.waitFor(2, 3000);
    const ev = parsedEvent(s.events[1]);
    assert.equal(ev.event, 'chat');
    assert.deepEqual(ev.json.bots, [{ id: a.id, name: newName }]);
    assert.deepEqual((await getChat(srv.url, chat.id)).bots, [{ id: a.id, name: newName }]);
  });
});
