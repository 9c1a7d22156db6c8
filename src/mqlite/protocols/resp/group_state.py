"""Consumer-group state as stored in the catalog (`resp/groups`): JSON-able dicts.

One dict per group: name, last-delivered-id, entries-read, the PEL as
`[id, consumer, delivery-time, delivery-count]` rows and consumers as
`[name, seen-time, active-time]`; names are latin-1 so any bytes round-trip.
Pure functions; `store.py` decides when they are written (see its docstring).
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.resp.keys import id_str, latin1, parse_id
from mqlite.protocols.resp.model import Consumer, Group, PendingEntry


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
        sid = parse_id(sid_s)
        cb = cname.encode("latin-1")
        g.pel[sid] = PendingEntry(cb, dtime, dcount)
        c = g.consumers.get(cb)
        if c is None:
            c = g.consumers[cb] = Consumer(cb, dtime)
        c.pending[sid] = None
    return g


__all__ = ["dump_group", "load_group"]
