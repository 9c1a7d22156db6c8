"""Fixtures for the Firehose tests: a real mqlite server with its S3 directory."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from firehose_support import firehose_client


@pytest.fixture
def fserver(mqlite_server_factory: Callable[..., Any], tmp_path: Path) -> Any:
    return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None, s3_dir=tmp_path / "s3")


@pytest.fixture
def firehose(fserver: Any) -> Any:
    return firehose_client(fserver)
