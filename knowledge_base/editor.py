"""FAQ editor sub-app (mounted at /kb, needs the editor role).

Server-rendered forms: list (paginated), create, edit.  A save goes straight to
the database the bot's FAQ action reads, so it is live for the next question.
"""
from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import aiohttp_jinja2
import jinja2
from aiohttp import web

from bot.database import parse_row_id
from bot.settings import SUPPORTED_LANGUAGES
from knowledge_base.storage import (
    MAX_ANSWER_CHARS,
    MAX_QUESTION_CHARS,
    FaqNotFound,
    FaqRepository,
    SlugTaken,
    StaleEdit,
)

HERE = Path(__file__).parent
REPOSITORY = web.AppKey("faq_repository", FaqRepository)
USERNAME_OF = web.AppKey("username_of", Callable)
PAGE_SIZE = 20
MAX_QUESTIONS_PER_LANGUAGE = 50
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,79}$")
LANGUAGE_LABELS = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


def _field(lang: str) -> str:
    return lang.lower().replace("-", "_")


def parse_form(form) -> Tuple[Dict[str, str], Dict[str, List[str]], List[str]]:
    """Answers and question variants from the form, and what is wrong with them."""
    errors: List[str] = []
    answers, questions = {}, {}
    for lang in SUPPORTED_LANGUAGES:
        # Browsers send line breaks as CRLF; answers are split into bubbles on blank lines.
        answer = str(form.get(f"answer_{_field(lang)}", "")).replace("\r\n", "\n").strip()
        if len(answer) > MAX_ANSWER_CHARS:
            errors.append(f"The {LANGUAGE_LABELS[lang]} answer is longer than {MAX_ANSWER_CHARS} characters.")
        answers[lang] = answer
        lines = [l.strip() for l in str(form.get(f"questions_{_field(lang)}", "")).splitlines() if l.strip()]
        if len(lines) > MAX_QUESTIONS_PER_LANGUAGE:
            errors.append(f"At most {MAX_QUESTIONS_PER_LANGUAGE} {LANGUAGE_LABELS[lang]} questions.")
        if any(len(l) > MAX_QUESTION_CHARS for l in lines):
            errors.append(f"A {LANGUAGE_LABELS[lang]} question is longer than {MAX_QUESTION_CHARS} characters.")
        questions[lang] = lines
    if not any(answers.values()):
        errors.append("Give an answer in at least one language.")
    if not any(questions.values()):
        errors.append("Give at least one question the answer is for.")
    return answers, questions, errors


def _form_values(answers, questions) -> Dict[str, str]:
    values = {}
    for lang in SUPPORTED_LANGUAGES:
        values[f"answer_{_field(lang)}"] = answers.get(lang, "")
        values[f"questions_{_field(lang)}"] = "\n".join(questions.get(lang, []))
    return values


def _context(**extra):
    return {"languages": [(lang, _field(lang), LANGUAGE_LABELS[lang]) for lang in SUPPORTED_LANGUAGES], **extra}


@aiohttp_jinja2.template("faq_list.html")
async def list_faqs(request: web.Request):
    repo = request.app[REPOSITORY]
    total = await asyncio.to_thread(repo.count)
    pages = max(1, math.ceil(total / PAGE_SIZE))
    try:
        page = min(max(1, int(request.query.get("page", "1"))), pages)
    except ValueError:
        page = 1
    faqs = await asyncio.to_thread(repo.list, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return _context(faqs=faqs, page=page, pages=pages, total=total, saved=request.query.get("saved"))


async def edit_faq(request: web.Request):
    try:
        faq = await asyncio.to_thread(request.app[REPOSITORY].get, parse_row_id(request.match_info["faq_id"]))
    except (ValueError, FaqNotFound):
        raise web.HTTPNotFound(text="No such FAQ.")
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=faq, values=_form_values(faq.answers, faq.questions), version=faq.version, errors=[]),
    )


async def save_faq(request: web.Request):
    repo = request.app[REPOSITORY]
    try:
        faq_id = parse_row_id(request.match_info["faq_id"])
        faq = await asyncio.to_thread(repo.get, faq_id)
    except (ValueError, FaqNotFound):
        raise web.HTTPNotFound(text="No such FAQ.")
    form = await request.post()
    answers, questions, errors = parse_form(form)
    try:
        version = int(form.get("version", ""))
    except ValueError:
        errors.append("The form is incomplete; reload the page.")
        version = faq.version
    if not errors:
        try:
            await asyncio.to_thread(
                repo.update, faq_id, answers, questions, version, request.app[USERNAME_OF](request)
            )
            raise web.HTTPSeeOther(f"/kb/?saved={faq.slug}")
        except StaleEdit:
            errors.append("Someone else saved this FAQ after you opened it. Your text is below; "
                          "reload to see theirs, then apply your change again.")
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=faq, values=_form_values(answers, questions), version=version, errors=errors),
        status=409 if any("Someone else" in e for e in errors) else 400,
    )


async def new_faq(request: web.Request):
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request, _context(faq=None, values=_form_values({}, {}), version=0, errors=[], slug="")
    )


async def create_faq(request: web.Request):
    form = await request.post()
    answers, questions, errors = parse_form(form)
    slug = str(form.get("slug", "")).strip().lower()
    repo = request.app[REPOSITORY]
    if not SLUG.match(slug):
        errors.append("The short name needs 2–80 lowercase letters, digits or hyphens.")
    if not errors:
        try:
            await asyncio.to_thread(repo.create, slug, answers, questions, request.app[USERNAME_OF](request))
            raise web.HTTPSeeOther(f"/kb/?saved={slug}")
        except SlugTaken:
            errors.append("An FAQ with this short name exists already.")
    return aiohttp_jinja2.render_template(
        "faq_edit.html", request,
        _context(faq=None, values=_form_values(answers, questions), version=0, errors=errors, slug=slug),
        status=400,
    )


def create_editor_app(repository: FaqRepository, username_of: Callable[[web.Request], str]) -> web.Application:
    """The mounting app guards it with a login and the editor role."""
    app = web.Application()
    app[REPOSITORY] = repository
    app[USERNAME_OF] = username_of
    aiohttp_jinja2.setup(app, loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app.router.add_get("/", list_faqs)
    app.router.add_get("/faqs/new", new_faq)
    app.router.add_post("/faqs/new", create_faq)
    app.router.add_get("/faqs/{faq_id}", edit_faq)
    app.router.add_post("/faqs/{faq_id}", save_faq)
    app.router.add_static("/static/", HERE / "static")
    return app
