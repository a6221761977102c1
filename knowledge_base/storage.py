"""FAQ storage: one row per FAQ, one row per question variant, answers per language,
a snapshot of every saved version, and one content version number for the whole
knowledge base.

The content version is bumped in the same transaction as every change, so a process
that keeps a search index only has to compare one integer to know it is stale.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.chinese import to_traditional
from bot.settings import SUPPORTED_LANGUAGES

metadata = sa.MetaData()

def _faq_reference() -> sa.Column:
    """The column of a row that belongs to one FAQ (gone with it)."""
    return sa.Column("faq_id", sa.Integer, sa.ForeignKey("kb_faqs.id", ondelete="CASCADE"), nullable=False)


faqs = sa.Table(
    "kb_faqs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("slug", sa.String(80), nullable=False, unique=True),
    sa.Column("answer_zh_hans", sa.Text, nullable=False, server_default=""),
    sa.Column("answer_zh_hant", sa.Text, nullable=False, server_default=""),
    sa.Column("answer_en", sa.Text, nullable=False, server_default=""),
    sa.Column("version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    sa.Column("updated_by", sa.String(80), nullable=False, server_default="system"),
    # Only published entries are answered; drafts wait for review, archived ones are kept for history.
    sa.Column("status", sa.String(16), nullable=False, server_default="published"),
    sa.Column("category", sa.String(80), nullable=False, server_default=""),
    # The agents' skill group a handoff after this answer goes to (billing, technical, ...).
    sa.Column("skill_group", sa.String(80), nullable=False, server_default=""),
    sa.Column("tags", sa.String(500), nullable=False, server_default=""),  # comma-separated
    # The content version of this FAQ's last change: a running index asks only for what changed.
    sa.Column("changed_in", sa.BigInteger, nullable=False, server_default="0"),
    # How often the bot has answered with this FAQ (a counter, not content: no new version, no reindex).
    sa.Column("times_shown", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_kb_faqs_changed_in", "changed_in"),
)

# Every saved state of an FAQ, so an editor can see what changed and roll back.
faq_versions = sa.Table(
    "kb_faq_versions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _faq_reference(),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("content", sa.Text, nullable=False),  # JSON: answers, questions, status, category...
    sa.Column("saved_at", sa.DateTime, nullable=False),
    sa.Column("saved_by", sa.String(80), nullable=False),
    sa.UniqueConstraint("faq_id", "version", name="uq_kb_faq_versions_faq_version"),
)

# What customers said of an answer ("helpful" / "not helpful" buttons under it).
faq_feedback = sa.Table(
    "kb_faq_feedback",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _faq_reference(),
    sa.Column("helpful", sa.Boolean, nullable=False),
    sa.Column("conversation_id", sa.String(80), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Index("ix_kb_faq_feedback_faq_id", "faq_id"),
)

# One row: bumped with every change, read cheaply by every process that keeps an index.
content_version = sa.Table(
    "kb_content_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

faq_questions = sa.Table(
    "kb_faq_questions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _faq_reference(),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("text", sa.String(500), nullable=False),
    sa.Index("ix_kb_faq_questions_faq_id", "faq_id"),
)

# Quick-reply buttons under an FAQ's answer, per language, in the editor's order.
faq_buttons = sa.Table(
    "kb_faq_buttons",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    _faq_reference(),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("title", sa.String(80), nullable=False),
    sa.Column("payload", sa.String(200), nullable=False),
    sa.Index("ix_kb_faq_buttons_faq_id", "faq_id"),
)

ANSWER_COLUMNS = {"zh-Hans": "answer_zh_hans", "zh-Hant": "answer_zh_hant", "en": "answer_en"}
STATUSES = ("draft", "published", "archived")
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 4000
MAX_LABEL_CHARS = 80  # category, skill group, one tag
MAX_TAGS_CHARS = 500
MAX_BUTTONS_PER_LANGUAGE = 5
MAX_BUTTON_TITLE_CHARS = 40
# Telegram refuses a button whose callback data is longer than 64 bytes (UTF-8).
MAX_BUTTON_PAYLOAD_BYTES = 64
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{1,79}")  # an FAQ's short name
FAQ_PAYLOAD_PREFIX = "faq:"  # a button payload "faq:<slug>" answers that FAQ


def _answer_values(answers: Dict[str, str]) -> Dict[str, str]:
    """The answer columns of a row, one per language (empty where there is none)."""
    return {ANSWER_COLUMNS[lang]: answers.get(lang, "") for lang in ANSWER_COLUMNS}


class FaqNotFound(LookupError):
    pass


class VersionNotFound(LookupError):
    """No saved version of this FAQ has that number."""


class SlugTaken(ValueError):
    """An FAQ with this short name exists already."""


class StaleEdit(RuntimeError):
    """Someone saved the FAQ after this edit was started."""


@dataclass(frozen=True)
class FaqDetails:
    """What an FAQ is filed under, besides its questions and answers."""

    status: str = "published"
    category: str = ""
    skill_group: str = ""
    tags: Tuple[str, ...] = ()

    def __post_init__(self):
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")

    def values(self) -> Dict[str, str]:
        return {"status": self.status, "category": self.category, "skill_group": self.skill_group,
                "tags": ",".join(self.tags)}

    @classmethod
    def from_values(cls, values) -> "FaqDetails":
        tags = tuple(t for t in str(values["tags"] or "").split(",") if t)
        return cls(values["status"], values["category"], values["skill_group"], tags)


@dataclass(frozen=True)
class QuickReply:
    """A button under an FAQ's answer. ``payload`` is ``faq:<slug>`` (answer that FAQ) or
    the text a customer would type, which the bot handles as if typed ("转人工")."""

    title: str
    payload: str

    @property
    def faq_slug(self) -> Optional[str]:
        return self.payload[len(FAQ_PAYLOAD_PREFIX):] if self.payload.startswith(FAQ_PAYLOAD_PREFIX) else None

    def as_line(self) -> str:
        """How the editor's form and a spreadsheet cell write it: "title | payload"."""
        return self.title if self.payload == self.title else f"{self.title} | {self.payload}"


Buttons = Dict[str, List[QuickReply]]


@dataclass
class Faq:
    id: int
    slug: str
    answers: Dict[str, str]
    questions: Dict[str, List[str]] = field(default_factory=dict)
    version: int = 1
    updated_at: Optional[dt.datetime] = None
    updated_by: str = "system"
    details: FaqDetails = field(default_factory=FaqDetails)
    buttons: Buttons = field(default_factory=dict)

    def buttons_in(self, language: str) -> List[QuickReply]:
        """The quick replies in the asked language; missing Traditional ones are converted from
        the Simplified ones (a typed-text payload too: it is what a zh-Hant customer would type)."""
        if self.buttons.get(language):
            return list(self.buttons[language])
        if language == "zh-Hant" and self.buttons.get("zh-Hans"):
            return [QuickReply(to_traditional(b.title), b.payload if b.faq_slug else to_traditional(b.payload))
                    for b in self.buttons["zh-Hans"]]
        return []

    def answer_in(self, language: str) -> str:
        """The answer in the asked language; a missing Traditional answer is converted from the
        Simplified one (Taiwan phrasing); otherwise the first non-empty one."""
        if self.answers.get(language):
            return self.answers[language]
        if language == "zh-Hant" and self.answers.get("zh-Hans"):
            return to_traditional(self.answers["zh-Hans"])
        for lang in SUPPORTED_LANGUAGES:
            if self.answers.get(lang):
                return self.answers[lang]
        return ""

    def question_in(self, language: str) -> str:
        """The FAQ's first question in the language (for a button that offers it)."""
        if self.questions.get(language):
            return self.questions[language][0]
        if language == "zh-Hant" and self.questions.get("zh-Hans"):
            return to_traditional(self.questions["zh-Hans"][0])
        for lang in SUPPORTED_LANGUAGES:
            if self.questions.get(lang):
                return self.questions[lang][0]
        return self.slug


@dataclass
class FaqVersion:
    version: int
    saved_at: dt.datetime
    saved_by: str
    answers: Dict[str, str]
    questions: Dict[str, List[str]]
    details: FaqDetails
    buttons: Buttons = field(default_factory=dict)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class FaqRepository:
    def __init__(self, engine: Engine):
        self.engine = engine

    def _load(self, conn, rows) -> List[Faq]:
        result = [
            Faq(
                id=r.id,
                slug=r.slug,
                answers={lang: getattr(r, col) for lang, col in ANSWER_COLUMNS.items()},
                questions={lang: [] for lang in SUPPORTED_LANGUAGES},
                version=r.version,
                updated_at=r.updated_at,
                updated_by=r.updated_by,
                details=FaqDetails.from_values(r._mapping),
            )
            for r in rows
        ]
        if not result:
            return result
        by_id = {f.id: f for f in result}
        q_rows = conn.execute(
            sa.select(faq_questions)
            .where(faq_questions.c.faq_id.in_(list(by_id)))
            .order_by(faq_questions.c.id)
        )
        for q in q_rows:
            by_id[q.faq_id].questions.setdefault(q.language, []).append(q.text)
        b_rows = conn.execute(
            sa.select(faq_buttons).where(faq_buttons.c.faq_id.in_(list(by_id))).order_by(faq_buttons.c.id)
        )
        for b in b_rows:
            by_id[b.faq_id].buttons.setdefault(b.language, []).append(QuickReply(b.title, b.payload))
        return result

    @staticmethod
    def _matching(query: str):
        """FAQs whose short name or a question contains the text (LIKE wildcards taken literally)."""
        if not query:
            return sa.true()
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        in_questions = sa.select(faq_questions.c.faq_id).where(
            sa.func.lower(faq_questions.c.text).like(pattern, escape="\\")
        )
        return sa.or_(sa.func.lower(faqs.c.slug).like(pattern, escape="\\"), faqs.c.id.in_(in_questions))

    @classmethod
    def _filtered(cls, query: str, status: str = "", category: str = ""):
        condition = cls._matching(query)
        if status:
            condition = sa.and_(condition, faqs.c.status == status)
        if category:
            condition = sa.and_(condition, faqs.c.category == category)
        return condition

    def count(self, query: str = "", status: str = "", category: str = "") -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(sa.func.count()).select_from(faqs).where(self._filtered(query, status, category))
            ).scalar_one()

    def list(self, offset: int = 0, limit: int = 50, query: str = "", status: str = "", category: str = "") -> List[Faq]:
        """A page of FAQs in short-name order, optionally only those matching ``query`` with
        that status and category."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(faqs).where(self._filtered(query, status, category))
                .order_by(faqs.c.slug).offset(offset).limit(limit)
            ).fetchall()
            return self._load(conn, rows)

    def categories(self) -> List[str]:
        """The categories in use, for the list's filter."""
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(
                sa.select(faqs.c.category).where(faqs.c.category != "").distinct().order_by(faqs.c.category))]

    def slugs(self) -> set:
        """Every FAQ's short name, whatever its status (what a button may lead to)."""
        with self.engine.connect() as conn:
            return {r[0] for r in conn.execute(sa.select(faqs.c.slug))}

    def all(self) -> List[Faq]:
        with self.engine.connect() as conn:
            return self._load(conn, conn.execute(sa.select(faqs).order_by(faqs.c.id)).fetchall())

    def published(self) -> Tuple[int, List[Faq]]:
        """The content version and the FAQs the bot may answer with.  The version is read
        first, so the FAQs are at least that new (a later change is seen at the next poll)."""
        with self.engine.begin() as conn:
            version = self._content_version(conn)
            rows = conn.execute(
                sa.select(faqs).where(faqs.c.status == "published").order_by(faqs.c.id)
            ).fetchall()
            return version, self._load(conn, rows)

    def changed_since(self, version: int) -> Tuple[int, List[Faq]]:
        """The content version and every FAQ changed after ``version``, whatever its status
        (an archived one must leave the index)."""
        with self.engine.begin() as conn:
            current = self._content_version(conn)
            rows = conn.execute(
                sa.select(faqs).where(faqs.c.changed_in > version).order_by(faqs.c.id)
            ).fetchall()
            return current, self._load(conn, rows)

    def content_version(self) -> int:
        """A number that changes with every change of any FAQ (one indexed row: cheap to poll)."""
        with self.engine.connect() as conn:
            return self._content_version(conn)

    @staticmethod
    def _content_version(conn) -> int:
        return conn.execute(sa.select(content_version.c.version).where(content_version.c.id == 1)).scalar() or 0

    def record_feedback(self, slug: str, helpful: bool, conversation_id: str) -> bool:
        """Count a customer's verdict on an FAQ's answer; False when no FAQ has that slug (any more)."""
        with self.engine.begin() as conn:
            faq_id = conn.execute(sa.select(faqs.c.id).where(faqs.c.slug == slug)).scalar()
            if faq_id is None:
                return False
            conn.execute(faq_feedback.insert().values(
                faq_id=faq_id, helpful=helpful, conversation_id=conversation_id[:80], created_at=_now()))
            return True

    def record_shown(self, slug: str) -> bool:
        """Count one answer of FAQ ``slug`` to a customer; False when no FAQ has that slug."""
        with self.engine.begin() as conn:
            return conn.execute(
                faqs.update().where(faqs.c.slug == slug).values(times_shown=faqs.c.times_shown + 1)
            ).rowcount > 0

    def shown_counts(self, faq_ids: List[int]) -> Dict[int, int]:
        """How often each FAQ's answer was shown, for the ids asked about."""
        if not faq_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(faqs.c.id, faqs.c.times_shown).where(faqs.c.id.in_(faq_ids))).fetchall()
        return {faq_id: int(n) for faq_id, n in rows}

    def feedback_counts(self, faq_ids: List[int]) -> Dict[int, Tuple[int, int]]:
        """(helpful, not helpful) per FAQ id, for the ids asked about."""
        if not faq_ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(faq_feedback.c.faq_id, faq_feedback.c.helpful, sa.func.count())
                .where(faq_feedback.c.faq_id.in_(faq_ids))
                .group_by(faq_feedback.c.faq_id, faq_feedback.c.helpful)
            ).fetchall()
        counts = {faq_id: [0, 0] for faq_id in faq_ids}
        for faq_id, helpful, n in rows:
            counts[faq_id][0 if helpful else 1] = n
        return {faq_id: (h, n) for faq_id, (h, n) in counts.items()}

    def get(self, faq_id: int) -> Faq:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(faqs).where(faqs.c.id == faq_id)).fetchall()
            if not rows:
                raise FaqNotFound(faq_id)
            return self._load(conn, rows)[0]

    def create(
        self,
        slug: str,
        answers: Dict[str, str],
        questions: Dict[str, List[str]],
        updated_by: str,
        details: FaqDetails = FaqDetails(),
        buttons: Optional[Buttons] = None,
    ) -> int:
        """Add a new FAQ; SlugTaken when the short name is in use (also by one created a moment ago)."""
        values = {**_answer_values(answers), **details.values()}
        try:
            with self.engine.begin() as conn:
                faq_id = conn.execute(
                    faqs.insert().values(slug=slug, updated_at=_now(), updated_by=updated_by, **values)
                ).inserted_primary_key[0]
                self._saved(conn, faq_id, 1, answers, questions, details, updated_by, buttons or {})
                return faq_id
        except IntegrityError:
            raise SlugTaken(slug) from None

    def upsert(
        self,
        slug: str,
        answers: Dict[str, str],
        questions: Dict[str, List[str]],
        updated_by: str = "system",
        details: FaqDetails = FaqDetails(),
        buttons: Optional[Buttons] = None,
    ) -> int:
        """Create the FAQ, or replace its content when the slug exists (demo loading)."""
        with self.engine.begin() as conn:
            return self._upsert(conn, slug, answers, questions, updated_by, details, buttons or {})

    def upsert_many(self, items: List[Faq], updated_by: str = "system") -> List[int]:
        """``upsert`` for many FAQs in one transaction (all or none): loading content in bulk."""
        with self.engine.begin() as conn:
            return [self._upsert(conn, f.slug, f.answers, f.questions, updated_by, f.details, f.buttons)
                    for f in items]

    def import_faqs(self, items: List[Faq], updated_by: str) -> Dict[str, str]:
        """Create or update FAQs by slug in one transaction; an FAQ whose content is already
        what the item says is left alone (no new version), so importing a file twice changes
        nothing. Says per slug: "created", "updated" or "unchanged"."""
        outcome: Dict[str, str] = {}
        if not items:
            return outcome
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(faqs).where(faqs.c.slug.in_([f.slug for f in items]))).fetchall()
            current = {f.slug: f for f in self._load(conn, rows)}
            for item in items:
                old = current.get(item.slug)
                if old is not None and _same_content(old, item):
                    outcome[item.slug] = "unchanged"
                    continue
                self._upsert(conn, item.slug, item.answers, item.questions, updated_by, item.details, item.buttons)
                outcome[item.slug] = "created" if old is None else "updated"
        return outcome

    def _upsert(self, conn, slug, answers, questions, updated_by, details, buttons: Buttons) -> int:
        existing = conn.execute(sa.select(faqs.c.id, faqs.c.version).where(faqs.c.slug == slug)).first()
        values = {**_answer_values(answers), **details.values()}
        values.update(updated_at=_now(), updated_by=updated_by)
        if existing is None:
            faq_id, version = conn.execute(faqs.insert().values(slug=slug, **values)).inserted_primary_key[0], 1
        else:
            faq_id, version = existing.id, existing.version + 1
            conn.execute(faqs.update().where(faqs.c.id == faq_id).values(version=version, **values))
        self._saved(conn, faq_id, version, answers, questions, details, updated_by, buttons)
        return faq_id

    def update(
        self,
        faq_id: int,
        answers: Dict[str, str],
        questions: Dict[str, List[str]],
        expected_version: int,
        updated_by: str,
        details: Optional[FaqDetails] = None,
        buttons: Optional[Buttons] = None,
    ) -> Faq:
        """Save an edit; refuse it when another editor saved in between.  Without ``details``
        the FAQ keeps its status, category, skill group and tags; without ``buttons``, its
        quick replies."""
        with self.engine.begin() as conn:
            if details is None:
                row = conn.execute(sa.select(faqs).where(faqs.c.id == faq_id)).first()
                if row is None:
                    raise FaqNotFound(faq_id)
                details = FaqDetails.from_values(row._mapping)
            if buttons is None:
                buttons = self._buttons_of(conn, faq_id)
            values = {**_answer_values(answers), **details.values()}
            result = conn.execute(
                faqs.update()
                .where(faqs.c.id == faq_id, faqs.c.version == expected_version)
                .values(version=expected_version + 1, updated_at=_now(), updated_by=updated_by, **values)
            )
            if result.rowcount == 0:
                exists = conn.execute(sa.select(faqs.c.id).where(faqs.c.id == faq_id)).scalar()
                if exists is None:
                    raise FaqNotFound(faq_id)
                raise StaleEdit(faq_id)
            self._saved(conn, faq_id, expected_version + 1, answers, questions, details, updated_by, buttons)
        return self.get(faq_id)

    def set_status(self, faq_id: int, status: str, expected_version: int, updated_by: str) -> Faq:
        """Publish, archive or return an FAQ to draft, keeping its content."""
        faq = self.get(faq_id)
        details = FaqDetails(status, faq.details.category, faq.details.skill_group, faq.details.tags)
        return self.update(faq_id, faq.answers, faq.questions, expected_version, updated_by, details, faq.buttons)

    def history(self, faq_id: int) -> List[FaqVersion]:
        """Every saved version of the FAQ, newest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(faq_versions).where(faq_versions.c.faq_id == faq_id).order_by(faq_versions.c.version.desc())
            ).fetchall()
        return [self._version(r) for r in rows]

    def rollback(self, faq_id: int, to_version: int, expected_version: int, updated_by: str) -> Faq:
        """Save an old version's content again, as the newest version (history is never rewritten)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(faq_versions).where(faq_versions.c.faq_id == faq_id, faq_versions.c.version == to_version)
            ).first()
        if row is None:
            raise VersionNotFound(to_version)
        old = self._version(row)
        return self.update(faq_id, old.answers, old.questions, expected_version, updated_by, old.details, old.buttons)

    @staticmethod
    def _version(row) -> FaqVersion:
        content = json.loads(row.content)
        return FaqVersion(
            version=row.version, saved_at=row.saved_at, saved_by=row.saved_by,
            answers=content["answers"], questions=content["questions"],
            details=FaqDetails.from_values(content["details"]),
            # (versions saved before quick replies existed had none)
            buttons={lang: [QuickReply(t, p) for t, p in pairs] for lang, pairs in content.get("buttons", {}).items()},
        )

    @classmethod
    def _saved(cls, conn, faq_id, version, answers, questions, details: FaqDetails, saved_by,
               buttons: Buttons) -> None:
        """What every write does after changing the FAQ row, in its transaction: replace the
        questions and quick replies, keep a snapshot for history, bump the content version."""
        cls._replace_questions(conn, faq_id, questions)
        cls._replace_buttons(conn, faq_id, buttons)
        content = {"answers": _answer_values_by_language(answers), "questions": questions,
                   "details": details.values(), "buttons": _button_pairs(buttons)}
        conn.execute(faq_versions.insert().values(
            faq_id=faq_id, version=version, content=json.dumps(content, ensure_ascii=False),
            saved_at=_now(), saved_by=saved_by,
        ))
        bumped = conn.execute(content_version.update().where(content_version.c.id == 1)
                              .values(version=content_version.c.version + 1))
        if bumped.rowcount == 0:  # a database the migration did not seed
            conn.execute(content_version.insert().values(id=1, version=1))
        # The bump locked the row until commit: no other save gets this number.
        conn.execute(faqs.update().where(faqs.c.id == faq_id).values(changed_in=cls._content_version(conn)))

    @staticmethod
    def _buttons_of(conn, faq_id: int) -> Buttons:
        buttons: Buttons = {}
        for b in conn.execute(sa.select(faq_buttons).where(faq_buttons.c.faq_id == faq_id).order_by(faq_buttons.c.id)):
            buttons.setdefault(b.language, []).append(QuickReply(b.title, b.payload))
        return buttons

    @staticmethod
    def _replace_buttons(conn, faq_id: int, buttons: Buttons) -> None:
        conn.execute(faq_buttons.delete().where(faq_buttons.c.faq_id == faq_id))
        rows = [{"faq_id": faq_id, "language": lang, "title": b.title, "payload": b.payload}
                for lang, items in buttons.items() for b in items]
        if rows:
            conn.execute(faq_buttons.insert(), rows)

    @staticmethod
    def _replace_questions(conn, faq_id: int, questions: Dict[str, List[str]]) -> None:
        conn.execute(faq_questions.delete().where(faq_questions.c.faq_id == faq_id))
        rows = [
            {"faq_id": faq_id, "language": lang, "text": text}
            for lang, texts in questions.items()
            for text in texts
        ]
        if rows:
            conn.execute(faq_questions.insert(), rows)


def _same_content(a: Faq, b: Faq) -> bool:
    def questions(faq):
        return {lang: list(texts) for lang, texts in faq.questions.items() if texts}
    return (_answer_values_by_language(a.answers) == _answer_values_by_language(b.answers)
            and questions(a) == questions(b) and a.details == b.details
            and _button_pairs(a.buttons) == _button_pairs(b.buttons))


def _button_pairs(buttons: Buttons) -> Dict[str, List[List[str]]]:
    """Quick replies as plain lists (a version's JSON), languages without any left out."""
    return {lang: [[b.title, b.payload] for b in items] for lang, items in buttons.items() if items}


def _answer_values_by_language(answers: Dict[str, str]) -> Dict[str, str]:
    return {lang: answers.get(lang, "") for lang in ANSWER_COLUMNS}
