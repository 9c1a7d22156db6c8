"""RegisterStreamConsumer, DeregisterStreamConsumer, DescribeStreamConsumer,
ListStreamConsumers, SubscribeToShard (enhanced fan-out).

Consumers live in the catalog kv namespace `kinesis.consumers` (key = stream name,
value = {consumer name: {arn, created}}); at most 20 per stream (Kinesis's limit).
They are ACTIVE as soon as registered. ConsumerARN =
`<stream ARN>/consumer/<name>:<creation epoch seconds>`.

SubscribeToShard streams, as Kinesis does: it validates the request, then answers
`application/vnd.amazon.eventstream` (`eventstream.py`) through the AWS app's streaming
hook (`AwsStream`): an `initial-response` event, then a `SubscribeToShardEvent`
(Records, ContinuationSequenceNumber, MillisBehindLatest; ChildShards once the shard is
closed and read to its end) as soon as records arrive (up to 10,000 records an event;
payloads in JSON, or in CBOR for a CBOR client: `_Encoding`),
and an empty one after every `kinesis_subscribe_wait` (default 5) without any. The
subscription ends after `kinesis_subscribe_duration` (default 300, Kinesis's 5
minutes, measured on `core.clock`'s monotonic time), when the shard is closed and read,
when the client disconnects, or with an exception event when the stream goes away.
Clients re-subscribe from the last ContinuationSequenceNumber (AFTER_SEQUENCE_NUMBER).
Concurrency: the server's event loop; waits are `Stream.wait_for_data` in slices of at
most `POLL_S`, checking for a disconnected client and the deadline between them.
"""

from __future__ import annotations

import asyncio
import base64
import re
from collections.abc import AsyncIterator
from typing import Any

import orjson

from mqlite.core.api import BrokerCore
from mqlite.errors import MqliteError
from mqlite.protocols.aws.frontend import AwsContext, AwsStream
from mqlite.protocols.aws.kinesis import errors, eventstream
from mqlite.protocols.aws.kinesis.sequence import encode_seq
from mqlite.protocols.aws.kinesis.shards import child_shards_shape
from mqlite.protocols.aws.kinesis.state import KinesisState
from mqlite.protocols.aws.wire import AwsError, Protocol

NS = "kinesis.consumers"
MAX_CONSUMERS = 20
MAX_EVENT_RECORDS = 10_000
POLL_S = 1.0  # longest wait between checks of the client and the deadline
EVENTSTREAM_CONTENT_TYPE = "application/vnd.amazon.eventstream"
_CONSUMER_ARN = re.compile(r"(arn:aws[a-z-]*:kinesis:[^:]*:[^:]*:stream/([a-zA-Z0-9_.-]+))/consumer/([a-zA-Z0-9_.-]+):\d+")


class _Encoding:
    """Event payloads in the request's protocol: JSON, or CBOR for a CBOR client (the AWS
    SDK for Java reads SubscribeToShard's events with the protocol it spoke: Data as a
    byte string, timestamps tag 1 in milliseconds, `:content-type` CBOR)."""

    def __init__(self, cbor: bool) -> None:
        self.cbor = cbor
        if cbor:
            from mqlite.protocols.aws.wire import cbor as wire_cbor

            self._wire = wire_cbor

    def event(self, event_type: str, body: dict[str, Any]) -> bytes:
        if not self.cbor:
            return eventstream.event(event_type, orjson.dumps(body))
        from mqlite.protocols.aws.kinesis import service

        shape = service().json_model.shape_for(event_type) if event_type != "initial-response" else None
        payload = self._wire.dumps(self._wire.to_cbor(shape, body) if shape is not None else body)
        return eventstream.event(event_type, payload, self._wire.CBOR_CONTENT_TYPE)

    def exception(self, code: str, message: str) -> bytes:
        if not self.cbor:
            return eventstream.exception(code, orjson.dumps({"message": message}))
        return eventstream.exception(code, self._wire.dumps({"message": message}), self._wire.CBOR_CONTENT_TYPE)


class ConsumerActions:
    def __init__(self, core: BrokerCore, state: KinesisState, iterators: Any) -> None:
        self.core = core
        self.state = state
        self.iterators = iterators
        self.wait_s = state.settings.kinesis_subscribe_wait
        self.duration_s = state.settings.kinesis_subscribe_duration

    # -- store --------------------------------------------------------------------------
    def for_stream(self, stream: str) -> dict[str, Any]:
        return dict(self.core.catalog.kv_get(NS, stream) or {})

    def drop_stream(self, stream: str) -> None:
        self.core.catalog.kv_delete(NS, stream)

    def _stream_from_arn(self, arn: str) -> str:
        return self.state.name_of({"StreamARN": arn})

    def _find(self, p: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
        arn = p.get("ConsumerARN")
        if arn is not None:
            m = _CONSUMER_ARN.fullmatch(arn)
            if m is None:  # not a consumer's ARN: no such consumer
                raise errors.not_found(f"Consumer {arn}, account {self.state.account} not found.")
            stream, name = self._stream_from_arn(m.group(1)), m.group(3)
        else:
            if p.get("StreamARN") is None or p.get("ConsumerName") is None:
                raise errors.invalid_argument(
                    "Either ConsumerARN or both StreamARN and ConsumerName must be provided.")
            stream, name = self._stream_from_arn(p["StreamARN"]), p["ConsumerName"]
        self.state.meta(stream)
        found = self.for_stream(stream).get(name)
        if found is None or (arn is not None and found["arn"] != arn):
            raise errors.not_found(
                f"Consumer {arn or name} under stream {stream} not found for account {self.state.account}.")
        return stream, name, found

    def _describe(self, name: str, c: dict[str, Any], stream_arn: str | None = None) -> dict[str, Any]:
        out = {"ConsumerName": name, "ConsumerARN": c["arn"], "ConsumerStatus": "ACTIVE",
               "ConsumerCreationTimestamp": c["created"] / 1000}
        if stream_arn is not None:
            out["StreamARN"] = stream_arn
        return out

    # -- actions ------------------------------------------------------------------------
    async def register_stream_consumer(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """RegisterStreamConsumer."""
        stream = self._stream_from_arn(p["StreamARN"])
        self.state.meta(stream)
        name = p["ConsumerName"]
        if not re.fullmatch(r"[a-zA-Z0-9_.-]{1,128}", name):
            raise errors.validation(name, "consumerName",
                                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        current = self.for_stream(stream)
        if name in current:
            raise errors.in_use(f"Consumer {name} under stream {stream} already exists for account "
                                f"{self.state.account}.")
        if len(current) >= MAX_CONSUMERS:
            raise errors.limit_exceeded(
                f"Consumer limit of {MAX_CONSUMERS} reached for stream {stream} under account "
                f"{self.state.account}.")
        now = self.core.clock.now_ms()
        arn = f"{self.state.arn(stream, ctx.region)}/consumer/{name}:{now // 1000}"
        current[name] = {"arn": arn, "created": now}
        self.core.catalog.kv_put(NS, stream, current)
        return {"Consumer": self._describe(name, current[name])}

    async def deregister_stream_consumer(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DeregisterStreamConsumer (by ConsumerARN, or StreamARN + ConsumerName)."""
        stream, name, _ = self._find(p)
        current = self.for_stream(stream)
        current.pop(name, None)
        self.core.catalog.kv_put(NS, stream, current)

    async def describe_stream_consumer(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeStreamConsumer."""
        stream, name, c = self._find(p)
        return {"ConsumerDescription": self._describe(name, c, self.state.arn(stream, ctx.region))}

    async def list_stream_consumers(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListStreamConsumers: MaxResults (1-10000, default 100), NextToken."""
        stream = self._stream_from_arn(p["StreamARN"])
        self.state.meta(stream)
        items = sorted(self.for_stream(stream).items())
        token = p.get("NextToken")
        if token is not None:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError:
                raise errors.invalid_argument(f"Invalid NextToken {token[:60]}.") from None
            items = [i for i in items if i[0] > after]
        limit = p.get("MaxResults", 100)
        page = items[:limit]
        out: dict[str, Any] = {"Consumers": [self._describe(n, c) for n, c in page]}
        if len(items) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
        return out

    async def subscribe_to_shard(self, ctx: AwsContext, p: dict[str, Any]) -> AwsStream:
        """SubscribeToShard: validates, then streams events (see module docstring)."""
        stream_name, _, _ = self._find({"ConsumerARN": p["ConsumerARN"]})
        start = p["StartingPosition"]
        shard_id = p["ShardId"]
        offset = self.iterators.resolve(stream_name, shard_id, start["Type"],
                                        start.get("SequenceNumber"), start.get("Timestamp"))
        self.state.shard_of(self.state.meta(stream_name), shard_id)
        return AwsStream(EVENTSTREAM_CONTENT_TYPE,
                         self._events(ctx, stream_name, shard_id, offset))

    async def _events(self, ctx: AwsContext, stream_name: str, shard_id: str,
                      offset: int) -> AsyncIterator[bytes]:
        clock = self.core.clock
        deadline = clock.monotonic() + self.duration_s
        enc = _Encoding(ctx.protocol is Protocol.CBOR)
        yield enc.event("initial-response", {})
        idle_since = clock.monotonic()
        try:
            stream = self.core.get_stream(stream_name)
            while not ctx.disconnected():
                if self.core.get_stream(stream_name) is not stream:  # deleted and re-created
                    raise errors.stream_not_found(stream_name, self.state.account)
                meta = self.state.meta(stream_name)
                info = self.state.shard_of(meta, shard_id)
                q = info.partition
                latest = stream.latest(q)
                end = latest if info.open else min(info.closed_at or 0, latest)
                offset = max(offset, stream.earliest(q))
                got = stream.read(q, offset, min(MAX_EVENT_RECORDS, end - offset)) if offset < end else []
                got = [r for r in got if r.offset < end]  # a closed shard ends at `end`
                done = not info.open and (got[-1].offset + 1 if got else offset) >= end
                now = clock.monotonic()
                if got or done or now - idle_since >= self.wait_s:
                    body, offset = self._event_body(q, offset, got, latest, enc.cbor)
                    if done:
                        body["ChildShards"] = child_shards_shape(meta.shards, q)
                    yield enc.event("SubscribeToShardEvent", body)
                    idle_since = now
                    if done:
                        return
                    if got:
                        continue  # more may be waiting: read again before sleeping
                remaining = deadline - clock.monotonic()
                if remaining <= 0:
                    return
                if offset < end:  # nothing readable below `end` (a gap): do not spin
                    await asyncio.sleep(min(POLL_S, remaining))
                else:
                    await stream.wait_for_data({q: offset}, min(POLL_S, remaining, self.wait_s))
        except AwsError as exc:
            yield enc.exception(exc.code, exc.message)
        except MqliteError as exc:
            mapped = errors.map_core_error(exc, self.state.account)
            if mapped is None:
                raise
            yield enc.exception(mapped.code, mapped.message)

    def _event_body(self, q: int, offset: int, got: list[Any], latest: int,
                    raw: bool = False) -> tuple[dict[str, Any], int]:
        records = []
        last_ts = None
        for r in got:
            records.append({
                "SequenceNumber": encode_seq(q, r.offset),
                "ApproximateArrivalTimestamp": r.timestamp / 1000,
                "Data": (r.value or b"") if raw else base64.b64encode(r.value or b"").decode(),
                "PartitionKey": r.key.decode("utf-8", "replace") if r.key is not None else str(q),
            })
            offset = r.offset + 1
            last_ts = r.timestamp
        behind = 0 if offset >= latest or last_ts is None else self.core.clock.now_ms() - last_ts
        body: dict[str, Any] = {
            "Records": records,
            "ContinuationSequenceNumber": encode_seq(q, offset - 1),
            "MillisBehindLatest": max(0, behind),
        }
        return body, offset
