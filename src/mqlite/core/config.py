"""Core configuration: fsync policy, default stream (log) settings, maintenance cadence.

`CoreConfig` is what `BrokerCore.open` takes; `CoreConfig.from_settings(settings)` maps
the server's `Settings` onto it. `StreamConfig` is one stream's durable configuration
(retention, segment roll, message size limit), stored in the catalog with the stream;
`None` fields mean "the broker default" (`CoreConfig.stream_defaults`).

The fsync policy is a string, as on the command line: `"always"` (an append returns
once fsynced; many concurrent appends share one fsync), `"never"` (leave it to the OS),
or an interval in milliseconds such as `"1000"` (fsync at most that often; an append
returns at once). `parse_fsync` validates it. Values are frozen: safe to share.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from mqlite.core.errors import InvalidValue

FSYNC_RULE = "fsync: 'always', 'never' or an interval in milliseconds (>= 1)"


@dataclass(frozen=True, slots=True)
class FsyncSpec:
    """A parsed fsync policy: mode is 'always' | 'never' | 'interval'."""

    mode: str
    interval_ms: int = 0


def parse_fsync(value: str | int) -> FsyncSpec:
    """Parse "always" / "never" / "<ms>" (an int is taken as milliseconds)."""
    text = str(value).strip().lower()
    if text in ("always", "never"):
        return FsyncSpec(text)
    text = text.removesuffix("ms")
    try:
        ms = int(text)
    except ValueError:
        raise InvalidValue("fsync", f"invalid fsync policy {value!r}", rule=FSYNC_RULE) from None
    if ms < 1:
        raise InvalidValue("fsync", f"invalid fsync interval {value!r}", rule=FSYNC_RULE)
    return FsyncSpec("interval", ms)


@dataclass(frozen=True, slots=True)
class StreamConfig:
    """Per-stream settings (Kafka topic configs of the same meaning). None = default.

    retention_ms / retention_bytes: -1 = unlimited (Kafka `retention.ms`/`.bytes`,
    bytes per partition); segment_bytes / segment_ms: when a segment rolls;
    max_message_bytes: the largest batch accepted (Kafka `max.message.bytes`);
    timestamp_type: 0 CreateTime, 1 LogAppendTime (Kafka `message.timestamp.type`);
    timestamp_before_max_ms / timestamp_after_max_ms: how far a producer's record
    timestamp may be behind / ahead of the broker clock (Kafka
    `message.timestamp.before.max.ms` / `after.max.ms`; -1 or None = unlimited).
    """

    retention_ms: int | None = None
    retention_bytes: int | None = None
    segment_bytes: int | None = None
    segment_ms: int | None = None
    max_message_bytes: int | None = None
    timestamp_type: int | None = None
    timestamp_before_max_ms: int | None = None
    timestamp_after_max_ms: int | None = None
    cleanup_policy: int | None = None  # CLEANUP_POLICIES: 0 delete, 1 compact, 2 compact,delete
    delete_retention_ms: int | None = None
    min_compaction_lag_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> StreamConfig:
        data = data or {}
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise InvalidValue(
                "config", f"unknown stream config keys: {sorted(unknown)}", rule="stream-config"
            )
        return cls(**data)

    def __post_init__(self) -> None:
        for key, low in _MINIMUM.items():
            value = getattr(self, key)
            if value is None:
                continue
            if not isinstance(value, int) or isinstance(value, bool):
                raise InvalidValue(key, f"{key} must be an integer, got {value!r}",
                                   rule="stream-config")
            if value < low:
                raise InvalidValue(key, f"{key} must be >= {low}, got {value}",
                                   rule="stream-config")
        if self.cleanup_policy not in (None, 0, 1, 2):
            raise InvalidValue("cleanup_policy", "cleanup_policy must be 0 (delete), 1 (compact) or "
                               f"2 (compact,delete), got {self.cleanup_policy!r}", rule="stream-config")
        if self.timestamp_type not in (None, 0, 1):
            raise InvalidValue("timestamp_type", "timestamp_type must be 0 (CreateTime) or "
                               f"1 (LogAppendTime), got {self.timestamp_type!r}", rule="stream-config")

    def merged(self, other: StreamConfig) -> StreamConfig:
        """This config with `other`'s non-None fields on top."""
        return dataclasses.replace(self, **other.to_dict())

    def resolved(self, defaults: StreamConfig) -> StreamConfig:
        """Fill every None from `defaults`."""
        return defaults.merged(self)


#: Smallest accepted value per field (-1 = unlimited, as Kafka spells it; sizes must
#: hold at least one RecordBatch header).
_MINIMUM = {
    "retention_ms": -1,
    "retention_bytes": -1,
    "segment_bytes": 64,
    "segment_ms": 1,
    "max_message_bytes": 64,
    "timestamp_type": 0,
    "timestamp_before_max_ms": -1,
    "timestamp_after_max_ms": -1,
    "cleanup_policy": 0,
    "delete_retention_ms": 0,
    "min_compaction_lag_ms": 0,
}
#: Kafka cleanup.policy values <-> StreamConfig.cleanup_policy
CLEANUP_POLICIES = {"delete": 0, "compact": 1, "compact,delete": 2}

#: Kafka's defaults for the log cleaner's topic configs (filled in under any stream_defaults)
COMPACTION_DEFAULTS = StreamConfig(cleanup_policy=0, delete_retention_ms=24 * 3600 * 1000, min_compaction_lag_ms=0)

DEFAULT_STREAM_CONFIG = StreamConfig(
    retention_ms=7 * 24 * 3600 * 1000,  # Kafka log.retention.hours=168
    retention_bytes=-1,
    segment_bytes=64 * 1024 * 1024,
    segment_ms=7 * 24 * 3600 * 1000,
    max_message_bytes=1024 * 1024 + 12,  # Kafka message.max.bytes default 1048588
).merged(COMPACTION_DEFAULTS)


@dataclass(frozen=True, slots=True)
class CoreConfig:
    """Broker-wide core settings; see module docstring."""

    fsync: str = "1000"
    stream_defaults: StreamConfig = field(default_factory=lambda: DEFAULT_STREAM_CONFIG)
    #: Seconds between background maintenance passes (retention, expiries); 0 = off.
    maintenance_interval: float = 1.0
    #: Seconds between retention passes over streams (Kafka
    #: log.retention.check.interval.ms is 5 minutes; we are smaller and check more often).
    retention_check_interval: float = 30.0
    #: Bytes of recently appended, decoded stream records kept for tailing readers,
    #: over all partitions (see core/partition.py); 0 disables the cache.
    stream_tail_cache_bytes: int = 64 << 20
    #: Take the data directory's exclusive lock (one broker process per directory).
    lock_data_dir: bool = True
    #: Resource alarm thresholds (see core/resources.py): free bytes under the data
    #: directory, and resident bytes (None = 40% of RAM).
    disk_free_limit: int = 50_000_000
    memory_limit: int | None = None
    #: Binding transforms this broker knows: (name, "module:function") pairs, resolved
    #: on first use (core/transforms.py; `mqlite.transforms.STANDARD` is the product's).
    transforms: tuple[tuple[str, str], ...] = ()
    #: Start even when the catalog is missing but data is present, rebuilding its
    #: entities from the directories (`mqlite repair --apply`); off: refuse to start.
    rebuild_catalog: bool = False
    #: Where client-chosen HTTP endpoints may be (core/destinations.py); empty = any.
    http_destinations: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        parse_fsync(self.fsync)
        self.destination_policy  # noqa: B018 - a bad entry fails here, at start

    @property
    def destination_policy(self) -> Any:
        from mqlite.core.destinations import DestinationPolicy

        try:
            return DestinationPolicy.parse(self.http_destinations)
        except ValueError as exc:
            raise InvalidValue("http_destinations", str(exc), rule="http-destinations") from None

    @property
    def fsync_spec(self) -> FsyncSpec:
        return parse_fsync(self.fsync)

    def replace(self, **changes: Any) -> CoreConfig:
        return dataclasses.replace(self, **changes)

    @classmethod
    def from_settings(cls, settings: Any) -> CoreConfig:
        """From `mqlite.settings.Settings` (duck-typed: core does not import it)."""
        return cls(fsync=str(getattr(settings, "fsync", "1000")))
