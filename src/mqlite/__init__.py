"""mqlite: one embedded broker for queues, pub/sub, event streams and event routing.

`mqlite.Broker(path)` opens a data directory (thread-safe, blocking API);
`mqlite.Broker()` runs in memory; `mqlite.AsyncBroker` is the asyncio flavour with the
same names. `mqlite serve` runs the network front-ends (see `mqlite.server`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.embedded import AsyncBroker, Broker

__all__ = ["AsyncBroker", "Broker", "__version__"]


def __getattr__(name: str) -> Any:
    # Lazy, so `import mqlite` stays cheap for the CLI and for layer tests.
    if name in ("Broker", "AsyncBroker"):
        from mqlite import embedded

        return getattr(embedded, name)
    raise AttributeError(name)
