// The wallboard: drawn from the first snapshot, then from each one the server pushes
// over the websocket (no reload). Waits tick locally between pushes.
(function () {
  'use strict';
  var root = document.querySelector('[data-testid=wallboard]');
  var labels = JSON.parse(root.dataset.labels);
  var state = JSON.parse(document.getElementById('wallboard-initial').textContent);
  var receivedAt = Date.now();

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined) return labels.none;
    seconds = Math.max(0, Math.round(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    return m + ':' + (s < 10 ? '0' : '') + s;
  }
  function pct(v) { return v === null || v === undefined ? '—' : Math.round(v * 100) + '%'; }

  function draw() {
    var elapsed = (Date.now() - receivedAt) / 1000;
    document.querySelector('[data-testid=wb-waiting]').textContent = state.waiting;
    document.querySelector('[data-testid=wb-service-level]').textContent = pct(state.service_level_last_hour);
    document.querySelector('[data-testid=wb-bot]').textContent = state.bot_conversations;
    document.querySelector('[data-testid=wb-online]').textContent = state.agents_by_status.online;
    document.querySelector('[data-testid=wb-as-of]').textContent = state.as_of;
    var queues = document.querySelector('[data-testid=wb-queues]');
    queues.textContent = '';
    if (!state.queues.length) {
      var empty = el('tr'); var td = el('td', labels.nobody); td.colSpan = 5; empty.appendChild(td); queues.appendChild(empty);
    }
    state.queues.forEach(function (q) {
      var tr = el('tr'); tr.dataset.testid = 'wb-queue'; tr.dataset.skillGroup = q.skill_group; tr.dataset.language = q.language;
      [q.skill_group, q.language, q.waiting, duration(q.longest_wait + elapsed), duration(q.expected_wait)].forEach(function (v) {
        tr.appendChild(el('td', v));
      });
      queues.appendChild(tr);
    });
    var agents = document.querySelector('[data-testid=wb-agents]');
    agents.textContent = '';
    state.agents.forEach(function (a) {
      var tr = el('tr', null, 'status-' + a.status); tr.dataset.testid = 'wb-agent'; tr.dataset.agent = a.agent;
      [a.agent, labels[a.status] || a.status, a.chats + ' / ' + a.capacity].forEach(function (v) { tr.appendChild(el('td', v)); });
      agents.appendChild(tr);
    });
    var alerts = document.querySelector('[data-testid=wb-alerts]');
    alerts.textContent = '';
    state.alerts.forEach(function (a) {
      var div = el('div', (labels[a.kind] || a.kind) + (a.skill_group ? ' · ' + a.skill_group + ' ' + a.language : ''), 'alert');
      div.dataset.testid = 'wb-alert'; div.dataset.kind = a.kind;
      alerts.appendChild(div);
    });
  }

  function connect() {
    var ws = new WebSocket((location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/dashboard/ws');
    ws.onmessage = function (m) {
      var data = JSON.parse(m.data);
      if (data.type === 'wallboard') { state = data.wallboard; receivedAt = Date.now(); draw(); }
    };
    ws.onclose = function () { setTimeout(connect, 3000); };
  }
  draw();
  setInterval(draw, 1000);
  connect();
})();
