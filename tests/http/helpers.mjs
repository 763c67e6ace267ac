// Shared helpers for Parley's black-box HTTP tests.
//
// Everything here talks to a real `parley` binary over real sockets:
//   startServer()   spawn `parley serve --listen 127.0.0.1:0 --db <temp> --auth none` and wait
//                   for the "parley listening on http://HOST:PORT" line (auth: 'accounts' or
//                   'proxy', or args containing --auth, choose another mode); <temp> is a
//                   fresh PostgreSQL database instead on the PostgreSQL pass (onPostgres())
//   useServer()     one server for a whole file (or describe block): started and stopped by hooks
//   useServerPool() servers started, crashed and restarted inside tests, cleaned up after the file
//   withServer()    one server for one test
//   runParley()     run the binary to completion (CLI tests)
//   api()           JSON request via fetch
//   createBot(), createChat(), chatWithBots(), postMessage(), postMany()   setup through the API
//   rawRequest()    hand-written HTTP/1.1 request over a TCP socket
//   openStream()    raw-socket SSE reader (chunked decoding + exact SSE frame parsing)
//   openReadyStream(), openSnapshotStream()   a stream once its first event arrived
//   replies(), postAndSettle(), postAndSee()  bot replies and the turn flow seen on a stream
//   metrics()       Prometheus text parser
//   storedText()    everything a database holds, as text (the SQLite files, or a pg_dump)
import { before, after } from 'node:test';
import { spawn, execFileSync } from 'node:child_process';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import { onPostgres, createPostgresDb, dropPostgresDb } from './postgres.mjs';

export { onPostgres };

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export const ID_RE = /^[a-z0-9]{12}$/;
export const RFC3339_UTC_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;
export const SANITIZER_RE = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/;

export function parleyBin() {
  const bin = process.env.PARLEY_BIN || 'build/asan/parley';
  return path.isAbsolute(bin) ? bin : path.resolve(REPO_ROOT, bin);
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** A fresh temp directory; removed by the returned cleanup(). */
export function tempDir(prefix = 'parley-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** True when `db` (a --db value) names a PostgreSQL database rather than a SQLite file. */
export const isPostgresUrl = (db) => /^postgres(ql)?:\/\//.test(db || '');

/**
 * A database for a server of the current pass: a SQLite file in `dir`, or on the PostgreSQL
 * pass a new database on the test cluster. Returns {db, remove()}; remove() is idempotent.
 */
function newDatabase(dir) {
  if (!onPostgres()) return { db: path.join(dir, 'parley.db'), remove: () => {} };
  const db = createPostgresDb();
  let dropped = false;
  return {
    db,
    remove() {
      if (dropped) return;
      dropped = true;
      try {
        dropPostgresDb(db);
      } catch (e) {
        // the cluster is gone or the database busy: leave it (the cluster is thrown away)
        process.stderr.write(`helpers.mjs: could not drop ${db}: ${e.message}\n`);
      }
    },
  };
}

/**
 * Everything database `db` holds, as text (latin1), to look for what must not be stored:
 * a SQLite file with its -wal and -journal, or a PostgreSQL database's data (pg_dump).
 */
export function storedText(db) {
  if (isPostgresUrl(db)) {
    return execFileSync('pg_dump', ['--data-only', '--no-owner', '--dbname', db], { encoding: 'latin1', timeout: 10000, maxBuffer: 256 << 20 });
  }
  return ['', '-wal', '-journal']
    .map((x) => db + x)
    .filter((f) => fs.existsSync(f))
    .map((f) => fs.readFileSync(f).toString('latin1'))
    .join('\n');
}

/** The environment for a child parley: ours minus any PARLEY_* (so the host cannot leak config in). */
function childEnv(extra = {}) {
  const env = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('PARLEY_')) continue;
    env[k] = v;
  }
  if (!env.ASAN_OPTIONS) env.ASAN_OPTIONS = 'detect_leaks=1:abort_on_error=0';
  if (!env.UBSAN_OPTIONS) env.UBSAN_OPTIONS = 'print_stacktrace=1';
  return { ...env, ...extra };
}

export function assertNoSanitizerReport(stderr, what = 'parley') {
  const m = SANITIZER_RE.exec(stderr);
  if (m) {
    const start = Math.max(0, m.index - 200);
    assert.fail(`${what}: sanitizer report on stderr:\n${stderr.slice(start, start + 4000)}`);
  }
}

/** A free TCP port on 127.0.0.1 (closed again before returning; small race accepted). */
export async function freePort() {
  const srv = net.createServer();
  await new Promise((res, rej) => srv.listen(0, '127.0.0.1', res).on('error', rej));
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Hold a TCP port busy on 127.0.0.1; returns {port, close()}. */
export async function occupyPort() {
  const srv = net.createServer((s) => s.destroy());
  await new Promise((res, rej) => srv.listen(0, '127.0.0.1', res).on('error', rej));
  return { port: srv.address().port, close: () => new Promise((r) => srv.close(r)) };
}

/**
 * Run parley to completion. Returns {code, signal, stdout, stderr, timedOut}.
 * The process is killed (SIGKILL) after `timeout` ms.
 */
export function runParley(args, { env = {}, timeout = 5000, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const proc = spawn(parleyBin(), args, {
      env: childEnv(env),
      cwd: cwd || os.tmpdir(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    proc.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      timedOut = true;
      proc.kill('SIGKILL');
    }, timeout);
    proc.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    proc.on('close', (code, signal) => {
      clearTimeout(t);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
  });
}

const LISTEN_RE = /^parley listening on http:\/\/([^\s:]+):(\d+)\s*$/;

/**
 * Start `parley serve`.
 * options:
 *   args      extra arguments after `serve ...`
 *   env       extra environment (PARLEY_* from the host are removed first)
 *   db        database path or postgres:// URL; default a fresh temp file, or on the PostgreSQL
 *             pass a fresh database (removed on stop unless given; keepDb keeps it)
 *   listen    value for --listen (default '127.0.0.1:0'); null = do not pass --listen
 *   noDbFlag  true = do not pass --db
 *   startTimeout  ms to wait for the listening line
 *   fdLimit   run under `ulimit -n fdLimit` (through /bin/sh, which then execs parley)
 *   fsizeLimit  bytes any file it writes may grow to (prlimit --fsize, SIGXFSZ ignored):
 *             its writes then fail as on a full disk; raise it with `prlimit --pid`
 * returns {url, host, port, proc, db, dir, stdout(), stderr(), stop(signal), kill(), cleanupDb()}
 * (start another server on the same data with startServer({db: server.db}))
 */
export async function startServer({
  args = [],
  env = {},
  db,
  listen = '127.0.0.1:0',
  noDbFlag = false,
  startTimeout = 10000,
  cwd,
  fdLimit,
  fsizeLimit,
  auth = 'none',
  bin = parleyBin(),
} = {}) {
  if (!fs.existsSync(bin)) {
    throw new Error(`parley binary not found at ${bin} (build it, or set PARLEY_BIN)`);
  }
  let tmp = null;
  let made = null; // the database made here (removed with tmp)
  if (!db && !noDbFlag) {
    tmp = tempDir();
    made = newDatabase(tmp.dir);
    db = made.db;
  }
  const removeDb = () => {
    if (made) made.remove();
    if (tmp) tmp.cleanup();
  };
  const argv = ['serve'];
  if (listen !== null) argv.push('--listen', listen);
  if (!noDbFlag) argv.push('--db', db);
  if (auth && !args.includes('--auth')) argv.push('--auth', auth);
  argv.push(...args);

  const [file, fileArgs] = fdLimit
    ? ['/bin/sh', ['-c', `ulimit -n ${Number(fdLimit)} && exec "$0" "$@"`, bin, ...argv]]
    : fsizeLimit
      ? ['/bin/sh', ['-c', `trap '' XFSZ; exec prlimit --fsize=${Number(fsizeLimit)}:unlimited -- "$0" "$@"`, bin, ...argv]]
      : [bin, argv];
  const proc = spawn(file, fileArgs, {
    env: childEnv(env),
    cwd: cwd || (tmp ? tmp.dir : os.tmpdir()),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
    // A failed spawn (missing binary, ETXTBSY while it is being relinked) emits
    // 'error' and never 'exit'; without this, waiting for the exit would hang.
    proc.on('error', (error) => {
      if (proc.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });
  let exitInfo = null;
  exited.then((e) => (exitInfo = e));

  let url, host, port;
  try {
    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`parley did not print its listening line within ${startTimeout} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, startTimeout);
      proc.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      proc.stdout.setEncoding('utf8').on('data', (d) => {
        stdout += d;
        if (url) return;
        const nl = stdout.indexOf('\n');
        if (nl < 0) return;
        const first = stdout.slice(0, nl);
        const m = LISTEN_RE.exec(first);
        clearTimeout(timer);
        if (!m) {
          reject(new Error(`unexpected first stdout line: ${JSON.stringify(first)}`));
          return;
        }
        host = m[1];
        port = Number(m[2]);
        url = `http://${host}:${port}`;
        resolve();
      });
      exited.then(({ code, signal }) => {
        clearTimeout(timer);
        reject(new Error(`parley exited early (code ${code}, signal ${signal})\nstdout: ${stdout}\nstderr: ${stderr}`));
      });
    });
  } catch (e) {
    if (!exitInfo) proc.kill('SIGKILL');
    await exited;
    removeDb();
    throw e;
  }

  let stopped = false;
  const server = {
    url,
    host,
    port,
    proc,
    db,
    dir: tmp ? tmp.dir : isPostgresUrl(db) ? null : path.dirname(db || '.'),
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    /**
     * Send `signal`, wait for exit (fail after 5 s), check the exit code (0 for
     * SIGTERM/SIGINT) and that stderr holds no sanitizer report. Returns the exit code.
     */
    async stop(signal = 'SIGTERM', { timeout = 5000, keepDb = false } = {}) {
      if (stopped) return exitInfo ? exitInfo.code : null;
      stopped = true;
      try {
        if (!exitInfo) proc.kill(signal);
        const t0 = Date.now();
        const res = await Promise.race([exited, sleep(timeout).then(() => null)]);
        if (!res) {
          proc.kill('SIGKILL');
          await exited;
          assert.fail(`parley did not exit within ${timeout} ms of ${signal}\nstderr tail: ${stderr.slice(-2000)}`);
        }
        if (signal === 'SIGTERM' || signal === 'SIGINT') {
          assert.equal(res.signal, null, `parley died of signal ${res.signal} after ${signal}\nstderr tail: ${stderr.slice(-2000)}`);
          assertNoSanitizerReport(stderr);
          assert.equal(res.code, 0, `parley exit code after ${signal} (took ${Date.now() - t0} ms)\nstderr tail: ${stderr.slice(-2000)}`);
        } else if (signal !== 'SIGKILL') {
          assertNoSanitizerReport(stderr);
        }
        return res.code;
      } finally {
        if (!keepDb) removeDb();
      }
    },
    /** SIGKILL, wait; keeps the db. */
    async kill() {
      stopped = true;
      if (!exitInfo) proc.kill('SIGKILL');
      await exited;
    },
    cleanupDb() {
      removeDb();
    },
  };
  return server;
}

// ---------------------------------------------------------------------------
// Servers for a file, for a test, or started and restarted inside tests

// Servers started by useServer() and useServerPool() that are still running. Once an after
// hook throws, node:test skips the suite's later after hooks, and a server they would have
// stopped keeps the test file's process alive for ever; so a failing hook kills them all.
const alive = new Set();
const killedInCleanup = new Set();

/** Kill every server still in `alive` (a failing after hook does this: later hooks will not run). */
async function killAlive() {
  for (const s of alive) {
    killedInCleanup.add(s);
    await s.kill();
    s.cleanupDb();
  }
  alive.clear();
}

/** Close what track() was given (streams, sockets, fake model servers, browsers), in that order. */
async function closeAll(items) {
  for (const x of items) {
    try {
      await (typeof x.close === 'function' ? x.close() : x.destroy());
    } catch {
      // already gone
    }
  }
  items.clear();
}

/**
 * A stand-in for something a before() hook creates: forwards property reads to it once set,
 * so a test file can write `const srv = useServer()` at the top and `srv.url` in its tests.
 * `own` holds properties served by the stand-in itself (such as track()); proxy.ready()
 * resolves with the real thing once set (rejects if fail(error) is called instead). Node 20
 * runs a file's top-level before() hooks concurrently, so a hook that needs the server
 * awaits srv.ready() first. Returns {proxy, set, fail, get}.
 */
export function standIn(what, own = {}) {
  let target = null;
  let settle;
  const ready = new Promise((resolve, reject) => (settle = { resolve, reject }));
  ready.catch(() => {}); // a failed start is reported by its hook
  own = { ready: () => ready, ...own };
  const proxy = new Proxy(own, {
    get(o, k) {
      if (k in o) return o[k];
      if (k === 'then') return undefined; // not a promise
      if (!target) throw new Error(`${what} is not there yet (use it inside tests and hooks): .${String(k)}`);
      const v = target[k];
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return {
    proxy,
    set: (t) => {
      target = t;
      settle.resolve(t);
      return t;
    },
    fail: (e) => settle.reject(e),
    get: () => target,
  };
}

/**
 * Where the test file called into these helpers ("bots_api.test.mjs:25"). Hooks registered
 * here are reported at helpers.mjs, so their errors name the test file themselves.
 */
export function callerLocation() {
  for (const line of (new Error().stack || '').split('\n').slice(1)) {
    const m = /(?:file:\/\/)?(\/[^():]+):(\d+):\d+\)?$/.exec(line.trim());
    if (m && !/\/helpers\.mjs$/.test(m[1]) && !m[1].startsWith('/node:')) return `${path.basename(m[1])}:${m[2]}`;
  }
  return 'a test file';
}

/** Prefix error `e` (thrown by a hook registered for the test file at `where`) with that place. */
function blame(e, where) {
  if (e && typeof e.message === 'string') {
    const was = e.message;
    e.message = `${where}: ${was}`;
    if (typeof e.stack === 'string') e.stack = e.stack.replace(was, e.message); // what reporters print
  }
  return e;
}

/** Register before(fn) that fills stand-in `s` with what fn returns (or fails it). */
export function fillBefore(s, fn, options, where = callerLocation()) {
  before(async () => {
    try {
      s.set(await fn());
    } catch (e) {
      s.fail(e);
      throw blame(e, where);
    }
  }, options);
}

/**
 * Start a server (startServer options, plus hookTimeout for the hooks) before the tests of
 * the current file or describe block, stop it after them (exit 0, no sanitizer report).
 * Returns a stand-in for the server (srv.url, srv.port, srv.stderr() …) with two more
 * methods: srv.track(x) closes x (stream, socket, fake model server …) before the server
 * stops; srv.ready() resolves once the server is up (for the file's own before hooks).
 */
export function useServer({ hookTimeout, ...options } = {}) {
  const where = `the server of ${callerLocation()}`;
  const tracked = new Set();
  const s = standIn('the server', { track: (x) => (tracked.add(x), x) });
  const hookOpts = hookTimeout ? { timeout: hookTimeout } : undefined;
  fillBefore(s, async () => {
    const server = await startServer(options);
    alive.add(server);
    return server;
  }, hookOpts, where);
  after(async () => {
    await closeAll(tracked);
    const server = s.get();
    if (!server || killedInCleanup.has(server)) return;
    try {
      await server.stop(); // it has exited once this returns or throws
    } catch (e) {
      await killAlive();
      throw blame(e, where);
    } finally {
      alive.delete(server);
    }
  }, hookOpts);
  return s.proxy;
}

/**
 * For tests that start, kill and restart servers themselves. Returns
 *   freshDb(prefix)    a database path in a new temp directory (removed after the file);
 *                      on the PostgreSQL pass a new database's URL (dropped after the file)
 *   start(options)     startServer(options), remembered until stop()
 *   stop(srv, signal)  SIGTERM/SIGINT: srv.stop(signal) (asserts a clean exit, returns the code);
 *                      SIGKILL: kill, keep the database, return {code, signal}
 *   track(x)           close x after the file, before the servers still running are killed
 * After the file, servers still running are killed and every database removed.
 */
export function useServerPool() {
  const running = new Set();
  const started = [];
  const dirs = [];
  const tracked = new Set();
  // Killing and removing files do not fail; nothing to blame on the test file here.
  after(async () => {
    await closeAll(tracked);
    for (const s of running) {
      await s.kill();
      alive.delete(s);
    }
    for (const s of started) s.cleanupDb();
    for (const d of dirs) d.cleanup();
  });
  return {
    freshDb(prefix) {
      const t = tempDir(prefix);
      const made = newDatabase(t.dir);
      dirs.push({ cleanup: () => (made.remove(), t.cleanup()) });
      return made.db;
    },
    async start(options = {}) {
      const s = await startServer(options);
      running.add(s);
      alive.add(s);
      started.push(s);
      return s;
    },
    async stop(s, signal = 'SIGTERM') {
      running.delete(s);
      alive.delete(s);
      if (signal !== 'SIGKILL') return s.stop(signal);
      await s.kill();
      return s.exited;
    },
    track: (x) => (tracked.add(x), x),
  };
}

/**
 * Run fn(srv) with a server of its own (startServer options). When fn succeeds the server
 * is stopped (a clean exit is asserted, unless fn stopped it itself); when fn fails it is
 * killed, so the failure is the one reported. Its temp database is removed either way.
 */
export async function withServer(options, fn) {
  const srv = await startServer(options);
  let ok = false;
  try {
    const result = await fn(srv);
    ok = true;
    return result;
  } finally {
    if (ok) await srv.stop();
    else await srv.kill();
    srv.cleanupDb();
  }
}

// ---------------------------------------------------------------------------
// JSON / HTTP requests

/**
 * fetch-based request. `body`: object → JSON; string/Buffer → sent as is.
 * Returns {status, headers (Headers), text, json (or undefined)}.
 */
export async function api(base, method, p, body, { headers = {}, redirect = 'manual', timeout = 5000 } = {}) {
  const h = { ...headers };
  let payload;
  if (body !== undefined && body !== null) {
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      payload = body;
      if (!Object.keys(h).some((k) => k.toLowerCase() === 'content-type')) h['Content-Type'] = 'application/json';
    } else {
      payload = JSON.stringify(body);
      h['Content-Type'] = 'application/json';
    }
  }
  const res = await fetch(base + p, {
    method,
    headers: h,
    body: payload,
    redirect,
    signal: AbortSignal.timeout(timeout),
  });
  const text = await res.text();
  let json;
  try {
    json = text.length ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** POST a form (application/x-www-form-urlencoded). */
export async function postForm(base, p, fields, { headers = {}, timeout = 5000 } = {}) {
  const res = await fetch(base + p, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
    redirect: 'manual',
    signal: AbortSignal.timeout(timeout),
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

export async function createChat(base, title = 'Test chat', extra = {}) {
  const r = await api(base, 'POST', '/api/v1/chats', { title, ...extra });
  assert.equal(r.status, 201, `create chat: ${r.status} ${r.text}`);
  return r.json;
}

let nameCounter = 0;
/** A bot name not used before in this test process: prefix + a counter (digits only for ''). */
export function uniqueName(prefix = 'Bot') {
  nameCounter += 1;
  return `${prefix}${nameCounter}`;
}

/** POST /api/v1/bots with `fields`; asserts 201 and returns the Bot. */
export async function createBot(base, fields) {
  const r = await api(base, 'POST', '/api/v1/bots', fields);
  assert.equal(r.status, 201, `create bot ${JSON.stringify(fields)}: ${r.status} ${r.text}`);
  return r.json;
}

/** Create a bot for each of `botFields` (in order), then a chat with them (by id, same order); returns {chat, bots}. */
export async function chatWithBots(base, title, botFields, extra = {}) {
  const bots = [];
  for (const f of botFields) bots.push(await createBot(base, f));
  const chat = await createChat(base, title, { bots: bots.map((b) => b.id), ...extra });
  return { chat, bots };
}

export async function postMessage(base, chatId, body, author = 'Ada') {
  const r = await api(base, 'POST', `/api/v1/chats/${chatId}/messages`, { author, body });
  assert.equal(r.status, 201, `post message: ${r.status} ${r.text}`);
  return r.json;
}

/**
 * Post `count` messages from `concurrency` clients at once (each asserted 201); message i
 * (first, first + 1, …) has body body(i). Returns the Messages in the order answered.
 */
export async function postMany(base, chatId, count, { concurrency = 1, first = 1, body = (i) => `message ${i}`, author = 'Ada' } = {}) {
  const posted = [];
  let next = first;
  const end = first + count;
  const client = async () => {
    while (next < end) {
      const i = next++;
      posted.push(await postMessage(base, chatId, body(i), author));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, client));
  return posted;
}

/** Every message of the chat, oldest first, page by page (GET messages answers 500 at most). */
export async function allMessages(base, chatId) {
  const out = [];
  for (;;) {
    const after = out.length ? out.at(-1).seq : 0;
    const r = await api(base, 'GET', `/api/v1/chats/${chatId}/messages?after=${after}&limit=500`, undefined, { timeout: 20000 });
    assert.equal(r.status, 200, `GET messages: ${r.status}`);
    out.push(...r.json.messages);
    if (r.json.messages.length < 500) return out;
  }
}

export async function getChat(base, chatId) {
  const r = await api(base, 'GET', `/api/v1/chats/${chatId}`);
  assert.equal(r.status, 200, `get chat: ${r.status} ${r.text}`);
  return r.json;
}

/** Assert a JSON error response (from api() or rawRequest()) with status `status` and a string `detail`. */
export function assertError(r, status, what = '') {
  const text = r.text !== undefined ? r.text : r.body;
  assert.equal(r.status, status, `${what} expected ${status}, got ${r.status}: ${text}`);
  const ct = r.headers.get ? r.headers.get('content-type') : r.headers['content-type'];
  assert.match(ct || '', /^application\/json/, `${what} error content-type`);
  const json = r.json !== undefined ? r.json : JSON.parse(text);
  assert.equal(typeof json, 'object', `${what} error body is an object`);
  assert.equal(typeof json.detail, 'string', `${what} error body has a string detail: ${text}`);
  assert.ok(json.detail.length > 0, `${what} detail not empty`);
  return json;
}

// ---------------------------------------------------------------------------
// Raw HTTP over TCP

/** Parse "HTTP/1.1 200 OK\r\nA: b\r\n..." into {status, reason, version, headers (lower-case keys; arrays joined by ', '), rawHeaders}. */
export function parseHead(headText) {
  const lines = headText.split('\r\n');
  const m = /^HTTP\/(\d\.\d) (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (!m) throw new Error(`bad status line: ${JSON.stringify(lines[0])}`);
  const headers = {};
  const rawHeaders = [];
  for (const line of lines.slice(1)) {
    if (!line) continue;
    const i = line.indexOf(':');
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    rawHeaders.push([k, v]);
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  return { version: m[1], status: Number(m[2]), reason: m[3] || '', headers, rawHeaders };
}

/** Incremental HTTP/1.1 chunked-body decoder. push(buf) → array of decoded Buffers; .done after the last chunk. */
export class ChunkedDecoder {
  constructor() {
    this.buf = Buffer.alloc(0);
    this.state = 'size'; // size | data | data-crlf | trailer | done
    this.remaining = 0;
    this.done = false;
    this.error = null;
  }
  push(data) {
    const out = [];
    this.buf = Buffer.concat([this.buf, data]);
    for (;;) {
      if (this.state === 'size') {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) break;
        const line = this.buf.subarray(0, i).toString('latin1');
        this.buf = this.buf.subarray(i + 2);
        const size = parseInt(line.split(';')[0].trim(), 16);
        if (!/^[0-9a-fA-F]+/.test(line.trim()) || Number.isNaN(size)) {
          this.error = new Error(`bad chunk size line ${JSON.stringify(line)}`);
          this.state = 'done';
          break;
        }
        if (size === 0) {
          this.state = 'trailer';
        } else {
          this.remaining = size;
          this.state = 'data';
        }
      } else if (this.state === 'data') {
        if (!this.buf.length) break;
        const n = Math.min(this.remaining, this.buf.length);
        out.push(this.buf.subarray(0, n));
        this.buf = this.buf.subarray(n);
        this.remaining -= n;
        if (this.remaining === 0) this.state = 'data-crlf';
      } else if (this.state === 'data-crlf') {
        if (this.buf.length < 2) break;
        if (this.buf[0] !== 13 || this.buf[1] !== 10) {
          this.error = new Error('chunk data not followed by CRLF');
          this.state = 'done';
          break;
        }
        this.buf = this.buf.subarray(2);
        this.state = 'size';
      } else if (this.state === 'trailer') {
        const i = this.buf.indexOf('\r\n');
        if (i < 0) break;
        const line = this.buf.subarray(0, i);
        this.buf = this.buf.subarray(i + 2);
        if (line.length === 0) {
          this.state = 'done';
          this.done = true;
        }
      } else {
        break;
      }
    }
    return out;
  }
}

/**
 * Send `request` (string or Buffer, written as is) to 127.0.0.1:port and read the response.
 * Reads until the server closes, or until a Content-Length body is complete, or a
 * chunked body's last chunk arrived. Returns {status, headers, body (string), raw}.
 */
export function rawRequest(port, request, { timeout = 5000, host = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let raw = Buffer.alloc(0);
    let finished = false;
    const timer = setTimeout(() => finish(new Error(`raw request timed out; got ${JSON.stringify(raw.toString('latin1').slice(0, 500))}`)), timeout);
    function tryParse(closed) {
      const i = raw.indexOf('\r\n\r\n');
      if (i < 0) {
        if (closed) finish(new Error(`connection closed before a response head; got ${JSON.stringify(raw.toString('latin1'))}`));
        return;
      }
      const head = parseHead(raw.subarray(0, i).toString('latin1'));
      const rest = raw.subarray(i + 4);
      if (head.headers['transfer-encoding'] && /chunked/i.test(head.headers['transfer-encoding'])) {
        const dec = new ChunkedDecoder();
        const body = Buffer.concat(dec.push(rest));
        if (dec.done || closed) return finish(null, { ...head, body: body.toString('utf8'), raw });
      } else if (head.headers['content-length'] !== undefined) {
        const len = Number(head.headers['content-length']);
        if (rest.length >= len || closed) return finish(null, { ...head, body: rest.subarray(0, len).toString('utf8'), raw });
      } else if (closed || head.status === 204 || head.status === 304) {
        return finish(null, { ...head, body: rest.toString('utf8'), raw });
      }
    }
    function finish(err, res) {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(res);
    }
    sock.on('data', (d) => {
      raw = Buffer.concat([raw, d]);
      tryParse(false);
    });
    sock.on('end', () => tryParse(true));
    sock.on('close', () => tryParse(true));
    sock.on('error', (e) => {
      // The server may reset a connection after answering (e.g. 431 before reading the
      // whole request); a response already received still counts.
      if (raw.length) tryParse(true);
      else finish(e);
    });
    sock.write(request);
  });
}

// ---------------------------------------------------------------------------
// SSE

/**
 * Incremental, spec-exact SSE parser (WHATWG "event stream interpretation").
 * Lines end with CRLF, LF or CR. A blank line ends a frame. For every frame we
 * record: id (string or undefined), event (or undefined), dataLines (array),
 * data (dataLines joined with \n, or undefined if none), comments (array of text
 * after ':' with one leading space removed), fields (all [name, value] in order),
 * raw (the frame's exact text, lines and terminator included).
 */
export class SSEParser {
  constructor(onFrame) {
    this.onFrame = onFrame;
    this.pending = '';
    this.cur = null;
    this.rawCur = '';
  }
  push(text) {
    this.pending += text;
    let start = 0;
    for (;;) {
      let i = start;
      let lineEnd = -1;
      let termLen = 0;
      while (i < this.pending.length) {
        const c = this.pending.charCodeAt(i);
        if (c === 10) {
          lineEnd = i;
          termLen = 1;
          break;
        }
        if (c === 13) {
          if (i + 1 >= this.pending.length) break; // need to see what follows a CR
          lineEnd = i;
          termLen = this.pending.charCodeAt(i + 1) === 10 ? 2 : 1;
          break;
        }
        i++;
      }
      if (lineEnd < 0) break;
      const line = this.pending.slice(start, lineEnd);
      const rawLine = this.pending.slice(start, lineEnd + termLen);
      start = lineEnd + termLen;
      this.line(line, rawLine);
    }
    this.pending = this.pending.slice(start);
  }
  /** At end of stream: a lone trailing CR counts as a line end; an unterminated frame is dropped (per spec) but reported as `incomplete`. */
  end() {
    if (this.pending.endsWith('\r')) {
      const line = this.pending.slice(0, -1);
      this.pending = '';
      this.line(line, line + '\r');
    }
    const incomplete = this.pending.length > 0 || this.cur !== null;
    return incomplete ? this.rawCur + this.pending : null;
  }
  line(line, rawLine) {
    if (line === '') {
      if (this.cur) {
        const f = this.cur;
        f.raw = this.rawCur + rawLine;
        f.data = f.dataLines.length ? f.dataLines.join('\n') : undefined;
        this.cur = null;
        this.rawCur = '';
        this.onFrame(f);
      } else {
        // blank line with nothing before it: allowed, nothing to dispatch
      }
      return;
    }
    if (!this.cur) this.cur = { id: undefined, event: undefined, dataLines: [], comments: [], fields: [] };
    this.rawCur += rawLine;
    if (line.startsWith(':')) {
      let c = line.slice(1);
      if (c.startsWith(' ')) c = c.slice(1);
      this.cur.comments.push(c);
      return;
    }
    const i = line.indexOf(':');
    let name, value;
    if (i < 0) {
      name = line;
      value = '';
    } else {
      name = line.slice(0, i);
      value = line.slice(i + 1);
      if (value.startsWith(' ')) value = value.slice(1);
    }
    this.cur.fields.push([name, value]);
    if (name === 'data') this.cur.dataLines.push(value);
    else if (name === 'event') this.cur.event = value;
    else if (name === 'id') this.cur.id = value;
  }
}

/**
 * Open an SSE stream with a raw socket: `GET path` on `base` (http://host:port).
 * Resolves once the response head has arrived with a stream object:
 *   status, headers, rawHead
 *   frames      every frame, in order (comment-only frames included)
 *   events      frames that are not comment-only
 *   comments    comment-only frames
 *   body        for non-200 responses: the (decoded) body text, once ended
 *   text        the whole decoded body text so far
 *   waitFor(predicate(stream) | number-of-events, timeout, what)
 *   waitEvents(n, timeout)  → events[0..n)
 *   nextEvent(timeout)      → the next not-yet-taken event (cursor)
 *   waitEnd(timeout)        → resolves when the server closes the connection
 *   close()                 destroy the socket
 *   ended, endedCleanly (chunked: last chunk seen; otherwise: FIN without error),
 *   lastChunk, error, incomplete (an unterminated trailing frame at end)
 */
export function openStream(base, p, { headers = {}, timeout = 5000, httpVersion = '1.1' } = {}) {
  const u = new URL(base);
  const port = Number(u.port);
  const host = u.hostname;
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, host);
    let headBuf = Buffer.alloc(0);
    let headDone = false;
    let chunked = false;
    let dec = null;
    const td = new TextDecoder('utf-8');
    const waiters = new Set();
    const s = {
      status: 0,
      headers: {},
      rawHead: '',
      frames: [],
      events: [],
      comments: [],
      text: '',
      body: '',
      ended: false,
      endedCleanly: false,
      lastChunk: false,
      error: null,
      incomplete: null,
      cursor: 0,
      socket: sock,
      close() {
        sock.destroy();
      },
      waitFor(pred, t = 5000, what = 'condition') {
        const fn = typeof pred === 'number' ? (st) => st.events.length >= pred : pred;
        if (typeof pred === 'number') what = `${pred} events`;
        if (fn(s)) return Promise.resolve(s);
        return new Promise((res, rej) => {
          const w = {
            check() {
              if (fn(s)) {
                clearTimeout(w.timer);
                waiters.delete(w);
                res(s);
                return;
              }
              if (s.ended) {
                clearTimeout(w.timer);
                waiters.delete(w);
                rej(new Error(`stream ended before ${what}; frames so far: ${describeFrames(s.frames)}`));
              }
            },
            timer: setTimeout(() => {
              waiters.delete(w);
              rej(new Error(`timed out after ${t} ms waiting for ${what}; frames so far: ${describeFrames(s.frames)}`));
            }, t),
          };
          waiters.add(w);
          w.check();
        });
      },
      async waitEvents(n, t = 5000) {
        await s.waitFor(n, t);
        return s.events.slice(0, n);
      },
      async nextEvent(t = 5000) {
        const want = s.cursor + 1;
        await s.waitFor((st) => st.events.length >= want, t, `event #${want}`);
        return s.events[s.cursor++];
      },
      waitEnd(t = 5000) {
        return s.waitFor((st) => st.ended, t, 'end of stream').catch((e) => {
          if (s.ended) return s;
          throw e;
        });
      },
    };
    const notify = () => {
      for (const w of [...waiters]) w.check();
    };
    const parser = new SSEParser((f) => {
      s.frames.push(f);
      const commentOnly = f.fields.length === 0;
      (commentOnly ? s.comments : s.events).push(f);
      notify();
    });
    const headTimer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no response head within ${timeout} ms for GET ${p}`));
    }, timeout);

    function feedBody(buf) {
      let pieces;
      if (chunked) {
        pieces = dec.push(buf);
        if (dec.error && !s.error) s.error = dec.error;
        if (dec.done) s.lastChunk = true;
      } else {
        pieces = [buf];
      }
      for (const piece of pieces) {
        const t = td.decode(piece, { stream: true });
        s.text += t;
        if (s.status === 200) parser.push(t);
      }
    }
    function onEnd(err) {
      if (s.ended) return;
      s.ended = true;
      if (err && !s.error) s.error = err;
      const tail = td.decode();
      s.text += tail;
      if (s.status === 200) {
        parser.push(tail);
        s.incomplete = parser.end();
      } else {
        s.body = s.text;
      }
      s.endedCleanly = !s.error && (chunked ? s.lastChunk : true);
      notify();
      if (!headDone) {
        clearTimeout(headTimer);
        reject(err || new Error(`connection closed before a response head: ${JSON.stringify(headBuf.toString('latin1'))}`));
      }
    }
    sock.on('data', (d) => {
      if (!headDone) {
        headBuf = Buffer.concat([headBuf, d]);
        const i = headBuf.indexOf('\r\n\r\n');
        if (i < 0) return;
        headDone = true;
        clearTimeout(headTimer);
        s.rawHead = headBuf.subarray(0, i).toString('latin1');
        const head = parseHead(s.rawHead);
        s.status = head.status;
        s.headers = head.headers;
        s.version = head.version;
        chunked = /chunked/i.test(head.headers['transfer-encoding'] || '');
        s.chunked = chunked;
        if (chunked) dec = new ChunkedDecoder();
        const rest = headBuf.subarray(i + 4);
        resolve(s);
        if (rest.length) feedBody(rest);
        // A non-stream response with Content-Length: end when complete.
        maybeEndFixed();
        return;
      }
      feedBody(d);
      maybeEndFixed();
      if (chunked && dec.done) {
        // the stream is over; the server should close too (Connection: close)
      }
    });
    function maybeEndFixed() {
      if (s.status !== 200 && s.headers['content-length'] !== undefined) {
        if (Buffer.byteLength(s.text) >= Number(s.headers['content-length'])) {
          onEnd(null);
          sock.destroy();
        }
      }
      if (chunked && dec.done && s.status !== 200) {
        onEnd(null);
        sock.destroy();
      }
    }
    sock.on('end', () => onEnd(null));
    sock.on('error', (e) => onEnd(e));
    sock.on('close', () => onEnd(null));
    const hdrs = { Host: `${host}:${port}`, Accept: 'text/event-stream', ...headers };
    let req = `GET ${p} HTTP/${httpVersion}\r\n`;
    for (const [k, v] of Object.entries(hdrs)) req += `${k}: ${v}\r\n`;
    req += '\r\n';
    sock.write(req);
  });
}

function describeFrames(frames) {
  const shown = frames.slice(-8).map((f) => {
    const d = f.data === undefined ? '' : f.data.length > 120 ? f.data.slice(0, 120) + '…' : f.data;
    return `{id:${f.id} event:${f.event} comments:${JSON.stringify(f.comments)} data:${JSON.stringify(d)}}`;
  });
  return `${frames.length} frame(s)${frames.length > 8 ? ' (last 8)' : ''}: ${shown.join(', ')}`;
}

/** Open a stream and assert it is a 200 event stream; returns the stream. */
export async function openOkStream(base, p, opts) {
  const s = await openStream(base, p, opts);
  assert.equal(s.status, 200, `GET ${p}: status ${s.status}`);
  return s;
}

/** The path of a chat's JSON event stream, with an optional query ('?after=N'). */
export const jsonStreamPath = (chatId, query = '') => `/api/v1/chats/${chatId}/events${query}`;

/** The path of a chat's HTML event stream, with an optional query ('?after=N'). */
export const htmlStreamPath = (chatId, query = '') => `/chats/${chatId}/events${query}`;

/** Open a 200 stream and wait for its first event (openStream options, plus `wait`: ms for that event, default 5000); returns the stream. */
export async function openReadyStream(base, p, { wait = 5000, ...opts } = {}) {
  const s = await openOkStream(base, p, opts);
  await s.waitFor(1, wait);
  return s;
}

/** openReadyStream, asserting the first event is the `snapshot`; it is on the stream, parsed, as s.snapshot. */
export async function openSnapshotStream(base, p, opts) {
  const s = await openReadyStream(base, p, opts);
  s.snapshot = parsedEvent(s.events[0]);
  assert.equal(s.snapshot.event, 'snapshot', `GET ${p}: the first event`);
  return s;
}

/** Wait until `s` has at least n events and return them parsed: {id, event, data, json}. */
export async function waitForEvents(s, n, timeout = 5000) {
  const evs = await s.waitEvents(n, timeout);
  return evs.map(parsedEvent);
}

export function parsedEvent(f) {
  let json;
  try {
    json = f.data !== undefined ? JSON.parse(f.data) : undefined;
  } catch {
    json = undefined;
  }
  return { id: f.id, event: f.event, data: f.data, json, frame: f };
}

/** Every event of stream `s` so far, parsed ({id, event, data, json, frame}). */
export const parsedEvents = (s) => s.events.map(parsedEvent);

/** The durable events (with an id; the snapshot left out) among `frames`, as [{id (number), event, data}]. */
export const durableEvents = (frames) =>
  frames.filter((f) => f.id !== undefined && f.fields.length > 0 && f.event !== 'snapshot').map((f) => ({ id: Number(f.id), event: f.event, data: f.data }));

// ---------------------------------------------------------------------------
// Metrics

/** parley_sse_subscribers of the server at `url` (its open streams). */
export async function subscriberCount(url) {
  return (await metrics(url)).get('parley_sse_subscribers');
}

/**
 * Fetch and parse `${url}/metrics` (Prometheus text format 0.0.4).
 * Returns {text, contentType, samples: [{name, labels, value}], types: {name: type}, help,
 *          get(name, labels = {}) → value of the sample whose labels match exactly (undefined if none),
 *          sum(name) → sum over all samples of that name (undefined if none)}.
 */
export async function metrics(url) {
  const res = await fetch(url + '/metrics', { signal: AbortSignal.timeout(5000) });
  const text = await res.text();
  assert.equal(res.status, 200, `/metrics status ${res.status}`);
  const parsed = parseMetrics(text);
  parsed.contentType = res.headers.get('content-type');
  return parsed;
}

export function parseMetrics(text) {
  const samples = [];
  const types = {};
  const help = {};
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP)\s+(\S+)\s*(.*)$/.exec(line);
      if (m && m[1] === 'TYPE') types[m[2]] = m[3].trim();
      if (m && m[1] === 'HELP') help[m[2]] = m[3];
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?\s*$/.exec(line);
    if (!m) throw new Error(`unparseable metrics line: ${JSON.stringify(line)}`);
    const labels = {};
    if (m[2]) {
      const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?\s*/g;
      let lm;
      while ((lm = re.exec(m[2]))) labels[lm[1]] = lm[2].replace(/\\(.)/g, (_, c) => (c === 'n' ? '\n' : c));
    }
    const v = m[3];
    const value = v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v);
    samples.push({ name: m[1], labels, value });
  }
  const sameLabels = (a, b) => {
    const ka = Object.keys(a);
    const kb = Object.keys(b);
    return ka.length === kb.length && ka.every((k) => a[k] === b[k]);
  };
  return {
    text,
    samples,
    types,
    help,
    get(name, labels = {}) {
      const s = samples.find((x) => x.name === name && sameLabels(x.labels, labels));
      return s ? s.value : undefined;
    },
    sum(name) {
      const xs = samples.filter((x) => x.name === name);
      return xs.length ? xs.reduce((a, x) => a + x.value, 0) : undefined;
    },
  };
}

/** The integers a, a + 1, …, b. */
export const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

/** Poll `fn` until it returns truthy (or throws no more); fail after `timeout` ms with `what` (a string, or a function giving one). */
export async function eventually(fn, { timeout = 2000, interval = 50, what = 'condition' } = {}) {
  const t0 = Date.now();
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    if (Date.now() - t0 > timeout) {
      throw new Error(`timed out after ${timeout} ms waiting for ${typeof what === 'function' ? what() : what}${last instanceof Error ? `: ${last.message}` : `; last value ${JSON.stringify(last)}`}`);
    }
    await sleep(interval);
  }
}

/** Decode a handful of HTML entities (enough to compare rendered user text). */
export function htmlUnescape(s) {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#0*39;/g, "'")
    .replace(/&#x0*27;/gi, "'")
    .replace(/&apos;/g, "'")
    .replace(/&#0*34;/g, '"')
    .replace(/&#x0*22;/gi, '"')
    .replace(/&amp;/g, '&');
}

/** Assert that user text `raw` appears HTML-escaped in `html` and never raw. */
export function assertEscaped(html, raw, what = 'text') {
  assert.ok(!html.includes(raw), `${what} appears unescaped: ${JSON.stringify(raw)} in ${html.slice(0, 1000)}`);
  assert.ok(htmlUnescape(html).includes(raw), `${what} not found (escaped) in ${html.slice(0, 1000)}`);
}

/** Index of the first `turn` idle event at index >= from in stream s; waits for it. */
export async function waitIdle(s, from = 0, timeout = 10000) {
  const find = () =>
    s.events.findIndex((f, i) => {
      if (i < from || f.event !== 'turn') return false;
      try {
        return JSON.parse(f.data).state === 'idle';
      } catch {
        return false;
      }
    });
  await s.waitFor(() => find() >= 0, timeout, `a turn idle event after event #${from}`);
  return find();
}

/**
 * Group parsed events into bot replies in the order their `message` events came:
 * [{seq, author, start (Message), tokens: [delta…], tokenEvents, update (final Message) | undefined}].
 */
export function replies(list) {
  const out = [];
  const bySeq = new Map();
  for (const e of list) {
    if (e.event === 'message' && e.json && e.json.kind === 'bot') {
      const r = { seq: e.json.seq, author: e.json.author, start: e.json, tokens: [], tokenEvents: [], update: undefined };
      out.push(r);
      bySeq.set(r.seq, r);
    } else if (e.event === 'token' && e.json) {
      const r = bySeq.get(e.json.seq);
      if (r) {
        r.tokens.push(e.json.delta);
        r.tokenEvents.push(e);
      }
    } else if (e.event === 'message-update' && e.json && e.id !== undefined) {
      const r = bySeq.get(e.json.seq);
      if (r && e.json.state !== 'streaming') r.update = e.json;
    }
  }
  return out;
}

/** Post a person's message and wait for the turn flow to go idle on stream `s`; returns the parsed events since the post. */
export async function postAndSettle(base, s, chatId, body, author = 'Ada', timeout = 10000) {
  const from = s.events.length;
  await postMessage(base, chatId, body, author);
  const idle = await waitIdle(s, from, timeout);
  return parsedEvents(s).slice(from, idle + 1);
}

/** Post a person's message and wait until stream `s` carries its `message` event; returns the Message. */
export async function postAndSee(base, s, chatId, body, author = 'Ada', timeout = 3000) {
  const m = await postMessage(base, chatId, body, author);
  await s.waitFor(
    (st) => st.events.some((f) => f.event === 'message' && parsedEvent(f).json?.seq === m.seq),
    timeout,
    `message seq ${m.seq} (${JSON.stringify(body.slice(0, 40))}) on the stream`,
  );
  return m;
}
