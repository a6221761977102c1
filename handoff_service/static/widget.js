/*
 * Embeddable chat widget: one script tag on any site adds a launcher button and the
 * chat window (our chat page in an iframe, so the conversation runs on our origin,
 * under our page's CSP, and the host page never sees the customer's words).
 *
 *   <script src="https://chat.example.com/widget.js" data-lang="zh-Hans" defer></script>
 *
 * Options (data-* on the script tag): data-lang (zh-Hans | zh-Hant | en; default: the
 * browser's language), data-position (right | left). The host site's origin must be
 * listed in CHAT_ALLOWED_ORIGINS, or the browser refuses to show the chat page framed.
 *
 * A customer signed in on the host site: the host page gives the widget its signed token
 * (the JWT of actions/accounts/identity.py), never in a URL (URLs land in logs):
 *   window.SupportBot = { customerToken: '...' };   // before the script tag, or later:
 *   window.SupportBot.setCustomerToken('...');        // (null: signed out)
 * The chat page asks for it when it loads ('supportbot:ready'); the widget answers with a
 * postMessage to our origin only, and the chat page takes it only from its parent on an
 * origin listed in CHAT_ALLOWED_ORIGINS.
 *
 * Styles are set through the CSSOM (element.style), which host pages' CSP allows,
 * and every text goes in through textContent / attributes only.
 */
(function () {
  'use strict';
  if (window.__supportbotWidget) return;  // the snippet pasted twice: one launcher
  window.__supportbotWidget = true;

  var script = document.currentScript;
  if (!script || !script.src) return;
  var base = new URL(script.src);
  var ORIGIN = base.origin;

  var LABELS = {
    'en': { open: 'Chat with us', close: 'Close chat', title: 'Customer support' },
    'zh-Hans': { open: '在线客服', close: '关闭对话', title: '在线客服' },
    'zh-Hant': { open: '線上客服', close: '關閉對話', title: '線上客服' }
  };

  function detectLang(tag) {
    var t = String(tag || '').toLowerCase();
    if (t.indexOf('zh') !== 0) return 'en';
    if (/hant|^zh-(tw|hk|mo)\b/.test(t)) return 'zh-Hant';
    return 'zh-Hans';
  }

  // The host page's settings and API: window.SupportBot (set before or after this script).
  var api = window.SupportBot && typeof window.SupportBot === 'object' ? window.SupportBot : {};
  window.SupportBot = api;
  var customerToken = typeof api.customerToken === 'string' ? api.customerToken : '';

  var lang = script.getAttribute('data-lang');
  if (!LABELS[lang]) lang = detectLang(navigator.language);
  var labels = LABELS[lang];
  var side = script.getAttribute('data-position') === 'left' ? 'left' : 'right';

  function css(el, styles) {
    for (var k in styles) if (Object.prototype.hasOwnProperty.call(styles, k)) el.style[k] = styles[k];
    return el;
  }

  var launcher = document.createElement('button');
  launcher.type = 'button';
  launcher.className = 'supportbot-launcher';
  launcher.setAttribute('data-testid', 'supportbot-launcher');
  launcher.setAttribute('aria-haspopup', 'dialog');
  launcher.setAttribute('aria-expanded', 'false');
  launcher.textContent = labels.open;
  css(launcher, {
    position: 'fixed', bottom: '20px', zIndex: '2147483000', padding: '12px 18px', border: '0',
    borderRadius: '24px', background: '#1565c0', color: '#fff', font: '600 15px/1.2 system-ui, sans-serif',
    cursor: 'pointer', boxShadow: '0 4px 14px rgba(0,0,0,.25)'
  });
  launcher.style[side] = '20px';

  var panel = document.createElement('div');
  panel.className = 'supportbot-panel';
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-label', labels.title);
  panel.setAttribute('data-testid', 'supportbot-panel');
  panel.hidden = true;
  css(panel, {
    position: 'fixed', bottom: '80px', zIndex: '2147483000', width: 'min(380px, calc(100vw - 24px))',
    height: 'min(600px, calc(100vh - 100px))', background: '#fff', borderRadius: '12px', overflow: 'hidden',
    boxShadow: '0 8px 30px rgba(0,0,0,.3)', flexDirection: 'column'
  });
  panel.style[side] = '12px';

  var bar = css(document.createElement('div'), {
    display: 'flex', justifyContent: 'flex-end', padding: '4px', background: '#1565c0'
  });
  var closeBtn = document.createElement('button');
  closeBtn.type = 'button';
  closeBtn.setAttribute('data-testid', 'supportbot-close');
  closeBtn.setAttribute('aria-label', labels.close);
  closeBtn.title = labels.close;
  closeBtn.textContent = '\u00d7';
  css(closeBtn, {
    border: '0', background: 'transparent', color: '#fff', font: '24px/1 system-ui, sans-serif',
    cursor: 'pointer', padding: '2px 10px'
  });
  bar.appendChild(closeBtn);
  panel.appendChild(bar);

  var frame = null;  // created on first open: no connection until the customer wants to chat

  function frameUrl() {
    // auth=1 tells the chat page to wait for a token by message; the token itself is no part of the URL.
    return ORIGIN + '/?embed=1&lang=' + encodeURIComponent(lang) + (customerToken ? '&auth=1' : '');
  }

  function open() {
    if (!frame) {
      frame = document.createElement('iframe');
      frame.src = frameUrl();
      frame.title = labels.title;
      frame.setAttribute('data-testid', 'supportbot-frame');
      css(frame, { border: '0', width: '100%', flex: '1 1 auto', display: 'block' });
      panel.appendChild(frame);
    }
    panel.hidden = false;
    panel.style.display = 'flex';
    launcher.setAttribute('aria-expanded', 'true');
    frame.focus();
  }

  function close() {
    panel.hidden = true;
    panel.style.display = 'none';
    launcher.setAttribute('aria-expanded', 'false');
    launcher.focus();
  }

  launcher.addEventListener('click', function () { if (panel.hidden) open(); else close(); });
  closeBtn.addEventListener('click', close);
  panel.addEventListener('keydown', function (ev) { if (ev.key === 'Escape') close(); });
  // Escape pressed inside the chat page (another origin) arrives as a message from it.
  window.addEventListener('message', function (ev) {
    if (ev.origin !== ORIGIN || !ev.data) return;
    if (ev.data.type === 'supportbot:close' && !panel.hidden) close();
    // The chat page asks for the signed-in customer's token: to our origin only, to our frame only.
    if (ev.data.type === 'supportbot:ready' && frame && ev.source === frame.contentWindow && customerToken) {
      frame.contentWindow.postMessage({ type: 'supportbot:token', token: customerToken }, ORIGIN);
    }
  });

  /** The host page signed the customer in (a token) or out (null): the next chat is theirs. */
  api.setCustomerToken = function (token) {
    var next = typeof token === 'string' ? token : '';
    if (next === customerToken) return;
    customerToken = next;
    if (frame) frame.src = frameUrl();  // an open chat starts again as (or without) the customer
  };

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
  }
  if (document.body) mount(); else document.addEventListener('DOMContentLoaded', mount);
})();
