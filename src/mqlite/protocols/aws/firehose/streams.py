"""CreateDeliveryStream, DeleteDeliveryStream, DescribeDeliveryStream,
ListDeliveryStreams, UpdateDestination, Tag/Untag/ListTagsForDeliveryStream,
Start/StopDeliveryStreamEncryption.

A delivery stream is a catalog kv row (`firehose.streams`, key = name): {arn, type
(DirectPut | KinesisStreamAsSource), source_stream, source_arn, role, created,
updated, version, destination: {id, kind (s3 | extended_s3 | http), config}, tags,
encryption}. DirectPut streams get their buffer stream `__mqlite.firehose.<name>` at creation.
Supported destinations: S3DestinationConfiguration, ExtendedS3DestinationConfiguration,
HttpEndpointDestinationConfiguration (which requires its S3Configuration for failed
data, as Firehose does); others are InvalidArgumentException. Names 1-64 of
[a-zA-Z0-9_.-]; 50 tags. UpdateDestination checks CurrentDeliveryStreamVersionId
(ConcurrentModificationException when stale), merges the update into the destination
and bumps the version (the version is part of new S3 object names).
Concurrency: the server's event loop.
"""

from __future__ import annotations

import re
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.core.naming import is_dot_name, namespace_body
from mqlite.protocols.aws import namespace
from mqlite.protocols.aws.firehose import errors, s3_writer
from mqlite.protocols.aws.firehose.buffering import hints
from mqlite.protocols.aws.firehose.delivery import (
    DeliveryService,
    buffer_stream,
    find_buffer,
    legacy_buffer_stream,
)
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.settings import Settings

NS = "firehose.streams"
_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,64}")
_KINESIS_ARN = re.compile(r"arn:aws[a-z-]*:kinesis:([^:]*):([^:]*):stream/([a-zA-Z0-9_.-]+)")
DEST_ID = "destinationId-000000000001"
_CONFIG_TO_KIND = {
    "ExtendedS3DestinationConfiguration": "extended_s3",
    "S3DestinationConfiguration": "s3",
    "HttpEndpointDestinationConfiguration": "http",
}
_UPDATE_TO_KIND = {
    "ExtendedS3DestinationUpdate": "extended_s3",
    "S3DestinationUpdate": "s3",
    "HttpEndpointDestinationUpdate": "http",
}
_DESCRIPTION = {"extended_s3": "ExtendedS3DestinationDescription",
                "s3": "S3DestinationDescription", "http": "HttpEndpointDestinationDescription"}


class Store:
    def __init__(self, core: BrokerCore) -> None:
        self.core = core

    def find(self, name: str) -> dict[str, Any] | None:
        return self.core.catalog.kv_get(NS, name)  # type: ignore[no-any-return]

    def put(self, name: str, cfg: dict[str, Any]) -> None:
        self.core.catalog.kv_put(NS, name, cfg)

    def delete(self, name: str) -> None:
        self.core.catalog.kv_delete(NS, name)

    def items(self) -> list[tuple[str, Any]]:
        return sorted(self.core.catalog.kv_items(NS))


_MEMBER = {"extended_s3": "extendedS3DestinationConfiguration", "s3": "s3DestinationConfiguration",
           "http": "httpEndpointDestinationConfiguration.s3Configuration"}


def _check_s3(kind: str, s3: dict[str, Any]) -> None:
    """The bucket and prefixes of an S3 configuration: Firehose's model pattern for the
    ARN, S3's bucket naming rules, and keys that stay under --s3-dir (s3_writer)."""
    arn = s3.get("BucketARN") or ""
    if not s3_writer.BUCKET_ARN.fullmatch(arn):
        raise errors.validation(arn, f"{_MEMBER[kind]}.bucketARN",
                                "Member must satisfy regular expression pattern: "
                                "arn:.*:s3:::[\\w\\.\\-]{1,255}")
    problem = s3_writer.bucket_problem(s3_writer.bucket_name(arn))
    if problem is not None:
        raise errors.invalid_argument(f"BucketARN {arn} is not a valid S3 bucket: {problem}")
    for member in ("Prefix", "ErrorOutputPrefix"):
        prefix = s3.get(member) or ""
        # expanded as delivery would expand it: a timestamp format could spell '../'
        problem = s3_writer.key_problem(s3_writer.object_key(prefix, "s", 1, 0, "", "error"))
        if problem is not None:
            raise errors.invalid_argument(f"{member} {prefix!r} is not valid: {problem}")


def _check_dest(kind: str, conf: dict[str, Any]) -> None:
    if kind == "http":
        hints("http", conf.get("BufferingHints"))
        if not (conf.get("EndpointConfiguration") or {}).get("Url"):
            raise errors.invalid_argument("EndpointConfiguration.Url is required.")
        if not (conf.get("S3Configuration") or {}).get("BucketARN"):
            raise errors.invalid_argument("S3Configuration is required for HTTP endpoint destinations.")
        _check_s3(kind, conf["S3Configuration"])
    else:
        hints("s3", conf.get("BufferingHints"))
        if not conf.get("BucketARN"):
            raise errors.invalid_argument("BucketARN is required.")
        _check_s3(kind, conf)
        fmt = conf.get("CompressionFormat", "UNCOMPRESSED")
        if fmt not in ("UNCOMPRESSED", "GZIP", "ZIP", "Snappy", "HADOOP_SNAPPY"):
            raise errors.validation(fmt, "compressionFormat",
                                    "Member must satisfy enum value set: [UNCOMPRESSED, GZIP, ZIP, "
                                    "Snappy, HADOOP_SNAPPY]")


def _described(kind: str, conf: dict[str, Any]) -> dict[str, Any]:
    out = dict(conf)
    if kind == "http":
        out["EndpointConfiguration"] = {k: v for k, v in (conf.get("EndpointConfiguration") or {}).items()
                                        if k != "AccessKey"}
        out["BufferingHints"] = {"SizeInMBs": 5, "IntervalInSeconds": 300, **(conf.get("BufferingHints") or {})}
        s3 = dict(out.pop("S3Configuration", {}) or {})
        s3.setdefault("BufferingHints", {"SizeInMBs": 5, "IntervalInSeconds": 300})
        s3.setdefault("CompressionFormat", "UNCOMPRESSED")
        s3.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
        s3.setdefault("RoleARN", conf.get("RoleARN", ""))
        out["S3DestinationDescription"] = s3
        out.setdefault("S3BackupMode", "FailedDataOnly")
        return out
    out["BufferingHints"] = {"SizeInMBs": 5, "IntervalInSeconds": 300, **(conf.get("BufferingHints") or {})}
    out.setdefault("CompressionFormat", "UNCOMPRESSED")
    out.setdefault("EncryptionConfiguration", {"NoEncryptionConfig": "NoEncryption"})
    out.setdefault("RoleARN", "")
    if kind == "extended_s3":
        out.setdefault("S3BackupMode", "Disabled")
        backup = out.pop("S3BackupConfiguration", None)
        if backup:
            out["S3BackupDescription"] = backup
    return out


class DeliveryStreamActions(namespace.RequestScoped):
    def __init__(self, core: BrokerCore, settings: Settings, store: Store, delivery: DeliveryService) -> None:
        self.core = core
        self.settings = settings
        self.store = store
        self.delivery = delivery
        self.create_delay_ms = settings.firehose_create_delay_ms

    def arn(self, name: str, region: str | None = None) -> str:
        """The ARN of the delivery stream with core name `name` (namespace.py)."""
        return self.ns.arn("firehose", name, "deliverystream/")

    def get(self, name: str) -> dict[str, Any]:
        cfg = self.store.find(name)
        if cfg is None:
            raise errors.not_found(namespace_body(name), self.account)
        return cfg

    def _check_url(self, kind: str, conf: dict[str, Any]) -> None:
        """An HTTP endpoint destination's URL must be within --http-destination."""
        if kind == "http":
            url = conf["EndpointConfiguration"]["Url"]
            refusal = self.core.routers.http.policy.refusal(url)
            if refusal is not None:
                raise errors.invalid_argument(f"EndpointConfiguration.Url {url} is not allowed: {refusal}")

    def name_of(self, p: dict[str, Any]) -> str:
        name = p["DeliveryStreamName"]
        if not _NAME.fullmatch(name):
            raise errors.validation(name, "deliveryStreamName",
                                    "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
        if is_dot_name(name):
            raise errors.invalid_argument(f"Delivery stream name {name} is not valid.")
        return self.ns.core(name) or name  # a valid name holds no separator

    async def create_delivery_stream(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreateDeliveryStream: DirectPut or KinesisStreamAsSource; S3, extended S3 or
        HTTP endpoint destination."""
        self.delivery.ensure()
        name = self.name_of(p)
        kind_type = p.get("DeliveryStreamType", "DirectPut")
        if kind_type not in ("DirectPut", "KinesisStreamAsSource"):
            raise errors.invalid_argument(f"DeliveryStreamType {kind_type} is not supported by mqlite.")
        if self.store.find(name) is not None:
            raise errors.in_use(f"Firehose {name} under accountId {self.account} already exists")
        given = [k for k in p if k.endswith("DestinationConfiguration")]
        if len(given) != 1:
            raise errors.invalid_argument("Exactly one destination configuration must be specified.")
        if given[0] not in _CONFIG_TO_KIND:
            raise errors.invalid_argument(f"{given[0]} is not supported by mqlite.")
        kind = _CONFIG_TO_KIND[given[0]]
        conf = dict(p[given[0]])
        _check_dest(kind, conf)
        self._check_url(kind, conf)
        tags = {t["Key"]: t.get("Value", "") for t in p.get("Tags") or []}
        if len(tags) > 50:
            raise errors.limit_exceeded("A delivery stream cannot have more than 50 tags.")
        now = self.core.clock.now_ms()
        cfg: dict[str, Any] = {
            "arn": self.arn(name, ctx.region), "type": kind_type, "created": now, "updated": now,
            "ready_ms": now + self.create_delay_ms, "version": 1, "tags": tags,
            "destination": {"id": DEST_ID, "kind": kind, "config": conf},
        }
        enc = p.get("DeliveryStreamEncryptionConfigurationInput")
        if enc:
            cfg["encryption"] = {"KeyType": enc.get("KeyType", "AWS_OWNED_CMK"), "Status": "ENABLED",
                                 **({"KeyARN": enc["KeyARN"]} if enc.get("KeyARN") else {})}
        if kind_type == "KinesisStreamAsSource":
            src = p.get("KinesisStreamSourceConfiguration") or {}
            m = _KINESIS_ARN.fullmatch(src.get("KinesisStreamARN", ""))
            if m is None:
                raise errors.invalid_argument("KinesisStreamSourceConfiguration.KinesisStreamARN is invalid.")
            source = self.ns.at(m.group(2) or None, m.group(1) or None).core(m.group(3)) or m.group(3)
            stream = self.core.find_stream(source)
            if stream is None:
                raise errors.invalid_argument(f"Kinesis stream {src['KinesisStreamARN']} does not exist.")
            cfg.update(source_stream=source, source_arn=src["KinesisStreamARN"],
                       role=src.get("RoleARN", ""))
            self.delivery.start_positions(name, {q: stream.latest(q) for q in range(stream.partition_count)})
        else:
            if find_buffer(self.core, name) is None:
                self.core.streams.create(buffer_stream(name), 1)
            self.delivery.start_positions(name, {0: 0})
        self.store.put(name, cfg)
        self.delivery.ensure(name)
        return {"DeliveryStreamARN": cfg["arn"]}

    async def delete_delivery_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """DeleteDeliveryStream: buffered, undelivered records are discarded (as Firehose)."""
        name = self.name_of(p)
        self.get(name)
        await self.delivery.stop(name)
        self.store.delete(name)
        for buffer in (buffer_stream(name), legacy_buffer_stream(name)):
            if self.core.streams.find(buffer) is not None:
                self.core.streams.delete(buffer)

    async def describe_delivery_stream(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeDeliveryStream."""
        self.delivery.ensure()
        name = self.name_of(p)
        cfg = self.get(name)
        dest = cfg["destination"]
        status = "CREATING" if self.core.clock.now_ms() < int(cfg.get("ready_ms", 0)) else "ACTIVE"
        desc: dict[str, Any] = {
            "DeliveryStreamName": namespace_body(name), "DeliveryStreamARN": cfg["arn"],
            "DeliveryStreamStatus": status, "DeliveryStreamType": cfg["type"],
            "VersionId": str(cfg["version"]), "CreateTimestamp": cfg["created"] / 1000,
            "LastUpdateTimestamp": cfg["updated"] / 1000,
            "DeliveryStreamEncryptionConfiguration": cfg.get("encryption") or {"Status": "DISABLED"},
            "Destinations": [{"DestinationId": dest["id"],
                              _DESCRIPTION[dest["kind"]]: _described(dest["kind"], dest["config"])}],
            "HasMoreDestinations": False,
        }
        if dest["kind"] == "extended_s3":  # Firehose reports both views of an S3 destination
            plain = {k: v for k, v in _described("s3", dest["config"]).items()
                     if k in ("RoleARN", "BucketARN", "Prefix", "ErrorOutputPrefix", "BufferingHints",
                              "CompressionFormat", "EncryptionConfiguration", "CloudWatchLoggingOptions")}
            desc["Destinations"][0]["S3DestinationDescription"] = plain
        if cfg["type"] == "KinesisStreamAsSource":
            desc["Source"] = {"KinesisStreamSourceDescription": {
                "KinesisStreamARN": cfg["source_arn"], "RoleARN": cfg.get("role", ""),
                "DeliveryStartTimestamp": cfg["created"] / 1000}}
        return {"DeliveryStreamDescription": desc}

    async def list_delivery_streams(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListDeliveryStreams: Limit (1-10000, default 10), type filter, exclusive start."""
        self.delivery.ensure()
        limit = p.get("Limit", 10)
        if not 1 <= limit <= 10000:
            raise errors.validation(limit, "limit", "Member must have value between 1 and 10000")
        kind = p.get("DeliveryStreamType")
        after = p.get("ExclusiveStartDeliveryStreamName")
        ns = self.ns
        listed = ((ns.local(n), c) for n, c in self.store.items())
        names = sorted(n for n, c in listed if n is not None
                       and (kind is None or c.get("type") == kind) and (after is None or n > after))
        return {"DeliveryStreamNames": names[:limit], "HasMoreDeliveryStreams": len(names) > limit}

    async def update_destination(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UpdateDestination: merge an S3 / extended S3 / HTTP endpoint update."""
        name = self.name_of(p)
        cfg = self.get(name)
        if str(cfg["version"]) != p["CurrentDeliveryStreamVersionId"]:
            raise errors.concurrent_modification(
                f"Cannot update firehose: {name} since the current version id: {cfg['version']} and "
                f"specified version id: {p['CurrentDeliveryStreamVersionId']} do not match")
        dest = cfg["destination"]
        if p["DestinationId"] != dest["id"]:
            raise errors.invalid_argument(f"Destination Id {p['DestinationId']} not found.")
        given = [k for k in p if k.endswith("DestinationUpdate")]
        if len(given) != 1 or given[0] not in _UPDATE_TO_KIND:
            raise errors.invalid_argument("Exactly one supported destination update must be specified.")
        kind = _UPDATE_TO_KIND[given[0]]
        update = dict(p[given[0]])
        if kind == dest["kind"] or {kind, dest["kind"]} == {"s3", "extended_s3"}:
            conf = dict(dest["config"])
            if kind == "http" and "S3Update" in update:
                conf["S3Configuration"] = {**(conf.get("S3Configuration") or {}), **update.pop("S3Update")}
            conf.update(update)
        else:
            conf = update
            if kind == "http" and "S3Update" in conf:
                conf["S3Configuration"] = conf.pop("S3Update")
        _check_dest(kind, conf)
        self._check_url(kind, conf)
        cfg["destination"] = {"id": dest["id"], "kind": kind, "config": conf}
        cfg["version"] = int(cfg["version"]) + 1
        cfg["updated"] = self.core.clock.now_ms()
        self.store.put(name, cfg)
        self.delivery.ensure(name)

    # -- tags and encryption ------------------------------------------------------------
    async def tag_delivery_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """TagDeliveryStream (at most 50 tags)."""
        name = self.name_of(p)
        cfg = self.get(name)
        tags = dict(cfg.get("tags") or {})
        tags.update({t["Key"]: t.get("Value", "") for t in p["Tags"]})
        if len(tags) > 50:
            raise errors.limit_exceeded(f"Firehose {name} cannot have more than 50 tags.")
        cfg["tags"] = tags
        self.store.put(name, cfg)

    async def untag_delivery_stream(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UntagDeliveryStream."""
        name = self.name_of(p)
        cfg = self.get(name)
        tags = dict(cfg.get("tags") or {})
        for k in p["TagKeys"]:
            tags.pop(k, None)
        cfg["tags"] = tags
        self.store.put(name, cfg)

    async def list_tags_for_delivery_stream(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListTagsForDeliveryStream: after ExclusiveStartTagKey, Limit (default 50)."""
        cfg = self.get(self.name_of(p))
        tags = sorted((cfg.get("tags") or {}).items())
        after = p.get("ExclusiveStartTagKey")
        if after is not None:
            tags = [t for t in tags if t[0] > after]
        limit = p.get("Limit", 50)
        return {"Tags": [{"Key": k, "Value": v} for k, v in tags[:limit]], "HasMoreTags": len(tags) > limit}

    async def start_delivery_stream_encryption(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """StartDeliveryStreamEncryption: recorded (data is not encrypted)."""
        name = self.name_of(p)
        cfg = self.get(name)
        enc = p.get("DeliveryStreamEncryptionConfigurationInput") or {}
        cfg["encryption"] = {"KeyType": enc.get("KeyType", "AWS_OWNED_CMK"), "Status": "ENABLED",
                             **({"KeyARN": enc["KeyARN"]} if enc.get("KeyARN") else {})}
        self.store.put(name, cfg)

    async def stop_delivery_stream_encryption(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """StopDeliveryStreamEncryption."""
        name = self.name_of(p)
        cfg = self.get(name)
        cfg["encryption"] = {"Status": "DISABLED"}
        self.store.put(name, cfg)
