"""Fixtures for the Kafka tests: a real mqlite server with only the Kafka front-end.

Test modules import these names explicitly (this directory is not a package, so that
`import kafka` stays kafka-python).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

# kafka-python 3.0.12 loads its JSON schemas with importlib.resources.open_text, which
# warns (DeprecationWarning from importlib, so pyproject's `kafka.*` filter misses it).
# Import all of it once here, with that warning silenced.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import kafka
    import kafka.admin
    import kafka.consumer
    import kafka.producer
    import kafka.structs

FAST_GROUPS = {"kafka_initial_rebalance_delay_ms": 200, "kafka_consumer_heartbeat_interval_ms": 500}


@pytest.fixture
def kafka_factory(mqlite_server_factory: Callable[..., Any]) -> Callable[..., Any]:
    def make(**overrides: Any) -> Any:
        settings: dict[str, Any] = {"http_port": None, "amqp_port": None, "redis_port": None, **FAST_GROUPS}
        settings.update(overrides)
        return mqlite_server_factory(**settings)

    return make


@pytest.fixture
def kafka(kafka_factory: Callable[..., Any]) -> Any:
    return kafka_factory()


@pytest.fixture
def bootstrap(kafka: Any) -> str:
    return f"127.0.0.1:{kafka.kafka_port}"


def produce_partitioned(bootstrap: str, topic: str, values: list[bytes], partition: int = 0) -> None:
    """Send `values` to one partition with kafka-python and wait for the acks."""
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    for v in values:
        producer.send(topic, value=v, partition=partition)
    producer.flush()
    producer.close()
