"""QueueRegistry: the named queues (SQS queues and AMQP queues are the same objects).

Owns the catalog entities of kind 'queue' (config: the QueueConfig dict plus the
queue's incarnation token) and each queue's two logs (`logs.open('queue', name, 0)`
for messages, `logs.open('queue-journal', name, 0)` for the lease journal).
Invariants: every queue in memory has its catalog row and vice versa; on construction
every queue in the catalog is restored (lazily opened on first `get`).
Concurrency: core's single event loop (see docs/architecture.md); no locks.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.catalog import Catalog
from mqlite.core.clock import Clock
from mqlite.core.errors import QueueNotFound


class QueueRegistry:
    """create/get/delete/list queues; `BrokerCore` delegates its queue calls here."""

    def __init__(self, catalog: Catalog, logs: Any, clock: Clock, core: Any) -> None:
        self.catalog = catalog
        self.logs = logs
        self.clock = clock
        self.core = core
        self._queues: dict[str, Any] = {}

    def create(self, name: str, config: Any = None, **attributes: Any) -> Any:
        raise NotImplementedError("queues land shortly (issue #3)")

    def get(self, name: str) -> Any:
        try:
            return self._queues[name]
        except KeyError:
            raise QueueNotFound(name) from None

    def get_or_create(self, name: str, config: Any = None, **attributes: Any) -> Any:
        if name in self._queues:
            return self._queues[name]
        return self.create(name, config, **attributes)

    def delete(self, name: str) -> bool:
        return self._queues.pop(name, None) is not None

    def list(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._queues if n.startswith(prefix))

    def tick(self) -> None:
        """Apply due expiries (visibility, delay, TTL, queue expiry) on every queue."""

    async def close(self) -> None:
        self._queues.clear()
