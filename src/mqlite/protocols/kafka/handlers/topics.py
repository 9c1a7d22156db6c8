"""Topic lookup shared by handlers: a Kafka topic is an mqlite stream.

`find_topic` returns the stream or None; `ensure_topic` auto-creates one the way
Kafka's `auto.create.topics.enable` does (with `kafka_default_partitions`).
Concurrency: the server's event loop; creation is synchronous in core.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.errors import StreamExists, StreamNotFound


def find_topic(core: Any, name: str | None) -> Any:
    if not name:
        return None
    try:
        return core.get_stream(name)
    except StreamNotFound:
        return None


def create_topic(core: Any, name: str, partitions: int, config: Any = None) -> Any:
    try:
        return core.create_stream(name, partitions=partitions, config=config)
    except StreamExists:
        return core.get_stream(name)
