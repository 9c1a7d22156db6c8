"""Server settings: one declaration per setting, the single source of flags, variables,
TOML keys and docs/configuration.md.

Each field of `Settings` is declared with `setting(default, kind, help)`. From that one
declaration `mqlite.config` derives the command-line flag (`--kafka-port`), the
environment variable (`MQLITE_KAFKA_PORT`) and the TOML key (`kafka_port`, or
`kafka-port`): the same name in all three. A repeatable flag has a singular public name
(`--aws-key ID:SECRET` fills `aws_keys`; `MQLITE_AWS_KEY=id1:s1,id2:s2`). Precedence is
flag > environment > config file > default. A port of `0` picks a free port; `None`
(spelled `off`) disables that front-end. Each front-end reads only its own block.

To add a setting: add a field here with `setting(...)`; the flag, variable, TOML key and
the docs table follow (`python -m mqlite.config --update docs/configuration.md` regenerates the
docs page, and a test fails while it is stale).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mqlite import setting_kinds as k


def setting(default: Any, kind: k.Kind, help: str, *, name: str | None = None,
            group: str = "process", cli: bool = True) -> Any:
    """Declare one setting: its default, value kind, one-line meaning, and (when the
    public name differs from the field, as for repeatable flags) its public name."""
    metadata = {"kind": kind, "help": help, "name": name, "group": group, "cli": cli}
    if isinstance(default, (dict, list)):
        return dataclasses.field(default_factory=lambda: type(default)(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def _group(name: str) -> Any:
    def declare(default: Any, kind: k.Kind, help: str, **options: Any) -> Any:
        return setting(default, kind, help, group=name, **options)

    return declare


_aws, _kafka, _amqp, _redis = _group("aws"), _group("kafka"), _group("amqp"), _group("redis")
_ports, _storage, _security = _group("ports"), _group("storage"), _group("security")
_limits = _group("limits")
_mqtt = _group("mqtt")
WEEK_MS = 7 * 24 * 3600 * 1000


@dataclass(frozen=True, slots=True)
class Settings:
    # -- process ---------------------------------------------------------------------
    data_dir: Path | None = setting(Path("mqlite-data"), k.PATH, "data directory (created if missing)")
    memory: bool = setting(False, k.SWITCH, "keep everything in memory: no data directory")
    fsync: str = setting("1000", k.FSYNC, "when appends reach the disk: `always` (before the ack), `never` (left to the OS) or at most every N ms")
    host: str = setting("127.0.0.1", k.TEXT, "address every listener binds to")
    log_level: str = setting("info", k.LOG_LEVEL, "log verbosity")
    log_format: str = setting("text", k.LOG_FORMAT, "log line format: `text`, or `json` lines")
    log_requests: bool = setting(False, k.SWITCH, "log one line per request (protocol, client, action, entity, status, duration); also at `--log-level debug`")
    slow_request_ms: float = setting(1000.0, k.fine_milliseconds(), "log requests slower than this at info even without `--log-requests` (long polls excepted), 0 never")
    metrics_max_entities: int = setting(500, k.integer(0), "per-entity metrics for this many queues/streams/groups each; the rest are summed under entity `_other`")
    init: Path | None = setting(None, k.PATH, "topology file (TOML, JSON or RabbitMQ definitions) declared before ready (docs/admin.md)")
    # -- storage: defaults of every stream (Kafka topic, Kinesis stream, Redis stream) --
    retention_ms: int = _storage(WEEK_MS, k.milliseconds(-1), "delete stream records older than this, -1 never (`log.retention.ms`)")
    retention_bytes: int = _storage(-1, k.integer(-1), "delete a partition's oldest records beyond this many bytes, -1 never (`log.retention.bytes`)")
    segment_bytes: int = _storage(64 * 1024 * 1024, k.SIZE, "roll a partition's segment file at this size (`log.segment.bytes`)")
    segment_ms: int = _storage(WEEK_MS, k.milliseconds(1), "roll a partition's segment file after this long (`log.roll.ms`)")
    max_message_bytes: int = _storage(1024 * 1024 + 12, k.SIZE, "largest record batch a stream accepts (`message.max.bytes`)")
    tail_cache_bytes: int = _storage(64 << 20, k.SIZE, "recently appended records kept decoded for tailing readers, over all partitions")
    # -- limits under hostile load (docs/reliability.md, "Hostile conditions") -------
    read_budget_bytes: int = _limits(256 * 1024 * 1024, k.SIZE, "bytes all connections may hold in partial requests; beyond it, reads pause")
    max_connections_per_listener: int = _limits(10_000, k.integer(1), "connections one listener holds; more are closed at once (logged once)")
    max_connections_per_address: int = _limits(1_000, k.integer(1), "connections one client address holds on one listener")
    unauthenticated_timeout: float = _limits(30.0, k.seconds(0), "close a connection still not logged in after this long (0: never)")
    fd_reserve: int = _limits(64, k.integer(0), "file descriptors kept free for the data directory and the listeners")
    # -- ports (None = off, 0 = any free port) ----------------------------------------
    http_port: int | None = _ports(4566, k.PORT, "HTTP: the AWS APIs and `/_mqlite/`")
    kafka_port: int | None = _ports(9092, k.PORT, "Kafka wire protocol")
    amqp_port: int | None = _ports(5672, k.PORT, "AMQP 0-9-1")
    redis_port: int | None = _ports(6379, k.PORT, "Redis RESP")
    mqtt_port: int | None = _ports(1883, k.PORT, "MQTT 3.1.1 and 5.0")
    stomp_port: int | None = _ports(61613, k.PORT, "STOMP 1.0-1.2 (RabbitMQ's STOMP plugin dialect)")
    # -- AWS front-ends ---------------------------------------------------------------
    aws_account: str = _aws("000000000000", k.TEXT, "AWS account id in ARNs and queue URLs")
    aws_region: str = _aws("us-east-1", k.TEXT, "default AWS region")
    aws_keys: tuple[tuple[str, str], ...] = _aws((), k.pairs("ID:SECRET"), "SigV4 access keys, aliases of `--user` (with no user anywhere: any key is accepted)", name="aws_key")
    aws_advertised_host: str | None = _aws(None, k.TEXT, "HOST[:PORT] in the queue URLs and SNS links the AWS APIs answer (default: the Host the client sent), behind a proxy or a port mapping")
    aws_accounts: tuple[tuple[str, str], ...] = _aws((), k.AWS_ACCOUNTS, "the AWS account a user's access key acts in (others: `--aws-account`); accounts are isolated (docs/security.md)", name="aws_account_of")
    s3_dir: Path | None = _aws(None, k.PATH, "root of the S3 objects Firehose writes (default `<data-dir>/s3`)")
    lambda_endpoint: str | None = _aws(None, k.TEXT, "HTTP endpoint invoked for Lambda targets and subscriptions")
    smtp_relay: str | None = _aws(None, k.TEXT, "HOST:PORT of an SMTP relay for SNS email subscriptions")
    sns_sign_workers: int | None = _aws(None, k.integer(0), "SNS signing processes, 0 to sign inline (default: one per core, 0 on one core)")
    events_schedule_interval: float = _aws(1.0, k.seconds(0.001), "how often EventBridge schedules are checked")
    events_retry_base: float = _aws(1.0, k.seconds(0), "first back-off of EventBridge target retries (doubles per retry)")
    events_replay_min_ms: int = _aws(1000, k.milliseconds(), "an EventBridge replay stays RUNNING at least this long, so CancelReplay can stop it (AWS: minutes)")
    firehose_create_delay_ms: int = _aws(0, k.milliseconds(), "Firehose delivery streams stay CREATING this long")
    kinesis_create_delay_ms: int = _aws(0, k.milliseconds(), "Kinesis streams stay CREATING this long (AWS: seconds; 0: ACTIVE at once)")
    kinesis_update_delay_ms: int = _aws(0, k.milliseconds(), "Kinesis streams stay UPDATING this long after a reshard or mode change (AWS: seconds)")
    kinesis_iterator_ttl_ms: int = _aws(300_000, k.milliseconds(None), "Kinesis shard iterators expire after this long (AWS: 5 minutes)")
    kinesis_subscribe_wait: float = _aws(5.0, k.seconds(0), "SubscribeToShard sends an empty event after this long without records")
    kinesis_subscribe_duration: float = _aws(300.0, k.seconds(0), "SubscribeToShard subscriptions end after this long (AWS: 5 minutes)")
    # -- Kafka ------------------------------------------------------------------------
    kafka_advertised_host: str | None = _kafka(None, k.TEXT, "host Kafka clients are told to dial (default: the address they dialled)")
    kafka_auto_create_topics: bool = _kafka(True, k.BOOL, "create a topic on first produce or metadata request (`auto.create.topics.enable`)")
    kafka_default_partitions: int = _kafka(1, k.integer(1), "partitions of auto-created topics (`num.partitions`)")
    kafka_users: tuple[tuple[str, str], ...] = _kafka((), k.pairs("USER:PASSWORD"), "SASL (PLAIN, SCRAM) users, aliases of `--user` (with no user anywhere: no SASL)", name="kafka_user")
    kafka_max_frame_bytes: int = _kafka(100 * 1024 * 1024, k.SIZE, "largest request accepted (`socket.request.max.bytes`)")
    kafka_sasl_max_receive_bytes: int = _kafka(524288, k.SIZE, "largest request accepted before SASL completes (`sasl.server.max.receive.size`)")
    kafka_initial_rebalance_delay_ms: int = _kafka(0, k.milliseconds(), "wait for more members before a new group's first rebalance (`group.initial.rebalance.delay.ms`; Kafka's default is 3000)")
    kafka_group_min_session_timeout_ms: int = _kafka(6000, k.milliseconds(), "smallest consumer session timeout accepted (`group.min.session.timeout.ms`)")
    kafka_group_max_session_timeout_ms: int = _kafka(1_800_000, k.milliseconds(), "largest consumer session timeout accepted (`group.max.session.timeout.ms`)")
    kafka_consumer_heartbeat_interval_ms: int = _kafka(5000, k.milliseconds(), "heartbeat interval given to KIP-848 consumers (`group.consumer.heartbeat.interval.ms`)")
    kafka_consumer_session_timeout_ms: int = _kafka(45_000, k.milliseconds(), "a KIP-848 consumer without a heartbeat this long leaves its group (`group.consumer.session.timeout.ms`)")
    kafka_share_record_lock_duration_ms: int = _kafka(30_000, k.milliseconds(), "how long a share-group consumer holds a record it fetched before it is delivered again (`group.share.record.lock.duration.ms`)")
    kafka_share_delivery_count_limit: int = _kafka(5, k.integer(2), "deliveries after which a share group archives a record instead of delivering it again (`group.share.delivery.count.limit`)")
    kafka_share_auto_offset_reset: str = _kafka("latest", k.OFFSET_RESET, "where a new share group starts reading a partition (`share.auto.offset.reset`)")
    # -- AMQP -------------------------------------------------------------------------
    amqp_users: tuple[tuple[str, str], ...] = _amqp((), k.pairs("USER:PASSWORD"), "AMQP users, aliases of `--user` (with no user anywhere: guest:guest, from loopback only)", name="amqp_user")
    amqp_vhosts: tuple[str, ...] = _amqp((), k.NAMES, "virtual hosts besides `/`", name="amqp_vhost")
    amqp_heartbeat: int = _amqp(60, k.integer(0), "heartbeat interval offered to clients, in seconds (0: none)")
    amqp_frame_max: int = _amqp(131072, k.integer(4096), "largest frame offered to clients, in bytes")
    amqp_max_message_size: int = _amqp(16 * 1024 * 1024, k.SIZE, "largest message body accepted (`max_message_size`; RabbitMQ 4.x: 16 MiB)")
    amqp_disk_free_limit: int = _amqp(50_000_000, k.SIZE, "block publishers when free space under the data directory falls below this (`disk_free_limit`)")
    amqp_memory_limit: int | None = _amqp(None, k.SIZE, "block publishers when resident memory rises above this (default 40% of RAM, `vm_memory_high_watermark`)")
    # -- Redis ------------------------------------------------------------------------
    redis_password: str | None = _redis(None, k.TEXT, "password of the user `default`, an alias of `--user default:PASSWORD`")
    redis_users: tuple[tuple[str, str], ...] = _redis((), k.pairs("USER:PASSWORD"), "users for `AUTH user password`, aliases of `--user`", name="redis_user")
    redis_proto_max_bulk_len: int = _redis(512 * 1024 * 1024, k.SIZE, "largest argument accepted (`proto-max-bulk-len`)")
    redis_client_query_buffer_limit: int = _redis(1024 * 1024 * 1024, k.SIZE, "largest pending command; a client over it is closed (`client-query-buffer-limit`)")
    redis_pubsub_buffer_bytes: int = _redis(32 * 1024 * 1024, k.SIZE, "a subscriber further behind than this is disconnected (`client-output-buffer-limit pubsub`)")
    # -- MQTT ---------------------------------------------------------------------------
    mqtt_max_packet_size: int = _mqtt(16 * 1024 * 1024, k.SIZE, "largest MQTT packet accepted (told to 5.0 clients as Maximum Packet Size; mosquitto's `max_packet_size`)")
    # -- security (mqlite.security; docs/security.md) ----------------------------------
    users: tuple[str, ...] = _security((), k.USERS, "users of every protocol, NAME:SECRET[:ROLES] (roles joined by `+`, e.g. `admin`); any user turns authentication on for every listener", name="user")
    users_file: Path | None = _security(None, k.PATH, "file of users, one NAME:SECRET[:ROLES] a line, `#` comments")
    insecure: bool = _security(False, k.SWITCH, "let a non-loopback `--host` run without authentication (AMQP's guest may then log in from anywhere)")
    tls: str | None = _security(None, k.TLS_MODE, "`auto`: make (once) a local CA and a server certificate in the data directory and serve TLS")
    tls_cert: Path | None = _security(None, k.PATH, "PEM server certificate (and chain): every listener speaks TLS")
    tls_key: Path | None = _security(None, k.PATH, "PEM private key of `--tls-cert`")
    tls_ca: Path | None = _security(None, k.PATH, "PEM CA certificates: clients must present a certificate they signed (mTLS)")
    acl: tuple[str, ...] = _security((), k.ACL, "authorization rules, e.g. `alice:read+write:queue:orders-*` (security/authz.py; none: every user may do everything; role `admin` bypasses them)")
    http_destinations: tuple[str, ...] = _security((), k.DESTINATIONS, "hosts and networks that SNS HTTP/S subscriptions, EventBridge API destinations and Firehose HTTP endpoints may reach (none: any, for local use)", name="http_destination")

    def __post_init__(self) -> None:
        # One fact, two spellings: `memory` and a missing data directory mean the same.
        if self.memory and self.data_dir is not None:
            object.__setattr__(self, "data_dir", None)
        elif self.data_dir is None and not self.memory:
            object.__setattr__(self, "memory", True)

    def replace(self, **changes: object) -> Settings:
        if changes.get("data_dir") is not None and "memory" not in changes:
            changes["memory"] = False
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]
