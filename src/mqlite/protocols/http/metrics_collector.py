"""The collector behind GET /_mqlite/metrics: the broker's state as Prometheus gauges.

Gauges are computed at scrape time from the core (no counters threaded through hot
paths): queue depths by state, stream partition offsets and sizes, router and binding
counts, corrupt records skipped per log, open connections per front-end, and process
facts from prometheus-client's default collectors. A scrape walks every queue and
stream once, so it is O(entities).
Counters and histograms (message flow, requests, fsync) are `metrics_traffic`'s. Queue
and stream labels are bounded as there (`metrics_max_entities`, then `_other`); an
entity deleted mid-scrape is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import Any

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from mqlite.core.api import BrokerCore, QueueCounts
from mqlite.protocols.http.metrics_traffic import OTHER, TrafficCollector, _safe, bounded
from mqlite.settings import Settings


def _counts(core: BrokerCore, name: str) -> QueueCounts:
    return core.get_queue(name).counts()

class CoreCollector(Collector):
    """Reads the core's registries on each scrape; see module docstring."""

    def __init__(self, core: BrokerCore, connections: Callable[[], dict[str, int]], limit: int = 500) -> None:
        self.core = core
        self.connections = connections
        self.limit = limit

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("mqlite_queue_messages", "Messages in a queue by state",
                                  labels=["queue", "state"])
        names = list(self.core.list_queues())
        label = bounded(names, self.limit)
        rows: dict[tuple[str, str], int] = {}
        for name in names:
            counts = _safe(partial(_counts, self.core, name))
            if counts is None:
                continue
            for state in ("visible", "in_flight", "delayed"):
                key = (label(name), state)
                rows[key] = rows.get(key, 0) + getattr(counts, state)
        for key, value in rows.items():
            depth.add_metric(list(key), value)
        yield depth

        end = GaugeMetricFamily("mqlite_stream_end_offset", "Next offset of a stream partition",
                                labels=["stream", "partition"])
        start = GaugeMetricFamily("mqlite_stream_start_offset",
                                  "First retained offset of a stream partition",
                                  labels=["stream", "partition"])
        size = GaugeMetricFamily("mqlite_stream_size_bytes", "Bytes a stream holds on disk or in memory",
                                 labels=["stream"])
        names = list(self.core.list_streams())
        label = bounded(names, self.limit)
        sizes: dict[str, int] = {}
        for name in names:
            stream = _safe(partial(self.core.get_stream, name))
            if stream is None:
                continue
            bytes_ = _safe(stream.size_bytes) or 0
            sizes[label(name)] = sizes.get(label(name), 0) + bytes_
            if label(name) == OTHER:
                continue
            for partition in range(stream.partition_count):
                latest = _safe(partial(stream.latest, partition))
                earliest = _safe(partial(stream.earliest, partition))
                if latest is not None and earliest is not None:
                    end.add_metric([name, str(partition)], latest)
                    start.add_metric([name, str(partition)], earliest)
        for name, value in sizes.items():
            size.add_metric([name], value)
        yield end
        yield start
        yield size

        routers = GaugeMetricFamily("mqlite_router_bindings", "Bindings of a router",
                                    labels=["router", "kind"])
        names = list(self.core.list_routers())
        label = bounded(names, self.limit)
        for name in names:
            router = _safe(partial(self.core.get_router, name))
            if router is not None and label(name) != OTHER:
                routers.add_metric([name, str(router.kind)], len(router.bindings()))
        yield routers

        skipped = GaugeMetricFamily("mqlite_corrupt_records_skipped",
                                    "Offsets stepped over as corrupt since start (CRC failures)",
                                    labels=["kind", "name", "partition"])
        logs = getattr(self.core, "logs", None)
        for (kind, name, partition), count in (logs.corrupt_records_skipped() if logs else {}).items():
            skipped.add_metric([kind, name, str(partition)], count)
        yield skipped

        conns = GaugeMetricFamily("mqlite_connections", "Open client connections",
                                  labels=["frontend"])
        for frontend, count in self.connections().items():
            conns.add_metric([frontend], count)
        yield conns


def registry(core: BrokerCore, connections: Callable[[], dict[str, int]], settings: Settings | None = None,
             listeners: Callable[[], list[Any]] = list) -> Any:
    """A prometheus-client registry of the core's gauges and counters, and the process facts."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    found = CollectorRegistry(auto_describe=False)
    limit = int(getattr(settings, "metrics_max_entities", 500))
    found.register(CoreCollector(core, connections, limit))
    found.register(TrafficCollector(core, settings, listeners))
    found.register(ProcessCollector(registry=None))
    return found
