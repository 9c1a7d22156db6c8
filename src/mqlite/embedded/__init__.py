"""The embedded API: `mqlite.Broker` (blocking, thread-safe) and `mqlite.AsyncBroker`.

    with mqlite.Broker("data") as broker:          # or mqlite.Broker() in memory
        q = broker.queue("jobs")
        q.send("hello")
        for m in q.receive(max_messages=10, wait=1):
            q.delete(m.receipt)

Owns no semantics: both flavours drive one `BrokerCore` (docs/architecture.md).
`embedded.aio` holds the one implementation of the facades (`AsyncBroker`,
`AsyncQueue`, `AsyncStream`, `AsyncGroup`, `AsyncTopic`; a pub/sub topic is a core
Router of kind 'sns'), run on the caller's event loop. `embedded.blocking` holds
`Broker`: a private event-loop thread with its own `BrokerCore`, to which every call
of its blocking facades (`Queue`, `Stream`, `Group`, `Topic`) is handed, so any number
of threads may share one `Broker`; calls are serialised on the loop.

Conversions made here for convenience, nowhere else: str bodies/values/keys are UTF-8
encoded; plain queue attributes {name: str | int | float | bytes | Attribute} become
`Attribute`s (String / Number / Binary). Messages come back as core `Message`s (body
bytes), records as storage `Record`s (`offset`, `timestamp`, `key`, `value`, `headers`).
"""

from __future__ import annotations

from mqlite.embedded.aio import (
    AsyncBroker,
    AsyncGroup,
    AsyncQueue,
    AsyncStream,
    AsyncTopic,
    to_attributes,
)
from mqlite.embedded.blocking import Broker, Group, Queue, Stream, Topic

__all__ = [
    "AsyncBroker",
    "AsyncGroup",
    "AsyncQueue",
    "AsyncStream",
    "AsyncTopic",
    "Broker",
    "Group",
    "Queue",
    "Stream",
    "Topic",
    "to_attributes",
]
