/*
 * Agent console, privacy (#14): personal data shown masked, revealed with a reason.
 *
 * The server sends transcript lines with a customer's phone, ID, card, e-mail or
 * address masked, and `segments` that number each masked value (no clear value in
 * them). "Reveal" asks why; the server records the reason in the audit log and
 * returns the clear value, which is shown in place and kept nowhere else (reopening
 * the chat shows it masked again). The same form serves the context panel's phone.
 *
 * console.js calls ConsolePrivacy.init({api, t, runAction}) and, for a line with
 * segments, ConsolePrivacy.lineText(line, handoffId); console_tickets.js shows a ticket's
 * message with segmentsText. All text goes in as textContent.
 */
(function () {
  'use strict';

  var deps = null;  // {api, t, runAction} from console.js

  function t(message, values) { return deps ? deps.t(message, values) : message; }

  function make(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = String(text);
    return node;
  }

  /**
   * Ask for the reason of a reveal under `container`: `trigger` (the Reveal button) is
   * hidden while the form is up; `submit(reason)` is called with the trimmed reason.
   */
  function askReason(container, trigger, submit) {
    trigger.hidden = true;
    var form = make('form', 'reveal-form');
    var input = make('input');
    input.required = true;
    input.minLength = 3;
    input.maxLength = 200;
    input.placeholder = t('Why do you need it? (recorded)');
    input.setAttribute('aria-label', t('Reason for revealing'));
    input.setAttribute('data-testid', 'reveal-reason');
    var ok = make('button', 'btn btn-primary', t('Show'));
    ok.type = 'submit';
    ok.setAttribute('data-testid', 'reveal-submit');
    var cancel = make('button', 'btn btn-secondary', t('Cancel'));
    cancel.type = 'button';
    form.appendChild(input);
    form.appendChild(ok);
    form.appendChild(cancel);
    container.appendChild(form);
    input.focus();
    cancel.addEventListener('click', function () { form.remove(); trigger.hidden = false; trigger.focus(); });
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var reason = input.value.trim();
      if (!reason) { input.focus(); return; }
      submit(reason);
    });
    return form;
  }

  /**
   * One masked value with its Reveal button: `reveal(reason)` asks the server (which
   * records the reason) and resolves to the clear value. No button without `reveal`.
   */
  function maskedValue(segment, reveal) {
    var wrap = make('span', 'personal-data in-line');
    var value = make('span', 'masked', segment.text);
    value.setAttribute('data-testid', 'masked-value');
    value.setAttribute('data-kind', String(segment.kind || ''));
    value.title = t('Personal data, masked');
    wrap.appendChild(value);
    if (!reveal || !deps) return wrap;
    var button = make('button', 'btn btn-secondary reveal-button', t('Reveal'));
    button.type = 'button';
    button.setAttribute('data-testid', 'reveal-span');
    wrap.appendChild(button);
    button.addEventListener('click', function () {
      var form = askReason(wrap, button, function (reason) {
        deps.runAction(async function () {
          value.textContent = String(await reveal(reason));
          value.className = 'revealed';
          value.removeAttribute('title');
          form.remove();
          button.remove();
        });
      });
    });
    return wrap;
  }

  /**
   * Text given as `segments` (plain parts and numbered masked values) in a `tag` element,
   * each masked value revealable through `revealSpan(spanNumber, reason)` when given.
   */
  function segmentsText(tag, className, segments, revealSpan) {
    var node = make(tag, className);
    (segments || []).forEach(function (segment) {
      if (segment && typeof segment.span === 'number') {
        node.appendChild(maskedValue(segment, revealSpan && function (reason) { return revealSpan(segment.span, reason); }));
      } else if (segment) node.appendChild(document.createTextNode(String(segment.text || '')));
    });
    return node;
  }

  /** A line's text with each masked value revealable: a <p class="line-text">. */
  function lineText(line, handoffId) {
    var reveal = handoffId == null ? null : async function (span, reason) {
      var data = await deps.api('POST', '/handoffs/' + encodeURIComponent(handoffId) + '/lines/' +
                                encodeURIComponent(line.id) + '/reveal', { span: span, reason: reason });
      return data.value;
    };
    return segmentsText('p', 'line-text', line.segments, reveal);
  }

  window.ConsolePrivacy = {
    init: function (d) { deps = d; },
    askReason: askReason,
    segmentsText: segmentsText,
    lineText: lineText
  };
})();
