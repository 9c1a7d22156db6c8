"""Kinesis metadata next to mqlite streams: status, mode, retention, tags, shards.

`KinesisState` keeps one catalog row per stream in the kv namespace `kinesis.streams`
(key = the core stream name: `namespace.py`, `<account>:<name>@<region>` outside the home
account and region; `StreamMeta.aws_name` is the name clients see): {created, ready_ms, mode, retention_h, tags, encryption, key_id,
metrics, policy, synthetic, shards: [ShardInfo dicts]}. It is loaded lazily; a stream
that exists in core without a row (created by Kafka or Redis) gets one synthesized on
first Kinesis use (uniform hash ranges over its partitions, ACTIVE, 24 h retention
reported from its config). `ShardMap`s are cached in memory and rebuilt on change.
Status: CREATING until `ready_ms` (creation + `settings.kinesis_create_delay_ms`,
default 0: ACTIVE at once, so a boto3 `stream_exists` waiter returns on its first call
instead of sleeping its 10 s delay), then ACTIVE; UPDATING until `updating_ms` after a
reshard or a mode change (`settings.kinesis_update_delay_ms`, default 0). Writes are
accepted meanwhile (as Kinesis does while UPDATING); control-plane changes need ACTIVE
(`require_active`: ResourceInUseException, as Kinesis answers).

Invariants: a row exists only for an existing core stream (DeleteStream and the sweep
in `meta()` drop stale rows); `shards[i].partition` covers every partition.
Concurrency: the server's event loop; no awaits between read and write of a row.
"""

from __future__ import annotations

import re
from typing import Any

from mqlite.core.api import BrokerCore, Selection, Stream
from mqlite.core.naming import namespace_body
from mqlite.core.reset import on_reset
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.kinesis import errors
from mqlite.protocols.aws.kinesis.sequence import shard_index, uniform_ranges
from mqlite.protocols.aws.kinesis.shards import ShardInfo, ShardMap
from mqlite.settings import Settings

NS = "kinesis.streams"
HOUR_MS = 3_600_000
DEFAULT_RETENTION_H = 24
# A 1 MiB record plus its key, and a 5 MiB PutRecords landing in one shard, must fit
# one storage batch; Kafka's default max.message.bytes (1 MiB) does not.
MAX_BATCH_BYTES = 8 * 1024 * 1024
_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_ARN = re.compile(r"arn:aws[a-z-]*:kinesis:([^:]*):([^:]*):stream/([a-zA-Z0-9_.-]+)(?:/consumer/.*)?")


class StreamMeta:
    """One stream's Kinesis metadata (mutable; call `KinesisState.save` after edits)."""

    __slots__ = ("aws_name", "data", "map", "name", "shards")

    def __init__(self, name: str, data: dict[str, Any]) -> None:
        self.name = name  # the core stream's name (namespace.py)
        self.aws_name = namespace_body(name)  # the name Kinesis clients see
        self.data = data
        self.shards = [ShardInfo.from_dict(d) for d in data.get("shards") or []]
        self.map = ShardMap(self.shards)

    def shard(self, partition: int) -> ShardInfo | None:
        for s in self.shards:
            if s.partition == partition:
                return s
        return None

    def open_shards(self) -> list[ShardInfo]:
        return [s for s in self.shards if s.open]


class KinesisState(namespace.RequestScoped):
    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.create_delay_ms: int = settings.kinesis_create_delay_ms
        self.update_delay_ms: int = settings.kinesis_update_delay_ms
        self.iterator_ttl_ms: int = settings.kinesis_iterator_ttl_ms
        self._cache: dict[str, StreamMeta] = {}
        on_reset(core, self.reset)

    def reset(self, sel: Selection) -> None:
        """After a reset (core/reset.py): forget the shard maps of deleted streams."""
        for name in list(self._cache) if sel.everything else sorted(sel.streams):
            self._cache.pop(name, None)
            if not sel.everything:
                self.core.catalog.kv_delete(NS, name)

    # -- names ------------------------------------------------------------------------
    def arn(self, name: str, region: str | None = None) -> str:
        """The ARN of the core stream `name` (its account and region are in the name)."""
        return self.ns.arn("kinesis", name, "stream/")

    def listed(self) -> list[tuple[str, str]]:
        """(Kinesis name, core name) of the request's namespace's streams, by name."""
        ns = self.ns
        found = []
        for n in self.core.list_streams():
            local = ns.local(n)
            if local is not None and self.visible(n):
                found.append((local, n))
        return sorted(found)

    def name_of(self, p: dict[str, Any]) -> str:
        """The stream a request names (StreamName or StreamARN)."""
        name = p.get("StreamName")
        arn = p.get("StreamARN")
        ns = self.ns
        if name is None and arn is not None:
            m = _ARN.fullmatch(arn)
            if m is None:
                raise errors.invalid_argument(f"StreamARN {arn} is invalid.")
            name = m.group(3)
            ns = ns.at(m.group(2) or None, m.group(1) or None)
        if name is None:
            raise errors.invalid_argument("Either StreamName or StreamARN should be provided.")
        if not _NAME.fullmatch(name):
            raise errors.validation(name, "streamName",
                                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        return ns.core(name) or name  # a valid name holds no separator

    def visible(self, name: str) -> bool:
        return not name.startswith("__")

    # -- rows -------------------------------------------------------------------------
    def stream(self, name: str) -> Stream:
        s = self.core.find_stream(name)
        if s is None or not self.visible(name):
            self._cache.pop(name, None)
            raise errors.stream_not_found(namespace_body(name), self.account)
        return s

    def meta(self, name: str) -> StreamMeta:
        """The metadata of an existing stream (ResourceNotFoundException otherwise)."""
        stream = self.stream(name)
        meta = self._cache.get(name)
        if meta is None or meta.data.get("id") != stream.id.hex():
            data = self.core.catalog.kv_get(NS, name)
            if data is None or data.get("id") != stream.id.hex():
                data = self._synthesize(stream)
                self.core.catalog.kv_put(NS, name, data)
            limit = stream.effective_config.max_message_bytes
            if limit is not None and 0 < limit < MAX_BATCH_BYTES:
                stream.set_config(max_message_bytes=MAX_BATCH_BYTES)
            meta = self._cache[name] = StreamMeta(name, data)
        if len(meta.shards) < stream.partition_count:
            self._adopt_partitions(meta, stream.partition_count)
        return meta

    def _synthesize(self, stream: Stream) -> dict[str, Any]:
        n = stream.partition_count
        retention = stream.config.retention_ms
        hours = DEFAULT_RETENTION_H if not retention or retention < 0 else max(1, retention // HOUR_MS)
        return {
            "id": stream.id.hex(),
            "created": stream.created_ms,
            "ready_ms": stream.created_ms,
            "mode": "PROVISIONED",
            "retention_h": hours,
            "tags": {},
            "metrics": [],
            "synthetic": True,
            "shards": [ShardInfo(i, a, b).to_dict() for i, (a, b) in enumerate(uniform_ranges(n))],
        }

    def _adopt_partitions(self, meta: StreamMeta, count: int) -> None:
        """Partitions added outside Kinesis (Kafka CreatePartitions) become shards."""
        if meta.data.get("synthetic"):
            meta.shards = [ShardInfo(i, a, b) for i, (a, b) in enumerate(uniform_ranges(count))]
        else:
            for p in range(len(meta.shards), count):
                meta.shards.append(ShardInfo(p, 1, 0))  # empty range: read-only
        self.save(meta)

    def create(self, name: str, shards: int, mode: str, tags: dict[str, str]) -> StreamMeta:
        now = self.core.clock.now_ms()
        stream = self.core.create_stream(name, partitions=shards,
                                         config={"retention_ms": DEFAULT_RETENTION_H * HOUR_MS,
                                                 "max_message_bytes": MAX_BATCH_BYTES})
        data = {
            "id": stream.id.hex(),
            "created": now,
            "ready_ms": now + self.create_delay_ms,
            "mode": mode,
            "retention_h": DEFAULT_RETENTION_H,
            "tags": dict(tags),
            "metrics": [],
            "synthetic": False,
            "shards": [ShardInfo(i, a, b).to_dict() for i, (a, b) in enumerate(uniform_ranges(shards))],
        }
        self.core.catalog.kv_put(NS, name, data)
        meta = self._cache[name] = StreamMeta(name, data)
        return meta

    def kinesis_made(self, names: set[str]) -> list[StreamMeta]:
        """Those of `names` (core names) created through Kinesis (their catalog rows;
        nothing synthesized for Kafka topics or Redis streams)."""
        out = []
        for name, data in self.core.catalog.kv_items(NS):
            if name not in names or data.get("synthetic") or self.core.find_stream(name) is None:
                continue
            cached = self._cache.get(name)
            out.append(cached if cached is not None and cached.data.get("id") == data.get("id")
                       else StreamMeta(name, data))
        return out

    def save(self, meta: StreamMeta) -> None:
        meta.data["shards"] = [s.to_dict() for s in meta.shards]
        meta.map = ShardMap(meta.shards)
        self.core.catalog.kv_put(NS, meta.name, meta.data)

    def forget(self, name: str) -> None:
        self._cache.pop(name, None)
        self.core.catalog.kv_delete(NS, name)

    def status(self, meta: StreamMeta) -> str:
        now = self.core.clock.now_ms()
        if now < int(meta.data.get("ready_ms", 0)):
            return "CREATING"
        return "UPDATING" if now < int(meta.data.get("updating_ms", 0)) else "ACTIVE"

    def require_active(self, meta: StreamMeta) -> None:
        """Resharding, mode changes and the like need an ACTIVE stream."""
        status = self.status(meta)
        if status != "ACTIVE":
            raise errors.in_use(f"Stream {meta.aws_name} under account {self.account} not ACTIVE, "
                                f"instead in state {status}")

    def updating(self, meta: StreamMeta) -> None:
        """The stream is UPDATING for `update_delay_ms` from now (the caller saves)."""
        if self.update_delay_ms > 0:
            meta.data["updating_ms"] = self.core.clock.now_ms() + self.update_delay_ms

    def shard_of(self, meta: StreamMeta, shard: str) -> ShardInfo:
        """The shard a ShardId names, or ResourceNotFoundException as Kinesis words it."""
        idx = shard_index(shard) if isinstance(shard, str) else None
        info = meta.shard(idx) if idx is not None else None
        if info is None:
            raise errors.not_found(
                f"Shard {shard} in stream {meta.aws_name} under account {self.account} does not exist"
            )
        return info
