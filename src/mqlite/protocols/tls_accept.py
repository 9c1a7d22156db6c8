"""Accepting one TLS connection: the handshake first, then the front-end's protocol.

`TlsAccept` is the protocol a TLS listener creates per socket. It runs the server-side
handshake with `loop.start_tls` (so a failure surfaces here, where it is logged once
with the client's address and reason and counted by `mqlite.security.throttle`,
instead of vanishing inside asyncio), then hands the TLS transport to the real
protocol (a `transport.Connection` or aiohttp's request handler) and gets out of the
way: `set_protocol` routes every later event straight to it. Bytes that arrive
between the end of the handshake and the hand-over are kept and replayed in order.
Concurrency: the server's event loop; the handshake is driven by future callbacks.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from typing import Any, cast

from mqlite.security import throttle

log = logging.getLogger("mqlite.transport")

HANDSHAKE_TIMEOUT = 10.0  # seconds a client has to finish the TLS handshake


class TlsAccept(asyncio.Protocol):
    """See module docstring."""

    def __init__(self, name: str, context: ssl.SSLContext, make: Callable[[], asyncio.Protocol],
                 owner: Any = None) -> None:
        self.name = name
        self.context = context
        self.make = make
        self.owner = owner  # whose failed-login counts a failed handshake adds to
        self.raw: Any = None
        self.peer: Any = None
        self.protocol: asyncio.Protocol | None = None
        self.early: list[bytes] = []
        self.eof = False
        self.lost: tuple[Exception | None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.raw = transport
        self.peer = transport.get_extra_info("peername")
        loop = asyncio.get_running_loop()
        # start_tls's first step (pause, install its SSL protocol) must run now, inside
        # connection_made: uvloop starts reading right after it returns, ignoring a
        # pause made here, so a task started later would find the ClientHello gone.
        # Python 3.11 has no eager tasks, so the coroutine is stepped by hand.
        # a TCP server's transport: duck-typed (uvloop's is no asyncio.WriteTransport subclass)
        self._step(loop.start_tls(cast(asyncio.WriteTransport, transport), self, self.context, server_side=True,
                                  ssl_handshake_timeout=HANDSHAKE_TIMEOUT))

    def _step(self, coro: Any) -> None:
        try:
            waiting = coro.send(None)
        except StopIteration as done:
            self._handed_over(done.value)
        except Exception as exc:  # noqa: BLE001 - ssl.SSLError, timeouts, resets: one failed client
            self._failed(exc)
        else:
            waiting.add_done_callback(lambda _: self._step(coro))

    def _failed(self, exc: BaseException) -> None:
        reason = getattr(exc, "reason", None) or type(exc).__name__
        log.info("%s %s: TLS handshake failed (%s); closing", self.name, self.peer, reason)
        if self.owner is not None and isinstance(exc, ssl.SSLError):
            throttle.for_server(self.owner).failed(throttle.address_of(self.peer))
        if not self.raw.is_closing():
            self.raw.abort()

    def _handed_over(self, tls: Any) -> None:
        if tls is None:  # the peer went away during the handshake
            return
        protocol = self.protocol = self.make()
        protocol.connection_made(tls)
        tls.set_protocol(protocol)
        for data in self.early:
            protocol.data_received(data)
        self.early = []
        if self.lost is not None:
            protocol.connection_lost(self.lost[0])
        elif self.eof and not protocol.eof_received():
            tls.close()

    # Events between the handshake and the hand-over (later ones go to the protocol).
    def data_received(self, data: bytes) -> None:
        self.early.append(data)

    def eof_received(self) -> bool | None:
        self.eof = True
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = (exc,)
