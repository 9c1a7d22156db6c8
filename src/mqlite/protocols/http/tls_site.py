"""The HTTP listener's site: aiohttp's `SockSite`, over `TlsAccept` when TLS is on.

aiohttp's own `ssl_context` would let failed handshakes pass unlogged inside asyncio;
wrapping its protocol factory in `mqlite.protocols.tls_accept.TlsAccept` logs each one
and counts it as a failed login, as the TCP front-ends do. `wrap` wraps each
connection's protocol (the connection guard of `mqlite.protocols.limits`).
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Any

from aiohttp import web

from mqlite.protocols.tls_accept import TlsAccept


class _WrappedSockSite(web.SockSite):
    def __init__(self, runner: web.BaseRunner, sock: socket.socket, context: ssl.SSLContext | None, owner: Any,
                 wrap: Callable[[Any], asyncio.Protocol] | None) -> None:
        super().__init__(runner, sock, ssl_context=context)
        self._tls_owner = owner
        self._wrap = wrap

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner
        handler = self._runner.server
        assert handler is not None
        wrap = self._wrap
        make: Callable[[], Any] = handler if wrap is None else (lambda: wrap(handler()))
        context, owner = self._ssl_context, self._tls_owner
        factory = make if context is None else (lambda: TlsAccept("http", context, make, owner))
        self._server = await asyncio.get_running_loop().create_server(factory, sock=self._sock, backlog=self._backlog)


def site(runner: web.BaseRunner, sock: socket.socket, context: ssl.SSLContext | None, owner: Any,
         wrap: Callable[[Any], asyncio.Protocol] | None = None) -> web.SockSite:
    """A site serving `runner` on `sock`: plaintext, or TLS with `context`; each
    connection's protocol passed through `wrap` when given."""
    if context is None and wrap is None:
        return web.SockSite(runner, sock)
    return _WrappedSockSite(runner, sock, context, owner, wrap)
