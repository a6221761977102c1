"""The desk's operations in real browsers (issue #7): a customer's chat page and two console
pages, the demo agent's and the demo supervisor's. The agent sees the context panel and the
customer's HTML as text, writes a private note; the supervisor whispers (the agent sees it at
once); the agent transfers the chat to a team with a note; the supervisor takes it over,
reads the whole story with the notes, answers and closes it with an outcome and tags.
Every wait is on something appearing on a page."""
import pytest

from tests.integration.test_browser import TIMEOUT, browser, login, send  # noqa: F401  (fixture)

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCRIPT = "<script>alert('x')</script><b>宽带</b>一直断线"


@pytest.fixture
def three_pages(browser, stack):  # noqa: F811
    from playwright.sync_api import expect

    expect.set_options(timeout=TIMEOUT)
    contexts = [browser.new_context(viewport={"width": 390, "height": 780}, locale="zh-CN"),
                browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN"),
                browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")]
    errors, dialogs = [], []
    pages = [c.new_page() for c in contexts]
    for page in pages:
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    yield pages
    supervisor = pages[2]
    if supervisor.get_by_test_id("agent-status").is_visible():
        supervisor.get_by_test_id("agent-status").select_option("offline")  # the stack is shared
    for c in contexts:
        c.close()
    assert errors == [], f"JavaScript errors on the pages: {errors}"
    assert dialogs == [], f"customer or staff text ran as script: {dialogs}"


def test_note_whisper_transfer_and_takeover_across_three_pages(stack, three_pages, tmp_path):
    from playwright.sync_api import expect

    customer, agent, supervisor = three_pages
    web = stack.settings.web_url
    customer.goto(f"{web}/")
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()
    conversation = customer.evaluate("localStorage.getItem('supportbot.session_id')")
    bot = customer.locator(".msg.msg-bot .msg-text")
    send(customer, SCRIPT)
    expect(bot.last).to_be_visible()
    send(customer, "转人工")
    expect(bot.last).to_contain_text("正在为您转接人工客服")

    # The agent opens the chat: context panel, and the customer's HTML shown as text.
    login(agent, web, "agent", "/agent/")
    item = agent.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]')
    item.click()
    handoff_id = item.get_attribute("data-handoff-id")
    expect(agent.get_by_test_id("context-panel")).to_contain_text("human_handoff")
    transcript = agent.get_by_test_id("transcript")
    expect(transcript.locator(".actor-customer", has_text="<script>").first).to_contain_text(SCRIPT)
    expect(transcript.locator("script")).to_have_count(0)
    expect(transcript.locator("b")).to_have_count(0)
    agent.get_by_test_id("accept-button").click()
    expect(customer.locator(".notice").last).to_contain_text("人工客服 Demo Agent 已接入")

    # A private note (in Chinese: the console follows the browser), never shown to the customer.
    expect(agent.get_by_test_id("note-button")).to_have_text("备注")
    agent.get_by_test_id("note-button").click()
    agent.get_by_test_id("note-text").fill("<i>客户</i>已重启路由器")
    agent.get_by_test_id("note-save").press("Enter")
    note = transcript.locator('[data-testid="note"][data-note-kind="note"]')
    expect(note).to_contain_text("<i>客户</i>已重启路由器")

    # The supervisor sees the chat live with its agent and whispers; the agent sees it at once.
    login(supervisor, web, "supervisor", "/agent/")
    expect(supervisor.get_by_test_id("agent-list")).to_contain_text("agent")
    supervisor.locator(f'[data-testid="queue-item"][data-conversation-id="{conversation}"]').click()
    expect(supervisor.get_by_test_id("context-panel")).to_contain_text("human_handoff")
    expect(supervisor.get_by_test_id("transcript")).to_contain_text("已重启路由器")
    supervisor.get_by_test_id("whisper-button").click()
    supervisor.get_by_test_id("whisper-text").fill("可以先免掉本月月租<script>alert(2)</script>")
    supervisor.get_by_test_id("whisper-send").click()
    whisper = transcript.locator('[data-testid="note"][data-note-kind="whisper"]')
    expect(whisper).to_contain_text("可以先免掉本月月租<script>alert(2)</script>")
    expect(whisper).to_contain_text("Demo Supervisor")
    # Only what the person wrote reaches the customer: no note, no whisper.
    expect(customer.locator(".msg", has_text="已重启路由器")).to_have_count(0)
    expect(customer.locator(".msg", has_text="免掉本月月租")).to_have_count(0)

    # The agent transfers to the technical team with a note, with the keyboard alone.
    agent.get_by_test_id("transfer-button").focus()
    agent.keyboard.press("Enter")
    expect(agent.get_by_test_id("transfer-target")).to_be_focused()
    agent.get_by_test_id("transfer-target").select_option("team:technical")
    agent.get_by_test_id("transfer-note").fill("线路问题，需要技术支持")
    agent.get_by_test_id("transfer-submit").click()
    expect(customer.get_by_text("转接给技术支持团队的同事", exact=False)).to_be_visible()
    # The demo agent serves every team, so the chat waits in their queue again, now technical.
    expect(item).to_contain_text("排队中")

    # The supervisor takes it over and has the whole story: transcript, notes, transfer note.
    takeover = supervisor.get_by_test_id("takeover-button")
    expect(takeover).to_be_visible()
    takeover.click()
    expect(customer.locator(".notice").last).to_contain_text("Demo Supervisor")
    sup_transcript = supervisor.get_by_test_id("transcript")
    expect(sup_transcript.locator('[data-note-kind="transfer"]')).to_contain_text("线路问题，需要技术支持")
    expect(sup_transcript.locator('[data-note-kind="note"]')).to_contain_text("已重启路由器")
    expect(sup_transcript.locator(".actor-customer", has_text="<script>").first).to_contain_text(SCRIPT)
    # It left the agent's list and screen: an agent sees only their own chats and their queues.
    expect(item).to_have_count(0)
    expect(agent.locator(".no-selection")).to_be_visible()

    supervisor.screenshot(path=str(tmp_path / "supervisor.png"))
    agent.screenshot(path=str(tmp_path / "agent.png"))
    supervisor.get_by_test_id("reply-input").fill("您好，我是主管，已经为您安排技术人员")
    supervisor.get_by_test_id("reply-input").press("Enter")
    expect(customer.locator(".msg.msg-agent").last).to_contain_text("已经为您安排技术人员")
    supervisor.get_by_test_id("close-disposition").select_option("resolved")
    supervisor.get_by_test_id("close-tags").fill("宽带，路由器")
    supervisor.get_by_test_id("close-button").click()
    expect(bot.last).to_contain_text("人工客服已结束对话")
    closed = supervisor.request.get(f"{web}/agent/api/handoffs/{handoff_id}").json()["handoff"]
    assert (closed["status"], closed["agent"], closed["disposition"], closed["tags"]) == (
        "closed", "supervisor", "resolved", ["宽带", "路由器"])
