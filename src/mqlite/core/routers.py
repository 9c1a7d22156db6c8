"""RouterRegistry: the named routers (SNS topics, AMQP exchanges, EventBridge buses).

Owns the catalog entities of kind 'router' (config: {'kind': ..., 'config': {...}})
and 'binding' (name '<router>\\x1f<binding id>', config: the binding's durable form).
Invariants: every durable router and binding in memory has its catalog row and vice
versa; on construction every router and binding in the catalog is restored.
Concurrency: core's single event loop (see docs/architecture.md); no locks.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.catalog import Catalog
from mqlite.core.clock import Clock
from mqlite.core.errors import RouterExists, RouterNotFound


class RouterRegistry:
    """create/get/delete/list routers; `BrokerCore` delegates its router calls here."""

    def __init__(self, catalog: Catalog, logs: Any, clock: Clock, core: Any) -> None:
        self.catalog = catalog
        self.logs = logs
        self.clock = clock
        self.core = core
        self._routers: dict[str, Any] = {}

    def create(self, name: str, kind: str, config: dict[str, Any] | None = None) -> Any:
        if name in self._routers:
            raise RouterExists(name)
        raise NotImplementedError("routing lands shortly (issue #4)")

    def get(self, name: str) -> Any:
        try:
            return self._routers[name]
        except KeyError:
            raise RouterNotFound(name) from None

    def delete(self, name: str) -> bool:
        return self._routers.pop(name, None) is not None

    def list(self) -> list[str]:
        return sorted(self._routers)
