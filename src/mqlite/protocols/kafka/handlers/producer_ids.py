"""InitProducerId, and the idempotent producer's per-partition sequence checks.

InitProducerId hands out producer ids from a counter persisted in the catalog (kv
namespace `kafka`, key `next_producer_id`), epoch 0; a transactional id keeps its
producer id and gets the next epoch on each call (fencing the previous instance).

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
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

_NS = "kafka"
_KEY = "next_producer_id"
_TXN_NS = "kafka/transactional-ids"
_SEQ_MOD = 1 << 31


class ProducerIds:
    """Producer id allocation and sequence bookkeeping; see module docstring."""

    def __init__(self, fe: KafkaFrontEnd) -> None:
        self.fe = fe

    def allocate(self) -> int:
        catalog = self.fe.core.catalog
        current = catalog.kv_get(_NS, _KEY) or 1000
        catalog.kv_put(_NS, _KEY, int(current) + 1)
        return int(current)

    def for_transactional_id(self, txn_id: str) -> tuple[int, int]:
        catalog = self.fe.core.catalog
        saved = catalog.kv_get(_TXN_NS, txn_id)
        if saved is None:
            pid, epoch = self.allocate(), 0
        else:
            pid, epoch = int(saved["pid"]), int(saved["epoch"]) + 1
            if epoch >= 32767:
                pid, epoch = self.allocate(), 0
        catalog.kv_put(_TXN_NS, txn_id, {"pid": pid, "epoch": epoch})
        return pid, epoch


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
    txn_id = req.body["TransactionalId"]
    if txn_id:
        pid, epoch = fe.producer_ids.for_transactional_id(txn_id)
    else:
        pid, epoch = fe.producer_ids.allocate(), 0
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "ProducerId": pid, "ProducerEpoch": epoch}


APIS = {22: (0, 1, init_producer_id)}
