// One event stream per browser, shared by all its Parley tabs.
//
// Over HTTP/1.1 a browser opens at most six connections to a host, so a tab
// holding its own EventSource each would leave the seventh tab hanging. Here
// the tabs elect a leader (Web Locks); the leader alone holds one stream,
// GET /events?chats=ID:N,..., carrying every chat any tab shows, and passes
// its events to the other tabs (BroadcastChannel). htmx's SSE extension gets
// its sources from htmx.createEventSource, so each page keeps its sse-swap
// markup and is handed an object that behaves like an EventSource.
//
// Resume stays exact per chat: every tab says which chats it shows and the
// last event id it has of each; the leader (re)connects from the lowest, and
// pages apply an event they already have as a no-op (fragments are keyed by
// id). When the leader's tab closes its lock passes to another tab, which
// reconnects from what the tabs report. Without Web Locks, BroadcastChannel
// or streaming fetch, each page keeps its own EventSource as before.
(function () {
  'use strict';
  if (!window.htmx || !window.BroadcastChannel || !navigator.locks || !window.ReadableStream ||
      !window.TextDecoder) return;

  var CHANNEL = 'parley-stream';
  var STALL_MS = 45000;         // no byte (not even a keepalive) for this long: reconnect
  var tabId = Math.random().toString(36).slice(2);
  var bus = new BroadcastChannel(CHANNEL);
  var sources = new Map();      // chat id -> Set of this tab's SharedSources
  var lastIds = new Map();      // chat id -> the last durable event id this tab has
  var online = false;
  var leader = null;            // the Leader, while this tab leads

  // A page's stream: a chat's ("/chats/ID/events?after=N") or the chat list's ("list").
  function chatOf(url) {
    if (url === LIST_URL) return { id: 'list', after: null };
    var m = /^\/chats\/([a-z0-9]{12})\/events(?:\?after=(\d+))?$/.exec(url);
    return m ? { id: m[1], after: m[2] ? Number(m[2]) : null } : null;
  }

  // The chat list follows the lists' changes only through the shared stream.
  var LIST_URL = '/lists/events';
  document.querySelectorAll('[data-list-stream]').forEach(function (el) {
    el.setAttribute('sse-connect', LIST_URL);
  });

  // Without accounts a stream names its person (?name=, from the composer's
  // name) so that the chat shows who is here; with accounts the server knows.
  function presenceName() {
    if (document.body.dataset.meId) return '';
    var name = '';
    try { name = (localStorage.getItem('parley.author') || '').trim(); } catch (_) {}
    return name ? '&name=' + encodeURIComponent(name) : '';
  }

  // ---------- what a page's SSE extension talks to ----------

  function SharedSource(chat) {
    var target = new EventTarget();
    this.chat = chat;
    this.readyState = online ? 1 : 0;
    this.onopen = null;
    this.onerror = null;
    this.addEventListener = target.addEventListener.bind(target);
    this.removeEventListener = target.removeEventListener.bind(target);
    this.dispatchEvent = target.dispatchEvent.bind(target);
  }
  SharedSource.prototype.close = function () {
    if (this.readyState === 2) return;
    this.readyState = 2;
    var set = sources.get(this.chat);
    if (set) { set.delete(this); if (set.size === 0) sources.delete(this.chat); }
    announce();
  };
  SharedSource.prototype.deliver = function (name, data, id) {
    if (this.readyState === 2) return;
    var ev = new MessageEvent(name, { data: data, lastEventId: id || '' });
    Object.defineProperty(ev, 'target', { value: this });
    this.dispatchEvent(ev);
  };
  // Like an EventSource reconnecting by itself: "open" again, never CLOSED
  // (the extension would build another source), no "error" (it logs one).
  SharedSource.prototype.state = function (open) {
    if (this.readyState === 2) return;
    this.readyState = open ? 1 : 0;
    if (open && this.onopen) this.onopen(new Event('open'));
  };

  window.htmx.createEventSource = function (url) {
    var c = chatOf(url);
    if (!c) return new EventSource(url, { withCredentials: true });
    var s = new SharedSource(c.id);
    if (!sources.has(c.id)) sources.set(c.id, new Set());
    sources.get(c.id).add(s);
    if (c.after !== null && !lastIds.has(c.id)) lastIds.set(c.id, c.after);
    announce();
    return s;
  };
  window.htmx.createEventSource.shared = true;    // app.js: this stream names its person

  // ---------- this tab, as one of the tabs ----------

  function wants() {
    var w = {};
    sources.forEach(function (_, id) { w[id] = lastIds.has(id) ? lastIds.get(id) : null; });
    return w;
  }

  // Tells the leader (wherever it is) which chats this tab shows, from where.
  function announce() {
    var msg = { type: 'want', tab: tabId, chats: wants() };
    if (leader) leader.want(msg);
    bus.postMessage(msg);
  }

  function receive(chat, name, data, id) {
    if (id) {
      var n = Number(id);
      if (!lastIds.has(chat) || lastIds.get(chat) < n) lastIds.set(chat, n);
    }
    var set = sources.get(chat);
    if (set) Array.from(set).forEach(function (s) { s.deliver(name, data, id); });
  }

  // Without accounts a person who names themselves (or renames) is listed by that name
  // from then on: the leader connects again with it (other tabs hear through storage).
  function renamed() { if (leader) leader.connect(); }
  document.addEventListener('parley:name', renamed);
  window.addEventListener('storage', function (e) { if (e.key === 'parley.author') renamed(); });

  function setOnline(open) {
    if (online === open) return;
    online = open;
    sources.forEach(function (set) { set.forEach(function (s) { s.state(open); }); });
    document.dispatchEvent(new CustomEvent('parley:connection', { detail: { online: open } }));
  }

  bus.onmessage = function (e) {
    var m = e.data;
    if (m.type === 'event') receive(m.chat, m.name, m.data, m.id);
    else if (m.type === 'state') setOnline(m.online);
    else if (m.type === 'leader') announce();
    else if (m.type === 'want' && leader) leader.want(m);
    else if (m.type === 'bye' && leader) leader.forget(m.tab);
  };
  window.addEventListener('pagehide', function () {
    bus.postMessage({ type: 'bye', tab: tabId });
  });
  window.addEventListener('pageshow', function (e) {
    if (e.persisted) announce();                      // back from the page cache
  });

  // ---------- the leader: one stream for every tab ----------

  function Leader() {
    this.tabs = new Map();      // tab id -> {chat id: last id or null}
    this.served = new Set();    // the tabs whose wants the stream carries (they hear all it passes)
    this.carried = new Map();   // chat id -> last id the stream has passed on (null: none yet)
    this.here = new Map();      // chat id -> its last presence fragment on this stream
    this.abort = null;
    this.soon = null;
    this.retry = 500;
    this.stopped = false;
  }

  // A tab says what it shows. One that loads (after a new sign-in, say) also
  // wakes a stream stopped by a 401 or a stream-wide end.
  Leader.prototype.want = function (m) {
    this.tabs.set(m.tab, m.chats);
    this.served.delete(m.tab);
    this.stopped = false;
    this.plan();
    bus.postMessage({ type: 'state', online: online });   // a new tab learns where things are
    this.tellHere(Object.keys(m.chats));
  };
  Leader.prototype.forget = function (tab) {
    this.tabs.delete(tab);
    this.served.delete(tab);
    this.plan();                // a chat nobody shows any more: its people leave it
  };

  // Presence goes out when a stream opens and when it changes: a tab that
  // comes to a chat the stream carries already is told the last one (once its
  // page listens: after this task). Telling the other tabs again changes nothing.
  Leader.prototype.tellHere = function (chats) {
    var self = this;
    setTimeout(function () {
      chats.forEach(function (chat) {
        if (self.here.has(chat)) self.pass(chat, 'presence', self.here.get(chat), null);
      });
    }, 0);
  };

  // Each chat the tabs show, from the earliest event one of them lacks.
  Leader.prototype.needs = function () {
    var need = new Map();
    this.tabs.forEach(function (chats) {
      Object.keys(chats).forEach(function (id) {
        var after = chats[id];
        if (!need.has(id) || (after !== null && (need.get(id) === null || after < need.get(id))))
          need.set(id, after);
      });
    });
    return need;
  };

  // Reconnects when a tab wants a chat the stream does not carry, or from an
  // earlier event than the stream has passed on (a new tab rendered earlier),
  // or when the stream carries a chat no tab shows (the person is not there).
  Leader.prototype.plan = function () {
    var need = this.needs(), self = this, again = false;
    need.forEach(function (after, id) {
      if (!self.carried.has(id)) again = true;
      else if (after !== null && self.carried.get(id) !== null && after < self.carried.get(id)) again = true;
    });
    this.carried.forEach(function (_, id) { if (!need.has(id)) again = true; });
    this.need = need;
    if ((again || (!this.abort && need.size > 0)) && !this.soon) {
      // the tabs answer a new leader one by one: connect once for all of them
      this.soon = setTimeout(function () { self.soon = null; self.connect(); }, 50);
    }
  };

  Leader.prototype.url = function () {
    var parts = [];
    this.need.forEach(function (after, id) {
      if (id !== 'list') parts.push(after === null ? id : id + ':' + after);
    });
    return '/events?chats=' + parts.join(',') + (this.need.has('list') ? '&list=1' : '') +
      presenceName();
  };

  Leader.prototype.connect = function () {
    var old = this.abort;
    this.abort = null;          // the old stream's ending is no news to the tabs
    if (old) old.abort();
    this.need = this.needs();
    if (this.stopped || this.need.size === 0) {
      this.carried = new Map();
      this.here = new Map();
      return;
    }
    var self = this, ctl = new AbortController();
    this.abort = ctl;
    this.served = new Set(this.tabs.keys());
    this.carried = new Map(this.need);
    this.here = new Map();
    fetch(this.url(), { credentials: 'same-origin', signal: ctl.signal,
      headers: { Accept: 'text/event-stream' } })
      .then(function (res) {
        if (res.status === 401 || res.status === 403) { self.stopped = true; throw new Error('signed out'); }
        if (!res.ok || !res.body) throw new Error('HTTP ' + res.status);
        self.retry = 500;
        self.state(true);
        return self.read(res.body.getReader(), ctl);
      })
      .catch(function () {})
      .then(function () {
        if (self.abort !== ctl) return;     // replaced by a newer connection
        self.abort = null;
        self.state(false);
        if (self.stopped) return;
        setTimeout(function () { if (!self.abort) self.connect(); }, self.retry);
        self.retry = Math.min(self.retry * 2, 16000);
      });
  };

  Leader.prototype.state = function (open) {
    bus.postMessage({ type: 'state', online: open });
    setOnline(open);
  };

  // Reads SSE frames: "id: CHAT:N", "event: CHAT:NAME" (or unscoped for the whole stream), data lines.
  Leader.prototype.read = function (reader, ctl) {
    var self = this, decoder = new TextDecoder(), buffer = '', timer = null;
    function stall() {
      clearTimeout(timer);
      timer = setTimeout(function () { ctl.abort(); }, STALL_MS);
    }
    stall();
    function pump() {
      return reader.read().then(function (r) {
        if (r.done) { clearTimeout(timer); return; }
        stall();
        buffer += decoder.decode(r.value, { stream: true });
        var end;
        while ((end = buffer.search(/\r?\n\r?\n/)) >= 0) {
          var block = buffer.slice(0, end);
          buffer = buffer.slice(end).replace(/^\r?\n\r?\n/, '');
          self.frame(block);
        }
        return pump();
      });
    }
    return pump();
  };

  Leader.prototype.frame = function (block) {
    var id = null, name = null, data = [];
    block.split(/\r?\n/).forEach(function (line) {
      var colon = line.indexOf(':');
      if (colon === 0) return;                      // a comment (keepalive)
      var field = colon < 0 ? line : line.slice(0, colon);
      var value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = value;
      else if (field === 'event') name = value;
      else if (field === 'data') data.push(value);
    });
    if (name === null) return;
    var text = data.join('\n'), sep = name.indexOf(':');
    if (sep < 0) {                                  // the whole stream ends (signed out, revoked)
      var self = this;
      this.carried.forEach(function (_, chat) { self.pass(chat, name, text, null); });
      return;                                       // the reconnect then finds out: 401 stops it
    }
    var chat = name.slice(0, sep), n = id && id.indexOf(chat + ':') === 0 ? id.slice(sep + 1) : null;
    if (n !== null) this.passed(chat, Number(n));
    if (name.slice(sep + 1) === 'presence') this.here.set(chat, text);
    this.pass(chat, name.slice(sep + 1), text, n);
  };

  // Event n of the chat went to every tab this stream serves (the channel
  // reaches them all): a reconnect resumes them from there, not from where
  // their pages were rendered. A tab that said what it shows since waits for
  // the reconnect it asked for, from its own point.
  Leader.prototype.passed = function (chat, n) {
    var self = this;
    this.carried.set(chat, n);
    this.tabs.forEach(function (chats, tab) {
      if (self.served.has(tab) && Object.prototype.hasOwnProperty.call(chats, chat) &&
          (chats[chat] === null || chats[chat] < n))
        chats[chat] = n;
    });
  };

  Leader.prototype.pass = function (chat, name, data, id) {
    bus.postMessage({ type: 'event', chat: chat, name: name, data: data, id: id });
    receive(chat, name, data, id);
  };

  navigator.locks.request('parley-stream-leader', function () {
    leader = new Leader();
    leader.want({ tab: tabId, chats: wants() });
    bus.postMessage({ type: 'leader' });            // the others say what they show
    return new Promise(function () {});             // held while this tab lives
  });
})();
