"""The chat embedded in another site with the README's snippet, in a real browser: the
site is served from another origin (another local port, listed in CHAT_ALLOWED_ORIGINS);
a customer opens the launcher by keyboard, talks to the bot and to an agent. A site whose
customer is signed in gives the widget the customer's token; a token from anyone else (a
frame of another origin on the same page) is ignored."""
import json
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.test_account_verification import accounts, login_token  # noqa: F401  (fixture)
from tests.integration.test_accounts import LANGUAGES
from tests.integration.test_browser import TIMEOUT, browser  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

README_SNIPPET = re.compile(r"<!-- embed-snippet -->\s*```html\s*(.*?)```", re.S)
SIGNED_IN_SNIPPET = re.compile(r"<!-- embed-signed-in-snippet -->\s*```html\s*(.*?)```", re.S)
DOCUMENTED_URL = "https://chat.example.com"
DOCUMENTED_TOKEN = "TOKEN-FOR-THE-SIGNED-IN-CUSTOMER"


def documented_snippet(web_url: str, pattern=README_SNIPPET) -> str:
    snippet = pattern.search((PROJECT_ROOT / "README.md").read_text()).group(1)
    assert DOCUMENTED_URL in snippet
    return snippet.replace(DOCUMENTED_URL, web_url)


def page_html(body: str) -> str:
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'><title>Shop</title></head>"
            "<body><h1>Our shop</h1><p>Products…</p>\n" + body + "\n</body></html>")


def serve(directory: Path, port: int):
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_QuietHandler, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture
def other_site(stack, tmp_path):
    """A shop's page on its own origin, with the chat snippet pasted in."""
    (tmp_path / "index.html").write_text(page_html(documented_snippet(stack.settings.web_url)), encoding="utf-8")
    origin = stack.settings.embed_origins[0]
    server = serve(tmp_path, urlsplit(origin).port)  # tests may add pages to tmp_path
    yield origin
    server.shutdown()
    server.server_close()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.mark.parametrize("locale, words", [
    ("zh-CN", dict(launcher="在线客服", hello="你好", greeting="您好！我是智能客服", handoff="转人工",
                   queued="正在为您转接人工客服", joined="人工客服 Demo Agent 已接入")),
    ("zh-TW", dict(launcher="線上客服", hello="您好", greeting="您好！我是智能客服", handoff="轉人工",
                   queued="正在為您轉接人工客服", joined="人工客服 Demo Agent 已接入")),
    ("en-GB", dict(launcher="Chat with us", hello="hello", greeting="Hello! I'm the support assistant",
                   handoff="talk to a human", queued="I'm connecting you to a human agent",
                   joined="Demo Agent from our support team has joined")),
], ids=["zh-Hans", "zh-Hant", "en"])
def test_chat_embedded_on_another_origin_holds_a_conversation_with_a_handoff(
        browser, stack, other_site, agent, locale, words):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale=locale)
    errors = []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{other_site}/index.html")
        launcher = page.get_by_test_id("supportbot-launcher")
        expect(launcher).to_have_text(words["launcher"])  # in the browser's language
        launcher.focus()
        page.keyboard.press("Enter")  # usable without a mouse
        expect(launcher).to_have_attribute("aria-expanded", "true")
        chat = page.frame_locator('[data-testid="supportbot-frame"]')
        expect(chat.get_by_test_id("chat-input")).to_be_enabled()
        frame = next(f for f in page.frames if f.url.startswith(stack.settings.web_url))
        conversation = frame.evaluate("localStorage.getItem('supportbot.session_id')")

        chat.get_by_test_id("chat-input").fill(words["hello"])
        chat.get_by_test_id("chat-input").press("Enter")
        bot = chat.locator(".msg.msg-bot .msg-text")
        expect(bot.last).to_contain_text(words["greeting"])
        # Text that looks like HTML stays text inside the widget.
        chat.get_by_test_id("chat-input").fill("<b>bold?</b>")
        chat.get_by_test_id("chat-input").press("Enter")
        expect(chat.locator(".msg.msg-user .msg-text").last).to_have_text("<b>bold?</b>")
        expect(chat.locator(".msg.msg-user b")).to_have_count(0)

        chat.get_by_test_id("chat-input").fill(words["handoff"])
        chat.get_by_test_id("chat-input").press("Enter")
        expect(bot.last).to_contain_text(words["queued"])
        handoff = agent.next_event(lambda e: e["type"] == "handoff"
                                   and e["handoff"]["conversation_id"] == conversation)["handoff"]
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/accept").status_code == 200
        expect(chat.locator(".notice").last).to_contain_text(words["joined"])
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/messages", {"text": "<i>OK</i> 123"}).status_code == 202
        agent_bubble = chat.locator(".msg.msg-agent").last
        expect(agent_bubble).to_contain_text("<i>OK</i> 123")
        expect(agent_bubble).to_contain_text("Demo Agent")
        assert agent.post(f"/agent/api/handoffs/{handoff['id']}/close").status_code == 200

        # Escape inside the chat closes the window and gives the focus back to the launcher.
        chat.get_by_test_id("chat-input").press("Escape")
        expect(page.get_by_test_id("supportbot-panel")).to_be_hidden()
        expect(launcher).to_be_focused()
        expect(launcher).to_have_attribute("aria-expanded", "false")
    finally:
        context.close()
    assert errors == []


# ---------------------------------------------------------------- signed-in customers
# A frame of another origin (an advert, say) on the shop's page, sending its own token to
# every other frame on the page, as long as the page is open.
FORGER = """<!DOCTYPE html><html><body><p data-testid="forged">0</p><script>
var sent = 0;
setInterval(function () {
  for (var i = 0; i < parent.frames.length; i++) {
    if (parent.frames[i] === window) continue;
    parent.frames[i].postMessage({type: 'supportbot:token', token: %s}, '*');
    document.querySelector('p').textContent = String(++sent);
  }
}, 20);
</script></body></html>"""


@pytest.fixture
def forger(tmp_path_factory):
    """The origin (not in CHAT_ALLOWED_ORIGINS) of a page that forges tokens; write_forger(token)."""
    directory = tmp_path_factory.mktemp("forger")
    server = serve(directory, 0)  # any free port
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    yield origin, lambda token: (directory / "ad.html").write_text(FORGER % json.dumps(token), encoding="utf-8")
    server.shutdown()
    server.server_close()


def open_chat(page):
    from playwright.sync_api import expect

    page.get_by_test_id("supportbot-launcher").click()
    chat = page.frame_locator('[data-testid="supportbot-frame"]')
    expect(chat.get_by_test_id("chat-input")).to_be_enabled()
    return chat


def ask(chat, text):
    chat.get_by_test_id("chat-input").fill(text)
    chat.get_by_test_id("chat-input").press("Enter")


def test_a_customer_signed_in_on_the_embedding_site_is_recognised_and_no_other_frame_can_sign_in(
        browser, stack, other_site, tmp_path, accounts, forger):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    en, zh = LANGUAGES["en"], LANGUAGES["zh-Hans"]
    customer = login_token(stack, accounts.verify(en["phone"], en["pin"]).id)
    victim = login_token(stack, accounts.verify(zh["phone"], zh["pin"]).id)
    forger_origin, write_forger = forger
    write_forger(victim)
    ad = f'<iframe src="{forger_origin}/ad.html" title="ad" data-testid="ad"></iframe>'
    # The shop's page for a signed-in customer: README's snippet with the customer's token.
    signed_in = documented_snippet(stack.settings.web_url, SIGNED_IN_SNIPPET)
    assert DOCUMENTED_TOKEN in signed_in
    (tmp_path / "account.html").write_text(page_html(ad + signed_in.replace(DOCUMENTED_TOKEN, customer)), encoding="utf-8")
    # A page whose chat waits for a token its parent never gives, while the ad keeps sending one.
    (tmp_path / "visitor.html").write_text(page_html(
        ad + f'<iframe src="{stack.settings.web_url}/?embed=1&amp;auth=1&amp;lang=en" title="chat" '
             'data-testid="supportbot-frame"></iframe>'), encoding="utf-8")

    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="en-GB")
    errors, requested = [], []
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requested.append(r.url))
    try:
        page.goto(f"{other_site}/account.html")
        chat = open_chat(page)
        expect(page.frame_locator('[data-testid="ad"]').get_by_test_id("forged")).not_to_have_text("0")
        ask(chat, en["balance_q"])
        bot = chat.locator(".msg.msg-bot .msg-text")
        expect(bot.last).to_contain_text(en["balance"])  # no phone number, no PIN asked
        expect(bot.last).to_contain_text(en["name"])
        expect(chat.locator(".msg.msg-bot .msg-text", has_text=en["asks_phone"])).to_have_count(0)
        expect(chat.locator(".msg.msg-bot .msg-text", has_text=zh["name"])).to_have_count(0)
        assert not any(customer in url or victim in url for url in requested)  # never in a URL

        # Signed out on the shop: the chat starts again, as a visitor.
        page.evaluate("window.SupportBot.setCustomerToken(null)")
        expect(chat.locator(".msg.msg-bot")).to_have_count(0)
        expect(chat.get_by_test_id("chat-input")).to_be_enabled()
        ask(chat, en["balance_q"])
        expect(bot.last).to_contain_text(en["asks_phone"])

        # Only the ad offers a token (for 5 s, while the chat waits for its parent's): refused.
        page.goto(f"{other_site}/visitor.html")
        ad_frame = page.frame_locator('[data-testid="ad"]').get_by_test_id("forged")
        expect(ad_frame).not_to_have_text("0")
        chat = page.frame_locator('[data-testid="supportbot-frame"]')
        expect(chat.get_by_test_id("chat-input")).to_be_enabled()
        assert int(ad_frame.text_content()) > 10  # the chat heard many a forged token meanwhile
        ask(chat, en["balance_q"])
        expect(chat.locator(".msg.msg-bot .msg-text").last).to_contain_text(en["asks_phone"])
        expect(chat.locator(".msg.msg-bot .msg-text", has_text=zh["name"])).to_have_count(0)
    finally:
        context.close()
    assert errors == []
