"""What every page of the FAQ editor shares: the app's keys and the template context."""
from __future__ import annotations

from typing import Callable

from aiohttp import web

from bot.settings import SUPPORTED_LANGUAGES
from knowledge_base.storage import STATUSES, FaqRepository

REPOSITORY = web.AppKey("faq_repository", FaqRepository)
USERNAME_OF = web.AppKey("username_of", Callable)
# Told of every saved change, rollback and export (the web service records it in its audit log).
ON_CHANGE = web.AppKey("on_change", Callable)
LANGUAGE_LABELS = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}


def field_name(lang: str) -> str:
    return lang.lower().replace("-", "_")


def page_context(**extra):
    return {"languages": [(lang, field_name(lang), LANGUAGE_LABELS[lang]) for lang in SUPPORTED_LANGUAGES],
            "statuses": STATUSES, **extra}
