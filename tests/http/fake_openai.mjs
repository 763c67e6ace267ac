// A scripted OpenAI-compatible model server for Parley's black-box tests.
//
//   const fake = await startFakeOpenAI();
//   fake.baseUrl                      http://127.0.0.1:PORT/v1  (use as a bot's base_url)
//   fake.enqueue(handler)             the next request is answered by handler(req, res, ctx)
//   fake.setDefault(handler)          answers requests when the queue is empty
//   fake.requests                     every request seen: {method, path, headers, raw, body (parsed JSON or undefined), closed}
//   fake.waitRequests(n, timeout)     resolves with requests[0..n) once n have arrived
//   await fake.close()                closes the listener and destroys every open connection
//
// Handlers (factories; each returns a handler):
//   streamReply(deltas, opts)         a streaming chat completion: role-only first chunk,
//                                     one chunk per delta, a finish chunk, a usage chunk with
//                                     empty choices, then [DONE]; opts.crlf: line ends CRLF,
//                                     opts.comments: ": keep-alive" comment lines, opts.split:
//                                     write the bytes in pieces of that size, opts.delayMs between writes
//   stallAfter(deltas)                send the role chunk and the deltas, then keep the response open
//                                     (opts.keepaliveMs: meanwhile a ": keepalive" comment that often;
//                                     opts.thenMs, opts.then: after that long, the deltas `then` and the end)
//   httpError(status, body)           a non-streaming error answer with a JSON body
//   rawStream(text, opts)             200 text/event-stream with `text` as the body, then end
//                                     (opts.keepOpen: do not end)
import http from 'node:http';

function chunkJSON(obj) {
  return `data: ${JSON.stringify(obj)}`;
}

const ID = 'chatcmpl-fake123';

function baseChunk(model, choices) {
  return { id: ID, object: 'chat.completion.chunk', created: 1700000000, model: model || 'fake-model', choices };
}

/** The SSE text of a streaming completion. */
export function completionText(deltas, { crlf = false, comments = false, model = 'fake-model', finish = true, done = true, usage = true } = {}) {
  const nl = crlf ? '\r\n' : '\n';
  const lines = [];
  // Mixed line ends: when crlf is set, every other event uses LF so both occur.
  let k = 0;
  const ev = (line) => {
    const end = crlf && k++ % 2 === 1 ? '\n' : nl;
    lines.push(line + end + end);
  };
  if (comments) lines.push(': OPENROUTER PROCESSING' + nl + nl);
  ev(chunkJSON(baseChunk(model, [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }])));
  for (const d of deltas) {
    if (comments) lines.push(': keep-alive' + nl);
    ev(chunkJSON(baseChunk(model, [{ index: 0, delta: { content: d }, finish_reason: null }])));
  }
  if (finish) ev(chunkJSON(baseChunk(model, [{ index: 0, delta: {}, finish_reason: 'stop' }])));
  if (usage) ev(chunkJSON({ ...baseChunk(model, []), usage: { prompt_tokens: 10, completion_tokens: deltas.length, total_tokens: 10 + deltas.length } }));
  if (done) ev('data: [DONE]');
  return lines.join('');
}

function sseHead(res) {
  res.writeHead(200, {
    'Content-Type': 'text/event-stream; charset=utf-8',
    'Cache-Control': 'no-cache',
  });
  res.flushHeaders();
}

async function writePieces(res, buf, split, delayMs) {
  if (!split) {
    res.write(buf);
    return;
  }
  for (let i = 0; i < buf.length; i += split) {
    if (res.destroyed) return;
    res.write(buf.subarray(i, i + split));
    if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
  }
}

export function streamReply(deltas, opts = {}) {
  return async (req, res) => {
    sseHead(res);
    const buf = Buffer.from(completionText(deltas, opts), 'utf8');
    await writePieces(res, buf, opts.split, opts.delayMs ?? (opts.split ? 2 : 0));
    if (!res.destroyed) res.end();
  };
}

export function stallAfter(deltas, opts = {}) {
  return async (req, res) => {
    sseHead(res);
    const text = completionText(deltas, { ...opts, finish: false, usage: false, done: false });
    res.write(text);
    // never end: the connection stays open until the client goes away or close()
    if (opts.keepaliveMs) {
      const timer = setInterval(() => res.write(': keepalive\n\n'), opts.keepaliveMs);
      res.on('close', () => clearInterval(timer));
      if (opts.then) {
        setTimeout(() => {
          clearInterval(timer);
          if (res.destroyed) return;
          // the rest of the answer: its chunks without the role chunk the first part had
          const rest = completionText(opts.then).split('\n\n').slice(1).join('\n\n');
          res.end(rest);
        }, opts.thenMs);
      }
    }
  };
}

export function httpError(status, body) {
  return (req, res) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };
}

export function rawStream(text, { keepOpen = false } = {}) {
  return (req, res) => {
    sseHead(res);
    res.write(text);
    if (!keepOpen) res.end();
  };
}

export async function startFakeOpenAI() {
  const queue = [];
  let dflt = streamReply(['default ', 'reply']);
  const requests = [];
  const sockets = new Set();
  const waiters = new Set();
  const notify = () => {
    for (const w of [...waiters]) w();
  };

  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (d) => chunks.push(d));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      let body;
      try {
        body = JSON.parse(raw);
      } catch {
        body = undefined;
      }
      const rec = { method: req.method, path: req.url, headers: req.headers, raw, body, closed: false, closedAt: null };
      res.on('close', () => {
        rec.closed = true;
        rec.closedAt = Date.now();
        notify();
      });
      requests.push(rec);
      notify();
      const handler = queue.length ? queue.shift() : dflt;
      try {
        await handler(req, res, rec);
      } catch (e) {
        if (!res.headersSent) {
          res.writeHead(599);
        }
        res.destroy();
      }
    });
  });
  server.keepAliveTimeout = 1000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise((res, rej) => server.listen(0, '127.0.0.1', res).on('error', rej));
  const { port } = server.address();

  const fake = {
    port,
    url: `http://127.0.0.1:${port}`,
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue(h) {
      queue.push(h);
    },
    setDefault(h) {
      dflt = h;
    },
    /** Resolves when pred() is true; rejects after timeout. */
    waitFor(pred, timeout = 5000, what = 'condition') {
      if (pred()) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = () => {
          if (pred()) {
            clearTimeout(t);
            waiters.delete(w);
            resolve();
          }
        };
        const t = setTimeout(() => {
          waiters.delete(w);
          reject(new Error(`fake model server: timed out after ${timeout} ms waiting for ${what}; ${requests.length} request(s) seen`));
        }, timeout);
        waiters.add(w);
      });
    },
    async waitRequests(n, timeout = 5000) {
      await fake.waitFor(() => requests.length >= n, timeout, `${n} request(s)`);
      return requests.slice(0, n);
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
  return fake;
}
