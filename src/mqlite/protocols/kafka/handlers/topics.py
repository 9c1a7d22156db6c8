"""Topic lookup shared by handlers: a Kafka topic is an mqlite stream.

`find_topic` returns the stream or None; `topic_for` also applies the session's
authorization (`DENIED`, answered TOPIC_AUTHORIZATION_FAILED); `ensure_topic` auto-creates one the way
Kafka's `auto.create.topics.enable` does (with `kafka_default_partitions`).
Concurrency: the server's event loop; creation is synchronous in core.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.core.api import BrokerCore
from mqlite.core.errors import StreamExists, StreamNotFound

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session


DENIED: Any = object()  # a topic the session may not use: TOPIC_AUTHORIZATION_FAILED


def permitted(fe: KafkaFrontEnd, session: Session, op: str, kind: str, name: str | None) -> bool:
    """Whether the session's principal may `op` (create/write/read/admin) the `kind`
    ("stream" for topics, "group") named `name` (security/authz.py: one check for all)."""
    authz = fe.authz
    return not authz.enabled or authz.allowed(session.principal, op, kind, name or "")


def describable(fe: KafkaFrontEnd, session: Session, name: str) -> bool:
    """Kafka's DESCRIBE on a topic, implied by READ, WRITE and the admin operations."""
    return any(permitted(fe, session, op, "stream", name) for op in ("read", "write", "admin"))


def topic_for(fe: KafkaFrontEnd, session: Session, name: str | None, op: str) -> Any:
    """The topic's stream, None when there is none, or DENIED."""
    if not permitted(fe, session, op, "stream", name):
        return DENIED
    return find_topic(fe.core, name)


def find_topic(core: BrokerCore, name: str | None) -> Any:
    if not name:
        return None
    try:
        return core.get_stream(name)
    except StreamNotFound:
        return None


def create_topic(core: BrokerCore, name: str, partitions: int, config: Any = None) -> Any:
    try:
        return core.create_stream(name, partitions=partitions, config=config)
    except StreamExists:
        return core.get_stream(name)
