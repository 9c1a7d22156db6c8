"""Fixtures for the Kinesis tests: a real mqlite server and a real boto3 Kinesis client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from kinesis_support import kinesis_client


@pytest.fixture
def kserver(mqlite_server_factory: Callable[..., Any]) -> Any:
    return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                 kinesis_create_delay_ms=0)


@pytest.fixture
def kinesis(kserver: Any) -> Any:
    return kinesis_client(kserver)

