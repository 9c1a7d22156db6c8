"""Fixtures for the Redis front-end tests: a real mqlite server with only RESP on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis


@pytest.fixture
def resp_server(mqlite_server_factory: Callable[..., Any]) -> Any:
    """An mqlite server with the Redis front-end only (other listeners off)."""
    return mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None)


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def r(request: pytest.FixtureRequest, resp_server: Any) -> Iterator[redis.Redis]:
    """A redis-py client, once per protocol version."""
    client = redis.Redis(port=resp_server.redis_port, protocol=request.param)
    yield client
    client.close()


@pytest.fixture
def r2(resp_server: Any) -> Iterator[redis.Redis]:
    client = redis.Redis(port=resp_server.redis_port, protocol=2)
    yield client
    client.close()
