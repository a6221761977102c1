"""The FAQ editor in a real browser (Debian's chromium via Playwright) over the real stack:
the try-it box, an import with bad rows whose Markdown answer the customer then sees
formatted, the live preview (HTML typed into it shown as text, not run), and a rollback from the
history's diff view, in the editor's languages."""
import uuid

import pytest

from tests.integration.test_browser import login, send  # noqa: F401
from tests.integration.test_staff_browser import browser, staff_page  # noqa: F401 - fixtures

pytestmark = [pytest.mark.integration, pytest.mark.browser]

TRY_WORDS = {
    "zh-Hans": dict(locale="zh-CN", title="试一试提问", answers="机器人用“invoice”回答："),
    "zh-Hant": dict(locale="zh-TW", title="試一試提問", answers="機器人用“invoice”回答："),
    "en": dict(locale="en-GB", title="Try a question", answers="The bot answers with “invoice”:"),
}


@pytest.mark.parametrize("language", list(TRY_WORDS))
def test_the_try_it_box_shows_what_the_bot_would_answer(stack, staff_page, language):
    from playwright.sync_api import expect

    words = TRY_WORDS[language]
    page = staff_page(words["locale"])
    login(page, stack.settings.web_url, "editor", "/kb/")
    page.get_by_test_id("try-link").click()
    expect(page.locator("main h1")).to_have_text(words["title"])
    page.get_by_test_id("try-question").fill("怎么开发票")
    page.get_by_test_id("try-submit").click()
    expect(page.get_by_test_id("try-outcome")).to_have_attribute("data-outcome", "answer")
    expect(page.get_by_test_id("try-outcome")).to_contain_text(words["answers"])
    expect(page.get_by_test_id("try-answer")).to_contain_text("发票")
    expect(page.locator('[data-testid="try-candidate"]').first).to_have_attribute("data-slug", "invoice")


def test_an_import_with_bad_rows_then_the_customer_sees_the_markdown_answer(stack, staff_page):
    from playwright.sync_api import expect

    web = stack.settings.web_url
    slug = f"quantum-{uuid.uuid4().hex[:8]}"
    csv = ("slug,questions_zh_hans,answer_zh_hans\n"
           f"{slug},营业厅能寄存行李吗,\"**行李寄存**办法：\n- 到前台登记\n- 最长寄存 `2` 小时\"\n"
           "bad slug!,问题,答案\n"
           "script-row,问题二,<script>alert(1)</script>\n")
    editor = staff_page("zh-CN")
    login(editor, web, "editor", "/kb/")
    editor.get_by_test_id("import-link").click()
    expect(editor.locator("main h1")).to_have_text("导入与导出")
    editor.get_by_test_id("import-file").set_input_files(
        {"name": "faqs.csv", "mimeType": "text/csv", "buffer": csv.encode("utf-8")})
    editor.get_by_test_id("import-submit").click()
    expect(editor.get_by_test_id("import-summary")).to_have_text("新建 1 条，更新 0 条，未变 0 条，拒绝 2 行。")
    rows = editor.get_by_test_id("import-error-row")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_have_attribute("data-line", "3")
    expect(rows.nth(1)).to_have_attribute("data-line", "4")
    expect(rows.nth(1)).to_contain_text("HTML")

    customer = staff_page("zh-CN")
    customer.goto(f"{web}/")
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()
    send(customer, "营业厅能寄存行李吗")
    answer = customer.locator(".msg.msg-bot .msg-text").last
    expect(answer.locator("strong")).to_have_text("行李寄存")
    expect(answer.locator("li")).to_have_count(2)
    expect(answer.locator("li").nth(1)).to_have_text("最长寄存 2 小时")
    expect(answer.locator("li code")).to_have_text("2")


def test_live_preview_then_a_rollback_from_the_history(stack, staff_page):
    from playwright.sync_api import expect

    web = stack.settings.web_url
    slug = f"rollback-{uuid.uuid4().hex[:8]}"
    editor = staff_page("en-GB")
    login(editor, web, "editor", "/kb/faqs/new")
    editor.locator('input[name="slug"]').fill(slug)
    editor.get_by_test_id("questions-en").fill("what is the rollback test plan")
    editor.get_by_test_id("answer-en").fill("The **first** answer")
    expect(editor.get_by_test_id("preview-en").locator("strong")).to_have_text("first")  # as typed
    editor.get_by_test_id("save-faq").click()
    expect(editor.get_by_test_id("saved-notice")).to_contain_text(slug)

    editor.goto(f"{web}/kb/?q={slug}")
    editor.locator(f'[data-testid="faq-row"][data-slug="{slug}"] [data-testid="edit-link"]').click()
    editor.get_by_test_id("answer-en").fill("The second answer <script>alert(1)</script>")
    expect(editor.get_by_test_id("preview-en")).to_contain_text("<script>alert(1)</script>")  # text, not run
    editor.get_by_test_id("answer-en").fill("The second answer")
    editor.get_by_test_id("save-faq").click()
    expect(editor.get_by_test_id("saved-notice")).to_contain_text(slug)

    editor.goto(f"{web}/kb/?q={slug}")
    editor.locator(f'[data-testid="faq-row"][data-slug="{slug}"] [data-testid="edit-link"]').click()
    editor.get_by_test_id("history-link").click()
    newest = editor.locator('[data-testid="history-row"][data-version="2"]')
    expect(newest.locator("del")).to_have_text("**first**")
    expect(newest.locator("ins")).to_have_text("second")
    editor.locator('[data-testid="history-row"][data-version="1"] [data-testid="rollback"]').click()
    expect(editor.get_by_test_id("saved-notice")).to_contain_text(slug)
    editor.goto(f"{web}/kb/?q={slug}")
    editor.locator(f'[data-testid="faq-row"][data-slug="{slug}"] [data-testid="edit-link"]').click()
    expect(editor.get_by_test_id("answer-en")).to_have_value("The **first** answer")
    expect(editor.get_by_test_id("history-link")).to_contain_text("3")


def test_an_unanswered_question_is_one_click_from_a_prefilled_new_faq(stack, staff_page, customer):
    from playwright.sync_api import expect

    from tests.integration.test_knowledge_base import UNKNOWN

    web = stack.settings.web_url
    assert customer.ask("卫星电话的资费怎么算")["text"].startswith(UNKNOWN["zh-Hans"])
    editor = staff_page("zh-TW")
    login(editor, web, "editor", "/kb/")
    editor.get_by_test_id("unanswered-link").click()
    expect(editor.locator("main h1")).to_have_text("未解答的問題")
    cluster = editor.locator('[data-testid="unanswered-cluster"]', has_text="卫星电话").first
    label = cluster.get_by_test_id("cluster-label").inner_text()
    cluster.get_by_test_id("create-from-question").click()
    expect(editor.get_by_test_id("questions-zh-Hans")).to_have_value(label)
    expect(editor.get_by_test_id("status")).to_have_value("draft")


def test_quick_reply_buttons_written_in_the_editor_appear_under_the_answer_and_lead_on(stack, staff_page):
    from playwright.sync_api import expect

    web = stack.settings.web_url
    slug = f"contract-{uuid.uuid4().hex[:8]}"
    editor = staff_page("zh-CN")
    login(editor, web, "editor", "/kb/faqs/new")
    editor.locator('input[name="slug"]').fill(slug)
    editor.get_by_test_id("questions-zh-Hans").fill("营业厅可以打印合同吗")
    editor.get_by_test_id("answer-zh-Hans").fill("可以，请携带身份证到前台打印。")
    editor.get_by_test_id("buttons-zh-Hans").fill("开发票 | faq:invoice\n重启 | /restart")
    editor.get_by_test_id("save-faq").click()
    expect(editor.get_by_test_id("form-errors")).to_contain_text("以“/”开头")  # refused, in Chinese
    expect(editor.get_by_test_id("buttons-zh-Hans")).to_have_value("开发票 | faq:invoice\n重启 | /restart")
    editor.get_by_test_id("buttons-zh-Hans").fill("开发票 | faq:invoice")
    editor.get_by_test_id("save-faq").click()
    expect(editor.get_by_test_id("saved-notice")).to_contain_text(slug)

    customer = staff_page("zh-CN")
    customer.goto(f"{web}/")
    expect(customer.get_by_test_id("chat-input")).to_be_enabled()
    send(customer, "营业厅可以打印合同吗")
    expect(customer.locator(".msg.msg-bot .msg-text").last).to_have_text("可以，请携带身份证到前台打印。")
    customer.locator(".quick-reply", has_text="开发票").last.click()
    expect(customer.locator(".msg.msg-bot .msg-text").last).to_contain_text("电子发票")
