"""The knowledge base as a process uses it: a search index kept current in the background.

Each process (action server, web service) holds one ``KnowledgeBase``.  A daemon thread
reads the content version (one row) every ``poll_interval`` seconds.  When an editor's
save has changed it, the thread reads only the FAQs changed since the full index was
built, indexes them (milliseconds) and swaps in a ``LayeredIndex`` with one assignment;
a second thread then rebuilds the full index (seconds at 10k entries) and swaps that in.
A customer's question therefore always searches a complete, current index and never
waits for a rebuild (except the very first one after a start).

A question also checks the content version itself (one row) before it searches: the
customer who asks right after an editor's save gets the new answer, not the one from
up to a poll interval ago ("the very next question"). When it has changed, only the
changed FAQs are indexed then (milliseconds); the full rebuild stays in the background.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple, Union

from knowledge_base.search import LayeredIndex, Lookup, SearchIndex, Thresholds
from knowledge_base.storage import Faq, FaqRepository
from knowledge_base.unanswered import UnansweredRepository

logger = logging.getLogger(__name__)
FIRST_BUILD_WAIT = 300.0  # seconds a question may wait for the first index after a start (10k entries, busy machine)


@dataclass(frozen=True)
class Overlap:
    """FAQ ``slug``'s question ``question`` is also answered by FAQ ``other_slug`` (``score``)."""

    slug: str
    question: str
    other_id: int
    other_slug: str
    score: float


class KnowledgeBase:
    """The service the bot's actions and the staff pages call."""

    def __init__(self, repository: FaqRepository, poll_interval: float = 0.5, thresholds: Thresholds = Thresholds(),
                 unanswered: Optional[UnansweredRepository] = None):
        self.repository = repository
        self.unanswered = unanswered or UnansweredRepository(repository.engine)
        self.poll_interval = poll_interval
        self.thresholds = thresholds
        self._index: Optional[Union[SearchIndex, LayeredIndex]] = None  # what questions search
        self._base: Optional[SearchIndex] = None  # the last full index
        self._built = threading.Event()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._rebuild: Optional[threading.Thread] = None
        self._lock = threading.Lock()  # one swap at a time
        self._slugs: Optional[Tuple[object, Dict[str, Faq]]] = None  # (index, published FAQ by slug)

    # -- keeping the index current
    def start(self) -> "KnowledgeBase":
        """Build the index in the background and keep it current; safe to call again."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._follow, name="kb-index", daemon=True)
                self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in (self._thread, self._rebuild):
            if thread is not None:
                thread.join(timeout=30)

    def _full_index(self) -> SearchIndex:
        version, faqs = self.repository.published()
        index = SearchIndex(faqs, self.thresholds, version=version)
        logger.info("knowledge base index: %d FAQs at content version %d", len(index), version)
        return index

    def refresh(self) -> bool:
        """Bring the index up to the database's content version; True if it changed."""
        with self._lock:
            current = self.repository.content_version()
            if self._index is not None and self._index.version == current:
                return False
            if self._base is None:
                self._base = self._index = self._full_index()
                self._built.set()
                return True
            self._lay_changes_over_base()
        self._start_full_rebuild()
        return True

    def _lay_changes_over_base(self) -> None:
        """Index what changed since the full index was built and lay it over (caller holds the lock)."""
        version, changed = self.repository.changed_since(self._base.version)
        published = [f for f in changed if f.details.status == "published"]
        overlay = SearchIndex(published, self.thresholds, version=version)
        self._index = LayeredIndex(self._base, overlay, {f.id for f in changed}, version)

    def _start_full_rebuild(self) -> None:
        if self._rebuild is not None and self._rebuild.is_alive():
            return  # the one running reads the content after this change anyway or the next change starts another
        self._rebuild = threading.Thread(target=self._rebuild_full, name="kb-rebuild", daemon=True)
        self._rebuild.start()

    def _rebuild_full(self) -> None:
        try:
            base = self._full_index()
        except Exception:
            logger.exception("knowledge base full rebuild failed; the layered index stays in use")
            return
        with self._lock:
            self._base = base
            if base.version >= self._index.version:
                self._index = base
            else:  # saved again while rebuilding: lay those changes over the new base
                self._lay_changes_over_base()

    def _follow(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except Exception:  # the database may be briefly away: keep the old index, try again
                logger.exception("knowledge base refresh failed; still using content version %s",
                                 self._index.version if self._index else None)
            self._stop.wait(self.poll_interval)

    @property
    def index(self) -> Union[SearchIndex, LayeredIndex]:
        if self._index is None:
            self.start()
            if not self._built.wait(FIRST_BUILD_WAIT):
                raise TimeoutError("the knowledge base index is not built yet")
        return self._index

    # -- answering
    def lookup(self, question: str, language: str) -> Lookup:
        """What to do with a customer's question: answer, suggest a few FAQs, or don't know.
        ``language`` is the customer's; the search itself is the same for every language."""
        self._catch_up()
        return self.index.lookup(question)

    def _catch_up(self) -> None:
        """Read-your-writes for the next question after a save (see the module's docstring)."""
        if self._index is None:
            return  # the first build is under way; ``index`` waits for it
        try:
            self.refresh()
        except Exception as e:  # the database briefly away: answer from the index we have
            logger.warning("knowledge base version check failed (%s); answering from version %s",
                           type(e).__name__, self._index.version)

    def published_faq(self, faq_id: int) -> Optional[Faq]:
        """A published FAQ by id (a suggestion the customer picked), None if it is gone."""
        return self.index.by_id.get(faq_id)

    def published_by_slug(self, slug: str) -> Optional[Faq]:
        """A published FAQ by short name (where a quick-reply button leads), None if there is none."""
        index = self.index
        cached = self._slugs
        if cached is None or cached[0] is not index:  # built once per index, not per answer
            cached = self._slugs = (index, {f.slug: f for f in index.by_id.values()})
        return cached[1].get(slug)

    def answer(self, question: str, language: str) -> Optional[str]:
        """The answer text when the knowledge base is sure, else None (the older, simpler API)."""
        lookup = self.lookup(question, language)
        return lookup.best.faq.answer_in(language) if lookup.outcome == "answer" else None

    def record_shown(self, slug: str) -> bool:
        """The bot answered a customer with FAQ ``slug`` (counted for the editors)."""
        return self.repository.record_shown(slug)

    def record_feedback(self, slug: str, helpful: bool, conversation_id: str) -> bool:
        """A customer's "helpful" / "not helpful" on the answer of FAQ ``slug``."""
        return self.repository.record_feedback(slug, helpful, conversation_id)

    def record_unanswered(self, question: str, language: str, kind: str, conversation_id: str = "") -> bool:
        """Keep a question the knowledge base did not answer well (``kind``: dont_know,
        not_helpful, handoff) for the editors' list, its personal data and secrets masked
        first. False when there was nothing to keep (an empty question)."""
        from bot.privacy.masking import mask  # the recogniser loads spaCy: only where questions are kept

        question = (question or "").strip()
        if not question:
            return False
        self.unanswered.record(mask(question), language, kind, conversation_id)
        return True

    # -- content checks for editors
    def overlaps(self, faq: Faq, limit: int = 5) -> List[Overlap]:
        """Where another published FAQ competes for one of ``faq``'s questions: the bot then
        answers it with the other FAQ, or cannot choose and asks. Empty when the FAQ is not
        published (only published FAQs compete) or nothing competes."""
        if faq.details.status != "published":
            return []
        found: List[Overlap] = []
        self._catch_up()
        index = self.index
        for language, texts in faq.questions.items():
            for question in texts:
                ranked = index.rank(question, limit=3)
                mine = next((s.score for s in ranked if s.faq.id == faq.id), 0.0)
                for other in ranked:
                    if other.faq.id == faq.id or other.score < self.thresholds.answer:
                        continue
                    if other.score + self.thresholds.margin > mine:  # the bot cannot tell them apart
                        found.append(Overlap(faq.slug, question, other.faq.id, other.faq.slug, round(other.score, 3)))
                        break
                if len(found) >= limit:
                    return found
        return found

    def all_overlaps(self, max_faqs: int = 2000) -> List[Overlap]:
        """``overlaps`` of every published FAQ, each pair once (the first ``max_faqs`` FAQs:
        one search per question, a few seconds at that size)."""
        seen, result = set(), []
        for faq in list(self.index.by_id.values())[:max_faqs]:
            for overlap in self.overlaps(faq, limit=1):
                pair = frozenset((overlap.slug, overlap.other_slug))
                if pair not in seen:
                    seen.add(pair)
                    result.append(overlap)
        return result
