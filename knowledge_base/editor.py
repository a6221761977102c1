"""FAQ editor sub-app (mounted at /kb, needs the editor role).

Server-rendered forms: list (paginated), create, edit.  A save goes straight to
the database the bot's FAQ action reads, so it is live for the next question.
"""
from __future__ import annotations

import asyncio
import difflib
import math
import re
from urllib.parse import urlencode
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.chinese import has_markup
from bot.database import parse_row_id
from bot import staff_i18n
from bot.settings import SUPPORTED_LANGUAGES
from bot.text_checks import clean
from knowledge_base import bulk_pages, quick_replies, unanswered_pages
from knowledge_base.messages import Message
from knowledge_base.markdown import render as render_markdown
from knowledge_base.editor_keys import (
    LANGUAGE_LABELS, ON_CHANGE, REPOSITORY, USERNAME_OF, field_name, page_context,
)
from knowledge_base.service import KnowledgeBase
from knowledge_base.staff_api import KNOWLEDGE_BASE, BadQuery, lookup_json, read_query
from knowledge_base.storage import (
    MAX_ANSWER_CHARS,
    MAX_LABEL_CHARS,
    MAX_QUESTION_CHARS,
    MAX_TAGS_CHARS,
    SLUG,
    STATUSES,
    Buttons,
    FaqDetails,
    FaqNotFound,
    FaqRepository,
    SlugTaken,
    StaleEdit,
    VersionNotFound,
)

HERE = Path(__file__).parent
PAGE_SIZE = 20
CJK = re.compile(r"[\u3400-\u9fff]")
DIFF_UNIT = re.compile(r"[A-Za-z0-9]+|\s+|.", re.DOTALL)  # a word, a space run, or one character
MAX_QUESTIONS_PER_LANGUAGE = 50
MAX_VERSION = 2**31 - 1  # an INTEGER column
UNREADABLE_FORM = "The form could not be read (it must be sent as UTF-8); nothing was saved."
_field = field_name


async def read_form(request: web.Request):
    """The posted form, or None when it cannot be decoded (not UTF-8)."""
    try:
        return await request.post()
    except (UnicodeDecodeError, ValueError):
        return None


def form_text(form, name: str, errors: List[str]) -> str:
    """A text field, cleaned (bot.text_checks: CRLF to newline, invalid code points
    and control characters replaced); a file upload in its place is an error."""
    value = form.get(name, "")
    if not isinstance(value, str):
        errors.append(f"The field {name} must be typed text, not an uploaded file.")
        return ""
    return clean(value).strip()


def parse_form(form) -> Tuple[Dict[str, str], Dict[str, List[str]], List[str]]:
    """Answers and question variants from the form, and what is wrong with them."""
    errors: List[str] = []
    answers, questions = {}, {}
    for lang in SUPPORTED_LANGUAGES:
        # Answers are split into bubbles on blank lines (browsers send CRLF: made newlines).
        answer = form_text(form, f"answer_{_field(lang)}", errors)
        if len(answer) > MAX_ANSWER_CHARS:
            errors.append(Message("the %(language)s answer is longer than %(max)s characters",
                                  language=LANGUAGE_LABELS[lang], max=MAX_ANSWER_CHARS))
        answers[lang] = answer
        lines = [l.strip() for l in form_text(form, f"questions_{_field(lang)}", errors).splitlines() if l.strip()]
        if len(lines) > MAX_QUESTIONS_PER_LANGUAGE:
            errors.append(Message("more than %(max)s %(language)s questions",
                                  max=MAX_QUESTIONS_PER_LANGUAGE, language=LANGUAGE_LABELS[lang]))
        if any(len(l) > MAX_QUESTION_CHARS for l in lines):
            errors.append(Message("a %(language)s question is longer than %(max)s characters",
                                  language=LANGUAGE_LABELS[lang], max=MAX_QUESTION_CHARS))
        questions[lang] = lines
    if any(has_markup(t) for t in [*answers.values(), *(q for qs in questions.values() for q in qs)]):
        errors.append("HTML tags are not allowed in questions or answers; write Markdown instead "
                      "(**bold**, lists with -, [links](https://…)).")
    if not any(answers.values()):
        errors.append("Give an answer in at least one language.")
    if not any(questions.values()):
        errors.append("Give at least one question the answer is for.")
    return answers, questions, errors


def parse_details(form) -> Tuple[FaqDetails, List[str]]:
    """Status, category, skill group and tags from the form, and what is wrong with them."""
    errors: List[str] = []
    status = form_text(form, "status", errors) or "published"
    if status not in STATUSES:
        errors.append("Choose a status: draft, published or archived.")
        status = "draft"
    category = form_text(form, "category", errors)
    skill_group = form_text(form, "skill_group", errors)
    if len(category) > MAX_LABEL_CHARS or len(skill_group) > MAX_LABEL_CHARS:
        errors.append(f"Category and skill group take at most {MAX_LABEL_CHARS} characters.")
    tags = tuple(dict.fromkeys(t.strip() for t in form_text(form, "tags", errors).split(",") if t.strip()))
    if len(",".join(tags)) > MAX_TAGS_CHARS:
        errors.append(f"Tags take at most {MAX_TAGS_CHARS} characters together.")
    return FaqDetails(status, category[:MAX_LABEL_CHARS], skill_group[:MAX_LABEL_CHARS], tags), errors


def parse_buttons(form, errors: List[str]) -> Tuple[Buttons, Dict[str, str]]:
    """The quick replies from the form (one per line, ``title | payload``), their text as typed
    (given back when the form is refused), and what is wrong with them in ``errors``."""
    typed = {lang: form_text(form, f"buttons_{_field(lang)}", errors) for lang in SUPPORTED_LANGUAGES}
    buttons: Buttons = {}
    for lang, text in typed.items():
        parsed, error = quick_replies.parse_lines(text.splitlines(), LANGUAGE_LABELS[lang])
        if error:
            errors.append(error)
        elif parsed:
            buttons[lang] = parsed
    return buttons, typed


async def check_button_targets(repo: FaqRepository, buttons: Buttons, own_slug: str, errors: List[str]) -> None:
    """A ``faq:`` button must lead to another FAQ that exists (drafts too: they may be published later)."""
    if quick_replies.targets(buttons):
        error = quick_replies.missing_target(buttons, own_slug, await asyncio.to_thread(repo.slugs))
        if error:
            errors.append(error)


def _form_values(answers, questions, details: FaqDetails = FaqDetails(), buttons=None) -> Dict[str, str]:
    """The form's fields; ``buttons`` per language as stored (QuickReply lists) or as typed (text)."""
    values = {"status": details.status, "category": details.category, "skill_group": details.skill_group,
              "tags": ", ".join(details.tags)}
    for lang in SUPPORTED_LANGUAGES:
        values[f"answer_{_field(lang)}"] = answers.get(lang, "")
        values[f"questions_{_field(lang)}"] = "\n".join(questions.get(lang, []))
        lang_buttons = (buttons or {}).get(lang, [])
        values[f"buttons_{_field(lang)}"] = lang_buttons if isinstance(lang_buttons, str) else quick_replies.as_text(lang_buttons)
    return values


_context = page_context


@aiohttp_jinja2.template("faq_list.html")
async def list_faqs(request: web.Request):
    repo = request.app[REPOSITORY]
    query = request.query.get("q", "").strip()[:MAX_QUESTION_CHARS]
    status = request.query.get("status", "")
    status = status if status in STATUSES else ""
    category = request.query.get("category", "").strip()[:MAX_LABEL_CHARS]
    filters = dict(status=status, category=category)
    total = await asyncio.to_thread(repo.count, query, **filters)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        page = min(max(1, int(request.query.get("page", "1"))), pages)
    except ValueError:
        page = 1
    faqs = await asyncio.to_thread(repo.list, (page - 1) * PAGE_SIZE, PAGE_SIZE, query, **filters)
    feedback = await asyncio.to_thread(repo.feedback_counts, [f.id for f in faqs])
    shown = await asyncio.to_thread(repo.shown_counts, [f.id for f in faqs])
    categories = await asyncio.to_thread(repo.categories)
    overlap = None
    saved = request.query.get("saved")
    if saved and request.query.get("overlap"):
        overlap = {"slug": saved, "other": request.query.get("overlap", "")[:80],
                   "question": request.query.get("question", "")[:MAX_QUESTION_CHARS]}
    return _context(faqs=faqs, page=page, pages=pages, total=total, saved=saved, query=query,
                    feedback=feedback, shown=shown, status=status, category=category, categories=categories, overlap=overlap,
                    page_url="/kb/?" + urlencode({"q": query, **filters}) + "&")


async def _saved_url(request: web.Request, faq) -> str:
    """Where a save goes: the list, saying it was saved and, when another published FAQ
    competes for one of its questions, which one (the editor decides what to do)."""
    params = {"saved": faq.slug}
    try:
        overlaps = await asyncio.to_thread(request.app[KNOWLEDGE_BASE].overlaps, faq, 1)
    except Exception:  # the index is not built yet: the check is a help, the save stands
        overlaps = []
    if overlaps:
        params.update(overlap=overlaps[0].other_slug, question=overlaps[0].question)
    return "/kb/?" + urlencode(params)


@aiohttp_jinja2.template("faq_overlaps.html")
async def list_overlaps(request: web.Request):
    """Pairs of published FAQs that answer the same questions."""
    overlaps = await asyncio.to_thread(request.app[KNOWLEDGE_BASE].all_overlaps)
    return _context(overlaps=overlaps)


async def _faq_or_404(request: web.Request):
    try:
        return await asyncio.to_thread(request.app[REPOSITORY].get, parse_row_id(request.match_info["faq_id"]))
    except (ValueError, FaqNotFound):
        raise web.HTTPNotFound(text="No such FAQ.")


async def edit_faq(request: web.Request):
    faq = await _faq_or_404(request)
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=faq, values=_form_values(faq.answers, faq.questions, faq.details, faq.buttons),
                 version=faq.version, errors=[]),
    )


async def save_faq(request: web.Request):
    repo = request.app[REPOSITORY]
    faq = await _faq_or_404(request)
    faq_id = faq.id
    form = await read_form(request)
    if form is None:
        return aiohttp_jinja2.render_template(
            "faq_edit.html", request,
            _context(faq=faq, values=_form_values(faq.answers, faq.questions, faq.details, faq.buttons),
                     version=faq.version, errors=[UNREADABLE_FORM]),
            status=400,
        )
    answers, questions, errors = parse_form(form)
    details, detail_errors = parse_details(form)
    errors += detail_errors
    buttons, typed_buttons = parse_buttons(form, errors)
    await check_button_targets(repo, buttons, faq.slug, errors)
    try:
        version = int(form.get("version", ""))
        if not 0 <= version <= MAX_VERSION:
            raise ValueError(version)
    except (TypeError, ValueError):
        errors.append("The form is incomplete; reload the page.")
        version = faq.version
    if not errors:
        try:
            saved = await asyncio.to_thread(
                repo.update, faq_id, answers, questions, version, request.app[USERNAME_OF](request), details, buttons
            )
            await request.app[ON_CHANGE](request, False, faq.slug)
            raise web.HTTPSeeOther(await _saved_url(request, saved))
        except StaleEdit:
            errors.append("Someone else saved this FAQ after you opened it. Your text is below; "
                          "reload to see theirs, then apply your change again.")
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=faq, values=_form_values(answers, questions, details, typed_buttons), version=version,
                 errors=errors),
        status=409 if any("Someone else" in e for e in errors) else 400,
    )


async def new_faq(request: web.Request):
    """The empty form, or prefilled with ``?question=…`` (from the unanswered questions or the
    dashboard) in its ``language`` (by default Chinese when it has Chinese characters)."""
    question = clean(request.query.get("question", "")).strip()[:MAX_QUESTION_CHARS]
    language = request.query.get("language", "")
    if language not in SUPPORTED_LANGUAGES:
        language = "zh-Hans" if CJK.search(question) else "en"
    questions = {language: [question]} if question else {}
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=None, values=_form_values({}, questions, FaqDetails(status="draft") if question else FaqDetails()),
                 version=0, errors=[], slug="")
    )


async def create_faq(request: web.Request):
    form = await read_form(request)
    if form is None:
        return aiohttp_jinja2.render_template(
            "faq_edit.html", request,
            _context(faq=None, values=_form_values({}, {}), version=0, errors=[UNREADABLE_FORM], slug=""),
            status=400,
        )
    answers, questions, errors = parse_form(form)
    details, detail_errors = parse_details(form)
    errors += detail_errors
    buttons, typed_buttons = parse_buttons(form, errors)
    slug = form_text(form, "slug", errors).lower()
    repo = request.app[REPOSITORY]
    if not SLUG.fullmatch(slug):
        errors.append("The short name needs 2–80 lowercase letters, digits or hyphens.")
    await check_button_targets(repo, buttons, slug, errors)
    if not errors:
        try:
            new_id = await asyncio.to_thread(
                repo.create, slug, answers, questions, request.app[USERNAME_OF](request), details, buttons)
            await request.app[ON_CHANGE](request, True, slug)
            raise web.HTTPSeeOther(await _saved_url(request, await asyncio.to_thread(repo.get, new_id)))
        except SlugTaken:
            errors.append("An FAQ with this short name exists already.")
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=None, values=_form_values(answers, questions, details, typed_buttons), version=0, errors=errors,
                 slug=slug),
        status=400,
    )


async def faq_history(request: web.Request):
    faq = await _faq_or_404(request)
    versions = await asyncio.to_thread(request.app[REPOSITORY].history, faq.id)
    changes = [version_changes(older, newer) for newer, older in zip(versions, versions[1:] + [None])]
    return aiohttp_jinja2.render_template(
        "faq_history.html", request,
        _context(faq=faq, history=list(zip(versions, changes)), error=request.query.get("error"))
    )


def _version_fields(version) -> Dict[str, str]:
    """A version as named texts, for comparing two of them."""
    fields = {"status": version.details.status, "category": version.details.category,
              "skill_group": version.details.skill_group, "tags": ", ".join(version.details.tags)}
    for lang in SUPPORTED_LANGUAGES:
        fields[f"questions_{_field(lang)}"] = "\n".join(version.questions.get(lang, []))
        fields[f"answer_{_field(lang)}"] = version.answers.get(lang, "")
        fields[f"buttons_{_field(lang)}"] = quick_replies.as_text(version.buttons.get(lang, []))
    return fields


def version_changes(older, newer) -> List[Tuple[str, List[Tuple[str, str]]]]:
    """What ``newer`` changed from ``older``: per changed field, runs of ("equal" | "delete" |
    "insert", text) over English words and Chinese characters. The first
    version lists what it was created with."""
    new_fields = _version_fields(newer)
    old_fields = _version_fields(older) if older is not None else {k: "" for k in new_fields}
    changes = []
    for name, new in new_fields.items():
        old = old_fields[name]
        if old == new:
            continue
        runs: List[Tuple[str, str]] = []
        a, b = DIFF_UNIT.findall(old), DIFF_UNIT.findall(new)
        for op, a1, a2, b1, b2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
            if op == "equal":
                runs.append(("equal", "".join(a[a1:a2])))
                continue
            if a2 > a1:
                runs.append(("delete", "".join(a[a1:a2])))
            if b2 > b1:
                runs.append(("insert", "".join(b[b1:b2])))
        changes.append((name, runs))
    return changes


async def rollback_faq(request: web.Request):
    """Save an old version again as the newest; refused when someone saved since the page was shown."""
    faq = await _faq_or_404(request)
    form = await read_form(request)
    try:
        if form is None:
            raise ValueError("not UTF-8")
        to_version, expected = int(form.get("to_version", "")), int(form.get("version", ""))
        if not (0 <= to_version <= MAX_VERSION and 0 <= expected <= MAX_VERSION):
            raise ValueError("out of range")
    except (TypeError, ValueError):
        raise web.HTTPBadRequest(text="The form is incomplete; reload the page.")
    try:
        await asyncio.to_thread(
            request.app[REPOSITORY].rollback, faq.id, to_version, expected, request.app[USERNAME_OF](request)
        )
    except VersionNotFound:
        raise web.HTTPNotFound(text="No such version of this FAQ.")
    except StaleEdit:
        raise web.HTTPSeeOther(f"/kb/faqs/{faq.id}/history?error=stale")
    await request.app[ON_CHANGE](request, False, faq.slug, change="rolled_back", detail={"to_version": to_version})
    raise web.HTTPSeeOther(f"/kb/?saved={faq.slug}")


@aiohttp_jinja2.template("faq_try.html")
async def try_question(request: web.Request):
    """The try-it box: what the bot would do with a question, and the FAQs that competed."""
    if not request.query.get("q", "").strip():
        return _context(result=None, error=None, query="", language=request.query.get("language", "zh-Hans"))
    try:
        question, language = read_query(request.query)
    except BadQuery as bad:
        return _context(result=None, error=str(bad), query=request.query.get("q", "")[:MAX_QUESTION_CHARS],
                        language="zh-Hans")
    lookup = await asyncio.to_thread(request.app[KNOWLEDGE_BASE].lookup, question, language)
    return _context(result=lookup_json(lookup, language), error=None, query=question, language=language)


async def preview_markdown(request: web.Request) -> web.Response:
    """An answer's Markdown as the chat shows it (the edit form's live preview)."""
    form = await read_form(request) if request.method == "POST" else request.query
    text = clean(str((form or {}).get("text", "")))[:MAX_ANSWER_CHARS]
    return web.Response(text=str(render_markdown(text)), content_type="text/html")


async def _no_record(request: web.Request, created: bool, slug: str, change: str = None, detail: dict = None) -> None:
    return None


def create_editor_app(repository: FaqRepository, username_of: Callable[[web.Request], str],
                      knowledge_base: KnowledgeBase, on_change: Callable = _no_record) -> web.Application:
    """The mounting app guards it with a login and the editor role; ``on_change(request,
    created, slug)`` is awaited after each saved create or edit, and with ``change=
    "rolled_back"`` or ``"exported"`` (and a ``detail`` dict) after a rollback or an export."""
    app = web.Application()
    app[REPOSITORY] = repository
    app[USERNAME_OF] = username_of
    app[KNOWLEDGE_BASE] = knowledge_base
    app[ON_CHANGE] = on_change
    env = staff_i18n.install(aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True))
    env.globals["render_markdown"] = render_markdown
    app.router.add_get("/", list_faqs)
    app.router.add_get("/try", try_question)
    app.router.add_get("/faqs/new", new_faq)
    app.router.add_get("/new", new_faq)  # the dashboard's and the unanswered list's prefill link
    app.router.add_get("/overlaps", list_overlaps)
    app.router.add_post("/faqs/new", create_faq)
    app.router.add_get("/faqs/{faq_id}", edit_faq)
    app.router.add_post("/faqs/{faq_id}", save_faq)
    app.router.add_get("/faqs/{faq_id}/history", faq_history)
    app.router.add_post("/faqs/{faq_id}/rollback", rollback_faq)
    bulk_pages.add_routes(app)
    unanswered_pages.add_routes(app, knowledge_base.unanswered)
    app.router.add_get("/preview", preview_markdown)
    app.router.add_post("/preview", preview_markdown)
    app.router.add_static("/static/", HERE / "static")
    return app
