"""The per-server limits every listener shares: the read budget and the connection guard.

Owns `ServerLimits` and `for_server(core, settings)`, which gives every front-end of one
server (they all receive the same `core`) the same objects without `server.py`
passing them around; `http_guard(core, settings)` puts the aiohttp application's
connections through the same connection guard as the TCP front-ends.

Concurrency: the server's one event loop.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.protocols.connection_guard import ConnectionGuard
from mqlite.protocols.read_budget import DEFAULT_LIMIT, ReadBudget
from mqlite.settings import Settings

log = logging.getLogger("mqlite.limits")


@dataclass
class ServerLimits:
    budget: ReadBudget
    guard: ConnectionGuard
    unauthenticated_timeout: float


_LIMITS: weakref.WeakKeyDictionary[Any, ServerLimits] = weakref.WeakKeyDictionary()


def for_server(core: BrokerCore, settings: Settings) -> ServerLimits:
    """The one `ServerLimits` of the server that owns `core`."""
    limits = _LIMITS.get(core)
    if limits is None:
        limits = _LIMITS[core] = ServerLimits(
            ReadBudget(int(getattr(settings, "read_budget_bytes", DEFAULT_LIMIT))),
            ConnectionGuard(settings),
            float(getattr(settings, "unauthenticated_timeout", 30) or 0),
        )
    return limits


class _GuardedProtocol(asyncio.Protocol):
    """Wraps one aiohttp connection protocol: admitted or closed at `connection_made`."""

    def __init__(self, inner: Any, guard: ConnectionGuard, name: str) -> None:
        self._inner = inner
        self._guard = guard
        self._name = name
        self._address: str | None = None

    def connection_made(self, transport: Any) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else ""
        sock = transport.get_extra_info("socket")
        fileno = sock.fileno() if sock is not None else 0
        if not self._guard.admit(self._name, address, fileno):
            transport.abort()
            return
        self._address = address
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is None:
            return
        self._guard.release(self._name, self._address)
        self._inner.connection_lost(exc)

    def __getattr__(self, name: str) -> Any:  # data_received, eof_received, pause_writing...
        return getattr(self._inner, name)

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()  # type: ignore[no-any-return]

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()


def http_guard(core: BrokerCore, settings: Settings) -> Callable[[Any], asyncio.Protocol]:
    """Wrap each aiohttp connection protocol in the server's connection guard (for
    `protocols.http.tls_site.site(..., wrap=...)`), as the TCP front-ends are."""
    guard = for_server(core, settings).guard
    guard.add_listener("http")
    return lambda inner: _GuardedProtocol(inner, guard, "http")
