// SPEC §3 /healthz and §6 /metrics (the metrics that apply without bots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  api,
  createChat,
  postMessage,
  openReadyStream,
  jsonStreamPath,
  htmlStreamPath,
  waitForEvents,
  metrics,
  eventually,
  sleep,
} from './helpers.mjs';

const T = { timeout: 15000 };
const srv = useServer();

test('GET /healthz → 200 {"status":"ok"}', T, async () => {
  const r = await api(srv.url, 'GET', '/healthz');
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^application\/json/);
  assert.deepEqual(r.json, { status: 'ok' });
});

test('GET /metrics is Prometheus text with the §6 names', T, async () => {
  const m = await metrics(srv.url);
  assert.match(m.contentType || '', /^text\/plain/);
  for (const name of ['parley_sse_subscribers', 'parley_events_published_total', 'parley_sse_frames_sent_total', 'parley_sse_dropped_slow_total']) {
    assert.equal(typeof m.sum(name), 'number', `${name} present:\n${m.text}`);
  }
  assert.equal(m.types.parley_sse_subscribers, 'gauge');
  for (const name of ['parley_events_published_total', 'parley_sse_frames_sent_total', 'parley_sse_dropped_slow_total', 'parley_http_requests_total']) {
    assert.equal(m.types[name], 'counter', `# TYPE ${name} counter`);
  }
  assert.equal(m.sum('parley_sse_dropped_slow_total'), 0);
});

test('parley_http_requests_total{code} counts responses by status', T, async () => {
  await api(srv.url, 'GET', '/healthz');
  const m0 = await metrics(srv.url);
  const ok0 = m0.get('parley_http_requests_total', { code: '200' }) ?? 0;
  const nf0 = m0.get('parley_http_requests_total', { code: '404' }) ?? 0;
  for (let i = 0; i < 3; i++) await api(srv.url, 'GET', '/healthz');
  for (let i = 0; i < 2; i++) await api(srv.url, 'GET', '/api/v1/no-such-route');
  const m1 = await metrics(srv.url);
  const ok1 = m1.get('parley_http_requests_total', { code: '200' });
  const nf1 = m1.get('parley_http_requests_total', { code: '404' });
  // the /metrics request of m0 itself may or may not be counted before its own output
  assert.ok(ok1 - ok0 >= 3 && ok1 - ok0 <= 4, `200s went from ${ok0} to ${ok1}`);
  assert.equal(nf1 - nf0, 2, '404s counted');
  for (const s of m1.samples.filter((x) => x.name === 'parley_http_requests_total')) {
    assert.match(s.labels.code, /^\d{3}$/);
  }
});

test('events published and frames sent count up', T, async () => {
  const c = await createChat(srv.url, 'metrics');
  const s1 = srv.track(await openReadyStream(srv.url, jsonStreamPath(c.id)));
  const s2 = srv.track(await openReadyStream(srv.url, htmlStreamPath(c.id)));
  const m0 = await metrics(srv.url);
  await postMessage(srv.url, c.id, 'one');
  await postMessage(srv.url, c.id, 'two');
  await waitForEvents(s1, 3);
  await waitForEvents(s2, 3);
  await eventually(
    async () => {
      const m1 = await metrics(srv.url);
      return (
        m1.sum('parley_events_published_total') - m0.sum('parley_events_published_total') === 2 &&
        m1.sum('parley_sse_frames_sent_total') - m0.sum('parley_sse_frames_sent_total') >= 4
      );
    },
    { timeout: 1000, what: 'events_published +2 and frames_sent +4' },
  );
  await sleep(100);
  const m2 = await metrics(srv.url);
  assert.equal(m2.sum('parley_events_published_total') - m0.sum('parley_events_published_total'), 2, 'one published event per message, not per subscriber');
});
