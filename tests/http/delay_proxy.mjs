// delay_proxy.mjs - a TCP proxy on 127.0.0.1 to a unix socket (a PostgreSQL cluster's) that
// holds every chunk `delay` ms each way, in order: a database across a region, for
// tests/http/pg_slow.test.mjs and bench/slow_db.mjs. freeze() stops it reading, both ways
// and for new connections too (a database that hangs: the kernel still takes what is
// sent, nothing answers), thaw() lets it go on; cut() ends the connections it has and
// thaws it (a database restarted). loseAnswer() ends the connection whose server speaks
// next, instead of passing on what it says (a connection that breaks after a commit went
// out: the server did its work, its answer is lost). close() ends its connections too.
import net from 'node:net';

export async function delayingProxy(socketPath, delay) {
  const conns = new Set();
  let frozen = false;
  let losing = false;
  const proxy = net.createServer((client) => {
    const server = net.connect(socketPath);
    conns.add(client).add(server);
    if (frozen) client.pause();
    const forward = (from, to) => from.on('data', (d) => setTimeout(() => to.destroyed || to.write(d), delay));
    forward(client, server);
    server.on('data', () => {
      if (!losing) return;
      losing = false;
      client.destroy();
      server.destroy();
    });
    forward(server, client);
    for (const [a, b] of [[client, server], [server, client]]) {
      a.on('error', () => b.destroy());
      a.on('close', () => b.destroy());
    }
  });
  await new Promise((r) => proxy.listen(0, '127.0.0.1', r));
  return {
    port: proxy.address().port,
    freeze: () => {
      frozen = true;
      for (const c of conns) c.pause();
    },
    thaw: () => {
      frozen = false;
      for (const c of conns) c.resume();
    },
    loseAnswer: () => {
      losing = true;
    },
    cut: () => {
      frozen = false;
      for (const c of conns) c.destroy();
      conns.clear();
    },
    close: () => {
      for (const c of conns) c.destroy();
      proxy.close();
    },
  };
}
