"""In-flight leases and receipt handles.

A receipt handle is `"<token>.<offset>.<rc>"`: the queue incarnation's random token,
the message's log offset, and the receive count of the delivery that issued it. Each
receive increments the count, so each delivery gets a new handle, and a handle is
current only while its count equals the message's latest receive count: a stale
handle (from before a redelivery) never deletes the new delivery (SQS documents
exactly this). A handle with a foreign token, or an offset never written, is invalid.

`Lease` is one in-flight delivery: offset, receive count, visible-again time
(`INF` = until released, for AMQP consumers), owner (an AMQP channel, for
`release_owner`), the first-receive time, and the stored message.
Concurrency: core's event loop only.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.errors import InvalidReceipt
from mqlite.core.queue.records import Stored

INF = -1  # until_ms of a lease that lasts until released


class Lease:
    __slots__ = ("first_ms", "offset", "owner", "rc", "received_ms", "stored", "until")

    def __init__(
        self, offset: int, rc: int, until: int, owner: Any, first_ms: int, received_ms: int,
        stored: Stored,
    ) -> None:
        self.offset = offset
        self.rc = rc
        self.until = until
        self.owner = owner
        self.first_ms = first_ms
        self.received_ms = received_ms
        self.stored = stored


def make_receipt(token: str, offset: int, rc: int) -> str:
    return f"{token}.{offset}.{rc}"


def parse_receipt(token: str, receipt: object, end_offset: int) -> tuple[int, int]:
    """(offset, receive count) of a receipt this queue issued; InvalidReceipt otherwise."""
    if not isinstance(receipt, str):
        raise InvalidReceipt("the receipt handle is not a string", rule="receipt-handle")
    parts = receipt.split(".")
    if len(parts) != 3 or parts[0] != token:
        raise InvalidReceipt(
            f"the receipt handle {receipt[:64]!r} is not valid for this queue",
            rule="receipt-handle: issued by a receive on this queue",
        )
    try:
        offset, rc = int(parts[1]), int(parts[2])
    except ValueError:
        raise InvalidReceipt(
            f"the receipt handle {receipt[:64]!r} is malformed", rule="receipt-handle"
        ) from None
    if offset < 0 or offset >= end_offset or rc < 1:
        raise InvalidReceipt(
            f"the receipt handle {receipt[:64]!r} was never issued",
            rule="receipt-handle: issued by a receive on this queue",
        )
    return offset, rc
