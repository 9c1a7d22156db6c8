"""CreateStream, DeleteStream, DescribeStream, DescribeStreamSummary, ListStreams,
Increase/DecreaseStreamRetentionPeriod, tags (stream- and ARN-based), encryption,
enhanced monitoring, stream mode, limits and resource policies.

Limits as Kinesis documents them: stream names 1-128 of [a-zA-Z0-9_.-]; retention
24-8760 hours; 50 tags per stream (keys 1-128, values 0-256); ListStreams Limit
1-10000 (default 100); DescribeStream Limit 1-10000 (default 100). Encryption and
monitoring settings are recorded and reported, not acted on (data is not encrypted).
Streams whose names start with `__` (internal: Kafka's, Firehose buffers) are hidden.
Concurrency: the server's event loop.
"""

from __future__ import annotations

import base64
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.naming import namespace_body
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.kinesis import errors
from mqlite.protocols.aws.kinesis.capacity import (
    CapacityActions,
    check_record_kib,
    check_warm,
    warm_shape,
)
from mqlite.protocols.aws.kinesis.sequence import shard_index
from mqlite.protocols.aws.kinesis.state import HOUR_MS, KinesisState, StreamMeta
from mqlite.protocols.aws.wire import AwsError

# The default shard quota per account: 500 in these regions, 200 in the others
# ("Quotas and limits", Kinesis Data Streams developer guide).
BIG_REGIONS = frozenset({"us-east-1", "us-west-2", "eu-west-1"})
MAX_SHARDS_PER_STREAM = 500  # the largest default account quota
ON_DEMAND_SHARDS = 4
ON_DEMAND_STREAM_LIMIT = 50
MAX_TAGS = 50
ALL_METRICS = ["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords",
               "WriteProvisionedThroughputExceeded", "ReadProvisionedThroughputExceeded",
               "IteratorAgeMilliseconds"]


def _check_tags(tags: dict[str, str]) -> None:
    for k, v in tags.items():
        if not 1 <= len(k) <= 128:
            raise errors.invalid_argument(f"Tag key {k} is invalid: must be 1-128 characters.")
        if len(v or "") > 256:
            raise errors.invalid_argument(f"Tag value for key {k} is invalid: at most 256 characters.")


def _check_retention(hours: int) -> None:
    """The bounds come before the comparison with the current period (as Kinesis checks)."""
    if hours < 24:
        raise errors.invalid_argument(
            f"Minimum allowed retention period is 24 hours. Requested retention period "
            f"({hours} hours) is too short.")
    if hours > 8760:
        raise errors.invalid_argument(
            f"Maximum allowed retention period is 8760 hours. Requested retention period "
            f"({hours} hours) is too long.")


def shard_limit(region: str) -> int:
    """The account's default shard quota in a region (Kinesis Data Streams quotas)."""
    return 500 if region in BIG_REGIONS else 200


class StreamActions:
    def __init__(self, core: BrokerCore, state: KinesisState, consumers: Any, capacity: CapacityActions) -> None:
        self.core = core
        self.state = state
        self.consumers = consumers
        self.capacity = capacity

    def _summary(self, ctx: AwsContext, meta: StreamMeta) -> dict[str, Any]:
        d = meta.data
        out: dict[str, Any] = {
            "StreamName": meta.aws_name,
            "StreamARN": self.state.arn(meta.name, ctx.region),
            "StreamStatus": self.state.status(meta),
            "StreamModeDetails": {"StreamMode": d.get("mode", "PROVISIONED")},
            "RetentionPeriodHours": int(d.get("retention_h", 24)),
            "StreamCreationTimestamp": int(d.get("created", 0)) / 1000,
            "EnhancedMonitoring": [{"ShardLevelMetrics": list(d.get("metrics") or [])}],
            "EncryptionType": d.get("encryption", "NONE"),
        }
        if d.get("key_id"):
            out["KeyId"] = d["key_id"]
        return out

    async def create_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """CreateStream: ShardCount (PROVISIONED) or StreamModeDetails ON_DEMAND (4 shards);
        MaxRecordSizeInKiB and WarmThroughputMiBps as in `capacity.py`."""
        name = self.state.name_of(p)
        mode = (p.get("StreamModeDetails") or {}).get("StreamMode", "PROVISIONED")
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            raise errors.validation(mode, "streamModeDetails.streamMode",
                                    "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]")
        count = p.get("ShardCount")
        if mode == "PROVISIONED":
            if count is None:
                raise errors.invalid_argument("ShardCount is required for PROVISIONED stream mode.")
        elif count is None:
            count = ON_DEMAND_SHARDS
        if count < 1:
            raise errors.validation(count, "shardCount", "Member must have value greater than or equal to 1")
        limit = shard_limit(ctx.region)
        current = self.open_shard_count() if mode == "PROVISIONED" else 0
        if mode == "PROVISIONED" and current + count > limit:
            raise errors.limit_exceeded(
                f"This request would exceed the shard limit for the account {self.state.account} in "
                f"{ctx.region}. Current shard count for the account: {current}. Limit: {limit}. "
                f"Number of additional shards that would have resulted from this request: {count}. "
                "Refer to the AWS Service Limits page for more information.")
        tags = dict(p.get("Tags") or {})
        _check_tags(tags)
        kib = p.get("MaxRecordSizeInKiB")
        if kib is not None:
            check_record_kib(kib)
        warm = p.get("WarmThroughputMiBps")
        if warm is not None:
            check_warm(warm, mode)
        if self.core.find_stream(name) is not None:
            raise errors.in_use(f"Stream {namespace_body(name)} under account {self.state.account} already exists.")
        meta = self.state.create(name, count, mode, tags)
        if warm is not None:
            meta.data["warm_mibps"] = warm
        if kib is not None:
            self.capacity.apply_record_kib(meta, kib)  # saves the row
        elif warm is not None:
            self.state.save(meta)

    async def delete_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DeleteStream: refused while consumers exist unless EnforceConsumerDeletion."""
        name = self.state.name_of(p)
        self.state.meta(name)
        registered = self.consumers.for_stream(name)
        if registered and not p.get("EnforceConsumerDeletion"):
            raise errors.in_use(
                f"Stream {self.state.arn(name, ctx.region)} has registered consumers. Set "
                "EnforceConsumerDeletion to true to delete stream with registered consumers.")
        self.consumers.drop_stream(name)
        self.core.delete_stream(name)
        self.state.forget(name)

    async def describe_stream(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeStream: shards after ExclusiveStartShardId, at most Limit (1-10000)."""
        meta = self.state.meta(self.state.name_of(p))
        limit = p.get("Limit", 100)
        if not 1 <= limit <= 10000:
            raise errors.validation(limit, "limit", "Member must have value between 1 and 10000")
        shards = sorted(meta.shards, key=lambda s: s.partition)
        start = p.get("ExclusiveStartShardId")
        if start is not None:
            idx = shard_index(start)
            shards = [s for s in shards if idx is None or s.partition > idx]
        page = shards[:limit]
        desc = self._summary(ctx, meta)
        desc["Shards"] = [s.describe() for s in page]
        desc["HasMoreShards"] = len(shards) > limit
        return {"StreamDescription": desc}

    async def describe_stream_summary(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeStreamSummary: OpenShardCount, ConsumerCount, MaxRecordSizeInKiB and
        WarmThroughput (when set), no shard list."""
        meta = self.state.meta(self.state.name_of(p))
        out = self._summary(ctx, meta)
        out["StreamId"] = meta.data.get("id", "")
        out["OpenShardCount"] = len(meta.open_shards())
        out["ConsumerCount"] = len(self.consumers.for_stream(meta.name))
        out["MaxRecordSizeInKiB"] = int(meta.data.get("max_record_kib", 1024))
        warm = warm_shape(meta)
        if warm is not None:
            out["WarmThroughput"] = warm
        return {"StreamDescriptionSummary": out}

    async def list_streams(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListStreams: names in order, Limit (default and most 100), ExclusiveStartStreamName /
        NextToken pagination, StreamSummaries."""
        limit = p.get("Limit", 100)
        if not 1 <= limit <= 10000:
            raise errors.validation(limit, "limit", "Member must have value between 1 and 10000")
        after = p.get("ExclusiveStartStreamName")
        token = p.get("NextToken")
        if token is not None:
            if after is not None:
                raise errors.invalid_argument("NextToken and ExclusiveStartStreamName cannot be provided together.")
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
            except ValueError:
                raise errors.invalid_argument(f"Invalid NextToken {token}.") from None
        names = self.state.listed()
        if after is not None:
            names = [n for n in names if n[0] > after]
        limit = min(limit, 100)  # "If you specify a value greater than 100, at most 100 results are returned."
        page = names[:limit]
        out: dict[str, Any] = {"StreamNames": [local for local, _ in page], "HasMoreStreams": len(names) > limit}
        summaries = []
        for local, n in page:
            meta = self.state.meta(n)
            summaries.append({
                "StreamName": local,
                "StreamARN": self.state.arn(n, ctx.region),
                "StreamStatus": self.state.status(meta),
                "StreamModeDetails": {"StreamMode": meta.data.get("mode", "PROVISIONED")},
                "StreamCreationTimestamp": int(meta.data.get("created", 0)) / 1000,
            })
        out["StreamSummaries"] = summaries
        if len(names) > limit:
            out["NextToken"] = base64.urlsafe_b64encode(page[-1][0].encode()).decode()
        return out

    # -- retention ----------------------------------------------------------------------
    def _set_retention(self, meta: StreamMeta, hours: int) -> None:
        self.core.get_stream(meta.name).set_config(retention_ms=hours * HOUR_MS)
        meta.data["retention_h"] = hours
        self.state.save(meta)

    async def increase_stream_retention_period(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """IncreaseStreamRetentionPeriod (24-8760 h, not below the current period)."""
        meta = self.state.meta(self.state.name_of(p))
        hours = p["RetentionPeriodHours"]
        current = int(meta.data.get("retention_h", 24))
        _check_retention(hours)
        if hours < current:
            raise errors.invalid_argument(
                f"Requested retention period ({hours} hours) for stream {meta.aws_name} can not be "
                f"shorter than existing retention period ({current} hours). Use "
                "DecreaseRetentionPeriod API.")
        self._set_retention(meta, hours)

    async def decrease_stream_retention_period(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DecreaseStreamRetentionPeriod (24-8760 h, not above the current period)."""
        meta = self.state.meta(self.state.name_of(p))
        hours = p["RetentionPeriodHours"]
        current = int(meta.data.get("retention_h", 24))
        _check_retention(hours)
        if hours > current:
            raise errors.invalid_argument(
                f"Requested retention period ({hours} hours) for stream {meta.aws_name} can not be "
                f"longer than existing retention period ({current} hours). Use "
                "IncreaseRetentionPeriod API.")
        self._set_retention(meta, hours)

    # -- tags ---------------------------------------------------------------------------
    def _add_tags(self, meta: StreamMeta, tags: dict[str, str]) -> None:
        _check_tags(tags)
        merged = dict(meta.data.get("tags") or {})
        merged.update(tags)
        if len(merged) > MAX_TAGS:
            raise errors.invalid_argument(
                f"Failed to add tags to stream {meta.aws_name} under account {self.state.account} "
                f"because a given stream cannot have more than {MAX_TAGS} tags.")
        meta.data["tags"] = merged
        self.state.save(meta)

    def _remove_tags(self, meta: StreamMeta, keys: list[str]) -> None:
        tags = dict(meta.data.get("tags") or {})
        for k in keys:
            tags.pop(k, None)
        meta.data["tags"] = tags
        self.state.save(meta)

    async def add_tags_to_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """AddTagsToStream."""
        self._add_tags(self.state.meta(self.state.name_of(p)), dict(p["Tags"]))

    async def remove_tags_from_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """RemoveTagsFromStream."""
        self._remove_tags(self.state.meta(self.state.name_of(p)), list(p["TagKeys"]))

    async def list_tags_for_stream(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListTagsForStream: keys in order after ExclusiveStartTagKey, Limit (default 10)."""
        meta = self.state.meta(self.state.name_of(p))
        tags = sorted((meta.data.get("tags") or {}).items())
        after = p.get("ExclusiveStartTagKey")
        if after is not None:
            tags = [t for t in tags if t[0] > after]
        limit = p.get("Limit", 10)
        if not 1 <= limit <= 50:
            raise errors.validation(limit, "limit", "Member must have value between 1 and 50")
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]],
                "HasMoreTags": len(tags) > limit}

    def _arn_meta(self, arn: str) -> StreamMeta:
        return self.state.meta(self.state.name_of({"StreamARN": arn}))

    async def tag_resource(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """TagResource (a stream ARN; consumer ARNs are accepted and tag their stream)."""
        self._add_tags(self._arn_meta(p["ResourceARN"]), dict(p["Tags"]))

    async def untag_resource(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UntagResource."""
        self._remove_tags(self._arn_meta(p["ResourceARN"]), list(p["TagKeys"]))

    async def list_tags_for_resource(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListTagsForResource."""
        meta = self._arn_meta(p["ResourceARN"])
        tags = sorted((meta.data.get("tags") or {}).items())
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags]}

    # -- encryption, monitoring, mode, limits, policies -----------------------------------
    async def start_stream_encryption(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """StartStreamEncryption: recorded (EncryptionType KMS, KeyId), data not encrypted."""
        meta = self.state.meta(self.state.name_of(p))
        if p["EncryptionType"] != "KMS":
            raise errors.invalid_argument("EncryptionType must be KMS.")
        meta.data["encryption"] = "KMS"
        meta.data["key_id"] = p["KeyId"]
        self.state.save(meta)

    async def stop_stream_encryption(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """StopStreamEncryption."""
        meta = self.state.meta(self.state.name_of(p))
        meta.data["encryption"] = "NONE"
        meta.data.pop("key_id", None)
        self.state.save(meta)

    def _metrics(self, p: dict[str, Any], enable: bool) -> dict[str, Any]:
        meta = self.state.meta(self.state.name_of(p))
        asked = list(p["ShardLevelMetrics"])
        for m in asked:
            if m not in ALL_METRICS and m != "ALL":
                raise errors.validation(m, "shardLevelMetrics",
                                        "Member must satisfy enum value set: [" + ", ".join([*ALL_METRICS, "ALL"]) + "]")
        current = list(meta.data.get("metrics") or [])
        # "ALL" is kept as asked (and reported so); removing one metric from ALL leaves
        # the six others.
        if enable:
            new = ["ALL"] if "ALL" in asked or "ALL" in current else sorted(set(current) | set(asked))
        elif "ALL" in asked:
            new = []
        else:
            have = set(ALL_METRICS) if "ALL" in current else set(current)
            new = sorted(have - set(asked))
        meta.data["metrics"] = new
        self.state.save(meta)
        return {"StreamName": meta.aws_name, "StreamARN": self.state.arn(meta.name),
                "CurrentShardLevelMetrics": current, "DesiredShardLevelMetrics": new}

    async def enable_enhanced_monitoring(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """EnableEnhancedMonitoring: recorded and reported."""
        return self._metrics(p, True)

    async def disable_enhanced_monitoring(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DisableEnhancedMonitoring."""
        return self._metrics(p, False)

    async def update_stream_mode(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UpdateStreamMode: PROVISIONED <-> ON_DEMAND (shards unchanged; UPDATING for
        `kinesis_update_delay_ms`)."""
        meta = self.state.meta(self.state.name_of(p))
        mode = p["StreamModeDetails"]["StreamMode"]
        if mode not in ("PROVISIONED", "ON_DEMAND"):
            raise errors.validation(mode, "streamModeDetails.streamMode",
                                    "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]")
        self.state.require_active(meta)
        meta.data["mode"] = mode
        self.state.updating(meta)
        self.state.save(meta)

    def open_shard_count(self) -> int:
        """Open shards of the PROVISIONED streams made through Kinesis (what the shard quota
        counts; Kafka topics and Redis streams are not Kinesis's to count)."""
        return sum(len(m.open_shards()) for m in self._made() if m.data.get("mode") != "ON_DEMAND")

    def _made(self) -> list[StreamMeta]:
        """The request's namespace's streams made through Kinesis."""
        return self.state.kinesis_made({core for _, core in self.state.listed()})

    async def describe_limits(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeLimits: the region's shard quota, open shards, on-demand streams."""
        open_shards = self.open_shard_count()
        on_demand = sum(1 for m in self._made() if m.data.get("mode") == "ON_DEMAND")
        return {"ShardLimit": shard_limit(ctx.region), "OpenShardCount": open_shards,
                "OnDemandStreamCount": on_demand, "OnDemandStreamCountLimit": ON_DEMAND_STREAM_LIMIT}

    def _policy_meta(self, arn: str) -> StreamMeta:
        """The stream a policy call names; a missing one is named by its ARN, as Kinesis does."""
        name = self.state.name_of({"StreamARN": arn})
        try:
            return self.state.meta(name)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise
            raise errors.stream_not_found(arn, self.state.account) from None

    async def put_resource_policy(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """PutResourcePolicy: stored, not enforced."""
        meta = self._policy_meta(p["ResourceARN"])
        meta.data["policy"] = p["Policy"]
        self.state.save(meta)

    async def get_resource_policy(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """GetResourcePolicy."""
        return {"Policy": self._policy_meta(p["ResourceARN"]).data.get("policy") or "{}"}

    async def delete_resource_policy(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DeleteResourcePolicy (ResourceNotFoundException when there is none)."""
        meta = self._policy_meta(p["ResourceARN"])
        if not meta.data.get("policy"):
            raise errors.not_found(f"No resource policy found for resource ARN {p['ResourceARN']}.")
        meta.data.pop("policy", None)
        self.state.save(meta)
