"""JSON search API for staff (mounted at /kb/api/, editor or agent login): what the bot
would do with a question and the FAQs that compete for it, so agents answer with the
same knowledge as the bot."""
from __future__ import annotations

import asyncio
from typing import Any, Dict

from aiohttp import web

from bot.settings import SUPPORTED_LANGUAGES
from knowledge_base.search import Lookup, Scored
from knowledge_base.service import KnowledgeBase
from knowledge_base.storage import MAX_QUESTION_CHARS

KNOWLEDGE_BASE = web.AppKey("knowledge_base", KnowledgeBase)


class BadQuery(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def read_query(query) -> tuple:
    """The question and language of a search request; BadQuery says what is wrong."""
    question = str(query.get("q", "")).strip()
    language = str(query.get("language", "zh-Hans"))
    if not question:
        raise BadQuery("empty_query", "Give a question to search for (q=…).")
    if len(question) > MAX_QUESTION_CHARS:
        raise BadQuery("too_long", f"A question has at most {MAX_QUESTION_CHARS} characters.")
    if language not in SUPPORTED_LANGUAGES:
        raise BadQuery("bad_language", f"language is one of {', '.join(SUPPORTED_LANGUAGES)}.")
    return question, language


def scored_json(scored: Scored, language: str) -> Dict[str, Any]:
    faq = scored.faq
    return {"id": faq.id, "slug": faq.slug, "score": round(scored.score, 3), "matched_question": scored.matched_question,
            "question": faq.question_in(language), "answer": faq.answer_in(language),
            "category": faq.details.category, "skill_group": faq.details.skill_group}


def lookup_json(lookup: Lookup, language: str) -> Dict[str, Any]:
    return {"question": lookup.question, "language": language, "outcome": lookup.outcome,
            "entries": [scored_json(s, language) for s in lookup.entries],
            "candidates": [scored_json(s, language) for s in lookup.candidates]}


async def search(request: web.Request) -> web.Response:
    try:
        question, language = read_query(request.query)
    except BadQuery as bad:
        return web.json_response({"error": {"code": bad.code, "message": str(bad)}}, status=400)
    lookup = await asyncio.to_thread(request.app[KNOWLEDGE_BASE].lookup, question, language)
    return web.json_response(lookup_json(lookup, language))


def create_staff_api_app(knowledge_base: KnowledgeBase) -> web.Application:
    """The mounting app guards it with a staff login (editor or agent)."""
    app = web.Application()
    app[KNOWLEDGE_BASE] = knowledge_base
    app.router.add_get("/search", search)
    return app
