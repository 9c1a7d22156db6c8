"""The asyncio flavour of the embedded API: the one implementation of the facades.

`AsyncBroker` owns a `BrokerCore` on the caller's event loop; `AsyncQueue`,
`AsyncStream`, `AsyncGroup` and `AsyncTopic` are thin facades over core objects, looked
up by name on every call (so a deleted entity raises its NotFound error). Conversions
made here for convenience, nowhere else: str bodies/values/keys are UTF-8 encoded;
plain queue attributes {name: str | int | float | bytes | Attribute} become
`Attribute`s (String / Number / Binary).

Concurrency: every method runs on the loop that opened the broker (core's contract).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self

from mqlite.core.api import ConsumerGroup, Stream
from mqlite.core.broker import BrokerCore
from mqlite.core.clock import Clock
from mqlite.core.config import CoreConfig
from mqlite.core.errors import InvalidValue
from mqlite.core.groups import CommittedOffset
from mqlite.core.matchers.index import MatcherKind
from mqlite.core.message import Attribute, Envelope, Message
from mqlite.core.router import Destination
from mqlite.storage.recordbatch import Record
from mqlite.transforms import STANDARD

__all__ = ["AsyncBroker", "AsyncGroup", "AsyncQueue", "AsyncStream", "AsyncTopic", "to_attributes"]


def to_attributes(attributes: Mapping[str, Any] | None) -> dict[str, Attribute] | None:
    """Plain {name: str | int | float | bytes | Attribute} -> {name: Attribute}."""
    if not attributes:
        return None
    out: dict[str, Attribute] = {}
    for name, value in attributes.items():
        if isinstance(value, Attribute):
            out[name] = value
        elif isinstance(value, bool):
            raise InvalidValue(
                "attributes", f"attribute {name!r}: use a str for booleans, not {value!r}",
                rule="attribute-type",
            )
        elif isinstance(value, str):
            out[name] = Attribute("String", value)
        elif isinstance(value, (int, float)):
            out[name] = Attribute("Number", repr(value) if isinstance(value, float) else str(value))
        elif isinstance(value, (bytes, bytearray, memoryview)):
            out[name] = Attribute("Binary", bytes(value))
        else:
            raise InvalidValue(
                "attributes",
                f"attribute {name!r} must be str, int, float, bytes or Attribute, "
                f"got {type(value).__name__}",
                rule="attribute-type",
            )
    return out


def _body(body: bytes | str) -> bytes:
    if type(body) is bytes:
        return body
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, (bytes, bytearray, memoryview)):
        return bytes(body)
    raise InvalidValue("body", f"a message body is str or bytes, got {type(body).__name__}")


def _message_id(result: Any) -> str:
    for name in ("message_id", "id"):
        value = getattr(result, name, None)
        if value is not None:
            return str(value)
    return str(result)


# ---------------------------------------------------------------------------------------
# async flavour: the one implementation
# ---------------------------------------------------------------------------------------
class AsyncQueue:
    """A queue, by name (a deleted queue raises QueueNotFound on the next call)."""

    def __init__(self, core: BrokerCore, name: str) -> None:
        self._core = core
        self.name = name

    @property
    def core_queue(self) -> Any:
        return self._core.get_queue(self.name)

    async def send(
        self,
        body: bytes | str,
        attributes: Mapping[str, Any] | None = None,
        delay: float = 0,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        """Send one message; returns its message id."""
        result = await self.core_queue.send(
            _body(body), to_attributes(attributes), delay=delay or None,
            group_id=group_id, dedup_id=dedup_id,
        )
        return _message_id(result)

    async def send_batch(self, bodies: Iterable[bytes | str | Mapping[str, Any]]) -> list[str]:
        """Send many as one append: each entry a body, or a dict of `send`'s keyword
        arguments. Returns the message ids in order; if any entry was refused, the
        others are sent and the first entry's error is raised."""
        envelopes: list[Envelope | bytes] = []
        for entry in bodies:
            if type(entry) is bytes:  # the common case: core takes a plain body as is
                envelopes.append(entry)
                continue
            if type(entry) is str:
                envelopes.append(entry.encode())
                continue
            spec: dict[str, Any] = dict(entry) if isinstance(entry, Mapping) else {"body": entry}
            unknown = set(spec) - {"body", "attributes", "delay", "group_id", "dedup_id"}
            if unknown or "body" not in spec:
                raise InvalidValue(
                    "entries", f"a batch entry has body, attributes, delay, group_id, "
                    f"dedup_id; got {sorted(spec)}", rule="batch-entry",
                )
            envelopes.append(
                Envelope(
                    body=_body(spec["body"]),
                    attributes=to_attributes(spec.get("attributes")) or {},
                    delay=spec.get("delay") or None,
                    group_id=spec.get("group_id"),
                    dedup_id=spec.get("dedup_id"),
                )
            )
        results = await self.core_queue.send_batch(envelopes)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return [_message_id(r) for r in results]

    async def receive(
        self, max_messages: int = 1, wait: float = 0, visibility_timeout: float | None = None
    ) -> list[Message]:
        """Up to `max_messages` messages, waiting up to `wait` seconds for the first."""
        return list(
            await self.core_queue.receive(max_messages, wait, visibility_timeout)
        )

    async def delete(self, receipt: str) -> None:
        result = self.core_queue.delete(receipt)
        if inspect.isawaitable(result):
            await result

    async def delete_batch(self, receipts: Iterable[str]) -> None:
        """Delete many in one journal write; the first refused receipt's error is raised
        after the others are deleted."""
        for error in await self.core_queue.delete_batch(list(receipts)):
            if error is not None:
                raise error

    async def change_visibility(self, receipt: str, seconds: float) -> None:
        result = self.core_queue.change_visibility(receipt, seconds)
        if inspect.isawaitable(result):
            await result

    async def purge(self) -> None:
        result = self.core_queue.purge()
        if inspect.isawaitable(result):
            await result

    async def counts(self) -> Any:
        return self.core_queue.counts()


class AsyncGroup:
    """A consumer group's committed offsets on one stream."""

    def __init__(self, stream: AsyncStream, name: str) -> None:
        self._stream = stream
        self.name = name

    @property
    def _group(self) -> ConsumerGroup:
        return self._stream._core.groups.get(self.name)

    async def commit(self, partition: int, offset: int, metadata: str = "") -> None:
        """Durably record `offset` as the next offset this group will read."""
        self._stream.core_stream._part(partition)
        self._group.commit(self._stream.name, partition, offset, metadata)

    async def committed(self, partition: int) -> int | None:
        """The committed offset, or None when nothing was committed."""
        c: CommittedOffset | None = self._group.committed(self._stream.name, partition)
        return None if c is None else c.offset

    async def lag(self) -> dict[int, int]:
        return self._group.lag(self._stream.name)


class AsyncStream:
    """A stream, by name (a deleted stream raises StreamNotFound on the next call)."""

    def __init__(self, core: BrokerCore, name: str) -> None:
        self._core = core
        self.name = name

    @property
    def core_stream(self) -> Stream:
        return self._core.get_stream(self.name)

    @property
    def partitions(self) -> int:
        return int(self.core_stream.partition_count)

    async def append(
        self,
        value: bytes | str | None,
        key: bytes | str | None = None,
        headers: Mapping[str, bytes | str | None] | Iterable[tuple[str, Any]] | None = None,
        partition: int | None = None,
    ) -> tuple[int, int]:
        """Append one record; returns (partition, offset)."""
        return await self.core_stream.append(value, key, headers, partition)

    async def append_batch(
        self, values: Sequence[bytes | str | tuple[Any, ...]], partition: int | None = None
    ) -> list[tuple[int, int]]:
        """Append many records (values, or (value, key[, headers]) tuples) in one go."""
        return await self.core_stream.append_many(values, partition)

    async def read(
        self, partition: int, offset: int, max_records: int = 100, wait: float = 0
    ) -> list[Record]:
        """Records from `offset`; waits up to `wait` seconds when there are none yet."""
        stream = self.core_stream
        records = stream.read(partition, offset, max_records)
        if not records and wait > 0 and await stream.wait_for_data({partition: offset}, wait):
            records = self.core_stream.read(partition, offset, max_records)
        return records

    async def earliest(self, partition: int = 0) -> int:
        return self.core_stream.earliest(partition)

    async def latest(self, partition: int = 0) -> int:
        return self.core_stream.latest(partition)

    async def offset_for_time(self, partition: int, ts: int) -> int | None:
        """First offset with timestamp >= ts (ms); None when every record is older."""
        return self.core_stream.offset_for_time(partition, ts)

    def group(self, name: str) -> AsyncGroup:
        return AsyncGroup(self, name)


class AsyncTopic:
    """A publish/subscribe topic (a core Router of kind 'sns'): every subscribed queue or
    stream gets each published message, or only those its filter policy matches."""

    def __init__(self, core: BrokerCore, name: str) -> None:
        self._core = core
        self.name = name

    @property
    def router(self) -> Any:
        return self._core.get_router(self.name)

    async def subscribe(
        self, target: Any, filter: Mapping[str, Any] | None = None
    ) -> str:
        """Deliver to `target` (a queue or stream facade, or a queue name); with
        `filter`, only messages matching that SNS filter policy (on attributes).
        Idempotent; returns the subscription id."""
        target = getattr(target, "_inner", target)  # a blocking facade wraps an async one
        if isinstance(target, str):
            dest = Destination.queue(target)
        elif isinstance(target, AsyncQueue):
            dest = Destination.queue(target.name)
        elif isinstance(target, AsyncStream):
            dest = Destination.stream(target.name)
        else:
            raise InvalidValue("target", f"cannot subscribe {type(target).__name__} to a topic")
        if filter is None:
            binding = self.router.bind(dest, MatcherKind.FANOUT)
        else:
            binding = self.router.bind(dest, MatcherKind.SNS, dict(filter))
        return str(binding.id)

    async def unsubscribe(self, subscription_id: str) -> bool:
        return bool(self.router.unbind(subscription_id))

    async def publish(
        self, body: bytes | str, attributes: Mapping[str, Any] | None = None
    ) -> int:
        """Publish one message; returns how many subscribers took it."""
        envelope = Envelope(body=_body(body), attributes=to_attributes(attributes) or {})
        result = await self.router.publish(envelope)
        return int(result.routed)


class AsyncBroker:
    """The asyncio flavour: `async with AsyncBroker(path) as b` or `await AsyncBroker.open(path)`."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        fsync: str = "1000",
        config: CoreConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.path = None if path is None else Path(path)
        config = config or CoreConfig(fsync=fsync)
        # The product's transforms, so data any front-end made routes the same here.
        self._config = config if config.transforms else config.replace(transforms=STANDARD)
        self._clock = clock or Clock()
        self._core: BrokerCore | None = None

    @classmethod
    async def open(cls, path: str | Path | None = None, **kwargs: Any) -> AsyncBroker:
        broker = cls(path, **kwargs)
        await broker.start()
        return broker

    async def start(self) -> Self:
        if self._core is None:
            self._core = await BrokerCore.open(self.path, self._config, self._clock)
        return self

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        core, self._core = self._core, None
        if core is not None:
            await core.close()

    @property
    def core(self) -> BrokerCore:
        if self._core is None:
            raise RuntimeError("the broker is not open (use `async with` or `await .open()`)")
        return self._core

    async def queue(self, name: str, **attributes: Any) -> AsyncQueue:
        """Get or create a queue; attributes are QueueConfig fields (visibility_timeout,
        delay, retention, fifo, content_based_dedup, redrive, max_message_bytes, ...)."""
        self.core.queue(name, **attributes)
        return AsyncQueue(self.core, name)

    async def stream(self, name: str, partitions: int = 1) -> AsyncStream:
        """Get or create a stream."""
        self.core.stream(name, partitions)
        return AsyncStream(self.core, name)

    async def topic(self, name: str) -> AsyncTopic:
        """Get or create a publish/subscribe topic."""
        self.core.routers.get_or_create(name, "sns")
        return AsyncTopic(self.core, name)

    async def delete_queue(self, name: str) -> None:
        result = self.core.delete_queue(name)
        if inspect.isawaitable(result):
            await result

    async def delete_stream(self, name: str) -> None:
        self.core.delete_stream(name)

    async def list_queues(self, prefix: str = "") -> list[str]:
        return self.core.list_queues(prefix)

    async def list_streams(self, prefix: str = "") -> list[str]:
        return self.core.list_streams(prefix)
