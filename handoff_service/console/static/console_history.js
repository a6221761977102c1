/*
 * Agent console, channels (#10): the customer's earlier conversations, on every channel
 * they verified on (web, Telegram, WeChat, WeCom …), in the context panel: channel, date,
 * and the transcript behind a disclosure. Read from
 * GET /agent/api/handoffs/{id}/customer-history; console.js calls render() each time it
 * draws the context panel and hands over its helpers (api, t, make, buildLine …), so
 * the look and the translations are the console's own.
 *
 * Security: every text goes in with textContent (bot lines through markdown.js, as in
 * the main transcript); the history is whatever the server allows this agent to see.
 * Personal data arrives masked; Reveal (console_privacy.js) asks for a reason and POSTs
 * /agent/api/handoffs/{this handoff}/lines/{line}/reveal (transcript_reveal.py).
 */
(function () {
  'use strict';

  // A handoff's history is fetched once when opened and again when this old: a
  // conversation the customer has on another channel meanwhile shows up.
  var REFRESH_MS = 60000;
  var cache = new Map();   // handoff id -> {at, data} | {promise}
  var opened = new Map();  // handoff id -> Set of conversation ids whose transcript the agent opened
  var ui = null;

  function t(message, values) { return ui.t(message, values); }

  function fetchHistory(handoffId) {
    var entry = cache.get(handoffId);
    if (entry && entry.promise) return entry.promise;
    var promise = ui.api('GET', '/handoffs/' + encodeURIComponent(handoffId) + '/customer-history')
      .then(function (data) {
        cache.set(handoffId, { at: Date.now(), data: data });
        return data;
      }, function (error) {
        cache.delete(handoffId);
        throw error;
      });
    cache.set(handoffId, { promise: promise });
    return promise;
  }

  /** When the conversation last moved: its last line, else when it was linked to the customer. */
  function lastActivity(conversation) {
    var lines = conversation.transcript || [];
    for (var i = lines.length - 1; i >= 0; i--) {
      var ts = Number(lines[i].timestamp);
      if (ts) return new Date(ts * 1000);
    }
    return ui.parseIso(conversation.linked_at);
  }

  function buildConversation(handoffId, conversation) {
    var lines = conversation.transcript || [];
    var details = ui.make('details', 'earlier-conversation');
    details.setAttribute('data-testid', 'earlier-conversation');
    details.setAttribute('data-channel', String(conversation.channel || ''));
    details.setAttribute('data-conversation-id', String(conversation.conversation_id || ''));
    var openSet = opened.get(handoffId);
    details.open = !!(openSet && openSet.has(conversation.conversation_id));
    details.addEventListener('toggle', function () {
      if (!opened.has(handoffId)) opened.set(handoffId, new Set());
      if (details.open) opened.get(handoffId).add(conversation.conversation_id);
      else opened.get(handoffId).delete(conversation.conversation_id);
    });

    var summary = ui.make('summary', 'earlier-summary');
    summary.appendChild(ui.make('span', 'earlier-channel', ui.channelName(conversation.channel)));
    var when = lastActivity(conversation);
    if (when) {
      var time = ui.make('time', 'earlier-date', when.toLocaleString(ui.lang, { dateStyle: 'medium', timeStyle: 'short' }));
      time.setAttribute('datetime', when.toISOString());
      summary.appendChild(time);
    }
    summary.appendChild(ui.make('span', 'earlier-count', t('{n} messages', { n: lines.length })));
    details.appendChild(summary);

    var transcript = ui.make('div', 'earlier-transcript');
    transcript.setAttribute('data-testid', 'earlier-transcript');
    transcript.setAttribute('aria-label', t('Transcript'));
    if (!lines.length) transcript.appendChild(ui.make('p', 'placeholder', t('No messages kept.')));
    lines.forEach(function (line) {
      // Masked values get Reveal buttons, as in the open chat: the server allows the lines of
      // this customer's earlier conversations through this handoff, and records each reveal.
      var row = ui.buildLine(line, handoffId);
      row.setAttribute('data-testid', 'earlier-line');  // not a line of the open chat
      transcript.appendChild(row);
    });
    details.appendChild(transcript);
    return details;
  }

  function fill(dd, handoff, data) {
    dd.textContent = '';
    var earlier = (data.conversations || []).filter(function (c) {
      return !c.current && c.conversation_id !== handoff.conversation_id;
    });
    if (!data.customer_ref) { dd.textContent = t('None: the customer is not verified.'); return; }
    if (!earlier.length) { dd.textContent = t('None'); return; }
    // Most recent first: what the customer did last is what the agent needs first.
    earlier.sort(function (a, b) {
      var ta = lastActivity(a), tb = lastActivity(b);
      return (tb ? tb.getTime() : 0) - (ta ? ta.getTime() : 0);
    });
    var list = ui.make('div', 'earlier-list');
    earlier.forEach(function (c) { list.appendChild(buildConversation(handoff.id, c)); });
    dd.appendChild(list);
  }

  /** Append the "Earlier conversations" row for handoff ``h`` to the context panel ``panel``. */
  function render(panel, h, helpers) {
    ui = helpers;
    panel.appendChild(ui.make('dt', null, t('Earlier conversations')));
    var dd = ui.make('dd', 'earlier-conversations');
    dd.setAttribute('data-testid', 'earlier-conversations');
    panel.appendChild(dd);
    var entry = cache.get(h.id);
    if (entry && entry.data && Date.now() - entry.at < REFRESH_MS) { fill(dd, h, entry.data); return; }
    dd.textContent = t('Loading…');
    if (entry && entry.data) cache.delete(h.id);
    fetchHistory(h.id).then(function (data) {
      if (dd.isConnected) fill(dd, h, data);  // the panel may have been redrawn (or another chat opened)
    }, function () {
      if (dd.isConnected) dd.textContent = t('Earlier conversations could not be loaded.');
    });
  }

  window.ConsoleHistory = { render: render };
})();
