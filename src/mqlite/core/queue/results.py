"""Values a queue hands back: SendResult, QueueCounts, and Ack (an awaitable durability
receipt for deletes and purges). Frozen and slotted; no state.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable, Generator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    sequence_number: str
    duplicate: bool = False
    offset: int = -1


@dataclass(frozen=True, slots=True)
class QueueCounts:
    visible: int
    in_flight: int
    delayed: int

    @property
    def total(self) -> int:
        return self.visible + self.in_flight + self.delayed


class Ack:
    """Returned by delete/purge: the change is applied already; awaiting the Ack writes
    it to the journal (if still pending) and waits until it is durable (fsync policy
    'always'). Not awaiting it is fine: it is written within a second (tick).
    `count`: how many messages the operation removed (purge)."""

    __slots__ = ("_flush", "_fut", "count")

    def __init__(
        self, fut: Future[Any] | None, flush: Callable[[], Future[Any] | None] | None = None,
        count: int = 0,
    ) -> None:
        self._fut = fut
        self._flush = flush
        self.count = count

    def __await__(self) -> Generator[Any, None, None]:
        fut = self._fut
        if self._flush is not None:
            fut = self._flush()
        if fut is None:
            return
        if fut.done():
            fut.result()
            return
        yield from asyncio.wrap_future(fut).__await__()


_NOOP = Ack(None)


def _wrap(fut: Future[Any]) -> Awaitable[Any] | None:
    if fut.done():
        fut.result()
        return None
    return asyncio.wrap_future(fut)


def fast_constructor(cls: type[T]) -> Callable[..., T]:
    """A positional constructor for a frozen slotted dataclass that sets the slots
    directly (its generated `__init__` pays `object.__setattr__` per field; this is
    ~3x cheaper). Same object, same fields, in the dataclass's field order; every
    field must be given."""
    fields = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    env: dict[str, Any] = {"_new": object.__new__, "_cls": cls}
    lines = [f"def make({', '.join(fields)}):", "    obj = _new(_cls)"]
    for i, name in enumerate(fields):
        env[f"_s{i}"] = cls.__dict__[name].__set__
        lines.append(f"    _s{i}(obj, {name})")
    lines.append("    return obj")
    exec("\n".join(lines), env)  # noqa: S102 - generated like dataclasses' own __init__
    return env["make"]  # type: ignore[no-any-return]


_send_result = fast_constructor(SendResult)
