"""Rasa's side of the one-machine wake-up of the web service's event consumer.

On SQLite (one machine) nothing tells the web service that Rasa wrote new rows to the
event stream; it polled every ``EVENT_POLL_INTERVAL`` (0.2 s), and that wait was most of
the time a customer's line took to reach an agent's console. After each turn it
publishes, the tracker store sends one empty UDP datagram to the web service's port on
the loopback interface (``handoff_service/stream_wakeup.py`` listens there, on UDP, the
port number its HTTP server has on TCP). It carries nothing: a lost one only means the
next poll finds the rows, as before. PostgreSQL deployments use NOTIFY instead.
"""
from __future__ import annotations

import logging
import socket
from typing import Optional, Tuple

logger = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"


class StreamSignal:
    def __init__(self, address: Optional[Tuple[str, int]]):
        self.address = address
        self._socket: Optional[socket.socket] = None
        self._failed = False
        if address is not None:
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            self._socket.setblocking(False)

    @classmethod
    def for_stream(cls, events_db_url: Optional[str]) -> "StreamSignal":
        """A signal to this machine's web service when the stream is a SQLite file, else none."""
        if not events_db_url or not str(events_db_url).startswith("sqlite"):
            return cls(None)
        try:
            from bot.settings import Settings

            return cls((LOOPBACK, Settings.from_env().web_port))
        except Exception as error:  # no settings (a tool, a test): the consumer polls
            logger.info("event stream wake-up off (%s)", type(error).__name__)
            return cls(None)

    def written(self) -> None:
        """New rows are in the stream (called after the commit, from any thread)."""
        if self._socket is None:
            return
        try:
            self._socket.sendto(b"", self.address)
        except OSError as error:  # nobody listening yet, buffer full: the poll catches up
            if not self._failed:
                self._failed = True
                logger.info("event stream wake-up not sent (%s); the web service polls", type(error).__name__)

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
