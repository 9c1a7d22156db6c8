"""Kinesis Data Streams front-end: every stream-owner action of botocore's Kinesis model.

`build(core, settings) -> ServiceFrontend` wires the action families (one module each:
`streams` lifecycle/retention/tags/encryption/monitoring, `reshard` ListShards and
resharding, `records` PutRecord(s)/GetRecords, `iterators` GetShardIterator,
`consumers` enhanced fan-out, `capacity` record-size limit, warm throughput and
account settings) over `state.KinesisState` (Kinesis metadata in the
catalog) and the core streams: a Kinesis stream is an mqlite stream, shard n is
partition n (see `shards.py` for resharding, `sequence.py` for sequence numbers).

SubscribeToShard answers with a live event stream (`AwsStream`, see `consumers.py`).
GetRecords returns its JSON pre-rendered (`RawResult`: one `orjson.dumps`, the records
already base64-encoded): the generic per-shape converter cost ~4 us per record.
Kinesis speaks the `json` protocol and its CBOR twin (`wire.cbor`, the AWS SDK for
Java's default); GetRecords over CBOR is rendered by the shape (Data as bytes). The service model is
botocore's, unchanged, loaded on the first Kinesis request.
Settings: `kinesis_create_delay_ms` (CREATING -> ACTIVE, default 0),
`kinesis_update_delay_ms` (UPDATING after a reshard, default 0),
`kinesis_iterator_ttl_ms` (default 300000), `kinesis_subscribe_wait` (5 s),
`kinesis_subscribe_duration` (300 s).
"""

from __future__ import annotations

from typing import Any

import orjson

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.frontend import AwsContext, Handler, ServiceFrontend
from mqlite.protocols.aws.kinesis.capacity import CapacityActions
from mqlite.protocols.aws.kinesis.consumers import ConsumerActions
from mqlite.protocols.aws.kinesis.errors import map_core_error
from mqlite.protocols.aws.kinesis.iterators import IteratorActions
from mqlite.protocols.aws.kinesis.records import RecordActions
from mqlite.protocols.aws.kinesis.reshard import ReshardActions
from mqlite.protocols.aws.kinesis.state import KinesisState
from mqlite.protocols.aws.kinesis.streams import StreamActions
from mqlite.protocols.aws.wire import AwsError, AwsService, Protocol, RawResult
from mqlite.settings import Settings

_SERVICE: AwsService | None = None


def service() -> AwsService:
    """The Kinesis service model (built on first use), one per process."""
    global _SERVICE
    if _SERVICE is None:
        _SERVICE = AwsService.load("kinesis")
    return _SERVICE


def build(core: BrokerCore, settings: Settings) -> ServiceFrontend:
    state = KinesisState(core, settings)
    iterators = IteratorActions(core, state)
    consumers = ConsumerActions(core, state, iterators)
    capacity = CapacityActions(core, state)
    streams = StreamActions(core, state, consumers, capacity)
    reshard = ReshardActions(core, state)
    records = RecordActions(core, state)

    async def get_records(ctx: AwsContext, p: dict[str, Any]) -> RawResult | dict[str, Any]:
        if ctx.protocol is Protocol.CBOR:  # rendered by the shape: Data bytes, times tag 1
            return await records.get_records(ctx, p, native=True)
        return RawResult(orjson.dumps(await records.get_records(ctx, p)))

    handlers: dict[str, Handler] = {
        "CreateStream": streams.create_stream,
        "DeleteStream": streams.delete_stream,
        "DescribeStream": streams.describe_stream,
        "DescribeStreamSummary": streams.describe_stream_summary,
        "ListStreams": streams.list_streams,
        "IncreaseStreamRetentionPeriod": streams.increase_stream_retention_period,
        "DecreaseStreamRetentionPeriod": streams.decrease_stream_retention_period,
        "AddTagsToStream": streams.add_tags_to_stream,
        "RemoveTagsFromStream": streams.remove_tags_from_stream,
        "ListTagsForStream": streams.list_tags_for_stream,
        "TagResource": streams.tag_resource,
        "UntagResource": streams.untag_resource,
        "ListTagsForResource": streams.list_tags_for_resource,
        "StartStreamEncryption": streams.start_stream_encryption,
        "StopStreamEncryption": streams.stop_stream_encryption,
        "EnableEnhancedMonitoring": streams.enable_enhanced_monitoring,
        "DisableEnhancedMonitoring": streams.disable_enhanced_monitoring,
        "UpdateStreamMode": streams.update_stream_mode,
        "DescribeLimits": streams.describe_limits,
        "PutResourcePolicy": streams.put_resource_policy,
        "GetResourcePolicy": streams.get_resource_policy,
        "DeleteResourcePolicy": streams.delete_resource_policy,
        "ListShards": reshard.list_shards,
        "SplitShard": reshard.split_shard,
        "MergeShards": reshard.merge_shards,
        "UpdateShardCount": reshard.update_shard_count,
        "PutRecord": records.put_record,
        "PutRecords": records.put_records,
        "GetRecords": get_records,
        "GetShardIterator": iterators.get_shard_iterator,
        "RegisterStreamConsumer": consumers.register_stream_consumer,
        "DeregisterStreamConsumer": consumers.deregister_stream_consumer,
        "DescribeStreamConsumer": consumers.describe_stream_consumer,
        "ListStreamConsumers": consumers.list_stream_consumers,
        "SubscribeToShard": consumers.subscribe_to_shard,
        "UpdateMaxRecordSize": capacity.update_max_record_size,
        "UpdateStreamWarmThroughput": capacity.update_stream_warm_throughput,
        "DescribeAccountSettings": capacity.describe_account_settings,
        "UpdateAccountSettings": capacity.update_account_settings,
    }

    def map_error(exc: Exception) -> AwsError | None:
        return map_core_error(exc, settings.aws_account)

    return ServiceFrontend(service(), handlers, map_error)
