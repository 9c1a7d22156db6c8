"""CreateTopics, DeleteTopics, CreatePartitions, DeleteRecords, DescribeConfigs, AlterConfigs,
IncrementalAlterConfigs: topic administration.

Rules (Kafka protocol guide, `AdminManager`, topic configs reference):
- a topic is an mqlite stream; NumPartitions -1 takes `kafka_default_partitions`;
  the replication factor must be 1 or -1 (one broker): INVALID_REPLICATION_FACTOR;
  an existing name is TOPIC_ALREADY_EXISTS, an invalid one INVALID_TOPIC_EXCEPTION;
  `validateOnly` checks without creating;
- topic configs mapped onto the stream: retention.ms, retention.bytes, segment.bytes,
  segment.ms, max.message.bytes, message.timestamp.type (CreateTime | LogAppendTime),
  message.timestamp.before.max.ms / after.max.ms (checked per record on produce);
  cleanup.policy (delete | compact | compact,delete), delete.retention.ms and
  min.compaction.lag.ms drive the log cleaner (core/compaction.py, storage/cleaner.py);
  compression.type and min.insync.replicas are accepted only at their fixed values
  (producer, 1); any other name or value is INVALID_CONFIG;
- AlterConfigs replaces a topic's whole dynamic config; IncrementalAlterConfigs applies
  SET (0) and DELETE (1) per key (APPEND/SUBTRACT apply to list configs only:
  INVALID_CONFIG);
- CreatePartitions only grows a topic (INVALID_PARTITIONS otherwise); a topic has at
  most 10,000 partitions (INVALID_PARTITIONS), a guard Kafka does not have.
- internal streams (`core.naming.is_internal_stream`: Firehose buffers, EventBridge
  archives) belong to other front-ends: CreateTopics of such a name is
  INVALID_TOPIC_EXCEPTION; DeleteTopics, CreatePartitions, DeleteRecords and
  (Incremental)AlterConfigs on one are TOPIC_AUTHORIZATION_FAILED (no client may manage
  them, as no ordinary principal may manage Kafka's `__consumer_offsets`).
Concurrency: the server's event loop; nothing here awaits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mqlite.core.api import Stream
from mqlite.core.config import CLEANUP_POLICIES
from mqlite.core.naming import is_internal_stream
from mqlite.errors import MqliteError
from mqlite.protocols.kafka.codec import Request
from mqlite.protocols.kafka.errors import ErrorCode, code_for
from mqlite.protocols.kafka.handlers.topics import DENIED, find_topic, permitted, topic_for

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.protocols.kafka.frontend import KafkaFrontEnd, Session

TOPIC = 2
#: A guard against a garbled or hostile request creating millions of logs (each
#: partition is a directory of segment files); Kafka itself documents no hard limit.
MAX_PARTITIONS = 10_000
BROKER = 4
SOURCE_DYNAMIC_TOPIC = 1
SOURCE_DEFAULT = 5

MAPPED = {
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "max.message.bytes": "max_message_bytes",
    "message.timestamp.type": "timestamp_type",
    "message.timestamp.before.max.ms": "timestamp_before_max_ms",
    "message.timestamp.after.max.ms": "timestamp_after_max_ms",
    "cleanup.policy": "cleanup_policy",
    "delete.retention.ms": "delete_retention_ms",
    "min.compaction.lag.ms": "min_compaction_lag_ms",
}
FIXED = {
    "compression.type": "producer",
    "min.insync.replicas": "1",
}
#: message.timestamp.type's values <-> StreamConfig.timestamp_type
TIMESTAMP_TYPES = {"CreateTime": 0, "LogAppendTime": 1}


class ConfigError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def parse_configs(pairs: list[tuple[str, str | None]]) -> dict[str, int | None]:
    """Kafka topic config pairs -> StreamConfig fields (None = back to the default)."""
    out: dict[str, int | None] = {}
    for name, value in pairs:
        if name in MAPPED:
            if value is None:
                out[MAPPED[name]] = None
                continue
            try:
                if name == "message.timestamp.type":
                    out[MAPPED[name]] = TIMESTAMP_TYPES[value]
                elif name == "cleanup.policy":
                    out[MAPPED[name]] = _policy(value)
                else:
                    out[MAPPED[name]] = int(value)
            except (ValueError, KeyError):
                raise ConfigError(f"Invalid value {value} for configuration {name}") from None
        elif name in FIXED:
            if value is not None and value != FIXED[name]:
                raise ConfigError(f"{name}={value} is not supported (only {FIXED[name]})")
        else:
            raise ConfigError(f"Unknown topic config name: {name}")
    return out


def _policy(value: str) -> int:
    """cleanup.policy (a list: "compact,delete" = "delete,compact") -> CLEANUP_POLICIES."""
    parts = sorted({p.strip() for p in value.split(",")} - {""})
    return CLEANUP_POLICIES[",".join(parts)]


INTERNAL_MESSAGE = "Topic '{}' is an internal mqlite stream and cannot be managed by Kafka clients."


def _internal(name: str | None) -> bool:
    return bool(name) and is_internal_stream(name or "")


async def create_topics(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """CreateTopics: create topics (streams) with partitions and configs."""
    b = req.body
    results = []
    for t in b["Topics"]:
        name = t["Name"]
        res: dict[str, Any] = {"Name": name, "ErrorCode": 0, "ErrorMessage": None, "NumPartitions": -1,
                               "ReplicationFactor": -1, "Configs": []}
        results.append(res)
        parts = t["NumPartitions"]
        if parts == -1:
            parts = fe.settings.kafka_default_partitions
        if t["Assignments"]:
            parts = len(t["Assignments"])
        if t["ReplicationFactor"] not in (-1, 1):
            res.update(ErrorCode=ErrorCode.INVALID_REPLICATION_FACTOR,
                       ErrorMessage="Replication factor must be 1: there is one broker")
            continue
        if not 1 <= parts <= MAX_PARTITIONS:
            res.update(ErrorCode=ErrorCode.INVALID_PARTITIONS,
                       ErrorMessage=f"Number of partitions must be between 1 and {MAX_PARTITIONS}")
            continue
        try:
            config = parse_configs([(c["Name"], c["Value"]) for c in t["Configs"]])
        except ConfigError as exc:
            res.update(ErrorCode=ErrorCode.INVALID_CONFIG, ErrorMessage=exc.message)
            continue
        if _internal(name):
            res.update(ErrorCode=ErrorCode.INVALID_TOPIC_EXCEPTION, ErrorMessage=INTERNAL_MESSAGE.format(name))
            continue
        if not permitted(fe, session, "create", "stream", name):
            res.update(ErrorCode=ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorMessage="Authorization failed.")
            continue
        if find_topic(fe.core, name) is not None:
            res.update(ErrorCode=ErrorCode.TOPIC_ALREADY_EXISTS, ErrorMessage=f"Topic '{name}' already exists.")
            continue
        try:
            if b["validateOnly"]:
                from mqlite.core.naming import validate_stream_name

                validate_stream_name(name)
            else:
                stream = fe.core.create_stream(name, partitions=parts,
                                               config={k: v for k, v in config.items() if v is not None})
                res["TopicId"] = stream.id
        except MqliteError as exc:
            res.update(ErrorCode=code_for(exc), ErrorMessage=exc.message)
            continue
        res.update(NumPartitions=parts, ReplicationFactor=1)
    return {"ThrottleTimeMs": 0, "Topics": results}


async def delete_topics(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DeleteTopics: delete topics, their data and their committed offsets."""
    names = req.body["TopicNames"] or [t["Name"] for t in (req.body["Topics"] or [])]
    out = []
    for name in names:
        if not permitted(fe, session, "admin", "stream", name):
            out.append({"Name": name, "ErrorCode": ErrorCode.TOPIC_AUTHORIZATION_FAILED, "ErrorMessage": None})
            continue
        if find_topic(fe.core, name) is None:
            out.append({"Name": name, "ErrorCode": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, "ErrorMessage": None})
            continue
        if _internal(name):
            out.append({"Name": name, "ErrorCode": ErrorCode.TOPIC_AUTHORIZATION_FAILED,
                        "ErrorMessage": INTERNAL_MESSAGE.format(name)})
            continue
        fe.core.delete_stream(name)
        out.append({"Name": name, "ErrorCode": 0, "ErrorMessage": None})
    return {"ThrottleTimeMs": 0, "Responses": out}


async def create_partitions(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """CreatePartitions: grow a topic's partition count."""
    b = req.body
    out = []
    for t in b["Topics"]:
        name, count = t["Name"], t["Count"]
        stream = topic_for(fe, session, name, "admin")
        res: dict[str, Any] = {"Name": name, "ErrorCode": 0, "ErrorMessage": None}
        out.append(res)
        if stream is DENIED:
            res.update(ErrorCode=ErrorCode.TOPIC_AUTHORIZATION_FAILED)
        elif stream is None:
            res.update(ErrorCode=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        elif _internal(name):
            res.update(ErrorCode=ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorMessage=INTERNAL_MESSAGE.format(name))
        elif count > MAX_PARTITIONS:
            res.update(ErrorCode=ErrorCode.INVALID_PARTITIONS,
                       ErrorMessage=f"Number of partitions must be at most {MAX_PARTITIONS}")
        elif count <= stream.partition_count:
            res.update(ErrorCode=ErrorCode.INVALID_PARTITIONS,
                       ErrorMessage=f"Topic currently has {stream.partition_count} partitions, which is higher "
                                    f"than or equal to the requested {count}.")
        elif not b["ValidateOnly"]:
            try:
                stream.set_partitions(count)
            except MqliteError as exc:
                res.update(ErrorCode=code_for(exc), ErrorMessage=exc.message)
    return {"ThrottleTimeMs": 0, "Results": out}


async def delete_records(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DeleteRecords: move partitions' log start offsets forward."""
    out = []
    for t in req.body["Topics"]:
        stream = topic_for(fe, session, t["Name"], "admin")
        parts = []
        for p in t["Partitions"]:
            index = p["PartitionIndex"]
            if stream is DENIED:
                parts.append({"PartitionIndex": index, "LowWatermark": -1,
                              "ErrorCode": ErrorCode.TOPIC_AUTHORIZATION_FAILED})
                continue
            if stream is None or not 0 <= index < stream.partition_count:
                parts.append({"PartitionIndex": index, "LowWatermark": -1,
                              "ErrorCode": ErrorCode.UNKNOWN_TOPIC_OR_PARTITION})
                continue
            if _internal(t["Name"]):
                parts.append({"PartitionIndex": index, "LowWatermark": -1,
                              "ErrorCode": ErrorCode.TOPIC_AUTHORIZATION_FAILED})
                continue
            try:
                low = stream.delete_records(index, p["Offset"])
                parts.append({"PartitionIndex": index, "LowWatermark": low, "ErrorCode": 0})
            except MqliteError as exc:
                parts.append({"PartitionIndex": index, "LowWatermark": -1, "ErrorCode": code_for(exc)})
        out.append({"Name": t["Name"], "Partitions": parts})
    return {"ThrottleTimeMs": 0, "Topics": out}


def _topic_configs(stream: Stream, keys: list[str] | None) -> list[dict[str, Any]]:
    effective = stream.effective_config
    overrides = stream.config
    entries = []
    for kname, field in MAPPED.items():
        value = getattr(effective, field)
        is_set = getattr(overrides, field) is not None
        if field == "timestamp_type":
            value = next(k for k, v in TIMESTAMP_TYPES.items() if v == (value or 0))
        elif field == "cleanup_policy":
            value = next(k for k, v in CLEANUP_POLICIES.items() if v == (value or 0))
        entries.append((kname, None if value is None else str(value), not is_set))
    for kname, value in FIXED.items():
        entries.append((kname, value, True))
    return [
        {"Name": n, "Value": v, "ReadOnly": n in FIXED, "IsDefault": d,
         "ConfigSource": SOURCE_DEFAULT if d else SOURCE_DYNAMIC_TOPIC, "IsSensitive": False,
         "Synonyms": [], "ConfigType": 0, "Documentation": None}
        for n, v, d in entries
        if keys is None or n in keys
    ]


async def describe_configs(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """DescribeConfigs: a topic's configs (value, default or not); brokers have none."""
    out = []
    for r in req.body["Resources"]:
        rtype, name = r["ResourceType"], r["ResourceName"]
        res: dict[str, Any] = {"ErrorCode": 0, "ErrorMessage": None, "ResourceType": rtype,
                               "ResourceName": name, "Configs": []}
        if rtype == TOPIC:
            stream = find_topic(fe.core, name)
            if stream is None:
                res.update(ErrorCode=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, ErrorMessage=f"Topic {name} does not exist")
            else:
                res["Configs"] = _topic_configs(stream, r["ConfigurationKeys"])
        elif rtype != BROKER:
            res.update(ErrorCode=ErrorCode.INVALID_REQUEST, ErrorMessage=f"Unsupported resource type {rtype}")
        out.append(res)
    return {"ThrottleTimeMs": 0, "Results": out}


def _alter_checked(fe: KafkaFrontEnd, session: Session, r: dict[str, Any], validate_only: bool,
                   incremental: bool) -> dict[str, Any]:
    if r["ResourceType"] == TOPIC and not permitted(fe, session, "admin", "stream", r["ResourceName"]):
        return {"ErrorCode": ErrorCode.TOPIC_AUTHORIZATION_FAILED, "ErrorMessage": None,
                "ResourceType": r["ResourceType"], "ResourceName": r["ResourceName"]}
    return _alter(fe, r, validate_only, incremental)


def _alter(fe: KafkaFrontEnd, r: dict[str, Any], validate_only: bool, incremental: bool) -> dict[str, Any]:
    rtype, name = r["ResourceType"], r["ResourceName"]
    res: dict[str, Any] = {"ErrorCode": 0, "ErrorMessage": None, "ResourceType": rtype, "ResourceName": name}
    if rtype != TOPIC:
        res.update(ErrorCode=ErrorCode.INVALID_REQUEST, ErrorMessage="only topic configs can be altered")
        return res
    stream = find_topic(fe.core, name)
    if stream is None:
        res.update(ErrorCode=ErrorCode.UNKNOWN_TOPIC_OR_PARTITION)
        return res
    if _internal(name):
        res.update(ErrorCode=ErrorCode.TOPIC_AUTHORIZATION_FAILED, ErrorMessage=INTERNAL_MESSAGE.format(name))
        return res
    try:
        if incremental:
            pairs = []
            for c in r["Configs"]:
                op = c["ConfigOperation"]
                if op not in (0, 1):
                    raise ConfigError(f"operation {op} is not valid for {c['Name']}")
                pairs.append((c["Name"], c["Value"] if op == 0 else None))
            changes = parse_configs(pairs)
        else:
            changes = {f: None for f in MAPPED.values()}
            changes.update(parse_configs([(c["Name"], c["Value"]) for c in r["Configs"]]))
    except ConfigError as exc:
        res.update(ErrorCode=ErrorCode.INVALID_CONFIG, ErrorMessage=exc.message)
        return res
    if not validate_only:
        try:
            stream.set_config(**changes)
        except MqliteError as exc:
            res.update(ErrorCode=ErrorCode.INVALID_CONFIG, ErrorMessage=exc.message)
    return res


async def alter_configs(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """AlterConfigs: replace a topic's dynamic configs."""
    b = req.body
    return {"ThrottleTimeMs": 0, "Responses": [_alter_checked(fe, session, r, b["ValidateOnly"], False)
                                                   for r in b["Resources"]]}


async def incremental_alter_configs(fe: KafkaFrontEnd, session: Session, req: Request) -> dict[str, Any]:
    """IncrementalAlterConfigs: set or delete individual topic configs."""
    b = req.body
    return {"ThrottleTimeMs": 0, "Responses": [_alter_checked(fe, session, r, b["ValidateOnly"], True)
                                                   for r in b["Resources"]]}


APIS = {
    19: (0, 4, create_topics),
    20: (0, 4, delete_topics),
    37: (0, 1, create_partitions),
    21: (0, 1, delete_records),
    32: (0, 2, describe_configs),
    33: (0, 1, alter_configs),
    44: (0, 1, incremental_alter_configs),
}
