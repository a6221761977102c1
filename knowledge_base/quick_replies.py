"""Quick-reply buttons of an FAQ as editors write them, one per line: ``title | payload``.

The payload is ``faq:<short name>`` (the button answers that FAQ) or the words a customer
would type (handled as if typed). Without ``|`` the title is also the payload ("转人工").
The editor's form and the import read them here, so both refuse the same things; whether a
``faq:`` target exists is checked by the caller, which knows the FAQs.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, Optional, Set, Tuple

from bot.chinese import has_markup
from knowledge_base.messages import Message
from knowledge_base.storage import (
    FAQ_PAYLOAD_PREFIX,
    MAX_BUTTON_PAYLOAD_BYTES,
    MAX_BUTTON_TITLE_CHARS,
    MAX_BUTTONS_PER_LANGUAGE,
    SLUG,
    Buttons,
    QuickReply,
)


def parse_lines(lines: Iterable[str], language: str) -> Tuple[List[QuickReply], Optional[Message]]:
    """The buttons of one language from the editor's lines, or the first thing wrong with them."""
    buttons: List[QuickReply] = []
    for line in (l.strip() for l in lines):
        if not line:
            continue
        title, bar, payload = (part.strip() for part in line.partition("|"))
        payload = payload if bar else title
        if not title or not payload:
            return [], Message("a %(language)s button needs a title and a payload (write it as: title | payload)",
                               language=language)
        if len(title) > MAX_BUTTON_TITLE_CHARS:
            return [], Message("the %(language)s button title “%(title)s” is longer than %(max)s characters",
                               language=language, title=title[:MAX_BUTTON_TITLE_CHARS], max=MAX_BUTTON_TITLE_CHARS)
        if len(payload.encode("utf-8")) > MAX_BUTTON_PAYLOAD_BYTES:
            return [], Message("the payload of the %(language)s button “%(title)s” is longer than %(max)s bytes "
                               "(a messaging app's limit: about 21 Chinese characters)",
                               language=language, title=title, max=MAX_BUTTON_PAYLOAD_BYTES)
        if has_markup(title) or has_markup(payload):
            return [], Message("HTML tags are not allowed in buttons")
        if payload.startswith("/"):
            return [], Message("the payload of the %(language)s button “%(title)s” starts with “/”: write what a "
                               "customer would type, or faq:short-name to answer another FAQ",
                               language=language, title=title)
        if payload.lower().startswith(FAQ_PAYLOAD_PREFIX):
            slug = payload[len(FAQ_PAYLOAD_PREFIX):].strip().lower()
            if not SLUG.fullmatch(slug):
                return [], Message("the %(language)s button “%(title)s” names no valid short name after faq:",
                                   language=language, title=title)
            payload = FAQ_PAYLOAD_PREFIX + slug
        buttons.append(QuickReply(title, payload))
    if len(buttons) > MAX_BUTTONS_PER_LANGUAGE:
        return [], Message("at most %(max)s %(language)s buttons", max=MAX_BUTTONS_PER_LANGUAGE, language=language)
    return buttons, None


def as_text(buttons: List[QuickReply]) -> str:
    """The editor's lines for some buttons (the form's textarea, a spreadsheet cell)."""
    return "\n".join(b.as_line() for b in buttons)


def targets(buttons: Buttons) -> Set[str]:
    """The short names of the FAQs the buttons lead to."""
    return {b.faq_slug for items in buttons.values() for b in items if b.faq_slug}


def missing_target(buttons: Buttons, own_slug: str, known: Set[str]) -> Optional[Message]:
    """Why a ``faq:`` payload cannot be kept: it leads to its own FAQ or to none of ``known``."""
    for slug in sorted(targets(buttons)):
        if slug == own_slug:
            return Message("a button cannot lead to its own FAQ (“%(slug)s”)", slug=slug)
        if slug not in known:
            return Message("a button leads to faq:%(slug)s, but no FAQ has that short name", slug=slug)
    return None


def parse_all(cells: Dict[str, str]) -> Tuple[Buttons, Optional[Message]]:
    """Every language's buttons from its text (language → lines), or the first thing wrong."""
    buttons: Buttons = {}
    for language, text in cells.items():
        parsed, error = parse_lines(text.splitlines(), language)
        if error:
            return {}, error
        if parsed:
            buttons[language] = parsed
    return buttons, None
