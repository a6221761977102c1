/*
 * The agent console's tools, beside console.js (which it uses through window.AgentConsole):
 *
 *  - canned replies: a picker (the "Canned replies" button, or "/" in an empty reply box)
 *    filtered as you type, arrow keys and Enter; the agent's own and the team's replies in
 *    the chat's language; add / delete (team ones: supervisors);
 *  - knowledge-base search in the chat's language, "Insert" puts the answer in the reply box;
 *  - agent assist: entries for the customer's latest message, fetched when one arrives;
 *  - typing indicators both ways (throttled; never stored);
 *  - notifications: unread counts on the queue, the page title, a sound (can be muted).
 *
 * Inserted text goes into the reply box only: the agent reads it and sends it.
 * Security: every text from the server is written with textContent (customer words, FAQ
 * answers, canned replies); the page runs under a strict CSP (no inline script or style).
 */
(function () {
  'use strict';

  var AC = window.AgentConsole;
  var root = document.querySelector('[data-testid="console-tools"]');
  if (!AC || !root) return;
  var t = AC.t, make = AC.make;
  var body = document.body;
  var IS_SUPERVISOR = body.getAttribute('data-supervisor') === 'true';
  var DISPLAY_NAME = body.getAttribute('data-display-name') || '';
  var BASE_TITLE = document.title;
  var TYPING_SHOWN_MS = 6000;     // an indicator not refreshed for this long is hidden
  var TYPING_REFRESH_MS = 2000;   // "still typing" at most this often
  var TYPING_IDLE_MS = 4000;      // no keystroke for this long: stopped
  var SOUND_KEY = 'supportbot.console.sound';

  function button(text, testid, className) {
    var b = make('button', 'btn ' + (className || 'btn-secondary'), text);
    b.type = 'button';
    if (testid) b.setAttribute('data-testid', testid);
    return b;
  }

  function chatLanguage() {
    var cur = AC.current();
    return (cur && cur.handoff && cur.handoff.language) || document.documentElement.lang || 'zh-Hans';
  }

  // ---- The reply box ------------------------------------------------------
  /** Put text at the cursor in the reply box (the agent still reviews and sends it). */
  function insertIntoReply(text) {
    var input = AC.replyInput;
    if (input.disabled) {
      AC.showError(t('Accept the conversation to reply'));
      return false;
    }
    var start = input.selectionStart != null ? input.selectionStart : input.value.length;
    var end = input.selectionEnd != null ? input.selectionEnd : input.value.length;
    var before = input.value.slice(0, start), after = input.value.slice(end);
    var glue = before && !/\s$/.test(before) ? ' ' : '';
    var limit = input.maxLength > 0 ? input.maxLength : 2000;
    var inserted = (glue + text).slice(0, Math.max(0, limit - before.length - after.length));
    input.value = before + inserted + after;
    var caret = before.length + inserted.length;
    input.focus();
    input.setSelectionRange(caret, caret);
    // console.js forgets a failed reply's id once the text changes.
    input.dispatchEvent(new Event('input', { bubbles: true }));
    return true;
  }

  /** {customer_name} and {agent_name} from what we know; unknown ones stay for the agent to fill. */
  function fillPlaceholders(text) {
    var cur = AC.current();
    var customer = cur && cur.handoff && cur.handoff.context && cur.handoff.context.customer;
    var values = { agent_name: DISPLAY_NAME, customer_name: customer && customer.name ? String(customer.name) : '' };
    return text.replace(/\{(customer_name|agent_name)\}/g, function (whole, name) { return values[name]; })
      .replace(/ +([,，.。!！?？])/g, '$1').replace(/ {2,}/g, ' ');
  }

  // ---- Layout ---------------------------------------------------------------
  var typingLine = make('p', 'customer-typing', t('The customer is typing…'));
  typingLine.setAttribute('data-testid', 'customer-typing');
  typingLine.setAttribute('role', 'status');
  typingLine.hidden = true;

  var assist = make('section', 'assist');
  assist.setAttribute('data-testid', 'assist');
  assist.setAttribute('aria-label', t('Suggested answers'));
  assist.hidden = true;
  var assistTitle = make('h3', 'tools-title', t('Suggested answers'));
  var assistList = make('ul', 'tools-results');
  assist.appendChild(assistTitle);
  assist.appendChild(assistList);

  var toolbar = make('div', 'tools-bar');
  var cannedButton = button(t('Canned replies'), 'canned-button');
  cannedButton.setAttribute('aria-expanded', 'false');
  cannedButton.title = t('Type / in an empty reply box to open');
  var kbButton = button(t('Knowledge base'), 'kb-button');
  kbButton.setAttribute('aria-expanded', 'false');
  toolbar.appendChild(cannedButton);
  toolbar.appendChild(kbButton);

  var cannedPanel = make('section', 'tools-panel canned-panel');
  cannedPanel.setAttribute('data-testid', 'canned-picker');
  cannedPanel.hidden = true;
  var kbPanel = make('section', 'tools-panel kb-panel');
  kbPanel.setAttribute('data-testid', 'kb-panel');
  kbPanel.hidden = true;

  root.appendChild(typingLine);
  root.appendChild(assist);
  root.appendChild(toolbar);
  root.appendChild(cannedPanel);
  root.appendChild(kbPanel);

  function showPanel(which) {
    cannedPanel.hidden = which !== 'canned';
    kbPanel.hidden = which !== 'kb';
    cannedButton.setAttribute('aria-expanded', String(which === 'canned'));
    kbButton.setAttribute('aria-expanded', String(which === 'kb'));
  }

  /** One result row: a title, the text (as text), an Insert button. */
  function resultRow(titleText, bodyText, insertTestid, onInsert) {
    var li = make('li', 'tools-result');
    li.appendChild(make('strong', 'tools-result-title', titleText));
    li.appendChild(make('p', 'tools-result-text', bodyText));
    var insert = button(t('Insert'), insertTestid, 'btn-primary');
    insert.addEventListener('click', onInsert);
    li.appendChild(insert);
    return li;
  }

  // ---- Canned replies -------------------------------------------------------
  var canned = { replies: [], shown: [], active: 0, language: null, editing: null };

  var cannedFilter = make('input', 'tools-input');
  cannedFilter.type = 'search';
  cannedFilter.placeholder = t('Filter canned replies…');
  cannedFilter.setAttribute('aria-label', t('Filter canned replies'));
  cannedFilter.setAttribute('data-testid', 'canned-filter');
  cannedFilter.setAttribute('role', 'combobox');
  cannedFilter.setAttribute('aria-controls', 'canned-options');
  cannedFilter.setAttribute('aria-expanded', 'true');
  var cannedList = make('ul', 'canned-options');
  cannedList.id = 'canned-options';
  cannedList.setAttribute('role', 'listbox');
  cannedList.setAttribute('aria-label', t('Canned replies'));
  var cannedEmpty = make('p', 'tools-empty', t('No canned replies in this language yet.'));
  cannedEmpty.hidden = true;
  var cannedHint = make('p', 'tools-hint', t('↑ ↓ to choose, Enter to insert, Esc to close.'));

  // Adding a reply: the agent's own, or (supervisors) the team's.
  var addForm = make('form', 'canned-add');
  addForm.setAttribute('data-testid', 'canned-add');
  var addTitle = make('input', 'tools-input');
  addTitle.maxLength = 80;
  addTitle.required = true;
  addTitle.placeholder = t('Title');
  addTitle.setAttribute('aria-label', t('Title'));
  addTitle.setAttribute('data-testid', 'canned-new-title');
  var addBody = make('textarea', 'tools-input');
  addBody.maxLength = 2000;
  addBody.required = true;
  addBody.rows = 2;
  addBody.placeholder = t('Text ({customer_name} and {agent_name} are filled in)');
  addBody.setAttribute('aria-label', t('Text of the reply'));
  addBody.setAttribute('data-testid', 'canned-new-body');
  var addScope = make('select', 'tools-input');
  addScope.setAttribute('aria-label', t('Who can use it'));
  addScope.setAttribute('data-testid', 'canned-new-scope');
  [['personal', t('Only me')], ['team', t('My team')]].forEach(function (o) {
    var opt = make('option', null, o[1]);
    opt.value = o[0];
    addScope.appendChild(opt);
  });
  addScope.hidden = !IS_SUPERVISOR;
  var addSubmit = make('button', 'btn btn-secondary', t('Add'));
  addSubmit.type = 'submit';
  addSubmit.setAttribute('data-testid', 'canned-new-submit');
  addForm.appendChild(addTitle);
  addForm.appendChild(addBody);
  var addCancel = button(t('Cancel'), 'canned-edit-cancel');
  addCancel.hidden = true;
  addForm.appendChild(addScope);
  addForm.appendChild(addSubmit);
  addForm.appendChild(addCancel);

  cannedPanel.appendChild(cannedFilter);
  cannedPanel.appendChild(cannedList);
  cannedPanel.appendChild(cannedEmpty);
  cannedPanel.appendChild(cannedHint);
  cannedPanel.appendChild(addForm);

  async function loadCanned() {
    var language = chatLanguage();
    try {
      var data = await AC.api('GET', '/canned?language=' + encodeURIComponent(language));
      canned.replies = data.replies || [];
      canned.language = language;
    } catch (e) {
      AC.showError(e.message);
      canned.replies = [];
    }
    renderCanned();
  }

  function renderCanned() {
    var q = cannedFilter.value.trim().toLowerCase();
    canned.shown = canned.replies.filter(function (r) {
      return !q || r.title.toLowerCase().indexOf(q) >= 0 || r.body.toLowerCase().indexOf(q) >= 0;
    });
    if (canned.active >= canned.shown.length) canned.active = 0;
    cannedList.textContent = '';
    canned.shown.forEach(function (r, i) {
      var li = make('li', 'canned-option' + (i === canned.active ? ' active' : ''));
      li.id = 'canned-option-' + r.id;
      li.setAttribute('role', 'option');
      li.setAttribute('aria-selected', String(i === canned.active));
      li.setAttribute('data-testid', 'canned-option');
      var label = make('span', 'canned-option-label');
      label.appendChild(make('strong', null, r.title));
      label.appendChild(make('span', 'canned-scope', r.scope === 'team' ? t('team') : t('mine')));
      label.appendChild(make('span', 'canned-body', r.body));
      li.appendChild(label);
      li.addEventListener('mousedown', function (ev) { ev.preventDefault(); });  // keep the filter's focus
      li.addEventListener('click', function () { chooseCanned(r); });
      if (r.editable) {
        var edit = button('✎', 'canned-edit', 'btn-dismiss');
        edit.setAttribute('aria-label', t('Edit “{title}”', { title: r.title }));
        edit.addEventListener('click', function (ev) { ev.stopPropagation(); editCanned(r); });
        li.appendChild(edit);
        var del = button('×', 'canned-delete', 'btn-dismiss');
        del.setAttribute('aria-label', t('Delete “{title}”', { title: r.title }));
        del.addEventListener('click', function (ev) { ev.stopPropagation(); deleteCanned(r); });
        li.appendChild(del);
      }
      cannedList.appendChild(li);
    });
    var active = canned.shown[canned.active];
    if (active) cannedFilter.setAttribute('aria-activedescendant', 'canned-option-' + active.id);
    else cannedFilter.removeAttribute('aria-activedescendant');
    cannedEmpty.hidden = canned.shown.length > 0;
    var activeNode = cannedList.children[canned.active];
    if (activeNode && activeNode.scrollIntoView) activeNode.scrollIntoView({ block: 'nearest' });
  }

  function openCanned() {
    showPanel('canned');
    resetAddForm();
    cannedFilter.value = '';
    canned.active = 0;
    renderCanned();
    cannedFilter.focus();
    loadCanned();
  }

  function closeCanned(focusReply) {
    showPanel(null);
    if (focusReply && !AC.replyInput.disabled) AC.replyInput.focus();
  }

  function chooseCanned(reply) {
    closeCanned(false);
    insertIntoReply(fillPlaceholders(reply.body));
  }

  /** The add form doubles as the edit form: filled with the reply, "Save" changes it. */
  function editCanned(reply) {
    canned.editing = reply;
    addTitle.value = reply.title;
    addBody.value = reply.body;
    addScope.value = reply.scope;
    addScope.disabled = true;  // a reply's list does not change (the API refuses it too)
    addSubmit.textContent = t('Save');
    addCancel.hidden = false;
    addTitle.focus();
  }

  function resetAddForm() {
    canned.editing = null;
    addTitle.value = '';
    addBody.value = '';
    addScope.disabled = false;
    addSubmit.textContent = t('Add');
    addCancel.hidden = true;
  }
  addCancel.addEventListener('click', function () { resetAddForm(); cannedFilter.focus(); });

  async function deleteCanned(reply) {
    try {
      await AC.api('DELETE', '/canned/' + encodeURIComponent(reply.id));
      if (canned.editing && canned.editing.id === reply.id) resetAddForm();
      await loadCanned();
      cannedFilter.focus();
    } catch (e) { AC.showError(e.message); }
  }

  cannedButton.addEventListener('click', function () {
    if (cannedPanel.hidden) openCanned(); else closeCanned(true);
  });
  cannedFilter.addEventListener('input', function () { canned.active = 0; renderCanned(); });
  cannedFilter.addEventListener('keydown', function (ev) {
    if (ev.isComposing || ev.keyCode === 229) return;
    if (ev.key === 'ArrowDown' || ev.key === 'ArrowUp') {
      ev.preventDefault();
      if (!canned.shown.length) return;
      var step = ev.key === 'ArrowDown' ? 1 : -1;
      canned.active = (canned.active + step + canned.shown.length) % canned.shown.length;
      renderCanned();
    } else if (ev.key === 'Enter') {
      ev.preventDefault();
      if (canned.shown[canned.active]) chooseCanned(canned.shown[canned.active]);
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      closeCanned(true);
    }
  });
  addForm.addEventListener('submit', async function (ev) {
    ev.preventDefault();
    var title = addTitle.value.trim(), text = addBody.value.trim();
    if (!title || !text) return;
    try {
      if (canned.editing) {
        await AC.api('PUT', '/canned/' + encodeURIComponent(canned.editing.id), { title: title, body: text });
      } else {
        await AC.api('POST', '/canned', {
          title: title, body: text, language: chatLanguage(), scope: IS_SUPERVISOR ? addScope.value : 'personal'
        });
      }
      resetAddForm();
      AC.clearError();
      await loadCanned();
    } catch (e) { AC.showError(e.message); }
  });

  // "/" typed into an empty reply box opens the picker (the "/" is not kept).
  AC.replyInput.addEventListener('input', function () {
    if (AC.replyInput.value === '/') {
      AC.replyInput.value = '';
      openCanned();
    }
  });

  // ---- Knowledge-base search -----------------------------------------------
  var kbForm = make('form', 'kb-form');
  kbForm.setAttribute('role', 'search');
  var kbInput = make('input', 'tools-input');
  kbInput.type = 'search';
  kbInput.maxLength = 500;
  kbInput.setAttribute('data-testid', 'kb-search');
  kbInput.setAttribute('aria-label', t('Search the knowledge base'));
  kbInput.placeholder = t('Search the knowledge base…');
  var kbSubmit = make('button', 'btn btn-secondary', t('Search'));
  kbSubmit.type = 'submit';
  kbSubmit.setAttribute('data-testid', 'kb-search-submit');
  kbForm.appendChild(kbInput);
  kbForm.appendChild(kbSubmit);
  var kbNote = make('p', 'tools-hint');
  var kbResults = make('ul', 'tools-results');
  kbResults.setAttribute('data-testid', 'kb-results');
  kbResults.setAttribute('aria-live', 'polite');
  kbPanel.appendChild(kbForm);
  kbPanel.appendChild(kbNote);
  kbPanel.appendChild(kbResults);
  var kbSeq = 0;

  async function searchKb() {
    var q = kbInput.value.trim();
    if (!q) { kbInput.focus(); return; }
    var language = chatLanguage();
    var seq = ++kbSeq;
    kbNote.textContent = t('Searching…');
    try {
      var data = await AC.request('GET', '/kb/api/search?q=' + encodeURIComponent(q) + '&language=' + encodeURIComponent(language));
      if (seq !== kbSeq) return;
      // What the bot would answer or offer first, then the other close entries.
      var seen = new Set(), entries = [];
      (data.entries || []).concat(data.candidates || []).forEach(function (e) {
        if (!seen.has(e.id)) { seen.add(e.id); entries.push(e); }
      });
      kbResults.textContent = '';
      entries.forEach(function (e) {
        var li = resultRow(e.question || e.slug, e.answer || '', 'kb-insert', function () { insertIntoReply(e.answer || ''); });
        li.setAttribute('data-slug', e.slug);
        kbResults.appendChild(li);
      });
      kbNote.textContent = entries.length ? t('Answers in {language}', { language: language }) : t('Nothing found.');
    } catch (e) {
      if (seq === kbSeq) { kbNote.textContent = ''; AC.showError(e.message); }
    }
  }

  kbButton.addEventListener('click', function () {
    if (kbPanel.hidden) { showPanel('kb'); kbInput.focus(); } else { showPanel(null); }
  });
  kbForm.addEventListener('submit', function (ev) { ev.preventDefault(); searchKb(); });
  kbInput.addEventListener('keydown', function (ev) {
    if (ev.key === 'Escape') { ev.preventDefault(); showPanel(null); if (!AC.replyInput.disabled) AC.replyInput.focus(); }
  });

  // ---- Agent assist -----------------------------------------------------------
  var assistSeq = 0, assistTimer = null;

  function refreshAssist() {
    clearTimeout(assistTimer);
    // A burst of lines ("在吗" / "问一下" / …) asks once, for the last of them.
    assistTimer = setTimeout(loadAssist, 300);
  }

  async function loadAssist() {
    var cur = AC.current();
    if (!cur) { assist.hidden = true; return; }
    var seq = ++assistSeq;
    try {
      var data = await AC.api('GET', '/handoffs/' + encodeURIComponent(cur.id) + '/suggestions');
      if (seq !== assistSeq || AC.current() !== cur) return;
      assistList.textContent = '';
      (data.entries || []).forEach(function (e) {
        var li = resultRow(e.question || e.slug, e.answer || '', 'assist-insert', function () { insertIntoReply(e.answer || ''); });
        li.setAttribute('data-slug', e.slug);
        assistList.appendChild(li);
      });
      assist.hidden = !(data.entries || []).length;
      assistTitle.textContent = data.question
        ? t('Suggested answers for “{question}”', { question: String(data.question).slice(0, 60) })
        : t('Suggested answers');
    } catch (e) {
      if (seq === assistSeq) assist.hidden = true;  // a helper, not worth an error banner
    }
  }

  // ---- Typing indicators --------------------------------------------------------
  var customerTypingTimer = null;

  function hideCustomerTyping() {
    clearTimeout(customerTypingTimer);
    typingLine.hidden = true;
  }

  function onTyping(msg) {
    var cur = AC.current();
    if (msg.actor !== 'customer' || !cur || cur.conversationId !== msg.conversation_id) return;
    if (!msg.typing) { hideCustomerTyping(); return; }
    typingLine.hidden = false;
    clearTimeout(customerTypingTimer);
    customerTypingTimer = setTimeout(hideCustomerTyping, TYPING_SHOWN_MS);
  }

  // The agent's own typing, for the customer's page.
  var mine = { handoffId: null, sentAt: 0, idleTimer: null };

  function canType(cur) {
    var h = cur && cur.handoff;
    return h && h.status === 'active' && (!AC.username || h.agent === AC.username) && !AC.replyInput.disabled;
  }

  function sendTyping(handoffId, typing) {
    AC.api('POST', '/handoffs/' + encodeURIComponent(handoffId) + '/typing', { typing: typing }).catch(function () {
      // An indicator is best effort: a lost one is no error worth showing.
    });
  }

  function stopTyping() {
    clearTimeout(mine.idleTimer);
    if (mine.handoffId != null) sendTyping(mine.handoffId, false);
    mine.handoffId = null;
    mine.sentAt = 0;
  }

  AC.replyInput.addEventListener('input', function () {
    var cur = AC.current();
    if (!canType(cur) || !AC.replyInput.value.trim()) { stopTyping(); return; }
    if (mine.handoffId !== null && mine.handoffId !== cur.id) stopTyping();
    var now = Date.now();
    if (mine.handoffId === null || now - mine.sentAt >= TYPING_REFRESH_MS) {
      mine.handoffId = cur.id;
      mine.sentAt = now;
      sendTyping(cur.id, true);
    }
    clearTimeout(mine.idleTimer);
    mine.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  });

  // ---- Notifications: unread counts, title, sound ---------------------------------
  var unread = new Map();   // conversation id -> customer lines not seen yet
  var newChats = 0;         // chats that arrived while the page was hidden
  var knownHandoffs = null; // ids seen, to tell a new chat from a changed one
  var sound = { on: true, context: null, last: 0 };
  try { sound.on = window.localStorage.getItem(SOUND_KEY) !== 'off'; } catch (e) { /* private mode */ }

  var soundButton = button('', 'sound-toggle');
  function renderSoundButton() {
    soundButton.textContent = sound.on ? t('Sound on') : t('Sound off');
    soundButton.setAttribute('aria-pressed', String(sound.on));
  }
  renderSoundButton();
  var userBox = document.querySelector('.user-box');
  if (userBox) userBox.insertBefore(soundButton, userBox.firstChild);
  soundButton.addEventListener('click', function () {
    sound.on = !sound.on;
    try { window.localStorage.setItem(SOUND_KEY, sound.on ? 'on' : 'off'); } catch (e) { /* ignore */ }
    renderSoundButton();
    if (sound.on) beep(true);
  });
  // Browsers let a page play sound only after the user did something on it.
  document.addEventListener('click', function () {
    if (!sound.context && (window.AudioContext || window.webkitAudioContext)) {
      try { sound.context = new (window.AudioContext || window.webkitAudioContext)(); } catch (e) { sound.context = null; }
    }
  }, { once: true, capture: true });

  function beep(force) {
    var now = Date.now();
    if (!sound.on || !sound.context || (!force && now - sound.last < 1500)) return;
    sound.last = now;
    body.setAttribute('data-last-sound', String(now));  // what tests and screen readers can check
    try {
      var ctx = sound.context, osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0.15, ctx.currentTime);
      gain.gain.exponentialRampToValueAtTime(0.001, ctx.currentTime + 0.25);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start();
      osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio device: the title still says it */ }
  }

  function totalUnread() {
    var n = newChats;
    unread.forEach(function (count) { n += count; });
    return n;
  }

  function renderTitle() {
    var n = totalUnread();
    document.title = n ? '(' + n + ') ' + BASE_TITLE : BASE_TITLE;
    body.setAttribute('data-unread', String(n));
  }

  function renderUnreadCounts() {
    var items = document.querySelectorAll('[data-testid="queue-item"]');
    for (var i = 0; i < items.length; i++) {
      var count = unread.get(items[i].getAttribute('data-conversation-id')) || 0;
      var badge = items[i].querySelector('.qi-unread');
      if (!badge) continue;
      badge.textContent = count ? t('{n} new', { n: count }) : t('new');
      badge.setAttribute('data-count', String(count));
    }
  }

  function seen(conversationId) {
    if (conversationId && unread.delete(conversationId)) { renderUnreadCounts(); renderTitle(); }
  }

  function onLine(line) {
    var cur = AC.current();
    var isCurrent = cur && cur.conversationId === line.conversation_id;
    if (isCurrent && line.actor === 'customer') { hideCustomerTyping(); refreshAssist(); }
    if (line.actor !== 'customer') return;
    var watched = AC.queue().some(function (h) { return h.conversation_id === line.conversation_id; });
    if (!watched && !isCurrent) return;
    if (isCurrent && !document.hidden) return;  // the agent is looking at it
    unread.set(line.conversation_id, (unread.get(line.conversation_id) || 0) + 1);
    renderUnreadCounts();
    renderTitle();
    beep(false);
  }

  function onHandoff(h) {
    if (!knownHandoffs) return;
    var isNew = !knownHandoffs.has(h.id);
    knownHandoffs.add(h.id);
    var mineNow = h.status === 'active' && h.agent === AC.username;
    if (isNew && h.status === 'queued') {
      if (document.hidden) { newChats++; renderTitle(); }
      beep(false);
    } else if (mineNow && document.hidden) {
      beep(false);  // the desk gave this agent a chat
    }
    if (h.status === 'closed' || h.status === 'cancelled' || h.status === 'abandoned') seen(h.conversation_id);
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) return;
    newChats = 0;
    var cur = AC.current();
    if (cur) seen(cur.conversationId);
    renderTitle();
  });

  // ---- Wiring to console.js's events --------------------------------------------------
  AC.on('open', function (cur) {
    if (mine.handoffId !== null && mine.handoffId !== cur.id) stopTyping();
    seen(cur.conversationId);
    hideCustomerTyping();
    showPanel(null);
    kbResults.textContent = '';
    kbNote.textContent = '';
    assist.hidden = true;
    loadAssist();
  });
  AC.on('handoff', function (h) {
    var cur = AC.current();
    if (cur && cur.id === h.id && h.status !== 'active') { stopTyping(); hideCustomerTyping(); }
    onHandoff(h);
  });
  AC.on('queue', function (list) {
    if (!knownHandoffs) knownHandoffs = new Set(list.map(function (h) { return h.id; }));
    renderUnreadCounts();
  });
  AC.on('line', onLine);
  AC.on('sent', function () { stopTyping(); });
  AC.on('message', function (msg) { if (msg.type === 'typing') onTyping(msg); });
  renderTitle();
})();
