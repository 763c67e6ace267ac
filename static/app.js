// Parley's page behaviour: idempotent stream swaps, the composer, scrolling.
(function () {
  'use strict';

  // A message fragment applied twice (the SSE extension reconnects without
  // Last-Event-ID) replaces the element with the same id instead of adding one.
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ev = e.detail;
    if (!ev || (ev.type !== 'message' && ev.type !== 'message-update')) return;
    var tpl = document.createElement('template');
    tpl.innerHTML = ev.data;
    var incoming = tpl.content.firstElementChild;
    if (!incoming || !incoming.id) return;
    var existing = document.getElementById(incoming.id);
    if (!existing) return;
    e.preventDefault();
    existing.replaceWith(incoming);
    if (window.htmx) window.htmx.process(incoming);
    localTimes(incoming);
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
        t.textContent = d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
        t.title = d.toLocaleString();
      }
    });
  }
  document.addEventListener('htmx:load', function (e) { localTimes(e.detail.elt); });

  document.addEventListener('DOMContentLoaded', function () {
    var m = messages();
    if (m) m.scrollTop = m.scrollHeight;
    localTimes(document);
    var form = document.getElementById('composer');
    if (!form) return;
    var author = form.querySelector('[name=author]');
    var body = form.querySelector('[name=body]');
    try { author.value = localStorage.getItem('parley.author') || ''; } catch (_) {}
    author.addEventListener('change', function () {
      try { localStorage.setItem('parley.author', author.value); } catch (_) {}
    });
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
    (author.value ? body : author).focus();
  });
})();
