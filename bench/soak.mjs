// Soak: a bounded mixed load against build/parley for SOAK_SECONDS (default 180):
// subscribers connecting and leaving, people posting, bots replying word by word,
// and slow readers that never read (cut off by the stream buffer bound). Memory (RSS)
// and open file descriptors are read from /proc at the start (after a warm-up) and at
// the end (after every client left); they must come back to the baseline.
// Run: make soak   (or: SOAK_SECONDS=60 node bench/soak.mjs)
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const SECONDS = Number(process.env.SOAK_SECONDS || 180);
const BIN = process.env.PARLEY_BIN || 'build/parley';
const CHATS = 20;
const STREAMS = 200;          // subscribers open at any time
const RSS_SLACK = 1.25;       // end RSS may exceed the baseline by 25% (allocator caches)
const RSS_SLACK_KB = 16384;   // or by 16 MiB, whichever is larger

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const pick = (a) => a[Math.floor(Math.random() * a.length)];

function start() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-soak-'));
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--db', path.join(dir, 'soak.db'),
    '--auth', 'none', '--typing-ms', '5', '--stream-buffer', '64', '--keepalive', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
  proc.stderr.on('data', () => {});
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.]+:(\d+))/);
      if (m) resolve({ proc, url: m[1], port: Number(m[2]), dir });
    });
    proc.on('exit', (code) => reject(new Error(`parley exited early: ${code}`)));
  });
}

function usage(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    rssKb: Number(status.match(/VmRSS:\s+(\d+)/)[1]),
    fds: fs.readdirSync(`/proc/${pid}/fd`).length,
  };
}

async function api(url, method, p, body) {
  const res = await fetch(url + p, { method, headers: { 'Content-Type': 'application/json' },
    body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** A raw subscriber; a slow one never reads after the head. */
function subscribe(port, chatId, { slow = false, html = false } = {}) {
  const sock = net.connect(port, '127.0.0.1');
  const route = html ? `/chats/${chatId}/events` : `/api/v1/chats/${chatId}/events`;
  sock.on('error', () => {});
  sock.on('connect', () => {
    sock.write(`GET ${route} HTTP/1.1\r\nHost: soak\r\n\r\n`);
    if (slow) setTimeout(() => sock.pause(), 50);
  });
  if (!slow) sock.on('data', () => {});
  return sock;
}

async function main() {
  const srv = await start();
  const stats = { posts: 0, subscribes: 0, slow: 0, errors: 0 };
  try {
    const bots = [];
    for (const [name, backend] of [['SoakEcho', 'echo'], ['SoakEliza', 'eliza'], ['SoakDice', 'dice']]) {
      bots.push(await api(srv.url, 'POST', '/api/v1/bots', { name, backend }));
    }
    const chats = [];
    for (let i = 0; i < CHATS; i++) {
      chats.push(await api(srv.url, 'POST', '/api/v1/chats',
        { title: `soak ${i}`, bots: bots.map((b) => b.id), policy: 'mentions' }));
    }
    // warm-up: one round of everything, then the baseline with no client connected
    const warm = chats.map((c) => subscribe(srv.port, c.id));
    await api(srv.url, 'POST', `/api/v1/chats/${chats[0].id}/messages`, { author: 'soak', body: '@SoakEcho warm up' });
    await sleep(1500);
    warm.forEach((s) => s.destroy());
    await sleep(1500);
    const before = usage(srv.proc.pid);
    console.log(`baseline: rss ${before.rssKb} KiB, fds ${before.fds}`);

    const open = new Set();
    const deadline = Date.now() + SECONDS * 1000;
    const churn = (async () => {
      while (Date.now() < deadline) {
        while (open.size < STREAMS) {
          const slow = Math.random() < 0.05;
          const s = subscribe(srv.port, pick(chats).id, { slow, html: Math.random() < 0.5 });
          open.add(s);
          stats.subscribes++;
          if (slow) stats.slow++;
          // slow readers stay long enough to fill their buffers and be cut off
          const life = slow ? 15000 : 500 + Math.random() * 5000;
          setTimeout(() => { s.destroy(); open.delete(s); }, life);
        }
        await sleep(20);
      }
    })();
    const posting = (async () => {
      const bodies = ['@SoakEcho hello there', '@SoakEliza I am tired of tests', '@SoakDice 3d6+2 and d20',
        'just people talking', '@SoakEcho ' + 'long '.repeat(2000)];
      while (Date.now() < deadline) {
        try {
          await api(srv.url, 'POST', `/api/v1/chats/${pick(chats).id}/messages`, { author: 'soak', body: pick(bodies) });
          stats.posts++;
        } catch { stats.errors++; }
        await sleep(10);
      }
    })();
    let last = Date.now();
    while (Date.now() < deadline) {
      await sleep(1000);
      if (Date.now() - last >= 30000) {
        last = Date.now();
        const u = usage(srv.proc.pid);
        console.log(`  ${Math.round((deadline - Date.now()) / 1000)} s left: rss ${u.rssKb} KiB, fds ${u.fds}, ` +
          `open streams ${open.size}, posts ${stats.posts}`);
      }
    }
    await Promise.all([churn, posting]);
    for (const s of open) s.destroy();
    // let replies finish and the server notice every close
    await sleep(4000);
    const after = usage(srv.proc.pid);
    const m = await (await fetch(srv.url + '/metrics')).text();
    const subs = Number(m.match(/^parley_sse_subscribers (\d+)/m)[1]);
    const dropped = Number(m.match(/^parley_sse_dropped_slow_total (\d+)/m)[1]);
    console.log(`end:      rss ${after.rssKb} KiB, fds ${after.fds}, subscribers ${subs}`);
    console.log(`load:     ${stats.subscribes} subscriptions (${stats.slow} slow, ${dropped} cut off), ` +
      `${stats.posts} posts, ${stats.errors} errors, ${SECONDS} s`);
    const rssOk = after.rssKb <= Math.max(before.rssKb * RSS_SLACK, before.rssKb + RSS_SLACK_KB);
    // (idle keep-alive connections of this client may come and go: fewer is fine)
    const fdsOk = after.fds <= before.fds;
    const ok = fdsOk && subs === 0 && rssOk && stats.errors === 0;
    console.log(`soak: fds ${fdsOk ? 'back to baseline' : 'LEAKED'}, rss ${rssOk ? 'within bounds' : 'GREW'}, ` +
      `subscribers ${subs === 0 ? '0' : 'LEFT OPEN'} → ${ok ? 'ok' : 'FAILED'}`);
    process.exitCode = ok ? 0 : 1;
  } finally {
    srv.proc.kill('SIGTERM');
    await new Promise((r) => srv.proc.on('exit', r));
    fs.rmSync(srv.dir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(e); process.exit(1); });
