// What is new: the live chat list (items replaced and moved to the top as
// their chats move, new chats appearing, gone ones leaving), unread counts,
// read marks, the tab's title, and notifications (only once asked for).
//
// A chat's read mark is the seq of the newest message its page has shown
// while visible. It goes to the server (POST /chats/ID/read: with accounts it
// is kept per person) and to this browser (localStorage, and the other tabs
// at once through a BroadcastChannel). Unread = a chat's newest seq minus its
// read mark.
(function () {
  'use strict';

  var channel = window.BroadcastChannel ? new BroadcastChannel('parley-read') : null;
  var marks = {};               // chat id -> read seq heard of in this tab
  var baseTitle = document.title;

  function stored(chat) {
    try { return Number(localStorage.getItem('parley.read.' + chat)) || 0; } catch (_) { return 0; }
  }
  function keep(chat, seq) {
    try { localStorage.setItem('parley.read.' + chat, String(seq)); } catch (_) {}
  }
  function readOf(chat, item) {
    var server = item ? Number(item.getAttribute('data-read')) || 0 : 0;
    var own = item && ownNewest(item) ? Number(item.getAttribute('data-seq')) || 0 : 0;
    return Math.max(server, own, stored(chat), marks[chat] || 0);
  }
  // The newest message of a list item is one's own (never unread): by account,
  // or with --auth none by the name this browser posts as.
  function ownNewest(item) {
    var me = document.body.getAttribute('data-me-id');
    if (me) return item.getAttribute('data-by-user') === me;
    var name = item.getAttribute('data-by-name'), mine = null;
    try { mine = localStorage.getItem('parley.author'); } catch (_) {}
    return !!(name && mine && name.toLowerCase() === mine.toLowerCase());
  }

  // ---------- the chat list ----------

  function list() { return document.getElementById('chats'); }

  function showUnread() {
    var ul = list();
    if (!ul) return;
    var total = 0;
    ul.querySelectorAll('li.chat-item').forEach(function (li) {
      var chat = li.id.slice('chat-'.length);
      var n = Math.max(0, (Number(li.getAttribute('data-seq')) || 0) - readOf(chat, li));
      var badge = li.querySelector('.chat-unread');
      if (badge) { badge.textContent = n > 99 ? '99+' : String(n); badge.hidden = n === 0; }
      li.classList.toggle('has-unread', n > 0);
      total += n;
    });
    document.title = (total > 0 ? '(' + total + ') ' : '') + baseTitle;
    var empty = document.getElementById('no-chats');
    if (empty) empty.hidden = ul.children.length > 0;
  }

  function fragment(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    return t.content;
  }

  // Latest activity first: before the first item less active than li.
  function insertByActivity(ul, li) {
    var active = Number(li.getAttribute('data-active')) || 0;
    var items = ul.querySelectorAll('li.chat-item');
    for (var i = 0; i < items.length; i++)
      if ((Number(items[i].getAttribute('data-active')) || 0) < active) {
        ul.insertBefore(li, items[i]);
        return;
      }
    ul.appendChild(li);
  }

  // A list change: a chat's new state takes its place by activity; a gone chat leaves;
  // a read mark moved on another device of the person's ("ID SEQ").
  function listEvent(type, data) {
    var ul = list();
    if (type === 'read') {
      var m = /^(\S+) (\d+)$/.exec(data);
      if (m && Number(m[2]) > (marks[m[1]] || 0)) { marks[m[1]] = Number(m[2]); keep(m[1], marks[m[1]]); }
    } else if (type === 'all') {
      ul.replaceChildren(fragment(data));
    } else if (type === 'gone') {
      var old = document.getElementById('chat-' + data);
      if (old) old.remove();
    } else {
      var li = fragment(data).firstElementChild;
      if (!li) return;
      var prev = document.getElementById(li.id);
      if (prev) {
        if (!li.hasAttribute('data-read') && prev.hasAttribute('data-read'))
          li.setAttribute('data-read', prev.getAttribute('data-read'));
        prev.remove();
      }
      insertByActivity(ul, li);
    }
    if (window.htmx) window.htmx.process(ul);
    document.dispatchEvent(new CustomEvent('parley:times', { detail: { root: ul } }));
    showUnread();
  }

  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ul = list();
    if (!ul || e.target !== ul) return;
    e.preventDefault();
    listEvent(e.detail.type, e.detail.data);
  });

  // ---------- a chat's page: marks, title, notifications ----------

  function chat() { return document.getElementById('chat'); }
  function chatId() { var c = chat(); return c ? c.getAttribute('data-chat') : null; }

  function newestSeq() {
    var seq = 0;
    document.querySelectorAll('#messages article[data-seq]').forEach(function (a) {
      seq = Math.max(seq, Number(a.getAttribute('data-seq')) || 0);
    });
    return seq;
  }

  var sent = 0, timer = null, unseen = 0;

  function markRead() {
    var id = chatId();
    if (!id || document.hidden) return;
    var seq = newestSeq();
    unseen = 0;
    document.title = baseTitle;
    if (seq <= readOf(id, null)) return;
    marks[id] = seq;
    keep(id, seq);
    if (channel) channel.postMessage({ chat: id, seq: seq });
    clearTimeout(timer);
    timer = setTimeout(function () { sendMark(false); }, 1000);   // at most one request a second
  }

  // The mark goes to the server; when the page goes away, as a beacon that outlives it.
  function sendMark(leaving) {
    var id = chatId();
    clearTimeout(timer);
    if (!id || !(marks[id] > sent)) return;
    sent = marks[id];
    var body = new URLSearchParams({ seq: String(sent) }), url = '/chats/' + id + '/read';
    if (leaving && navigator.sendBeacon && navigator.sendBeacon(url, body)) return;
    fetch(url, { method: 'POST', body: body, credentials: 'same-origin', keepalive: leaving })
      .catch(function () {});
  }
  window.addEventListener('pagehide', function () { sendMark(true); });
  document.addEventListener('visibilitychange', function () { if (document.hidden) sendMark(true); });

  if (channel) channel.onmessage = function (e) {
    var m = e.data;
    if (m && m.chat && m.seq > (marks[m.chat] || 0)) { marks[m.chat] = m.seq; showUnread(); }
  };

  function me() {
    var b = document.body;
    var names = [b.getAttribute('data-me'), b.getAttribute('data-me-name')];
    try { names.push(localStorage.getItem('parley.author')); } catch (_) {}
    return names.filter(function (n) { return n; }).map(function (n) { return n.toLowerCase(); });
  }

  function notifying() {
    return window.Notification && Notification.permission === 'granted' &&
      (function () { try { return localStorage.getItem('parley.notify') === '1'; } catch (_) { return false; } })();
  }

  var notified = 0;
  // A message arrived on this chat's page while nobody looked.
  function arrived(type, html) {
    var article = fragment(html).firstElementChild;
    if (!article || !article.matches('article[data-seq]')) return;
    var seq = Number(article.getAttribute('data-seq'));
    if (!document.hidden) return;
    if (type === 'message' && seq > newestSeq()) unseen++;     // not a replay
    document.title = '(' + unseen + ') ' + baseTitle;
    if (!notifying() || seq <= notified) return;
    var author = (article.querySelector('.msg-author') || {}).textContent || '';
    var text = (article.querySelector('.msg-body') || {}).textContent || '';
    var bot = article.classList.contains('msg-bot');
    var mentioned = !bot && me().some(function (n) { return text.toLowerCase().indexOf('@' + n) >= 0; });
    var finished = bot && type === 'message-update' && article.classList.contains('msg-complete');
    if (!mentioned && !finished) return;
    notified = seq;
    var n = new Notification(mentioned ? author + ' mentioned you' : author + ' replied',
      { body: text.slice(0, 140), tag: 'parley-' + chatId() });
    n.onclick = function () { window.focus(); n.close(); };
  }

  // Before the swap (app.js applies message updates itself, so no htmx:sseMessage
  // follows them); the mark is taken once the page shows the message.
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var t = e.detail && e.detail.type;
    if (chat() && (t === 'message' || t === 'message-update')) {
      arrived(t, e.detail.data);
      setTimeout(markRead, 0);
    }
  });
  document.addEventListener('visibilitychange', markRead);
  window.addEventListener('focus', markRead);

  // "Notify me": asks the browser's permission once, when clicked, never by itself.
  document.addEventListener('click', function (e) {
    var b = e.target.closest && e.target.closest('#notify');
    if (!b || !window.Notification) return;
    Notification.requestPermission().then(function (p) {
      try { localStorage.setItem('parley.notify', p === 'granted' ? '1' : '0'); } catch (_) {}
      showNotifyButton();
    });
  });

  function showNotifyButton() {
    var b = document.getElementById('notify');
    if (!b) return;
    if (!window.Notification || Notification.permission === 'denied') { b.hidden = true; return; }
    b.hidden = false;
    b.textContent = notifying() ? 'Notifications on' : 'Notify me';
    b.disabled = notifying();
  }

  document.addEventListener('DOMContentLoaded', function () {
    showUnread();
    showNotifyButton();
    markRead();
  });
})();
