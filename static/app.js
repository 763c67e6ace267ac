// Parley's page behaviour: idempotent stream swaps, following the newest words,
// the composer (drafts kept, Enter to send where there is a keyboard, sends
// refused visibly while the server cannot be reached), copy buttons, times,
// what can be done to a message (edit, delete, regenerate, continue, flip
// between answers), and who is typing.
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
  // An update of a message the page does not show (older than its first, or
  // deleted) adds nothing: only a new message is added at the end.
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ev = e.detail;
    if (!ev || (ev.type !== 'message' && ev.type !== 'message-update')) return;
    var tpl = document.createElement('template');
    tpl.innerHTML = ev.data;
    var incoming = tpl.content.firstElementChild;
    if (!incoming || !incoming.id) return;
    if (ev.target) listenForTokens(ev.target, incoming);
    var existing = document.getElementById(incoming.id);
    if (!existing && ev.type === 'message-update') { e.preventDefault(); return; }
    if (!existing) return;
    e.preventDefault();
    var focus = focusIn(existing);
    keepEditor(existing, incoming);
    existing.replaceWith(incoming);
    if (window.htmx) window.htmx.process(incoming);
    localTimes(incoming);
    offerAllActions(incoming);
    refocus(incoming, focus);
  });

  // The nearest message that takes the focus, going `way` from a.
  function sibling(a, way) {
    for (var s = a[way]; s; s = s[way]) if (s.matches('article.msg[tabindex]')) return s;
    return null;
  }

  // What has the keyboard's focus inside a message about to be rendered again, to give back.
  function focusIn(a) {
    var el = document.activeElement;
    if (!el || !a.contains(el)) return null;
    return { el: el, act: el.dataset.act, alt: el.classList.contains('alt') &&
      Array.prototype.indexOf.call(a.querySelectorAll('.msg-alts .alt'), el),
      start: el.selectionStart, end: el.selectionEnd };
  }
  function refocus(a, f) {
    if (!f) return;
    var el = a.contains(f.el) ? f.el        // the editor, carried across
      : f.act ? a.querySelector('.msg-actions [data-act="' + f.act + '"]')
      : f.alt !== false && f.alt >= 0 ? a.querySelectorAll('.msg-alts .alt')[f.alt] : null;
    if (!el || el.disabled) el = a;
    focusQuietly(el);
    if (el === f.el && typeof f.start === 'number') el.setSelectionRange(f.start, f.end);
  }

  // A deleted message leaves the page (applying it again, or before it came, does nothing).
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ev = e.detail;
    if (!ev || ev.type !== 'message-deleted') return;
    e.preventDefault();
    var tpl = document.createElement('template');
    tpl.innerHTML = ev.data;
    var gone = tpl.content.firstElementChild;
    var existing = gone && gone.id && document.getElementById(gone.id);
    if (!existing) return;
    var had = existing.contains(document.activeElement);
    var next = had && (sibling(existing, 'nextElementSibling') || sibling(existing, 'previousElementSibling') ||
      document.querySelector('#composer textarea'));
    existing.remove();
    dayParts();
    if (next) focusQuietly(next);
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
    if (!m) return;
    dayParts();     // a new day's head, before the view goes to the bottom
    if (stick) m.scrollTop = m.scrollHeight;
  });

  // Earlier messages come in above those shown, which stay where they were on the screen.
  document.addEventListener('htmx:beforeSwap', function (e) {
    var m = messages(), elt = e.detail.elt;
    if (!m || !elt || !elt.classList || !elt.classList.contains('earlier')) return;
    var fromBottom = m.scrollHeight - m.scrollTop;
    var shown = m.querySelector('article.msg'), hadFocus = document.activeElement === elt;
    requestAnimationFrame(function () {
      dayParts();     // their days' heads first: they take room too
      m.scrollTop = m.scrollHeight - fromBottom;
      // the button is gone: the focus goes to the newest of the messages it brought
      var newest = shown && shown.previousElementSibling;
      while (newest && !newest.matches('article.msg')) newest = newest.previousElementSibling;
      if (!hadFocus || !newest) return;
      if (!newest.hasAttribute('tabindex')) newest.tabIndex = -1;   // its actions not offered yet
      focusQuietly(newest);
    });
  });

  // Times in the reader's zone: the hour for today's and for messages (their day heads
  // them), the date and hour for anything else older.
  function localTimes(root) {
    if (!root || !root.querySelectorAll) return;
    var today = new Date().toDateString();
    root.querySelectorAll('time[datetime]').forEach(function (t) {
      var d = new Date(t.getAttribute('datetime'));
      if (!isNaN(d)) {
        var hourOnly = !t.hasAttribute('data-date') &&
          (d.toDateString() === today || t.closest('article.msg'));
        t.textContent = hourOnly ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
          : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
        t.title = d.toLocaleString();
      }
    });
  }

  // Messages of different days are parted by the day ("Today", "Yesterday", then the
  // date), in the reader's zone: worked out again whenever messages come, go or load
  // earlier, and when the day changes under an open page.
  function dayLabel(d) {
    var now = new Date();
    var days = Math.round((new Date(now.getFullYear(), now.getMonth(), now.getDate()) -
      new Date(d.getFullYear(), d.getMonth(), d.getDate())) / 86400000);
    if (days === 0) return 'Today';
    if (days === 1) return 'Yesterday';
    return d.toLocaleDateString([], { weekday: 'long', day: 'numeric', month: 'long',
      year: d.getFullYear() === now.getFullYear() ? undefined : 'numeric' });
  }
  function dayOf(el) {
    var t = el.matches('article.msg') && el.querySelector('header > time[datetime]');
    var d = t && new Date(t.getAttribute('datetime'));
    return d && !isNaN(d) ? d : null;
  }
  var daysDrawn = '';
  function dayParts() {
    var m = messages();
    if (!m) return;
    daysDrawn = new Date().toDateString();
    var shown = null;
    for (var el = m.firstElementChild; el; el = el.nextElementSibling) {
      var d = dayOf(el);
      if (!d) continue;
      var head = el.previousElementSibling;
      if (!head || !head.classList.contains('day')) head = null;
      if (d.toDateString() === shown) {
        if (head) head.remove();
        continue;
      }
      shown = d.toDateString();
      if (!head) {
        head = document.createElement('h2');
        head.className = 'day';
        m.insertBefore(head, el);
      }
      var label = dayLabel(d);
      if (head.textContent !== label) head.textContent = label;
    }
    m.querySelectorAll(':scope > .day').forEach(function (head) {
      var next = head.nextElementSibling;     // its day's messages deleted
      if (!next || !next.matches('article.msg')) head.remove();
    });
  }
  var dayPartsDue = false;
  function dayPartsSoon() {    // once for everything a swap loaded
    if (dayPartsDue) return;
    dayPartsDue = true;
    requestAnimationFrame(function () { dayPartsDue = false; dayParts(); });
  }
  setInterval(function () {
    if (daysDrawn && daysDrawn !== new Date().toDateString()) dayParts();
  }, 60000);

  document.addEventListener('htmx:load', function (e) {
    localTimes(e.detail.elt);
    offerAllActions(e.detail.elt);
    var m = messages();
    if (m && (m.contains(e.detail.elt) || e.detail.elt.contains(m))) dayPartsSoon();
  });
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

  // A form that takes something away (data-confirm="QUESTION") asks first.
  document.addEventListener('submit', function (e) {
    var q = e.target.getAttribute && e.target.getAttribute('data-confirm');
    if (q && !window.confirm(q)) e.preventDefault();
  }, true);

  // A page shown in answer to a form's POST (a new token, a refusal) sits at the
  // form's address: reloading it would send the form again, and the address may
  // answer no GET. It takes the address of the page the form was on (without a
  // done= notice), which makes its history entry a GET. A redirect's page is left be.
  var POSTED = 'parley.posted';
  document.addEventListener('submit', function (e) {
    var form = e.target;
    if (e.defaultPrevented || (form.getAttribute('method') || '').toLowerCase() !== 'post') return;
    var action = new URL(form.action, location.href), from = new URL(location.href);
    if (action.origin !== location.origin) return;
    from.searchParams.delete('done');
    try {
      sessionStorage.setItem(POSTED, JSON.stringify({ from: from.pathname + from.search,
        action: action.pathname }));
    } catch (_) {}
  });
  (function () {
    var posted = null;
    try { posted = JSON.parse(sessionStorage.getItem(POSTED) || 'null'); sessionStorage.removeItem(POSTED); } catch (_) {}
    var nav = performance.getEntriesByType && performance.getEntriesByType('navigation')[0];
    if (posted && posted.action === location.pathname && nav && nav.redirectCount === 0)
      history.replaceState(history.state, '', posted.from);
  })();

  // The user menu (a <details>) closes on Escape, and on a click outside it.
  document.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    document.querySelectorAll('details.user-menu[open]').forEach(function (d) {
      var inside = d.contains(document.activeElement);
      d.open = false;
      if (inside) d.querySelector('summary').focus();
    });
  });
  document.addEventListener('click', function (e) {
    document.querySelectorAll('details.user-menu[open]').forEach(function (d) {
      if (!d.contains(e.target)) d.open = false;
    });
  });

  // ---------- what can be done to a message ----------

  // What can be done to a message, offered by the page (the fragment is the same for every
  // reader): Edit and Delete of a person's message are its author's (and an administrator's;
  // the server checks too); without accounts (no data-me-id) anyone's. A bot's message can
  // be regenerated and continued; nothing but Delete while it is being written.
  var ACTIONS = [
    ['edit', 'Edit', '', function (o) { return o.mine && !o.writing; }],
    ['regenerate', 'Regenerate', 'Ask for another answer', function (o) { return o.bot && !o.writing; }],
    ['continue', 'Continue', 'Let it write on', function (o) { return o.bot && !o.writing; }],
    ['delete', 'Delete', '', function (o) { return o.mine; }],
  ];

  function offerActions(a) {
    var me = document.body.dataset.meId, admin = document.body.hasAttribute('data-admin');
    var author = a.querySelector('.msg-author');
    a.classList.toggle('msg-own', a.classList.contains('msg-person') && (me ? a.dataset.user === me
      : !!author && author.textContent === stored('parley.author').trim()));
    var o = {
      bot: a.classList.contains('msg-bot'),
      writing: a.classList.contains('msg-streaming'),
      mine: !me || admin || !a.classList.contains('msg-person') || a.dataset.user === me,
    };
    var box = document.createElement('div');
    box.className = 'msg-actions';
    ACTIONS.forEach(function (act) {
      if (!act[3](o)) return;
      var b = document.createElement('button');
      b.type = 'button';
      b.dataset.act = act[0];
      b.textContent = act[1];
      if (act[2]) b.title = act[2];
      box.appendChild(b);
    });
    var old = a.querySelector(':scope > .msg-actions');
    if (old) old.replaceWith(box); else a.appendChild(box);
    // the keyboard reaches a message (its focus shows what can be done) and then its buttons
    if (box.firstChild) a.tabIndex = 0; else a.removeAttribute('tabindex');
  }

  // A message reached by the keyboard shows its actions: all of it is brought into view
  // (not when clicked, nor when the page gives the focus back after rendering it again).
  var quietFocus = false;
  function focusQuietly(el) {
    quietFocus = true;
    el.focus({ preventScroll: true });
    quietFocus = false;
  }
  document.addEventListener('focusin', function (e) {
    if (quietFocus || !e.target.matches || !e.target.matches('article.msg:focus-visible')) return;
    requestAnimationFrame(function () { e.target.scrollIntoView({ block: 'nearest' }); });
  });

  function offerAllActions(root) {
    if (!root || !root.querySelectorAll) return;
    var list = root.matches && root.matches('article.msg') ? [root] : root.querySelectorAll('article.msg');
    Array.prototype.forEach.call(list, offerActions);
  }
  // a new name (--auth none): which messages are one's own changes with it
  document.addEventListener('parley:name', function () { offerAllActions(messages()); });

  // A refusal in the page's words (in `box`, else above the messages).
  function report(text, box) {
    box = box || document.getElementById('chat-error');
    if (box) box.textContent = text;
  }

  // The API's detail as people read it: "field_name: why" as "Field name: why".
  function said(detail) {
    var m = /^([a-z_]+): /.exec(detail);
    var text = m ? m[1].replace(/_/g, ' ') + detail.slice(m[1].length) : detail;
    return text.charAt(0).toUpperCase() + text.slice(1);
  }

  // Calls the JSON API; a refusal is shown in words, from the server's detail.
  function api(method, path, body, box) {
    report('', box);
    var init = { method: method, credentials: 'same-origin', headers: {} };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    return fetch(path, init).then(function (r) {
      if (r.ok) return r.status === 204 ? null : r.json();
      return r.json().catch(function () { return {}; }).then(function (j) {
        report(r.status === 401 ? 'Not done: you are signed out. Sign in again (reload the page).'
          : j.detail ? 'Not done. ' + said(j.detail) : 'Not done (' + r.status + ').', box);
        throw new Error(String(r.status));
      });
    }, function () {
      report('Not done: the server cannot be reached right now.', box);
      throw new Error('offline');
    });
  }

  function messagePath(a) {
    return '/api/v1/chats/' + a.dataset.chat + '/messages/' + a.dataset.seq;
  }

  // An editor open on a message survives the message being re-rendered.
  function keepEditor(old, incoming) {
    var editor = old.querySelector('.msg-edit');
    if (!editor) return;
    var body = incoming.querySelector('.msg-body');
    if (body) { body.hidden = true; body.after(editor); }
  }

  function closeEditor(a) {
    var editor = a.querySelector('.msg-edit'), body = a.querySelector('.msg-body');
    var had = editor && editor.contains(document.activeElement);
    if (editor) editor.remove();
    if (body) body.hidden = false;
    if (had) focusQuietly(a);
  }

  // The text as written (the page shows it rendered), then a box to change it.
  function startEdit(a) {
    if (a.querySelector('.msg-edit')) return;
    var seq = Number(a.dataset.seq);
    api('GET', '/api/v1/chats/' + a.dataset.chat + '/messages?after=' + (seq - 1) + '&limit=1')
      .then(function (j) {
        var m = j.messages && j.messages[0];
        if (!m || m.seq !== seq) return report('That message is gone.');
        var form = document.createElement('form'), text = document.createElement('textarea');
        form.className = 'msg-edit';
        text.value = m.body;
        text.rows = Math.min(12, Math.max(2, m.body.split('\n').length));
        text.setAttribute('aria-label', 'Message text');
        var save = document.createElement('button'), cancel = document.createElement('button');
        var error = document.createElement('p');
        error.className = 'form-error';
        error.setAttribute('role', 'alert');
        save.type = 'submit';
        save.textContent = 'Save';
        cancel.type = 'button';
        cancel.className = 'secondary';
        cancel.textContent = 'Cancel';
        form.append(text, save, cancel, error);
        cancel.addEventListener('click', function () { closeEditor(document.getElementById(a.id) || a); });
        text.addEventListener('keydown', function (e) {
          if (e.key === 'Escape') closeEditor(document.getElementById(a.id) || a);
          else if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) form.requestSubmit();
          else return;
          e.preventDefault();
        });
        form.addEventListener('submit', function (e) {
          e.preventDefault();
          var live = document.getElementById(a.id) || a;
          if (text.value.trim() === '')
            return report('A message cannot be empty: delete it instead.', error);
          api('PATCH', messagePath(live), { body: text.value }, error).then(function () {
            closeEditor(document.getElementById(a.id) || a);
          }, function () {});
        });
        var body = a.querySelector('.msg-body');
        body.hidden = true;
        body.after(form);
        text.focus();
      }, function () {});
  }

  var touch = window.matchMedia && window.matchMedia('(pointer: coarse)').matches;
  document.addEventListener('click', function (e) {
    var button = e.target.closest && e.target.closest('.msg-actions button[data-act], .msg-alts button');
    var a = e.target.closest && e.target.closest('article.msg');
    if (!button) {
      // on a touch screen a tap on a message shows what can be done to it
      if (a && touch && !e.target.closest('a, textarea, form')) {
        document.querySelectorAll('article.msg.acting').forEach(function (o) {
          if (o !== a) o.classList.remove('acting');
        });
        a.classList.toggle('acting');
      }
      return;
    }
    var path = messagePath(a), act = button.dataset.act;
    if (button.classList.contains('alt'))
      api('PUT', path + '/alternative', { index: Number(button.dataset.index) }).catch(function () {});
    else if (act === 'edit') startEdit(a);
    else if (act === 'delete') {
      if (window.confirm('Delete this message for everyone?')) api('DELETE', path).catch(function () {});
    } else if (act === 'regenerate' || act === 'continue')
      api('POST', path + '/' + act).catch(function () {});
  });

  // ---------- who is typing ----------

  var TYPING_SHOWN_MS = 5000, TYPING_EVERY_MS = 3000;
  var typers = new Map();       // who -> { name, until }

  function showTypers() {
    var box = document.getElementById('typing');
    if (!box) return;
    var now = Date.now(), names = [];
    typers.forEach(function (t, key) { if (t.until > now) names.push(t.name); else typers.delete(key); });
    box.textContent = names.length === 0 ? '' : names.length === 1 ? names[0] + ' is typing…'
      : names.slice(0, -1).join(', ') + ' and ' + names[names.length - 1] + ' are typing…';
    if (names.length > 0) setTimeout(showTypers, 1000);
  }

  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ev = e.detail;
    if (!ev || ev.type !== 'typing') return;
    e.preventDefault();
    var tpl = document.createElement('template');
    tpl.innerHTML = ev.data;
    var who = tpl.content.firstElementChild;
    if (!who) return;
    var me = document.body.dataset.meId, name = who.textContent;
    if (me ? who.dataset.user === me : name.toLowerCase() === stored('parley.author').trim().toLowerCase())
      return;   // not oneself (without accounts a name is one in any case, as presence counts it)
    typers.set(who.dataset.user || '~' + name, { name: name, until: Date.now() + TYPING_SHOWN_MS });
    showTypers();
  });
  // their message arrived: they stopped typing
  document.addEventListener('htmx:sseBeforeMessage', function (e) {
    var ev = e.detail;
    if (!ev || ev.type !== 'message' || typers.size === 0) return;
    var tpl = document.createElement('template');
    tpl.innerHTML = ev.data;
    var m = tpl.content.firstElementChild, author = m && m.querySelector('.msg-author');
    if (!m || !author) return;
    typers.delete(m.dataset.user || '~' + author.textContent);
    showTypers();
  });

  // Tells the chat that one is typing, at most every few seconds.
  function announceTyping(form, author) {
    var last = 0;
    return function () {
      var now = Date.now();
      if (!online || now - last < TYPING_EVERY_MS) return;
      var name = author ? author.value.trim() : '';
      if (author && !name) return;
      last = now;
      fetch('/api/v1/chats/' + form.getAttribute('data-chat') + '/typing', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(author ? { name: name } : {}),
      }).catch(function () {});
    };
  }

  // ---------- a character card's upload ----------

  document.addEventListener('submit', function (e) {
    var form = e.target.closest && e.target.closest('form[data-upload]');
    if (!form) return;
    e.preventDefault();
    var file = form.querySelector('input[type=file]').files[0];
    var error = document.getElementById('import-error');
    if (!file) return;
    var png = /\.png$/i.test(file.name) || file.type === 'image/png';
    fetch(form.getAttribute('data-upload'), {
      method: 'POST', credentials: 'same-origin', body: file,
      headers: { 'Content-Type': png ? 'image/png' : 'application/json' },
    }).then(function (r) {
      // to the new bot, on the page loaded afresh (a new query: not just a jump to the anchor)
      if (r.ok) return r.json().then(function (bot) { location.assign('/bots?new=' + bot.id + '#bot-' + bot.id); });
      return r.json().catch(function () { return {}; }).then(function (j) {
        error.textContent = 'Not imported: ' + (j.detail || 'the server answered ' + r.status);
      });
    }, function () { error.textContent = 'Not imported: the server cannot be reached.'; });
  });

  // Without the shared stream (tabs.js: no Web Locks here) a page holds its own; without
  // accounts it names its person (?name=, the composer's name) so the chat lists them as here.
  if (window.htmx && window.htmx.createEventSource && !window.htmx.createEventSource.shared) {
    var ownSource = window.htmx.createEventSource;
    window.htmx.createEventSource = function (url) {
      var name = document.body.dataset.meId ? '' : stored('parley.author').trim();
      if (name && /^\/chats\/[a-z0-9]{12}\/events/.test(url))
        url += (url.indexOf('?') < 0 ? '?' : '&') + 'name=' + encodeURIComponent(name);
      return ownSource(url);
    };
  }

  // ---------- the connection ----------

  var online = true;
  var OFFLINE_ERROR = 'Not sent: the server cannot be reached right now.';
  document.addEventListener('parley:connection', function (e) {
    var back = e.detail.online && !online;
    online = e.detail.online;
    document.body.classList.toggle('offline', !online);
    var status = document.getElementById('connection');
    if (status) status.hidden = online;
    if (!back) return;
    // the stream opens again saying who is here (if anyone): those who left meanwhile go
    var here = document.getElementById('presence');
    if (here) here.replaceChildren();
    var error = document.querySelector('#composer .form-error');
    if (error && error.textContent.indexOf(OFFLINE_ERROR) === 0) error.textContent = '';
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
    author.addEventListener('change', function () {
      author.value = author.value.trim();     // as posts and presence name one
      store('parley.author', author.value);
      fold();
      document.dispatchEvent(new CustomEvent('parley:name'));   // tabs.js: listed by the new name
    });
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
    var typing = announceTyping(form, author);
    body.addEventListener('input', function () { store(draft, body.value); typing(); });
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
        composerError(form, OFFLINE_ERROR + ' Your message is kept here; send it again once the connection is back.');
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
        var m = messages();      // one's own message and the replies to it are followed
        if (m) m.scrollTop = m.scrollHeight;
        stick = true;
      }
    });
    // a touch screen's keyboard would cover the chat: focus only with a real keyboard
    if (keyboard) (author && !author.value ? author : body).focus();
  }

  document.addEventListener('DOMContentLoaded', function () {
    var m = messages();
    if (m) m.scrollTop = m.scrollHeight;
    localTimes(document);
    offerAllActions(document);
    var form = document.getElementById('composer');
    if (form) setUpComposer(form);
  });
})();
