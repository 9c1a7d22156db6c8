"""Kafka API handlers: one module per API family; `HANDLERS` maps api key -> (versions, fn).

Each handler is `async def handle(frontend, session, request) -> dict | None`, taking
the decoded request body (a dict keyed by schema field names) and returning the
response body dict (`None`: no response). The version ranges here are what
ApiVersions advertises; they are chosen so that kafka-python, aiokafka, librdkafka and
kcat negotiate the features they need (see docs and issue #7).
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.kafka.schema import Versions


def _collect() -> dict[int, tuple[Versions, Any]]:
    from mqlite.protocols.kafka.handlers import (
        acls,
        admin,
        consumer_protocol,
        fetch,
        group_admin,
        groups,
        metadata,
        offsets,
        produce,
        producer_ids,
        sasl,
        share_fetch,
        share_groups,
        transactions,
        txn_admin,
    )

    table: dict[int, tuple[Versions, Any]] = {}
    for module in (metadata, produce, fetch, offsets, groups, group_admin, admin, acls, producer_ids, sasl,
                   transactions, consumer_protocol, txn_admin, share_groups, share_fetch):
        for key, (lo, hi, fn) in module.APIS.items():
            table[key] = (Versions(lo, hi), fn)
    return dict(sorted(table.items()))


HANDLERS: dict[int, tuple[Versions, Any]] = _collect()
