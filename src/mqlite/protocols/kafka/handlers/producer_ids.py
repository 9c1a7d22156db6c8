"""InitProducerId, and the idempotent producer's per-partition sequence checks.

InitProducerId hands out producer ids from core's counter (`core.transactions.
allocate_producer_id`, persisted in the catalog), epoch 0; a transactional id is core's
transaction coordinator's: it keeps its producer id and gets the next epoch on each
call, fencing the previous instance and aborting its open transaction (KIP-98); v3+
may name the producer id and epoch it had (KIP-360). PRODUCER_FENCED is
INVALID_PRODUCER_EPOCH before v4.

Sequence rules (KIP-98, Kafka `ProducerStateManager`), per (partition, producer id):
- an epoch lower than the one seen is fenced: INVALID_PRODUCER_EPOCH;
- a new epoch must start at sequence 0, else OUT_OF_ORDER_SEQUENCE_NUMBER;
- a batch equal (first and last sequence) to one of the last five appended is a
  duplicate: acknowledged with its original base offset and not appended again;
- otherwise the first sequence must be the last one seen plus one (mod 2^31), else
  OUT_OF_ORDER_SEQUENCE_NUMBER.
A producer unknown to the partition is accepted at any sequence. The state is the
log's (storage keeps the last five batches per producer and rebuilds them from the
stored batches at restart), so checks survive a restart.
Concurrency: the server's event loop; `check` runs just before the append.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.core.api import ProducerState
from mqlite.core.api import TransactionError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.transactions import txn_code

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

_SEQ_MOD = 1 << 31


class ProducerIds:
    """Producer id allocation (core's counter); see module docstring."""

    def __init__(self, fe: KafkaFrontEnd) -> None:
        self.fe = fe

    def allocate(self) -> int:
        return int(self.fe.core.transactions.allocate_producer_id())


def check(state: ProducerState | None, epoch: int, first_seq: int, last_seq: int) -> tuple[ErrorCode, int | None]:
    """(error, duplicate base offset) for a batch about to be appended by a producer
    whose state on the partition is `state` (`Stream.producer_state`: storage's, rebuilt
    from the stored batches after a restart, as Kafka rebuilds its producer snapshots
    from the log; None for a producer the partition has not seen)."""
    if state is None:
        return ErrorCode.NONE, None
    if epoch < state.producer_epoch:
        return ErrorCode.INVALID_PRODUCER_EPOCH, None
    if epoch > state.producer_epoch:
        return (ErrorCode.NONE if first_seq == 0 else ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER), None
    for batch in state.batches:
        if batch.first_sequence == first_seq and batch.last_sequence == last_seq:
            return ErrorCode.NONE, batch.base_offset
    if first_seq != (state.last_sequence + 1) % _SEQ_MOD:
        return ErrorCode.OUT_OF_ORDER_SEQUENCE_NUMBER, None
    return ErrorCode.NONE, None


async def init_producer_id(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """InitProducerId: a producer id and epoch for an idempotent (or transactional) producer."""
    b = req.body
    txn_id = b["TransactionalId"]
    if not txn_id:
        return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ProducerId": fe.producer_ids.allocate(), "ProducerEpoch": 0}
    try:
        pid, epoch = await fe.core.transactions.init_producer(
            txn_id, b["TransactionTimeoutMs"], b.get("ProducerId", -1), b.get("ProducerEpoch", -1))
    except TransactionError as exc:
        return {"ThrottleTimeMs": 0, "ErrorCode": txn_code(exc, req.api_version, fenced_since=4),
                "ProducerId": -1, "ProducerEpoch": -1}
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ProducerId": pid, "ProducerEpoch": epoch}


APIS = {22: (0, 4, init_producer_id)}
