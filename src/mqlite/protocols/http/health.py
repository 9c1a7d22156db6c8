"""GET /_mqlite/health: is the broker ready, which version, since when, on which data.

Answers JSON `{"status", "version", "uptime_seconds", "data_dir", "memory",
"listeners": {name: {"state", "address"}}}`; `status` is `ok` or `degraded` (with
`reasons`) with HTTP 200 once every listener serves and recovery is done, `starting`
(with `starting`: what is pending) or `stopping` with HTTP 503 (see mqlite/readiness.py).
It reads only what the server hands it at mount time, so it answers while every other
front-end is busy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from aiohttp import web

import mqlite

HEALTH_PATH = "/_mqlite/health"


def mount(app: web.Application, readiness: Any, describe: Callable[[], dict[str, Any]]) -> None:
    """Add `/_mqlite/health`; `readiness.report()` gives the status, `describe()` the
    server facts to report beside it."""

    async def health(request: web.Request) -> web.Response:
        status, report = readiness.report()
        body = {
            "status": report.pop("status"),
            "version": mqlite.__version__,
            "uptime_seconds": round(time.monotonic() - readiness.started, 3),
            **describe(),
            **report,
        }
        return web.json_response(body, status=status)

    app.router.add_route("GET", HEALTH_PATH, health)
    app.router.add_route("HEAD", HEALTH_PATH, health)


def starting_app(readiness: Any, describe: Callable[[], dict[str, Any]]) -> web.Application:
    """The app served while the broker starts: health answers 503 with what is pending,
    every other request 503 ServiceUnavailable (AWS SDKs retry it)."""
    app = web.Application()
    mount(app, readiness, describe)

    async def not_yet(request: web.Request) -> web.Response:
        return web.json_response({"__type": "ServiceUnavailable", "message": "mqlite is starting"}, status=503)

    app.router.add_route("*", "/{tail:.*}", not_yet)
    return app
