"""The JSON the HTTP accounts protocol carries: repository values to dicts and back.

One module for both sides (the client in ``http.py``, the stand-in service in
``standin.py``), so the two cannot drift apart.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import typing
from typing import Any, Dict, Type, TypeVar

from actions.accounts import repository as r

T = TypeVar("T")


def dump(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: dump(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [dump(v) for v in value]
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return value


def load(cls: Type[T], data: Dict[str, Any]) -> T:
    hints = typing.get_type_hints(cls, vars(r))
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        raw, hint = data[f.name], hints[f.name]
        if raw is None:
            values[f.name] = None
        elif hint in (dt.datetime, typing.Optional[dt.datetime]):
            values[f.name] = dt.datetime.fromisoformat(raw)
        elif hint in (dt.date, typing.Optional[dt.date]):
            values[f.name] = dt.date.fromisoformat(raw)
        elif f.name == "lines":
            values[f.name] = tuple(load(r.BillLine, line) for line in raw)
        else:
            values[f.name] = raw
    return cls(**values)
