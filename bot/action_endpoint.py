"""Rasa's action endpoint with one pooled HTTP session instead of a new one per call.

Rasa 3.6.21's ``EndpointConfig.request`` opens a new ``aiohttp.ClientSession`` (so a new
TCP connection) for every custom action and every form validation, and closes it
after the answer. Under load that was a connection set up and torn down several times
per customer message, and some calls failed with "Cannot write to closing transport"
(docs/performance.md): those customers got no answer.

:class:`KeepAliveActionEndpoint` keeps Rasa's request code as it is (headers, token,
compression, error handling) and only lends it a long-lived session, whose idle
connections are kept a little shorter than the action server keeps them open (Sanic's
keep-alive is 5 s), so a reused connection is rarely one the server is closing. A call
that never reached the server (the connection could not be made, or the pooled
connection was already closing when the request was written) is tried once more on a
fresh connection; a call that may have reached it is never repeated, so an action
with side effects (a plan change) still runs at most once per prediction.
"""
from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, List, Optional

import aiohttp
from rasa.utils.endpoints import EndpointConfig

logger = logging.getLogger(__name__)

# Below the action server's (Sanic) 5 s keep-alive: we drop an idle connection first.
IDLE_CONNECTION_SECONDS = 3.0
MAX_CONNECTIONS = 64
# Every endpoint made here, so the server's shutdown can close their sessions.
# (References, not a WeakSet: EndpointConfig defines __eq__, so it is not hashable.)
_ENDPOINTS: "List[weakref.ReferenceType[KeepAliveActionEndpoint]]" = []


class _LentSession:
    """What ``async with self.session()`` gets: the shared session, left open on exit."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *exc_info: Any) -> None:
        return None


def never_sent(error: BaseException) -> bool:
    """True when the request cannot have reached the action server."""
    if isinstance(error, aiohttp.ClientConnectorError):
        return True  # no connection was made
    # aiohttp reports a write to a pooled connection the server had just closed this way
    # (no status, nothing written); the request went nowhere.
    return isinstance(error, aiohttp.ClientOSError) and "closing transport" in str(error)


class KeepAliveActionEndpoint(EndpointConfig):
    """An ``EndpointConfig`` whose requests share one session per event loop."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shared: Optional[aiohttp.ClientSession] = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        _ENDPOINTS[:] = [ref for ref in _ENDPOINTS if ref() is not None] + [weakref.ref(self)]

    @classmethod
    def like(cls, endpoint: EndpointConfig) -> "KeepAliveActionEndpoint":
        return cls(endpoint.url, endpoint.params, endpoint.headers, endpoint.basic_auth, endpoint.token,
                   endpoint.token_name, endpoint.cafile, store_type=endpoint.type, **endpoint.kwargs)

    def copy(self) -> "KeepAliveActionEndpoint":
        return self.like(self)

    def session(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._shared is None or self._shared.closed or self._loop is not loop:
            auth = (aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"])
                    if self.basic_auth else None)
            self._shared = aiohttp.ClientSession(
                headers=self.headers, auth=auth,
                connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, keepalive_timeout=IDLE_CONNECTION_SECONDS))
            self._loop = loop
        return _LentSession(self._shared)

    async def request(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return await super().request(*args, **kwargs)
        except aiohttp.ClientError as error:
            if not never_sent(error):
                raise
            logger.info("action server call not sent (%s); trying once more", type(error).__name__)
            return await super().request(*args, **kwargs)

    async def close(self) -> None:
        if self._shared is not None and not self._shared.closed:
            await self._shared.close()


async def close_action_sessions(*_: Any) -> None:
    """A Sanic ``after_server_stop`` listener: no "Unclosed client session" at shutdown."""
    for ref in list(_ENDPOINTS):
        endpoint = ref()
        if endpoint is not None:
            await endpoint.close()


def keep_action_connections_alive() -> None:
    """Rasa's endpoints file read as usual, the action endpoint made a :class:`KeepAliveActionEndpoint`."""
    from rasa.core.utils import AvailableEndpoints

    read = AvailableEndpoints.read_endpoints.__func__
    if getattr(read, "keeps_action_connections", False):
        return

    def read_endpoints(cls, endpoint_file):
        endpoints = read(cls, endpoint_file)
        if endpoints.action is not None:
            endpoints.action = KeepAliveActionEndpoint.like(endpoints.action)
        return endpoints

    read_endpoints.keeps_action_connections = True
    AvailableEndpoints.read_endpoints = classmethod(read_endpoints)
