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

  // The page's language and its messages: the server embeds the catalog for the
  // language the agent chose (bot/staff_i18n); a message without one stays English.
  var MESSAGES = {};
  try { MESSAGES = JSON.parse(document.getElementById('staff-messages').textContent) || {}; } catch (e) { MESSAGES = {}; }
  var LANG = document.documentElement.lang || 'en';

  /** Translate an English message; "{name}" placeholders are filled from values. */
  function t(message, values) {
    var text = Object.prototype.hasOwnProperty.call(MESSAGES, message) ? MESSAGES[message] : message;
    return text.replace(/\{(\w+)\}/g, function (whole, name) {
      return values && values[name] != null ? String(values[name]) : whole;
    });
  }
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
    channelNotice: $('[data-testid="channel-notice"]'),
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
    if (mins < 1) return t('just now');
    if (mins < 60) return t('{n} min', { n: mins });
    var h = Math.floor(mins / 60);
    return t('{h} h {m} min', { h: h, m: mins % 60 });
  }

  function formatTime(date) {
    return date.toLocaleTimeString(LANG, { hour: '2-digit', minute: '2-digit' });
  }

  function formatPercent(conf) {
    var n = Number(conf);
    if (conf == null || isNaN(n)) return '';
    return Math.round(n <= 1 ? n * 100 : n) + '%';
  }

  // ---- Error area ---------------------------------------------------------
  function showError(message) {
    el.errorText.textContent = message || t('Something went wrong.');
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
  function api(method, path, payload) { return request(method, CONFIG.apiBase + path, payload); }

  /** The same for any of the site's staff APIs (the knowledge-base search is at /kb/api/). */
  async function request(method, url, payload) {
    var opts = { method: method, credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (payload !== undefined) {
      opts.headers['Content-Type'] = 'application/json';
      opts.body = JSON.stringify(payload);
    }
    var res;
    try {
      res = await fetch(url, opts);
    } catch (e) {
      throw new ApiError(0, 'network', t('Cannot reach the server. Check your connection and try again.'));
    }
    if (res.status === 401) {
      window.location.href = CONFIG.loginUrl;
      throw new ApiError(401, 'login_required', t('Please log in.'));
    }
    var data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      var err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || 'http_' + res.status,
        err.message ? t(err.message) : t('Request failed (HTTP {status}).', { status: res.status }));
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
    top.appendChild(make('span', 'qi-unread', t('new')));
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
    st.textContent = t(h.status) + (h.status === 'active' && h.agent ? ' · ' + h.agent : '');
    st.className = 'qi-status status-' + h.status;
    btn.querySelector('.qi-unread').hidden = !unread;
    btn.querySelector('.qi-reason').textContent = humanize(h.reason);
    var waited = formatWaiting(parseIso(h.created_at));
    btn.querySelector('.qi-meta').textContent =
      (h.language || '?') + (waited ? ' · ' + t('waiting {time}', { time: waited }) : '');
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
    notify('queue', list);
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

  /**
   * Personal data arrives masked. "Reveal" asks for a reason; the server records it in
   * the audit log and returns the clear value to this agent only; it is kept for this
   * open conversation, never stored in the browser.
   */
  function addPersonalDataRow(label, field, masked) {
    var cur = state.current;
    var h = cur && cur.handoff;
    // Only the agent who accepted the chat may reveal (the server enforces it too),
    // and a revealed value is shown only while that chat is open.
    var mine = h && h.status === 'active' && (!CONFIG.username || h.agent === CONFIG.username);
    var revealed = mine && cur.revealed ? cur.revealed[field] : null;
    el.context.appendChild(make('dt', null, label));
    var dd = make('dd', 'personal-data');
    var value = make('span', revealed ? 'revealed' : 'masked', revealed || masked);
    value.setAttribute('data-testid', 'personal-' + field);
    dd.appendChild(value);
    el.context.appendChild(dd);
    if (revealed || !mine) return;
    var button = make('button', 'btn btn-secondary reveal-button', t('Reveal'));
    button.type = 'button';
    button.setAttribute('data-testid', 'reveal-' + field);
    dd.appendChild(button);
    button.addEventListener('click', function () {
      // The reason form is shared with the transcript's masked values (console_privacy.js).
      window.ConsolePrivacy.askReason(dd, button, function (reason) {
        var handoffId = cur.id;
        runAction(async function () {
          var data = await api('POST', '/handoffs/' + encodeURIComponent(handoffId) + '/reveal',
                               { field: field, reason: reason });
          if (state.current !== cur) return;  // the agent moved on to another chat
          cur.revealed = cur.revealed || {};
          cur.revealed[field] = data.value;
          renderContext(cur.handoff);
        });
      });
    });
  }

  function renderContext(h) {
    el.context.textContent = '';
    var ctx = h.context || {};
    var customer = ctx.customer;
    if (customer && (customer.name || customer.id)) {
      addContextRow(t('Customer'), String(customer.name || t('Customer #{id}', { id: customer.id })), 'verified');
      if (customer.phone) addPersonalDataRow(t('Phone'), 'phone', customer.phone);
    } else {
      addContextRow(t('Customer'), t('not verified'), 'not-verified');
    }
    var intent = ctx.intent;
    if (intent && intent.name) {
      var pct = formatPercent(intent.confidence);
      addContextRow(t('Bot understood'), intent.name + (pct ? ' (' + pct + ')' : ''));
    } else {
      addContextRow(t('Bot understood'), '—');
    }
    var actions = Array.isArray(ctx.bot_actions) ? ctx.bot_actions : [];
    addContextRow(t('Bot tried'), actions.length ? actions.join(', ') : '—');
    addContextRow(t('Reason'), humanize(h.reason));
    // desk (#7): the team, priority and what the bot gathered (all text: textContent).
    addContextRow(t('Team'), h.skill_group || '—');
    addContextRow(t('Priority'), String(h.priority || 0));
    if (typeof ctx.frustration === 'number') addContextRow(t('Frustration'), formatPercent(ctx.frustration) || '0%');
    if (ctx.summary) addContextRow(t('Summary'), String(ctx.summary));
    // accounts (#9): the verified customer's plan, tier and open tickets, from the accounts backend.
    var profile = ctx.profile || {};
    if (profile.plan) addContextRow(t('Plan'), String(profile.plan));
    if (profile.vip_tier) addContextRow(t('VIP tier'), String(profile.vip_tier));
    var tickets = Array.isArray(profile.open_tickets) ? profile.open_tickets : [];
    if (tickets.length) {
      addContextRow(t('Open tickets'), tickets.map(function (k) {
        return '#' + k.id + ' ' + String(k.what || '') + (k.status ? ' (' + k.status + ')' : '');
      }).join('; '));
    }
    addContextRow(t('Language'), h.language || '—');
    // --- channels (#10) --- where the customer is, so the agent writes for that app.
    addContextRow(t('Channel'), channelName(h.input_channel));
    var created = parseIso(h.created_at);
    if (created) addContextRow(t('Requested'), created.toLocaleString(LANG));
    if (h.agent) addContextRow(t('Agent'), h.agent);
    // --- channels (#10) --- the customer's earlier conversations on every channel (console_history.js).
    if (window.ConsoleHistory) {
      window.ConsoleHistory.render(el.context, h, {
        api: api, t: t, make: make, buildLine: buildLine, channelName: channelName, parseIso: parseIso, lang: LANG
      });
    }
  }

  var CHANNEL_NAMES = {
    socketio: 'Web chat', rest: 'REST API', wechat: 'WeChat Official Account',
    wecom: 'WeCom customer service', telegram: 'Telegram'
  };
  function channelName(channel) {
    if (!channel) return '—';
    return Object.prototype.hasOwnProperty.call(CHANNEL_NAMES, channel) ? t(CHANNEL_NAMES[channel]) : String(channel);
  }

  /** Status-dependent controls: Accept when queued, Close + reply when active. */
  function renderControls() {
    var cur = state.current;
    var h = cur && cur.handoff;
    var status = h ? h.status : null;
    el.statusBadge.textContent = status ? t(status) : '';
    el.statusBadge.className = 'status-badge' + (status ? ' status-' + status : '');
    el.accept.hidden = status !== 'queued';
    el.close.hidden = status !== 'active';
    el.accept.disabled = state.busy;
    el.close.disabled = state.busy;
    // Only the agent who accepted the chat may reply (the server enforces it too).
    var mine = h && (!h.agent || !CONFIG.username || h.agent === CONFIG.username);
    // Some channels (REST) only get answers to their own requests: nothing can be pushed.
    var reachable = !h || h.receives_live_replies !== false;
    el.channelNotice.hidden = reachable;
    var canReply = status === 'active' && mine && reachable && !cur.loading;
    el.replyInput.disabled = !canReply;
    el.replySend.disabled = !canReply || state.busy;
    if (status === 'queued') el.replyInput.placeholder = t('Accept the conversation to reply');
    else if (status === 'closed') el.replyInput.placeholder = t('This conversation is closed');
    else if (status === 'active' && !mine) el.replyInput.placeholder = t('Handled by {agent}', { agent: h.agent });
    else if (!reachable) el.replyInput.placeholder = t('This customer cannot receive live replies');
    else el.replyInput.placeholder = t('Type a reply…');
  }

  function renderHeader() {
    var h = state.current.handoff;
    el.title.textContent = t('Conversation #{id}', { id: shortId(h.conversation_id) });
    el.title.title = h.conversation_id;
    renderContext(h);
    renderControls();
    HOOKS.onOpen.forEach(function (fn) { fn(state.current); });
  }

  function actorLabel(line) {
    if (line.actor === 'agent') return t('Agent') + (line.agent ? ' (' + line.agent + ')' : '');
    if (line.actor === 'bot') return t('Bot');
    return t('Customer');
  }

  /** A transcript line; its masked values are revealed through handoff ``handoffId`` (default: the open chat). */
  function buildLine(line, handoffId) {
    var actor = ['customer', 'bot', 'agent'].indexOf(line.actor) >= 0 ? line.actor : 'bot';
    var row = make('div', 'line actor-' + actor);
    row.setAttribute('data-testid', 'line');
    row.setAttribute('data-line-id', String(line.id));
    row.setAttribute('data-ts', String(Number(line.timestamp) || 0));  // notes are placed by it (console_ops.js)
    var meta = make('div', 'line-meta');
    meta.appendChild(make('span', 'line-actor', actorLabel(line)));
    var ts = Number(line.timestamp);
    if (ts) {
      var d = new Date(ts * 1000);
      var time = make('time', 'line-time', formatTime(d));
      time.setAttribute('datetime', d.toISOString());
      time.title = d.toLocaleString(LANG);
      meta.appendChild(time);
    }
    // What the bot understood for this customer message helps the agent judge.
    if (actor === 'customer' && line.intent) {
      var pct = formatPercent(line.confidence);
      meta.appendChild(make('span', 'line-intent', line.intent + (pct ? ' ' + pct : '')));
    }
    row.appendChild(meta);
    if (actor === 'bot' && window.SupportMarkdown) {
      // The bot's FAQ answers are Markdown, built as DOM nodes (no HTML parsed): /static/markdown.js.
      var text = make('div', 'line-text');
      text.appendChild(window.SupportMarkdown.render(line.text || ''));
      row.appendChild(text);
    } else if (line.segments && window.ConsolePrivacy) {
      // privacy (#14): personal data arrives masked; each value can be revealed with a reason.
      if (handoffId == null) handoffId = state.current ? state.current.id : null;
      row.appendChild(window.ConsolePrivacy.lineText(line, handoffId));
    } else {
      row.appendChild(make('p', 'line-text', line.text || ''));
    }
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
      notify('open', cur);
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
    notify('handoff', h);
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

  function closeCurrent(outcome) {
    var cur = state.current;
    if (!cur) return;
    runAction(async function () {
      var data = await api('POST', '/handoffs/' + encodeURIComponent(cur.id) + '/close', outcome || {});
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
    if (text.length > MAX_REPLY) { showError(t('Replies are limited to {n} characters.', { n: MAX_REPLY })); return; }
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
      notify('sent', cur);
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
    notify('line', line);
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
    notify('message', msg);
    if (msg.type === 'handoff') applyHandoff(msg.handoff);
    else if (msg.type === 'transcript') onTranscriptLine(msg.line);
    HOOKS.onMessage.forEach(function (fn) { fn(msg); });
  }

  /** Events sent while we were disconnected are gone: re-fetch the state. */
  function resync() {
    notify('resync');
    loadQueue();
    if (state.current) openHandoff(state.current.id);
  }

  function connectWs() {
    var url = (location.protocol === 'https:' ? 'wss' : 'ws') + '://' + location.host + CONFIG.wsPath;
    setWsStatus(wsEverOpened ? 'reconnecting' : 'connecting', wsEverOpened ? t('Reconnecting…') : t('Connecting…'));
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
      setWsStatus('live', t('Live'));
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
    setWsStatus('reconnecting', t('Disconnected — retrying in {n} s…', { n: Math.round(delay / 1000) }));
    setTimeout(connectWs, delay);
  }

  // ---- Wiring -------------------------------------------------------------
  function onReplyKeydown(ev) {
    // Enter sends; Shift+Enter is a newline; never send while an IME is composing.
    if (ev.key !== 'Enter' || ev.shiftKey || ev.isComposing || ev.keyCode === 229) return;
    ev.preventDefault();
    sendReply();
  }

  // desk (#7): the agent's own status (online agents are given chats automatically).
  async function initAgentStatus() {
    var select = document.querySelector('[data-testid="agent-status"]');
    if (!select) return;
    try {
      select.value = (await api('GET', '/me/status')).agent.status;
    } catch (e) { return; }
    select.addEventListener('change', async function () {
      try { await api('POST', '/me/status', { status: select.value }); } catch (e) { showError(e.message); }
    });
  }

  // ---- Hooks for the console's tools (console_tools.js) -------------------
  // Events: 'open' (a conversation shown), 'handoff' (one changed), 'line' (a transcript
  // line arrived, any conversation), 'message' (any websocket message), 'queue' (the queue
  // was drawn), 'sent' (a reply went out), 'resync' (the feed (re)connected: fetch again).
  var listeners = {};
  function notify(event, value) {
    (listeners[event] || []).forEach(function (fn) {
      try { fn(value); } catch (e) { if (window.console) window.console.error(e); }
    });
  }
  window.AgentConsole = {
    t: t, api: api, request: request, make: make, showError: showError, clearError: clearError,
    username: CONFIG.username, runAction: runAction, parseIso: parseIso,
    on: function (event, fn) { (listeners[event] = listeners[event] || []).push(fn); },
    current: function () { return state.current && !state.current.loading ? state.current : null; },
    replyInput: el.replyInput,
    queue: function () { return Array.from(state.queue.values()); }
  };

  // desk operations (#7): console_ops.js adds notes, transfer and the supervisor's tools through these.
  var HOOKS = { onOpen: [], onMessage: [], closeOutcome: null };
  window.SupportConsole = {
    api: api, t: t, make: make, showError: showError, runAction: runAction, applyHandoff: applyHandoff,
    openHandoff: openHandoff, closeCurrent: closeCurrent, shortId: shortId, parseIso: parseIso, formatTime: formatTime,
    current: function () { return state.current; }, transcript: el.transcript, scrollTranscript: scrollTranscript,
    markUnread: function (conversationId) { state.unread.add(conversationId); renderQueue(); },
    reloadQueue: loadQueue, closePane: closePane, inQueue: function (id) { return state.queue.has(id); },
    username: CONFIG.username, hooks: HOOKS
  };

  function init() {
    if (window.ConsolePrivacy) window.ConsolePrivacy.init({ api: api, t: t, runAction: runAction });
    initAgentStatus();
    el.errorDismiss.addEventListener('click', clearError);
    el.accept.addEventListener('click', acceptCurrent);
    // console_ops.js gives the outcome (disposition, tags) the agent chose, when it is loaded.
    el.close.addEventListener('click', function () { closeCurrent(HOOKS.closeOutcome ? HOOKS.closeOutcome() : undefined); });
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
