// Input edge cases found in review: none may crash the server or slip past validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServer, api, createChat, postMessage, postForm, rawRequest } from './helpers.mjs';

const srv = useServer();

test('an unknown bot name long enough to be cut mid-character is a clean 422', async () => {
  const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'x', bots: ['é'.repeat(100)] });
  assert.equal(r.status, 422, r.text);
  assert.match(r.json.detail, /^bots: unknown bot/);
  assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
});

test('a NUL byte in a form field is refused, nothing stored', async () => {
  const chat = await createChat(srv.url, 'nul');
  const r = await postForm(srv.url, `/chats/${chat.id}/messages`, { author: 'Ada', body: 'hello\u0000evil' });
  assert.equal(r.status, 400);
  const list = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages`);
  assert.equal(list.json.messages.length, 0);
});

test('a page form in another encoding (text/plain, multipart) is 415, nothing made', async () => {
  const before = (await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length;
  const plain = await fetch(`${srv.url}/chats`, { method: 'POST', redirect: 'manual',
    headers: { 'Content-Type': 'text/plain' }, body: 'title=by-text-plain' });
  assert.equal(plain.status, 415, await plain.text());
  const fd = new FormData();
  fd.append('title', 'by-multipart');
  const multi = await fetch(`${srv.url}/chats`, { method: 'POST', redirect: 'manual', body: fd });
  assert.equal(multi.status, 415);
  assert.match(await multi.text(), /application\/x-www-form-urlencoded/, 'the page says how forms are sent');
  assert.equal((await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length, before, 'no chat made');
});

test('an API body with Content-Type twice (JSON, then something else) is 415, nothing stored', async () => {
  const chat = await createChat(srv.url, 'two types');
  const body = JSON.stringify({ author: 'Ada', body: 'typed twice' });
  const r = await rawRequest(srv.port, `POST /api/v1/chats/${chat.id}/messages HTTP/1.1\r\nHost: 127.0.0.1:${srv.port}\r\n`
    + 'Content-Type: application/json\r\nContent-Type: text/plain\r\n'
    + `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  assert.equal(r.status, 415, r.body);
  assert.deepEqual((await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages`)).json.messages, []);
});

test('?after beyond the largest integer means after everything', async () => {
  const chat = await createChat(srv.url, 'after');
  await postMessage(srv.url, chat.id, 'one');
  const r = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}/messages?after=18446744073709551615`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.json.messages, []);
});

test('bot numbers that are not finite, and URLs without a host, are refused', async () => {
  const bad = await postForm(srv.url, '/bots', { name: 'Nanny', backend: 'echo', temperature: 'nan' });
  assert.equal(bad.status, 422);
  assert.match(bad.text, /temperature/);
  const hex = await postForm(srv.url, '/bots', { name: 'Hexy', backend: 'echo', max_tokens: '0x20' });
  assert.equal(hex.status, 422);
  const url = await api(srv.url, 'POST', '/api/v1/bots', { name: 'Hostless', backend: 'openai', base_url: 'http://' });
  assert.equal(url.status, 422);
  assert.match(url.json.detail, /^base_url/);
  const list = await api(srv.url, 'GET', '/api/v1/bots');
  assert.deepEqual(list.json.bots.map((b) => b.name), []);
});

test('"policy": null counts as not given', async () => {
  const r = await api(srv.url, 'POST', '/api/v1/chats', { title: 'p', policy: null });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.policy, 'round-robin');
  const p = await api(srv.url, 'PATCH', `/api/v1/chats/${r.json.id}`, { policy: null, title: 'q' });
  assert.equal(p.status, 200, p.text);
  assert.equal(p.json.policy, 'round-robin');
});
