"""Bulk import and export of FAQs as CSV (UTF-8) or Excel (.xlsx, through openpyxl).

One row per FAQ, the same columns both ways, so an exported file can be edited in a
spreadsheet and imported again: rows are matched by short name (slug), an existing FAQ is
updated (a new version in its history) and an unchanged one is left alone, so importing
the same file twice changes nothing.

Reading never stops at the first problem: every bad row is reported with its line number
and the reason, and the good rows are imported. Problems of the whole file (not a CSV or
workbook, unknown or missing columns, too many rows) import nothing.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Optional, Tuple

from bot.chinese import has_markup
from bot.settings import SUPPORTED_LANGUAGES
from bot.text_checks import clean
from knowledge_base.storage import (
    MAX_ANSWER_CHARS,
    MAX_LABEL_CHARS,
    MAX_QUESTION_CHARS,
    MAX_TAGS_CHARS,
    SLUG,
    STATUSES,
    Faq,
    FaqDetails,
    FaqRepository,
)
from knowledge_base import quick_replies
from knowledge_base.messages import Message
MAX_QUESTIONS_PER_LANGUAGE = 50
MAX_ROWS = 20_000
MAX_FILE_BYTES = 5 * 1024 * 1024
LANGUAGE_COLUMN = {lang: lang.lower().replace("-", "_") for lang in SUPPORTED_LANGUAGES}
COLUMNS = (
    ["slug", "status", "category", "skill_group", "tags"]
    + [f"questions_{LANGUAGE_COLUMN[lang]}" for lang in SUPPORTED_LANGUAGES]
    + [f"answer_{LANGUAGE_COLUMN[lang]}" for lang in SUPPORTED_LANGUAGES]
    # Last, so a file exported before quick replies existed still has only known columns.
    + [f"buttons_{LANGUAGE_COLUMN[lang]}" for lang in SUPPORTED_LANGUAGES]
)
REQUIRED_COLUMNS = ("slug",)
XLSX_MAGIC = b"PK\x03\x04"


class BadFile(ValueError):
    """The whole file cannot be imported (nothing was)."""


@dataclass
class RowError:
    line: int  # the row as a spreadsheet numbers it, the header being 1 (a CSV cell may span lines)
    slug: str
    reason: Message


@dataclass
class ImportReport:
    created: List[str] = field(default_factory=list)
    updated: List[str] = field(default_factory=list)
    unchanged: List[str] = field(default_factory=list)
    errors: List[RowError] = field(default_factory=list)
    hint: str = ""  # said once above the errors (e.g. the file looks GBK-encoded)

    @property
    def imported(self) -> int:
        return len(self.created) + len(self.updated)


# -- reading ------------------------------------------------------------------------------------

def _questions(cell: str) -> List[str]:
    """Questions are one per line in a cell ('|' also separates, for single-line tools)."""
    return [q.strip() for q in re.split(r"[\n|]", cell) if q.strip()]


def parse_row(values: Dict[str, str]) -> Tuple[Optional[Faq], Optional[Message]]:
    """An FAQ from one row's cells, or None and the reason the row is refused."""
    cells = {name: strip_formula_guard(clean(str(values.get(name) or "")).strip()) for name in COLUMNS}
    slug = cells["slug"].lower()
    if not slug:
        return None, Message("the short name (slug) is empty")
    if not SLUG.fullmatch(slug):
        return None, Message("the short name needs 2–80 lowercase letters, digits or hyphens")
    status = cells["status"].lower() or "published"
    if status not in STATUSES:
        return None, Message("unknown status “%(status)s” (draft, published or archived)", status=cells["status"][:20])
    if len(cells["category"]) > MAX_LABEL_CHARS or len(cells["skill_group"]) > MAX_LABEL_CHARS:
        return None, Message("category and skill group take at most %(max)s characters", max=MAX_LABEL_CHARS)
    tags = tuple(dict.fromkeys(t.strip() for t in cells["tags"].split(",") if t.strip()))
    if len(",".join(tags)) > MAX_TAGS_CHARS:
        return None, Message("tags take at most %(max)s characters together", max=MAX_TAGS_CHARS)
    answers, questions = {}, {}
    for lang in SUPPORTED_LANGUAGES:
        column = LANGUAGE_COLUMN[lang]
        answer = cells[f"answer_{column}"]
        if len(answer) > MAX_ANSWER_CHARS:
            return None, Message("the %(language)s answer is longer than %(max)s characters", language=lang, max=MAX_ANSWER_CHARS)
        lines = _questions(cells[f"questions_{column}"])
        if len(lines) > MAX_QUESTIONS_PER_LANGUAGE:
            return None, Message("more than %(max)s %(language)s questions", max=MAX_QUESTIONS_PER_LANGUAGE, language=lang)
        if any(len(q) > MAX_QUESTION_CHARS for q in lines):
            return None, Message("a %(language)s question is longer than %(max)s characters", language=lang, max=MAX_QUESTION_CHARS)
        answers[lang], questions[lang] = answer, lines
    if any(has_markup(text) for text in [*answers.values(), *(q for qs in questions.values() for q in qs)]):
        return None, Message("HTML tags are not allowed in questions or answers (write Markdown instead)")
    if not any(answers.values()):
        return None, Message("no answer in any language")
    if not any(questions.values()):
        return None, Message("no question in any language")
    buttons, reason = quick_replies.parse_all({lang: cells[f"buttons_{LANGUAGE_COLUMN[lang]}"] for lang in SUPPORTED_LANGUAGES})
    if reason:
        return None, reason
    details = FaqDetails(status, cells["category"], cells["skill_group"], tags)
    return Faq(id=0, slug=slug, answers=answers, questions=questions, details=details, buttons=buttons), None


def _check_header(header: List[str]) -> List[str]:
    names = [str(h or "").strip().lower() for h in header]
    unknown = [h for h in names if h and h not in COLUMNS]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append("unknown column(s): " + ", ".join(unknown[:10]))
        if missing:
            parts.append("missing column(s): " + ", ".join(missing))
        raise BadFile("The first row must name the columns (" + "; ".join(parts) + "). Expected: "
                      + ", ".join(COLUMNS) + ".")
    if not any(n.startswith("answer_") for n in names) or not any(n.startswith("questions_") for n in names):
        raise BadFile("The file needs at least one questions_… and one answer_… column. Expected: "
                      + ", ".join(COLUMNS) + ".")
    if len(set(n for n in names if n)) != len([n for n in names if n]):
        raise BadFile("A column is named twice in the first row.")
    return names


def _decode_lines(data: bytes) -> Tuple[str, set]:
    """The file as text and the (1-based) physical lines that are not UTF-8 (decoded with U+FFFD there)."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # Excel's "CSV UTF-8" starts with a byte-order mark
    bad, parts = set(), []
    for number, raw in enumerate(data.split(b"\n"), start=1):
        try:
            parts.append(raw.decode("utf-8"))
        except UnicodeDecodeError:
            bad.add(number)
            parts.append(raw.decode("utf-8", errors="replace"))
    return "\n".join(parts), bad


def read_csv(data: bytes) -> Tuple[List[Tuple[int, Dict[str, str]]], List[RowError], str]:
    """(line, cells) of each row, the rows refused while reading, and a hint for the whole file."""
    text, bad_lines = _decode_lines(data)
    if "\x00" in text:
        raise BadFile("This is not a CSV text file (it holds NUL bytes; UTF-16 or a binary file?).")
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise BadFile("The file is empty.") from None
    except csv.Error as e:
        raise BadFile(f"The first row cannot be read as CSV: {e}.") from None
    if 1 in bad_lines:
        raise BadFile("The first row is not UTF-8 text. Save the file as “CSV UTF-8”.")
    names = _check_header(header)
    rows, errors, end, row = [], [], reader.line_num, 1
    while True:
        start, row = end + 1, row + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            errors.append(RowError(row, "", Message("cannot be read as CSV (%(error)s)", error=str(e))))
            break  # the reader cannot resynchronise after a broken quote
        end = reader.line_num
        if not any(c.strip() for c in cells):
            continue
        slug = cells[names.index("slug")].strip()[:80] if len(cells) > names.index("slug") else ""
        if bad_lines & set(range(start, end + 1)):
            errors.append(RowError(row, slug, Message("not UTF-8 text (the file may be saved as GBK/ANSI)")))
            continue
        if len(cells) != len(names):
            errors.append(RowError(row, slug, Message("has %(cells)s cells, the header has %(columns)s columns", cells=len(cells), columns=len(names))))
            continue
        rows.append((row, dict(zip(names, cells))))
        if len(rows) + len(errors) > MAX_ROWS:
            raise BadFile(f"At most {MAX_ROWS} rows per file.")
    hint = Message("Some lines are not UTF-8 text: the file may have been saved as GBK/ANSI. "
                   "Save it as “CSV UTF-8” and import it again.") if bad_lines else ""
    return rows, errors, hint


def read_xlsx(data: bytes) -> Tuple[List[Tuple[int, Dict[str, str]]], List[RowError], str]:
    import openpyxl  # only needed for Excel files

    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as e:
        raise BadFile(f"This is not an Excel workbook that can be read ({type(e).__name__}).") from None
    try:
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        header = next(iterator, None)
        if header is None:
            raise BadFile("The first sheet is empty.")
        names = _check_header(list(header))
        rows, errors = [], []
        for number, values in enumerate(iterator, start=2):
            cells = ["" if v is None else str(v) for v in values]
            if not any(c.strip() for c in cells):
                continue
            extra = [c for c in cells[len(names):] if c.strip()]
            slug = cells[names.index("slug")].strip()[:80] if len(cells) > names.index("slug") else ""
            if extra:
                errors.append(RowError(number, slug, Message("has cells beyond the named columns")))
                continue
            rows.append((number, dict(zip(names, cells))))
            if len(rows) + len(errors) > MAX_ROWS:
                raise BadFile(f"At most {MAX_ROWS} rows per file.")
        return rows, errors, ""
    finally:
        workbook.close()


def read_file(data: bytes, filename: str = "") -> Tuple[List[Tuple[int, Dict[str, str]]], List[RowError], str]:
    """Rows of a CSV or .xlsx upload (told apart by content, not only by name)."""
    if len(data) > MAX_FILE_BYTES:
        raise BadFile(f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB.")
    if data.startswith(XLSX_MAGIC) or filename.lower().endswith((".xlsx", ".xlsm")):
        return read_xlsx(data)
    if filename.lower().endswith(".xls"):
        raise BadFile("Old .xls workbooks cannot be read; save it as .xlsx or CSV UTF-8.")
    return read_csv(data)


def import_file(repository: FaqRepository, data: bytes, filename: str, updated_by: str) -> ImportReport:
    """Import the good rows of a file (create or update by slug) and report every bad one."""
    rows, read_errors, hint = read_file(data, filename)
    report = ImportReport(errors=list(read_errors), hint=hint)
    good: List[Tuple[int, Faq]] = []
    seen: Dict[str, int] = {}
    for line, values in rows:
        faq, reason = parse_row(values)
        slug = str(values.get("slug") or "").strip()[:80]
        if faq is None:
            report.errors.append(RowError(line, slug, reason))
        elif faq.slug in seen:
            report.errors.append(RowError(line, slug, Message("the short name is also on line %(line)s", line=seen[faq.slug])))
        else:
            seen[faq.slug] = line
            good.append((line, faq))
    # A button may lead to an FAQ already there or to one this file creates.
    known = (repository.slugs() if any(quick_replies.targets(f.buttons) for _, f in good) else set()) | set(seen)
    for line, faq in list(good):
        reason = quick_replies.missing_target(faq.buttons, faq.slug, known)
        if reason:
            good.remove((line, faq))
            report.errors.append(RowError(line, faq.slug, reason))
    outcome = repository.import_faqs([faq for _, faq in good], updated_by)
    for _, faq in good:
        getattr(report, outcome[faq.slug]).append(faq.slug)
    report.errors.sort(key=lambda e: e.line)
    return report


# -- writing ------------------------------------------------------------------------------------

def faq_row(faq: Faq) -> List[str]:
    cells = {"slug": faq.slug, "status": faq.details.status, "category": faq.details.category,
             "skill_group": faq.details.skill_group, "tags": ",".join(faq.details.tags)}
    for lang in SUPPORTED_LANGUAGES:
        cells[f"questions_{LANGUAGE_COLUMN[lang]}"] = "\n".join(faq.questions.get(lang, []))
        cells[f"answer_{LANGUAGE_COLUMN[lang]}"] = faq.answers.get(lang, "")
        cells[f"buttons_{LANGUAGE_COLUMN[lang]}"] = quick_replies.as_text(faq.buttons.get(lang, []))
    return [cells[name] for name in COLUMNS]


def _spreadsheet_safe(cell: str) -> str:
    """A cell a spreadsheet would run as a formula ("=HYPERLINK(…)") is kept as text."""
    return "'" + cell if cell[:1] in ("=", "+", "-", "@") else cell


def export_csv(faqs: Iterable[Faq]) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for faq in faqs:
        writer.writerow([_spreadsheet_safe(c) for c in faq_row(faq)])
    return b"\xef\xbb\xbf" + out.getvalue().encode("utf-8")  # the BOM makes Excel read UTF-8


def export_xlsx(faqs: Iterable[Faq]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet("FAQs")
    sheet.append(list(COLUMNS))
    for faq in faqs:
        # openpyxl writes a str as a string cell unless it starts with "=": kept as text too.
        sheet.append([_spreadsheet_safe(c) if c.startswith("=") else c for c in faq_row(faq)])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def strip_formula_guard(cell: str) -> str:
    """The cell as it was before ``_spreadsheet_safe`` (re-importing an export changes nothing)."""
    return cell[1:] if cell[:2] in ("'=", "'+", "'-", "'@") else cell
