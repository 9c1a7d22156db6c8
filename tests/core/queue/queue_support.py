"""Helpers for queue tests: a BrokerCore on a ManualClock, in memory or on a data dir."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import ManualClock
from mqlite.core.config import CoreConfig


def run(coro: Awaitable[Any]) -> Any:
    return asyncio.run(coro)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def open_core(
    data_dir: Path | None = None, clock: ManualClock | None = None, fsync: str = "never"
) -> AsyncIterator[BrokerCore]:
    core = await BrokerCore.open(
        data_dir, CoreConfig(fsync=fsync, maintenance_interval=0), clock or ManualClock()
    )
    try:
        yield core
    finally:
        await core.close()


def with_core(fn: Callable[[BrokerCore, ManualClock], Awaitable[Any]], data_dir: Path | None = None) -> Any:
    async def main() -> Any:
        clock = ManualClock()
        async with open_core(data_dir, clock) as core:
            return await fn(core, clock)

    return run(main())


class StubRouter:
    """A router destination recording publishes (stands in for core's Router, whose
    own tests live elsewhere): what the queue hands to `publish` is what we check."""

    def __init__(self) -> None:
        self.published: list[Any] = []

    async def publish(self, message: Any) -> int:
        self.published.append(message)
        return 1
