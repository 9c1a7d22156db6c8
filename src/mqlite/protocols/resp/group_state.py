"""Consumer-group state on disk: snapshots (catalog) and per-change records (the log).

A stream's group state = the last snapshot in the catalog kv namespace `resp/groups`
(key = stream name) + the `group` change records journaled in the stream's own log
after it (`store.py` decides when each is written). Names are latin-1 so any bytes
round-trip.

Snapshot (format 2)::

    {"v": 2, "upto": <log offset>, "groups": [<group>, ...]}
    <group> := {"name", "last": "<ms>-<seq>", "read": entries-read,
                "pel": [[id, consumer, delivery-time, delivery-count], ...],
                "consumers": [[name, seen-time, active-time], ...]}

Change records at log offsets >= `upto` apply on top of it, in log order. Format 1
(data dirs written before the per-change journal) is a bare JSON list of <group> with
no change records: read as `upto` 0.

Change record (one per group per flush; O(entries touched), never O(PEL))::

    {"g": name, "drop": 1}                       # XGROUP DESTROY
    {"g": name, "new": 0|1, "last", "read",      # new: start from an empty group
     "consumers": [[name, seen, active], ...],   # the whole consumer list
     "set": [[id, consumer, dtime, dcount], ...],  # touched entries still pending
     "del": [id, ...]}                           # touched entries no longer pending

Every record states the resulting values (never a delta), so applying one twice is
harmless: a snapshot may already include changes whose records come after `upto`.
Pure functions.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import orjson

from mqlite.protocols.resp.keys import id_str, latin1, parse_id
from mqlite.protocols.resp.model import Consumer, Group, PendingEntry
from mqlite.protocols.resp.stream_ids import StreamID

SNAPSHOT_FORMAT = 2


def dump_group(g: Group) -> dict[str, Any]:
    return {
        "name": latin1(g.name),
        "last": id_str(g.last_id),
        "read": g.entries_read,
        "pel": [[id_str(sid), latin1(p.consumer), p.delivery_time, p.delivery_count] for sid, p in g.pel.items()],
        "consumers": [[latin1(c.name), c.seen_time, c.active_time] for c in g.consumers.values()],
    }


def load_group(d: dict[str, Any]) -> Group:
    g = Group(d["name"].encode("latin-1"), parse_id(d["last"]), int(d["read"]))
    for name, seen, active in d["consumers"]:
        b = name.encode("latin-1")
        g.consumers[b] = Consumer(b, seen, active)
    for sid_s, cname, dtime, dcount in d["pel"]:
        g.pel[parse_id(sid_s)] = PendingEntry(cname.encode("latin-1"), dtime, dcount)
    link_pending(g)
    return g


def snapshot(groups: Iterable[Group], upto: int) -> dict[str, Any]:
    return {"v": SNAPSHOT_FORMAT, "upto": upto, "groups": [dump_group(g) for g in groups]}


def read_snapshot(data: Any) -> tuple[dict[bytes, Group], int]:
    """(groups, upto) from a stored snapshot of either format (None: no groups)."""
    if not data:
        return {}, 0
    if isinstance(data, list):  # format 1: the whole state, no change records after it
        items, upto = data, 0
    else:
        items, upto = data["groups"], int(data["upto"])
    groups = {}
    for gd in items:
        g = load_group(gd)
        groups[g.name] = g
    return groups, upto


def change_record(name: bytes, g: Group | None, new: bool, touched: Iterable[StreamID]) -> bytes:
    """The record of one group's changes since the last flush (see module docstring)."""
    if g is None:
        return orjson.dumps({"g": latin1(name), "drop": 1})
    pel = g.pel
    put: list[Any] = []
    gone: list[str] = []
    for sid in touched:
        p = pel.get(sid)
        if p is None:
            gone.append(id_str(sid))
        else:
            put.append([id_str(sid), latin1(p.consumer), p.delivery_time, p.delivery_count])
    return orjson.dumps({
        "g": latin1(name), "new": 1 if new else 0, "last": id_str(g.last_id), "read": g.entries_read,
        "consumers": [[latin1(c.name), c.seen_time, c.active_time] for c in g.consumers.values()],
        "set": put, "del": gone,
    })


def apply_change(groups: dict[bytes, Group], value: bytes) -> None:
    """Apply one change record; consumers' pending sets are relinked by `link_pending`."""
    d = orjson.loads(value)
    name = d["g"].encode("latin-1")
    if d.get("drop"):
        groups.pop(name, None)
        return
    g = groups.get(name)
    if g is None or d.get("new"):
        g = groups[name] = Group(name, parse_id(d["last"]), int(d["read"]))
    else:
        g.last_id, g.entries_read = parse_id(d["last"]), int(d["read"])
    consumers = {}
    for cname, seen, active in d["consumers"]:
        b = cname.encode("latin-1")
        consumers[b] = Consumer(b, seen, active)
    g.consumers = consumers
    pel = g.pel
    for sid_s, cname, dtime, dcount in d["set"]:
        pel[parse_id(sid_s)] = PendingEntry(cname.encode("latin-1"), dtime, dcount)
    for sid_s in d["del"]:
        pel.pop(parse_id(sid_s), None)


def link_pending(g: Group) -> None:
    """Rebuild every consumer's pending set from the PEL (a consumer named by a PEL
    entry but missing from the list is created, as Redis's RDB loader does)."""
    for each in g.consumers.values():
        each.pending = {}
    for sid, p in g.pel.items():
        c = g.consumers.get(p.consumer)
        if c is None:
            c = g.consumers[p.consumer] = Consumer(p.consumer, p.delivery_time)
        c.pending[sid] = None


__all__ = ["apply_change", "change_record", "dump_group", "link_pending", "load_group", "read_snapshot", "snapshot"]
