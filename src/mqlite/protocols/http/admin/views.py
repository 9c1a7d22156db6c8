"""Read the core into the admin model (`models.py`): describe, list and peek, changing
nothing. A name that does not exist is a 404 problem; every kind has the same shape
whichever protocol made the entity (`core.reset.origin_of_*` says which one did).
"""

from __future__ import annotations

import base64
from typing import Any

from mqlite.core.api import BrokerCore, ConsumerGroup, Queue, Router, Stream
from mqlite.core.reset import KINESIS_NS, origin_of_queue, origin_of_router, origin_of_stream, queue_origins
from mqlite.protocols.http.admin import models as M
from mqlite.protocols.http.admin.problems import Problem

MAX_PEEK = 1000


def _text(data: bytes | None) -> tuple[str, M.Encoding]:
    if data is None:
        return "", "utf-8"
    try:
        return bytes(data).decode(), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(bytes(data)).decode(), "base64"


def _str(value: Any) -> str:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return _text(bytes(value))[0]
    return str(value)


def find(core: BrokerCore, kind: str, name: str) -> Any:
    """The core object of `kind`/`name`; a 404 problem when there is none."""
    getter = {"queues": core.queues.get, "streams": core.streams.get,
              "routers": core.routers.get, "groups": core.groups.require}.get(kind)
    if getter is None:
        raise Problem.not_found("kind", kind)
    try:
        return getter(name)
    except Exception as exc:  # the core's NotFound family
        if type(exc).__name__.endswith("NotFound"):
            raise Problem.not_found(kind.rstrip("s"), name) from None
        raise


# -- describe ---------------------------------------------------------------------------
def flow_info(flow: Any) -> M.FlowInfo:
    return M.FlowInfo(flow.messages_in, flow.bytes_in, flow.messages_out, flow.bytes_out,
                      flow.acked, flow.dead_lettered, flow.expired)


def queue_info(core: BrokerCore, q: Queue) -> M.QueueInfo:
    c = q.counts()
    cfg = q.config
    redrive = cfg.redrive
    return M.QueueInfo(
        name=q.name, origin=origin_of_queue(core, q.name), fifo=bool(cfg.fifo),
        visible=c.visible, in_flight=c.in_flight, delayed=c.delayed,
        dead_letter_queue=redrive.dead_letter_target if redrive else None,
        max_receive_count=redrive.max_receive_count if redrive else None,
        created_ms=core.queues.created_ms(q.name), attributes=cfg.to_dict(), flow=flow_info(q.flow),
        oldest_ms=head[0][0].timestamp if (head := q.browse(1, 0)) else None,
    )


def stream_info(core: BrokerCore, s: Stream, kinesis: set[str] | None = None) -> M.StreamInfo:
    parts = [M.PartitionInfo(*s.partition_info(p)) for p in range(s.partition_count)]
    cfg = s.effective_config
    return M.StreamInfo(
        name=s.name, origin=origin_of_stream(core, s.name, kinesis), partitions=parts,
        messages=sum(p.latest - p.earliest for p in parts), bytes=sum(p.bytes for p in parts),
        retention_ms=cfg.retention_ms, retention_bytes=cfg.retention_bytes,
        config=s.config.to_dict(), flow=flow_info(s.flow),
    )


def router_info(r: Router) -> M.RouterInfo:
    bindings = [
        M.BindingInfo(id=str(b.id), destination_kind=str(getattr(b.destination.kind, "value", b.destination.kind)),
                      destination=b.destination.name, matcher=str(getattr(b.matcher, "value", b.matcher)),
                      spec=_jsonable(b.spec), args=_jsonable(dict(b.args)))
        for b in r.bindings()
    ]
    return M.RouterInfo(name=r.name, origin=origin_of_router(r), kind=str(r.kind),
                        bindings=bindings, config=_jsonable(dict(r.config) if isinstance(r.config, dict) else {}))


def group_info(core: BrokerCore, g: ConsumerGroup) -> M.GroupInfo:
    offsets = []
    for (stream, part), committed in sorted(g.offsets().items()):
        s = core.streams.find(stream)
        if s is not None and part < s.partition_count:
            latest = s.latest(part)
            lag = max(0, latest - committed.position(s.earliest(part), latest))
        else:
            latest, lag = committed.offset, 0
        offsets.append(M.GroupOffset(stream, part, committed.offset, latest, lag))
    live = core.groups.membership  # the group protocol's, read-only
    members = [M.MemberInfo(m.member_id, m.client_id, m.client_host) for m in live.members(g.name)]
    return M.GroupInfo(name=g.name, state=live.state(g.name), members=members,
                       offsets=offsets, lag=sum(o.lag for o in offsets))


def describe(core: BrokerCore, kind: str, name: str) -> Any:
    obj = find(core, kind, name)
    if kind == "queues":
        return queue_info(core, obj)
    if kind == "streams":
        return stream_info(core, obj)
    if kind == "routers":
        return router_info(obj)
    return group_info(core, obj)


def listing(core: BrokerCore, kinds: list[str], prefix: str = "") -> M.EntityList:
    """One row per entity of `kinds`, names starting with `prefix`."""
    items: list[M.EntitySummary] = []
    if "queues" in kinds:
        origins = queue_origins(core)
        for name in core.list_queues(prefix):
            q = core.queues.get(name)
            c = q.counts()
            items.append(M.EntitySummary("queue", name, origins.get(name, "sqs"),
                                         c.visible + c.in_flight + c.delayed,
                                         q.flow.messages_in, q.flow.messages_out))
    if "streams" in kinds:
        kinesis = {k for k, _ in core.catalog.kv_items(KINESIS_NS)}
        for name in core.list_streams(prefix):
            s = core.streams.get(name)
            depth = sum(s.latest(p) - s.earliest(p) for p in range(s.partition_count))
            items.append(M.EntitySummary("stream", name, origin_of_stream(core, name, kinesis), depth,
                                         s.flow.messages_in, s.flow.messages_out))
    if "routers" in kinds:
        for r in core.routers.routers():
            if r.name.startswith(prefix):
                items.append(M.EntitySummary("router", r.name, origin_of_router(r), len(r.bindings())))
    if "groups" in kinds:
        for name in core.groups.list():
            if name.startswith(prefix):
                items.append(M.EntitySummary("group", name, "kafka", group_info(core, core.groups.require(name)).lag))
    return M.EntityList(items)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return _text(bytes(value))[0]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


# -- peek -------------------------------------------------------------------------------
def peek(core: BrokerCore, kind: str, name: str, q: M.PeekQuery) -> M.MessageList:
    if not 1 <= q.limit <= MAX_PEEK:
        raise Problem.invalid("query.limit", f"must be between 1 and {MAX_PEEK}")
    obj = find(core, kind, name)
    if kind == "queues":
        out = []
        for st, state in obj.browse(q.limit, q.offset or 0):
            body, enc = _text(st.body)
            out.append(M.Message(
                offset=st.offset, partition=0, timestamp=st.timestamp, key=None, body=body,
                body_encoding=enc, headers={k: _str(v) for k, v in st.meta.items()},
                attributes={k: _str(a.value) for k, a in st.attributes.items()},
                id=st.id, state=state))
        return M.MessageList(out, out[-1].offset + 1 if out else None)
    if kind != "streams":
        raise Problem.invalid("kind", "messages can be peeked in queues and streams only")
    parts = range(obj.partition_count) if q.partition is None else [q.partition]
    if q.partition is not None and not 0 <= q.partition < obj.partition_count:
        raise Problem.invalid("query.partition", f"must be between 0 and {obj.partition_count - 1}")
    msgs: list[M.Message] = []
    next_offset = None
    for p in parts:
        start = obj.earliest(p)
        if q.offset is not None:
            start = max(start, q.offset)
        elif q.from_time is not None:
            found = obj.offset_for_time(p, q.from_time)
            start = obj.latest(p) if found is None else found
        records = obj.read(p, start, q.limit - len(msgs)) if len(msgs) < q.limit else []
        for rec in records:
            body, enc = _text(rec.value)
            msgs.append(M.Message(
                offset=rec.offset, partition=p, timestamp=rec.timestamp,
                key=None if rec.key is None else _text(rec.key)[0], body=body, body_encoding=enc,
                headers={k: _str(v) for k, v in (rec.headers or ())}, attributes={}))
        if records and q.partition is not None:
            next_offset = records[-1].offset + 1
    return M.MessageList(msgs, next_offset)
