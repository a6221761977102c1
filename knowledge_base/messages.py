"""A reason shown to an editor: English where ``str`` is used (logs, tests), translated by the
staff pages from its ``msgid`` (in bot/staff_i18n's catalogue)."""
from __future__ import annotations


class Message(str):
    """``msgid`` is in bot/staff_i18n's catalogue, ``params`` fill its %(name)s places."""

    def __new__(cls, msgid: str, **params):
        text = super().__new__(cls, msgid % params if params else msgid)
        text.msgid, text.params = msgid, params
        return text
