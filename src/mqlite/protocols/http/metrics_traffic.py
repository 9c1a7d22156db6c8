"""The counters and histograms of GET /_mqlite/metrics: message flow per entity, group
lag, request latencies and errors, group-commit batches and fsync times, connections.

Read at scrape time from what the hot paths count with plain integer increments
(`core.telemetry`, each entity's `flow`, the group committer's histograms, each
listener's registry). Entity labels are bounded (`Labels`): the first
`metrics_max_entities` names of a kind (sorted) get their own series, the rest are summed
under entity `_other`. Entities deleted mid-scrape are skipped, never an error.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, TypeVar

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector

from mqlite.core.api import BrokerCore, Stream
from mqlite.core.reset import KINESIS_NS, origin_of_stream, queue_origins
from mqlite.settings import Settings

OTHER = "_other"
FLOW_FIELDS = (
    ("messages_in", "mqlite_messages_in_total", "Messages accepted by an entity"),
    ("bytes_in", "mqlite_bytes_in_total", "Payload bytes accepted by an entity"),
    ("messages_out", "mqlite_messages_out_total", "Messages delivered (queues, redeliveries included) or read (streams)"),
    ("bytes_out", "mqlite_bytes_out_total", "Payload bytes delivered or read"),
    ("acked", "mqlite_messages_acked_total", "Messages acknowledged (deleted by their consumer)"),
    ("dead_lettered", "mqlite_messages_dead_lettered_total", "Messages moved to a dead-letter queue or exchange"),
    ("expired", "mqlite_messages_expired_total", "Messages dropped for retention or TTL without a dead-letter target"),
)


T = TypeVar("T")

def bounded(names: Iterable[str], limit: int) -> Callable[[str], str]:
    """A label for each name: itself for the first `limit` names (sorted), else `_other`."""
    kept = set(sorted(names)[:limit])
    return lambda name: name if name in kept else OTHER


def _safe(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except Exception:  # noqa: BLE001 - deleted or closed mid-scrape: skip it
        return None


def _ends(stream: Stream, partition: int) -> tuple[int, int]:
    return stream.earliest(partition), stream.latest(partition)


class TrafficCollector(Collector):
    """See module docstring."""

    def __init__(self, core: BrokerCore, settings: Settings | None, listeners: Callable[[], list[Any]]) -> None:
        self.core = core
        self.limit = int(getattr(settings, "metrics_max_entities", 500))
        self.listeners = listeners

    def collect(self) -> Iterator[Any]:
        yield from self._flow()
        yield from self._lag()
        yield from self._requests()
        yield from self._commits()
        yield from self._connections()

    # -- per entity ---------------------------------------------------------------------
    def _entities(self) -> list[tuple[str, str, str, Any]]:
        """(kind, label, protocol of origin, object) of every queue and stream."""
        core = self.core
        out: list[tuple[str, str, str, Any]] = []
        queues = list(core.list_queues())
        label = bounded(queues, self.limit)
        origins = queue_origins(core)
        for name in queues:
            q = _safe(partial(core.queues.get, name))
            if q is not None:
                out.append(("queue", label(name), origins.get(name, "sqs"), q))
        streams = list(core.list_streams())
        label = bounded(streams, self.limit)
        kinesis = {k for k, _ in core.catalog.kv_items(KINESIS_NS)}
        for name in streams:
            s = _safe(partial(core.streams.get, name))
            if s is not None:
                out.append(("stream", label(name), origin_of_stream(core, name, kinesis), s))
        return out

    def _flow(self) -> Iterator[Any]:
        sums: dict[tuple[str, str, str], list[int]] = {}
        ages = GaugeMetricFamily("mqlite_queue_oldest_message_age_seconds",
                                 "Age of the oldest message in a queue (SQS ApproximateAgeOfOldestMessage)",
                                 labels=["entity", "protocol"])
        now_ms = self.core.clock.now_ms()
        for kind, label, protocol, obj in self._entities():
            flow = obj.flow
            row = sums.setdefault((kind, label, protocol), [0] * len(FLOW_FIELDS))
            for i, (field, _, _) in enumerate(FLOW_FIELDS):
                row[i] += getattr(flow, field)
            if kind == "queue" and label != OTHER:
                head = _safe(partial(obj.browse, 1, 0))
                if head:
                    ages.add_metric([label, protocol], max(0, now_ms - head[0][0].timestamp) / 1000.0)
        for i, (_, metric, doc) in enumerate(FLOW_FIELDS):
            family = CounterMetricFamily(metric, doc, labels=["kind", "entity", "protocol"])
            for (kind, label, protocol), row in sorted(sums.items()):
                family.add_metric([kind, label, protocol], row[i])
            yield family
        yield ages

    def _lag(self) -> Iterator[Any]:
        core = self.core
        lag = GaugeMetricFamily("mqlite_consumer_group_lag",
                                "Messages between a group's committed offset and a partition's end",
                                labels=["group", "stream", "partition"])
        names = list(core.groups.list())
        label = bounded(names, self.limit)
        rows: dict[tuple[str, str, str], int] = {}
        for name in names:
            group = _safe(partial(core.groups.require, name))
            offsets = _safe(group.offsets) if group is not None else None
            for (stream, part), committed in sorted((offsets or {}).items()):
                s = core.streams.find(stream)
                if s is None or part >= s.partition_count:
                    continue
                ends = _safe(partial(_ends, s, part))
                if ends is None:
                    continue
                earliest, latest = ends
                g = label(name)
                key = (g, stream if g != OTHER else OTHER, str(part) if g != OTHER else OTHER)
                rows[key] = rows.get(key, 0) + max(0, latest - committed.position(earliest, latest))
        for key, value in rows.items():
            lag.add_metric(list(key), value)
        yield lag

    # -- requests -----------------------------------------------------------------------
    def _requests(self) -> Iterator[Any]:
        telemetry = self.core.telemetry
        latency = HistogramMetricFamily("mqlite_request_duration_seconds",
                                        "Request latency by protocol and API action",
                                        labels=["protocol", "action"])
        for (protocol, action), hist in sorted(dict(telemetry.latency).items()):
            latency.add_metric([protocol, action], hist.cumulative(), hist.sum)
        yield latency
        errors = CounterMetricFamily("mqlite_request_errors_total",
                                     "Requests answered with an error, by the protocol's error code",
                                     labels=["protocol", "action", "code"])
        for (protocol, action, code), n in sorted(dict(telemetry.errors).items()):
            errors.add_metric([protocol, action, code], n)
        yield errors

    def _commits(self) -> Iterator[Any]:
        histograms = self.core.commit_histograms()
        batch = HistogramMetricFamily("mqlite_group_commit_batch_size",
                                      "Appends made durable by one fsync round (fsync always)")
        fsync = HistogramMetricFamily("mqlite_fsync_duration_seconds", "Time one log's fsync took")
        if histograms is not None:
            sizes, seconds = histograms
            batch.add_metric([], sizes.cumulative(), sizes.sum)
            fsync.add_metric([], seconds.cumulative(), seconds.sum)
        yield batch
        yield fsync

    def _connections(self) -> Iterator[Any]:
        opened = CounterMetricFamily("mqlite_connections_opened_total", "Client connections accepted",
                                     labels=["protocol"])
        aborted = CounterMetricFamily("mqlite_connections_rejected_total",
                                      "Client connections the broker closed on an error "
                                      "(bad frame, failed authentication, protocol violation, idle)",
                                      labels=["protocol"])
        for listener in self.listeners():
            opened.add_metric([listener.name], listener.registry.accepted)
            aborted.add_metric([listener.name], listener.registry.aborted)
        yield opened
        yield aborted
