"""Stream queues (`x-queue-type: stream`): an AMQP queue that is a core stream.

A stream queue is append-only and non-destructive, as RabbitMQ's: publishes append to the
core stream of the queue's core name (so a Kafka consumer of that topic, a Redis XREAD or
Kinesis reads the same messages), consumers read from an offset and acks only return
credit. RabbitMQ's rules kept here (reply texts from rabbitmq-server in the same run):

- Basic.Consume needs a prefetch (Basic.Qos) and manual acks: 406 `consumer prefetch
  count is not set for 'queue 'q' in vhost '/''`, 540 `automatic acknowledgement not
  supported by stream queues queue 'q' in vhost '/'`;
- `x-stream-offset`: `first`, `last` (the last message; RabbitMQ's last chunk), `next`
  (default), an integer offset, an AMQP timestamp (seconds), or an interval string such
  as `10m` (now minus the interval); any other value closes the connection with 541
  INTERNAL_ERROR, as RabbitMQ does;
- each delivery carries the header `x-stream-offset` (the message's offset);
- Basic.Get, Basic.Nack/Reject and Queue.Purge: 540 NOT_IMPLEMENTED;
- retention: `x-max-age`, `x-max-length-bytes` (core stream retention).

Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from typing import TYPE_CHECKING, Any, NamedTuple, cast

from mqlite.core.api import Stream
from mqlite.core.router import stream_headers
from mqlite.errors import MqliteError
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.channel import Consumer, Delivery
from mqlite.protocols.amqp.frames import DeliverEncoder
from mqlite.protocols.amqp.properties import (
    META_EXCHANGE,
    META_PROPS,
    Properties,
    decode_properties,
    encode_properties,
)
from mqlite.protocols.amqp.queue_types import max_age_ms
from mqlite.storage.recordbatch import RecordIn

if TYPE_CHECKING:
    from mqlite.protocols.amqp.channel import Channel

log = logging.getLogger("mqlite.amqp")
POLL_WAIT = 5.0  # seconds a parked consumer waits before looking again (it is woken on data)
BATCH = 256  # records read per step


class StreamCounts(NamedTuple):
    visible: int


class _Receipt(NamedTuple):
    receipt: int


class StreamQueue:
    """What the AMQP layer calls on `QueueRecord.queue`, for a stream queue."""

    kind = "stream"

    def __init__(self, stream: Stream, name: str, vhost: str) -> None:
        self.stream = stream
        self.name = name
        self.vhost = vhost

    @property
    def deleted(self) -> bool:
        return bool(self.stream.deleted)

    def counts(self) -> StreamCounts:
        s = self.stream
        return StreamCounts(max(0, s.latest(0) - s.earliest(0)))

    def not_supported(self, what: str) -> E.AmqpError:
        return E.AmqpError(E.NOT_IMPLEMENTED, f"NOT_IMPLEMENTED - {what} not supported by stream queues "
                           f"queue '{self.name}' in vhost '{self.vhost}'")

    async def send_envelope(self, env: Any) -> None:
        await self.send_batch([env])

    async def send_batch(self, envs: list[Any]) -> list[Any]:
        """Append publishes (default exchange) as the router appends to a stream."""
        records = [RecordIn(e.key if e.key is not None else (e.routing_key.encode() or None), e.body,
                            tuple(stream_headers(e)), e.timestamp_ms) for e in envs]
        await self.stream.append_records(0, records)
        return [None] * len(envs)

    # acks and channel cleanup: nothing to delete or release in a stream
    def delete(self, receipt: Any) -> None:
        return None

    async def delete_batch(self, receipts: Any) -> None:
        return None

    def release(self, receipt: Any) -> None:
        return None

    def release_owner(self, owner: Any) -> None:
        return None


def start_offset(stream: Stream, value: Any, present: bool) -> int:
    """RabbitMQ's `parse_offset_arg` on this stream; AmqpError 541 for an invalid value."""
    first, end = stream.earliest(0), stream.latest(0)
    if not present:
        return end
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if value == "first":
        return first
    if value == "last":
        return max(first, end - 1)
    if value == "next":
        return end
    if isinstance(value, datetime.datetime):
        return _at_time(stream, int(value.timestamp() * 1000))
    if isinstance(value, str):
        age = max_age_ms(value)
        if age is None:
            raise E.AmqpError(E.INTERNAL_ERROR, "INTERNAL_ERROR", hard=True)
        return _at_time(stream, int(time.time() * 1000) - age)
    if isinstance(value, int) and not isinstance(value, bool):
        return min(max(value, first), end)
    raise E.AmqpError(E.INTERNAL_ERROR, "INTERNAL_ERROR", hard=True)


def _at_time(stream: Stream, ts_ms: int) -> int:
    found = stream.offset_for_time(0, ts_ms)
    return stream.latest(0) if found is None else int(found)


def properties_with_offset(headers: Any, offset: int) -> bytes:
    """The delivery's property block: the publisher's (if AMQP) plus `x-stream-offset`."""
    meta = dict(headers or ())
    raw = meta.get(META_PROPS)
    if raw is not None:
        props = decode_properties(bytes(raw))
        table = dict(props.headers or {})
    else:
        props = Properties()
        table = {k: (v.decode("utf-8", "replace") if isinstance(v, bytes) else v)
                 for k, v in meta.items() if not k.startswith(("amqp.", "mqlite.")) and v is not None}
    table["x-stream-offset"] = offset
    props.headers = table
    try:
        return encode_properties(props)
    except Exception:  # noqa: BLE001 - a foreign header pamqp cannot encode: offset only
        props.headers = {"x-stream-offset": offset}
        return encode_properties(props)


class StreamConsumer(Consumer):
    """A Basic.Consume on a stream queue: reads from its offset, `prefetch` unacked at most."""

    __slots__ = ("position",)

    def __init__(self, channel: Channel, qrec: Any, tag: str, exclusive: bool, prefetch: int,
                 args: dict[str, Any], position: int) -> None:
        super().__init__(channel, qrec, tag, False, exclusive, prefetch, args)
        self.position = position

    async def run(self) -> None:
        ch = self.channel
        conn = ch.conn
        qrec = self.qrec
        assert qrec is not None  # a stream consumer always has its queue
        squeue = cast(StreamQueue, qrec.queue)
        stream = squeue.stream
        try:
            while self.active:
                n = min(self.credit(), BATCH)
                if n <= 0:
                    self.blocked = True
                    self.wake.clear()
                    await self.wake.wait()
                    continue
                self.position = max(self.position, stream.earliest(0))  # retention moved on
                records = stream.read(0, self.position, n)
                if not records:
                    self.receiving = True
                    try:
                        await stream.wait_for_data({0: self.position}, POLL_WAIT)
                    finally:
                        self.receiving = False
                    continue
                if not self.active or ch.closing:
                    return
                self._deliver(ch, squeue, records)
                self.position = records[-1].offset + 1
                if conn.write_blocked:
                    await conn.drain()
        except asyncio.CancelledError:
            pass
        except (ConnectionError, MqliteError):
            pass  # the connection went, or the stream was deleted (consumers get Basic.Cancel)
        except Exception:
            log.exception("stream consumer %s on %s failed", self.tag, qrec.name)

    def _deliver(self, ch: Channel, squeue: StreamQueue, records: list[Any]) -> None:
        enc = self.encoder
        if enc is None:
            enc = self.encoder = DeliverEncoder(ch.number, self.tag, ch.conn.frame_max)
        out: list[bytes] = []
        tag = ch.next_tag
        for r in records:
            headers = dict(r.headers or ())
            key = r.key.decode("utf-8", "replace") if isinstance(r.key, bytes) else ""
            enc.add(out, tag, False, headers.get(META_EXCHANGE), key,
                    properties_with_offset(r.headers, r.offset), r.value or b"")
            ch.unacked[tag] = Delivery(tag, self, squeue, _Receipt(r.offset), self.qrec)
            tag += 1
        self.unacked += tag - ch.next_tag
        ch.next_tag = tag
        ch.leased[id(squeue)] = squeue
        ch.conn.send(b"".join(out))
