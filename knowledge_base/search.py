"""Find the FAQ that answers a customer's question, or say honestly that none does.

Text is folded first (full-width to half-width, Traditional to Simplified, lower case)
so one set of question variants serves all three languages.  Chinese is cut into words
by jieba, other text into words with a light English stemmer.  Every question variant
of every published FAQ is one document of a BM25 index (bm25s, sparse matrices); an
FAQ scores as its best variant.  A second BM25 index over Chinese character uni- and
bigrams catches paraphrases that jieba cuts differently ("交话费" / "缴费").

Raw BM25 scores grow with the query's length, so each is divided by the most the
query could score (every query term matched, at full weight; terms the index has
never seen count as rare, so a question about something else scores low).  The
resulting 0..1 confidence is what the three outcomes are calibrated on:

* answer     the best FAQ is confident and clearly ahead of the next;
* suggest    a few FAQs are plausible: the customer picks one ("Did you mean…");
* dont_know  nothing is close: say so and offer a person.

The index is built once per content version (see ``knowledge_base.service``), never
on a customer's question.
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Set, Tuple

import bm25s
import numpy as np

from bot.chinese import blank_markup, fold_width, to_simplified_phrases
from knowledge_base.storage import Faq

_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+")
# Words that say nothing about which FAQ is meant.
_STOP_WORDS = frozenset(
    "a an the is are am was be do does did i you my your me we our us to of what how can could would "
    "please for it in on at and or with about this that there any some get i'm hi hello want need know tell".split()
)
_STOP_CHARS = frozenset("的了吗呢吧啊么嘛呀哦我你您是请问一下怎样这那个就都也还和在有要想")
_STOP_CJK_WORDS = frozenset(
    ["请问", "一下", "怎么", "怎么样", "什么", "如何", "可以", "能不能", "是不是", "我的", "你们", "您好", "你好",
     "吗", "呢", "的", "了", "吧", "啊", "我", "你", "您", "是", "想", "要", "在", "有", "和", "就", "都", "也", "还",
     "能", "会", "个", "下", "这", "那", "哪", "几"]
)
_K1, _B = 1.2, 0.75  # BM25's usual constants
_COMMON_TERM_SHARE, _COMMON_TERM_FLOOR = 0.02, 500  # see _Bm25Field.scores


@dataclass(frozen=True)
class Thresholds:
    """Confidence cut-offs (0..1), set on the demo content's variants and checked by `bench/kb.py`."""

    answer: float = 0.50  # the best FAQ is answered from here ...
    margin: float = 0.15  # ... when it leads the next FAQ by at least this much
    suggest: float = 0.30  # FAQs from here are offered as choices
    max_suggestions: int = 3


@dataclass(frozen=True)
class Signals:
    """Which parts of the search are on (all, in production). ``bench/kb.py --ablation``
    turns them off one at a time to measure what each one gains."""

    fold_traditional: bool = True  # Traditional → Simplified and Taiwan wording folded before matching
    jieba: bool = True  # Chinese cut into jieba words (off: single characters) in the word field
    variants: bool = True  # one BM25 document per question variant (off: one per FAQ, questions joined)
    chars: bool = True  # the Chinese character uni/bigram field beside the word field
    answers: bool = True  # the answer text as a weak extra field


ALL_SIGNALS = Signals()


@dataclass
class Scored:
    faq: Faq
    score: float
    matched_question: str


@dataclass
class Lookup:
    """What the knowledge base makes of one question."""

    question: str
    outcome: str  # "answer" | "suggest" | "dont_know"
    entries: List[Scored] = field(default_factory=list)  # the answer, or the suggestions, best first
    candidates: List[Scored] = field(default_factory=list)  # the best competing FAQs, for staff

    @property
    def best(self) -> Optional[Scored]:
        return self.entries[0] if self.entries else None


# Taiwan and Hong Kong words for what the demo content says in mainland words; OpenCC's
# phrase conversion covers the common ones (網路 → 网络, 簡訊 → 短信), these are the
# telecom ones it leaves alone (and 缴费 / 交费, one word written two ways).
_REGIONAL_SYNONYMS = {"缴": "交", "储值": "充值", "加值": "充值", "门市": "营业厅", "停话": "停机", "方案": "套餐", "资费": "费用"}
_SYNONYM = re.compile("|".join(map(re.escape, _REGIONAL_SYNONYMS)))




def normalise(text: str, signals: Signals = ALL_SIGNALS) -> str:
    """Width, script and regional wording folded, markup dropped: what the index compares."""
    if not signals.fold_traditional:
        return fold_width(blank_markup(text or "")).lower()
    text = to_simplified_phrases(fold_width(blank_markup(text or ""))).lower()
    return _SYNONYM.sub(lambda m: _REGIONAL_SYNONYMS[m.group(0)], text)


@lru_cache(maxsize=1)
def _jieba():
    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _stem(word: str) -> str:
    """Enough English stemming for FAQ questions: bills → bill, roaming → roam, charged → charg."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def word_tokens(text: str, signals: Signals = ALL_SIGNALS) -> List[str]:
    """jieba words for Chinese, stemmed words for the rest; filler words dropped."""
    text = normalise(text, signals)
    out: List[str] = []
    for run in _CJK.findall(text):
        if signals.jieba:
            out.extend(w for w in _jieba().lcut(run) if w not in _STOP_CJK_WORDS)
        else:
            out.extend(c for c in run if c not in _STOP_CHARS)
    out.extend(_stem(w) for w in _WORD.findall(text) if w not in _STOP_WORDS)
    return out


def char_tokens(text: str, signals: Signals = ALL_SIGNALS) -> List[str]:
    """Chinese characters and character pairs (filler characters dropped from the singles)."""
    text = normalise(text, signals)
    out: List[str] = []
    for run in _CJK.findall(text):
        out.extend(c for c in run if c not in _STOP_CHARS)
        out.extend(a + b for a, b in zip(run, run[1:]))
    return out


def _exact_key(text: str) -> str:
    """The question with case, script, width, spaces and punctuation folded away."""
    return re.sub(r"[\W_]+", "", normalise(text))


@lru_cache(maxsize=100_000)
def _content_tokens(text: str, signals: Signals = ALL_SIGNALS) -> Tuple[Tuple[str, ...], Tuple[str, ...]]:
    """Word and character tokens of FAQ content, remembered across index rebuilds: a rebuild
    after one edit only cuts the text that changed (jieba is most of a build's time)."""
    return tuple(word_tokens(text, signals)), tuple(char_tokens(text, signals))


class _Bm25Field:
    """One BM25 index over the variants, scoring a query as a 0..1 share of a perfect match."""

    def __init__(self, docs: Sequence[List[str]]):
        self.n = max(1, len(docs))
        self.max_doc_freq = max(_COMMON_TERM_FLOOR, int(self.n * _COMMON_TERM_SHARE))
        self.model = bm25s.BM25(k1=_K1, b=_B, method="lucene")
        if any(docs):  # (no Chinese at all leaves the character field empty: nothing to index)
            self.model.index(list(docs), show_progress=False)
        self.avg_len = max(1.0, sum(len(d) for d in docs) / self.n)
        self.doc_freq: Dict[str, int] = {}
        for doc in docs:
            for term in set(doc):
                self.doc_freq[term] = self.doc_freq.get(term, 0) + 1

    def _idf(self, term: str) -> float:
        # bm25s's "lucene" idf; a term no variant contains weighs as much as the rarest can.
        df = self.doc_freq.get(term, 0)
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))

    def perfect_score(self, query: List[str]) -> float:
        """What the query would score against a variant that says exactly the query."""
        length_norm = _K1 * (1 - _B + _B * len(query) / self.avg_len)
        counts: Dict[str, int] = {}
        for t in query:
            counts[t] = counts.get(t, 0) + 1
        return sum(self._idf(t) * tf / (tf + length_norm) for t, tf in counts.items())

    def scores(self, query: List[str]) -> Optional[np.ndarray]:
        """Per variant, the query's BM25 score over its perfect score (0..1); None for an empty query."""
        if not query:
            return None
        # A term in a large share of the variants says little and costs most (its posting list is
        # long): past a few thousand entries such terms are left out of the query altogether.
        query = [t for t in query if self.doc_freq.get(t, 0) <= self.max_doc_freq] or query
        known = [t for t in query if t in self.doc_freq]
        if not known:
            return np.zeros(self.n, dtype=np.float32)
        return np.minimum(self.model.get_scores(known) / self.perfect_score(query), 1.0)


class SearchIndex:
    """Every published FAQ's question variants, ready to rank a question in a few milliseconds."""

    def __init__(
        self,
        faqs: Sequence[Faq],
        thresholds: Thresholds = Thresholds(),
        version: int = 0,
        use_chars: bool = True,
        char_weight: float = 0.5,
        answer_weight: float = 0.15,
        signals: Signals = ALL_SIGNALS,
    ):
        self.version = version
        self.thresholds = thresholds
        self.signals = signals
        self.faqs: List[Faq] = []
        self.texts: List[str] = []
        doc_owner: List[int] = []
        # A question typed exactly as an editor wrote a variant is answered with that FAQ
        # (a quick-reply button's text, say), however close its neighbours score.
        self.exact: Dict[str, Optional[int]] = {}
        for faq in faqs:
            texts = [t for ts in faq.questions.values() for t in ts]
            if not texts:
                continue
            self.faqs.append(faq)
            owner = len(self.faqs) - 1
            for text in texts:
                key = _exact_key(text)
                self.exact[key] = owner if self.exact.get(key, owner) == owner else None  # None: two FAQs
            if not signals.variants:
                texts = ["\n".join(texts)]
            doc_owner.extend([owner] * len(texts))
            self.texts.extend(texts)
        self.by_id = {f.id: f for f in self.faqs}
        self.doc_owner = np.asarray(doc_owner, dtype=np.int64)
        # Variants are stored FAQ by FAQ: each FAQ's block starts here (for the per-FAQ max).
        self.starts = np.flatnonzero(np.r_[True, self.doc_owner[1:] != self.doc_owner[:-1]]) if doc_owner else None
        self.use_chars = use_chars and signals.chars
        self.char_weight = char_weight if self.use_chars else 0.0
        tokens = [_content_tokens(t, signals) for t in self.texts]
        self.words = _Bm25Field([list(w) for w, _ in tokens]) if self.texts else None
        self.chars = _Bm25Field([list(c) for _, c in tokens]) if self.texts and self.use_chars else None
        self.answer_weight = answer_weight if signals.answers else 0.0
        self.answers = (
            _Bm25Field([list(sum(_content_tokens(" ".join(f.answers.values()), signals), ())) for f in self.faqs])
            if self.faqs and self.answer_weight else None
        )

    def __len__(self) -> int:
        return len(self.faqs)

    def variant_scores(self, question: str) -> Optional[np.ndarray]:
        if self.words is None:
            return None
        words = self.words.scores(word_tokens(question, self.signals))
        chars = self.chars.scores(char_tokens(question, self.signals)) if self.chars is not None else None
        if words is None and chars is None:
            return None
        if chars is None:
            return words
        if words is None:
            return chars
        return (1 - self.char_weight) * words + self.char_weight * chars

    def rank(self, question: str, limit: int = 5) -> List[Scored]:
        """The best FAQs for the question (each by its best variant), best first."""
        scores = self.variant_scores(question)
        if scores is None:
            return []
        per_faq = self._best_variant_per_faq(scores)
        if self.answers is not None:
            answer_scores = self.answers.scores(word_tokens(question, self.signals) + char_tokens(question, self.signals))
            if answer_scores is not None:
                per_faq = (1 - self.answer_weight) * per_faq + self.answer_weight * answer_scores
        top = per_faq.argsort()[::-1][:limit] if len(per_faq) <= limit else self._top(per_faq, limit)
        result = []
        for i in top:
            if per_faq[i] <= 0:
                break
            block = slice(self.starts[i], self.starts[i + 1] if i + 1 < len(self.starts) else len(scores))
            best_variant = self.starts[i] + int(scores[block].argmax())
            result.append(Scored(self.faqs[i], float(per_faq[i]), self.texts[best_variant]))
        return result

    def _best_variant_per_faq(self, scores: np.ndarray) -> np.ndarray:
        """Each FAQ's best variant score.  Only the few variants sharing a term with the
        question are looked at (at 10k entries a pass over all of them was most of a search)."""
        per_faq = np.zeros(len(self.faqs), dtype=np.float32)
        hits = np.flatnonzero(scores)
        if hits.size:
            owners = self.doc_owner[hits]
            first_of_owner = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
            per_faq[owners[first_of_owner]] = np.maximum.reduceat(scores[hits], first_of_owner)
        return per_faq

    @staticmethod
    def _top(values: np.ndarray, k: int) -> np.ndarray:
        part = np.argpartition(values, -k)[-k:]
        return part[values[part].argsort()[::-1]]

    def exact_faq(self, question: str) -> Optional[Faq]:
        owner = self.exact.get(_exact_key(question))
        return self.faqs[owner] if owner is not None else None

    def lookup(self, question: str) -> Lookup:
        return _lookup(self, question, self.thresholds)


class LayeredIndex:
    """A full index with the FAQs changed since it was built laid over it.

    Rebuilding everything takes seconds at 10k entries; an index of just the changed FAQs
    takes milliseconds.  So a change is searchable at once through this, and the full
    rebuild that follows in the background replaces it.
    """

    def __init__(self, base: SearchIndex, overlay: SearchIndex, hidden: Set[int], version: int):
        self.base, self.overlay, self.hidden, self.version = base, overlay, hidden, version
        self.thresholds = base.thresholds
        self.by_id = {i: f for i, f in base.by_id.items() if i not in hidden}
        self.by_id.update(overlay.by_id)

    def __len__(self) -> int:
        return len(self.by_id)

    def rank(self, question: str, limit: int = 5) -> List[Scored]:
        kept = [s for s in self.base.rank(question, limit + len(self.hidden)) if s.faq.id not in self.hidden]
        ranked = kept + self.overlay.rank(question, limit)
        return sorted(ranked, key=lambda s: s.score, reverse=True)[:limit]

    def exact_faq(self, question: str) -> Optional[Faq]:
        faq = self.overlay.exact_faq(question)
        if faq is None:
            faq = self.base.exact_faq(question)
        return faq if faq is not None and faq.id in self.by_id else None

    def lookup(self, question: str) -> Lookup:
        return _lookup(self, question, self.thresholds)


def _lookup(index, question: str, thresholds: Thresholds) -> Lookup:
    ranked = index.rank(question, limit=max(5, thresholds.max_suggestions))
    exact = index.exact_faq(question)
    if exact is not None:
        hit = next((s for s in ranked if s.faq.id == exact.id), None)
        if hit is not None:
            return Lookup(question, "answer", [hit], ranked)
    return decide(question, ranked, thresholds)


def decide(question: str, ranked: List[Scored], t: Thresholds) -> Lookup:
    """The outcome the bot acts on, from the ranked FAQs and their 0..1 confidences."""
    if not ranked or ranked[0].score < t.suggest:
        return Lookup(question, "dont_know", [], ranked)
    runner_up = ranked[1].score if len(ranked) > 1 else 0.0
    if ranked[0].score >= t.answer and ranked[0].score - runner_up >= t.margin:
        return Lookup(question, "answer", ranked[:1], ranked)
    plausible = [s for s in ranked[: t.max_suggestions] if s.score >= t.suggest]
    return Lookup(question, "suggest", plausible, ranked)


def rank_all(question: str, faqs: Sequence[Faq]) -> List[Scored]:
    """Rank a handful of FAQs without keeping an index (tests, one-off checks)."""
    return SearchIndex(faqs).rank(question, limit=len(faqs))


def lexical_baseline(faqs: Sequence[Faq]) -> "SearchIndex":
    """Plain BM25 over the same tokens, no character signal: the benchmark's baseline."""
    return SearchIndex(faqs, use_chars=False, answer_weight=0.0)


def best_match(question: str, faqs: Sequence[Faq], thresholds: Thresholds = Thresholds()) -> Optional[Scored]:
    """The FAQ to answer with, or None when the knowledge base would not answer outright."""
    lookup = SearchIndex(faqs, thresholds).lookup(question)
    return lookup.best if lookup.outcome == "answer" else None

