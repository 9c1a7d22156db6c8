"""The server at a glance (`GET /_mqlite/api/overview`) and where messages flow
(`GET /_mqlite/api/graph`): what the web console's overview and entity graphs draw."""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import TypeVar

import mqlite
from mqlite.core.api import BrokerCore, Queue, Stream
from mqlite.protocols.http.admin import models as M
from mqlite.settings import Settings

T = TypeVar("T")

def _live(read: Callable[[], T]) -> T | None:
    try:
        return read()
    except Exception:  # noqa: BLE001 - deleted while we looked: leave it out
        return None


def overview(core: BrokerCore, settings: Settings, ports: dict[str, int], connections: dict[str, int],
             started: float) -> M.Overview:
    totals = [0, 0, 0, 0]
    objects: list[Queue | Stream | None] = [_live(partial(core.queues.get, n)) for n in core.list_queues()]
    objects += [_live(partial(core.streams.get, n)) for n in core.list_streams()]
    for obj in objects:
        if obj is not None:
            f = obj.flow
            totals[0] += f.messages_in
            totals[1] += f.messages_out
            totals[2] += f.bytes_in
            totals[3] += f.bytes_out
    data_dir = None if settings.data_dir is None else str(settings.data_dir.resolve())
    now = time.time()
    return M.Overview(
        version=mqlite.__version__, time_ms=int(now * 1000), uptime_s=round(now - started, 3),
        data_dir=data_dir, fsync=str(settings.fsync), listeners=dict(ports), connections=connections,
        alarms=list(getattr(core.resources, "reasons", ()) or ()),
        messages_in=totals[0], messages_out=totals[1], bytes_in=totals[2], bytes_out=totals[3],
        entities={"queues": len(core.list_queues()), "streams": len(core.list_streams()),
                  "routers": len(core.list_routers()), "groups": len(core.groups.list())},
    )


def graph(core: BrokerCore) -> M.Graph:
    """Every route: router -> destination (bindings, subscriptions, rule targets), queue
    -> its dead-letter queue or exchange, group -> the streams it reads."""
    edges: list[M.Edge] = []
    for router in core.routers.routers():
        for b in _live(router.bindings) or ():
            dest_kind = str(getattr(b.destination.kind, "value", b.destination.kind))
            label = str(getattr(b.matcher, "value", b.matcher))
            edges.append(M.Edge("router", router.name, dest_kind, b.destination.name, label))
    for name in core.list_queues():
        q = _live(partial(core.queues.get, name))
        if q is None:
            continue
        cfg = q.config
        if cfg.redrive is not None and cfg.redrive.dead_letter_target:
            edges.append(M.Edge("queue", name, "queue", cfg.redrive.dead_letter_target, "dead letters"))
        if cfg.dead_letter_exchange:
            edges.append(M.Edge("queue", name, "router", cfg.dead_letter_exchange, "dead letters"))
    for name in core.groups.list():
        group = _live(partial(core.groups.require, name))
        for stream in (_live(group.streams) or ()) if group is not None else ():
            edges.append(M.Edge("stream", stream, "group", name, "consumed by"))
    return M.Graph(edges)

