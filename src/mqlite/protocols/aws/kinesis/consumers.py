"""RegisterStreamConsumer, DeregisterStreamConsumer, DescribeStreamConsumer,
ListStreamConsumers, SubscribeToShard (enhanced fan-out).

Consumers live in the catalog kv namespace `kinesis.consumers` (key = stream name,
value = {consumer name: {arn, created}}); at most 20 per stream (Kinesis's limit).
They are ACTIVE as soon as registered. ConsumerARN =
`<stream ARN>/consumer/<name>:<creation epoch seconds>`.

SubscribeToShard answers in botocore's event-stream framing (`eventstream.py`): an
`initial-response` event, then `SubscribeToShardEvent`s (Records, ContinuationSequenceNumber,
MillisBehindLatest, ChildShards). What works, precisely: boto3's client consumes it over
plain HTTP/1.1 (botocore reads the body as an event stream whatever the transport).
The AWS HTTP layer answers with a complete body (it has no streaming response hook
yet), so a subscription here is *bounded*: it sends every record available from the
starting position (up to `MAX_EVENTS` events of up to 10,000 records), or, when
there is none, waits up to `kinesis_subscribe_wait_s` (default 5 s) for new records
and then ends. A real subscription lasts 5 minutes; clients re-subscribe from
ContinuationSequenceNumber either way, which is what SDK consumers (and KCL) do.
Concurrency: the server's event loop; the wait is `Stream.wait_for_data`.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import orjson

from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.kinesis import errors, eventstream
from mqlite.protocols.aws.kinesis.sequence import encode_seq
from mqlite.protocols.aws.kinesis.shards import child_shards_shape
from mqlite.protocols.aws.kinesis.state import KinesisState

NS = "kinesis.consumers"
MAX_CONSUMERS = 20
MAX_EVENTS = 10
_CONSUMER_ARN = re.compile(r"(arn:aws[a-z-]*:kinesis:[^:]*:[^:]*:stream/([a-zA-Z0-9_.-]+))/consumer/([a-zA-Z0-9_.-]+):\d+")


class ConsumerActions:
    def __init__(self, core: Any, state: KinesisState, iterators: Any) -> None:
        self.core = core
        self.state = state
        self.iterators = iterators
        extra = getattr(state, "extra", None) or {}
        self.wait_s = float(extra.get("kinesis_subscribe_wait_s", 5))

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
            if m is None:
                raise errors.invalid_argument(f"ConsumerARN {arn} is invalid.")
            stream, name = m.group(2), m.group(3)
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

    async def subscribe_to_shard(self, ctx: AwsContext, p: dict[str, Any]) -> bytes:
        """SubscribeToShard: a bounded event stream (see module docstring). Returns the
        encoded event-stream body (the service wrapper passes it through verbatim)."""
        stream_name, _, _ = self._find({"ConsumerARN": p["ConsumerARN"]})
        start = p["StartingPosition"]
        offset = self.iterators.resolve(stream_name, p["ShardId"], start["Type"],
                                        start.get("SequenceNumber"), start.get("Timestamp"))
        meta = self.state.meta(stream_name)
        info = self.state.shard_of(meta, p["ShardId"])
        stream = self.core.get_stream(stream_name)
        q = info.partition
        out = [eventstream.event("initial-response", b"{}")]
        if offset >= stream.latest(q) and info.open:
            await stream.wait_for_data({q: offset}, self.wait_s)
        for _ in range(MAX_EVENTS):
            latest = stream.latest(q)
            end = latest if info.open else min(info.closed_at or 0, latest)
            offset = max(offset, stream.earliest(q))
            got = stream.read(q, offset, min(10000, end - offset)) if offset < end else []
            records = []
            last_ts = None
            for r in got:
                records.append({
                    "SequenceNumber": encode_seq(q, r.offset),
                    "ApproximateArrivalTimestamp": r.timestamp / 1000,
                    "Data": base64.b64encode(r.value or b"").decode(),
                    "PartitionKey": r.key.decode("utf-8", "replace") if r.key is not None else str(q),
                })
                offset = r.offset + 1
                last_ts = r.timestamp
            now = self.core.clock.now_ms()
            body: dict[str, Any] = {
                "Records": records,
                "ContinuationSequenceNumber": encode_seq(q, offset - 1),
                "MillisBehindLatest": 0 if offset >= latest or last_ts is None else now - last_ts,
            }
            if not info.open and offset >= end:
                body["ChildShards"] = child_shards_shape(meta.shards, q)
                out.append(eventstream.event("SubscribeToShardEvent", orjson.dumps(body)))
                break
            out.append(eventstream.event("SubscribeToShardEvent", orjson.dumps(body)))
            if offset >= end:
                break
        return b"".join(out)
