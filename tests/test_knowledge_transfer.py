"""Bulk import and export of FAQs (CSV and Excel) over a real database: good rows are
imported, every bad row is reported with its line and reason, re-importing changes nothing."""
import csv
import io

import openpyxl
import pytest

from knowledge_base.storage import FaqDetails, FaqRepository
from knowledge_base.transfer import COLUMNS, BadFile, export_csv, export_xlsx, import_file


def csv_bytes(rows, header=COLUMNS, encoding="utf-8"):
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=COLUMNS):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(list(header))
    for row in rows:
        sheet.append([row.get(c, "") for c in header] if isinstance(row, dict) else row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


GOOD = [
    {"slug": "pay-bill", "status": "published", "category": "bills", "skill_group": "billing", "tags": "bill,pay",
     "questions_zh_hans": "怎么交话费\n缴费方式", "questions_en": "How do I pay my bill", "answer_zh_hans": "可以用**微信**或支付宝。",
     "answer_en": "Use WeChat Pay or Alipay."},
    {"slug": "store-hours", "questions_zh_hans": "营业厅几点开门", "answer_zh_hans": "每天 9:00–21:00。"},
]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_file_with_bad_rows_imports_the_good_ones_and_reports_each_bad_one(engine, kind):
    repo = FaqRepository(engine)
    bad = [
        {"slug": "", "questions_en": "no slug", "answer_en": "x"},                           # line 4
        {"slug": "no-answer", "questions_en": "where is it"},                                 # line 5
        {"slug": "too-long", "questions_en": "long", "answer_en": "长" * 4001},               # line 6
        {"slug": "scripted", "questions_en": "hi", "answer_en": "<script>alert(1)</script>"},  # line 7
        {"slug": "Bad Slug!", "questions_en": "q", "answer_en": "a"},                         # line 8
        {"slug": "odd-status", "status": "live", "questions_en": "q", "answer_en": "a"},      # line 9
        {"slug": "pay-bill", "questions_en": "again", "answer_en": "twice in one file"},       # line 10
    ]
    data = (csv_bytes if kind == "csv" else xlsx_bytes)(GOOD + bad)
    report = import_file(repo, data, f"faqs.{kind}", "editor")
    assert sorted(report.created) == ["pay-bill", "store-hours"]
    reasons = {e.line: e.reason for e in report.errors}
    assert sorted(reasons) == [4, 5, 6, 7, 8, 9, 10]
    assert "short name" in reasons[4] and "no answer" in reasons[5] and "4000" in reasons[6]
    assert "HTML" in reasons[7] and "lowercase" in reasons[8] and "status" in reasons[9]
    assert "line 2" in reasons[10]
    pay = next(f for f in repo.all() if f.slug == "pay-bill")
    assert pay.questions["zh-Hans"] == ["怎么交话费", "缴费方式"] and pay.answers["en"] == "Use WeChat Pay or Alipay."
    assert pay.details == FaqDetails("published", "bills", "billing", ("bill", "pay"))
    assert repo.count() == 2  # nothing of the bad rows


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_an_export_imported_again_changes_nothing_and_an_edited_row_updates_by_slug(engine, kind):
    repo = FaqRepository(engine)
    import_file(repo, csv_bytes(GOOD + [{"slug": "formula", "questions_en": "=1+1", "answer_en": "-5 is a number"}]),
                "faqs.csv", "editor")
    versions = {f.slug: f.version for f in repo.all()}
    exported = (export_csv if kind == "csv" else export_xlsx)(repo.all())
    report = import_file(repo, exported, f"again.{kind}", "editor")
    assert report.created == report.updated == [] and sorted(report.unchanged) == ["formula", "pay-bill", "store-hours"]
    assert {f.slug: f.version for f in repo.all()} == versions  # no new version in the history
    formula = next(f for f in repo.all() if f.slug == "formula")
    assert formula.questions["en"] == ["=1+1"] and formula.answers["en"] == "-5 is a number"

    edited = [dict(GOOD[1], answer_zh_hans="每天 8:00–22:00。")]
    report = import_file(repo, csv_bytes(edited), "edit.csv", "editor")
    assert report.updated == ["store-hours"]
    hours = next(f for f in repo.all() if f.slug == "store-hours")
    assert hours.answers["zh-Hans"] == "每天 8:00–22:00。" and hours.version == versions["store-hours"] + 1
    assert [v.answers["zh-Hans"] for v in repo.history(hours.id)] == ["每天 8:00–22:00。", "每天 9:00–21:00。"]


def test_an_exported_csv_opens_in_excel_as_utf8_and_formulas_stay_text(engine):
    repo = FaqRepository(engine)
    repo.upsert("evil", {"en": "=HYPERLINK(\"http://x\")"}, {"en": ["hi"]})
    data = export_csv(repo.all())
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == list(COLUMNS) and rows[1][COLUMNS.index("answer_en")].startswith("'=")
    sheet = openpyxl.load_workbook(io.BytesIO(export_xlsx(repo.all()))).active
    assert sheet.cell(2, COLUMNS.index("answer_en") + 1).data_type == "s"


def test_a_gbk_csv_reports_the_lines_that_are_not_utf8(engine):
    repo = FaqRepository(engine)
    rows = [{"slug": "english-only", "questions_en": "opening hours", "answer_en": "9 to 5"},
            {"slug": "chinese", "questions_zh_hans": "营业时间", "answer_zh_hans": "九点到五点"}]
    report = import_file(repo, csv_bytes(rows, encoding="gbk"), "gbk.csv", "editor")
    assert report.created == ["english-only"]
    assert [(e.line, e.slug) for e in report.errors] == [(3, "chinese")] and "UTF-8" in report.errors[0].reason
    assert "GBK" in report.hint


@pytest.mark.parametrize("data, name, message", [
    (csv_bytes([["a", "b"]], header=["question", "answer"]), "x.csv", "unknown column"),
    (csv_bytes([["x", "y"]], header=["slug", "status"]), "x.csv", "questions_"),
    (b"", "x.csv", "empty"),
    (b"PK\x03\x04 not really a zip", "x.xlsx", "not an Excel workbook"),
    ("slug,answer_en\n".encode("utf-16"), "x.csv", "NUL"),
    (b"\xd0\xcf\x11\xe0", "x.xls", ".xls"),
])
def test_a_file_with_wrong_columns_or_format_imports_nothing_and_says_why(engine, data, name, message):
    repo = FaqRepository(engine)
    with pytest.raises(BadFile, match=message):
        import_file(repo, data, name, "editor")
    assert repo.count() == 0


def test_a_row_with_more_cells_than_columns_is_reported_and_a_cell_over_two_lines_is_one_row(engine):
    repo = FaqRepository(engine)
    data = ("slug,questions_en,answer_en\n"
            "ok-one,hello,hi\n"
            "extra,q,a,surplus\n"
            "multi-line,\"first\nsecond\",two questions\n"
            "after,q,a\n").encode()
    report = import_file(repo, data, "x.csv", "editor")
    assert sorted(report.created) == ["after", "multi-line", "ok-one"]
    assert [(e.line, e.slug) for e in report.errors] == [(3, "extra")]
    multi = next(f for f in repo.all() if f.slug == "multi-line")
    assert multi.questions["en"] == ["first", "second"]


def test_an_import_during_an_edit_makes_the_editors_save_stale_and_loses_neither(engine):
    from knowledge_base.storage import StaleEdit

    repo = FaqRepository(engine)
    import_file(repo, csv_bytes(GOOD), "first.csv", "editor")
    hours = next(f for f in repo.all() if f.slug == "store-hours")  # an editor opens the form
    import_file(repo, csv_bytes([dict(GOOD[1], answer_zh_hans="导入的答案")]), "second.csv", "importer")
    with pytest.raises(StaleEdit):
        repo.update(hours.id, {"zh-Hans": "编辑的答案"}, hours.questions, hours.version, "editor")
    assert repo.get(hours.id).answers["zh-Hans"] == "导入的答案"  # the editor is told and keeps their text


def test_an_oversized_file_or_too_many_rows_imports_nothing(engine, monkeypatch):
    import knowledge_base.transfer as transfer

    repo = FaqRepository(engine)
    with pytest.raises(BadFile, match="larger than"):
        import_file(repo, b"x" * (transfer.MAX_FILE_BYTES + 1), "big.csv", "editor")
    monkeypatch.setattr(transfer, "MAX_ROWS", 3)
    rows = [{"slug": f"row-{i}", "questions_en": f"q{i}", "answer_en": "a"} for i in range(5)]
    with pytest.raises(BadFile, match="At most 3 rows"):
        import_file(repo, csv_bytes(rows), "many.csv", "editor")
    assert repo.count() == 0
