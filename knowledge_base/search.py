"""Find the FAQ that best matches a customer's question.

Questions are compared after folding Traditional to Simplified Chinese (OpenCC),
full-width to half-width and case, so one set of question variants serves all
three languages.  Chinese text is compared on character uni- and bigrams, other
text on words; the score is the cosine of the two feature sets.  The FAQs are read
from the database on every search, so an editor's save is used by the very next
question without retraining or restarting anything.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, List, Optional, Set

from knowledge_base.storage import Faq, FaqRepository

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about which FAQ is meant.
_STOP_WORDS = {
    "a", "an", "the", "is", "are", "do", "does", "i", "you", "my", "your", "to", "of",
    "what", "how", "can", "me", "please", "for", "it", "in", "on", "and", "or",
}
_STOP_CHARS = set("的了吗呢吧啊么我你是请问一下怎样这那")


@lru_cache(maxsize=1)
def _t2s():
    import opencc

    return opencc.OpenCC("t2s")


def normalise(text: str) -> str:
    text = unicodedata.normalize("NFKC", text or "").lower()
    return _t2s().convert(text)


def features(text: str) -> Set[str]:
    text = normalise(text)
    feats: Set[str] = set()
    for run in _CJK.findall(text):
        chars = [c for c in run]
        feats.update(c for c in chars if c not in _STOP_CHARS)
        feats.update(a + b for a, b in zip(chars, chars[1:]))
    feats.update(w for w in _WORD.findall(text) if w not in _STOP_WORDS)
    return feats


def similarity(a: Set[str], b: Set[str]) -> float:
    if not a or not b:
        return 0.0
    return len(a & b) / math.sqrt(len(a) * len(b))


@dataclass
class Match:
    faq: Faq
    score: float
    matched_question: str


def rank(question: str, faqs: Iterable[Faq]) -> List[Match]:
    """Every FAQ with its best-matching question variant, best first."""
    query = features(question)
    scored = []
    for faq in faqs:
        texts = [t for ts in faq.questions.values() for t in ts]
        if texts:
            score, text = max((similarity(query, features(t)), t) for t in texts)
            scored.append(Match(faq, score, text))
    return sorted(scored, key=lambda m: m.score, reverse=True)


def best_match(question: str, faqs: Iterable[Faq], threshold: float = 0.35) -> Optional[Match]:
    ranked = rank(question, faqs)
    return ranked[0] if ranked and ranked[0].score >= threshold else None


class KnowledgeBase:
    """The service the bot's actions call."""

    def __init__(self, repository: FaqRepository, threshold: float = 0.35):
        self.repository = repository
        self.threshold = threshold

    def answer(self, question: str, language: str) -> Optional[str]:
        match = best_match(question, self.repository.all(), self.threshold)
        return match.faq.answer_in(language) if match else None
