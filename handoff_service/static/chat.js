/*
 * Customer chat page: talks to Rasa over its socket.io channel.
 *
 * Security: every piece of customer/bot/agent text goes into the DOM through
 * textContent only. The page runs under a strict CSP (script-src 'self'), so
 * there is no inline script; configuration comes from <body data-*>.
 */
(function () {
  'use strict';

  var SESSION_KEY = 'supportbot.session_id';
  var LANG_KEY = 'supportbot.ui_lang';
  var TYPING_TIMEOUT_MS = 20000;
  var MAX_LEN = 2000;

  // UI chrome only; conversation text comes from the bot as-is.
  var STRINGS = {
    'en': {
      title: 'Customer support',
      welcome: 'Hi! Ask us a question, or type “talk to a human” at any time to reach a person.',
      placeholder: 'Type your message…',
      inputLabel: 'Your message',
      send: 'Send',
      typing: 'Typing…',
      connecting: 'Connecting…',
      connected: 'Connected',
      reconnecting: 'Connection lost, reconnecting…',
      agent: 'Agent',
      genericError: 'Something went wrong. Please try again.',
      unreachable: 'Cannot reach the chat service right now. We keep trying; you can also try again later.',
      langGroup: 'Language'
    },
    'zh-Hans': {
      title: '在线客服',
      welcome: '您好！请直接输入您的问题，任何时候输入“转人工”即可联系人工客服。',
      placeholder: '请输入消息…',
      inputLabel: '您的消息',
      send: '发送',
      typing: '正在输入…',
      connecting: '正在连接…',
      connected: '已连接',
      reconnecting: '连接已断开，正在重新连接…',
      agent: '客服',
      genericError: '出了点问题，请稍后再试。',
      unreachable: '暂时无法连接在线客服，正在重试，您也可以稍后再来。',
      langGroup: '语言'
    },
    'zh-Hant': {
      title: '線上客服',
      welcome: '您好！請直接輸入您的問題，任何時候輸入「轉人工」即可聯絡真人客服。',
      placeholder: '請輸入訊息…',
      inputLabel: '您的訊息',
      send: '傳送',
      typing: '正在輸入…',
      connecting: '正在連線…',
      connected: '已連線',
      reconnecting: '連線中斷，正在重新連線…',
      agent: '客服',
      genericError: '發生錯誤，請稍後再試。',
      unreachable: '暫時無法連線線上客服，正在重試，您也可以稍後再來。',
      langGroup: '語言'
    }
  };

  // ---- DOM references -----------------------------------------------------
  var body = document.body;
  var log = document.querySelector('[data-testid="chat-log"]');
  var statusEl = document.querySelector('[data-testid="connection-status"]');
  var typingEl = document.querySelector('[data-testid="typing-indicator"]');
  var form = document.querySelector('.chat-form');
  var input = document.querySelector('[data-testid="chat-input"]');
  var sendBtn = document.querySelector('[data-testid="chat-send"]');
  var langButtons = document.querySelectorAll('.lang-btn');

  // ---- State --------------------------------------------------------------
  var state = {
    lang: 'en',
    status: 'connecting',      // connecting | connected | reconnecting
    everConnected: false,
    sessionId: null,
    typingTimer: null,
    connectFailures: 0,
    seen: new Set(),           // numbers (seq) of the messages shown, so none is shown twice
    lastSeq: 0,                // the highest of them: the server sends what came after
    handedOff: false           // queued for or talking to a person: no bot "typing" dots
  };

  // ---- Storage (localStorage may throw in private mode / disabled) --------
  function storageGet(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* ignore */ }
  }

  // ---- Language -----------------------------------------------------------
  /** Map a BCP-47 tag to one of our three UI languages. */
  function detectLang(tag) {
    var t = String(tag || '').toLowerCase();
    if (t.indexOf('zh') !== 0) return 'en';
    // Traditional: explicit Hant script or the regions that use it.
    if (/hant|^zh-(tw|hk|mo)\b/.test(t)) return 'zh-Hant';
    return 'zh-Hans';
  }

  function t(key) {
    var table = STRINGS[state.lang] || STRINGS.en;
    return table[key] || STRINGS.en[key] || key;
  }

  /** Re-render every piece of UI chrome in the current language. */
  function applyLanguage() {
    document.documentElement.lang = state.lang;
    var nodes = document.querySelectorAll('[data-i18n]');
    for (var i = 0; i < nodes.length; i++) {
      nodes[i].textContent = t(nodes[i].getAttribute('data-i18n'));
    }
    input.placeholder = t('placeholder');
    document.title = t('title');
    var group = document.querySelector('.lang-switch');
    if (group) group.setAttribute('aria-label', t('langGroup'));
    for (var j = 0; j < langButtons.length; j++) {
      var b = langButtons[j];
      b.setAttribute('aria-pressed', b.getAttribute('data-lang') === state.lang ? 'true' : 'false');
    }
    renderStatus();
  }

  function setLanguage(lang) {
    if (!STRINGS[lang]) return;
    state.lang = lang;
    storageSet(LANG_KEY, lang);
    applyLanguage();
  }

  // ---- Connection status / input enabling ---------------------------------
  function renderStatus() {
    statusEl.textContent = t(state.status);
    statusEl.className = 'connection-status status-' + state.status;
    statusEl.setAttribute('data-state', state.status);
  }

  function setStatus(status) {
    state.status = status;
    renderStatus();
    // Only allow typing once Rasa has confirmed a session for this socket.
    var ready = status === 'connected' && !!state.sessionId;
    input.disabled = !ready;
    sendBtn.disabled = !ready;
    var groups = log.querySelectorAll('.quick-replies:not(.used) .quick-reply');
    for (var i = 0; i < groups.length; i++) groups[i].disabled = !ready;
  }

  function canSend() {
    return state.status === 'connected' && !!state.sessionId;
  }

  // ---- Rendering ----------------------------------------------------------
  /** Keep the newest message visible (the log is the scroll container). */
  function scrollToBottom() {
    log.scrollTop = log.scrollHeight;
  }

  function appendBubble(kind, text, label) {
    var msg = document.createElement('div');
    msg.className = 'msg msg-' + kind;
    if (label) {
      var lab = document.createElement('span');
      lab.className = 'msg-label';
      lab.textContent = label;
      msg.appendChild(lab);
    }
    var p = document.createElement('p');
    p.className = 'msg-text';
    p.textContent = text;
    msg.appendChild(p);
    log.appendChild(msg);
    scrollToBottom();
    return msg;
  }

  function appendNotice(text) {
    var p = document.createElement('p');
    p.className = 'notice';
    p.textContent = text;
    log.appendChild(p);
    scrollToBottom();
  }

  function appendErrorLine(text) {
    var p = document.createElement('p');
    p.className = 'error-line';
    p.setAttribute('role', 'alert');
    p.textContent = text;
    log.appendChild(p);
    scrollToBottom();
  }

  /** Render a group of quick-reply buttons; one click consumes the group. */
  function appendQuickReplies(replies) {
    var group = document.createElement('div');
    group.className = 'quick-replies';
    group.setAttribute('role', 'group');
    replies.forEach(function (qr) {
      if (!qr || (qr.title == null && qr.payload == null)) return;
      var title = String(qr.title != null ? qr.title : qr.payload);
      var payload = String(qr.payload != null ? qr.payload : qr.title);
      var btn = document.createElement('button');
      btn.type = 'button';
      btn.className = 'quick-reply';
      btn.textContent = title;
      btn.disabled = !canSend();
      btn.addEventListener('click', function () {
        if (!canSend()) return;
        sendMessage(payload, title);
        // Remove the group so an old choice cannot be sent twice.
        if (group.parentNode) group.parentNode.removeChild(group);
        input.focus();
      });
      group.appendChild(btn);
    });
    if (group.childNodes.length) {
      log.appendChild(group);
      scrollToBottom();
    }
  }

  // ---- Typing indicator ---------------------------------------------------
  function showTyping() {
    typingEl.hidden = false;
    clearTimeout(state.typingTimer);
    // Never leave the dots spinning forever if the bot stays silent.
    state.typingTimer = setTimeout(hideTyping, TYPING_TIMEOUT_MS);
  }
  function hideTyping() {
    clearTimeout(state.typingTimer);
    state.typingTimer = null;
    typingEl.hidden = true;
  }

  // ---- Socket -------------------------------------------------------------
  var rasaUrl = body.getAttribute('data-rasa-url') || undefined;
  var socket = null;

  /** Send text to Rasa; `display` is what the customer sees (quick-reply title). */
  function sendMessage(text, display) {
    if (!canSend() || !socket) return false;
    // The window's language tells the bot how to answer text that could be either script ("你好").
    socket.emit('user_uttered', { message: text, session_id: state.sessionId, customData: { language: state.lang } });
    appendBubble('user', display != null ? display : text);
    if (!state.handedOff) showTyping();
    return true;
  }

  /** True the first time a message number is seen (unnumbered messages always pass). */
  function firstSight(seq) {
    if (typeof seq !== 'number') return true;
    if (state.seen.has(seq)) return false;
    state.seen.add(seq);
    if (seq > state.lastSeq) state.lastSeq = seq;
    return true;
  }

  /** What was said while this page was away (reconnect) or before it loaded (reload). */
  function onHistory(data) {
    var messages = data && Array.isArray(data.messages) ? data.messages : [];
    messages.forEach(function (m, i) {
      if (!m || typeof m.text !== 'string' || !firstSight(m.seq)) return;
      if (m.sender === 'customer') { appendBubble('user', m.text); return; }
      var last = i === messages.length - 1;
      // Old quick replies are not offered again; only those of the newest message.
      renderBotMessage(last ? m : { text: m.text, sender: m.sender, agent_name: m.agent_name, notice: m.notice });
    });
  }

  function onBotUttered(data) {
    hideTyping();
    if (typeof data === 'string') data = { text: data };
    if (!data || typeof data !== 'object') return;
    if (!firstSight(data.seq)) return;
    renderBotMessage(data);
  }

  function renderBotMessage(data) {
    var text = typeof data.text === 'string' ? data.text : '';
    // Queued for a person, or an agent speaking: a person answers now. The bot's own
    // next words (it is back after the agent closed) end that.
    if (data.handoff === 'queued' || data.sender === 'agent') state.handedOff = true;
    else if (text) state.handedOff = false;
    if (text) {
      if (data.notice) {
        // System events (agent joined/left...) are centred lines, not bubbles.
        appendNotice(text);
      } else if (data.sender === 'agent') {
        appendBubble('agent', text, data.agent_name ? String(data.agent_name) : t('agent'));
      } else {
        appendBubble('bot', text);
      }
    }
    var replies = data.quick_replies || data.buttons;
    if (Array.isArray(replies) && replies.length) appendQuickReplies(replies);
  }

  function onError(err) {
    hideTyping();
    var msg = err && typeof err.message === 'string' && err.message ? err.message : t('genericError');
    appendErrorLine(msg);
  }

  function connect() {
    if (typeof window.io !== 'function') {
      appendErrorLine(t('genericError'));
      return;
    }
    socket = window.io(rasaUrl, { path: '/socket.io', transports: ['websocket'] });

    // Re-request the session on every (re)connect so Rasa re-joins our room.
    socket.on('connect', function () {
      socket.emit('session_request', { session_id: storageGet(SESSION_KEY) || null, last_seq: state.lastSeq });
    });

    socket.on('session_confirm', function (sessionId) {
      // Rasa sends the id as a string; tolerate an object form too.
      var id = sessionId && typeof sessionId === 'object' ? sessionId.session_id : sessionId;
      if (!id) return;
      state.sessionId = String(id);
      storageSet(SESSION_KEY, state.sessionId);
      state.everConnected = true;
      state.connectFailures = 0;
      setStatus('connected');
    });

    socket.on('bot_uttered', onBotUttered);
    socket.on('history', onHistory);
    socket.on('message_received', function (ack) { if (ack) firstSight(ack.seq); });
    socket.on('error', onError);

    socket.on('disconnect', function () {
      hideTyping();
      setStatus('reconnecting');
    });
    socket.on('connect_error', function () {
      setStatus(state.everConnected ? 'reconnecting' : 'connecting');
      // Say so once, rather than "Connecting…" for ever (socket.io keeps retrying).
      if (++state.connectFailures === 3) appendErrorLine(t('unreachable'));
    });
  }

  // ---- Wiring -------------------------------------------------------------
  function onSubmit(ev) {
    ev.preventDefault();
    var text = input.value.trim().slice(0, MAX_LEN);
    if (!text) return;
    if (sendMessage(text)) input.value = '';
  }

  function init() {
    state.lang = storageGet(LANG_KEY) || detectLang(navigator.language);
    if (!STRINGS[state.lang]) state.lang = 'en';
    for (var i = 0; i < langButtons.length; i++) {
      langButtons[i].addEventListener('click', function (ev) {
        setLanguage(ev.currentTarget.getAttribute('data-lang'));
      });
    }
    form.addEventListener('submit', onSubmit);
    applyLanguage();
    setStatus('connecting');
    connect();
  }

  init();
})();
