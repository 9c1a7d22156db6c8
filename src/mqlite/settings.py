"""Server settings: one frozen dataclass, filled from flags, `MQLITE_*` env and TOML.

The option names here are the public contract (`--data-dir`, `--http-port`, ...): docs,
scripts and users rely on them. Precedence: flag > environment > config file > default.
A port of `0` picks a free port; `None` (spelled `off`) disables that front-end.
Each front-end reads only its own block of fields.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    # -- process ---------------------------------------------------------------------
    data_dir: Path | None = Path("mqlite-data")  # None = --memory
    fsync: str = "1000"  # "always" | "never" | interval in milliseconds
    host: str = "127.0.0.1"
    log_level: str = "info"
    # -- ports (None = off, 0 = any free port) ----------------------------------------
    http_port: int | None = 4566
    kafka_port: int | None = 9092
    amqp_port: int | None = 5672
    redis_port: int | None = 6379
    # -- AWS front-ends ---------------------------------------------------------------
    aws_account: str = "000000000000"
    aws_region: str = "us-east-1"
    aws_keys: tuple[tuple[str, str], ...] = ()  # (access key id, secret); empty = accept any
    s3_dir: Path | None = None  # Firehose S3 destination root; default <data_dir>/s3
    lambda_endpoint: str | None = None  # local HTTP endpoint invoked for Lambda targets
    smtp_relay: str | None = None  # host:port for SNS email delivery
    sns_sign_workers: int | None = None  # SNS signing processes; None = one per core (0 on 1 core)
    # -- Kafka ------------------------------------------------------------------------
    kafka_advertised_host: str | None = None  # default: the address the client dialled
    kafka_auto_create_topics: bool = True
    kafka_default_partitions: int = 1
    kafka_users: tuple[tuple[str, str], ...] = ()  # SASL users; empty = no auth
    kafka_max_frame_bytes: int = 100 * 1024 * 1024  # socket.request.max.bytes
    kafka_initial_rebalance_delay_ms: int = 3000  # group.initial.rebalance.delay.ms
    kafka_group_min_session_timeout_ms: int = 6000  # group.min.session.timeout.ms
    kafka_group_max_session_timeout_ms: int = 1_800_000  # group.max.session.timeout.ms
    # -- AMQP -------------------------------------------------------------------------
    amqp_users: tuple[tuple[str, str], ...] = (("guest", "guest"),)
    amqp_heartbeat: int = 60
    amqp_frame_max: int = 131072
    # -- Redis ------------------------------------------------------------------------
    redis_password: str | None = None
    redis_users: tuple[tuple[str, str], ...] = ()  # ACL-style AUTH users besides `default`
    redis_pubsub_buffer_bytes: int = 32 * 1024 * 1024  # client-output-buffer-limit pubsub
    # -- free-form, for options a front-end grows before they earn a field ------------
    extra: dict[str, str] = field(default_factory=dict)

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @property
    def memory(self) -> bool:
        return self.data_dir is None
