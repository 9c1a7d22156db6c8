"""Firehose as a delivery target of the other AWS services (`aws/targets.py`): a record
appended to the delivery stream's durable buffer, delivered from there at least once."""

from __future__ import annotations

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.firehose.delivery import find_buffer
from mqlite.protocols.aws.targets import Delivery, TargetFailed
from mqlite.settings import Settings


class FirehoseTarget:
    """Append into a delivery stream given by its name."""

    def __init__(self, core: BrokerCore) -> None:
        self.core = core

    async def deliver(self, resource: str, delivery: Delivery) -> None:
        buffer = find_buffer(self.core, resource)
        if buffer is None:
            raise TargetFailed("SDK_CLIENT_ERROR", f"Firehose delivery stream {resource} does not exist.")
        await buffer.append(delivery.payload, partition=0)


def target_for(core: BrokerCore, settings: Settings) -> FirehoseTarget:
    return FirehoseTarget(core)
