"""Which form answer a correction puts right, and to what ("不对，地址是台北市…").

The customer names the answer with a word (address, since when, what is wrong) or names
none, meaning the answer just given. The new value is what follows "是" / "is" / ":";
for a "since when" without those, the words from "since" / "从" on.
"""
from __future__ import annotations

import re
from typing import Dict, Optional, Sequence, Tuple

from bot.chinese import to_simplified

# Words that name an answer of the fault form (matched on Simplified, lower-case text).
FAULT_SLOT_WORDS: Dict[str, Tuple[str, ...]] = {
    "fault_where": ("地址", "地点", "位置", "在哪", "address", "location", "place", "where"),
    "fault_since": ("开始", "时间", "时候", "since", "started", "start", "began", "when"),
    "fault_what": ("问题", "故障", "毛病", "problem", "fault", "issue", "wrong"),
}
# What comes before the new value; the first one found wins.
VALUE_MARKERS = re.compile(r"应该是|應該是|改成|改為|改为|是|為|为|[:：]|\b(?:is|was|to|meant)\b", re.I)
SINCE_MARKERS = re.compile(r"从|從|\bsince\b", re.I)
LEAD_IN = re.compile(r"^[\s,，。.;；:：!！]+|[\s,，。.;；!！]+$")


def corrected_slot(text: str, form_slots: Sequence[str], requested: Optional[str]) -> Optional[str]:
    """The slot of ``form_slots`` the correction names, or else the one answered last
    (the slot before ``requested``; the last one when nothing is requested any more)."""
    folded = to_simplified(text or "").lower()
    for slot, words in FAULT_SLOT_WORDS.items():
        if slot in form_slots and any(w in folded for w in words):
            return slot
    if requested in form_slots:
        index = list(form_slots).index(requested)
        return form_slots[index - 1] if index > 0 else None
    return form_slots[-1] if form_slots else None


def corrected_value(text: str, slot: str) -> Optional[str]:
    """The new answer in the customer's own words, or None when there is none to take."""
    text = (text or "").strip()
    marker = VALUE_MARKERS.search(text)
    if slot == "fault_since":
        since = SINCE_MARKERS.search(text)
        if since and (marker is None or since.start() <= marker.end() + 1):
            return LEAD_IN.sub("", text[since.start():]) or None
    if marker is None:
        return None
    return LEAD_IN.sub("", text[marker.end():])[:500] or None
