"""Chinese script handling shared by the NLU components, the knowledge base and replies.

Ground floor: imports nothing of ours. OpenCC does the conversions; its converters
are built once per process (they load dictionaries).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache


@lru_cache(maxsize=4)
def converter(config: str):
    import opencc

    return opencc.OpenCC(config)


def to_simplified(text: str) -> str:
    """Traditional folded to Simplified (OpenCC ``t2s``); other text unchanged."""
    return converter("t2s").convert(text) if text else text


def to_simplified_phrases(text: str) -> str:
    """Like ``to_simplified``, and Taiwan phrasing to mainland phrasing too (OpenCC ``tw2sp``:
    網路 → 网络, 簡訊 → 短信): for comparing what people write, not for showing it."""
    return converter("tw2sp").convert(text) if text else text


def to_traditional(text: str) -> str:
    """Simplified to Traditional with Taiwan phrasing (OpenCC ``s2twp``): 软件 → 軟體."""
    return converter("s2twp").convert(text) if text else text


def fold_width(text: str) -> str:
    """Full-width Latin letters, digits and punctuation to their half-width forms
    (ＡＢＣ１２３ → ABC123); CJK characters are unchanged."""
    return "".join(
        unicodedata.normalize("NFKC", ch) if "\uff01" <= ch <= "\uff5e" or ch == "\u3000" else ch for ch in text
    )


# A tag pasted or typed into a chat ("<img src=x onerror=…>怎么交话费") says nothing about what
# the customer wants. Only tag-like runs count: "a < b and c > d" is words.
_MARKUP = re.compile(r"</?[A-Za-z!][^<>\n]{0,200}>")


def blank_markup(text: str) -> str:
    """Markup tags replaced by as many spaces (offsets into the text stay valid)."""
    return _MARKUP.sub(lambda m: " " * len(m.group()), text)


def has_markup(text: str) -> bool:
    """Whether the text holds a markup tag (the same rule as ``blank_markup``)."""
    return _MARKUP.search(text) is not None
