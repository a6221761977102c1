"""Wakes the event-stream consumer as soon as Rasa writes, when the stream is on PostgreSQL.

The consumer (``handoff_service/events.py``) reads the table Rasa's SQL event broker
writes, by polling it. Between a customer's line and the next poll it waits up to a
poll interval; that wait was most of the customer→console latency. On PostgreSQL a
statement trigger on that table sends a NOTIFY and a listener thread here wakes the
consumer at once; polling stays, less often, as the fallback for a notification lost
while the listener reconnects. SQLite (one machine) has nothing of the kind: there Rasa's
tracker store sends an empty UDP datagram to this service's port on the loopback
interface after each turn it publishes (``bot/stream_signal.py``), and
:class:`DatagramWakeup` wakes the consumer; polling stays as the fallback.

The trigger is created by whichever web service starts first (``CREATE OR REPLACE``,
so several replicas may race harmlessly) once Rasa has created the table.
"""
from __future__ import annotations

import asyncio
import logging
import select
import socket
import threading
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.pool import NullPool

logger = logging.getLogger(__name__)

CHANNEL = "supportbot_rasa_events"
INSTALL_TRIGGER = (
    f"""CREATE OR REPLACE FUNCTION supportbot_notify_rasa_events() RETURNS trigger AS $$
        BEGIN PERFORM pg_notify('{CHANNEL}', ''); RETURN NULL; END $$ LANGUAGE plpgsql""",
    """CREATE OR REPLACE TRIGGER supportbot_rasa_events_written AFTER INSERT ON events
        FOR EACH STATEMENT EXECUTE FUNCTION supportbot_notify_rasa_events()""",
)
# With notifications working, a poll this often catches anything they missed.
FALLBACK_POLL_SECONDS = 2.0
RETRY_SECONDS = 2.0


class PollingWakeup:
    """The consumer's pause between polls, when nothing can wake it earlier."""

    listening = False

    def start(self) -> None:
        pass

    async def wait(self, poll_interval: float) -> bool:
        await asyncio.sleep(poll_interval)
        return False

    async def stop(self) -> None:
        pass


class _NotifiedWakeup(PollingWakeup):
    """A wake-up someone sets (``_written``); while ``listening``, a poll only every ``fallback_seconds``."""

    fallback_seconds = FALLBACK_POLL_SECONDS
    _written: asyncio.Event

    async def wait(self, poll_interval: float) -> bool:
        """Until Rasa writes (True) or the poll interval passes (False)."""
        timeout = max(self.fallback_seconds, poll_interval) if self.listening else poll_interval
        try:
            await asyncio.wait_for(self._written.wait(), timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self._written.clear()


class PostgresWakeup(_NotifiedWakeup):
    """LISTENs on a dedicated connection in a thread; :meth:`wait` returns when notified."""

    def __init__(self, url: str, fallback_seconds: float = FALLBACK_POLL_SECONDS):
        self.engine = sa.create_engine(url, poolclass=NullPool)
        self.fallback_seconds = fallback_seconds
        self.listening = False
        self._written = asyncio.Event()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._stopping = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._thread = threading.Thread(target=self._listen_forever, name="event-stream-listener", daemon=True)
        self._thread.start()

    async def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join, 5)
        self.engine.dispose()

    # --- the listener thread -------------------------------------------------------------

    def _wake(self) -> None:
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._written.set)

    def _listen_forever(self) -> None:
        problem = None
        while not self._stopping.is_set():
            try:
                self._listen()
            except Exception as error:  # database away, table not there yet: poll meanwhile
                if type(error).__name__ != problem:
                    problem = type(error).__name__
                    logger.warning("event stream notifications unavailable (%s); polling until they are", problem)
            self.listening = False
            self._stopping.wait(RETRY_SECONDS)

    def _listen(self) -> None:
        raw = self.engine.raw_connection()
        try:
            conn = raw.connection  # the psycopg2 connection
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute("SELECT to_regclass('events') IS NOT NULL")
                if not cursor.fetchone()[0]:
                    raise LookupError("Rasa has not created its events table yet")
                for statement in INSTALL_TRIGGER:
                    cursor.execute(statement)
                cursor.execute(f"LISTEN {CHANNEL}")
            self.listening = True
            logger.info("event stream consumer woken by PostgreSQL notifications")
            self._wake()  # rows written before we listened are read now
            while not self._stopping.is_set():
                if select.select([conn], [], [], 1.0) == ([], [], []):
                    continue
                conn.poll()
                if conn.notifies:
                    conn.notifies.clear()
                    self._wake()
        finally:
            raw.close()


class DatagramWakeup(_NotifiedWakeup):
    """Listens for Rasa's datagrams on loopback UDP ``port``; :meth:`wait` returns when one came.

    Only the loopback interface: a datagram carries nothing and can only make the consumer
    look at the stream sooner. If the port cannot be had, the consumer polls as before.
    """

    # Every path that writes to the stream signals; a poll this often bounds a missed one.
    def __init__(self, port: int, host: str = "127.0.0.1", fallback_seconds: float = 1.0):
        self.address = (host, port)
        self.fallback_seconds = fallback_seconds
        self.listening = False
        self._written = asyncio.Event()
        self._socket: Optional[socket.socket] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            sock.bind(self.address)
        except OSError as error:
            sock.close()
            logger.warning("event stream wake-up unavailable (%s); polling", type(error).__name__)
            return
        self._socket = sock
        self._loop.add_reader(sock.fileno(), self._drain)
        self.listening = True
        self._written.set()  # rows written before we listened are read now

    def _drain(self) -> None:
        try:
            while True:
                self._socket.recv(64)
        except (BlockingIOError, InterruptedError):
            pass
        except OSError:
            return
        self._written.set()

    async def stop(self) -> None:
        if self._socket is not None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.remove_reader(self._socket.fileno())
            self._socket.close()
            self._socket = None
        self.listening = False


def wakeup_for(url: str, web_port: Optional[int] = None) -> PollingWakeup:
    """Notifications where the stream's database has them; on SQLite (one machine) Rasa's
    datagrams to ``web_port``; polling elsewhere."""
    backend = sa.engine.make_url(url).get_backend_name()
    if backend == "postgresql":
        return PostgresWakeup(url)
    if backend == "sqlite" and web_port:
        return DatagramWakeup(web_port)
    return PollingWakeup()
