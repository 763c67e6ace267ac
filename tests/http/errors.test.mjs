// SPEC §3 "Errors": every error status, always with {"detail":…} on the API,
// and no bad input crashes the server or leaves partial data.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  api,
  createChat,
  getChat,
  assertError,
  rawRequest,
} from './helpers.mjs';

const T = { timeout: 15000 };
const srv = useServer(); // its stop also checks no sanitizer report after all the bad input
let chat;

before(async () => {
  await srv.ready();
  chat = await createChat(srv.url, 'errors');
});

describe('404', () => {
  test('unknown routes', T, async () => {
    for (const p of ['/api/v1/nope', '/api/v2/chats', '/api/v1/chats/' + chat.id + '/nope', '/api/v1/chats/' + chat.id + '/messages/1/x']) {
      assertError(await api(srv.url, 'GET', p), 404, p);
    }
  });
  test('unknown ids', T, async () => {
    assertError(await api(srv.url, 'GET', '/api/v1/chats/abcdefghijkl'), 404);
    assertError(await api(srv.url, 'GET', '/api/v1/chats/abcdefghijkl/messages'), 404);
    assertError(await api(srv.url, 'POST', '/api/v1/chats/abcdefghijkl/messages', { author: 'a', body: 'b' }), 404);
    assertError(await api(srv.url, 'GET', '/api/v1/chats/%2e%2e%2fetc'), 404);
  });
});

describe('405 with Allow', () => {
  const cases = [
    ['DELETE', '/api/v1/chats', ['GET', 'POST']],
    ['PUT', '/api/v1/chats', ['GET', 'POST']],
    ['PUT', '/api/v1/chats/{id}', ['GET', 'PATCH', 'DELETE']],
    ['POST', '/api/v1/chats/{id}', ['GET', 'PATCH', 'DELETE']],
    ['DELETE', '/api/v1/chats/{id}/messages', ['GET', 'POST']],
    ['POST', '/api/v1/chats/{id}/events', ['GET']],
    ['POST', '/healthz', ['GET']],
    ['DELETE', '/metrics', ['GET']],
  ];
  for (const [method, tmpl, allowed] of cases) {
    test(`${method} ${tmpl}`, T, async () => {
      const p = tmpl.replace('{id}', chat.id);
      const r = await api(srv.url, method, p, method === 'GET' ? undefined : {});
      assertError(r, 405, `${method} ${p}`);
      const allow = (r.headers.get('allow') || '').split(',').map((x) => x.trim().toUpperCase()).filter(Boolean);
      for (const m of allowed) assert.ok(allow.includes(m), `Allow (${allow}) includes ${m}`);
      assert.ok(!allow.includes(method), `Allow does not include ${method}`);
    });
  }
});

describe('400 malformed JSON', () => {
  const bodies = ['{"title":', 'not json', '{"title":"x",}', '{"title":"x"} trailing', "{'title':'x'}"];
  for (const body of bodies) {
    test(`POST /api/v1/chats ${JSON.stringify(body)}`, T, async () => {
      assertError(await api(srv.url, 'POST', '/api/v1/chats', body), 400);
    });
  }
  test('empty body on POST /api/v1/chats is 400', T, async () => {
    assertError(await api(srv.url, 'POST', '/api/v1/chats', ''), 400, 'empty body');
  });
  test('non-object JSON is 400', T, async () => {
    for (const body of ['[1,2]', '"title"', '42', 'null']) {
      assertError(await api(srv.url, 'POST', '/api/v1/chats', body), 400, body);
    }
  });
  test('malformed JSON on messages and PATCH', T, async () => {
    assertError(await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, '{"author":"a","body":'), 400);
    assertError(await api(srv.url, 'PATCH', `/api/v1/chats/${chat.id}`, '{{'), 400);
  });
  test('invalid UTF-8 or NUL in strings is 400, nothing stored', T, async () => {
    const before = (await getChat(srv.url, chat.id)).last_event_id;
    const bad = Buffer.concat([Buffer.from('{"author":"Ada","body":"bad '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
    assertError(await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, bad), 400, 'invalid UTF-8');
    assertError(await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, '{"author":"Ada","body":"nul \\u0000 here"}'), 400, 'NUL');
    assert.equal((await getChat(srv.url, chat.id)).last_event_id, before, 'nothing stored');
  });
});

describe('422 naming the field', () => {
  const cases = [
    ['POST', '/api/v1/chats', { title: '' }, 'title'],
    ['POST', '/api/v1/chats', { title: ['x'] }, 'title'],
    ['POST', '/api/v1/chats', { title: 'x', policy: 'chaos' }, 'policy'],
    ['POST', '/api/v1/chats', { title: 'x', policy: 3 }, 'policy'],
    ['POST', '/api/v1/chats/{id}/messages', { body: 'hi' }, 'author'],
    ['POST', '/api/v1/chats/{id}/messages', { author: 'Ada' }, 'body'],
    ['POST', '/api/v1/chats/{id}/messages', { author: 'Ada', body: '   ' }, 'body'],
    ['POST', '/api/v1/chats/{id}/messages', { author: { n: 1 }, body: 'x' }, 'author'],
    ['PATCH', '/api/v1/chats/{id}', { title: '' }, 'title'],
    ['PATCH', '/api/v1/chats/{id}', { policy: 'nope' }, 'policy'],
  ];
  for (const [method, tmpl, body, field] of cases) {
    test(`${method} ${tmpl} ${JSON.stringify(body)} → ${field}`, T, async () => {
      const r = await api(srv.url, method, tmpl.replace('{id}', chat.id), body);
      const e = assertError(r, 422);
      assert.ok(e.detail.includes(field), `detail ${JSON.stringify(e.detail)} names ${field}`);
    });
  }
});

describe('413 body too large', () => {
  test('request body > 64 KiB on create chat', T, async () => {
    const before = (await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length;
    const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'big', pad: 'x'.repeat(70 * 1024) });
    assertError(r, 413);
    assert.equal((await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length, before, 'nothing created');
  });
  test('request body > 64 KiB on post message', T, async () => {
    const r = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'a', body: 'x'.repeat(65 * 1024) });
    assertError(r, 413);
  });
  test('message body > 16 KiB inside a small request', T, async () => {
    const before = (await getChat(srv.url, chat.id)).last_event_id;
    const r = await api(srv.url, 'POST', `/api/v1/chats/${chat.id}/messages`, { author: 'a', body: 'y'.repeat(20 * 1024) });
    assertError(r, 413);
    assert.equal((await getChat(srv.url, chat.id)).last_event_id, before, 'nothing stored');
  });
  test('body of 64 KiB + 1 declared by Content-Length', T, async () => {
    const body = '{"title":"' + 'z'.repeat(64 * 1024 - 12) + '"}' + ' ';
    assert.equal(Buffer.byteLength(body), 64 * 1024 + 1);
    const res = await rawRequest(
      srv.port,
      `POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    assertError(res, 413);
  });
});

describe('431 headers too large', () => {
  test('a 20 KB header', T, async () => {
    const res = await rawRequest(
      srv.port,
      `GET /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ${'h'.repeat(20 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    assertError(res, 431);
  });
  test('many headers adding up to > 8 KiB', T, async () => {
    let hdrs = '';
    for (let i = 0; i < 100; i++) hdrs += `X-H${i}: ${'v'.repeat(100)}\r\n`;
    const res = await rawRequest(srv.port, `GET /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\n${hdrs}Connection: close\r\n\r\n`);
    assertError(res, 431);
  });
  test('a 6 KB header is fine', T, async () => {
    const res = await rawRequest(
      srv.port,
      `GET /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Ok: ${'h'.repeat(6 * 1024)}\r\nConnection: close\r\n\r\n`,
    );
    assert.equal(res.status, 200);
  });
});

describe('garbage on the wire', () => {
  test('malformed request lines get 400 or a close, server survives', T, async () => {
    const junk = [
      'HELLO\r\n\r\n',
      'GET\r\n\r\n',
      '\x00\x01\x02\x03\r\n\r\n',
      'POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -5\r\n\r\n',
      'POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
    ];
    // A malformed request is a 400 (SPEC §3); junk too broken to answer may get the
    // connection closed instead, but not left hanging (a timeout is a failure).
    const wrong = [];
    for (const j of junk) {
      const res = await rawRequest(srv.port, j, { timeout: 2000 }).catch((e) => e);
      if (res instanceof Error) {
        if (/timed out/.test(res.message)) wrong.push(`${JSON.stringify(j)}: ${res.message}`);
      } else if (res.status !== 400) {
        wrong.push(`${JSON.stringify(j)}: ${res.status} ${res.reason}`);
      }
    }
    assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200, 'still alive');
    assert.deepEqual(wrong, [], 'junk answered with something other than 400 or a close');
  });

  test('a well-formed request line of an HTTP version not served is 505 (RFC 9110 15.6.6)', T, async () => {
    const res = await rawRequest(srv.port, 'GET /api/v1/chats HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n', { timeout: 2000 });
    assert.equal(res.status, 505);
    assert.ok(JSON.parse(res.body).detail, 'a JSON detail');
  });

  test('query strings and odd paths do not crash', T, async () => {
    for (const [p, status] of [
      ['/api/v1/chats?', 200],
      ['/api/v1/chats?a=%zz', 200], // an unknown query parameter is ignored
      ['/%', 404],
      ['/api/v1/chats/' + 'a'.repeat(4000), 404],
      ['//', 404],
      ['/api/v1//chats', 404],
    ]) {
      const r = await api(srv.url, 'GET', p);
      assert.equal(r.status, status, `${p.slice(0, 60)} → ${r.status}`);
    }
    assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
  });
});

describe('HTTP/1.1 plumbing', () => {
  test('a request body of exactly 64 KiB is accepted (unknown fields ignored)', T, async () => {
    const head = '{"title":"exact","pad":"';
    const tail = '"}';
    const body = head + 'p'.repeat(64 * 1024 - head.length - tail.length) + tail;
    assert.equal(Buffer.byteLength(body), 64 * 1024);
    const r = await api(srv.url, 'POST', '/api/v1/chats', body);
    assert.equal(r.status, 201, r.text.slice(0, 200));
    assert.equal(r.json.title, 'exact');
  });

  test('pipelined requests on one keep-alive connection get answers in order', T, async () => {
    const req = (p) => `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`;
    const net = await import('node:net');
    const sock = net.connect(srv.port, '127.0.0.1');
    let data = '';
    sock.setEncoding('latin1');
    sock.on('data', (d) => (data += d));
    sock.write(req('/healthz') + req('/api/v1/nope') + req(`/api/v1/chats/${chat.id}`));
    const t0 = Date.now();
    while ((data.match(/HTTP\/1\.1 \d{3}/g) || []).length < 3 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 20));
    sock.destroy();
    const statuses = (data.match(/HTTP\/1\.1 (\d{3})/g) || []).map((s) => s.slice(9));
    assert.deepEqual(statuses, ['200', '404', '200']);
  });

  test('a chunked request body is accepted', T, async () => {
    const json = JSON.stringify({ author: 'Chunky', body: 'sent in chunks' });
    const a = json.slice(0, 10);
    const b = json.slice(10);
    const res = await rawRequest(
      srv.port,
      `POST /api/v1/chats/${chat.id}/messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n` +
        `${a.length.toString(16)}\r\n${a}\r\n${b.length.toString(16)}\r\n${b}\r\n0\r\n\r\n`,
    );
    assert.equal(res.status, 201, res.body);
    assert.equal(JSON.parse(res.body).body, 'sent in chunks');
  });

  test('a chunked request body over 64 KiB is 413', T, async () => {
    const piece = 'q'.repeat(8192);
    let chunks = '';
    for (let i = 0; i < 9; i++) chunks += `${piece.length.toString(16)}\r\n${piece}\r\n`;
    const res = await rawRequest(
      srv.port,
      `POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}0\r\n\r\n`,
    );
    assertError(res, 413);
  });

  test('bots: unknown bot or wrong type is 422 naming bots, nothing created', T, async () => {
    const before = (await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length;
    for (const bots of [['no-such-bot'], 'Eliza', [42], { a: 1 }]) {
      const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'with bots', bots });
      const e = assertError(r, 422, JSON.stringify(bots));
      assert.match(e.detail, /bots?/, `detail names bots: ${e.detail}`);
    }
    assert.equal((await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length, before);
    const p = await api(srv.url, 'PATCH', `/api/v1/chats/${chat.id}`, { bots: ['no-such-bot'] });
    assert.match(assertError(p, 422).detail, /bots?/);
  });
});
