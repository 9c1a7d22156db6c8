"""The typed public surface of core: the names front-ends use as types.

A front-end (anything under `mqlite.protocols`) annotates what it holds of core with
these classes, never with `Any`: `core: BrokerCore`, `stream: Stream`, `queue: Queue`,
`router: Router`... mypy (`warn_return_any`, run by tests/test_typing.py) then checks
every front-end-to-core call against core's own signatures, so a change of core's
contract breaks the type check, not a client at run time.

What is deliberately absent: a stream's partitions and their `Log`s, the `LogFactory`
and the registries' private state. A front-end asks a `Stream` (`producer_state`,
`partition_info`, `earliest`, `latest`...) and never reaches through it into storage;
tests/test_layers.py forbids the reach (`.partitions`, `.log`, `.logs` on core objects).

Importing this module costs nothing extra at run time: every name is already loaded by
`BrokerCore`. Owns nothing; re-exports only.
"""

from __future__ import annotations

from mqlite.core.broker import BrokerCore
from mqlite.core.catalog import Catalog
from mqlite.core.channels import Channels, Subscriber
from mqlite.core.clock import Clock
from mqlite.core.config import CoreConfig, StreamConfig
from mqlite.core.groups import CommittedOffset, ConsumerGroup, GroupStore, Membership, MemberSummary
from mqlite.core.message import Attribute, Envelope, Message
from mqlite.core.queue.config import QueueConfig
from mqlite.core.queue.fifo import DEDUP_WINDOW_MS, DedupWindow
from mqlite.core.queue.queue import Queue
from mqlite.core.queue.results import Ack, QueueCounts, SendResult
from mqlite.core.queues import QueueRegistry
from mqlite.core.reset import Selection
from mqlite.core.router import Binding, Destination, DestinationKind, Router, RouteResult
from mqlite.core.routers import RouterRegistry
from mqlite.core.stream import PartitionInfo, Stream
from mqlite.core.streams import StreamRegistry
from mqlite.core.transactions import TransactionCoordinator, TransactionError, Txn, TxnState
from mqlite.storage.log import AppendResult, ProducerBatch, ProducerState
from mqlite.storage.recordbatch import Record

__all__ = [
    "DEDUP_WINDOW_MS", "Ack", "AppendResult", "Attribute", "Binding", "BrokerCore", "Catalog", "Channels",
    "Clock", "CommittedOffset", "ConsumerGroup", "CoreConfig", "DedupWindow", "Destination", "DestinationKind",
    "Envelope", "GroupStore", "MemberSummary", "Membership", "Message", "PartitionInfo",
    "ProducerBatch", "ProducerState", "Queue", "QueueConfig", "QueueCounts", "QueueRegistry",
    "Record", "RouteResult", "Router", "RouterRegistry", "Selection", "SendResult", "Stream",
    "StreamConfig", "StreamRegistry", "Subscriber", "TransactionCoordinator", "TransactionError", "Txn",
    "TxnState",
]
