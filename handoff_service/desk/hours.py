"""Business hours per skill group (``DESK_HOURS``), e.g.::

    billing=mon-fri 09:00-18:00; sales=mon-sat 10:00-20:00; technical=24/7

Days are mon..sun, a range (mon-fri) or a list (sat,sun); times are the local time of
``DESK_TIMEZONE``; a group not named is open around the clock. Outside its hours a
group's customers are offered a callback or a message instead of waiting.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Dict, FrozenSet, Optional
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.settings import ConfigurationError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPEC = re.compile(r"^\s*(?P<days>[a-z,\-]+)\s+(?P<start>\d{1,2}:\d{2})-(?P<end>\d{1,2}:\d{2})\s*$")


class HoursError(ConfigurationError, ValueError):
    pass


@dataclass(frozen=True)
class Opening:
    days: FrozenSet[int]  # 0 = Monday
    start: dt.time
    end: dt.time

    def open_at(self, local: dt.datetime) -> bool:
        return local.weekday() in self.days and self.start <= local.time() < self.end


class BusinessHours:
    def __init__(self, openings: Dict[str, Opening], timezone: str):
        self.openings = openings
        try:
            self.zone = ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise HoursError(f"DESK_TIMEZONE: unknown time zone {timezone!r}") from exc

    @classmethod
    def parse(cls, text: str, timezone: str = "UTC") -> "BusinessHours":
        openings = {}
        for part in filter(None, (p.strip() for p in (text or "").split(";"))):
            group, sep, spec = part.partition("=")
            group, spec = group.strip().lower(), spec.strip().lower()
            if not sep or not group:
                raise HoursError(f"DESK_HOURS: expected group=days hh:mm-hh:mm, got {part!r}")
            if spec in ("24/7", "always"):
                continue
            match = _SPEC.match(spec)
            if not match:
                raise HoursError(f"DESK_HOURS: expected days hh:mm-hh:mm for {group}, got {spec!r}")
            start, end = (_time(match[k], part) for k in ("start", "end"))
            if end <= start:
                raise HoursError(f"DESK_HOURS: {group} closes before it opens ({spec!r})")
            openings[group] = Opening(_days(match["days"], part), start, end)
        return cls(openings, timezone)

    def is_open(self, skill_group: str, at: Optional[dt.datetime] = None) -> bool:
        """Whether ``skill_group`` is open at ``at`` (UTC naive, default now)."""
        opening = self.openings.get(skill_group)
        if opening is None:
            return True
        at = at or dt.datetime.utcnow()
        return opening.open_at(at.replace(tzinfo=dt.timezone.utc).astimezone(self.zone))


def _time(text: str, part: str) -> dt.time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return dt.time.max
    if not (0 <= hours < 24 and 0 <= minutes < 60):
        raise HoursError(f"DESK_HOURS: {text!r} is not a time of day ({part!r})")
    return dt.time(hours, minutes)


def _days(text: str, part: str) -> FrozenSet[int]:
    days = set()
    for item in text.split(","):
        first, _, last = item.partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise HoursError(f"DESK_HOURS: unknown day in {part!r} (use mon..sun)")
        a, b = DAYS.index(first), DAYS.index(last or first)
        days.update(range(a, b + 1) if a <= b else [*range(a, 7), *range(0, b + 1)])
    return frozenset(days)
