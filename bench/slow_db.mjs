// Slow database: Parley on PostgreSQL behind a proxy that delays every packet by
// SLOW_DB_DELAY_MS each way (default 10: 20 ms per round trip, as a database across a
// region), against the same on the cluster's own socket as the baseline. Three clients post to chat A
// as fast as they are answered while an echo bot types a 60-word reply in chat B (a word
// every 50 ms); meanwhile /healthz and a static file are fetched every 50 ms. Prints a
// JSON line per run: posts/s, /healthz and static file latency, and the gaps between
// chat B's tokens (what a reader of another chat sees).
// Run: make bench-slow-db (scripts/with-postgres.sh gives PARLEY_TEST_PG).
import { spawn, execFileSync } from 'node:child_process';
import { delayingProxy } from '../tests/http/delay_proxy.mjs';

const BIN = process.env.PARLEY_BIN || 'build/parley';
const DELAY = Number(process.env.SLOW_DB_DELAY_MS || 10);
const SECONDS = Number(process.env.SLOW_DB_SECONDS || 8);
const ADMIN = process.env.PARLEY_TEST_PG;
if (!ADMIN) {
  console.error('slow_db.mjs: run it through scripts/with-postgres.sh (PARLEY_TEST_PG is not set)');
  process.exit(2);
}
const SOCKET_DIR = new URL(ADMIN.replace('@/', '@x/')).searchParams.get('host');
const SOCKET = `${SOCKET_DIR}/.s.PGSQL.5432`;

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Parley on a new database db, through the proxy at port (0: on the socket itself). */
async function startParley(port, db) {
  execFileSync('psql', ['-X', '-q', ADMIN, '-c', `CREATE DATABASE ${db}`]);
  const at = port ? `postgres://parley@127.0.0.1:${port}/${db}` : `postgres://parley@/${db}?host=${SOCKET_DIR}`;
  const proc = spawn(BIN, ['serve', '--listen', '127.0.0.1:0', '--auth', 'none', '--typing-ms', '50',
    '--db', at], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => {
      const m = /listening on (\S+)/.exec(String(d));
      if (m) resolve(m[1]);
    });
    proc.on('exit', (code) => reject(new Error(`parley exited early: ${code}`)));
  });
  return { proc, url };
}

const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return Number(s[Math.min(s.length - 1, Math.floor(q * s.length))].toFixed(1));
};
const summary = (xs) => ({ n: xs.length, p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: quantile(xs, 1) });

/** Arrival times of the token events on the chat's stream (its reader runs until the server ends). */
async function tokenTimes(url, chatId) {
  const times = [];
  const res = await fetch(`${url}/api/v1/chats/${chatId}/events`);
  const reader = res.body.getReader();
  (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done) return;
      const now = performance.now();
      for (const line of new TextDecoder().decode(value).split('\n'))
        if (line === 'event: token') times.push(now);
    }
  })();
  return times;
}

/** One run with the given delay each way (0: no proxy); its JSON summary. */
async function measure(delay) {
  const proxy = delay ? await delayingProxy(SOCKET, delay) : null;
  const { proc, url } = await startParley(proxy ? proxy.port : 0, `slow_db_${delay}`);
  try {
    const call = async (method, p, body) => (await fetch(url + p, { method, headers: { 'content-type': 'application/json' },
      body: body && JSON.stringify(body) })).json();
    const bot = await call('POST', '/api/v1/bots', { name: 'Echo', backend: 'echo' });
    const a = await call('POST', '/api/v1/chats', { title: 'A' });
    const b = await call('POST', '/api/v1/chats', { title: 'B', bots: [bot.id] });
    const tokens = await tokenTimes(url, b.id);

    let running = true;
    let posts = 0;
    const latency = { healthz: [], static: [] };
    const poster = async () => {
      while (running) {
        await call('POST', `/api/v1/chats/${a.id}/messages`, { author: 'Ada', body: 'hello' });
        posts++;
      }
    };
    const timed = async (p, into) => {
      const t = performance.now();
      await (await fetch(url + p)).arrayBuffer();
      into.push(performance.now() - t);
    };
    const prober = async () => {
      while (running) {
        await timed('/healthz', latency.healthz);
        await timed('/static/app.js', latency.static);
        await sleep(50);
      }
    };
    const t0 = performance.now();
    const clients = [poster(), poster(), poster(), prober()];
    const words = Array.from({ length: 60 }, (_, i) => `word${i + 1}`).join(' ');
    await call('POST', `/api/v1/chats/${b.id}/messages`, { author: 'Bob', body: words });
    await sleep(SECONDS * 1000);
    running = false;
    await Promise.all(clients);
    const seconds = (performance.now() - t0) / 1000;
    const gaps = tokens.slice(1).map((t, i) => t - tokens[i]);
    return {
      round_trip_delay_ms: 2 * delay,
      posts_per_s: Number((posts / seconds).toFixed(1)),
      healthz_ms: summary(latency.healthz),
      static_ms: summary(latency.static),
      other_chat_token_gap_ms: gaps.length ? summary(gaps) : null,
    };
  } finally {
    proc.kill('SIGTERM');
    if (proxy) proxy.close();
  }
}

const base = await measure(0);
console.log(JSON.stringify(base));
const slow = await measure(DELAY);
console.log(JSON.stringify(slow));
const ratio = (k, f) => Number((f(slow[k]) / f(base[k])).toFixed(2));
console.log(JSON.stringify({ slow_vs_baseline: { posts_per_s: ratio('posts_per_s', (x) => x),
  healthz_p50: ratio('healthz_ms', (x) => x.p50), static_p50: ratio('static_ms', (x) => x.p50),
  other_chat_token_gap_p50: ratio('other_chat_token_gap_ms', (x) => x.p50) } }));
process.exit(0);
