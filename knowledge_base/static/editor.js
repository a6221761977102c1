/* Live preview of Markdown answers in the FAQ edit form. The server renders the preview
 * (knowledge_base/markdown.py: raw HTML off, unsafe links refused), so the page shows
 * exactly what it shows elsewhere; requests are spaced while the editor types. */
(function () {
  'use strict';
  var areas = document.querySelectorAll('textarea[data-preview]');
  Array.prototype.forEach.call(areas, function (area) {
    var target = document.getElementById(area.getAttribute('data-preview'));
    var timer = null, sent = 0;
    function update() {
      var mine = ++sent;
      var body = new URLSearchParams();
      body.set('text', area.value);
      fetch('/kb/preview', { method: 'POST', body: body, credentials: 'same-origin' })
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          if (mine !== sent) return;  // a newer text is on its way
          target.innerHTML = html;  // rendered by the server from escaped text
          target.setAttribute('data-rendered', String(mine));
        })
        .catch(function () { /* the preview is a help; the form still saves */ });
    }
    area.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(update, 250);
    });
  });
})();
