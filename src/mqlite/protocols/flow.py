"""Flow control for every TCP front-end: why a connection stops reading, and credit.

Owns the vocabulary and the one credit mechanism that `transport.Connection` applies;
front-ends name a reason and never pause the transport by hand. A connection reads
only while no reason holds (uvicorn's `FlowControl`, with reasons):

- `Pause.CLIENT_BUFFER`: the peer is not reading what we send (the transport's write
  buffer is over its high-water mark); lifted when it drains. RESP asks for it after
  each reply (`Connection.pause_while_client_buffer_full`), as Redis stops serving a
  client that does not read; Kafka and AMQP keep reading (acks and heartbeats must get
  through) and make their writers `await drain()` instead.
- `Pause.RESOURCE_ALARM`: a disk or memory alarm (`core/resources.py`) blocks
  publishers (AMQP's `connection.blocked`: told, then not read until the alarm clears).
- `Pause.CREDIT`: too much of this connection's work is in flight: requests queued
  behind a slow one (Kafka, RESP), publishes awaiting their append (AMQP). A `Credit`
  pauses at its high-water mark and resumes below its low-water mark.
- `Pause.READ_BUDGET`: the server-wide budget for partially received requests is
  spent (`read_budget.py`).

Invariants: reasons are independent (lifting one never resumes reading while another
holds); pausing for a reason already held and resuming one not held are no-ops.
Concurrency: the server's one event loop; plain bookkeeping, nothing blocks.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


class Pause(StrEnum):
    """Why a connection is not reading (values appear in logs and `reading_paused_for`)."""

    CLIENT_BUFFER = "client buffer"
    RESOURCE_ALARM = "resource alarm"
    CREDIT = "credit"
    READ_BUDGET = "budget"


class Pausable(Protocol):
    """What a `Credit` needs from its connection (`transport.Connection` implements it)."""

    def pause_reading(self, reason: Pause) -> None: ...

    def resume_reading(self, reason: Pause) -> None: ...


class Credit:
    """Work in flight on one connection with high- and low-water marks: reading pauses
    (`Pause.CREDIT`) once `level >= high` and resumes once `level < low`.

    `update(level)` is the whole interface, so the count stays where the front-end
    keeps it (a queue's length, a counter); it costs two comparisons when nothing
    changes, cheap enough for every publish."""

    __slots__ = ("conn", "high", "low", "paused")

    def __init__(self, conn: Pausable, high: int, low: int) -> None:
        if not 0 < low <= high:
            raise ValueError(f"credit needs 0 < low <= high, got low={low} high={high}")
        self.conn = conn
        self.high = high
        self.low = low
        self.paused = False

    def update(self, level: int) -> None:
        if self.paused:
            if level < self.low:
                self.paused = False
                self.conn.resume_reading(Pause.CREDIT)
        elif level >= self.high:
            self.paused = True
            self.conn.pause_reading(Pause.CREDIT)
