"""Fixtures for the SNS tests: a real server with the SNS routes mounted, boto3 clients,
and a recording HTTP endpoint (helpers in sns_support.py).

`sns_server` starts the lead's test server with only the HTTP front-end; the SNS extra
routes (`mqlite.protocols.aws.sns.routes`: the signing certificate, the outbox) are
added to the server's HTTP front-end list for the test when the server does not list
them yet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sns_support import Receiver, client

import mqlite.server

ROUTES = "mqlite.protocols.aws.sns.routes"


@pytest.fixture
def sns_server_factory(mqlite_server_factory: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
                       ) -> Callable[..., Any]:
    if ROUTES not in mqlite.server.HTTP_FRONTENDS:
        monkeypatch.setattr(mqlite.server, "HTTP_FRONTENDS", (*mqlite.server.HTTP_FRONTENDS, ROUTES))

    def make(**overrides: Any) -> Any:
        # Signing inline unless a test asks for worker processes (test_sns_sign_pool.py):
        # short tests would pay for starting workers they hardly use.
        overrides.setdefault("sns_sign_workers", 0)
        return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None, **overrides)

    return make


@pytest.fixture
def sns_server(sns_server_factory: Callable[..., Any]) -> Any:
    return sns_server_factory()


@pytest.fixture
def sns(sns_server: Any) -> Any:
    return client(sns_server, "sns")


@pytest.fixture
def sqs(sns_server: Any) -> Any:
    return client(sns_server, "sqs")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()
