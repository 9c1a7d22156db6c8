"""GET /_mqlite/metrics: Prometheus text exposition of the broker's state.

The route is mounted at start; prometheus-client and the collector
(`metrics_collector`) are imported on the first scrape, so a broker nobody scrapes
does not pay their start-up time and memory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from mqlite.core.api import BrokerCore
from mqlite.settings import Settings


def mount(app: web.Application, core: BrokerCore, connections: Callable[[], dict[str, int]],
          settings: Settings | None = None, listeners: Callable[[], list[Any]] = list) -> None:
    """Add `/_mqlite/metrics`; `connections()` maps front-end name -> open connections,
    `listeners()` gives the TCP listeners (their registries count connections)."""
    built: list[Any] = []

    async def metrics(request: web.Request) -> web.Response:
        from prometheus_client import generate_latest
        from prometheus_client.exposition import CONTENT_TYPE_LATEST

        from mqlite.protocols.http import metrics_collector

        if not built:
            built.append(metrics_collector.registry(core, connections, settings, listeners))
        body = generate_latest(built[0])
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/_mqlite/metrics", metrics)
