// SPEC §3 pages + CONTRACT-NOTES "Pages": server-rendered HTML with htmx.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServer,
  api,
  createChat,
  getChat,
  postMessage,
  postForm,
  withServer,
  rawRequest,
  openReadyStream,
  htmlStreamPath,
  waitForEvents,
  assertEscaped,
  ID_RE,
} from './helpers.mjs';

const T = { timeout: 15000 };
const srv = useServer();

/** GET a page: {status, headers, text} (redirects not followed). */
const page = (p) => api(srv.url, 'GET', p);

/** The opening tag of the element with id `id` (attributes in any order). */
function tagWithId(html, id) {
  const m = new RegExp(`<[a-zA-Z][^>]*\\sid=["']${id}["'][^>]*>`).exec(html);
  return m ? m[0] : null;
}
function attr(tag, name) {
  const m = new RegExp(`\\s${name}=(?:"([^"]*)"|'([^']*)')`).exec(tag);
  return m ? (m[1] ?? m[2]) : null;
}

describe('GET /', () => {
  test('lists chats as links, titles escaped, with the new-chat form', T, async () => {
    const hostile = `<script>alert("t")</script> & 'co'`;
    const c = await createChat(srv.url, hostile);
    const plain = await createChat(srv.url, 'Plain title');
    const r = await page('/');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    assert.ok(tagWithId(r.text, 'chats'), '#chats present');
    assert.ok(r.text.includes(`/chats/${c.id}`), 'link to the hostile chat');
    assert.ok(r.text.includes(`/chats/${plain.id}`), 'link to the plain chat');
    assert.ok(r.text.includes('Plain title'));
    assertEscaped(r.text, '<script>alert("t")</script>', 'title');
    const form = tagWithId(r.text, 'new-chat');
    assert.ok(form, 'form#new-chat');
    assert.match(form, /^<form/);
    assert.equal(attr(form, 'action'), '/chats');
    assert.match(attr(form, 'method') || '', /post/i);
    assert.match(r.text, /name=["']title["']/, 'title field');
    // newest first on the page too
    assert.ok(r.text.indexOf(`/chats/${plain.id}`) < r.text.indexOf(`/chats/${c.id}`), 'newest first');
  });
});

describe('POST /chats (form)', () => {
  test('303 to the new chat page; the chat exists', T, async () => {
    const r = await postForm(srv.url, '/chats', { title: 'From a form & such' });
    assert.equal(r.status, 303, r.text.slice(0, 300));
    const loc = r.headers.get('location') || '';
    const m = /(?:^|\/\/[^/]+)\/chats\/([a-z0-9]+)$/.exec(loc);
    assert.ok(m, `Location /chats/ID: ${loc}`);
    assert.match(m[1], ID_RE);
    const chat = await getChat(srv.url, m[1]);
    assert.equal(chat.title, 'From a form & such');
    const p = await page(`/chats/${m[1]}`);
    assert.equal(p.status, 200);
  });

  test('blank title is 422 with a readable page, nothing created', T, async () => {
    const before = (await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length;
    const r = await postForm(srv.url, '/chats', { title: '   ' });
    assert.equal(r.status, 422);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    assert.ok(/title/i.test(r.text), 'the page names the field');
    const r2 = await postForm(srv.url, '/chats', {});
    assert.equal(r2.status, 422);
    assert.equal((await api(srv.url, 'GET', '/api/v1/chats')).json.chats.length, before);
  });
});

describe('GET /chats/{id}', () => {
  let c;
  let html;
  before(async () => {
    c = await createChat(srv.url, `Title <i>x</i>`);
    await postMessage(srv.url, c.id, 'hello world', 'Ada');
    await postMessage(srv.url, c.id, `<script>alert(1)</script>"'&`, `<b>Mallory</b>`);
    const r = await page(`/chats/${c.id}`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    html = r.text;
  });

  test('header with the escaped title', T, async () => {
    const tag = tagWithId(html, 'chat-header');
    assert.ok(tag, '#chat-header');
    assertEscaped(html, '<i>x</i>', 'title');
  });

  test('history rendered as article#msg-SEQ.msg.msg-person, escaped', T, async () => {
    assert.ok(tagWithId(html, 'messages'), '#messages');
    for (const seq of [1, 2]) {
      const tag = tagWithId(html, `msg-${seq}`);
      assert.ok(tag, `#msg-${seq}`);
      assert.match(tag, /^<article/);
      const cls = (attr(tag, 'class') || '').split(/\s+/);
      assert.ok(cls.includes('msg') && cls.includes('msg-person'), `classes: ${cls}`);
    }
    assert.equal(html.match(/id=["']msg-1["']/g).length, 1, 'msg-1 once');
    assert.ok(html.indexOf('id="msg-1"') < html.indexOf('id="msg-2"'), 'oldest first');
    assert.match(html, /class=["'][^"']*\bmsg-author\b/);
    assert.match(html, /class=["'][^"']*\bmsg-body\b/);
    assert.ok(html.includes('hello world'));
    assertEscaped(html, '<script>alert(1)</script>', 'body');
    assertEscaped(html, '<b>Mallory</b>', 'author');
    assert.ok(!/<script>alert/.test(html));
  });

  test('composer form posting to /chats/ID/messages', T, async () => {
    const form = tagWithId(html, 'composer');
    assert.ok(form, 'form#composer');
    assert.match(form, /^<form/);
    const targets = [attr(form, 'action'), attr(form, 'hx-post')].filter(Boolean);
    assert.ok(targets.includes(`/chats/${c.id}/messages`), `composer posts to /chats/${c.id}/messages: ${form}`);
    assert.ok(attr(form, 'hx-post'), 'posts with htmx (hx-post)');
    assert.match(html, /<input[^>]*name=["']author["']/);
    assert.match(html, /<textarea[^>]*name=["']body["']/);
  });

  test('#chat has hx-ext=sse and sse-connect ?after=last_event_id', T, async () => {
    const chat = await getChat(srv.url, c.id);
    const tag = tagWithId(html, 'chat');
    assert.ok(tag, '#chat');
    assert.match(attr(tag, 'hx-ext') || '', /\bsse\b/);
    assert.equal(attr(tag, 'sse-connect'), `/chats/${c.id}/events?after=${chat.last_event_id}`);
    assert.equal(chat.last_event_id, 2);
  });

  test('htmx and the sse extension are loaded from /static/ with cache headers', T, async () => {
    const srcs = [...html.matchAll(/<script[^>]*\ssrc=["']([^"']+)["']/g)].map((m) => m[1]);
    const statics = srcs.filter((s) => s.startsWith('/static/'));
    assert.ok(statics.some((s) => /htmx/i.test(s)), `htmx script under /static/: ${srcs}`);
    assert.ok(statics.some((s) => /sse/i.test(s)), `sse extension under /static/: ${srcs}`);
    for (const s of statics) {
      const r = await fetch(srv.url + s, { signal: AbortSignal.timeout(5000) });
      const body = await r.text();
      assert.equal(r.status, 200, s);
      assert.match(r.headers.get('content-type') || '', /javascript/, `${s} content-type`);
      const cc = r.headers.get('cache-control') || '';
      assert.match(cc, /max-age=\d+|immutable/, `${s} Cache-Control: ${cc}`);
      assert.ok(body.length > 1000, `${s} has content`);
    }
    const missing = await fetch(srv.url + '/static/no-such-file.js');
    await missing.text();
    assert.equal(missing.status, 404);
  });

  test('no path traversal under /static/', T, async () => {
    for (const p of ['/static/../Makefile', '/static/%2e%2e/Makefile', '/static/..%2f..%2fetc%2fpasswd', '/static/../../../../etc/passwd']) {
      const res = await rawRequest(srv.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
      assert.equal(res.status, 404, `${p} → ${res.status}`);
      assert.ok(!res.body.includes('root:'), `${p} leaks /etc/passwd`);
    }
  });

  test('unknown chat page is a 404 HTML page', T, async () => {
    const r = await page('/chats/zzzzzzzzzzzz');
    assert.equal(r.status, 404);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    assert.match(r.text, /<html|<!doctype/i);
  });
});

describe('earlier messages: GET /chats/{id}/messages?before=SEQ', () => {
  const seqsIn = (html) => [...html.matchAll(/<article id="msg-(\d+)"/g)].map((m) => Number(m[1]));
  const earlierOf = (html) => {
    const m = /<button[^>]*class="earlier[^"]*"[^>]*hx-get="([^"]+)"/.exec(html);
    return m ? m[1] : null;
  };
  const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

  test('a page of the last 200 starts with "Earlier messages"; each fetch gives the 100 before, oldest first, with a button while more are left', { timeout: 60000 }, async () => {
    const c = await createChat(srv.url, 'Long history');
    for (let i = 1; i <= 350; i++) await postMessage(srv.url, c.id, `m${i}`, 'Ada');
    const r = await page(`/chats/${c.id}`);
    assert.deepEqual(seqsIn(r.text), range(151, 350), 'the page: the last 200');
    assert.equal(earlierOf(r.text), `/chats/${c.id}/messages?before=151`);
    const first = await page(earlierOf(r.text));
    assert.equal(first.status, 200);
    assert.match(first.headers.get('content-type') || '', /^text\/html/);
    assert.deepEqual(seqsIn(first.text), range(51, 150));
    assert.ok(first.text.startsWith('<button'), 'the next button comes first, in the place of the one pressed');
    assert.equal(earlierOf(first.text), `/chats/${c.id}/messages?before=51`);
    const last = await page(earlierOf(first.text));
    assert.deepEqual(seqsIn(last.text), range(1, 50));
    assert.equal(earlierOf(last.text), null, 'nothing earlier: no button');
    assert.ok(last.text.includes('m1</p>'), 'rendered as on the page');
    const exact = await createChat(srv.url, 'Exactly a page');
    for (let i = 1; i <= 200; i++) await postMessage(srv.url, exact.id, `e${i}`, 'Ada');
    const whole = await page(`/chats/${exact.id}`);
    assert.equal(seqsIn(whole.text).length, 200);
    assert.equal(earlierOf(whole.text), null, 'all 200 shown: no button');
    const short = await createChat(srv.url, 'Short history');
    await postMessage(srv.url, short.id, 'only one', 'Ada');
    assert.equal(earlierOf((await page(`/chats/${short.id}`)).text), null, 'a short chat has no button');
  });

  test('a bad before is 400, an unknown chat 404; an htmx request gets the error as a fragment', T, async () => {
    const c = await createChat(srv.url, 'Bad before');
    for (const q of ['', '?before=0', '?before=-1', '?before=x', '?before=1e3']) {
      const r = await page(`/chats/${c.id}/messages${q}`);
      assert.equal(r.status, 400, `${q}: ${r.status}`);
      assert.match(r.text, /before/i);
    }
    assert.equal((await page('/chats/zzzzzzzzzzzz/messages?before=5')).status, 404);
    const frag = await api(srv.url, 'GET', `/chats/${c.id}/messages?before=0`, undefined, { headers: { 'HX-Request': 'true' } });
    assert.equal(frag.status, 400);
    assert.match(frag.text, /^<p class="error">/);
  });
});

describe('POST /chats/{id}/messages (form)', () => {
  test('without htmx: 303 to the chat page; message visible via the API', T, async () => {
    const c = await createChat(srv.url, 'form post');
    const r = await postForm(srv.url, `/chats/${c.id}/messages`, { author: 'Form Ada', body: 'from a form\nline 2 & <tag>' });
    assert.equal(r.status, 303, r.text.slice(0, 200));
    assert.match(r.headers.get('location') || '', new RegExp(`/chats/${c.id}$`));
    const msgs = (await api(srv.url, 'GET', `/api/v1/chats/${c.id}/messages`)).json.messages;
    assert.equal(msgs.length, 1);
    assert.equal(msgs[0].author, 'Form Ada');
    assert.equal(msgs[0].body, 'from a form\nline 2 & <tag>');
    assert.equal(msgs[0].kind, 'person');
  });

  test('with htmx (HX-Request): 2xx, no reload needed; streamed to subscribers', T, async () => {
    const c = await createChat(srv.url, 'htmx post');
    const s = srv.track(await openReadyStream(srv.url, htmlStreamPath(c.id)));
    const r = await postForm(srv.url, `/chats/${c.id}/messages`, { author: 'Hx', body: 'via htmx' }, { headers: { 'HX-Request': 'true' } });
    assert.ok(r.status >= 200 && r.status < 300, `status ${r.status}`);
    const [, ev] = await waitForEvents(s, 2);
    assert.equal(ev.event, 'message');
    assert.match(ev.data, /id="msg-1"/);
    assert.ok(ev.data.includes('via htmx'));
    const msgs = (await api(srv.url, 'GET', `/api/v1/chats/${c.id}/messages`)).json.messages;
    assert.deepEqual(msgs.map((m) => m.body), ['via htmx']);
  });

  test('missing body is 422 with HTML, nothing stored; unknown chat is 404', T, async () => {
    const c = await createChat(srv.url, 'form errors');
    const r = await postForm(srv.url, `/chats/${c.id}/messages`, { author: 'Ada', body: '  ' });
    assert.equal(r.status, 422);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    const r2 = await postForm(srv.url, `/chats/${c.id}/messages`, { body: 'no author' });
    assert.equal(r2.status, 422);
    assert.equal((await getChat(srv.url, c.id)).last_event_id, 0);
    const r3 = await postForm(srv.url, `/chats/zzzzzzzzzzzz/messages`, { author: 'a', body: 'b' });
    assert.equal(r3.status, 404);
  });

  test('malformed form (invalid UTF-8 after decoding) is 400, nothing stored', T, async () => {
    const c = await createChat(srv.url, 'bad form');
    for (const body of ['author=Ada&body=%FF%FE%C3', 'author=%C3%28&body=hi']) {
      const res = await fetch(`${srv.url}/chats/${c.id}/messages`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body,
        redirect: 'manual',
      });
      await res.text();
      assert.equal(res.status, 400, body);
    }
    const r = await postForm(srv.url, '/chats', { title: 'x' }, {});
    assert.equal(r.status, 303);
    const bad = await fetch(`${srv.url}/chats`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: 'title=%FF',
      redirect: 'manual',
    });
    await bad.text();
    assert.equal(bad.status, 400, 'invalid UTF-8 title');
    assert.equal((await getChat(srv.url, c.id)).last_event_id, 0);
  });
});

describe('errors on HTML routes are readable pages or fragments', () => {
  test('htmx post with a blank body: 422 HTML fragment saying, as to a person, what to fix', T, async () => {
    const c = await createChat(srv.url, 'hx errors');
    const r = await postForm(srv.url, `/chats/${c.id}/messages`, { author: 'Ada', body: ' ' }, { headers: { 'HX-Request': 'true' } });
    assert.equal(r.status, 422);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    assert.equal(r.text, '<p class="error">Write something first: the message is empty.</p>');
    const r2 = await postForm(srv.url, `/chats/${c.id}/messages`, { author: '', body: 'x' }, { headers: { 'HX-Request': 'true' } });
    assert.equal(r2.status, 422);
    assert.match(r2.text, /Say who you are: the name field/);
    assert.equal((await getChat(srv.url, c.id)).last_event_id, 0);
  });

  test('form message body over 16 KiB: 413 HTML, nothing stored', T, async () => {
    const c = await createChat(srv.url, 'big form');
    const r = await postForm(srv.url, `/chats/${c.id}/messages`, { author: 'Ada', body: 'x'.repeat(16 * 1024 + 1) });
    assert.equal(r.status, 413);
    assert.match(r.headers.get('content-type') || '', /^text\/html/);
    assert.match(r.text, /That message is too long: a message may hold 16 KiB of text\./);
    const ok = await postForm(srv.url, `/chats/${c.id}/messages`, { author: 'Ada', body: 'x'.repeat(16 * 1024) });
    assert.equal(ok.status, 303);
    assert.equal((await getChat(srv.url, c.id)).last_event_id, 1);
  });

  test('wrong method on a page: 405 with Allow, HTML', T, async () => {
    const c = await createChat(srv.url, 'methods');
    for (const [method, p, allowed] of [
      ['DELETE', `/chats/${c.id}`, 'GET'],
      ['PUT', '/chats', 'POST'],
      ['PUT', `/chats/${c.id}/messages`, 'POST'],
    ]) {
      const res = await fetch(srv.url + p, { method, redirect: 'manual' });
      const text = await res.text();
      assert.equal(res.status, 405, `${method} ${p}`);
      const allow = (res.headers.get('allow') || '').split(',').map((x) => x.trim());
      assert.ok(allow.includes(allowed), `${method} ${p}: Allow ${allow} includes ${allowed}`);
      assert.match(res.headers.get('content-type') || '', /^text\/html/, `${method} ${p}: HTML error`);
      assert.ok(text.length > 0);
    }
  });

  test('unknown page path is 404', T, async () => {
    const r = await page('/no-such-page');
    assert.equal(r.status, 404);
    assert.ok(r.text.length > 0, 'has a readable body');
  });
});

describe('the bots page', () => {
  test('the list comes first; a refused new bot shows its form first, with what was sent', T, async () => {
    const ok = await postForm(srv.url, '/bots', { name: 'Lister', backend: 'echo' });
    assert.equal(ok.status, 303);
    const r = await page('/bots');
    assert.ok(r.text.indexOf('id="bots"') < r.text.indexOf('id="new-bot"'), 'list, then the form');

    const bad = await postForm(srv.url, '/bots', { name: 'Lister', backend: 'dice', persona: 'kept <b>' });
    assert.equal(bad.status, 409);
    assert.ok(bad.text.indexOf('id="new-bot"') < bad.text.indexOf('id="bots"'), 'the refused form first');
    const form = bad.text.slice(bad.text.indexOf('id="new-bot"'), bad.text.indexOf('</form>', bad.text.indexOf('id="new-bot"')));
    assert.match(form, /name="name"[^>]*value="Lister"/, 'name kept');
    assert.match(form, /<option selected>dice<\/option>/, 'backend kept');
    assert.ok(form.includes('kept &lt;b&gt;'), 'persona kept, escaped');
    assert.match(bad.text, /<p class="error" role="alert">Name: a bot with that name exists<\/p>/);
  });

  test('a refused edit opens that bot, with what was sent and why (the bot named by id or by name)', T, async () => {
    const made = await api(srv.url, 'POST', '/api/v1/bots', { name: 'Editee', backend: 'echo' });
    for (const ref of [made.json.id, 'editee']) {
      const r = await postForm(srv.url, `/bots/${ref}`, { name: 'Editee', backend: 'echo', temperature: '9', persona: 'new words' });
      assert.equal(r.status, 422, ref);
      const at = r.text.indexOf(`id="bot-${made.json.id}"`);
      const card = r.text.slice(at, r.text.indexOf('</li>', at));
      assert.match(card, /<details open>/, `${ref}: the card is open`);
      assert.ok(card.includes('new words'), `${ref}: what was sent is shown`);
      assert.match(card, /<p class="error" role="alert">Temperature: [^<]+<\/p>/, `${ref}: and why it was refused`);
    }
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${made.json.id}`)).json.persona, '', 'nothing changed');
  });

  test('deleting a bot needs the confirmation box; without it nothing changes', T, async () => {
    const made = await api(srv.url, 'POST', '/api/v1/bots', { name: 'Doomed', backend: 'echo' });
    const refused = await postForm(srv.url, `/bots/${made.json.id}/delete`, {});
    assert.equal(refused.status, 422);
    assert.match(refused.text, /Tick the box/);
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${made.json.id}`)).status, 200);
    const done = await postForm(srv.url, `/bots/${made.json.id}/delete`, { confirm: 'yes' });
    assert.equal(done.status, 303);
    assert.equal((await api(srv.url, 'GET', `/api/v1/bots/${made.json.id}`)).status, 404);
  });
});

describe('deleting a chat from its settings', () => {
  test('needs the confirmation box; then the chat is gone and the answer goes to the list', T, async () => {
    const c = await createChat(srv.url, 'Short-lived');
    const refused = await postForm(srv.url, `/chats/${c.id}/delete`, {});
    assert.equal(refused.status, 422);
    assert.equal((await getChat(srv.url, c.id)).title, 'Short-lived', 'still there');
    const done = await postForm(srv.url, `/chats/${c.id}/delete`, { confirm: 'yes' });
    assert.equal(done.status, 303);
    assert.equal(done.headers.get('location'), '/');
    assert.equal((await api(srv.url, 'GET', `/api/v1/chats/${c.id}`)).status, 404);
  });
});

describe('a bot whose key variable is not set', () => {
  test('is flagged on the bots page; one whose variable is set is not', T, async () => {
    await withServer({ env: { PARLEY_KEY_PRESENT: 'sk-test' } }, async (s) => {
      const make = (name, env) => api(s.url, 'POST', '/api/v1/bots', {
        name, backend: 'openai', base_url: 'http://127.0.0.1:9/v1', api_key_env: env,
      });
      const missing = await make('Keyless', 'PARLEY_KEY_ABSENT');
      const present = await make('Keyed', 'PARLEY_KEY_PRESENT');
      assert.equal(missing.status, 201);
      assert.equal(present.status, 201);
      const r = await api(s.url, 'GET', '/bots');
      const card = (id) => r.text.slice(r.text.indexOf(`id="bot-${id}"`), r.text.indexOf('</li>', r.text.indexOf(`id="bot-${id}"`)));
      assert.match(card(missing.json.id), /<p class="warning">PARLEY_KEY_ABSENT is not set in the server's environment/);
      assert.match(card(missing.json.id), /<summary>.*<span class="warning">key not set<\/span><\/summary>/, 'seen on the closed card');
      assert.doesNotMatch(card(present.json.id), /class="warning"/);
      assert.ok(!r.text.includes('sk-test'), 'the key itself is never shown');
    });
  });
});
