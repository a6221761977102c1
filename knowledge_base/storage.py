"""FAQ storage: one row per FAQ, one row per question variant, answers per language."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from bot.settings import SUPPORTED_LANGUAGES

metadata = sa.MetaData()

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
)

faq_questions = sa.Table(
    "kb_faq_questions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column(
        "faq_id", sa.Integer, sa.ForeignKey("kb_faqs.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("language", sa.String(8), nullable=False),
    sa.Column("text", sa.String(500), nullable=False),
    sa.Index("ix_kb_faq_questions_faq_id", "faq_id"),
)

ANSWER_COLUMNS = {"zh-Hans": "answer_zh_hans", "zh-Hant": "answer_zh_hant", "en": "answer_en"}
MAX_QUESTION_CHARS = 500
MAX_ANSWER_CHARS = 4000


def _answer_values(answers: Dict[str, str]) -> Dict[str, str]:
    """The answer columns of a row, one per language (empty where there is none)."""
    return {ANSWER_COLUMNS[lang]: answers.get(lang, "") for lang in ANSWER_COLUMNS}


class FaqNotFound(LookupError):
    pass


class SlugTaken(ValueError):
    """An FAQ with this short name exists already."""


class StaleEdit(RuntimeError):
    """Someone saved the FAQ after this edit was started."""


@dataclass
class Faq:
    id: int
    slug: str
    answers: Dict[str, str]
    questions: Dict[str, List[str]] = field(default_factory=dict)
    version: int = 1
    updated_at: Optional[dt.datetime] = None
    updated_by: str = "system"

    def answer_in(self, language: str) -> str:
        """The answer in the asked language, else the first non-empty one."""
        if self.answers.get(language):
            return self.answers[language]
        for lang in SUPPORTED_LANGUAGES:
            if self.answers.get(lang):
                return self.answers[lang]
        return ""


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
        return result

    def count(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(sa.select(sa.func.count()).select_from(faqs)).scalar_one()

    def list(self, offset: int = 0, limit: int = 50) -> List[Faq]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(faqs).order_by(faqs.c.slug).offset(offset).limit(limit)
            ).fetchall()
            return self._load(conn, rows)

    def all(self) -> List[Faq]:
        with self.engine.connect() as conn:
            return self._load(conn, conn.execute(sa.select(faqs).order_by(faqs.c.id)).fetchall())

    def get(self, faq_id: int) -> Faq:
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(faqs).where(faqs.c.id == faq_id)).fetchall()
            if not rows:
                raise FaqNotFound(faq_id)
            return self._load(conn, rows)[0]

    def create(self, slug: str, answers: Dict[str, str], questions: Dict[str, List[str]], updated_by: str) -> int:
        """Add a new FAQ; SlugTaken when the short name is in use (also by one created a moment ago)."""
        values = _answer_values(answers)
        try:
            with self.engine.begin() as conn:
                faq_id = conn.execute(
                    faqs.insert().values(slug=slug, updated_at=_now(), updated_by=updated_by, **values)
                ).inserted_primary_key[0]
                self._replace_questions(conn, faq_id, questions)
                return faq_id
        except IntegrityError:
            raise SlugTaken(slug) from None

    def upsert(
        self,
        slug: str,
        answers: Dict[str, str],
        questions: Dict[str, List[str]],
        updated_by: str = "system",
    ) -> int:
        """Create the FAQ, or replace its content when the slug exists (demo loading)."""
        with self.engine.begin() as conn:
            existing = conn.execute(sa.select(faqs.c.id).where(faqs.c.slug == slug)).scalar()
            values = _answer_values(answers)
            values.update(updated_at=_now(), updated_by=updated_by)
            if existing is None:
                faq_id = conn.execute(faqs.insert().values(slug=slug, **values)).inserted_primary_key[0]
            else:
                faq_id = existing
                conn.execute(
                    faqs.update().where(faqs.c.id == faq_id).values(
                        version=faqs.c.version + 1, **values
                    )
                )
            self._replace_questions(conn, faq_id, questions)
            return faq_id

    def update(
        self,
        faq_id: int,
        answers: Dict[str, str],
        questions: Dict[str, List[str]],
        expected_version: int,
        updated_by: str,
    ) -> Faq:
        """Save an edit; refuse it when another editor saved in between."""
        with self.engine.begin() as conn:
            values = _answer_values(answers)
            result = conn.execute(
                faqs.update()
                .where(faqs.c.id == faq_id, faqs.c.version == expected_version)
                .values(version=faqs.c.version + 1, updated_at=_now(), updated_by=updated_by, **values)
            )
            if result.rowcount == 0:
                exists = conn.execute(sa.select(faqs.c.id).where(faqs.c.id == faq_id)).scalar()
                if exists is None:
                    raise FaqNotFound(faq_id)
                raise StaleEdit(faq_id)
            self._replace_questions(conn, faq_id, questions)
        return self.get(faq_id)

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
