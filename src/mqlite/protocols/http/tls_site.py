"""The HTTP listener's site: aiohttp's `SockSite`, over `TlsAccept` when TLS is on.

aiohttp's own `ssl_context` would let failed handshakes pass unlogged inside asyncio;
wrapping its protocol factory in `mqlite.protocols.tls_accept.TlsAccept` logs each one
and counts it as a failed login, as the TCP front-ends do.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from typing import Any

from aiohttp import web

from mqlite.protocols.tls_accept import TlsAccept


class _TlsSockSite(web.SockSite):
    def __init__(self, runner: web.BaseRunner, sock: socket.socket, context: ssl.SSLContext, owner: Any) -> None:
        super().__init__(runner, sock, ssl_context=context)
        self._tls_owner = owner

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with the runner
        handler = self._runner.server
        assert handler is not None and self._ssl_context is not None
        context, owner = self._ssl_context, self._tls_owner
        self._server = await asyncio.get_running_loop().create_server(
            lambda: TlsAccept("http", context, handler, owner), sock=self._sock, backlog=self._backlog)


def site(runner: web.BaseRunner, sock: socket.socket, context: ssl.SSLContext | None, owner: Any) -> web.SockSite:
    """A site serving `runner` on `sock`: plaintext, or TLS with `context`."""
    if context is None:
        return web.SockSite(runner, sock)
    return _TlsSockSite(runner, sock, context, owner)
