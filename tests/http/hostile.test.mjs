// Hostile input: malformed HTTP framing, malformed JSON, oversized fields, slowloris.
// SPEC §3 (errors: "No bad input crashes the server, leaks memory, or leaves partial data
// behind"), CONTRACT-NOTES (HTTP limits, validation), --request-timeout.
//
// One server (--request-timeout 2) serves every case. A "witness" chat has a JSON event
// stream open for the whole file; after each case we prove that the server still serves
// others (GET /healthz 200, a new message reaches the witness stream) and that nothing
// changed (same chats, same messages in the target chat) unless the case says otherwise.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  useServer,
  api,
  createChat,
  postMessage,
  postAndSee,
  openSnapshotStream,
  jsonStreamPath,
  waitForEvents,
  assertError,
  sleep,
} from './helpers.mjs';

const T = { timeout: 20000 };
const REQUEST_TIMEOUT_S = 2;

// After the file: exit 0 after SIGTERM, no sanitizer report.
const srv = useServer({ args: ['--request-timeout', String(REQUEST_TIMEOUT_S)] });
let witness; // chat whose stream stays open
let witnessStream;
let target; // chat the hostile requests aim at
let P; // target's messages path
let marker = 0;

before(async () => {
  await srv.ready();
  witness = await createChat(srv.url, 'Witness');
  target = await createChat(srv.url, 'Target');
  P = `/api/v1/chats/${target.id}/messages`;
  await postMessage(srv.url, target.id, 'already here', 'Ada');
  witnessStream = srv.track(await openSnapshotStream(srv.url, jsonStreamPath(witness.id)));
});

// ---------------------------------------------------------------------------
// helpers

/** What must not change: the chat list and the target chat's messages. */
async function state() {
  const chats = await api(srv.url, 'GET', '/api/v1/chats');
  assert.equal(chats.status, 200);
  const msgs = await api(srv.url, 'GET', `${P}?limit=500`);
  assert.equal(msgs.status, 200);
  return {
    chats: chats.json.chats.map((c) => ({ id: c.id, title: c.title, last_event_id: c.last_event_id })),
    messages: msgs.json.messages,
  };
}

/**
 * The server still serves others: /healthz 200, and a message posted to the witness
 * chat reaches the witness stream that was open all along. Then the state equals
 * `before` (plus `addedMessages` new target messages, returned for inspection).
 */
async function assertHealthyAndUnchanged(before, { addedMessages = 0 } = {}) {
  const h = await api(srv.url, 'GET', '/healthz');
  assert.equal(h.status, 200, `healthz after the case: ${h.status} ${h.text}`);
  assert.deepEqual(h.json, { status: 'ok' });

  assert.ok(!witnessStream.ended, `the witness stream ended: ${witnessStream.error}`);
  marker += 1;
  await postAndSee(srv.url, witnessStream, witness.id, `witness ping ${marker}`, 'Witness', 3000);

  const now = await state();
  // The witness chat's last_event_id moved (we just posted there); compare the rest.
  // The target's moves by one `message` event per added message.
  const strip = (s, added) =>
    s.chats.map((c) =>
      c.id === witness.id ? { ...c, last_event_id: 'x' } : c.id === target.id ? { ...c, last_event_id: c.last_event_id + added } : c,
    );
  assert.deepEqual(strip(now, 0), strip(before, addedMessages), 'chat list changed');
  assert.equal(
    now.messages.length,
    before.messages.length + addedMessages,
    `target chat: expected ${before.messages.length + addedMessages} messages, found ${now.messages.length}: ${JSON.stringify(now.messages.slice(before.messages.length)).slice(0, 800)}`,
  );
  assert.deepEqual(now.messages.slice(0, before.messages.length), before.messages, 'earlier target messages changed');
  return now.messages.slice(before.messages.length);
}

/**
 * Write `chunks` (strings/Buffers) to a fresh connection, optionally half-closing our
 * side afterwards, and collect whatever comes back until the server closes or
 * `timeout` ms pass. Returns {data (Buffer), closed, ms (connect → close), status}.
 */
function exchange(chunks, { end = false, timeout = 5000 } = {}) {
  return new Promise((resolve) => {
    const sock = srv.track(net.connect(srv.port, '127.0.0.1'));
    let data = Buffer.alloc(0);
    let t0;
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      const text = data.toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
      resolve({ data, text, closed, ms: Date.now() - t0, status: m ? Number(m[1]) : null });
    };
    const timer = setTimeout(() => finish(false), timeout);
    sock.on('connect', () => {
      t0 = Date.now();
      for (const c of [].concat(chunks)) sock.write(c);
      if (end) sock.end();
    });
    sock.on('data', (d) => (data = Buffer.concat([data, d])));
    sock.on('error', () => {});
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
  });
}

const JSON_HDRS = 'Host: 127.0.0.1\r\nContent-Type: application/json\r\n';
const GOOD = '{"author":"Mallory","body":"smuggled?"}';

/** A response exists and its status is `status`. */
function assertStatus(r, what, status) {
  assert.ok(r.status !== null, `${what}: no response at all; got ${JSON.stringify(r.text.slice(0, 300))}`);
  assert.equal(r.status, status, `${what}: expected ${status}, got ${r.status}: ${JSON.stringify(r.text.slice(0, 300))}`);
}

// ---------------------------------------------------------------------------
// Malformed HTTP

test('garbage bytes get a 400 (or a close), nothing else happens', T, async () => {
  const before = await state();
  const bytes = Buffer.from([0x00, 0xff, 0x13, 0x37, 0xc3, 0x28, 0x0d, 0x0a, 0x16, 0x03, 0x01, 0x0d, 0x0a, 0x0d, 0x0a, 0x41]);
  const r = await exchange([bytes], { timeout: 4000 });
  assert.ok(r.closed, `the server kept a garbage connection open for ${r.ms} ms`);
  if (r.status !== null) assert.equal(r.status, 400, `garbage: ${JSON.stringify(r.text.slice(0, 200))}`);
  // A TLS ClientHello-looking start, too.
  const tls = Buffer.from('16030100a5010000a10303', 'hex');
  const r2 = await exchange([tls, Buffer.alloc(200, 0x41), '\r\n\r\n'], { timeout: 4000 });
  assert.ok(r2.closed, 'TLS bytes: the server closed');
  if (r2.status !== null) assert.equal(r2.status, 400);
  await assertHealthyAndUnchanged(before);
});

test('an invalid request line is a 400', T, async () => {
  const before = await state();
  for (const line of ['GET\r\n\r\n', 'HELLO WORLD FOO BAR\r\n\r\n', 'GET /healthz HTTP/9.9.9\r\n\r\n', `POST ${P}\r\n${JSON_HDRS}\r\n`]) {
    const r = await exchange([line], { timeout: 4000 });
    assertStatus(r, `request line ${JSON.stringify(line)}`, 400);
  }
  await assertHealthyAndUnchanged(before);
});

test('a header line without a colon is a 400', T, async () => {
  const before = await state();
  const req = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}NoColonHere\r\nContent-Length: ${GOOD.length}\r\n\r\n${GOOD}`;
  const r = await exchange([req], { timeout: 4000 });
  assertStatus(r, 'header without colon', 400);
  await assertHealthyAndUnchanged(before);
});

test('a negative Content-Length is a 400', T, async () => {
  const before = await state();
  const r = await exchange([`POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: -5\r\n\r\n${GOOD}`], { timeout: 4000 });
  assertStatus(r, 'Content-Length: -5', 400);
  await assertHealthyAndUnchanged(before);
});

test('a huge Content-Length with a small body is refused at once (413), not waited for', T, async () => {
  const before = await state();
  const r = await exchange([`POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: 99999999999\r\n\r\n${GOOD}`], { timeout: 4000 });
  assertStatus(r, 'Content-Length: 99999999999', 413);
  assert.ok(r.ms < 1500, `the refusal took ${r.ms} ms (should not wait for the body)`);
  await assertHealthyAndUnchanged(before);
});

/**
 * Invalid framing (RFC 9112 §6.3): the request must not be processed. The server answers
 * 400 and then closes the connection at once, as the RFC asks: exactly one response, and
 * nothing left on the connection is read as a further request.
 */
function assertFramingRefused(r, what) {
  const answers = (r.text.match(/HTTP\/1\.[01] \d{3}/g) || []).length;
  assert.equal(r.status, 400, `${what}: expected 400, got ${r.status}: ${JSON.stringify(r.text.slice(0, 400))}`);
  assert.ok(answers <= 1, `${what}: ${answers} responses on one connection (the rest was read as another request): ${JSON.stringify(r.text.slice(0, 600))}`);
  assert.ok(r.closed, `${what}: the connection was still open ${r.ms} ms later; got ${JSON.stringify(r.text.slice(0, 300))}`);
}

test('two different Content-Length headers are refused (RFC 9112 §6.3), nothing stored', T, async () => {
  const before = await state();
  // Either value alone frames the request differently: a request-smuggling vector.
  const reqA = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: ${GOOD.length}\r\nContent-Length: 10\r\n\r\n${GOOD}`;
  const reqB = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: 10\r\nContent-Length: ${GOOD.length}\r\n\r\n${GOOD}`;
  // The body of the "long" reading holds a whole second request.
  const inner = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: ${GOOD.length}\r\n\r\n${GOOD}`;
  const outer = '{}' + inner;
  const reqC = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: 2\r\nContent-Length: ${outer.length}\r\n\r\n${outer}`;
  const [rA, rB, rC] = await Promise.all([reqA, reqB, reqC].map((q) => exchange([q], { timeout: 1500 })));
  assertFramingRefused(rA, `Content-Length ${GOOD.length} then 10`);
  assertFramingRefused(rB, `Content-Length 10 then ${GOOD.length}`);
  assertFramingRefused(rC, `Content-Length 2 then ${outer.length} (smuggled request in the body)`);
  await assertHealthyAndUnchanged(before);
});

test('a Content-Length with a sign (+N) is refused', T, async () => {
  const before = await state();
  const r = await exchange([`POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: +${GOOD.length}\r\n\r\n${GOOD}`], { timeout: 1500 });
  assertFramingRefused(r, `Content-Length: +${GOOD.length}`);
  await assertHealthyAndUnchanged(before);
});

test('Content-Length together with Transfer-Encoding: chunked is refused', T, async () => {
  const before = await state();
  const hex = GOOD.length.toString(16);
  const r = await exchange([`POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n${hex}\r\n${GOOD}\r\n0\r\n\r\n`], { timeout: 4000 });
  assertStatus(r, 'Content-Length + chunked', 400);
  await assertHealthyAndUnchanged(before);
});

test('bad chunked encoding is refused and stores nothing', T, async () => {
  const before = await state();
  const hex = GOOD.length.toString(16);
  const head = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Transfer-Encoding: chunked\r\n\r\n`;
  // non-hex chunk size
  const r1 = await exchange([`${head}zz\r\n${GOOD}\r\n0\r\n\r\n`], { timeout: 4000 });
  // chunk data not followed by CRLF
  const r2 = await exchange([`${head}${hex}\r\n${GOOD}XX0\r\n\r\n`], { timeout: 4000 });
  // a chunk size far larger than what follows, then we close our side
  const r3 = await exchange([`${head}ffff\r\n${GOOD}`], { end: true, timeout: 4000 });
  // a chunk size that overflows 64 bits
  const r4 = await exchange([`${head}fffffffffffffffffffff\r\n${GOOD}\r\n0\r\n\r\n`], { timeout: 4000 });
  assert.ok(r3.closed, 'short chunk then FIN: the server closed the connection');
  if (r3.status !== null) assert.equal(r3.status, 400, `short chunk then FIN answered ${r3.status}`);
  await assertHealthyAndUnchanged(before);
  // A corrupt chunked body is a malformed request: 400 (SPEC §3; 413 would claim a body
  // over the limit). Checked last, all three at once, so that the checks above still run.
  const got = { 'non-hex chunk size': r1, 'chunk without CRLF': r2, 'overflowing chunk size': r4 };
  for (const [what, r] of Object.entries(got)) assert.ok(r.status !== null, `${what}: no response at all; got ${JSON.stringify(r.text.slice(0, 300))}`);
  assert.deepEqual(
    Object.fromEntries(Object.entries(got).map(([what, r]) => [what, r.status])),
    { 'non-hex chunk size': 400, 'chunk without CRLF': 400, 'overflowing chunk size': 400 },
    'statuses of the corrupt chunked bodies',
  );
});

// ---------------------------------------------------------------------------
// Malformed or hostile JSON

test('invalid UTF-8 inside a JSON string is a 400, nothing stored', T, async () => {
  const before = await state();
  for (const bad of [[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80] /* surrogate */, [0xf8, 0x88, 0x80, 0x80, 0x80]]) {
    const body = Buffer.concat([Buffer.from('{"author":"Ada","body":"x'), Buffer.from(bad), Buffer.from('y"}')]);
    assertError(await api(srv.url, 'POST', P, body), 400, `invalid UTF-8, bytes ${Buffer.from(bad).toString('hex')}`);
  }
  // In the title of a new chat, too.
  const r = await api(srv.url, 'POST', '/api/v1/chats', Buffer.concat([Buffer.from('{"title":"a'), Buffer.from([0xff]), Buffer.from('"}')]));
  assert.equal(r.status, 400, `title with 0xff: ${r.status} ${r.text}`);
  await assertHealthyAndUnchanged(before);
});

test('"\\u0000" inside a JSON string is a 400, nothing stored', T, async () => {
  const before = await state();
  for (const raw of ['{"author":"Ada","body":"x\\u0000y"}', '{"author":"A\\u0000da","body":"xy"}']) {
    assertError(await api(srv.url, 'POST', P, raw), 400, `NUL: ${raw}`);
  }
  const r = await api(srv.url, 'POST', '/api/v1/chats', '{"title":"a\\u0000b"}');
  assert.equal(r.status, 400, `title with NUL: ${r.status} ${r.text}`);
  assert.equal(r.json.detail, 'malformed JSON: a string holds \\u0000 (NUL)', 'in words, not a parser flag');
  await assertHealthyAndUnchanged(before);
});

test('deeply nested JSON is refused quickly (400; 413 when over the body limit)', T, async () => {
  const before = await state();
  // Within the 64 KiB body limit: the parser's depth limit must answer 400.
  for (const [what, body] of [
    ['[ x 60000', '['.repeat(60000)],
    ['{"a": x 10000', '{"a":'.repeat(10000) + '1' + '}'.repeat(10000)],
    ['object holding 30000 [', '{"author":"Ada","body":' + '['.repeat(30000) + ']'.repeat(30000) + '}'],
  ]) {
    const t0 = Date.now();
    const r = await api(srv.url, 'POST', P, body);
    const ms = Date.now() - t0;
    assertError(r, 400, what);
    assert.ok(ms < 1000, `${what}: took ${ms} ms`);
  }
  // 100000 levels: over the body limit as well.
  const t0 = Date.now();
  const r = await api(srv.url, 'POST', P, '['.repeat(100000));
  assert.equal(r.status, 413, `[ x 100000: ${r.status} ${r.text}`);
  assert.ok(Date.now() - t0 < 1000, `[ x 100000 took ${Date.now() - t0} ms`);
  await assertHealthyAndUnchanged(before);
});

test('oversized fields are 422 naming the field', T, async () => {
  const before = await state();
  let r = await api(srv.url, 'POST', '/api/v1/chats', { title: 't'.repeat(10000) });
  assert.match(assertError(r, 422, 'title 10000').detail, /title/);
  r = await api(srv.url, 'PATCH', `/api/v1/chats/${target.id}`, { title: 't'.repeat(10000) });
  assert.match(assertError(r, 422, 'PATCH title 10000').detail, /title/);
  r = await api(srv.url, 'POST', P, { author: 'a'.repeat(65), body: 'hello' });
  assert.match(assertError(r, 422, 'author 65').detail, /author/);
  // 65 characters counted as characters, not bytes: 65 × "é" is 130 bytes.
  r = await api(srv.url, 'POST', P, { author: 'é'.repeat(65), body: 'hello' });
  assert.match(assertError(r, 422, 'author 65 é').detail, /author/);
  await assertHealthyAndUnchanged(before);
});

test('unknown fields are ignored: 201 and not echoed or stored', T, async () => {
  const before = await state();
  const r = await api(srv.url, 'POST', P, { author: 'Ada', body: 'with extras', zzz: 1, kind: 'system', seq: 999, state: 'failed', nested: { a: [1, 2] } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.kind, 'person', 'a client cannot choose kind');
  assert.equal(r.json.state, 'complete', 'a client cannot choose state');
  assert.notEqual(r.json.seq, 999, 'a client cannot choose seq');
  assert.ok(!('zzz' in r.json) && !('nested' in r.json), `unknown fields echoed: ${r.text}`);
  const c = await api(srv.url, 'POST', '/api/v1/chats', { title: 'Extra', color: 'red' });
  assert.equal(c.status, 201, c.text);
  assert.ok(!('color' in c.json), `unknown chat field echoed: ${c.text}`);
  assert.equal((await api(srv.url, 'DELETE', `/api/v1/chats/${c.json.id}`)).status, 204);
  const added = await assertHealthyAndUnchanged(before, { addedMessages: 1 });
  assert.deepEqual(added, [r.json], 'the stored message is the one answered');
  assert.ok(!('zzz' in added[0]));
});

test('a duplicate key is a 400', T, async () => {
  const before = await state();
  let r = await api(srv.url, 'POST', P, '{"author":"Ada","body":"one","body":"two"}');
  assertError(r, 400, 'duplicate body');
  r = await api(srv.url, 'POST', '/api/v1/chats', '{"title":"a","title":"b"}');
  assertError(r, 400, 'duplicate title');
  await assertHealthyAndUnchanged(before);
});

// ---------------------------------------------------------------------------
// Slow requests (--request-timeout 2)

/**
 * Open a connection and write `text` one byte every `every` ms, until the server closes
 * it (or `give` ms). Resolves {closedAfter (ms since the first byte, or null), sent, data}.
 */
function trickle(text, { every = 300, give = 6000, prefix = '' } = {}) {
  return new Promise((resolve) => {
    const sock = srv.track(net.connect(srv.port, '127.0.0.1'));
    let closed = false;
    let t0 = null;
    let sent = 0;
    let data = '';
    let timer = null;
    const finish = () => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      clearTimeout(giveUp);
      const closedAfter = Date.now() - t0;
      sock.destroy();
      resolve({ closedAfter, sent, data, gaveUp: false });
    };
    const giveUp = setTimeout(() => {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      sock.destroy();
      resolve({ closedAfter: null, sent, data, gaveUp: true });
    }, give);
    sock.on('data', (d) => (data += d.toString('latin1')));
    sock.on('error', () => finish());
    sock.on('end', () => finish());
    sock.on('close', () => finish());
    sock.on('connect', () => {
      t0 = Date.now();
      if (prefix) sock.write(prefix);
      const step = () => {
        if (closed || sent >= text.length) return;
        sock.write(text[sent]);
        sent += 1;
      };
      if (!prefix) step();
      timer = setInterval(step, every);
    });
  });
}

test('slowloris: headers trickled a byte every 300 ms are cut off ~2 s after the first byte', T, async () => {
  const before = await state();
  const r = await trickle('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ' + 'a'.repeat(200) + '\r\n\r\n');
  assert.ok(!r.gaveUp, `the server still held the connection after 6 s (${r.sent} bytes sent)`);
  assert.ok(r.closedAfter >= REQUEST_TIMEOUT_S * 1000 - 300, `cut off too early: ${r.closedAfter} ms`);
  assert.ok(r.closedAfter <= 3500, `cut off after ${r.closedAfter} ms (want ≤ 3500)`);
  if (r.data) assert.match(r.data, /^HTTP\/1\.[01] 408/, `only a 408 may be sent: ${JSON.stringify(r.data.slice(0, 200))}`);
  await assertHealthyAndUnchanged(before);
});

test('a POST body that never finishes is cut off too, and nothing is stored', T, async () => {
  const before = await state();
  const head = `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: 200\r\n\r\n`;
  // body trickled (the connection is never idle), and body stalled after a few bytes
  const [trickled, stalled] = await Promise.all([
    trickle(GOOD + ' '.repeat(200), { prefix: head }),
    trickle('', { prefix: head + '{"author":"Ada",' }),
  ]);
  for (const [what, r] of [['trickled body', trickled], ['stalled body', stalled]]) {
    assert.ok(!r.gaveUp, `${what}: still open after 6 s`);
    assert.ok(r.closedAfter >= REQUEST_TIMEOUT_S * 1000 - 300, `${what}: cut off too early (${r.closedAfter} ms)`);
    assert.ok(r.closedAfter <= 3500, `${what}: cut off after ${r.closedAfter} ms (want ≤ 3500)`);
    if (r.data) assert.match(r.data, /^HTTP\/1\.[01] 408/, `${what}: only a 408 may be sent: ${JSON.stringify(r.data.slice(0, 200))}`);
  }
  await assertHealthyAndUnchanged(before);
});

test('50 slowloris connections at once do not delay a normal client', T, async () => {
  const before = await state();
  const slow = [];
  for (let i = 0; i < 50; i++) {
    const text = i % 2 ? `GET /api/v1/chats/${target.id} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-${i}: ` + 'b'.repeat(100) : `POST ${P} HTTP/1.1\r\n${JSON_HDRS}Content-Length: 100\r\n\r\n` + 'c'.repeat(100);
    slow.push(trickle(text, { every: 300 }));
  }
  await sleep(200);
  // Normal requests while the 50 are trickling, and across the moment they are cut off.
  const times = [];
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < 3000) {
    n += 1;
    let t = Date.now();
    const h = await api(srv.url, 'GET', '/healthz', null, { timeout: 3000 });
    times.push(['healthz', Date.now() - t]);
    assert.equal(h.status, 200);
    t = Date.now();
    const c = await api(srv.url, 'GET', `/api/v1/chats/${witness.id}`, null, { timeout: 3000 });
    times.push(['chat', Date.now() - t]);
    assert.equal(c.status, 200);
    t = Date.now();
    await postMessage(srv.url, witness.id, `during slowloris ${n}`, 'Normal');
    times.push(['post', Date.now() - t]);
    await sleep(50);
  }
  const worst = times.reduce((a, b) => (b[1] > a[1] ? b : a));
  assert.ok(worst[1] < 500, `a normal request took ${worst[1]} ms (${worst[0]}); all: ${JSON.stringify(times)}`);
  const results = await Promise.all(slow);
  const open = results.filter((r) => r.gaveUp).length;
  assert.equal(open, 0, `${open} of 50 slow connections were never cut off`);
  const late = results.filter((r) => r.closedAfter > 4000).map((r) => r.closedAfter);
  assert.deepEqual(late, [], 'slow connections cut off later than 4 s');
  await assertHealthyAndUnchanged(before);
});

test('an open event stream is not cut by the request timeout', T, async () => {
  const before = await state();
  const s = await openSnapshotStream(srv.url, jsonStreamPath(target.id));
  try {
    await sleep(REQUEST_TIMEOUT_S * 1000 * 2 + 200);
    assert.ok(!s.ended, `the stream was closed after ${REQUEST_TIMEOUT_S * 2} s: ${s.error}`);
    const m = await postMessage(srv.url, target.id, 'still listening?', 'Ada');
    const evs = await waitForEvents(s, 2, 3000);
    assert.equal(evs[1].event, 'message');
    assert.deepEqual(evs[1].json, m);
    assert.ok(!s.ended);
  } finally {
    s.close();
  }
  await assertHealthyAndUnchanged(before, { addedMessages: 1 });
});

// Requests pipelined behind an answer the client does not read are not read without end:
// the server stops reading once more than one request's worth waits (the client's writes
// then back up), where it used to take in everything sent (148 MB in 13 s).
test('pipelined requests piling up behind an unread answer: the server stops reading them', { timeout: 20000 }, async () => {
  const one = 'GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n';
  const burst = Buffer.from(one.repeat(2000));
  const sock = srv.track(net.connect(srv.port, '127.0.0.1'));
  sock.on('error', () => {});
  sock.pause(); // never reads an answer
  await new Promise((r) => sock.on('connect', r));
  const until = Date.now() + 6000;
  while (Date.now() < until && !sock.destroyed) {
    if (!sock.write(burst)) await Promise.race([new Promise((r) => sock.once('drain', r)), sleep(200)]);
  }
  const sent = sock.bytesWritten - sock.writableLength;
  sock.destroy();
  assert.ok(sent < 24 * 1024 * 1024, `the server took in ${(sent / 1048576).toFixed(1)} MiB`);
  assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200, 'the server is fine');
});

// evhttp reads no body for HEAD: a body would be read as a second request that no check of
// the strict reader saw (request smuggling behind a proxy). Refused instead.
test('HEAD with a body is a 400, and what it carried is never answered', T, async () => {
  const hidden = 'GET /api/v1/chats?limit=1 HTTP/1.1\r\n\r\n';
  for (const framing of [`Content-Length: ${hidden.length}\r\n\r\n${hidden}`,
    `Transfer-Encoding: chunked\r\n\r\n${hidden.length.toString(16)}\r\n${hidden}\r\n0\r\n\r\n`]) {
    const r = await exchange([`HEAD /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n${framing}`], { timeout: 4000 });
    assertStatus(r, 'HEAD with a body', 400);
    assert.equal((r.text.match(/^HTTP\/1\.1 /gm) || []).length, 1, `one answer only: ${JSON.stringify(r.text.slice(0, 400))}`);
    assert.ok(!r.text.includes('"chats"'), 'the hidden request was not answered');
  }
});

// What the strict reader accepts, evhttp must read the same way, and it never answers itself.
test('empty lines before a request, a tab before a value, an unknown Expect: JSON answers, read alike', T, async () => {
  const ok = await exchange(['\r\n\r\nGET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'], { timeout: 4000 });
  assertStatus(ok, 'CRLFs before the request', 200);
  const tab = await exchange([`POST ${P} HTTP/1.1\r\nHost:\t127.0.0.1\r\nContent-Type:\tapplication/json\r\nContent-Length: ${GOOD.length}\r\nConnection: close\r\n\r\n${GOOD}`], { timeout: 4000 });
  assertStatus(tab, 'a tab before the values', 201);
  const ex = await exchange([`POST ${P} HTTP/1.1\r\n${JSON_HDRS}Expect: something-else\r\nContent-Length: ${GOOD.length}\r\n\r\n${GOOD}`], { timeout: 4000 });
  assertStatus(ex, 'Expect: something-else', 417);
  assert.match(ex.text, /\r\n\r\n\{"detail":"only Expect: 100-continue is understood"\}/);
});

// A query the server cannot read whole is a 400: it used to be read as no parameters at all
// (?limit=abc&& listed 50), or a value cut at a NUL or dropped as invalid UTF-8 (an import
// with ?backend=%FF made an echo bot).
test('a malformed query string, a NUL or invalid UTF-8 in it: 400 {"detail"}, nothing changed', T, async () => {
  const before = await state();
  for (const q of ['limit=abc&&', 'limit', 'after=1%00x', 'name=%FF', 'a=%C3%28']) {
    const r = await api(srv.url, 'GET', `/api/v1/chats?${q}`);
    assert.equal(r.status, 400, `?${q}: ${r.status} ${r.text.slice(0, 200)}`);
    assert.match(r.json.detail, /^malformed query string/);
  }
  const bots = (await api(srv.url, 'GET', '/api/v1/bots')).json.bots.length;
  const card = JSON.stringify({ spec: 'chara_card_v2', spec_version: '2.0', data: { name: 'Q', description: 'd' } });
  const r = await api(srv.url, 'POST', '/api/v1/bots/import?backend=%FF', card);
  assert.equal(r.status, 400, r.text);
  assert.equal((await api(srv.url, 'GET', '/api/v1/bots')).json.bots.length, bots, 'no bot made');
  assert.equal((await api(srv.url, 'GET', '/api/v1/chats?limit=1')).status, 200, 'a good query still reads');
  await assertHealthyAndUnchanged(before);
});
