/*
 * Customer chat page: talks to Rasa over its socket.io channel.
 *
 * Security: every piece of customer/bot/agent text goes into the DOM through
 * textContent only (bot messages' Markdown too: markdown.js). The page runs under a strict CSP (script-src 'self'), so
 * there is no inline script; configuration comes from <body data-*>.
 */
(function () {
  'use strict';

  // A page whose customer is signed in on the host site keeps its own conversation.
  // (Embedded with a token from the widget: customerScope() sets it once the token arrives.)
  var SESSION_SCOPE = document.body.getAttribute('data-session-scope');
  var SESSION_KEY = 'supportbot.session_id' + (SESSION_SCOPE ? ':' + SESSION_SCOPE : '');
  var TOKEN_WAIT_MS = 5000;
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
      langGroup: 'Language',
      agentTyping: '{name} is typing…',
      signedInAs: 'Signed in on the demo shop as',
      demoOutboxTitle: 'Demo: texts sent to your phone',
      demoOutboxEmpty: 'None yet. A one-time code or a password reset link you ask for shows here, never in the chat.',
      sent_login_code: 'One-time code',
      sent_password_reset: 'Password reset link'
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
      langGroup: '语言',
      agentTyping: '{name} 正在输入…',
      signedInAs: '已登录演示网站：',
      demoOutboxTitle: '演示：发送到您手机的短信',
      demoOutboxEmpty: '暂无。您申请的一次性验证码或重置密码链接会显示在这里，不会出现在聊天中。',
      sent_login_code: '验证码短信',
      sent_password_reset: '重置密码链接'
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
      langGroup: '語言',
      agentTyping: '{name} 正在輸入…',
      signedInAs: '已登入示範網站：',
      demoOutboxTitle: '示範：傳送到您手機的簡訊',
      demoOutboxEmpty: '暫無。您申請的一次性驗證碼或重設密碼連結會顯示在這裡，不會出現在聊天中。',
      sent_login_code: '驗證碼簡訊',
      sent_password_reset: '重設密碼連結'
    }
  };

  // ---- DOM references -----------------------------------------------------
  var body = document.body;
  var log = document.querySelector('[data-testid="chat-log"]');
  var statusEl = document.querySelector('[data-testid="connection-status"]');
  var typingEl = document.querySelector('[data-testid="typing-indicator"]');
  var agentTypingEl = document.querySelector('[data-testid="agent-typing"]');
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
    var p;
    if (kind === 'bot' && window.SupportMarkdown) {
      // Knowledge-base answers are Markdown; markdown.js builds the DOM without parsing HTML.
      p = document.createElement('div');
      p.appendChild(window.SupportMarkdown.render(text));
    } else {
      p = document.createElement('p');
      p.textContent = text;
    }
    p.className = 'msg-text';
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
  // The host site's signed token for a signed-in customer (accounts #9): it goes in the
  // session metadata, and the bot starts the conversation verified.
  var customerToken = body.getAttribute('data-customer-token') || '';
  var socket = null;

  // ---- Demo mode: the texts the demo sender "sent" for this conversation ----
  var outboxEl = document.querySelector('[data-testid="demo-outbox"]');
  var outboxBusy = false, outboxAgain = false;

  function refreshOutbox() {
    if (!outboxEl || !state.sessionId || !window.fetch) return;
    if (outboxBusy) { outboxAgain = true; return; }
    outboxBusy = true;
    fetch('/demo/api/outbox?conversation=' + encodeURIComponent(state.sessionId), { credentials: 'same-origin' })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(renderOutbox, function () { /* a demo aid: the chat goes on without it */ })
      .then(function () {
        outboxBusy = false;
        if (outboxAgain) { outboxAgain = false; refreshOutbox(); }
      });
  }

  function renderOutbox(data) {
    var messages = data && Array.isArray(data.messages) ? data.messages : [];
    var list = outboxEl.querySelector('.demo-outbox-list');
    outboxEl.querySelector('.demo-outbox-empty').hidden = messages.length > 0;
    while (list.firstChild) list.removeChild(list.firstChild);
    outboxEl.setAttribute('data-loaded', 'true');
    messages.slice().reverse().forEach(function (m) {
      var li = document.createElement('li');
      li.className = 'demo-outbox-item';
      li.setAttribute('data-testid', 'demo-outbox-item');
      var label = document.createElement('span');
      label.className = 'demo-outbox-kind';
      label.textContent = t('sent_' + String(m.kind)) + ' → ' + String(m.to || '');
      var text = document.createElement('span');
      text.className = 'demo-outbox-text';
      text.textContent = String(m.text || '');
      li.appendChild(label);
      li.appendChild(text);
      list.appendChild(li);
    });
  }

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
    refreshOutbox();  // a code is written before the bot says it was sent
    if (typeof data === 'string') data = { text: data };
    if (!data || typeof data !== 'object') return;
    if (!firstSight(data.seq)) return;
    renderBotMessage(data);
  }

  function renderBotMessage(data) {
    var text = typeof data.text === 'string' ? data.text : '';
    // Queued for a person, or an agent speaking: a person answers now. The bot's own
    // next words (it is back after the agent closed) end that.
    // A wait update ("you are now number 2") comes from the desk while the customer waits
    // for (or talks to) a person: it ends nothing.
    if (data.handoff === 'queued' || data.sender === 'agent') state.handedOff = true;
    else if (text && data.notice !== 'wait_update') state.handedOff = false;
    if (data.sender === 'agent' || !state.handedOff) hideAgentTyping();
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
      // extended: numbered messages, acknowledgements, history and who wrote each message
      // (without it the server speaks exactly Rasa's protocol, for third-party widgets).
      var request = { session_id: storageGet(SESSION_KEY) || null, last_seq: state.lastSeq, extended: true };
      if (customerToken) request.customData = { customer_token: customerToken };
      socket.emit('session_request', request);
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
      refreshOutbox();
    });

    socket.on('bot_uttered', onBotUttered);
    socket.on('history', onHistory);
    socket.on('message_received', function (ack) { if (ack) firstSight(ack.seq); });
    socket.on('typing', onAgentTyping);
    socket.on('error', onError);

    socket.on('disconnect', function () {
      hideTyping();
      hideAgentTyping();
      myTyping.on = false;
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
    if (sendMessage(text)) { input.value = ''; stopMyTyping(); }
  }

  // ---- Typing indicators with a person (extended protocol; bot/channels/typing.py) ----
  // The agent's typing is shown for a few seconds after each sign of it; ours is sent only
  // while a person handles the chat (the bot needs no such hint), at most every 2 s.
  var AGENT_TYPING_SHOWN_MS = 6000, MY_TYPING_REFRESH_MS = 2000, MY_TYPING_IDLE_MS = 4000;
  var agentTypingTimer = null;
  var myTyping = { on: false, sentAt: 0, idleTimer: null };

  function onAgentTyping(data) {
    if (!data || data.sender !== 'agent') return;
    if (!data.typing) { hideAgentTyping(); return; }
    var name = typeof data.agent_name === 'string' && data.agent_name ? data.agent_name : t('agent');
    agentTypingEl.textContent = t('agentTyping').replace('{name}', name);
    agentTypingEl.hidden = false;
    clearTimeout(agentTypingTimer);
    agentTypingTimer = setTimeout(hideAgentTyping, AGENT_TYPING_SHOWN_MS);
  }

  function hideAgentTyping() {
    clearTimeout(agentTypingTimer);
    if (agentTypingEl) agentTypingEl.hidden = true;
  }

  function emitMyTyping(typing) {
    if (socket && canSend()) socket.emit('typing', { session_id: state.sessionId, typing: typing });
  }

  function stopMyTyping() {
    clearTimeout(myTyping.idleTimer);
    if (myTyping.on) emitMyTyping(false);
    myTyping.on = false;
  }

  function onInputTyping() {
    if (!state.handedOff || !input.value.trim()) { stopMyTyping(); return; }
    var now = Date.now();
    if (!myTyping.on || now - myTyping.sentAt >= MY_TYPING_REFRESH_MS) {
      myTyping.on = true;
      myTyping.sentAt = now;
      emitMyTyping(true);
    }
    clearTimeout(myTyping.idleTimer);
    myTyping.idleTimer = setTimeout(stopMyTyping, MY_TYPING_IDLE_MS);
  }

  // ---- A signed-in customer's token from the embedding page (/widget.js) ----
  // Only from our parent window, only from an origin listed in CHAT_ALLOWED_ORIGINS; the
  // widget sends it only to our origin. It lives in this page's memory, never in storage.
  var EMBED_ORIGINS = (body.getAttribute('data-embed-origins') || '').split(' ').filter(Boolean);

  function tokenFromParent(ev) {
    if (ev.source !== window.parent || EMBED_ORIGINS.indexOf(ev.origin) < 0) return '';
    var data = ev.data;
    if (!data || data.type !== 'supportbot:token' || typeof data.token !== 'string') return '';
    return data.token.length <= 4096 ? data.token : '';
  }

  /** The signed-in customer's own conversation (as the demo page's session scope): the
   *  token's subject, read unverified; it names a storage key only, the bot checks the token. */
  function customerScope(token) {
    try {
      var payload = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      var sub = JSON.parse(window.atob(payload + '==='.slice((payload.length + 3) % 4))).sub;
      return /^[0-9]{1,12}$/.test(String(sub)) ? 'customer-' + sub : 'customer';
    } catch (e) {
      return 'customer';
    }
  }

  /** Connect once the parent gave the token (or, if it never does, as a visitor). */
  function connectWithParentsToken() {
    var done = false;
    function go(token) {
      if (done) return;
      done = true;
      window.removeEventListener('message', onMessage);
      clearTimeout(timer);
      if (token) {
        customerToken = token;
        SESSION_KEY = 'supportbot.session_id:' + customerScope(token);
      }
      connect();
    }
    function onMessage(ev) {
      var token = tokenFromParent(ev);
      if (token) go(token);
    }
    window.addEventListener('message', onMessage);
    var timer = setTimeout(function () { go(''); }, TOKEN_WAIT_MS);
    // Carries nothing: any parent may hear it; only ours knows a token to answer with.
    window.parent.postMessage({ type: 'supportbot:ready' }, '*');
  }

  function init() {
    // Embedded by /widget.js: the host site says the language; Escape closes the widget.
    var params = new URLSearchParams(window.location.search);
    var embedded = params.get('embed') === '1' && window.parent !== window;
    state.lang = (embedded && STRINGS[params.get('lang')] && params.get('lang'))
      || storageGet(LANG_KEY) || detectLang(navigator.language);
    if (embedded) {
      document.addEventListener('keydown', function (ev) {
        // Carries nothing but the wish to close, so any parent may hear it.
        if (ev.key === 'Escape') window.parent.postMessage({ type: 'supportbot:close' }, '*');
      });
    }
    if (!STRINGS[state.lang]) state.lang = 'en';
    for (var i = 0; i < langButtons.length; i++) {
      langButtons[i].addEventListener('click', function (ev) {
        setLanguage(ev.currentTarget.getAttribute('data-lang'));
      });
    }
    form.addEventListener('submit', onSubmit);
    input.addEventListener('input', onInputTyping);
    applyLanguage();
    setStatus('connecting');
    if (embedded && params.get('auth') === '1') connectWithParentsToken();
    else connect();
  }

  init();
})();
