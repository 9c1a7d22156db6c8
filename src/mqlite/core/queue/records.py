"""How a queue message is stored: one log record per message, facts in record headers.

Record layout (storage's RecordBatch v2 record; `key` unused):

    value    = the message body
    headers  = ("i", message id)                      only when the id is not the
                                                      queue's derived one (moved messages)
               ("a:<name>", b"<data_type>\\x00<value>")  one per user attribute
               ("m:<key>", <bytes>)                   one per protocol meta entry
               ("g", group id) ("d", dedup id)        FIFO
               ("p", b"<priority>")                   when > 0
               ("v", b"<visible-at ms>")              delayed messages
               ("x", b"<expire-at ms>")               per-message TTL (absolute)
               ("k", routing key)                     AMQP routing key, when set
               ("s", source queue name)               set when dead-lettered here
               ("c", receives before dead-lettering)  set when dead-lettered here
               ("n", b"")                             transient (Envelope.persistent
                                                      False): dropped on recovery
    timestamp = sent timestamp (ms), kept across dead-letter moves

Message ids: a queue derives its messages' ids from its receipt token and the offset,
`message_id(prefix, offset)` (UUID-shaped, 36 characters), so a plain send stores no id;
a message moved in from another queue keeps its id in header "i".

`Stored` is the decoded form a queue holds in RAM only while a message is leased,
delayed, queued for redelivery, or being scanned. Pure functions, no state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from mqlite.core.message import Attribute
from mqlite.storage.recordbatch import Record, RecordIn

_EMPTY: dict[str, Any] = {}


class Stored:
    """One message as the queue sees it (decoded headers); mutable only by its queue."""

    __slots__ = (
        "attributes",
        "body",
        "dedup_id",
        "dropped",
        "expire_at",
        "group_id",
        "id",
        "meta",
        "offset",
        "own_id",
        "prior_receives",
        "priority",
        "routing_key",
        "size",
        "source",
        "timestamp",
        "transient",
        "visible_at",
    )

    def __init__(
        self,
        offset: int,
        timestamp: int,
        id: str,
        body: bytes,
        attributes: Mapping[str, Attribute],
        meta: Mapping[str, bytes],
        group_id: str | None = None,
        dedup_id: str | None = None,
        priority: int = 0,
        visible_at: int = 0,
        expire_at: int = 0,
        routing_key: str = "",
        source: str | None = None,
    ) -> None:
        self.offset = offset
        self.timestamp = timestamp
        self.id = id
        self.body = body
        self.attributes = attributes
        self.meta = meta
        self.group_id = group_id
        self.dedup_id = dedup_id
        self.priority = priority
        self.visible_at = visible_at
        self.expire_at = expire_at
        self.routing_key = routing_key
        self.source = source
        self.size = len(body)
        self.own_id = False  # True: the id is not the queue's derived one (store it)
        self.dropped = False  # True: body released from RAM while leased (re-read on use)
        self.transient = False  # True: not kept across a restart (Envelope.persistent False)
        self.prior_receives = 0  # receives in the queue it was dead-lettered from (SQS counts them)

    def __repr__(self) -> str:
        return f"Stored(offset={self.offset}, id={self.id!r}, group={self.group_id!r})"


def attribute_bytes(attributes: Mapping[str, Attribute]) -> int:
    """Size of user attributes as SQS counts it: name + data type + value."""
    total = 0
    for name, attr in attributes.items():
        value = attr.value
        total += len(name) + len(attr.data_type) + (
            len(value) if isinstance(value, bytes) else len(value.encode())
        )
    return total


def id_prefix(token: str) -> str:
    """The first 24 characters (UUID version 4 shape) of a queue's message ids."""
    h = hashlib.sha256(token.encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-"


def message_id(prefix: str, offset: int) -> str:
    return f"{prefix}{offset:012x}"


def encode(st: Stored) -> RecordIn:
    if not (
        st.own_id or st.attributes or st.meta or st.group_id is not None
        or st.dedup_id is not None or st.priority or st.visible_at or st.expire_at
        or st.routing_key or st.source is not None or st.transient or st.prior_receives
    ):
        return RecordIn(None, st.body, (), st.timestamp)
    headers: list[tuple[str, bytes | None]] = []
    if st.own_id:
        headers.append(("i", st.id.encode()))
    for name, attr in st.attributes.items():
        value = attr.value
        raw = value if isinstance(value, bytes) else value.encode()
        headers.append(("a:" + name, attr.data_type.encode() + b"\x00" + raw))
    for key, mval in st.meta.items():
        headers.append(("m:" + key, mval))
    if st.group_id is not None:
        headers.append(("g", st.group_id.encode()))
    if st.dedup_id is not None:
        headers.append(("d", st.dedup_id.encode()))
    if st.priority:
        headers.append(("p", str(st.priority).encode()))
    if st.visible_at:
        headers.append(("v", str(st.visible_at).encode()))
    if st.expire_at:
        headers.append(("x", str(st.expire_at).encode()))
    if st.routing_key:
        headers.append(("k", st.routing_key.encode()))
    if st.source is not None:
        headers.append(("s", st.source.encode()))
    if st.transient:
        headers.append(("n", b""))
    if st.prior_receives:
        headers.append(("c", str(st.prior_receives).encode()))
    return RecordIn(None, st.body, tuple(headers), st.timestamp)


def decode(rec: Record, prefix: str) -> Stored:
    headers = rec.headers
    mid = ""
    attributes: dict[str, Attribute] = _EMPTY
    meta: dict[str, bytes] = _EMPTY
    group = dedup = source = None
    priority = visible = expire = 0
    rkey = ""
    transient = False
    prior = 0
    for name, value in headers:
        v = value or b""
        if name == "i":
            mid = v.decode()
        elif name.startswith("a:"):
            if attributes is _EMPTY:
                attributes = {}
            dtype, _, raw = v.partition(b"\x00")
            dt = dtype.decode()
            attributes[name[2:]] = Attribute(dt, raw if dt.startswith("Binary") else raw.decode())
        elif name.startswith("m:"):
            if meta is _EMPTY:
                meta = {}
            meta[name[2:]] = v
        elif name == "g":
            group = v.decode()
        elif name == "d":
            dedup = v.decode()
        elif name == "p":
            priority = int(v)
        elif name == "v":
            visible = int(v)
        elif name == "x":
            expire = int(v)
        elif name == "k":
            rkey = v.decode()
        elif name == "s":
            source = v.decode()
        elif name == "n":
            transient = True
        elif name == "c":
            prior = int(v)
    st = Stored(
        rec.offset, rec.timestamp, mid or message_id(prefix, rec.offset), rec.value or b"",
        attributes, meta, group, dedup, priority, visible, expire, rkey, source,
    )
    st.own_id = bool(mid)
    st.transient = transient
    st.prior_receives = prior
    return st
