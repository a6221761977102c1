"""The staff pages' languages: zh-Hans, zh-Hant and en, like the chat page.

Messages are written in English in the templates (``{{ _("Log out") }}``, ``{% trans %}``)
and the console's JavaScript (``t('Log out')``); their translations are gettext catalogs
read with Babel: ``locales/zh_Hans.po`` holds every Simplified Chinese translation,
``locales/zh_Hant.po`` only the Traditional ones written by hand (Taiwan and Hong Kong
wording that a character conversion gets wrong). Every other Traditional message is the
Simplified one converted by OpenCC (``bot.chinese.to_traditional``), so a new string
needs one translation, not two. ``tests/test_staff_i18n.py`` extracts every message from
the templates and scripts with Babel and fails on any without a translation.

The language comes from the switcher's cookie, else the browser's Accept-Language.
Used by the web service (login, agent console, audit log) and the FAQ editor.
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Dict, Optional

import jinja2
from jinja2 import pass_context

from bot.chinese import to_traditional
from bot.settings import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES

HERE = Path(__file__).parent
LOCALES = HERE / "locales"
TEMPLATES = HERE / "templates"
LANGUAGE_COOKIE = "staff_lang"
# Shown in the switcher, each in its own script.
LANGUAGE_NAMES = {"zh-Hans": "简体中文", "zh-Hant": "繁體中文", "en": "English"}
TRADITIONAL_REGIONS = ("tw", "hk", "mo")


def _read_po(path: Path) -> Dict[str, str]:
    from babel.messages.pofile import read_po

    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_po(f)
    return {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}


@lru_cache(maxsize=None)
def catalog(language: str) -> Dict[str, str]:
    """English message → its translation for ``language`` (empty for English)."""
    if language == "zh-Hans":
        return _read_po(LOCALES / "zh_Hans.po")
    if language == "zh-Hant":
        derived = {msgid: to_traditional(text) for msgid, text in catalog("zh-Hans").items()}
        return {**derived, **_read_po(LOCALES / "zh_Hant.po")}
    return {}


def translate(language: str, message: str) -> str:
    return catalog(language).get(message, message)


def _tag_language(tag: str) -> Optional[str]:
    """One Accept-Language tag as one of ours: zh-TW, zh-HK, zh-Hant-* → zh-Hant; other zh → zh-Hans."""
    parts = tag.strip().lower().replace("_", "-").split("-")
    if parts[0] == "en":
        return "en"
    if parts[0] == "zh":
        return "zh-Hant" if "hant" in parts[1:] or any(p in TRADITIONAL_REGIONS for p in parts[1:]) else "zh-Hans"
    return None


def from_accept_language(header: Optional[str]) -> Optional[str]:
    """The first of our languages the browser asks for, by its quality values (RFC 9110)."""
    wanted = []
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                continue
        language = _tag_language(tag) if tag.strip() else None
        if language and quality > 0:
            wanted.append((-quality, position, language))
    return min(wanted)[2] if wanted else None


def choose_language(cookie: Optional[str], accept_language: Optional[str]) -> str:
    if cookie in SUPPORTED_LANGUAGES:
        return cookie
    return from_accept_language(accept_language) or DEFAULT_LANGUAGE


@pass_context
def _gettext(context, message: str) -> str:
    return translate(context.get("lang", DEFAULT_LANGUAGE), message)


@pass_context
def _ngettext(context, singular: str, plural: str, count: int) -> str:
    # Chinese has one form; English picks by count.
    return translate(context.get("lang", DEFAULT_LANGUAGE), singular if count == 1 else plural)


def install(env: jinja2.Environment) -> jinja2.Environment:
    """Give a Jinja2 environment ``_``, ``{% trans %}`` and the language switcher template.

    Templates read the language from the ``lang`` context variable (the web service's
    middleware puts it in every page's context)."""
    env.add_extension("jinja2.ext.i18n")
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True)
    env.loader = jinja2.ChoiceLoader([env.loader, jinja2.FileSystemLoader(TEMPLATES)])
    env.globals["language_names"] = LANGUAGE_NAMES
    return env


def page_context(language: str) -> dict:
    """What every staff page's template needs: its language and the JavaScript's messages."""
    return {"lang": language, "js_messages": catalog(language)}
