"""The FAQ editor's bulk, unanswered, overlap, preview and filter pages over the real web
service (aiohttp test server, real database), as an editor uses them."""
import io

import aiohttp
import openpyxl

from knowledge_base.storage import FaqDetails, FaqRepository
from knowledge_base.unanswered import UnansweredRepository
from tests.test_knowledge_transfer import GOOD, csv_bytes
from tests.test_web import client, login, settings  # noqa: F401 - fixtures

PAY = {"zh-Hans": ["怎么交话费", "缴费方式"], "en": ["How can I pay my bill"]}


def upload(data: bytes, filename: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", data, filename=filename, content_type="application/octet-stream")
    return form


async def test_import_reports_bad_rows_by_line_and_imports_the_good_ones(client, engine):
    await login(client, "agent")
    assert (await client.post("/kb/import", data=upload(csv_bytes(GOOD), "x.csv"))).status == 403
    await login(client, "editor")
    assert "import-form" in await (await client.get("/kb/import")).text()
    rows = GOOD + [{"slug": "evil", "questions_en": "q", "answer_en": "<script>alert(1)</script>"},
                   {"slug": "empty-answer", "questions_en": "q"}]
    r = await client.post("/kb/import", data=upload(csv_bytes(rows), "faqs.csv"))
    page = await r.text()
    assert r.status == 200
    assert "2 created, 0 updated, 0 unchanged, 2 rows refused." in page
    assert 'data-line="4"' in page and 'data-line="5"' in page and "HTML tags are not allowed" in page
    assert "<script>alert(1)</script>" not in page  # the refused row's text is not echoed anyway
    assert sorted(f.slug for f in FaqRepository(engine).all()) == ["pay-bill", "store-hours"]
    again = await (await client.post("/kb/import", data=upload(csv_bytes(rows), "faqs.csv"))).text()
    assert "0 created, 0 updated, 2 unchanged, 2 rows refused." in again


async def test_a_file_that_cannot_be_imported_says_why_and_changes_nothing(client, engine):
    await login(client, "editor")
    r = await client.post("/kb/import", data=upload(b"question,answer\nq,a\n", "faqs.csv"))
    assert r.status == 400 and "Nothing was imported." in await r.text() and "unknown column" in await r.text()
    r = await client.post("/kb/import", data={"nothing": "here"})
    assert r.status == 400 and "Choose a CSV or Excel file" in await r.text()
    assert FaqRepository(engine).count() == 0


async def test_export_downloads_every_faq_as_csv_and_excel(client, engine):
    repo = FaqRepository(engine)
    repo.upsert("pay", {"zh-Hans": "微信"}, PAY, details=FaqDetails(status="draft", tags=("bill",)))
    await login(client, "editor")
    r = await client.get("/kb/export.csv")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
    assert 'filename="faqs.csv"' in r.headers["Content-Disposition"]
    text = (await r.read()).decode("utf-8-sig")
    assert "pay,draft" in text and "怎么交话费\n缴费方式" in text
    r = await client.get("/kb/export.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(await r.read())).active
    assert [c.value for c in sheet[2]][:2] == ["pay", "draft"]


async def test_unanswered_questions_are_grouped_and_each_group_prefills_a_new_faq(client, engine):
    unanswered = UnansweredRepository(engine)
    for q in ["怎么开通国际漫游", "国际漫游怎么开通", "怎么开通国际漫游", "<b>宽带</b>多久能装好"]:
        unanswered.record(q, "zh-Hans", "dont_know", "c")
    await login(client, "editor")
    page = await (await client.get("/kb/unanswered")).text()
    assert page.count('data-testid="unanswered-cluster"') == 2
    assert '<td data-testid="cluster-count">3</td>' in page
    assert "<b>宽带</b>" not in page and "&lt;b&gt;宽带&lt;/b&gt;" in page  # escaped
    assert "/kb/new?question=%E6%80%8E%E4%B9%88%E5%BC%80%E9%80%9A%E5%9B%BD%E9%99%85%E6%BC%AB%E6%B8%B8" in page \
        or "/kb/new?question=%E5%9B%BD%E9%99%85" in page
    form = await (await client.get("/kb/new", params={"question": "国际漫游怎么开通"})).text()
    assert '<textarea name="questions_zh_hans" rows="3" data-testid="questions-zh-Hans">国际漫游怎么开通</textarea>' in form
    assert '<option value="draft" selected>' in form  # a new entry from a question starts as a draft
    form = await (await client.get("/kb/new", params={"question": "can I use eSIM"})).text()
    assert 'data-testid="questions-en">can I use eSIM</textarea>' in form
    empty = await (await client.get("/kb/unanswered", params={"language": "en"})).text()
    assert 'data-testid="no-unanswered"' in empty


async def test_saving_an_faq_that_answers_the_same_questions_as_another_warns(client, engine):
    repo = FaqRepository(engine)
    repo.upsert("pay", {"zh-Hans": "微信"}, PAY)
    await login(client, "editor")
    form = {"slug": "pay-again", "answer_zh_hans": "支付宝", "questions_zh_hans": "怎么交话费", "status": "published"}
    r = await client.post("/kb/faqs/new", data=form, allow_redirects=False)
    assert r.status == 303 and "overlap=pay" in r.headers["Location"]
    page = await (await client.get(r.headers["Location"])).text()
    assert 'data-testid="overlap-warning"' in page and "“pay-again” and “pay”" in page
    overlaps = await (await client.get("/kb/overlaps")).text()
    assert overlaps.count('data-testid="overlap-row"') == 1
    distinct = {"slug": "hours", "answer_zh_hans": "9 点", "questions_zh_hans": "营业厅几点开门", "status": "published"}
    r = await client.post("/kb/faqs/new", data=distinct, allow_redirects=False)
    assert r.headers["Location"] == "/kb/?saved=hours"


async def test_html_in_the_form_is_refused_and_markdown_is_previewed_safely(client, engine):
    await login(client, "editor")
    r = await client.post("/kb/faqs/new", data={"slug": "x-y", "answer_en": "<img src=x onerror=alert(1)>",
                                                "questions_en": "q"})
    assert r.status == 400 and "HTML tags are not allowed" in await r.text()
    assert FaqRepository(engine).count() == 0
    preview = await (await client.post("/kb/preview", data={"text": "**Hi** <script>x</script>"})).text()
    assert preview == "<p><strong>Hi</strong> &lt;script&gt;x&lt;/script&gt;</p>\n"


async def test_the_list_filters_by_status_and_category_and_keeps_them_across_pages(client, engine):
    repo = FaqRepository(engine)
    for i in range(45):
        repo.upsert(f"bill-{i:02d}", {"en": "a"}, {"en": [f"question {i}"]},
                    details=FaqDetails(status="draft" if i % 2 else "published", category="bills"))
    repo.upsert("roam", {"en": "a"}, {"en": ["roaming"]}, details=FaqDetails(category="travel"))
    await login(client, "editor")
    page = await (await client.get("/kb/", params={"status": "published", "category": "bills"})).text()
    assert "(23)" in page and 'data-slug="bill-01"' not in page and 'data-slug="roam"' not in page
    assert "status=published&amp;category=bills&amp;page=2" in page
    page = await (await client.get("/kb/", params={"category": "travel"})).text()
    assert "(1)" in page and 'data-slug="roam"' in page
    page = await (await client.get("/kb/", params={"status": "archived"})).text()
    assert "No FAQ matches these filters." in page


async def test_the_new_pages_speak_traditional_and_simplified_chinese(client, engine):
    repo = FaqRepository(engine)
    faq_id = repo.upsert("pay", {"zh-Hans": "微信"}, PAY)
    repo.upsert("pay", {"zh-Hans": "支付宝"}, PAY)
    UnansweredRepository(engine).record("卫星电话", "zh-Hans", "dont_know", "c")
    await login(client, "editor")
    pages = {"/kb/import": ("匯入與匯出", "导入与导出"), "/kb/unanswered": ("未解答的問題", "未解答的问题"),
             f"/kb/faqs/{faq_id}/history": ("還原此版本", "恢复此版本"), "/kb/try?q=怎么交话费": ("試一試提問", "试一试提问"),
             "/kb/overlaps": ("重複的常見問題", "重复的常见问题")}
    for path, (traditional, simplified) in pages.items():
        assert traditional in await (await client.get(path, headers={"Accept-Language": "zh-TW"})).text(), path
        assert simplified in await (await client.get(path, headers={"Accept-Language": "zh-CN"})).text(), path


async def test_why_a_row_was_refused_is_said_in_the_editors_language(client, engine):
    await login(client, "editor")
    rows = [{"slug": "ok-row", "questions_en": "q", "answer_en": "a"}, {"slug": "no-answer", "questions_en": "q"}]
    page = await (await client.post("/kb/import", data=upload(csv_bytes(rows), "x.csv"),
                                    headers={"Accept-Language": "zh-TW"})).text()
    assert "沒有任何語言的答案" in page and "新建 1 條" in page
    gbk = csv_bytes([{"slug": "cn", "questions_zh_hans": "营业时间", "answer_zh_hans": "九点"}], encoding="gbk")
    page = await (await client.post("/kb/import", data=upload(gbk, "x.csv"), headers={"Accept-Language": "zh-CN"})).text()
    assert "不是 UTF-8 文本" in page and "请另存为“CSV UTF-8”后重新导入" in page
