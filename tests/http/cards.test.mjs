// SPEC §8 character cards, as CONTRACT-NOTES "Character cards" chooses them:
// POST /api/v1/bots/import (Character Card V2 JSON, or a PNG carrying it base64-encoded in a
// `chara` tEXt chunk), GET /api/v1/bots/{id}/card (the V2 JSON as a download), and hostile
// input: every refusal a 4xx that creates nothing and leaves the server up.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import zlib from 'node:zlib';
import { useServer, assertError, rawRequest, assertEscaped, uniqueName } from './helpers.mjs';
import { useAccountsServer, admin, newUser } from './account_helpers.mjs';
import { on } from './control_helpers.mjs';

const T = { timeout: 20000 };
const srv = useServer({ args: ['--typing-ms', '2'] });
const acc = useAccountsServer();
const N = on(srv);

// ---------------------------------------------------------------------------
// A tiny PNG encoder: signature, IHDR, IDAT (zlib), optional tEXt chunks, IEND.

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * A PNG of width × height (8-bit grayscale, all black) with tEXt chunks `text` ([keyword, value]
 * pairs) after IDAT (where SillyTavern writes `chara`), or before it with textFirst.
 */
function makePng({ width = 1, height = 1, text = [], textFirst = false } = {}) {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // grayscale
  const raw = Buffer.alloc(height * (width + 1)); // each row: filter byte 0, then the pixels
  const idat = chunk('IDAT', zlib.deflateSync(raw));
  const texts = text.map(([k, v]) => chunk('tEXt', Buffer.concat([Buffer.from(k, 'latin1'), Buffer.from([0]), Buffer.from(v, 'latin1')])));
  return Buffer.concat([SIGNATURE, chunk('IHDR', ihdr), ...(textFirst ? texts : []), idat, ...(textFirst ? [] : texts), chunk('IEND', Buffer.alloc(0))]);
}

const b64 = (obj) => Buffer.from(JSON.stringify(obj), 'utf8').toString('base64');
const cardPng = (card, opts = {}) => makePng({ ...opts, text: [['chara', b64(card)]] });

/** Offset of the data of the first chunk of `type` in png. */
function chunkDataOffset(png, type) {
  let off = 8;
  while (off < png.length) {
    const len = png.readUInt32BE(off);
    if (png.toString('latin1', off + 4, off + 8) === type) return { data: off + 8, len };
    off += 12 + len;
  }
  throw new Error(`no ${type} chunk`);
}

// ---------------------------------------------------------------------------

function v2(data) {
  return { spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'X', description: '', personality: '', scenario: '', first_mes: '', mes_example: '', ...data } };
}

let seq = 0;
/** A full card with a fresh name (a space in it, to be sanitized). */
function fullCard(extra = {}) {
  seq += 1;
  return v2({
    name: `Seraphina Vale${seq}`,
    description: 'A guardian of the forest glade.\nKind, but wary.',
    personality: 'gentle, protective',
    scenario: 'You wake up in her cottage.',
    first_mes: 'Hello {{user}}, I am {{char}}.',
    mes_example: '<START>\n{{user}}: Hi\n{{char}}: Welcome.',
    system_prompt: 'Stay in character.',
    creator_notes: 'not part of the persona',
    tags: ['fantasy'],
    extensions: { depth_prompt: { prompt: 'x', depth: 4 } },
    ...extra,
  });
}

const sanitized = (card) => card.data.name.replace(/[^A-Za-z0-9_-]+/g, '_').slice(0, 32);

// The persona: the non-empty of system_prompt, description, "Personality: …", "Scenario: …" and
// "Example dialogue:" (then a line break: an example is several lines), trimmed, blank lines between.
const personaOf = (d) => [d.system_prompt, d.description, d.personality && `Personality: ${d.personality}`, d.scenario && `Scenario: ${d.scenario}`, d.mes_example && `Example dialogue:\n${d.mes_example}`]
  .filter((x) => x)
  .join('\n\n');

const importJson = (body, query = '') => N.api('POST', `/api/v1/bots/import${query}`, typeof body === 'string' ? body : JSON.stringify(body), { headers: { 'Content-Type': 'application/json' } });
const importPng = (buf, query = '') => N.api('POST', `/api/v1/bots/import${query}`, buf, { headers: { 'Content-Type': 'image/png' } });
const botIds = async () => (await N.ok('GET', '/api/v1/bots')).bots.map((b) => b.id).sort();

/** Assert the Bot made from `card`. */
function assertBotFrom(bot, card, backend = 'echo') {
  assert.match(bot.id, /^[a-z0-9]{12}$/);
  assert.equal(bot.name, sanitized(card));
  assert.equal(bot.backend, backend);
  assert.equal(bot.persona, personaOf(card.data), 'persona: system prompt, description, Personality, Scenario, Example dialogue');
  assert.ok(bot.persona.includes(card.data.description), 'the persona holds the description');
  assert.equal(bot.greeting, card.data.first_mes, 'greeting = first_mes, macros as written');
  assert.equal(bot.model, null);
  assert.equal(bot.base_url, null);
  assert.equal(bot.api_key_env, null);
}

// ---------------------------------------------------------------------------

describe('import', () => {
  test('V2 JSON → 201 Bot: name sanitized, backend echo, persona from the card, greeting = first_mes; it greets a new chat', T, async () => {
    const card = fullCard();
    const r = await importJson(card);
    assert.equal(r.status, 201, r.text);
    assertBotFrom(r.json, card);
    assert.equal(r.json.name, `Seraphina_Vale${seq}`);
    assert.deepEqual(await N.ok('GET', `/api/v1/bots/${r.json.id}`), r.json, 'GET the bot');
    const chat = await N.chat('carded', [r.json]);
    const [m] = await N.messages(chat.id);
    assert.equal(m.kind, 'bot');
    assert.equal(m.body, `Hello everyone, I am ${r.json.name}.`, 'the greeting with its macros replaced');
  });

  test('a card with only a name and a description: the persona is the description; ?backend=eliza', T, async () => {
    const card = v2({ name: uniqueName('Plain'), description: 'Just a description.' });
    const r = await importJson(card, '?backend=eliza');
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.backend, 'eliza');
    assert.equal(r.json.persona, 'Just a description.');
    assert.equal(r.json.greeting, '');
  });

  test('V1 card (fields at the top level) → 201', T, async () => {
    const name = uniqueName('Vone');
    const r = await importJson({ name, description: 'Old style card.', first_mes: 'Hey {{user}}', personality: '', scenario: '', mes_example: '' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, name);
    assert.equal(r.json.persona, 'Old style card.');
    assert.equal(r.json.greeting, 'Hey {{user}}');
  });

  test('PNG with a chara tEXt chunk after IDAT (and before it) → 201 with the same bot as from the JSON', T, async () => {
    for (const textFirst of [false, true]) {
      const card = fullCard();
      const png = cardPng(card, { textFirst });
      const r = await importPng(png);
      assert.equal(r.status, 201, `chara ${textFirst ? 'before' : 'after'} IDAT: ${r.text}`);
      assertBotFrom(r.json, card);
    }
  });

  test('names: runs of other characters become one _ (none at the ends), cut to 32; a taken name (any case) → 409', T, async () => {
    const r1 = await importJson(v2({ name: `  Dr. Who?!  ${seq++}`, description: 'd' }));
    assert.equal(r1.status, 201, r1.text);
    assert.equal(r1.json.name, `Dr_Who_${seq - 1}`, 'no _ at either end');
    const long = `${'Abcdefghij'.repeat(5)}${seq++}`;
    const r2 = await importJson(v2({ name: long, description: 'd' }));
    assert.equal(r2.status, 201, r2.text);
    assert.equal(r2.json.name, long.slice(0, 32));
    const card = fullCard();
    assert.equal((await importJson(card)).status, 201);
    const before = await botIds();
    assertError(await importJson(card), 409, 'the same card again');
    const lower = JSON.parse(JSON.stringify(card));
    lower.data.name = lower.data.name.toLowerCase();
    assertError(await importJson(lower), 409, 'the name in another case');
    assertError(await importPng(cardPng(card)), 409, 'the same card as a PNG');
    assert.deepEqual(await botIds(), before, 'nothing created');
  });

  test('a card between 64 KiB and 2 MiB is accepted (the one route allowed a bigger body)', T, async () => {
    const card = fullCard({ creator_notes: 'n'.repeat(300 * 1024) });
    const r = await importJson(card);
    assert.equal(r.status, 201, r.text.slice(0, 300));
    const big = cardPng(fullCard({ creator_notes: 'p'.repeat(200 * 1024) }));
    assert.ok(big.length > 64 * 1024);
    assert.equal((await importPng(big)).status, 201);
  });
});

describe('hostile cards', () => {
  test('refusals: each a 4xx with {"detail"}, nothing created, the server up', T, async () => {
    const before = await botIds();
    const good = fullCard();
    const png = cardPng(good);

    // JSON
    const invalid = await importJson('{"spec":"chara_card_v2","data":{"name":"Broken"');
    assert.ok([400, 422].includes(invalid.status), `invalid JSON: 400 or 422, got ${invalid.status}`);
    assertError(invalid, invalid.status, 'invalid JSON');
    let deep = { leaf: 'x' };
    for (let i = 0; i < 40; i++) deep = { a: deep };
    assertError(await importJson(v2({ name: uniqueName('Deep'), description: 'd', extensions: deep })), 422, 'JSON nested 40 deep');
    let deepArr = '"x"';
    for (let i = 0; i < 40; i++) deepArr = `[${deepArr}]`;
    assertError(await importJson(`{"spec":"chara_card_v2","spec_version":"2.0","data":{"name":"DeepArr","description":"d","tags":${deepArr}}}`), 422, 'arrays nested 40 deep');
    const noName = v2({ description: 'no name' });
    delete noName.data.name;
    assertError(await importJson(noName), 422, 'missing name');
    assertError(await importJson(v2({ name: '', description: 'd' })), 422, 'empty name');
    assertError(await importJson(v2({ name: 42 })), 422, 'name not a string');
    assertError(await importJson(v2({ name: uniqueName('Typed'), description: ['a', 'b'] })), 422, 'description not a string');
    assertError(await importJson(v2({ name: uniqueName('Typed'), first_mes: { x: 1 } })), 422, 'first_mes not a string');
    assertError(await importJson(v2({ name: uniqueName('Typed'), personality: 3.5 })), 422, 'personality not a string');
    assertError(await importJson({ spec: 'chara_card_v2', spec_version: '2.0', data: 'not an object' }), 422, 'data not an object');
    assertError(await importJson(fullCard(), '?backend=nonsense'), 422, 'unknown backend');

    // PNG
    const { data: at, len } = chunkDataOffset(png, 'tEXt');
    const flipped = Buffer.from(png);
    flipped[at + Math.floor(len / 2)] ^= 0x01; // one byte of the chara text: its CRC no longer matches
    assertError(await importPng(flipped), 422, 'PNG with a bad CRC in the chara chunk');
    const idat = chunkDataOffset(png, 'IDAT');
    const badIdat = Buffer.from(png);
    badIdat[idat.data] ^= 0x40;
    assertError(await importPng(badIdat), 422, 'PNG with a bad CRC in IDAT');
    assertError(await importPng(makePng({ text: [['chara', '!!!not base64***']] })), 422, 'bad base64');
    assertError(await importPng(makePng({ text: [['chara', Buffer.from('{"not":"closed"').toString('base64')]] })), 422, 'base64 of invalid JSON');
    assertError(await importPng(makePng({ text: [['Comment', 'hello']] })), 422, 'PNG without chara');
    assertError(await importPng(png.subarray(0, png.length - 12)), 422, 'PNG cut before IEND');
    assertError(await importPng(png.subarray(0, 20)), 422, 'PNG cut inside IHDR');
    assertError(await importPng(Buffer.from('GIF89a not a png at all')), 422, 'not a PNG');
    assertError(await importPng(cardPng(fullCard(), { width: 5000, height: 5000 })), 422, 'an image over 4096×4096');

    // types and sizes
    assertError(await N.api('POST', '/api/v1/bots/import', JSON.stringify(fullCard()), { headers: { 'Content-Type': 'text/plain' } }), 415, 'text/plain');
    assertError(await N.api('POST', '/api/v1/bots/import', new URLSearchParams({ card: JSON.stringify(fullCard()) }).toString(), { headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'a form');
    const huge = JSON.stringify(fullCard({ creator_notes: 'h'.repeat(2 * 1024 * 1024 + 10) }));
    const res = await rawRequest(srv.port, `POST /api/v1/bots/import HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(huge)}\r\nConnection: close\r\n\r\n${huge}`, { timeout: 10000 });
    assert.equal(res.status, 413, `over 2 MiB: ${res.body.slice(0, 200)}`);
    assert.equal(typeof JSON.parse(res.body).detail, 'string');
    const hugePng = cardPng(fullCard({ creator_notes: 'q'.repeat(1700 * 1024) })); // base64 makes it over 2 MiB
    assert.ok(hugePng.length > 2 * 1024 * 1024);
    const res2 = await rawRequest(srv.port, Buffer.concat([Buffer.from(`POST /api/v1/bots/import HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\nContent-Type: image/png\r\nContent-Length: ${hugePng.length}\r\nConnection: close\r\n\r\n`), hugePng]), { timeout: 10000 });
    assert.equal(res2.status, 413, 'a PNG over 2 MiB');

    assert.equal((await N.api('GET', '/healthz')).status, 200, 'the server is up');
    assert.deepEqual(await botIds(), before, 'no refusal created a bot');
    // and a good card still goes in afterwards
    assert.equal((await importPng(png)).status, 201);
  });

  // zTXt chunks are small and unpack big: libpng kept every one (up to 1,000), so a 150 KB
  // card could take 150 MiB. Only the first few chunks are kept now.
  test('a card with 150 compressed text chunks of 1 MiB each: imported, the server\'s memory barely moves', T, async () => {
    const hwm = () => Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${srv.proc.pid}/status`, 'utf8'))[1]) * 1024;
    const big = zlib.deflateSync(Buffer.alloc(1 << 20, 0x61));
    const ztxt = (i) => chunk('zTXt', Buffer.concat([Buffer.from(`junk${i}\0`, 'latin1'), Buffer.from([0]), big]));
    const good = cardPng(v2({ name: uniqueName('Bomb'), description: 'd' }), { textFirst: true });
    const iend = good.length - 12;
    const png = Buffer.concat([good.subarray(0, iend), ...Array.from({ length: 150 }, (_, i) => ztxt(i)), good.subarray(iend)]);
    const before = hwm();
    const r = await importPng(png);
    assert.equal(r.status, 201, r.text);
    const grew = hwm() - before;
    assert.ok(grew < 48 * 1048576, `peak memory grew by ${(grew / 1048576).toFixed(0)} MiB`);
  });

  test('HTML in the fields is kept as text in the JSON and never raw on the bots page', T, async () => {
    const card = v2({
      name: `Evil <b>Bot</b> ${seq++}`,
      description: '<script>alert(1)</script> in the description',
      first_mes: '<img src=x onerror=alert(2)> hi',
    });
    const r = await importJson(card);
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.name, `Evil_b_Bot_b_${seq - 1}`);
    assert.equal(r.json.persona, '<script>alert(1)</script> in the description', 'kept as written in the JSON');
    assert.equal(r.json.greeting, '<img src=x onerror=alert(2)> hi');
    const page = await fetch(`${srv.url}/bots`);
    assert.equal(page.status, 200);
    const html = await page.text();
    assert.ok(html.includes(r.json.name), 'the bot is on the page');
    assertEscaped(html, '<script>alert(1)</script>', 'the description');
    assert.ok(!html.includes('<img src=x onerror=alert(2)>'), 'the greeting is never raw on the page');
  });
});

describe('export', () => {
  test('GET /api/v1/bots/{id}/card → 200 V2 JSON as a download; imported again (after a rename, then after deletion) it gives the same persona and greeting', T, async () => {
    const card = fullCard();
    const bot = (await importJson(card)).json;
    for (const ref of [bot.id, bot.name]) {
      const r = await fetch(`${srv.url}/api/v1/bots/${ref}/card`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') || '', /^application\/json/);
      assert.match(r.headers.get('content-disposition') || '', /^attachment\b/i, 'a download');
      const out = await r.json();
      assert.equal(out.spec, 'chara_card_v2');
      assert.equal(out.spec_version, '2.0');
      assert.equal(out.data.name, bot.name);
      assert.equal(out.data.description, bot.persona, 'description = persona');
      assert.equal(out.data.first_mes, bot.greeting, 'first_mes = greeting');
    }
    assertError(await N.api('GET', '/api/v1/bots/zzzzzzzzzzzz/card'), 404, 'unknown bot');
    const exported = await (await fetch(`${srv.url}/api/v1/bots/${bot.id}/card`)).json();

    // rename the original, import the export: same name, persona and greeting
    await N.ok('PATCH', `/api/v1/bots/${bot.id}`, { name: `${bot.name}_old` });
    const again = await importJson(exported);
    assert.equal(again.status, 201, again.text);
    assert.notEqual(again.json.id, bot.id);
    assert.equal(again.json.name, bot.name);
    assert.equal(again.json.persona, bot.persona);
    assert.equal(again.json.greeting, bot.greeting);
    // delete both, import once more
    assert.equal((await N.api('DELETE', `/api/v1/bots/${again.json.id}`)).status, 204);
    assert.equal((await N.api('DELETE', `/api/v1/bots/${bot.id}`)).status, 204);
    const third = await importJson(exported);
    assert.equal(third.status, 201, third.text);
    assert.equal(third.json.persona, bot.persona);
    assert.equal(third.json.greeting, bot.greeting);
    // and as a PNG
    await N.ok('PATCH', `/api/v1/bots/${third.json.id}`, { name: `${bot.name}_3` });
    const fromPng = await importPng(makePng({ text: [['chara', b64(exported)]] }));
    assert.equal(fromPng.status, 201, fromPng.text);
    assert.equal(fromPng.json.persona, bot.persona);
  });
});

describe('with accounts', () => {
  test('import needs a session; pointing the bot at a model server is for admins (403 otherwise)', T, async () => {
    const adm = await admin(acc.url);
    const bob = await newUser(adm);
    const card = v2({ name: uniqueName('AccCard'), description: 'd' });
    const anon = await fetch(`${acc.url}/api/v1/bots/import`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(card) });
    assert.equal(anon.status, 401);
    const q = `?backend=openai&base_url=${encodeURIComponent('http://127.0.0.1:9/v1')}`;
    assertError(await bob.api('POST', `/api/v1/bots/import${q}`, card), 403, 'a non-admin with a model server');
    assert.ok(!(await bob.get('/api/v1/bots')).bots.some((b) => b.name === card.data.name), 'nothing created');
    const mine = await bob.api('POST', '/api/v1/bots/import', card);
    assert.equal(mine.status, 201, mine.text);
    assert.equal(mine.json.backend, 'echo');
    const card2 = v2({ name: uniqueName('AccCard'), description: 'd' });
    const byAdmin = await adm.api('POST', `/api/v1/bots/import${q}`, card2);
    assert.equal(byAdmin.status, 201, byAdmin.text);
    assert.equal(byAdmin.json.backend, 'openai');
    assert.equal(byAdmin.json.base_url, 'http://127.0.0.1:9/v1');
  });
});
