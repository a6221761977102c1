"""The chat embedded in another site with the README's snippet, in a real browser: the
site is served from another origin (another local port, listed in CHAT_ALLOWED_ORIGINS);
a customer opens the launcher by keyboard, talks to the bot and to an agent."""
import re
import threading
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bot.settings import PROJECT_ROOT
from tests.integration.test_browser import TIMEOUT, browser  # noqa: F401  (the browser fixture)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

README_SNIPPET = re.compile(r"<!-- embed-snippet -->\s*```html\s*(.*?)```", re.S)
DOCUMENTED_URL = "https://chat.example.com"


def documented_snippet(web_url: str) -> str:
    snippet = README_SNIPPET.search((PROJECT_ROOT / "README.md").read_text()).group(1)
    assert DOCUMENTED_URL in snippet
    return snippet.replace(DOCUMENTED_URL, web_url)


@pytest.fixture
def other_site(stack, tmp_path):
    """A shop's page on its own origin, with the chat snippet pasted in."""
    web = stack.settings.web_url
    (tmp_path / "index.html").write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>Shop</title></head>"
        "<body><h1>Our shop</h1><p>Products…</p>\n" + documented_snippet(web) + "\n</body></html>",
        encoding="utf-8",
    )
    origin = stack.settings.embed_origins[0]
    port = urlsplit(origin).port
    server = ThreadingHTTPServer(("127.0.0.1", port), partial(_QuietHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
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
