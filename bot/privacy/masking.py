"""How recognised spans are shown: secrets as "••••" (not even their length), personal
data with only what a person needs to tell two apart (the last four digits, the
first letter and domain of an e-mail)."""
from __future__ import annotations

import functools
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from bot.privacy.recogniser import PERSONAL_KINDS, SECRET_KINDS, Span, find

MASK = "••••"
BULLET = "•"


def mask_value(kind: str, value: str) -> str:
    """The masked form of one value of ``kind`` ("13800138000" → "•••••••8000")."""
    if kind in SECRET_KINDS:
        return MASK
    if kind == "email":
        local, _, domain = value.partition("@")
        return f"{local[:1]}{BULLET * 3}@{domain}"
    if kind == "address":
        return BULLET * 6
    characters = re.sub(r"[\W_]", "", value)  # digits as typed, full-width ones too
    if len(characters) <= 4:
        return BULLET * len(characters)
    return BULLET * (len(characters) - 4) + characters[-4:]


def mask(text: str, expecting: Optional[str] = None, kinds: Iterable[str] = SECRET_KINDS | PERSONAL_KINDS) -> str:
    """``text`` with every span of ``kinds`` masked. ``expecting``: see ``find``."""
    kinds = frozenset(kinds)
    return mask_spans(text, [s for s in find(text, expecting=expecting) if s.kind in kinds])


def mask_spans(text: str, spans: List[Span]) -> str:
    """``text`` with the given spans (found in it by ``find``) masked."""
    for span in sorted(spans, key=lambda s: s.start, reverse=True):
        text = text[:span.start] + mask_value(span.kind, text[span.start:span.end]) + text[span.end:]
    return text


def mask_secrets(text: str, expecting: Optional[str] = None) -> str:
    """``text`` with its secrets masked and personal data left as typed: what the
    stores keep (personal data is masked per role where it is shown)."""
    return mask(text, expecting=expecting, kinds=SECRET_KINDS)


@functools.lru_cache(maxsize=4096)
def _personal_spans(text: str) -> Tuple[Span, ...]:
    # Cached: a console opening a long transcript, then the live feed and a reveal, ask
    # about the same stored lines again and again.
    return tuple(s for s in find(text) if s.kind in PERSONAL_KINDS)


def personal_spans(text: str) -> List[Span]:
    """The personal data in ``text`` (a stored line, its secrets already masked), in order."""
    return list(_personal_spans(text))


def masked_segments(text: str) -> Tuple[str, List[Dict[str, Any]]]:
    """``text`` with its personal data masked, and the same as segments for a page that
    offers to reveal each value: ``{"text": …}`` for what is shown as it is and
    ``{"span": n, "kind": …, "text": masked}`` for the n-th personal value (n is what a
    reveal asks for; the clear value is not in the segments). No segments when there is
    nothing to mask."""
    spans = personal_spans(text)
    if not spans:
        return text, []
    segments: List[Dict[str, Any]] = []
    position = 0
    for number, span in enumerate(spans):
        if span.start > position:
            segments.append({"text": text[position:span.start]})
        segments.append({"span": number, "kind": span.kind, "text": mask_value(span.kind, text[span.start:span.end])})
        position = span.end
    if position < len(text):
        segments.append({"text": text[position:]})
    return "".join(s["text"] for s in segments), segments
