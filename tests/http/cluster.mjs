// cluster.mjs - several Parley nodes on one PostgreSQL database and one Redis (SPEC §10).
// scripts/with-redis.sh starts a throwaway Redis and sets PARLEY_TEST_REDIS to its URL
// (unix://DIR/redis.sock); scripts/with-postgres.sh does the same for PostgreSQL.
//   redisUrl()          PARLEY_TEST_REDIS, or null
//   clusterAvailable()  the PostgreSQL pass with a Redis: nodes can be started
//   ownedRedis()        that Redis is this run's alone: a test may stop and start it
//   startCluster(n)     n nodes (node-1 … node-n) sharing one fresh database;
//                       {nodes, db, stop(), kill(), logs(), restart(k)}
//   stopRedis(), startRedis(), redisCli()   the owned Redis (PARLEY_TEST_REDIS_CONF)
//   health(node)        GET /healthz: {status, json, node (the name it gives)}
//   tcpRedis()          a second throwaway Redis of the test's own, on a free TCP port
import { execFileSync, spawn } from 'node:child_process';
import { startServer, api, sleep, freePort } from './helpers.mjs';
import { onPostgres, createPostgresDb, dropPostgresDb } from './postgres.mjs';

/** The Redis the tests run against (unix://DIR/redis.sock), or null. */
export function redisUrl() {
  return process.env.PARLEY_TEST_REDIS || null;
}

/** True when nodes can be started: the PostgreSQL pass, with a Redis. */
export function clusterAvailable() {
  return onPostgres() && !!redisUrl();
}

/** True when the Redis is this run's alone (PARLEY_TEST_REDIS_OWNED=1), so a test may stop it. */
export function ownedRedis() {
  return clusterAvailable() && process.env.PARLEY_TEST_REDIS_OWNED === '1' && !!process.env.PARLEY_TEST_REDIS_CONF;
}

/**
 * Start n nodes on one fresh PostgreSQL database, each with `--redis REDIS --node node-I`
 * (I = 1 … n; REDIS the `redis` option, else redisUrl()) and `args` after those; `env` and
 * the other startServer() options (auth …) go to every node. Returns {nodes, db, stop(), kill(), logs()}: stop() stops every node at
 * once (SIGTERM: exit 0 and no sanitizer report asserted; the first failure thrown once all
 * have exited), then drops the database. A node that fails to start stops the ones already started.
 */
export async function startCluster(n, { args = [], env = {}, redis = redisUrl(), ...options } = {}) {
  const db = createPostgresDb();
  const nodes = [];
  const nodeArgs = (i) => ['--redis', redis, '--node', `node-${i}`, ...args];
  const dropDb = () => {
    try {
      dropPostgresDb(db);
    } catch (e) {
      process.stderr.write(`cluster.mjs: could not drop ${db}: ${e.message}\n`);
    }
  };
  try {
    for (let i = 1; i <= n; i++) {
      const node = await startServer({ ...options, db, env, args: nodeArgs(i) });
      node.name = `node-${i}`;
      nodes.push(node);
    }
  } catch (e) {
    for (const s of nodes) await s.kill();
    dropDb();
    throw e;
  }
  let stopped = false;
  return {
    nodes,
    db,
    /** Every node's stderr, headed by its name (for failure messages). */
    logs(tail = 3000) {
      const one = (s, what) => `--- ${s.name}${what} stderr (last ${tail} chars):\n${s.stderr().slice(-tail)}`;
      return nodes.map((s) => (s.before ? `${one(s.before, ' (before its restart)')}\n` : '') + one(s, '')).join('\n');
    },
    /**
     * Start nodes[k] (0-based) again on the same database with the same arguments and name,
     * after SIGKILLing it if it still runs. The new server takes its place in `nodes` (with a
     * new port: use the returned server's url); the old one is kept as its `before`, whose
     * stderr logs() shows too.
     */
    async restart(k) {
      const old = nodes[k];
      await old.kill();
      const node = await startServer({ ...options, db, env, args: nodeArgs(k + 1) });
      node.name = old.name;
      node.before = old;
      nodes[k] = node;
      return node;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const results = await Promise.allSettled(nodes.map((s) => s.stop('SIGTERM', { keepDb: true })));
      dropDb();
      const k = results.findIndex((r) => r.status === 'rejected');
      if (k >= 0) throw new Error(`${nodes[k].name}: ${results[k].reason.message}`);
    },
    /** SIGKILL every node and drop the database (after a failed test: its failure is the one reported). */
    async kill() {
      if (stopped) return;
      stopped = true;
      for (const s of nodes) await s.kill();
      dropDb();
    },
  };
}

/** The owned Redis's socket path (from PARLEY_TEST_REDIS=unix://PATH). */
export function redisSocket() {
  const u = redisUrl();
  if (!u || !u.startsWith('unix://')) throw new Error(`not a unix:// Redis URL: ${u}`);
  return u.slice('unix://'.length);
}

/** redis-cli -s SOCKET ARGS…; its stdout (throws on failure). */
export function redisCli(...args) {
  return execFileSync('redis-cli', ['-s', redisSocket(), ...args], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
}

function redisPing() {
  try {
    return redisCli('ping').trim() === 'PONG';
  } catch {
    return false;
  }
}

/** Stop the owned Redis (shutdown nosave) and wait until it no longer answers (5 s). */
export async function stopRedis() {
  try {
    redisCli('shutdown', 'nosave');
  } catch {
    // redis-cli reports the connection closing under it; whether it is gone is checked below
  }
  const t0 = Date.now();
  while (redisPing()) {
    if (Date.now() - t0 > 5000) throw new Error('Redis still answers 5 s after shutdown');
    await sleep(20);
  }
}

/** Start the owned Redis again (redis-server CONF daemonizes) and wait until it answers PING (5 s). */
export async function startRedis() {
  if (redisPing()) return;
  execFileSync(process.env.REDIS_SERVER || 'redis-server', [process.env.PARLEY_TEST_REDIS_CONF], { cwd: process.env.PARLEY_TEST_REDIS_DIR, stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
  const t0 = Date.now();
  while (!redisPing()) {
    if (Date.now() - t0 > 5000) throw new Error('Redis did not answer PING within 5 s of its start');
    await sleep(20);
  }
}

/**
 * GET /healthz of a node: {status, json, node}; node is the name the answer gives (the
 * X-Parley-Node header, or else the body's "node"), or null.
 */
export async function health(node, timeout = 3000) {
  const r = await api(node.url, 'GET', '/healthz', undefined, { timeout });
  const named = r.headers.get('x-parley-node') ?? (r.json && typeof r.json.node === 'string' ? r.json.node : null);
  return { status: r.status, json: r.json, node: named };
}

/**
 * A redis-server of the caller's own on 127.0.0.1 at a free port (no persistence), ready
 * once it answers PING: {port, stop()}; stop() ends it (SIGKILL after 5 s).
 */
export async function tcpRedis() {
  const port = await freePort();
  const server = spawn(process.env.REDIS_SERVER || 'redis-server', ['--port', String(port), '--bind', '127.0.0.1',
    '--save', '', '--appendonly', 'no', '--unixsocket', ''], { stdio: 'ignore' });
  const exited = new Promise((r) => server.once('exit', r));
  const ping = () => {
    try {
      return execFileSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'PONG';
    } catch {
      return false;
    }
  };
  const stop = async () => {
    server.kill('SIGTERM');
    const timer = setTimeout(() => server.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  const t0 = Date.now();
  while (!ping()) {
    if (Date.now() - t0 > 5000 || server.exitCode !== null) {
      await stop();
      throw new Error(`redis-server on port ${port} did not answer PING within 5 s`);
    }
    await sleep(20);
  }
  return { port, stop };
}
