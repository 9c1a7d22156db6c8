"""Kinesis Data Firehose front-end on the shared AWS wire layer.

`build(core, settings) -> ServiceFrontend` wires the delivery-stream actions
(`streams`), PutRecord/PutRecordBatch (`records`) and the background delivery
(`delivery`: buffering per `buffering`, S3 objects per `s3_writer`, HTTP endpoints per
`http_endpoint`, Lambda-shaped transformation per `transform`). The delivery tasks
start lazily from the first handler call, or right after start-up when delivery streams
exist (they need the server's running loop), and are flushed by the `close` hook the
AWS app awaits on shutdown.
Settings: `settings.s3_dir` (default `<data_dir>/s3`), `settings.lambda_endpoint`,
`settings.firehose_create_delay_ms` (CREATING -> ACTIVE, default 0).
"""

from __future__ import annotations

import asyncio

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.firehose.delivery import DeliveryService
from mqlite.protocols.aws.firehose.errors import map_core_error
from mqlite.protocols.aws.firehose.records import RecordActions
from mqlite.protocols.aws.firehose.streams import DeliveryStreamActions, Store
from mqlite.protocols.aws.frontend import Handler, ServiceFrontend
from mqlite.protocols.aws.wire import AwsService
from mqlite.settings import Settings

_SERVICE: AwsService | None = None


def service() -> AwsService:
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = AwsService.load("firehose")
    return _SERVICE


def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
    store = Store(core)
    delivery = DeliveryService(core, settings, store)
    streams = DeliveryStreamActions(core, settings, store, delivery)
    records = RecordActions(core, streams, delivery)
    handlers: dict[str, Handler] = {
        "CreateDeliveryStream": streams.create_delivery_stream,
        "DeleteDeliveryStream": streams.delete_delivery_stream,
        "DescribeDeliveryStream": streams.describe_delivery_stream,
        "ListDeliveryStreams": streams.list_delivery_streams,
        "UpdateDestination": streams.update_destination,
        "TagDeliveryStream": streams.tag_delivery_stream,
        "UntagDeliveryStream": streams.untag_delivery_stream,
        "ListTagsForDeliveryStream": streams.list_tags_for_delivery_stream,
        "StartDeliveryStreamEncryption": streams.start_delivery_stream_encryption,
        "StopDeliveryStreamEncryption": streams.stop_delivery_stream_encryption,
        "PutRecord": records.put_record,
        "PutRecordBatch": records.put_record_batch,
    }
    try:  # started on the server loop: resume delivering what a restart left buffered
        asyncio.get_running_loop().call_soon(_resume, delivery)
    except RuntimeError:  # built outside a loop (tools, tests): the handlers start it
        pass
    return ServiceFrontend(service(), handlers, map_core_error, close=delivery.close)


def _resume(delivery: DeliveryService) -> None:
    if delivery.store.items():
        delivery.ensure()
