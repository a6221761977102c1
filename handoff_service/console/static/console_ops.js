/*
 * Agent console, desk operations (#7): private notes and whispers on the chat's timeline,
 * transfer to a team or an agent with a note, close with an outcome and tags, and for a
 * supervisor take over, reassign, whisper and every agent's status live.
 *
 * Works through window.SupportConsole (console.js). Notes come from
 * GET /handoffs/{id}/notes and live as {type:'note'} on the websocket; the server sends
 * a console only what its user may see.
 *
 * Security: every text staff or customers wrote is set with textContent only.
 */
(function () {
  'use strict';

  var SC = window.SupportConsole;
  var root = document.getElementById('ops-root');
  if (!SC || !root) return;
  var t = SC.t, make = SC.make, api = SC.api;
  var SUPERVISOR = root.getAttribute('data-supervisor') === 'true';
  var ME = SC.username;
  var TEAMS = { billing: t('Billing'), technical: t('Technical support'), sales: t('Sales'), general: t('General') };

  var ops = {
    handoffId: null,        // the chat the tools are set up for
    shownNotes: new Set(),  // note ids on the timeline of that chat
    opener: null,           // the button that opened the form now shown (focus goes back to it)
    lastHolder: new Map()   // handoff id -> agent, to notice a chat leaving this agent
  };

  function q(sel, scope) { return (scope || root).querySelector(sel); }
  function forms() { return Array.prototype.slice.call(root.querySelectorAll('[data-ops-form]')); }
  function form(name) { return q('[data-ops-form="' + name + '"]'); }

  // Supervisor-only controls are not even shown to an agent (the server refuses them anyway).
  Array.prototype.forEach.call(root.querySelectorAll('[data-supervisor-only]'), function (node) {
    if (!SUPERVISOR) node.remove();
  });

  // ---- Forms --------------------------------------------------------------
  function hideForms() {
    forms().forEach(function (f) { f.hidden = true; });
  }

  function showForm(name, opener) {
    hideForms();
    var f = form(name);
    if (!f) return;
    ops.opener = opener || null;
    f.hidden = false;
    var first = f.querySelector('textarea, select, input');
    if (first) first.focus();
  }

  function cancelForm(f) {
    f.hidden = true;
    if (ops.opener && document.body.contains(ops.opener)) ops.opener.focus();
    ops.opener = null;
  }

  forms().forEach(function (f) {
    f.addEventListener('keydown', function (ev) {
      if (ev.key === 'Escape') { ev.preventDefault(); cancelForm(f); }
    });
    var cancel = f.querySelector('[data-ops-cancel]');
    if (cancel) cancel.addEventListener('click', function () { cancelForm(f); });
  });

  Array.prototype.forEach.call(root.querySelectorAll('[data-ops-open]'), function (button) {
    button.addEventListener('click', function () {
      var name = button.getAttribute('data-ops-open');
      if (name === 'transfer' || name === 'reassign') loadTargets();
      showForm(name, button);
    });
  });

  function path(suffix) {
    var cur = SC.current();
    return '/handoffs/' + encodeURIComponent(cur.id) + suffix;
  }

  // ---- Timeline: notes among the transcript's lines ------------------------
  function noteLabel(note) {
    if (note.kind === 'whisper') return t('Whisper from {name} to {agent}', { name: note.author_name, agent: note.to_agent || '' });
    if (note.kind === 'transfer') {
      if (note.to_agent) return t('{name} transferred the chat to {agent}', { name: note.author_name, agent: note.to_agent });
      return t('{name} transferred the chat to the {team} team',
               { name: note.author_name, team: TEAMS[note.to_skill_group] || note.to_skill_group || '' });
    }
    return t('Private note by {name}', { name: note.author_name });
  }

  function buildNote(note) {
    var row = make('div', 'line note note-' + note.kind);
    row.setAttribute('data-testid', 'note');
    row.setAttribute('data-note-kind', note.kind);
    row.setAttribute('data-note-id', String(note.id));
    row.setAttribute('data-ts', String(Number(note.timestamp) || 0));
    row.setAttribute('role', 'note');
    var meta = make('div', 'line-meta');
    meta.appendChild(make('span', 'line-actor', noteLabel(note)));
    var when = SC.parseIso(note.created_at);
    if (when) {
      var time = make('time', 'line-time', SC.formatTime(when));
      time.setAttribute('datetime', when.toISOString());
      meta.appendChild(time);
    }
    meta.appendChild(make('span', 'note-private', t('staff only')));
    row.appendChild(meta);
    if (note.text) row.appendChild(make('p', 'line-text', note.text));
    return row;
  }

  /** Put a note where it belongs in time among the lines (they carry data-ts). */
  function insertNote(note) {
    if (ops.shownNotes.has(note.id)) return false;
    ops.shownNotes.add(note.id);
    var row = buildNote(note);
    var ts = Number(note.timestamp) || 0;
    var after = Array.prototype.find.call(SC.transcript.children, function (child) {
      return Number(child.getAttribute('data-ts')) > ts;
    });
    SC.transcript.insertBefore(row, after || null);
    return !after;
  }

  async function loadNotes(handoffId) {
    try {
      var data = await api('GET', '/handoffs/' + encodeURIComponent(handoffId) + '/notes');
      var cur = SC.current();
      if (!cur || cur.id !== handoffId) return;
      var atEnd = false;
      (data.notes || []).forEach(function (n) { atEnd = insertNote(n) || atEnd; });
      if (atEnd) SC.scrollTranscript();
    } catch (e) {
      SC.showError(e.message);
    }
  }

  // ---- The chat's tools follow its state ----------------------------------
  function setVisible(selector, visible) {
    var node = q(selector);
    if (node) node.hidden = !visible;
  }

  function onOpen(cur) {
    var h = cur && cur.handoff;
    if (!h) { root.hidden = true; return; }
    root.hidden = false;
    if (ops.handoffId !== cur.id) {
      // Another chat (console.js cleared the transcript): its notes, and no form left open.
      ops.handoffId = cur.id;
      ops.shownNotes = new Set();
      hideForms();
      q('[data-testid="close-disposition"]').value = '';
      q('[data-testid="close-tags"]').value = '';
      loadNotes(cur.id);
    }
    ops.lastHolder.set(h.id, h.agent);
    var open = h.status === 'queued' || h.status === 'active';
    var mine = h.agent === ME;
    setVisible('[data-testid="note-button"]', true);
    setVisible('[data-testid="transfer-button"]', h.status === 'active' && (mine || SUPERVISOR));
    setVisible('[data-testid="whisper-button"]', SUPERVISOR && h.status === 'active' && !mine);
    setVisible('[data-testid="reassign-button"]', SUPERVISOR && open);
    setVisible('[data-testid="takeover-button"]', SUPERVISOR && open && !mine);
    outcome.hidden = !(h.status === 'active' && (mine || SUPERVISOR));
    if (!open) hideForms();
  }

  // ---- Operations ---------------------------------------------------------
  function textOf(f, name) {
    var field = f.querySelector('[name="' + name + '"]');
    return field ? field.value.trim() : '';
  }

  function after(f, handoff) {
    f.reset();
    f.hidden = true;
    ops.opener = null;
    if (handoff) SC.applyHandoff(handoff);
  }

  form('note').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var f = form('note'), text = textOf(f, 'text');
    if (!text) return;
    SC.runAction(async function () {
      var data = await api('POST', path('/notes'), { text: text });
      after(f);
      if (insertNote(data.note)) SC.scrollTranscript();
    });
  });

  var whisperForm = form('whisper');
  if (whisperForm && SUPERVISOR) whisperForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var text = textOf(whisperForm, 'text');
    if (!text) return;
    SC.runAction(async function () {
      var data = await api('POST', path('/whisper'), { text: text });
      after(whisperForm);
      if (insertNote(data.note)) SC.scrollTranscript();
    });
  });

  form('transfer').addEventListener('submit', function (ev) {
    ev.preventDefault();
    var f = form('transfer');
    var target = textOf(f, 'target');
    var body = { note: textOf(f, 'note') };
    if (target.indexOf('team:') === 0) body.skill_group = target.slice(5);
    else if (target.indexOf('agent:') === 0) body.agent = target.slice(6);
    else return;
    SC.runAction(async function () {
      var data = await api('POST', path('/transfer'), body);
      after(f, data.handoff);
      announce(t('The chat was transferred.'));
    });
  });

  var reassignForm = form('reassign');
  if (reassignForm && SUPERVISOR) reassignForm.addEventListener('submit', function (ev) {
    ev.preventDefault();
    var agent = textOf(reassignForm, 'agent');
    if (!agent) return;
    SC.runAction(async function () {
      var data = await api('POST', path('/reassign'), { agent: agent });
      after(reassignForm, data.handoff);
    });
  });

  var takeover = q('[data-testid="takeover-button"]');
  if (takeover && SUPERVISOR) takeover.addEventListener('click', function () {
    SC.runAction(async function () {
      var data = await api('POST', path('/takeover'), {});
      hideForms();
      SC.applyHandoff(data.handoff);
    });
  });

  // The Close button sends the outcome chosen here (disposition and tags, kept with the handoff).
  var outcome = q('[data-testid="close-outcome"]');
  SC.hooks.closeOutcome = function () {
    var tags = q('[data-testid="close-tags"]').value.split(/[,，、]/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s; }).slice(0, 10);
    var disposition = q('[data-testid="close-disposition"]').value;
    var result = { tags: tags };
    if (disposition) result.disposition = disposition;
    return result;
  };

  /** Agents a chat can go to (online or away), for the transfer and reassign lists. */
  async function loadTargets() {
    var data;
    try { data = await api('GET', '/transfer-targets'); } catch (e) { SC.showError(e.message); return; }
    var cur = SC.current();
    var holder = cur && cur.handoff ? cur.handoff.agent : null;
    var people = (data.agents || []).filter(function (a) { return a.username !== holder; });
    var group = q('[data-ops-agents]');
    group.textContent = '';
    var reassign = q('[data-testid="reassign-target"]');
    if (reassign) reassign.textContent = '';
    people.forEach(function (a) {
      var label = a.display_name + ' (' + t(a.status === 'online' ? 'Online' : 'Away') + ', ' + a.load + '/' + a.capacity + ')';
      var option = make('option', null, label);
      option.value = 'agent:' + a.username;
      group.appendChild(option);
      if (reassign) {
        var o = make('option', null, label);
        o.value = a.username;
        reassign.appendChild(o);
      }
    });
    if (SUPERVISOR && reassign && !people.length) {
      var none = make('option', null, t('No agent is online'));
      none.value = '';
      reassign.appendChild(none);
    }
  }

  // ---- Live ---------------------------------------------------------------
  var alerts = document.querySelector('[data-testid="whisper-alerts"]');

  function announce(text) {
    if (!alerts) return;
    var item = make('p', 'ops-alert', text);
    alerts.appendChild(item);
    setTimeout(function () { item.remove(); }, 15000);
  }

  /** A whisper for a chat not open now: said at once, with a button to open that chat. */
  function alertWhisper(note) {
    if (!alerts) return;
    var item = make('div', 'ops-alert ops-whisper');
    item.setAttribute('data-testid', 'whisper-alert');
    item.appendChild(make('strong', null, t('Whisper from {name}', { name: note.author_name })));
    item.appendChild(make('span', 'ops-alert-text', note.text));
    var open = make('button', 'btn btn-secondary', t('Open chat'));
    open.type = 'button';
    open.addEventListener('click', function () { item.remove(); SC.openHandoff(note.handoff_id); });
    item.appendChild(open);
    alerts.appendChild(item);
  }

  function onNote(note) {
    var cur = SC.current();
    if (cur && cur.conversationId === note.conversation_id && !cur.loading) {
      if (insertNote(note)) SC.scrollTranscript();
      if (note.kind === 'whisper' && note.to_agent === ME) announce(t('Whisper from {name}: {text}', { name: note.author_name, text: note.text }));
      return;
    }
    if (note.kind === 'whisper' && note.to_agent === ME) {
      alertWhisper(note);
      SC.markUnread(note.conversation_id);
    }
  }

  /** A chat that left this agent (transferred, reassigned, taken over) or went to another
   * agent leaves their list and their screen: an agent sees only their own chats and the
   * queues of their teams (the queue is read again to know which). */
  function onHandoff(h) {
    var before = ops.lastHolder.get(h.id);
    ops.lastHolder.set(h.id, h.agent);
    if (SUPERVISOR || h.agent === ME) return;
    var leftMe = before === ME;
    if (!leftMe && !(h.status === 'active' && h.agent)) return;
    var cur = SC.current();
    if (leftMe && h.agent) announce(t('Chat #{id} is now with {agent}.', { id: SC.shortId(h.conversation_id), agent: h.agent }));
    SC.reloadQueue().then(function () {
      if (cur && cur.id === h.id && SC.current() === cur && !SC.inQueue(h.id)) SC.closePane();
    });
  }

  // Supervisor: every agent's status and load.
  var agentList = document.querySelector('[data-testid="agent-list"]');
  var agentsTimer = null;

  async function loadAgents() {
    if (!agentList) return;
    try {
      var data = await api('GET', '/agents');
      agentList.textContent = '';
      (data.agents || []).forEach(function (a) {
        var li = make('li', 'ops-agent status-' + a.status);
        li.setAttribute('data-testid', 'agent-row');
        li.setAttribute('data-username', a.username);
        li.appendChild(make('span', 'ops-agent-name', a.username));
        li.appendChild(make('span', 'ops-agent-status',
          t(a.status === 'online' ? 'Online' : a.status === 'away' ? 'Away' : 'Offline')));
        li.appendChild(make('span', 'ops-agent-load', t('{load} of {capacity} chats', { load: a.load, capacity: a.capacity })));
        li.appendChild(make('span', 'ops-agent-skills', (a.skills || []).map(function (s) { return TEAMS[s] || s; }).join(', ')));
        agentList.appendChild(li);
      });
    } catch (e) { /* the queue's own errors are shown already */ }
  }

  function refreshAgentsSoon() {
    if (!agentList || agentsTimer) return;
    agentsTimer = setTimeout(function () { agentsTimer = null; loadAgents(); }, 300);
  }

  SC.hooks.onOpen.push(onOpen);
  SC.hooks.onMessage.push(function (msg) {
    if (msg.type === 'note' && msg.note) onNote(msg.note);
    else if (msg.type === 'handoff' && msg.handoff) { onHandoff(msg.handoff); refreshAgentsSoon(); }
    else if (msg.type === 'agent') refreshAgentsSoon();
  });
  loadAgents();
})();
