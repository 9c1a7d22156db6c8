"""PutRecord, PutRecordBatch: into a DirectPut delivery stream's durable buffer.

Limits (Firehose API reference / quotas): a record's data at most 1,000 KiB (1,024,000
bytes) before base64; PutRecordBatch 1-500 records and at most 4 MiB in total. A
request breaking a limit is refused whole (nothing half-written). The records are
appended to `__mqlite.firehose.<name>` and acknowledged once durable; RecordId is an opaque
string derived from the buffer offset. Writing to a KinesisStreamAsSource delivery
stream is InvalidArgumentException, as Firehose answers.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.firehose import errors
from mqlite.protocols.aws.firehose.delivery import (
    DeliveryService,
    buffer_stream,
    find_buffer,
)
from mqlite.protocols.aws.firehose.streams import DeliveryStreamActions
from mqlite.protocols.aws.frontend import AwsContext

MAX_RECORD = 1_024_000
MAX_BATCH = 500
MAX_BATCH_BYTES = 4 * 1024 * 1024


def record_id(created_ms: int, offset: int) -> str:
    return f"{created_ms:016x}{offset:032x}"


class RecordActions:
    def __init__(self, core: BrokerCore, streams: DeliveryStreamActions, delivery: DeliveryService) -> None:
        self.core = core
        self.streams = streams
        self.delivery = delivery

    def _target(self, p: dict[str, Any]) -> tuple[str, dict[str, Any], Any]:
        name = self.streams.name_of(p)
        cfg = self.streams.get(name)
        if cfg.get("type") != "DirectPut":
            raise errors.invalid_argument(
                f"This operation is not permitted on KinesisStreamAsSource type delivery stream "
                f"{cfg['arn']}.")
        stream = find_buffer(self.core, name)
        if stream is None:
            stream = self.core.streams.create(buffer_stream(name), 1)
        self.delivery.ensure(name)
        return name, cfg, stream

    async def put_record(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutRecord: one record (<= 1,000 KiB)."""
        name, cfg, stream = self._target(p)
        data = p["Record"]["Data"]
        if len(data) > MAX_RECORD:
            raise errors.validation(f"java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]",
                                    "record.data", "Member must have length less than or equal to 1024000")
        _, off = await stream.append(data, partition=0)
        self.delivery.ensure(name)
        return {"RecordId": record_id(cfg["created"], off), "Encrypted": "encryption" in cfg
                and cfg["encryption"].get("Status") == "ENABLED"}

    async def put_record_batch(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutRecordBatch: 1-500 records, <= 4 MiB; RequestResponses in order."""
        name, cfg, stream = self._target(p)
        records = p["Records"]
        if not records:
            raise errors.validation("[]", "records", "Member must have length greater than or equal to 1")
        if len(records) > MAX_BATCH:
            raise errors.validation(f"[{len(records)} records]", "records",
                                    "Member must have length less than or equal to 500")
        total = 0
        values = []
        for i, r in enumerate(records):
            data = r["Data"]
            if len(data) > MAX_RECORD:
                raise errors.validation(f"java.nio.HeapByteBuffer[pos=0 lim={len(data)} cap={len(data)}]",
                                        f"records.{i + 1}.member.data",
                                        "Member must have length less than or equal to 1024000")
            total += len(data)
            values.append(data)
        if total > MAX_BATCH_BYTES:
            raise errors.invalid_argument(
                f"Exceeded the 4 MiB request size limit for PutRecordBatch: {total} bytes.")
        placed = await stream.append_many(values, partition=0)
        self.delivery.ensure(name)
        return {"FailedPutCount": 0,
                "Encrypted": "encryption" in cfg and cfg["encryption"].get("Status") == "ENABLED",
                "RequestResponses": [{"RecordId": record_id(cfg["created"], off)} for _, off in placed]}
