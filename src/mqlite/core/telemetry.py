"""What the broker counts for `/_mqlite/metrics`: message flow per entity, requests per
protocol and action. Plain integer increments on hot paths; everything else (labels,
cardinality limits, cumulative buckets) is done when metrics are scraped.

`Flow` is held by every queue and stream (`entity.flow`); `Telemetry` by the core
(`core.telemetry`), filled by the front-ends' request hook (`protocols.observe`).
"""

from __future__ import annotations

from mqlite.storage.histogram import Histogram


class Flow:
    """Messages and bytes through one entity since it was opened (counters)."""

    __slots__ = ("acked", "bytes_in", "bytes_out", "dead_lettered", "expired", "messages_in", "messages_out")

    def __init__(self) -> None:
        self.messages_in = 0
        self.bytes_in = 0
        self.messages_out = 0  # deliveries (redeliveries count again) or records read
        self.bytes_out = 0
        self.acked = 0
        self.dead_lettered = 0
        self.expired = 0  # dropped for retention or TTL without a dead-letter target


class Telemetry:
    """Request latencies (count included) and errors keyed by (protocol, action); filled
    by `protocols.observe.Observer.done`, read by the metrics scrape."""

    __slots__ = ("errors", "latency")

    def __init__(self) -> None:
        self.latency: dict[tuple[str, str], Histogram] = {}
        self.errors: dict[tuple[str, str, str], int] = {}
