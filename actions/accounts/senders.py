"""How a message reaches the customer outside the chat (a password-reset link; later a
one-time code): a pluggable sender, chosen in ``actions/services.py``.

``DemoSender`` stands in for an SMS gateway: it logs the message masked and appends it,
whole, to an outbox file (one JSON object a line) that a demo page or a test reads. The
chat never shows what was sent, only where to ("your phone ending 8000"). Each record
names the conversation that caused it, so the demo page (handoff_service/demo) shows a
browser only what its own conversation sent.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from pathlib import Path
from typing import List, Optional, Protocol

from actions.accounts.repository import Customer

logger = logging.getLogger(__name__)


OUTBOX_FILE = "outbox.jsonl"


def demo_outbox(var_dir: Path) -> Path:
    """Where the demo sender writes (VAR_DIR/outbox.jsonl), for every process that reads it."""
    return var_dir / OUTBOX_FILE


class Sender(Protocol):
    def send(self, customer: Customer, kind: str, text: str, conversation_id: Optional[str] = None) -> None: ...


class DemoSender:
    def __init__(self, outbox: Path):
        self.outbox = outbox
        self._lock = threading.Lock()

    def send(self, customer: Customer, kind: str, text: str, conversation_id: Optional[str] = None) -> None:
        logger.info("sent %s to %s", kind, customer.masked_phone)  # never the text: it holds the secret
        record = {"to": customer.phone, "customer_ref": customer.ref, "kind": kind, "text": text,
                  "conversation_id": conversation_id, "sent_at": dt.datetime.utcnow().isoformat()}
        self.outbox.parent.mkdir(parents=True, exist_ok=True)
        with self._lock, self.outbox.open("a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")


def read_outbox(outbox: Path) -> list:
    if not outbox.exists():
        return []
    return [json.loads(line) for line in outbox.read_text(encoding="utf-8").splitlines() if line.strip()]


def sent_in_conversation(outbox: Path, conversation_id: str, limit: int = 20) -> List[dict]:
    """The newest ``limit`` messages a conversation caused, oldest first."""
    return [m for m in read_outbox(outbox) if m.get("conversation_id") == conversation_id][-limit:]
