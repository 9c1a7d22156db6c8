"""Queues: a log plus per-message leases (see queue.py). Public names re-exported here."""

from __future__ import annotations

from mqlite.core.queue.config import QueueConfig, RedriveAllowPolicy, RedrivePolicy
from mqlite.core.queue.leases import INF
from mqlite.core.queue.moves import MoveTask
from mqlite.core.queue.queue import Ack, Queue, QueueCounts, SendResult

__all__ = [
    "INF", "Ack", "MoveTask", "Queue", "QueueConfig", "QueueCounts", "RedriveAllowPolicy",
    "RedrivePolicy", "SendResult",
]
