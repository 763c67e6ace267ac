// SPEC §1: the command line, environment twins, signals.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  runParley,
  withServer,
  tempDir,
  occupyPort,
  freePort,
  createChat,
  openReadyStream,
  jsonStreamPath,
  htmlStreamPath,
  assertNoSanitizerReport,
  api,
  sleep,
  onPostgres,
} from './helpers.mjs';
import { createPostgresDb, dropPostgresDb } from './postgres.mjs';

const T = { timeout: 15000 };

function oneLine(stderr) {
  const lines = stderr.split('\n').filter((l) => l.trim() !== '');
  return lines;
}

describe('informational flags', () => {
  test('--version exits 0 and prints a version on stdout', T, async () => {
    const r = await runParley(['--version']);
    assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
    assert.ok(r.stdout.trim().length > 0, 'prints something');
    assert.match(r.stdout, /\d+\.\d+/, 'looks like a version');
    assertNoSanitizerReport(r.stderr);
  });

  test('--help exits 0 and documents serve and its flags', T, async () => {
    const r = await runParley(['--help']);
    assert.equal(r.code, 0, `exit code; stderr: ${r.stderr}`);
    const out = r.stdout;
    for (const flag of ['serve', '--listen', '--db', '--keepalive']) {
      assert.ok(out.includes(flag), `--help mentions ${flag}: ${out}`);
    }
    assertNoSanitizerReport(r.stderr);
  });
});

describe('bad invocations', () => {
  const cases = [
    ['unknown flag', ['serve', '--bogus-flag']],
    ['unknown flag before serve', ['--bogus-flag']],
    ['bad --keepalive value', ['serve', '--listen', '127.0.0.1:0', '--db', ':memory:', '--keepalive', 'abc']],
    ['bad --log-level value', ['serve', '--listen', '127.0.0.1:0', '--db', ':memory:', '--log-level', 'loud']],
    ['bad --threads value', ['serve', '--listen', '127.0.0.1:0', '--db', ':memory:', '--threads', 'many']],
    ['--listen without a port', ['serve', '--listen', 'nonsense', '--db', ':memory:']],
    ['--listen port out of range', ['serve', '--listen', '127.0.0.1:99999', '--db', ':memory:']],
    ['flag missing its value', ['serve', '--db', ':memory:', '--listen']],
  ];
  for (const [name, args] of cases) {
    test(`${name} exits 2 with one line on stderr`, T, async () => {
      const r = await runParley(args);
      assert.equal(r.timedOut, false, 'exits promptly');
      assert.equal(r.code, 2, `exit code for ${args.join(' ')}; stderr: ${r.stderr}`);
      const lines = oneLine(r.stderr);
      assert.equal(lines.length, 1, `exactly one line on stderr, got: ${JSON.stringify(r.stderr)}`);
      assert.ok(!r.stdout.includes('parley listening'), 'did not start listening');
    });
  }

  test('a port already in use exits non-zero naming the address', T, async () => {
    const busy = await occupyPort();
    try {
      const r = await runParley(['serve', '--listen', `127.0.0.1:${busy.port}`, '--db', ':memory:']);
      assert.equal(r.timedOut, false, 'exits promptly');
      assert.notEqual(r.code, 0, `exit code; stderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(String(busy.port)), `stderr names the address: ${r.stderr}`);
      assert.ok(!r.stdout.includes('parley listening'), 'did not claim to listen');
      assertNoSanitizerReport(r.stderr);
    } finally {
      await busy.close();
    }
  });

  test('an unusable database path exits non-zero naming the path', { ...T, skip: onPostgres() && 'SQLite file only: a database file in a missing directory' }, async () => {
    const bad = '/nonexistent-parley-dir/sub/parley.db';
    const r = await runParley(['serve', '--listen', '127.0.0.1:0', '--db', bad]);
    assert.equal(r.timedOut, false, 'exits promptly');
    assert.notEqual(r.code, 0, `exit code; stderr: ${r.stderr}`);
    assert.ok(r.stderr.includes(bad), `stderr names the path: ${r.stderr}`);
    assertNoSanitizerReport(r.stderr);
  });

  test('a database path that is a directory exits non-zero', { ...T, skip: onPostgres() && 'SQLite file only: a database file that is a directory' }, async () => {
    const tmp = tempDir();
    try {
      const r = await runParley(['serve', '--listen', '127.0.0.1:0', '--db', tmp.dir]);
      assert.equal(r.timedOut, false, 'exits promptly');
      assert.notEqual(r.code, 0, `exit code; stderr: ${r.stderr}`);
      assert.ok(r.stderr.includes(tmp.dir), `stderr names the path: ${r.stderr}`);
    } finally {
      tmp.cleanup();
    }
  });
});

describe('listening line', () => {
  test('prints exactly one listening line on stdout with the real port', T, () => withServer({}, async (srv) => {
    assert.ok(srv.port > 0 && srv.port !== 8080, `real port chosen: ${srv.port}`);
    assert.equal(srv.host, '127.0.0.1');
    const r = await api(srv.url, 'GET', '/healthz');
    assert.equal(r.status, 200);
    await sleep(100);
    const lines = srv.stdout().split('\n').filter((l) => l.includes('listening'));
    assert.equal(lines.length, 1, `one listening line: ${srv.stdout()}`);
  }));

  test(':memory: database works', { ...T, skip: onPostgres() && 'SQLite only: an in-memory database' }, () => withServer({ db: ':memory:' }, async (srv) => {
    const chat = await createChat(srv.url, 'in memory');
    const r = await api(srv.url, 'GET', `/api/v1/chats/${chat.id}`);
    assert.equal(r.status, 200);
  }));
});

describe('environment twins', () => {
  test('PARLEY_LISTEN is used when --listen is absent', T, async () => {
    const port = await freePort();
    await withServer({ listen: null, env: { PARLEY_LISTEN: `127.0.0.1:${port}` } }, async (srv) => {
      assert.equal(srv.port, port);
    });
  });

  test('--listen beats PARLEY_LISTEN', T, async () => {
    const busy = await occupyPort();
    try {
      // If the variable were used, the bind would fail.
      await withServer({ env: { PARLEY_LISTEN: `127.0.0.1:${busy.port}` } }, async (srv) => {
        assert.notEqual(srv.port, busy.port);
        assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
      });
    } finally {
      await busy.close();
    }
  });

  test('PARLEY_DB is used when --db is absent', T, async () => {
    const tmp = tempDir();
    const dbPath = onPostgres() ? createPostgresDb() : path.join(tmp.dir, 'from-env.db');
    try {
      await withServer({ noDbFlag: true, env: { PARLEY_DB: dbPath } }, async (srv) => {
        await createChat(srv.url, 'env db');
        if (!onPostgres()) assert.ok(fs.existsSync(dbPath), `database created at ${dbPath}`);
      });
      // A second server on the same variable sees the chat.
      await withServer({ noDbFlag: true, env: { PARLEY_DB: dbPath } }, async (srv2) => {
        const r = await api(srv2.url, 'GET', '/api/v1/chats');
        assert.ok(r.json.chats.some((c) => c.title === 'env db'), 'chat persisted via PARLEY_DB');
      });
    } finally {
      tmp.cleanup();
      if (onPostgres()) dropPostgresDb(dbPath);
    }
  });

  test('a second server on a database in use exits non-zero; the first keeps it', { ...T, skip: onPostgres() && 'SQLite file only: the lock on the file (servers may share a PostgreSQL database)' }, () => withServer({}, async (srv) => {
    await createChat(srv.url, 'first server');
    const r = await runParley(['serve', '--listen', '127.0.0.1:0', '--db', srv.db]);
    assert.equal(r.timedOut, false, 'exits promptly');
    assert.notEqual(r.code, 0, `exit code; stderr: ${r.stderr}`);
    assert.ok(r.stderr.includes('in use'), `stderr says the database is in use: ${r.stderr}`);
    assert.ok(!r.stdout.includes('parley listening'), 'did not start listening');
    assertNoSanitizerReport(r.stderr);
    const list = await api(srv.url, 'GET', '/api/v1/chats');
    assert.ok(list.json.chats.some((c) => c.title === 'first server'), 'first server unharmed');
  }));

  test('--db beats PARLEY_DB', T, () => withServer({ env: { PARLEY_DB: '/nonexistent-parley-dir/x/env.db' } }, async (srv) => {
    await createChat(srv.url, 'flag db'); // it started: the variable's path cannot be opened
    if (!onPostgres()) assert.ok(fs.existsSync(srv.db), 'the --db file is used');
  }));

  test('PARLEY_KEEPALIVE=1 sends keepalives; --keepalive beats it', T, async () => {
    await withServer({ env: { PARLEY_KEEPALIVE: '1' } }, async (srv) => {
      const chat = await createChat(srv.url);
      const s = await openReadyStream(srv.url, jsonStreamPath(chat.id));
      await s.waitFor((st) => st.comments.some((f) => f.comments.includes('keepalive')), 2600, 'a keepalive comment');
      s.close();
    });
    await withServer({ args: ['--keepalive', '30'], env: { PARLEY_KEEPALIVE: '1' } }, async (srv2) => {
      const chat = await createChat(srv2.url);
      const s = await openReadyStream(srv2.url, jsonStreamPath(chat.id));
      await sleep(2500);
      assert.equal(s.comments.length, 0, 'no keepalive with --keepalive 30');
      s.close();
    });
  });

  test('a bad PARLEY_LOG_LEVEL exits 2', T, async () => {
    const r = await runParley(['serve', '--listen', '127.0.0.1:0', '--db', ':memory:'], { env: { PARLEY_LOG_LEVEL: 'loud' } });
    assert.equal(r.code, 2, `exit code; stderr: ${r.stderr}`);
    assert.equal(oneLine(r.stderr).length, 1, `one line on stderr: ${JSON.stringify(r.stderr)}`);
  });

  // checked with the other flags: exit 2 before any database is opened (or --demo seeded)
  test('--public-url that is not an http(s) URL with a host, and --auth none on a name that only starts like 127.: exit 2, nothing created', T, async () => {
    const dir = tempDir();
    try {
      const db = path.join(dir.dir, 'never.db');
      for (const args of [['--public-url', 'http://'], ['--public-url', 'http://a%20b/'], ['--public-url', 'http://[::1'],
        ['--auth', 'none', '--listen', '127.evil.invalid:0']]) {
        const r = await runParley(['serve', '--listen', '127.0.0.1:0', '--db', db, '--demo', ...args]);
        assert.equal(r.code, 2, `${args.join(' ')}: exit code; stderr: ${r.stderr}`);
        assert.equal(oneLine(r.stderr).length, 1, `${args.join(' ')}: one line on stderr: ${JSON.stringify(r.stderr)}`);
        assert.equal(fs.existsSync(db), false, `${args.join(' ')}: no database made`);
      }
    } finally {
      dir.cleanup();
    }
  });

  test('PARLEY_THREADS and PARLEY_LOG_LEVEL are accepted', T, () => withServer({ env: { PARLEY_LOG_LEVEL: 'debug', PARLEY_THREADS: '2' } }, async (srv) => {
    assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
  }));

  test('a flag beats its variable even when the variable is invalid (--log-level vs PARLEY_LOG_LEVEL=loud)', T, () => withServer({ args: ['--log-level', 'error'], env: { PARLEY_LOG_LEVEL: 'loud' } }, async (srv) => {
    assert.equal((await api(srv.url, 'GET', '/healthz')).status, 200);
  }));
});

describe('signals', () => {
  for (const sig of ['SIGTERM', 'SIGINT']) {
    test(`${sig} with open streams exits 0 within 5 s and ends the streams cleanly`, T, () => withServer({}, async (srv) => {
      const chat = await createChat(srv.url);
      const json = await openReadyStream(srv.url, jsonStreamPath(chat.id));
      const html = await openReadyStream(srv.url, htmlStreamPath(chat.id));
      const t0 = Date.now();
      const code = await srv.stop(sig); // asserts exit 0 within 5 s and no sanitizer report
      assert.equal(code, 0);
      assert.ok(Date.now() - t0 < 5000);
      for (const s of [json, html]) {
        await s.waitEnd(1000);
        assert.equal(s.error, null, `stream ended without a connection error: ${s.error}`);
        assert.ok(s.lastChunk, 'stream ended with the terminating zero-length chunk');
        assert.equal(s.incomplete, null, 'no half-written frame at the end');
      }
    }));
  }

  test('SIGTERM with a half-sent request and many streams still exits 0 within 5 s', T, () => withServer({}, async (srv) => {
    const net = await import('node:net');
    const slow = net.connect(srv.port, '127.0.0.1');
    slow.on('error', () => {});
    try {
      const chat = await createChat(srv.url);
      const streams = await Promise.all(Array.from({ length: 12 }, (_, i) => openReadyStream(srv.url, i % 2 ? htmlStreamPath(chat.id) : jsonStreamPath(chat.id))));
      slow.write('POST /api/v1/chats HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 100\r\n\r\n{"tit');
      await sleep(100);
      await srv.stop('SIGTERM');
      for (const s of streams) {
        await s.waitEnd(1000);
        assert.ok(s.lastChunk, 'each stream ended with its last chunk');
      }
    } finally {
      slow.destroy();
    }
  }));

  test('SIGTERM on an idle server exits 0 quickly', T, () => withServer({}, async (srv) => {
    const t0 = Date.now();
    await srv.stop('SIGTERM');
    assert.ok(Date.now() - t0 < 5000);
  }));
});
