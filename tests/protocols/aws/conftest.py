"""Fixtures for the AWS front-end tests: a real server and real boto3 clients.

`aws_server` is the lead's `mqlite_server_factory` with only the HTTP front-end on (the
AWS APIs need nothing else, and it keeps these tests independent of the TCP front-ends).
`sqs` is parametrized over both wire protocols: `json` (botocore's current SQS model)
and `query` (the same model forced to `query` with SQS's historical query traits, as
older SDKs send; built through botocore's public loader search path).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config

from mqlite.protocols.aws.sqs.query_traits import QUERY_OVERLAY
from mqlite.protocols.aws.wire import query_model_dict

CREDS = {"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": "secret"}
CONFIG = Config(retries={"max_attempts": 1}, read_timeout=60)


@pytest.fixture
def aws_server(mqlite_server_factory: Callable[..., Any]) -> Any:
    return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None)


def query_session(tmp_path: Path) -> boto3.Session:
    """A boto3 session whose SQS model speaks `query` (the pre-2023 SQS wire format)."""
    models = tmp_path / "query-models"
    target = models / "sqs" / "2012-11-05"
    if not target.exists():
        target.mkdir(parents=True)
        (target / "service-2.json").write_text(json.dumps(query_model_dict("sqs", QUERY_OVERLAY)))
    core = botocore.session.Session()
    core.get_component("data_loader").search_paths.insert(0, str(models))
    return boto3.Session(botocore_session=core)


def make_client(server: Any, protocol: str, tmp_path: Path, service: str = "sqs", **kw: Any) -> Any:
    session = query_session(tmp_path) if protocol == "query" else boto3.Session()
    args = {**CREDS, **kw}
    return session.client(
        service, endpoint_url=server.endpoint_url, region_name=kw.pop("region_name", "us-east-1"),
        config=CONFIG, **{k: v for k, v in args.items() if k != "region_name"},
    )


@pytest.fixture(params=["json", "query"])
def protocol(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sqs(aws_server: Any, protocol: str, tmp_path: Path) -> Any:
    return make_client(aws_server, protocol, tmp_path)


@pytest.fixture
def sqs_json(aws_server: Any, tmp_path: Path) -> Any:
    return make_client(aws_server, "json", tmp_path)


@pytest.fixture
def client_factory(aws_server: Any, tmp_path: Path) -> Callable[..., Any]:
    """`client_factory(protocol="json", service="sqs", server=aws_server, **client_kwargs)`."""

    def make(protocol: str = "json", service: str = "sqs", server: Any = None, **kw: Any) -> Any:
        return make_client(server or aws_server, protocol, tmp_path, service, **kw)

    return make
