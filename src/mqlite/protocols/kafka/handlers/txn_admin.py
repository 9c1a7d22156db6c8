"""ListTransactions and DescribeTransactions (KIP-664): the transaction coordinator's state
for admin clients and `kafka-transactions.sh`.

Rules (Apache Kafka `TransactionStateManager.listTransactionStates`,
`TransactionCoordinator.handleDescribeTransactions`): ListTransactions filters by state
names (unknown names are returned in UnknownStateFilters), by producer ids and (v1) by
running longer than DurationFilter ms; DescribeTransactions of an unknown id is
TRANSACTIONAL_ID_NOT_FOUND; the start time is -1 unless a transaction is open.
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import TransactionError, TxnState
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode
from mqlite.protocols.kafka.handlers.transactions import txn_code

_STATES = {s.value for s in TxnState} | {"Dead", "PrepareEpochFence"}


async def list_transactions(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """ListTransactions: transactional ids with their producer id and state."""
    b = req.body
    states = set(b["StateFilters"] or ())
    pids = set(b["ProducerIdFilters"] or ())
    duration = b.get("DurationFilter", -1)
    now = fe.core.clock.now_ms()
    out = []
    for txn_id, t in sorted(fe.core.transactions.txns.items()):
        if states and t.state.value not in states:
            continue
        if pids and t.pid not in pids:
            continue
        if duration >= 0 and (t.start_ms < 0 or now - t.start_ms <= duration):
            continue
        out.append({"TransactionalId": txn_id, "ProducerId": t.pid, "TransactionState": t.state.value})
    return {"ThrottleTimeMs": 0, "ErrorCode": 0, "UnknownStateFilters": sorted(states - _STATES),
            "TransactionStates": out}


async def describe_transactions(fe: Any, session: Any, req: Request) -> dict[str, Any]:
    """DescribeTransactions: each id's state, producer, timeout and partitions."""
    out = []
    for txn_id in req.body["TransactionalIds"]:
        try:
            t = fe.core.transactions.describe(txn_id)
        except TransactionError as exc:
            out.append({"ErrorCode": txn_code(exc, req.api_version), "TransactionalId": txn_id,
                        "TransactionState": "", "TransactionTimeoutMs": 0, "TransactionStartTimeMs": -1,
                        "ProducerId": -1, "ProducerEpoch": -1, "Topics": []})
            continue
        by_topic: dict[str, list[int]] = {}
        for name, p in sorted(t.parts):
            by_topic.setdefault(name, []).append(p)
        out.append({"ErrorCode": ErrorCode.NONE, "TransactionalId": txn_id, "TransactionState": t.state.value,
                    "TransactionTimeoutMs": t.timeout_ms, "TransactionStartTimeMs": t.start_ms,
                    "ProducerId": t.pid, "ProducerEpoch": t.epoch,
                    "Topics": [{"Topic": n, "Partitions": ps} for n, ps in by_topic.items()]})
    return {"ThrottleTimeMs": 0, "TransactionStates": out}


APIS = {
    65: (0, 0, describe_transactions),
    66: (0, 1, list_transactions),
}
