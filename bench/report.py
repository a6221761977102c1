"""Where every benchmark writes its figures: sections of docs/benchmarks.md and rows of
docs/benchmarks.json (a list of {name, value, unit, command, date}).

Each benchmark (`make bench`, `make eval`, ...) owns named sections and rows and
replaces only those, so running one leaves the others' figures in place.
"""
from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Iterable, List, Mapping, Union

from bot.settings import PROJECT_ROOT

MARKDOWN = PROJECT_ROOT / "docs" / "benchmarks.md"
JSON = PROJECT_ROOT / "docs" / "benchmarks.json"
TITLE = "# Benchmarks\n\nEach section below says the command that produced it, the machine and the date.\n"


def pct(values, p: float) -> float:
    """The ``p``-th percentile (nearest rank) of some figures."""
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def row(name: str, value: Union[int, float], unit: str, command: str) -> dict:
    return {"name": name, "value": value, "unit": unit, "command": command, "date": time.strftime("%Y-%m-%d")}


def update_json(rows: Iterable[Mapping], path: Path = JSON) -> None:
    """Replace the rows with these names (keeping their order), append new ones, keep the rest."""
    existing: List[dict] = json.loads(path.read_text(encoding="utf-8")) if path.exists() else []
    new = {r["name"]: {"date": time.strftime("%Y-%m-%d"), **r} for r in rows}
    merged = [new.pop(r["name"], r) for r in existing]
    merged.extend(new.values())
    path.write_text(json.dumps(merged, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def write_section(name: str, markdown: str, path: Path = MARKDOWN) -> None:
    """Replace (or append) the section called ``name`` in docs/benchmarks.md."""
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if not text.startswith("# Benchmarks"):
        text = TITLE
    begin, end = f"<!-- begin: {name} -->", f"<!-- end: {name} -->"
    block = f"{begin}\n{markdown.strip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def machine() -> str:
    import os
    import platform

    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
