"""Fixtures for the AMQP tests: a real mqlite server and pika connections to it."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pika
import pika.exceptions
import pytest


@pytest.fixture
def amqp_url(mqlite_server: Any) -> str:
    return f"amqp://guest:guest@127.0.0.1:{mqlite_server.amqp_port}/%2F"


@pytest.fixture
def connect(mqlite_server: Any) -> Iterator[Callable[..., pika.BlockingConnection]]:
    """Open pika blocking connections to the test server; closed at teardown."""
    opened: list[pika.BlockingConnection] = []

    def make(**params: Any) -> pika.BlockingConnection:
        params.setdefault("host", "127.0.0.1")
        params.setdefault("port", mqlite_server.amqp_port)
        conn = pika.BlockingConnection(pika.ConnectionParameters(**params))
        opened.append(conn)
        return conn

    yield make
    for conn in opened:
        if conn.is_open:
            with contextlib.suppress(pika.exceptions.AMQPError):
                conn.close()


@pytest.fixture
def channel(connect: Callable[..., pika.BlockingConnection]) -> Any:
    return connect().channel()
