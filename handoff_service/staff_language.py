"""Which language a staff page speaks, and the switcher that changes it.

The language is the switcher's cookie if set, else the browser's Accept-Language
(``bot.staff_i18n``). A middleware puts it, and the page's JavaScript messages, into
the context of every template any sub-app renders.
"""
from __future__ import annotations

import aiohttp_jinja2
from aiohttp import web

from bot.settings import SUPPORTED_LANGUAGES
from bot.staff_i18n import LANGUAGE_COOKIE, choose_language, page_context
from handoff_service.auth import _safe_next

LANGUAGE = "staff_language"
COOKIE_MAX_AGE = 365 * 24 * 3600


def request_language(request: web.Request) -> str:
    return request.get(LANGUAGE) or choose_language(
        request.cookies.get(LANGUAGE_COOKIE), request.headers.get("Accept-Language")
    )


@web.middleware
async def staff_language_middleware(request: web.Request, handler):
    language = request_language(request)
    request[LANGUAGE] = language
    context = request.setdefault(aiohttp_jinja2.REQUEST_CONTEXT_KEY, {})
    context.update(page_context(language), current_path=request.path_qs)
    response = await handler(request)
    if isinstance(response, web.Response) and response.content_type == "text/html":
        response.headers.setdefault("Content-Language", language)
    return response


async def set_language(request: web.Request) -> web.Response:
    form = await request.post()
    language = str(form.get("lang", ""))
    if language not in SUPPORTED_LANGUAGES:
        raise web.HTTPBadRequest(text=f"Unknown language; choose one of {', '.join(SUPPORTED_LANGUAGES)}.")
    response = web.HTTPSeeOther(_safe_next(form.get("next")))
    response.set_cookie(LANGUAGE_COOKIE, language, max_age=COOKIE_MAX_AGE, path="/", samesite="Lax", httponly=True)
    raise response
