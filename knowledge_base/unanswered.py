"""Questions the knowledge base did not answer well: what editors should write next.

Recorded from the bot's side (don't-know, an answer marked "not helpful") and from the
desk (a question that ended in a handoff), always masked with ``bot.privacy`` first: the
table is read by editors, who must not see a customer's phone number or PIN.

``cluster_questions`` groups similar questions so the editor sees "37 people asked about
eSIM" instead of 37 lines: TF-IDF over the same word and character tokens the search
index uses (jieba words, Chinese character pairs, stemmed English words; Traditional
folded to Simplified), then agglomerative clustering (scikit-learn) with a cosine
distance threshold, so the number of groups follows the questions, not a guess.
"""
from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from knowledge_base.search import char_tokens, normalise, word_tokens
from knowledge_base.storage import metadata

KINDS = ("dont_know", "not_helpful", "handoff")
MAX_QUESTION_CHARS = 500
MAX_CLUSTERED = 5000  # the newest questions of a period (clustering is quadratic in memory)
EXAMPLES_PER_CLUSTER = 5
# Cosine distance under which two groups are merged (average linkage): paraphrases of one
# need ("怎么开通国际漫游" / "出国漫游怎么开") share most tokens; different needs share few.
DISTANCE_THRESHOLD = 0.75

unanswered = sa.Table(
    "kb_unanswered",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("question", sa.Text, nullable=False),  # masked
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),  # dont_know | not_helpful | handoff
    sa.Column("conversation_id", sa.String(255), nullable=False, server_default=""),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_kb_unanswered_created_at", "created_at"),
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def _tokens(text: str) -> List[str]:
    return word_tokens(text) + char_tokens(text)


def cluster_questions(texts: List[str], language: Optional[str] = None, keep_members: bool = False) -> List[Dict]:
    """Similar questions grouped, biggest group first: ``{"label", "count", "examples"}``.
    ``label`` is the group's most typical question (the one nearest its centre), ``examples``
    its distinct questions, most asked first. ``language`` only documents what the texts are:
    the tokens fold scripts and languages alike."""
    texts = [t.strip() for t in texts if t and t.strip()]
    if not texts:
        return []
    distinct = Counter(texts)
    uniques = list(distinct)
    groups: List[List[int]]
    tokenised = [_tokens(t) for t in uniques]
    usable = [i for i, toks in enumerate(tokenised) if toks]
    if len(usable) < 2:
        groups = [[i] for i in range(len(uniques))]
        centres = {tuple(g): g[0] for g in groups}
    else:
        from sklearn.cluster import AgglomerativeClustering
        from sklearn.feature_extraction.text import TfidfVectorizer

        vectors = TfidfVectorizer(analyzer=lambda i: tokenised[i], sublinear_tf=True).fit_transform(usable)
        labels = AgglomerativeClustering(
            n_clusters=None, distance_threshold=DISTANCE_THRESHOLD, affinity="cosine", linkage="average"
        ).fit_predict(vectors.toarray())
        by_label: Dict[int, List[int]] = {}
        for position, label in enumerate(labels):
            by_label.setdefault(int(label), []).append(position)
        groups, centres = [], {}
        for positions in by_label.values():
            members = [usable[p] for p in positions]
            block = vectors[positions]
            centre = block.mean(axis=0).A1
            nearest = positions[int((block @ centre).argmax())]
            groups.append(members)
            centres[tuple(members)] = usable[nearest]
        # Questions with no token at all (only punctuation, masked digits) stay on their own.
        groups += [[i] for i, toks in enumerate(tokenised) if not toks]
        centres.update({(i,): i for i, toks in enumerate(tokenised) if not toks})
    clusters = []
    for members in groups:
        examples = sorted(members, key=lambda i: (-distinct[uniques[i]], uniques[i]))
        clusters.append({
            "label": uniques[centres[tuple(members)]],
            "count": sum(distinct[uniques[i]] for i in members),
            "examples": [uniques[i] for i in examples[:EXAMPLES_PER_CLUSTER]],
            "_members": [uniques[i] for i in members],
        })
    clusters.sort(key=lambda c: (-c["count"], normalise(c["label"])))
    return clusters if keep_members else [{k: v for k, v in c.items() if k != "_members"} for c in clusters]


class UnansweredRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def record(self, question: str, language: str, kind: str, conversation_id: str = "") -> None:
        """Keep one question (the caller masks it: see ``KnowledgeBase.record_unanswered``)."""
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}")
        with self.engine.begin() as conn:
            conn.execute(unanswered.insert().values(
                question=question[:MAX_QUESTION_CHARS], language=language[:8], kind=kind,
                conversation_id=(conversation_id or "")[:255], created_at=_now()))

    def questions(self, since: Optional[dt.datetime] = None, until: Optional[dt.datetime] = None,
                  language: Optional[str] = None, limit: int = MAX_CLUSTERED) -> List[Dict]:
        """The newest recorded questions of the period, newest first."""
        query = sa.select(unanswered).order_by(unanswered.c.created_at.desc(), unanswered.c.id.desc()).limit(limit)
        if since is not None:
            query = query.where(unanswered.c.created_at >= since)
        if until is not None:
            query = query.where(unanswered.c.created_at < until)
        if language:
            query = query.where(unanswered.c.language == language)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def clusters(self, since: Optional[dt.datetime] = None, until: Optional[dt.datetime] = None,
                 language: Optional[str] = None) -> List[Dict]:
        """``cluster_questions`` over the period's questions; each cluster also counts its kinds."""
        rows = self.questions(since, until, language)
        clusters = cluster_questions([r["question"] for r in rows], language, keep_members=True)
        kinds_of: Dict[str, Counter] = {}
        for r in rows:
            kinds_of.setdefault(r["question"].strip(), Counter())[r["kind"]] += 1
        for cluster in clusters:
            kinds = Counter()
            for member in cluster.pop("_members"):
                kinds.update(kinds_of.get(member, {}))
            cluster["kinds"] = dict(kinds)
        return clusters
