"""Rasa's own tables, as the privacy jobs read and delete them.

Rasa creates them (its SQL tracker store and SQL event broker each make a table
``events``, in their own databases); they are reflected here, not declared again, and
a database where Rasa has not run yet simply has none.
"""
from __future__ import annotations

import json
from typing import Any, Dict, Iterator, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def events_table(engine: Engine) -> Optional[sa.Table]:
    if not sa.inspect(engine).has_table("events"):
        return None
    return sa.Table("events", sa.MetaData(), autoload_with=engine)


def parse(data: Optional[str]) -> Dict[str, Any]:
    try:
        event = json.loads(data or "{}")
    except ValueError:
        return {}
    return event if isinstance(event, dict) else {}


def slot_events(engine: Engine, table: sa.Table, names) -> Iterator[tuple]:
    """(conversation id, slot name, value) of every slot event setting one of ``names``.

    The tracker store keeps the event type in a column; the broker only in its JSON."""
    query = sa.select(table.c.sender_id, table.c.data)
    if "type_name" in table.c:
        query = query.where(table.c.type_name == "slot")
    query = query.where(sa.or_(*[table.c.data.like(f'%"{name}"%') for name in names]))
    with engine.connect() as conn:
        for sender_id, data in conn.execute(query):
            event = parse(data)
            if event.get("event") == "slot" and event.get("name") in names:
                yield sender_id, event["name"], event.get("value")


# What stands in for an erased or expired row that cannot be deleted (see below).
ERASED_EVENT = json.dumps({"event": "erased"})


def delete_events(conn, table: sa.Table, condition) -> int:
    """Delete the matching rows of the event broker's ``events`` table, except the newest row of the table,
    whose text is blanked instead.

    Rasa declares ``id`` as a plain integer primary key: SQLite then hands out max(id) + 1,
    so deleting the newest rows would give the next events ids the event-stream consumer has
    already passed, and it would never relay them. Keeping the newest row keeps ids rising.
    """
    newest = conn.execute(sa.select(sa.func.max(table.c.id))).scalar()
    if newest is None:
        return 0
    deleted = conn.execute(table.delete().where(condition, table.c.id < newest)).rowcount
    blanked = conn.execute(
        table.update().where(condition, table.c.id == newest).values(sender_id="erased", data=ERASED_EVENT)
    ).rowcount
    return deleted + blanked
