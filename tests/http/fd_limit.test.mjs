// At the file-descriptor limit the server pauses accepting instead of spinning or
// crashing, and serves again once descriptors are free (SPEC §1, issue: hostile input).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { withServer, sleep } from './helpers.mjs';

const LIMIT = 64;

function cpuSeconds(pid) {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks of 1/100 s
}

function connect(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => resolve(s));
    s.on('error', () => resolve(s));
  });
}

async function healthz(port) {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) });
    return r.status;
  } catch {
    return 0;
  }
}

// parley runs under `ulimit -n LIMIT`; withServer stops it with SIGTERM afterwards and
// checks exit 0 and no sanitizer report.
test('out of descriptors: accepting pauses (no spinning), then recovers', { timeout: 20000 }, () => withServer({ fdLimit: LIMIT, args: ['--threads', '1'] }, async (srv) => {
  assert.equal(await healthz(srv.port), 200);
  // more idle connections than descriptors: the kernel queues the rest in the backlog
  const held = [];
  for (let i = 0; i < LIMIT + 40; i++) held.push(await connect(srv.port));
  await sleep(300);
  const before = cpuSeconds(srv.proc.pid);
  await sleep(2000);
  const used = cpuSeconds(srv.proc.pid) - before;
  assert.ok(used < 0.5, `the server used ${used} s of CPU in 2 s while out of descriptors`);
  assert.equal(srv.proc.exitCode, null, 'still running');
  // free the descriptors: the server serves again
  held.forEach((s) => s.destroy());
  let status = 0;
  for (let i = 0; i < 40 && status !== 200; i++) {
    status = await healthz(srv.port);
    if (status !== 200) await sleep(100);
  }
  assert.equal(status, 200, 'serves again once descriptors are free');
  assert.match(srv.stderr(), /accept: Too many open files/);
}));

/** Opens a raw stream request; resolves after `wait` ms with what came: 'ok' (200), 'busy' (503), 'none' (nothing yet), or 'dropped' (closed without a status line). */
function streamAttempt(port, path, wait) {
  return new Promise((resolve) => {
    let got = '';
    let closed = false;
    const s = net.connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`));
    s.on('data', (d) => { got += d.toString('latin1'); });
    s.on('error', () => {});
    s.on('close', () => { closed = true; });
    setTimeout(() => {
      const status = /^HTTP\/1\.1 (\d{3})/.exec(got)?.[1];
      resolve({ socket: s, got, what: status === '200' ? 'ok' : status === '503' ? 'busy' : closed ? 'dropped' : status ? `status ${status}` : 'none' });
    }, wait);
  });
}

test('out of descriptors for a stream: 503 with a detail and Retry-After, never a connection dropped without an answer', { timeout: 30000 }, () => withServer({ fdLimit: LIMIT, args: ['--threads', '1'] }, async (srv) => {
  const chat = await (await fetch(`http://127.0.0.1:${srv.port}/api/v1/chats`, { method: 'POST', headers: { 'Content-Type': 'application/json', 'Sec-Fetch-Site': 'same-origin' }, body: JSON.stringify({ title: 'full' }) })).json();
  const attempts = await Promise.all(Array.from({ length: 70 }, () => streamAttempt(srv.port, `/api/v1/chats/${chat.id}/events`, 3000)));
  const counts = {};
  for (const a of attempts) counts[a.what] = (counts[a.what] || 0) + 1;
  const busy = attempts.find((a) => a.what === 'busy');
  attempts.forEach((a) => a.socket.destroy());
  assert.equal(counts.dropped, undefined, `answers: ${JSON.stringify(counts)}`);
  assert.ok(counts.busy > 0, `some streams found no descriptor: ${JSON.stringify(counts)}`);
  assert.match(busy.got, /Retry-After: 1/i);
  assert.match(busy.got, /too many connections open; try again soon/);
}));
