// Parley's page behaviour: idempotent stream swaps, the composer, scrolling.
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
      if (el) el.insertAdjacentHTML('beforeend', t.data);   // escaped by the server
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

  document.addEventListener('DOMContentLoaded', function () {
    var m = messages();
    if (m) m.scrollTop = m.scrollHeight;
    localTimes(document);
    var form = document.getElementById('composer');
    if (!form) return;
    // Without accounts (--auth none) people name themselves; the name is remembered.
    var author = form.querySelector('[name=author]');
    var body = form.querySelector('[name=body]');
    if (author) {
      try { author.value = localStorage.getItem('parley.author') || ''; } catch (_) {}
      author.addEventListener('change', function () {
        try { localStorage.setItem('parley.author', author.value); } catch (_) {}
      });
    }
    // Enter sends, Shift+Enter starts a new line.
    body.addEventListener('keydown', function (e) {
      if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    form.addEventListener('htmx:afterRequest', function (e) {
      if (e.detail.successful) {
        body.value = '';
        body.focus();
      }
    });
    (author && !author.value ? author : body).focus();
  });
})();
