"""GET /_mqlite/health: is the broker up, which version, since when, on which data.

Answers JSON `{"status": "ok", "version", "uptime_seconds", "data_dir", "memory",
"listeners": {name: "host:port"}}`. It reads only what the server hands it at mount
time, so it can answer while every other front-end is busy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

import mqlite


def mount(app: web.Application, describe: Callable[[], dict[str, Any]]) -> None:
    """Add `/_mqlite/health`; `describe()` returns the server facts to report."""
    started = time.monotonic()

    async def health(request: web.Request) -> web.Response:
        body = {
            "status": "ok",
            "version": mqlite.__version__,
            "uptime_seconds": round(time.monotonic() - started, 3),
            **describe(),
        }
        return web.json_response(body)

    app.router.add_get("/_mqlite/health", health)
