/*
 * Agent console: queue of open handoffs + one open conversation.
 *
 * Data flow: the JSON API gives the current state; the websocket pushes
 * changes ({type:'handoff'} and {type:'transcript'}). After every websocket
 * (re)connect we re-fetch, because events sent while we were offline are lost.
 *
 * Security: all customer/bot/agent text is written with textContent only.
 * The page runs under a strict CSP, so no inline scripts or styles.
 */
(function () {
  'use strict';

  var body = document.body;
  var CONFIG = {
    apiBase: body.getAttribute('data-api-base') || '/agent/api',
    wsPath: body.getAttribute('data-ws-path') || '/agent/ws',
    loginUrl: body.getAttribute('data-login-url') || '/login?next=/agent/',
    username: body.getAttribute('data-username') || ''
  };
  var MAX_REPLY = 2000;
  var BACKOFF_MS = [1000, 2000, 4000, 8000, 10000];

  // ---- DOM references -----------------------------------------------------
  function $(sel) { return document.querySelector(sel); }
  var el = {
    wsStatus: $('[data-testid="ws-status"]'),
    error: $('[data-testid="console-error"]'),
    errorText: $('.console-error-text'),
    errorDismiss: $('.btn-dismiss'),
    queue: $('[data-testid="queue"]'),
    queueCount: $('.queue-count'),
    queueLoading: $('.queue-loading'),
    emptyQueue: $('[data-testid="empty-queue"]'),
    noSelection: $('.no-selection'),
    convLoading: $('.conversation-loading'),
    conversation: $('.conversation'),
    backButton: $('.back-button'),
    title: $('.conversation-title'),
    statusBadge: $('.status-badge'),
    accept: $('[data-testid="accept-button"]'),
    close: $('[data-testid="close-button"]'),
    context: $('[data-testid="context-panel"]'),
    transcript: $('[data-testid="transcript"]'),
    replyForm: $('.reply-form'),
    replyInput: $('[data-testid="reply-input"]'),
    replySend: $('[data-testid="reply-send"]')
  };

  // ---- State --------------------------------------------------------------
  var state = {
    queue: new Map(),          // handoff id -> Handoff (open ones only)
    queueItems: new Map(),     // handoff id -> <li> (reused so focus survives re-renders)
    unread: new Set(),         // conversation ids with lines the agent has not seen
    queueLoaded: false,
    queueSeq: 0,               // drops stale queue responses
    current: null,             // {id, conversationId, handoff, lineIds:Set, loading, pending:[]}
    openSeq: 0,                // drops stale conversation responses
    busy: false,               // an accept/close/reply request is in flight
    pendingReply: null         // {text, handoffId, id} of a reply not yet confirmed sent
  };

  // ---- Small helpers ------------------------------------------------------
  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  function shortId(conversationId) {
    var s = String(conversationId || '');
    return s.length > 8 ? s.slice(0, 8) : s;
  }

  function humanize(code) {
    return code ? String(code).replace(/_/g, ' ') : '—';
  }

  /** Parse the API's ISO timestamps ("...123456Z"): trim to milliseconds for every browser. */
  function parseIso(value) {
    if (!value) return null;
    var s = String(value).replace(/(\.\d{3})\d+/, '$1');
    var ms = Date.parse(s);
    return isNaN(ms) ? null : new Date(ms);
  }

  function formatWaiting(since) {
    if (!since) return '';
    var mins = Math.floor((Date.now() - since.getTime()) / 60000);
    if (mins < 1) return 'just now';
    if (mins < 60) return mins + ' min';
    var h = Math.floor(mins / 60);
    return h + ' h ' + (mins % 60) + ' min';
  }

  function formatTime(date) {
    return date.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  }

  function formatPercent(conf) {
    var n = Number(conf);
    if (conf == null || isNaN(n)) return '';
    return Math.round(n <= 1 ? n * 100 : n) + '%';
  }

  // ---- Error area ---------------------------------------------------------
  function showError(message) {
    el.errorText.textContent = message || 'Something went wrong.';
    el.error.hidden = false;
  }
  function clearError() {
    el.error.hidden = true;
    el.errorText.textContent = '';
  }

  // ---- API ----------------------------------------------------------------
  function ApiError(status, code, message) {
    this.status = status;
    this.code = code;
    this.message = message;
  }

  /** fetch() wrapper: JSON in/out, uniform errors, 401 -> login page. */
  async function api(method, path, payload) {
    var opts = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (payload !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(payload);
    }
    var res;
    try {
      res = await fetch(CONFIG.apiBase + path, opts);
    } catch (e) {
      throw new ApiError(0, 'network', 'Cannot reach the server. Check your connection and try again.');
    }
    if (res.status === 401) {
      window.location.href = CONFIG.loginUrl;
      throw new ApiError(401, 'login_required', 'Please log in.');
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      var err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || 'http_' + res.status,
        err.message || 'Request failed (HTTP ' + res.status + ').');
    }
    return data || {};
  }

  // ---- Queue --------------------------------------------------------------
  function isOpen(h) { return h && (h.status === 'queued' || h.status === 'active'); }

  function sortedQueue() {
    return Array.from(state.queue.values()).sort(function (a, b) {
      var ta = parseIso(a.created_at), tb = parseIso(b.created_at);
      return ((ta ? ta.getTime() : 0) - (tb ? tb.getTime() : 0)) || (a.id - b.id);
    });
  }

  function buildQueueItem(id) {
    var li = make('li', 'queue-entry');
    var btn = make('button', 'queue-item');
    btn.type = 'button';
    btn.setAttribute('data-testid', 'queue-item');
    btn.setAttribute('data-handoff-id', String(id));
    btn.addEventListener('click', function () { openHandoff(id); });
    var top = make('span', 'qi-top');
    top.appendChild(make('span', 'qi-conv'));
    top.appendChild(make('span', 'qi-status'));
    top.appendChild(make('span', 'qi-unread', 'new'));
    btn.appendChild(top);
    btn.appendChild(make('span', 'qi-reason'));
    btn.appendChild(make('span', 'qi-meta'));
    li.appendChild(btn);
    return li;
  }

  function updateQueueItem(li, h) {
    var btn = li.firstChild;
    btn.setAttribute('data-conversation-id', h.conversation_id);
    var selected = state.current && state.current.id === h.id;
    var unread = state.unread.has(h.conversation_id);
    btn.classList.toggle('selected', !!selected);
    btn.classList.toggle('has-unread', unread);
    if (selected) btn.setAttribute('aria-current', 'true'); else btn.removeAttribute('aria-current');
    btn.querySelector('.qi-conv').textContent = '#' + shortId(h.conversation_id);
    var st = btn.querySelector('.qi-status');
    st.textContent = h.status + (h.status === 'active' && h.agent ? ' · ' + h.agent : '');
    st.className = 'qi-status status-' + h.status;
    btn.querySelector('.qi-unread').hidden = !unread;
    btn.querySelector('.qi-reason').textContent = humanize(h.reason);
    var waited = formatWaiting(parseIso(h.created_at));
    btn.querySelector('.qi-meta').textContent =
      (h.language || '?') + (waited ? ' · waiting ' + waited : '');
  }

  /** Keyed re-render: existing buttons are reused, so keyboard focus is kept. */
  function renderQueue() {
    var list = sortedQueue();
    var seen = new Set();
    list.forEach(function (h, i) {
      seen.add(h.id);
      var li = state.queueItems.get(h.id);
      if (!li) { li = buildQueueItem(h.id); state.queueItems.set(h.id, li); }
      updateQueueItem(li, h);
      if (el.queue.children[i] !== li) el.queue.insertBefore(li, el.queue.children[i] || null);
    });
    state.queueItems.forEach(function (li, id) {
      if (!seen.has(id)) { li.remove(); state.queueItems.delete(id); }
    });
    el.queueCount.textContent = list.length ? '(' + list.length + ')' : '';
    el.emptyQueue.hidden = !state.queueLoaded || list.length > 0;
  }

  async function loadQueue() {
    var seq = ++state.queueSeq;
    if (!state.queueLoaded) el.queueLoading.hidden = false;
    try {
      var data = await api('GET', '/handoffs');
      if (seq !== state.queueSeq) return;  // a newer load is on its way
      state.queue.clear();
      (data.handoffs || []).forEach(function (h) { if (isOpen(h)) state.queue.set(h.id, h); });
      state.queueLoaded = true;
      renderQueue();
      clearError();  // whatever went wrong before has passed
    } catch (e) {
      if (seq === state.queueSeq) showError(e.message);
    } finally {
      if (seq === state.queueSeq) el.queueLoading.hidden = true;
    }
  }

  // ---- Conversation: rendering -------------------------------------------
  function addContextRow(label, value, extraClass) {
    el.context.appendChild(make('dt', null, label));
    el.context.appendChild(make('dd', extraClass || null, value));
  }

  function renderContext(h) {
    el.context.textContent = '';
    var ctx = h.context || {};
    var customer = ctx.customer;
    if (customer && (customer.name || customer.id)) {
      var who = String(customer.name || 'Customer #' + customer.id);
      if (customer.phone) who += ' · ' + customer.phone;
      addContextRow('Customer', who, 'verified');
    } else {
      addContextRow('Customer', 'not verified', 'not-verified');
    }
    var intent = ctx.intent;
    if (intent && intent.name) {
      var pct = formatPercent(intent.confidence);
      addContextRow('Bot understood', intent.name + (pct ? ' (' + pct + ')' : ''));
    } else {
      addContextRow('Bot understood', '—');
    }
    var actions = Array.isArray(ctx.bot_actions) ? ctx.bot_actions : [];
    addContextRow('Bot tried', actions.length ? actions.join(', ') : '—');
    addContextRow('Reason', humanize(h.reason));
    addContextRow('Language', h.language || '—');
    var created = parseIso(h.created_at);
    if (created) addContextRow('Requested', created.toLocaleString());
    if (h.agent) addContextRow('Agent', h.agent);
  }

  /** Status-dependent controls: Accept when queued, Close + reply when active. */
  function renderControls() {
    var cur = state.current;
    var h = cur && cur.handoff;
    var status = h ? h.status : null;
    el.statusBadge.textContent = status || '';
    el.statusBadge.className = 'status-badge' + (status ? ' status-' + status : '');
    el.accept.hidden = status !== 'queued';
    el.close.hidden = status !== 'active';
    el.accept.disabled = state.busy;
    el.close.disabled = state.busy;
    // Only the agent who accepted the chat may reply (the server enforces it too).
    var mine = h && (!h.agent || !CONFIG.username || h.agent === CONFIG.username);
    var canReply = status === 'active' && mine && !cur.loading;
    el.replyInput.disabled = !canReply;
    el.replySend.disabled = !canReply || state.busy;
    if (status === 'queued') el.replyInput.placeholder = 'Accept the conversation to reply';
    else if (status === 'closed') el.replyInput.placeholder = 'This conversation is closed';
    else if (status === 'active' && !mine) el.replyInput.placeholder = 'Handled by ' + h.agent;
    else el.replyInput.placeholder = 'Type a reply…';
  }

  function renderHeader() {
    var h = state.current.handoff;
    el.title.textContent = 'Conversation #' + shortId(h.conversation_id);
    el.title.title = h.conversation_id;
    renderContext(h);
    renderControls();
  }

  function actorLabel(line) {
    if (line.actor === 'agent') return 'Agent' + (line.agent ? ' (' + line.agent + ')' : '');
    if (line.actor === 'bot') return 'Bot';
    return 'Customer';
  }

  function buildLine(line) {
    var actor = ['customer', 'bot', 'agent'].indexOf(line.actor) >= 0 ? line.actor : 'bot';
    var row = make('div', 'line actor-' + actor);
    row.setAttribute('data-testid', 'line');
    row.setAttribute('data-line-id', String(line.id));
    var meta = make('div', 'line-meta');
    meta.appendChild(make('span', 'line-actor', actorLabel(line)));
    var ts = Number(line.timestamp);
    if (ts) {
      var d = new Date(ts * 1000);
      var time = make('time', 'line-time', formatTime(d));
      time.setAttribute('datetime', d.toISOString());
      time.title = d.toLocaleString();
      meta.appendChild(time);
    }
    // What the bot understood for this customer message helps the agent judge.
    if (actor === 'customer' && line.intent) {
      var pct = formatPercent(line.confidence);
      meta.appendChild(make('span', 'line-intent', line.intent + (pct ? ' ' + pct : '')));
    }
    row.appendChild(meta);
    row.appendChild(make('p', 'line-text', line.text || ''));
    return row;
  }

  /** Append a line unless we already show it (API and websocket overlap). */
  function appendLine(line) {
    var cur = state.current;
    if (!cur || line == null || cur.lineIds.has(line.id)) return false;
    cur.lineIds.add(line.id);
    el.transcript.appendChild(buildLine(line));
    return true;
  }

  function scrollTranscript() {
    el.transcript.scrollTop = el.transcript.scrollHeight;
  }

  // ---- Conversation: loading ---------------------------------------------
  function showPane(which) {
    el.noSelection.hidden = which !== 'none';
    el.convLoading.hidden = which !== 'loading';
    el.conversation.hidden = which !== 'conversation';
    body.classList.toggle('show-conversation', which !== 'none');
  }

  async function openHandoff(id) {
    var known = state.queue.get(id);
    var same = state.current && state.current.id === id;
    var seq = ++state.openSeq;
    if (!same) {
      // Knowing the conversation id early lets websocket lines arriving
      // during the fetch be kept (in `pending`) instead of lost.
      state.current = {
        id: id, conversationId: known ? known.conversation_id : null, handoff: known || null,
        lineIds: new Set(), loading: true, pending: []
      };
      el.transcript.textContent = '';
      el.replyInput.value = '';
      showPane('loading');
    } else {
      state.current.loading = true;
    }
    renderQueue();
    try {
      var data = await api('GET', '/handoffs/' + encodeURIComponent(id));
      if (seq !== state.openSeq) return;
      var cur = state.current;
      cur.handoff = data.handoff;
      cur.conversationId = data.handoff.conversation_id;
      cur.loading = false;
      (data.transcript || []).forEach(appendLine);
      cur.pending.forEach(function (l) { if (l.conversation_id === cur.conversationId) appendLine(l); });
      cur.pending = [];
      state.unread.delete(cur.conversationId);
      showPane('conversation');
      renderHeader();
      renderQueue();
      scrollTranscript();
      if (!same && !el.replyInput.disabled) el.replyInput.focus();
    } catch (e) {
      if (seq !== state.openSeq) return;
      showError(e.message);
      if (!same) { state.current = null; showPane('none'); renderQueue(); return; }
      // Keep what arrived while we were fetching, and never leave "Loading…" up.
      var still = state.current;
      still.loading = false;
      still.pending.sort(function (a, b) { return a.id - b.id; })
        .forEach(function (l) { if (l.conversation_id === still.conversationId) appendLine(l); });
      still.pending = [];
      showPane(still.handoff ? 'conversation' : 'none');
      renderControls();
    }
  }

  function closePane() {
    state.openSeq++;
    state.current = null;
    showPane('none');
    renderQueue();
  }

  /** Apply a Handoff we got from an action or the websocket. */
  function applyHandoff(h) {
    if (!h || h.id == null) return;
    if (isOpen(h)) state.queue.set(h.id, h); else state.queue.delete(h.id);
    var cur = state.current;
    if (cur && cur.id === h.id) {
      cur.handoff = h;
      cur.conversationId = h.conversation_id;
      if (!cur.loading) renderHeader();
    }
    renderQueue();
  }

  // ---- Actions ------------------------------------------------------------
  async function runAction(fn) {
    if (state.busy) return;
    state.busy = true;
    renderControls();
    try {
      await fn();
      clearError();
    } catch (e) {
      showError(e.message);
    } finally {
      state.busy = false;
      if (state.current) renderControls();
    }
  }

  function acceptCurrent() {
    var cur = state.current;
    if (!cur) return;
    runAction(async function () {
      var data = await api('POST', '/handoffs/' + encodeURIComponent(cur.id) + '/accept', {});
      applyHandoff(data.handoff);
    }).then(function () {
      if (!el.replyInput.disabled) el.replyInput.focus();
    });
  }

  function closeCurrent() {
    var cur = state.current;
    if (!cur) return;
    runAction(async function () {
      var data = await api('POST', '/handoffs/' + encodeURIComponent(cur.id) + '/close', {});
      applyHandoff(data.handoff);
    });
  }

  function newMessageId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);  // works on plain http too, unlike randomUUID()
    return Array.from(bytes, function (b) { return ('0' + b.toString(16)).slice(-2); }).join('');
  }

  function sendReply() {
    var cur = state.current;
    var text = el.replyInput.value.trim();
    if (!cur || !text || el.replyInput.disabled) return;
    if (text.length > MAX_REPLY) { showError('Replies are limited to ' + MAX_REPLY + ' characters.'); return; }
    // One id per reply: sending the same text again after a failure reuses it, so
    // the server never delivers one reply twice (e.g. it did arrive, the answer got lost).
    if (!state.pendingReply || state.pendingReply.text !== text || state.pendingReply.handoffId !== cur.id) {
      state.pendingReply = { text: text, handoffId: cur.id, id: newMessageId() };
    }
    var pending = state.pendingReply;
    runAction(async function () {
      // The line itself comes back over the websocket; we do not add it here.
      await api('POST', '/handoffs/' + encodeURIComponent(cur.id) + '/messages',
                { text: text, client_message_id: pending.id });
      if (state.pendingReply === pending) state.pendingReply = null;
      if (el.replyInput.value.trim() === text) el.replyInput.value = '';
    }).then(function () { el.replyInput.focus(); });
  }

  // ---- Websocket ----------------------------------------------------------
  var ws = null;
  var wsAttempt = 0;
  var wsEverOpened = false;

  function setWsStatus(kind, text) {
    el.wsStatus.textContent = text;
    el.wsStatus.className = 'ws-status ws-' + kind;
    el.wsStatus.setAttribute('data-state', kind);
  }

  function onTranscriptLine(line) {
    if (!line) return;
    var cur = state.current;
    if (cur && cur.conversationId === line.conversation_id) {
      if (cur.loading) { cur.pending.push(line); return; }
      if (appendLine(line)) scrollTranscript();
      return;
    }
    // Not the open conversation: flag its queue item so the agent notices.
    var inQueue = Array.from(state.queue.values()).some(function (h) {
      return h.conversation_id === line.conversation_id;
    });
    if (inQueue) { state.unread.add(line.conversation_id); renderQueue(); }
  }

  function onWsMessage(ev) {
    var msg;
    try { msg = JSON.parse(ev.data); } catch (e) { return; }
    if (!msg || typeof msg !== 'object') return;
    if (msg.type === 'handoff') applyHandoff(msg.handoff);
    else if (msg.type === 'transcript') onTranscriptLine(msg.line);
  }

  /** Events sent while we were disconnected are gone: re-fetch the state. */
  function resync() {
    loadQueue();
    if (state.current) openHandoff(state.current.id);
  }

  function connectWs() {
    var url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + CONFIG.wsPath;
    setWsStatus(wsEverOpened ? 'reconnecting' : 'connecting', wsEverOpened ? 'Reconnecting…' : 'Connecting…');
    var opened = false;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      scheduleReconnect();
      return;
    }
    ws.addEventListener('open', function () {
      opened = true;
      wsEverOpened = true;
      wsAttempt = 0;
      setWsStatus('live', 'Live');
      clearError();
      resync();
    });
    ws.addEventListener('message', onWsMessage);
    ws.addEventListener('close', function () {
      ws = null;
      // A handshake refused with 401 looks like a plain close; probing the
      // API lets api() notice an expired session and go to the login page.
      if (!opened) loadQueue();
      scheduleReconnect();
    });
    // 'error' is always followed by 'close', which does the work.
  }

  function scheduleReconnect() {
    var delay = BACKOFF_MS[Math.min(wsAttempt, BACKOFF_MS.length - 1)];
    wsAttempt++;
    setWsStatus('reconnecting', 'Disconnected — retrying in ' + Math.round(delay / 1000) + ' s…');
    setTimeout(connectWs, delay);
  }

  // ---- Wiring -------------------------------------------------------------
  function onReplyKeydown(ev) {
    // Enter sends; Shift+Enter is a newline; never send while an IME is composing.
    if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
    ev.preventDefault();
    sendReply();
  }

  function init() {
    el.errorDismiss.addEventListener('click', clearError);
    el.accept.addEventListener('click', acceptCurrent);
    el.close.addEventListener('click', closeCurrent);
    el.backButton.addEventListener('click', closePane);
    el.replyForm.addEventListener('submit', function (ev) { ev.preventDefault(); sendReply(); });
    el.replyInput.addEventListener('keydown', onReplyKeydown);
    el.replyInput.addEventListener('input', function () {
      // A reply id is reused only to retry the very text that failed; anything typed
      // afterwards is a new reply, even if it reads the same.
      if (state.pendingReply && el.replyInput.value.trim() !== state.pendingReply.text) state.pendingReply = null;
    });
    // Keep the waiting times fresh.
    setInterval(renderQueue, 30000);
    showPane('none');
    loadQueue();
    connectWs();
  }

  init();
})();
