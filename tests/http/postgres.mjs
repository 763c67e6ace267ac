// postgres.mjs - the throwaway PostgreSQL the tests run on (scripts/with-postgres.sh
// starts it and sets PARLEY_TEST_PG to its admin URL): fresh databases, one per server.
import { execFileSync } from 'node:child_process';

/** The cluster's admin URL (postgres://parley@/postgres?host=SOCKET_DIR), or null. */
export function postgresAdminUrl() {
  return process.env.PARLEY_TEST_PG || null;
}

/** True when the HTTP tests run their servers on PostgreSQL (the second pass of `make http-test`). */
export function onPostgres() {
  return process.env.PARLEY_TEST_STORE === 'postgres';
}

let made = 0;

function psql(sql) {
  execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', postgresAdminUrl(), '-c', sql], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

/** A new, empty database on the test cluster; its URL. */
export function createPostgresDb() {
  const admin = postgresAdminUrl();
  if (!admin) throw new Error('PARLEY_TEST_PG is not set (run the tests through scripts/with-postgres.sh)');
  const name = `t_${process.pid}_${++made}_${Math.random().toString(36).slice(2, 8)}`;
  psql(`CREATE DATABASE ${name}`);
  return withDatabase(admin, name);
}

// postgres://USER@/DB?host=DIR has no host part, which WHATWG URLs refuse: split by hand.
const URL_RE = /^(postgres(?:ql)?:\/\/[^/]*)\/([^?]*)(\?.*)?$/;

function withDatabase(url, name) {
  const m = URL_RE.exec(url);
  if (!m) throw new Error(`not a postgres:// URL: ${url}`);
  return `${m[1]}/${name}${m[3] || ''}`;
}

/** Drops a database createPostgresDb made (its connections are ended first). */
export function dropPostgresDb(dbUrl) {
  const m = URL_RE.exec(dbUrl);
  const name = m ? m[2] : '';
  if (!/^t_[a-z0-9_]+$/.test(name)) throw new Error(`not a test database: ${name}`);
  psql(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

/*
 * The cluster is this run's alone (PARLEY_TEST_PG_OWNED=1), so a test may stop it:
 * scripts/with-postgres.sh gives its data directory (PARLEY_TEST_PG_DATA) and the user
 * its server runs as (PARLEY_TEST_PG_USER, empty when it is ours), with pg_ctl on PATH.
 */
export function ownedPostgres() {
  return onPostgres() && process.env.PARLEY_TEST_PG_OWNED === '1' && !!process.env.PARLEY_TEST_PG_DATA;
}

function pgCtl(...args) {
  const user = process.env.PARLEY_TEST_PG_USER;
  const cmd = ['pg_ctl', '-D', process.env.PARLEY_TEST_PG_DATA, ...args];
  const [file, argv] = user ? ['runuser', ['-u', user, '--', ...cmd]] : [cmd[0], cmd.slice(1)];
  return execFileSync(file, argv, { cwd: process.env.PARLEY_TEST_PG_DATA + '/..', stdio: ['ignore', 'pipe', 'pipe'] });
}

function postgresRunning() {
  try {
    pgCtl('status');
    return true;
  } catch {
    return false;
  }
}

/** Stops the cluster (mode: fast, or immediate: as if it crashed). */
export function stopPostgres(mode = 'fast') {
  if (postgresRunning()) pgCtl('-m', mode, '-w', 'stop');
}

/** Starts the cluster again (no-op when it runs), waiting until it takes connections. */
export function startPostgres() {
  if (!postgresRunning()) pgCtl('-l', `${process.env.PARLEY_TEST_PG_DATA}/../server.log`, '-w', '-t', '30', 'start');
}
