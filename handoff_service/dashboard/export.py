"""CSV and Excel exports of the history tables, personal data masked.

The summary tables hold no customer identity at all (conversation ids and customer
keys are never exported); the only customer-written text is a rating comment, masked
again here with the recogniser (``bot.privacy``) in case it was stored unmasked.
"""
from __future__ import annotations

import csv
import io
from typing import Any, Dict, List, Tuple

from bot.privacy import mask

# table name -> (columns, rows from the history result)
def export_tables(history: Dict[str, Any]) -> Dict[str, Tuple[List[str], List[List[Any]]]]:
    conv, hand, csat = history["conversations"], history["handoffs"], history["csat"]
    summary = [[name, value] for name, value in (
        *[(f"conversations.{k}", v) for k, v in conv.items()],
        *[(f"handoffs.{k}", v) for k, v in hand.items() if k != "wait_distribution"],
        *[(f"handoffs.{k}", v) for k, v in hand["wait_distribution"].items()],
        ("handoff_rate", history["handoff_rate"]),
        *[(f"csat.rating_{k}", v) for k, v in csat["distribution"].items()],
        ("csat.rated", csat["rated"]), ("csat.satisfied_rate", csat["satisfied_rate"]), ("csat.average", csat["average"]),
    )]
    return {
        "summary": (["figure", "value"], summary),
        "reasons": (["reason", "count"], [[r["reason"], r["count"]] for r in history["reasons"]]),
        "intents": (["intent", "messages", "fallbacks", "fallback_rate"],
                    [[r["intent"], r["messages"], r["fallbacks"], r["fallback_rate"]] for r in history["intents"]]),
        "faqs": (["faq", "shown", "helpful", "not_helpful", "helpful_rate"],
                 [[r["faq"], r["shown"], r["helpful"], r["not_helpful"], r["helpful_rate"]] for r in history["faqs"]]),
        "agents": (["agent", "answered", "handled", "average_handle_time", "transferred", "rated", "average_rating"],
                   [[r["agent"], r["answered"], r["handled"], r["average_handle_time"], r["transferred"], r["rated"],
                     r["average_rating"]] for r in history["agents"]]),
        "comments": (["rated_at", "rating", "comment", "agent", "skill_group"],
                     [[r["rated_at"], r["rating"], mask(r["comment"] or ""), r["agent"],
                       r["skill_group"]] for r in history["comments"]]),
        "days": (["day", "conversations", "handoffs", "containment", "service_level"],
                 [list(row) for row in zip(history["series"]["days"], history["series"]["conversations"],
                                           history["series"]["handoffs"], history["series"]["containment"],
                                           history["series"]["service_level"])]),
        "unanswered": (["label", "count", "examples"],
                       [[c["label"], c["count"], " | ".join(mask(e) for e in c.get("examples", []))]
                        for c in history.get("unanswered", [])]),
    }


def _safe_cell(value: Any) -> Any:
    # A text starting with = + - @ would run as a formula in a spreadsheet (CSV injection).
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@"):
        return "'" + value
    return value


def to_csv(columns: List[str], rows: List[List[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows([[_safe_cell(v) for v in row] for row in rows])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # the BOM makes Excel read Chinese as UTF-8


def to_xlsx(tables: Dict[str, Tuple[List[str], List[List[Any]]]]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for name, (columns, rows) in tables.items():
        sheet = book.create_sheet(title=name[:31])
        sheet.append(columns)
        for row in rows:
            sheet.append([_safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
