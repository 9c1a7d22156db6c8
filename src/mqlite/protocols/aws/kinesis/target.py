"""Kinesis as a delivery target of the other AWS services (`aws/targets.py`): a record
put as PutRecord puts it, on the open shard whose hash-key range holds the MD5 of its
partition key (the stream's shard map is Kinesis's own fact, `KinesisState`)."""

from __future__ import annotations

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.kinesis.sequence import hash_key
from mqlite.protocols.aws.kinesis.state import NS, StreamMeta
from mqlite.protocols.aws.targets import Delivery
from mqlite.settings import Settings


class KinesisTarget:
    """Append into a stream given by its name (a stream Kinesis does not describe,
    e.g. a Kafka topic, gets the record by core's key partitioner)."""

    def __init__(self, core: BrokerCore) -> None:
        self.core = core

    def shard_for(self, name: str, partition_key: str) -> int | None:
        row = self.core.catalog.kv_get(NS, name)
        if not row:
            return None
        return StreamMeta(name, row).map.route(hash_key(partition_key))

    async def deliver(self, resource: str, delivery: Delivery) -> None:
        key = delivery.partition_key
        partition = None if key is None else self.shard_for(resource, key)
        stream = self.core.get_stream(resource)
        await stream.append(delivery.payload, None if key is None else key.encode(), partition=partition)


def target_for(core: BrokerCore, settings: Settings) -> KinesisTarget:
    return KinesisTarget(core)
