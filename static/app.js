// Parley's page behaviour: idempotent stream swaps, following the newest words,
// the composer (drafts kept, Enter to send where there is a keyboard, sends
// refused visibly while the server cannot be reached), copy buttons, times.
(function () {
  'use strict';

  // A reply being written gets its "token-SEQ" events appended. The listener
  // goes on the EventSource while the message event is being handled, so it
  // is in place before the first token (which may be in the same read).
  var tokenListeners = new WeakMap();   // EventSource -> Map(event name -> fn)

  function listenForTokens(source, fragment) {
    var typing = fragment.querySelector('[data-tokens]');
    var listeners = tokenListeners.get(source);
    if (!listeners) tokenListeners.set(source, listeners = new Map());
    var name = typing ? typing.getAttribute('data-tokens') : 'token-' + fragment.dataset.seq;
    if (!typing) {                       // finished: stop listening
      var done = listeners.get(name);
      if (done) { source.removeEventListener(name, done); listeners.delete(name); }
      return;
    }
    if (listeners.has(name)) return;
    var fn = function (t) {
      var el = document.querySelector('[data-tokens="' + name + '"]');
      if (!el) return;
      var m = messages(), follow = m && nearBottom(m);
      el.insertAdjacentHTML('beforeend', t.data);   // escaped by the server
      if (follow) m.scrollTop = m.scrollHeight;     // the view follows the reply
    };
    listeners.set(name, fn);
    source.addEventListener(name, fn);
  }

  // A message fragment applied twice (the SSE extension reconnects without
  // Last-Event-ID) replaces the element with the same id instead of adding one.
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ev = e.detail;
    if (!ev || (ev.type !== 'message' && ev.type !== 'message-update')) return;
    var tpl = document.createElement('template');
    tpl.innerHTML = ev.data;
    var incoming = tpl.content.firstElementChild;
    if (!incoming || !incoming.id) return;
    if (ev.target) listenForTokens(ev.target, incoming);
    var existing = document.getElementById(incoming.id);
    if (!existing) return;
    e.preventDefault();
    existing.replaceWith(incoming);
    if (window.htmx) window.htmx.process(incoming);
    localTimes(incoming);
  });

  // Access to the chat ended (deleted, removed, signed out): nothing more can be sent.
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    if (!e.detail || e.detail.type !== 'deleted') return;
    var form = document.getElementById('composer');
    if (form) form.querySelectorAll('textarea, input, button').forEach(function (el) {
      el.disabled = true;
    });
  });

  function messages() { return document.getElementById('messages'); }

  function nearBottom(el) {
    return el.scrollHeight - el.scrollTop - el.clientHeight < 120;
  }

  var stick = true;
  document.addEventListener('htmx:sseBeforeMessage', function () {
    var m = messages();
    stick = !m || nearBottom(m);
  });
  document.addEventListener('htmx:sseMessage', function () {
    var m = messages();
    if (m && stick) m.scrollTop = m.scrollHeight;
  });

  function localTimes(root) {
    if (!root || !root.querySelectorAll) return;
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d)) {
        t.textContent = t.hasAttribute('data-date')
          ? d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })
          : d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        t.title = d.toLocaleString();
      }
    });
  }
  document.addEventListener('htmx:load', function (e) { localTimes(e.detail.elt); });
  document.addEventListener('parley:times', function (e) { localTimes(e.detail.root); });

  // A "Copy" button (data-copy="ID") copies the value of the input with that id.
  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('button[data-copy]');
    if (!button) return;
    var input = document.getElementById(button.getAttribute('data-copy'));
    if (!input) return;
    input.select();
    var done = function () { button.textContent = 'Copied'; };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand('copy')) {
      done();
    }
  });

  // ---------- the connection ----------

  var online = true;
  document.addEventListener('parley:connection', function (e) {
    online = e.detail.online;
    document.body.classList.toggle('offline', !online);
    var status = document.getElementById('connection');
    if (status) status.hidden = online;
  });

  // ---------- the composer ----------

  function store(key, value) {
    try { if (value) localStorage.setItem(key, value); else localStorage.removeItem(key); } catch (_) {}
  }
  function stored(key) {
    try { return localStorage.getItem(key) || ''; } catch (_) { return ''; }
  }

  var MAX_BODY_BYTES = 16384;
  var TOO_LONG = 'That message is too long: a message may hold 16 KiB of text.';

  function composerError(form, text) {
    var box = form.querySelector('.form-error');
    if (box) box.textContent = text;
  }

  // "@" offers the chat's bots (the names in its header) as you type.
  function setUpMentions(form, body) {
    var box = document.createElement('ul'), items = [], active = 0;
    box.className = 'mention-box';
    box.hidden = true;
    box.setAttribute('role', 'listbox');
    form.appendChild(box);
    function bots() {
      return Array.from(document.querySelectorAll('#chat-header .bot-name'))
        .map(function (b) { return b.textContent; });
    }
    function word() {
      var m = /(^|\s)@([A-Za-z0-9_-]*)$/.exec(body.value.slice(0, body.selectionStart));
      return m ? { start: body.selectionStart - m[2].length, text: m[2].toLowerCase() } : null;
    }
    function hide() { box.hidden = true; items = []; }
    function pick(name) {
      var w = word();
      if (!w) return hide();
      var rest = body.value.slice(body.selectionStart);
      body.value = body.value.slice(0, w.start) + name + ' ' + rest;
      var at = w.start + name.length + 1;
      body.setSelectionRange(at, at);
      hide();
      body.dispatchEvent(new Event('input'));
    }
    function render() {
      box.replaceChildren.apply(box, items.map(function (name, i) {
        var li = document.createElement('li');
        li.textContent = '@' + name;
        li.setAttribute('role', 'option');
        li.setAttribute('aria-selected', i === active ? 'true' : 'false');
        li.addEventListener('mousedown', function (e) { e.preventDefault(); pick(name); });
        return li;
      }));
      box.hidden = false;
    }
    body.addEventListener('input', function () {
      var w = word();
      items = w ? bots().filter(function (n) { return n.toLowerCase().indexOf(w.text) === 0; }) : [];
      if (items.length === 0 || (items.length === 1 && items[0].toLowerCase() === (w && w.text))) return hide();
      active = 0;
      render();
    });
    body.addEventListener('keydown', function (e) {
      if (box.hidden) return;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        active = (active + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length;
        render();
      } else if (e.key === 'Enter' || e.key === 'Tab') {
        pick(items[active]);
      } else {
        if (e.key === 'Escape') hide();
        return;
      }
      e.preventDefault();
      e.stopImmediatePropagation();     // not a send
    });
    body.addEventListener('blur', hide);
  }

  // Without accounts people name themselves; once named, the field folds into "as NAME".
  function setUpAuthor(form, author) {
    var as = document.createElement('button');
    as.type = 'button';
    as.className = 'posting-as';
    form.insertBefore(as, author);
    function fold() {
      var named = author.value.trim() !== '';
      author.hidden = named;
      as.hidden = !named;
      as.textContent = 'Posting as ' + author.value.trim() + ' · change';
    }
    author.value = stored('parley.author');
    author.addEventListener('change', function () { store('parley.author', author.value); fold(); });
    as.addEventListener('click', function () { author.hidden = false; as.hidden = true; author.focus(); });
    fold();
  }

  function setUpComposer(form) {
    var chat = form.getAttribute('data-chat');
    var author = form.querySelector('[name=author]');   // --auth none: people name themselves
    var body = form.querySelector('[name=body]');
    var draft = 'parley.draft.' + chat;
    if (author) setUpAuthor(form, author);
    body.value = body.value || stored(draft);             // nothing typed is ever lost
    setUpMentions(form, body);
    body.addEventListener('input', function () { store(draft, body.value); });
    // Enter sends where there is a keyboard; on a phone Enter is a new line and the button sends.
    var keyboard = window.matchMedia && window.matchMedia('(hover: hover) and (pointer: fine)').matches;
    body.addEventListener('keydown', function (e) {
      if (keyboard && e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('htmx:beforeRequest', function (e) {
      if (!online) {
        e.preventDefault();
        composerError(form, 'Not sent: the server cannot be reached right now. Your message is kept here; send it again once the connection is back.');
      } else if (window.TextEncoder && new TextEncoder().encode(body.value).length > MAX_BODY_BYTES) {
        e.preventDefault();     // maxlength counts characters; the server counts bytes
        composerError(form, TOO_LONG);
      }
    });
    form.addEventListener('htmx:sendError', function () {
      composerError(form, 'Not sent: the server could not be reached. Your message is kept here.');
    });
    form.addEventListener('htmx:afterRequest', function (e) {
      var xhr = e.detail.xhr;
      // refused before it reached the page's handler: the server's JSON, not words
      if (xhr && xhr.status === 413 && /json/.test(xhr.getResponseHeader('Content-Type') || ''))
        composerError(form, TOO_LONG);
      if (xhr && xhr.status >= 200 && xhr.status < 300) {
        body.value = '';
        store(draft, '');
        body.focus();
      }
    });
    // a touch screen's keyboard would cover the chat: focus only with a real keyboard
    if (keyboard) (author && !author.value ? author : body).focus();
  }

  document.addEventListener('DOMContentLoaded', function () {
    var m = messages();
    if (m) m.scrollTop = m.scrollHeight;
    localTimes(document);
    var form = document.getElementById('composer');
    if (form) setUpComposer(form);
  });
})();
