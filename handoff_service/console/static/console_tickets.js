/*
 * Agent console, desk (#7): callbacks and messages customers left instead of waiting.
 *
 * GET /tickets lists the open ones the server lets this agent see (their teams; a
 * supervisor every team); {type:'ticket'} on the websocket adds a new one and removes one
 * marked done elsewhere; after a reconnect the list is fetched again. The phone of a
 * callback and the personal data in a message come masked; "Reveal" asks why (the
 * server records the reason in the audit log) and shows the clear value in place only.
 * "Done" takes the ticket off everyone's list.
 *
 * Works through window.AgentConsole (console.js) and ConsolePrivacy (console_privacy.js).
 * Security: every text a customer wrote is set with textContent only.
 */
(function () {
  'use strict';

  var AC = window.AgentConsole;
  var privacy = window.ConsolePrivacy;
  var root = document.querySelector('[data-testid="tickets-panel"]');
  if (!AC || !privacy || !root) return;
  var t = AC.t, make = AC.make, api = AC.api;
  var LANG = document.documentElement.lang || 'en';
  var KINDS = { callback: t('Callback'), message: t('Message') };
  var TEAMS = { billing: t('Billing'), technical: t('Technical support'), sales: t('Sales'), general: t('General') };
  // Each language in its own script, as the language switcher shows them.
  var LANGUAGES = { 'zh-Hans': '简体中文', 'zh-Hant': '繁體中文', en: 'English' };

  var el = {
    heading: root.querySelector('#tickets-heading'),
    count: root.querySelector('[data-testid="ticket-count"]'),
    refresh: root.querySelector('[data-testid="tickets-refresh"]'),
    loading: root.querySelector('.tickets-loading'),
    list: root.querySelector('[data-testid="ticket-list"]'),
    empty: root.querySelector('[data-testid="tickets-empty"]')
  };
  var state = {
    tickets: new Map(),  // id -> ticket (open ones)
    items: new Map(),    // id -> <li>, kept while the ticket stays so a revealed value and focus survive
    seq: 0               // drops stale list responses
  };

  function path(ticket, suffix) { return '/tickets/' + encodeURIComponent(ticket.id) + suffix; }

  function created(ticket) {
    var when = AC.parseIso(ticket.created_at);
    var node = make('time', 'ticket-created', when ? when.toLocaleString(LANG, {
      month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }) : '');
    if (ticket.created_at) node.setAttribute('datetime', String(ticket.created_at));
    return node;
  }

  function field(dl, label, value) {
    dl.appendChild(make('dt', null, label));
    var dd = value instanceof Node ? value : make('dd', null, value);
    dl.appendChild(dd);
    return dd;
  }

  /** The callback's number, masked, with a Reveal that asks why (recorded). */
  function phoneField(dl, ticket) {
    var dd = make('dd', 'personal-data');
    var value = make('span', 'masked', ticket.phone);
    value.setAttribute('data-testid', 'ticket-phone');
    value.title = t('Personal data, masked');
    dd.appendChild(value);
    var button = make('button', 'btn btn-secondary reveal-button', t('Reveal'));
    button.type = 'button';
    button.setAttribute('data-testid', 'reveal-ticket-phone');
    button.setAttribute('aria-label', t('Reveal the phone number'));
    dd.appendChild(button);
    button.addEventListener('click', function () {
      var form = privacy.askReason(dd, button, function (reason) {
        AC.runAction(async function () {
          var data = await api('POST', path(ticket, '/phone'), { reason: reason });
          value.textContent = String(data.phone);
          value.className = 'revealed';
          value.removeAttribute('title');
          form.remove();
          button.remove();
        });
      });
    });
    field(dl, t('Phone'), dd);
  }

  function messageField(dl, ticket) {
    var segments = ticket.message_segments || [{ text: ticket.message }];
    var text = privacy.segmentsText('p', 'ticket-message', segments, async function (span, reason) {
      return (await api('POST', path(ticket, '/reveal'), { span: span, reason: reason })).value;
    });
    text.setAttribute('data-testid', 'ticket-message');
    var dd = make('dd');
    dd.appendChild(text);
    field(dl, t('Message'), dd);
  }

  function buildItem(ticket) {
    var li = make('li', 'ticket is-' + ticket.kind);
    li.setAttribute('data-testid', 'ticket');
    li.setAttribute('data-ticket-id', String(ticket.id));
    li.setAttribute('data-kind', String(ticket.kind));
    li.setAttribute('data-conversation-id', String(ticket.conversation_id));
    var headingId = 'ticket-' + ticket.id + '-title';
    li.setAttribute('aria-labelledby', headingId);
    var top = make('div', 'ticket-top');
    var title = make('h3', 'ticket-kind', KINDS[ticket.kind] || ticket.kind);
    title.id = headingId;
    top.appendChild(title);
    top.appendChild(make('span', 'ticket-team', TEAMS[ticket.skill_group] || ticket.skill_group));
    top.appendChild(make('span', 'ticket-language', LANGUAGES[ticket.language] || ticket.language));
    top.appendChild(created(ticket));
    li.appendChild(top);
    var dl = make('dl', 'ticket-fields');
    if (ticket.phone) phoneField(dl, ticket);
    if (ticket.preferred_time) field(dl, t('Preferred time'), ticket.preferred_time).setAttribute('data-testid', 'ticket-time');
    if (ticket.message) messageField(dl, ticket);
    li.appendChild(dl);
    var done = make('button', 'btn btn-primary ticket-done', t('Done'));
    done.type = 'button';
    done.setAttribute('data-testid', 'ticket-done');
    done.setAttribute('aria-describedby', headingId);
    done.addEventListener('click', function () { markDone(ticket); });
    li.appendChild(done);
    return li;
  }

  function sorted() {
    return Array.from(state.tickets.values()).sort(function (a, b) {
      var ta = AC.parseIso(a.created_at), tb = AC.parseIso(b.created_at);
      return ((ta ? ta.getTime() : 0) - (tb ? tb.getTime() : 0)) || (a.id - b.id);
    });
  }

  function render() {
    var tickets = sorted();
    state.items.forEach(function (li, id) {
      if (!state.tickets.has(id)) { li.remove(); state.items.delete(id); }
    });
    var child = el.list.firstElementChild;
    tickets.forEach(function (ticket) {
      var li = state.items.get(ticket.id);
      if (!li) { li = buildItem(ticket); state.items.set(ticket.id, li); }
      // An item already in place is not moved: moving it would take the focus out of it.
      if (li === child) child = child.nextElementSibling;
      else el.list.insertBefore(li, child);
    });
    el.count.textContent = tickets.length ? '(' + tickets.length + ')' : '';
    el.empty.hidden = tickets.length > 0;
  }

  function apply(ticket) {
    if (!ticket || ticket.id == null) return;
    if (ticket.status === 'open') {
      if (!state.tickets.has(ticket.id)) state.tickets.set(ticket.id, ticket);
    } else {
      removeKeepingFocus(ticket.id);
    }
    render();
  }

  /** A ticket leaves the list; focus that was in it goes to the next one's Done, else the heading. */
  function removeKeepingFocus(id) {
    var li = state.items.get(id);
    var hadFocus = li && li.contains(document.activeElement);
    state.tickets.delete(id);
    if (!hadFocus) return;
    var next = li.nextElementSibling || li.previousElementSibling;
    var target = next && next.querySelector('[data-testid="ticket-done"]');
    render();
    (target || el.heading).focus();
  }

  function markDone(ticket) {
    AC.runAction(async function () {
      var data = await api('POST', path(ticket, '/done'), {});
      apply(data.ticket);
    });
  }

  async function load() {
    var seq = ++state.seq;
    el.loading.hidden = false;
    try {
      var data = await api('GET', '/tickets');
      if (seq !== state.seq) return;
      var open = new Set();
      (data.tickets || []).forEach(function (ticket) {
        open.add(ticket.id);
        if (!state.tickets.has(ticket.id)) state.tickets.set(ticket.id, ticket);
      });
      Array.from(state.tickets.keys()).forEach(function (id) { if (!open.has(id)) removeKeepingFocus(id); });
      render();
    } catch (e) {
      AC.showError(e.message);
    } finally {
      if (seq === state.seq) el.loading.hidden = true;
    }
  }

  el.refresh.addEventListener('click', load);
  AC.on('message', function (msg) { if (msg.type === 'ticket') apply(msg.ticket); });
  AC.on('resync', load);  // the feed (re)connected: what happened meanwhile was not sent
  load();
})();
