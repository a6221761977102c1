"""Errors in the Rasa server's log: one line each, naming the conversation, never the customer's words.

Rasa logs a failed message as "An exception occurred while handling user message
'<the customer's text>'" with a traceback; Sanic, asyncio and python-engineio log
theirs with tracebacks too (a client that drops its connection at the wrong moment
was enough). Here every record that carries an exception, at ERROR or above, is
turned into one line: where it was logged, the exception's class, and the
conversation it happened in (the channels and the HTTP API note it in
``CONVERSATION`` as a message enters). The original message and traceback are
kept only at DEBUG, on the ``bot.quiet_errors`` logger, for a developer who turns
that on.
"""
from __future__ import annotations

import contextvars
import logging
from typing import Any, Optional

CONVERSATION: "contextvars.ContextVar[Optional[str]]" = contextvars.ContextVar("conversation_id", default=None)

detail_logger = logging.getLogger("bot.quiet_errors")


def note_conversation(conversation_id: Optional[str]) -> None:
    """The conversation the current task works for (inherited by the tasks it starts)."""
    CONVERSATION.set(conversation_id)


def one_line(record: logging.LogRecord) -> logging.LogRecord:
    """``record`` rewritten as one line without its text and traceback, if it carries an error."""
    if record.levelno < logging.ERROR or not record.exc_info or record.name == detail_logger.name:
        return record
    error = record.exc_info[1]
    if detail_logger.isEnabledFor(logging.DEBUG):
        detail_logger.debug(record.getMessage(), exc_info=record.exc_info)
    conversation = CONVERSATION.get()
    record.msg = "%s in conversation %s (logged by %s)" if conversation else "%s (logged by %s)"
    record.args = (type(error).__name__, conversation, record.name) if conversation else (type(error).__name__, record.name)
    record.exc_info = None
    record.exc_text = None
    record.stack_info = None
    return record


def install() -> None:
    """Make every log record of this process pass through :func:`one_line`."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "quiet_errors", False):
        return

    def quiet_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return one_line(factory(*args, **kwargs))

    quiet_factory.quiet_errors = True
    logging.setLogRecordFactory(quiet_factory)
