/*
 * The small Markdown subset of knowledge-base answers, rendered for the chat page with
 * DOM calls only (createElement + textContent): no string of the message is ever parsed
 * as HTML, so a tag in a message shows as the text it is. What is not this subset, or is
 * broken Markdown (an unclosed **), shows as typed.
 *   **bold**  *italic*  `code`  [text](https://…)  lines starting "- " / "* " / "1. " are lists
 * Links go to http(s) and mailto only, open in a new tab, without the page as referrer.
 */
(function (global) {
  'use strict';

  var INLINE = /\*\*([^*\n]+?)\*\*|\*([^*\n]+?)\*|`([^`\n]+?)`|\[([^\]\n]+?)\]\(((?:https?:\/\/|mailto:)[^\s()]+)\)/g;
  var BULLET = /^\s*[-*]\s+(.*)$/;
  var NUMBERED = /^\s*\d{1,3}[.)]\s+(.*)$/;

  function inline(parent, text) {
    var last = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text)) !== null) {
      if (m.index > last) parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var el;
      if (m[1] !== undefined) { el = document.createElement('strong'); el.textContent = m[1]; }
      else if (m[2] !== undefined) { el = document.createElement('em'); el.textContent = m[2]; }
      else if (m[3] !== undefined) { el = document.createElement('code'); el.textContent = m[3]; }
      else {
        el = document.createElement('a');
        el.textContent = m[4];
        el.href = m[5];
        el.target = '_blank';
        el.rel = 'noopener noreferrer nofollow';
      }
      parent.appendChild(el);
      last = INLINE.lastIndex;
    }
    if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
  }

  /** A DocumentFragment of paragraphs and lists for ``text``. */
  function render(text) {
    var fragment = document.createDocumentFragment();
    var lines = String(text).split('\n');
    var block = null, kind = null;
    lines.forEach(function (line) {
      var bullet = BULLET.exec(line), numbered = bullet ? null : NUMBERED.exec(line);
      var want = bullet ? 'ul' : numbered ? 'ol' : line.trim() ? 'p' : null;
      if (want === null) { block = null; kind = null; return; }  // a blank line ends a block
      if (want !== kind || block === null) {
        block = document.createElement(want);
        fragment.appendChild(block);
        kind = want;
      } else if (want === 'p') {
        block.appendChild(document.createElement('br'));
      }
      if (want === 'p') { inline(block, line); return; }
      var li = document.createElement('li');
      inline(li, (bullet || numbered)[1]);
      block.appendChild(li);
    });
    return fragment;
  }

  global.SupportMarkdown = { render: render };
})(window);
