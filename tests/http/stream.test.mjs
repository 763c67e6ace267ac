// SPEC §4: the event stream (both routes), without bots.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { EventSource } from 'eventsource';
import {
  useServer,
  api,
  createChat,
  getChat,
  postMessage,
  openStream,
  openOkStream,
  openReadyStream,
  jsonStreamPath as jsonPath,
  htmlStreamPath as htmlPath,
  waitForEvents,
  subscriberCount,
  eventually,
  assertEscaped,
  htmlUnescape,
  sleep,
} from './helpers.mjs';

const T = { timeout: 15000 };
const srv = useServer({ args: ['--keepalive', '1'] });

const stream = async (p, opts) => srv.track(await openOkStream(srv.url, p, opts));
/** A stream whose first event (the snapshot) has arrived. */
const readyStream = async (p, opts) => srv.track(await openReadyStream(srv.url, p, opts));
const subscribers = () => subscriberCount(srv.url);

describe('unknown chat', () => {
  for (const [name, p] of [['JSON', '/api/v1/chats/zzzzzzzzzzzz/events'], ['HTML', '/chats/zzzzzzzzzzzz/events']]) {
    test(`${name} stream: 404 {"detail":"chat not found"}, nothing subscribed`, T, async () => {
      const before = await subscribers();
      assert.equal(typeof before, 'number', 'parley_sse_subscribers exported');
      const s = await openStream(srv.url, p);
      await s.waitEnd(3000).catch(() => {});
      assert.equal(s.status, 404);
      assert.match(s.headers['content-type'] || '', /^application\/json/);
      assert.deepEqual(JSON.parse(s.body), { detail: 'chat not found' });
      s.close();
      assert.equal(await subscribers(), before, 'subscriber gauge unchanged');
    });
  }
});

describe('response headers', () => {
  for (const kind of ['JSON', 'HTML']) {
    test(`${kind} stream headers, no Content-Encoding even with Accept-Encoding: gzip`, T, async () => {
      const c = await createChat(srv.url, 'headers');
      const p = kind === 'JSON' ? jsonPath(c.id) : htmlPath(c.id);
      const s = await stream(p, { headers: { 'Accept-Encoding': 'gzip, deflate, br' } });
      assert.equal(s.headers['content-type'], 'text/event-stream');
      assert.equal(s.headers['cache-control'], 'no-cache');
      assert.equal(s.headers['x-accel-buffering'], 'no');
      assert.equal(s.headers['content-encoding'], undefined, 'no Content-Encoding');
      assert.equal(s.headers['content-length'], undefined, 'no Content-Length on a stream');
      assert.ok(s.chunked, 'HTTP/1.1 stream is chunked');
      assert.match(s.headers['connection'] || '', /close/i, 'Connection: close');
      const [snap] = await waitForEvents(s, 1);
      assert.equal(snap.event, 'snapshot', 'first event readable as plain text (not compressed)');
      s.close();
    });
  }

  test('HTTP/1.0 client gets a close-delimited stream', T, async () => {
    const c = await createChat(srv.url, 'http10');
    const s = await stream(jsonPath(c.id), { httpVersion: '1.0' });
    assert.ok(!s.chunked, 'no chunked encoding for HTTP/1.0');
    const [snap] = await waitForEvents(s, 1);
    assert.equal(snap.event, 'snapshot');
    await api(srv.url, 'DELETE', `/api/v1/chats/${c.id}`);
    await s.waitEnd(2000);
    assert.equal(s.events[s.events.length - 1].event, 'deleted');
  });
});

describe('snapshot', () => {
  test('first event on a fresh chat: snapshot with id 0 and every field', T, async () => {
    const c = await createChat(srv.url, 'Snap', { policy: 'mentions' });
    for (const p of [jsonPath(c.id), htmlPath(c.id)]) {
      const s = await stream(p);
      const [ev] = await waitForEvents(s, 1);
      assert.equal(ev.event, 'snapshot', p);
      assert.equal(ev.id, '0', `${p}: snapshot id`);
      assert.deepEqual(ev.json, {
        chat_id: c.id,
        ready: true,
        title: 'Snap',
        policy: 'mentions',
        bots: [],
        muted: [],
        auto_rounds: 0,
        messages: [],
        turn: { state: 'idle', speaker: null, queue: [], auto_left: 0 },
        last_event_id: 0,
        here: [],
      });
      assert.equal(s.frames[0], ev.frame, 'nothing (not even a comment) before the snapshot');
      s.close();
    }
  });

  test('snapshot of a chat with history: id N, last 50 messages', T, async () => {
    const c = await createChat(srv.url, 'history');
    const posted = [];
    for (let i = 1; i <= 55; i++) posted.push(await postMessage(srv.url, c.id, `h${i}`));
    for (const p of [jsonPath(c.id), htmlPath(c.id)]) {
      const s = await stream(p);
      const [ev] = await waitForEvents(s, 1);
      assert.equal(ev.event, 'snapshot');
      assert.equal(ev.id, '55');
      assert.equal(ev.json.last_event_id, 55);
      assert.equal(ev.json.messages.length, 50);
      assert.deepEqual(ev.json.messages, posted.slice(5), 'the last 50 messages, oldest first, as Message JSON');
      s.close();
    }
  });
});

describe('message events', () => {
  test('JSON stream: event message, id N+1, data is the Message', T, async () => {
    const c = await createChat(srv.url, 'live');
    await postMessage(srv.url, c.id, 'before');
    const s = await readyStream(jsonPath(c.id));
    const m2 = await postMessage(srv.url, c.id, 'second', 'Grace');
    const m3 = await postMessage(srv.url, c.id, 'third', 'Linus');
    const evs = await waitForEvents(s, 3);
    assert.deepEqual(
      evs.slice(1).map((e) => [e.event, e.id]),
      [
        ['message', '2'],
        ['message', '3'],
      ],
    );
    assert.deepEqual(evs[1].json, m2);
    assert.deepEqual(evs[2].json, m3);
    for (const e of evs) {
      assert.ok(e.json !== undefined, 'reassembled data is JSON');
      assert.match(e.frame.raw, /\n\n$|\r\n\r\n$|\r\r$/, 'frame ends with a blank line');
    }
  });

  test('HTML stream: fragment with id="msg-SEQ", user strings escaped', T, async () => {
    const c = await createChat(srv.url, 'html');
    const s = await readyStream(htmlPath(c.id));
    const j = await readyStream(jsonPath(c.id));
    const hostileBody = `<script>alert(1)</script> a"b'c&d <img src=x onerror=alert(2)>`;
    const hostileAuthor = `<b>Eve</b>"'&`;
    await postMessage(srv.url, c.id, hostileBody, hostileAuthor);
    await postMessage(srv.url, c.id, 'plain', 'Ada');
    const evs = await waitForEvents(s, 3);
    const jevs = await waitForEvents(j, 3);
    const [m1, m2] = [evs[1], evs[2]];
    assert.equal(m1.event, 'message');
    assert.equal(m1.id, '1');
    assert.equal(m2.id, '2');
    assert.deepEqual([jevs[1].id, jevs[2].id], ['1', '2'], 'same ids on both streams');
    assert.match(m1.data, /id="msg-1"/);
    assert.match(m2.data, /id="msg-2"/);
    assert.ok(!/<script/i.test(m1.data), 'no live <script> in the fragment');
    assert.ok(!/<img/i.test(m1.data), 'no live <img> in the fragment');
    assertEscaped(m1.data, '<script>alert(1)</script>', 'script body');
    assertEscaped(m1.data, '<img src=x onerror=alert(2)>', 'img body');
    assert.ok(m1.data.includes('c&amp;d'), '& escaped as &amp;');
    assert.ok(!m1.data.includes(`a"b`), 'double quote escaped');
    assert.ok(!m1.data.includes(`b'c`), 'single quote escaped');
    assert.ok(htmlUnescape(m1.data).includes(hostileBody), 'body text present');
    assert.ok(!m1.data.includes('<b>Eve</b>'), 'author escaped');
    assert.ok(htmlUnescape(m1.data).includes(hostileAuthor), 'author text present');
  });

  test('HTML stream payload with newlines: several data lines, reassembled exactly (eventsource)', T, async () => {
    const c = await createChat(srv.url, 'multiline');
    const raw = await readyStream(htmlPath(c.id));
    const rawJ = await readyStream(jsonPath(c.id));
    const got = [];
    const gotJ = [];
    const es = new EventSource(srv.url + htmlPath(c.id));
    const esJ = new EventSource(srv.url + jsonPath(c.id));
    try {
      es.addEventListener('message', (e) => got.push({ id: e.lastEventId, data: e.data }));
      esJ.addEventListener('message', (e) => gotJ.push({ id: e.lastEventId, data: e.data }));
      const opened = (x) =>
        new Promise((res, rej) => {
          x.addEventListener('snapshot', () => res());
          x.onerror = (e) => rej(new Error('EventSource error ' + (e && e.message)));
        });
      await Promise.all([opened(es), opened(esJ)]);
      // Line breaks of every kind, paragraphs, and a fenced code block (whose rendering
      // keeps its newlines whether or not the body is rendered as Markdown).
      const body = 'alpha line\nbravo line\r\ncharlie line\rdelta line\n\n\necho line\n\n```\ncode one\ncode two\n```\n';
      const m = await postMessage(srv.url, c.id, body);
      const [, ev] = await waitForEvents(raw, 2);
      await eventually(() => got.length >= 1 && gotJ.length >= 1, { timeout: 3000, what: 'EventSource message' });
      // raw frame vs EventSource: the reassembly agrees
      assert.equal(got[0].id, ev.id);
      assert.equal(got[0].data, ev.data, 'EventSource data equals our reassembled data lines');
      for (const w of ['alpha line', 'bravo line', 'charlie line', 'delta line', 'echo line', 'code one', 'code two']) {
        assert.ok(got[0].data.includes(w), `"${w}" survives SSE framing: ${JSON.stringify(got[0].data)}`);
      }
      assert.ok(!got[0].data.includes('\r'), 'no CR inside a data line');
      // The code block's two lines stay two lines in the fragment, so the payload has
      // newlines and must go out as several data: lines (a raw newline inside one data:
      // line would have lost text above).
      assert.match(htmlUnescape(got[0].data), /code one(\n|<br\s*\/?>)code two/, 'code block keeps its lines');
      if (/code one\ncode two/.test(got[0].data)) {
        assert.ok(ev.frame.dataLines.length > 1, `several data: lines: ${JSON.stringify(ev.frame.raw)}`);
      }
      assert.equal(ev.frame.dataLines.length, got[0].data.split('\n').length, 'one data: line per payload line');
      // JSON stream: the Message round-trips exactly
      assert.deepEqual(JSON.parse(gotJ[0].data), m);
      assert.equal(m.body, body.replace(/\r\n?/g, '\n'), 'body kept, line ends stored as LF (CONTRACT-NOTES)');
    } finally {
      es.close();
      esJ.close();
    }
  });

  test('a payload that is itself multi-line JSON still reassembles (snapshot with multi-line bodies)', T, async () => {
    const c = await createChat(srv.url, 'multi');
    const body = 'x\ny\n\nz';
    await postMessage(srv.url, c.id, body);
    const es = new EventSource(srv.url + jsonPath(c.id));
    try {
      const snap = await new Promise((res, rej) => {
        es.addEventListener('snapshot', (e) => res(e));
        es.onerror = () => rej(new Error('EventSource error'));
        setTimeout(() => rej(new Error('no snapshot')), 3000);
      });
      const data = JSON.parse(snap.data);
      assert.equal(data.messages[0].body, body);
      assert.equal(snap.lastEventId, '1');
    } finally {
      es.close();
    }
  });
});

describe('fan-out', () => {
  test('5 subscribers each get every event once, in order', T, async () => {
    const c = await createChat(srv.url, 'fanout');
    const subs = [];
    for (let i = 0; i < 5; i++) subs.push(await readyStream(i % 2 ? htmlPath(c.id) : jsonPath(c.id)));
    const N = 12;
    // some sequential, some concurrent
    for (let i = 1; i <= 6; i++) await postMessage(srv.url, c.id, `f${i}`);
    await Promise.all(Array.from({ length: 6 }, (_, i) => postMessage(srv.url, c.id, `g${i}`)));
    await Promise.all(subs.map((s) => waitForEvents(s, 1 + N)));
    await sleep(300); // any duplicate would have arrived by now
    for (const [k, s] of subs.entries()) {
      assert.equal(s.events.length, 1 + N, `subscriber ${k}: exactly ${1 + N} events`);
      const ids = s.events.slice(1).map((e) => e.id);
      assert.deepEqual(ids, Array.from({ length: N }, (_, i) => String(i + 1)), `subscriber ${k}: ids in order`);
      assert.ok(s.events.slice(1).every((e) => e.event === 'message'));
      if (k % 2 === 0) {
        const seqs = s.events.slice(1).map((e) => JSON.parse(e.data).seq);
        assert.deepEqual(seqs, Array.from({ length: N }, (_, i) => i + 1), `subscriber ${k}: seq order`);
      } else {
        s.events.slice(1).forEach((e, i) => assert.match(e.data, new RegExp(`id="msg-${i + 1}"`)));
      }
    }
  });

  test('a subscriber that vanishes does not disturb the others', T, async () => {
    const c = await createChat(srv.url, 'vanish');
    const a = await readyStream(jsonPath(c.id));
    const b = await readyStream(htmlPath(c.id));
    const gone = await readyStream(jsonPath(c.id));
    gone.socket.resetAndDestroy(); // abrupt RST, no FIN
    const posts = Promise.all(Array.from({ length: 5 }, (_, i) => postMessage(srv.url, c.id, `v${i}`)));
    await posts;
    await waitForEvents(a, 6);
    await waitForEvents(b, 6);
    assert.deepEqual(a.events.slice(1).map((e) => e.id), ['1', '2', '3', '4', '5']);
    assert.deepEqual(b.events.slice(1).map((e) => e.id), ['1', '2', '3', '4', '5']);
  });

  test('deleting a chat while posting and streaming leaves the server healthy', T, async () => {
    const c = await createChat(srv.url, 'race');
    const ss = await Promise.all(Array.from({ length: 4 }, (_, i) => readyStream(i % 2 ? htmlPath(c.id) : jsonPath(c.id))));
    const posts = Array.from({ length: 10 }, (_, i) => api(srv.url, 'POST', `/api/v1/chats/${c.id}/messages`, { author: 'a', body: `race ${i}` }));
    const del = api(srv.url, 'DELETE', `/api/v1/chats/${c.id}`);
    const results = await Promise.all([...posts, del]);
    for (const r of results.slice(0, -1)) assert.ok([201, 404].includes(r.status), `post during delete: ${r.status}`);
    assert.equal(results[results.length - 1].status, 204);
    for (const s of ss) {
      await s.waitEnd(2000);
      const names = s.events.map((e) => e.event);
      assert.equal(names[names.length - 1], 'deleted', 'deleted is the last event');
      assert.equal(names.filter((n) => n === 'deleted').length, 1);
      const ids = s.events.filter((e) => e.event === 'message').map((e) => Number(e.id));
      assert.deepEqual(ids, ids.map((_, i) => i + 1), 'message ids consecutive from 1');
    }
    assert.equal((await api(srv.url, 'GET', `/api/v1/chats/${c.id}`)).status, 404);
    assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
  });

  test('events of one chat do not leak into another chat\'s stream', T, async () => {
    const a = await createChat(srv.url, 'A');
    const b = await createChat(srv.url, 'B');
    const sb = await readyStream(jsonPath(b.id));
    await postMessage(srv.url, a.id, 'for A');
    await postMessage(srv.url, b.id, 'for B');
    const evs = await waitForEvents(sb, 2);
    assert.equal(evs[1].json.body, 'for B');
    assert.equal(evs[1].id, '1', 'event ids are per chat');
    await sleep(200);
    assert.equal(sb.events.length, 2);
  });
});

describe('keepalive and disconnect', () => {
  test('`: keepalive` comment within ~2.5 s with --keepalive 1', T, async () => {
    const c = await createChat(srv.url, 'ka');
    const s = await readyStream(jsonPath(c.id));
    const t0 = Date.now();
    await s.waitFor((st) => st.comments.length >= 1, 2600, 'a keepalive comment');
    const f = s.comments[0];
    assert.deepEqual(f.comments, ['keepalive']);
    assert.ok(/^: keepalive(\r\n|\n|\r)(\r\n|\n|\r)$/.test(f.raw), `exact frame: ${JSON.stringify(f.raw)}`);
    assert.ok(Date.now() - t0 >= 500, 'not sent immediately after the snapshot');
    // and they keep coming while idle
    await s.waitFor((st) => st.comments.length >= 2, 2600, 'a second keepalive');
  });

  // the silence a keepalive ends is counted from the last byte sent, to the millisecond:
  // counted in whole seconds it reached 1.7 s at --keepalive 1
  test('after an event, the next keepalive comes --keepalive seconds later, not up to a second more', T, async () => {
    const c = await createChat(srv.url, 'ka gaps');
    const s = await readyStream(jsonPath(c.id));
    const stamp = (list) => {
      const push = list.push.bind(list);
      list.push = (...items) => { for (const f of items) f.at = performance.now(); return push(...items); };
    };
    stamp(s.events);
    stamp(s.comments);
    const gaps = [];
    for (let round = 0; round < 4; round++) {
      const seen = s.comments.length;
      await s.waitFor((st) => st.comments.length > seen, 2600, 'a keepalive');
      await sleep(150 + 200 * round); // the post lands at a different point of each second
      const events = s.events.length;
      await postMessage(srv.url, c.id, `gap ${round}`, 'Ada');
      await s.waitFor((st) => st.events.length > events, 2000, 'the message');
      const at = s.events[events].at;
      await s.waitFor((st) => st.comments.some((f) => f.at > at), 2600, 'the keepalive after it');
      gaps.push(s.comments.find((f) => f.at > at).at - at);
    }
    assert.ok(gaps.every((g) => g >= 900 && g <= 1250), `event → keepalive: ${gaps.map((g) => g.toFixed(0)).join(', ')} ms`);
  });

  test('parley_sse_subscribers goes up on connect and back down within 1 s of disconnect', T, async () => {
    const c = await createChat(srv.url, 'gauge');
    await sleep(200);
    const base = await subscribers();
    const s1 = await readyStream(jsonPath(c.id));
    const s2 = await readyStream(htmlPath(c.id));
    await eventually(async () => (await subscribers()) === base + 2, { timeout: 1000, what: `gauge ${base + 2}` });
    s1.close();
    await eventually(async () => (await subscribers()) === base + 1, { timeout: 1000, what: `gauge back to ${base + 1}` });
    s2.close();
    await eventually(async () => (await subscribers()) === base, { timeout: 1000, what: `gauge back to ${base}` });
  });

  test('20 streams opened and dropped leave nothing subscribed; the chat still works', T, async () => {
    const c = await createChat(srv.url, 'churn');
    await sleep(200);
    const base = await subscribers();
    for (let round = 0; round < 4; round++) {
      const ss = await Promise.all(Array.from({ length: 5 }, () => readyStream(jsonPath(c.id))));
      if (round === 2) await postMessage(srv.url, c.id, 'while churning');
      ss.forEach((s) => s.close());
    }
    // a client that disconnects before the head arrives
    const s = await openStream(srv.url, jsonPath(c.id));
    s.close();
    await eventually(async () => (await subscribers()) === base, { timeout: 1500, what: `gauge back to ${base}` });
    const live = await readyStream(jsonPath(c.id));
    await postMessage(srv.url, c.id, 'after churn');
    const evs = await waitForEvents(live, 2);
    assert.equal(evs[1].json.body, 'after churn');
  });
});

describe('resume', () => {
  let c;
  before(async () => {
    c = await createChat(srv.url, 'resume');
    for (let i = 1; i <= 3; i++) await postMessage(srv.url, c.id, `r${i}`); // events 1..3
  });

  test('?after=1 replays events 2 and 3 (no snapshot), then live', T, async () => {
    for (const p of [jsonPath(c.id, '?after=1'), htmlPath(c.id, '?after=1')]) {
      const s = await stream(p);
      const evs = await waitForEvents(s, 2);
      assert.deepEqual(evs.map((e) => [e.event, e.id]), [['message', '2'], ['message', '3']], p);
      await sleep(150);
      assert.equal(s.events.length, 2, `${p}: nothing else replayed`);
      s.close();
    }
    const s = await stream(jsonPath(c.id, '?after=1'));
    await waitForEvents(s, 2);
    const m = await postMessage(srv.url, c.id, 'r4'); // event 4
    const evs = await waitForEvents(s, 3);
    assert.equal(evs[2].id, '4');
    assert.deepEqual(evs[2].json, m);
    s.close();
  });

  test('?after=0 replays from the first event', T, async () => {
    const s = await stream(jsonPath(c.id, '?after=0'));
    const evs = await waitForEvents(s, 3);
    assert.deepEqual(evs.slice(0, 3).map((e) => e.id), ['1', '2', '3']);
    assert.equal(evs[0].event, 'message');
    assert.equal(evs[0].json.body, 'r1');
  });

  test('Last-Event-ID resumes; the header wins over ?after', T, async () => {
    const last = (await getChat(srv.url, c.id)).last_event_id;
    const s = await stream(jsonPath(c.id, '?after=0'), { headers: { 'Last-Event-ID': String(last - 1) } });
    const evs = await waitForEvents(s, 1);
    assert.equal(evs[0].event, 'message');
    assert.equal(evs[0].id, String(last));
    await sleep(200);
    assert.equal(s.events.length, 1, 'only events after the header value');
    const h = await stream(htmlPath(c.id), { headers: { 'Last-Event-ID': String(last - 2) } });
    const hevs = await waitForEvents(h, 2);
    assert.deepEqual(hevs.map((e) => e.id), [String(last - 1), String(last)]);
  });

  test('after = last event id: no replay, no snapshot, live events next', T, async () => {
    const last = (await getChat(srv.url, c.id)).last_event_id;
    const s = await stream(jsonPath(c.id, `?after=${last}`));
    await sleep(300);
    assert.equal(s.events.length, 0, 'nothing before the next live event');
    await postMessage(srv.url, c.id, 'next');
    const [ev] = await waitForEvents(s, 1);
    assert.equal(ev.event, 'message');
    assert.equal(ev.id, String(last + 1));
  });

  for (const [name, q, hdr] of [
    ['after > last event id', '?after=99999', null],
    ['after=abc', '?after=abc', null],
    ['after=-1', '?after=-1', null],
    ['Last-Event-ID too new', '', '99999'],
    ['Last-Event-ID not a number', '', 'abc'],
  ]) {
    test(`${name} → fresh snapshot`, T, async () => {
      const last = (await getChat(srv.url, c.id)).last_event_id;
      const s = await stream(jsonPath(c.id, q), hdr ? { headers: { 'Last-Event-ID': hdr } } : undefined);
      const [ev] = await waitForEvents(s, 1);
      assert.equal(ev.event, 'snapshot');
      assert.equal(ev.id, String(last));
      assert.equal(ev.json.last_event_id, last);
      await sleep(150);
      assert.equal(s.events.length, 1, 'no replay after the snapshot');
    });
  }
});

describe('with --threads 4', () => {
  const srv4 = useServer({ args: ['--threads', '4'] });

  test('10 streams and 30 concurrent posts: every stream gets every event once, in id order', T, async () => {
    const c = await createChat(srv4.url, 'threads');
    const ss = [];
    for (let i = 0; i < 10; i++) ss.push(srv4.track(await openReadyStream(srv4.url, i % 2 ? htmlPath(c.id) : jsonPath(c.id))));
    const ms = await Promise.all(Array.from({ length: 30 }, (_, i) => postMessage(srv4.url, c.id, `t${i}`, `w${i % 3}`)));
    assert.deepEqual(ms.map((m) => m.seq).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i + 1));
    await Promise.all(ss.map((s) => waitForEvents(s, 31)));
    await sleep(300);
    for (const s of ss) {
      assert.equal(s.events.length, 31);
      assert.deepEqual(s.events.slice(1).map((e) => Number(e.id)), Array.from({ length: 30 }, (_, i) => i + 1));
    }
    const jsonSeqs = ss[0].events.slice(1).map((e) => JSON.parse(e.data).seq);
    assert.deepEqual(jsonSeqs, Array.from({ length: 30 }, (_, i) => i + 1), 'seq order follows event order');
  });
});
