"""The collector behind GET /_mqlite/metrics: the broker's state as Prometheus gauges.

Gauges are computed at scrape time from the core (no counters threaded through hot
paths): queue depths by state, stream partition offsets and sizes, router and binding
counts, corrupt records skipped per log, open connections per front-end, and process
facts from prometheus-client's default collectors. A scrape walks every queue and
stream once, so it is O(entities).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from aiohttp import web
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector


class CoreCollector(Collector):
    """Reads the core's registries on each scrape; see module docstring."""

    def __init__(self, core: Any, connections: Callable[[], dict[str, int]]) -> None:
        self.core = core
        self.connections = connections

    def collect(self) -> Iterator[GaugeMetricFamily]:
        depth = GaugeMetricFamily("mqlite_queue_messages", "Messages in a queue by state",
                                  labels=["queue", "state"])
        for name in self.core.list_queues():
            counts = self.core.get_queue(name).counts()
            depth.add_metric([name, "visible"], counts.visible)
            depth.add_metric([name, "in_flight"], counts.in_flight)
            depth.add_metric([name, "delayed"], counts.delayed)
        yield depth

        end = GaugeMetricFamily("mqlite_stream_end_offset", "Next offset of a stream partition",
                                labels=["stream", "partition"])
        start = GaugeMetricFamily("mqlite_stream_start_offset",
                                  "First retained offset of a stream partition",
                                  labels=["stream", "partition"])
        for name in self.core.list_streams():
            stream = self.core.get_stream(name)
            for partition in range(stream.partition_count):
                end.add_metric([name, str(partition)], stream.latest(partition))
                start.add_metric([name, str(partition)], stream.earliest(partition))
        yield end
        yield start

        routers = GaugeMetricFamily("mqlite_router_bindings", "Bindings of a router",
                                    labels=["router", "kind"])
        for name in self.core.list_routers():
            router = self.core.get_router(name)
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


def registry(core: Any, connections: Callable[[], dict[str, int]]) -> Any:
    """A prometheus-client registry of the core's gauges and the process facts."""
    from prometheus_client import CollectorRegistry, ProcessCollector

    found = CollectorRegistry(auto_describe=False)
    found.register(CoreCollector(core, connections))
    found.register(ProcessCollector(registry=None))
    return found
