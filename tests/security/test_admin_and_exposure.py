"""Admin endpoints need an admin user once auth is on; an open server stays on loopback
unless --insecure; repeated failed logins of one address are slowed."""

from __future__ import annotations

import base64
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from mqlite import cli
from mqlite.security import throttle
from mqlite.security.startup import is_loopback


@pytest.fixture
def secured(mqlite_server_factory: Callable[..., Any]) -> Any:
    return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                 users=("root:r00t-pw:admin", "app:app-pw"))


def _get(server: Any, path: str, user: str | None = None, secret: str = "") -> tuple[int, bytes]:
    request = urllib.request.Request(f"{server.endpoint_url}{path}")
    if user is not None:
        token = base64.b64encode(f"{user}:{secret}".encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize("path", ["/_mqlite/metrics", "/_mqlite/sns/outbox"])
def test_admin_endpoints_need_an_admin_user(secured: Any, path: str) -> None:
    """401 without (or with wrong) credentials, 403 for a user without the admin role,
    200 for an admin over HTTP Basic."""
    assert _get(secured, path)[0] == 401
    assert _get(secured, path, "root", "wrong")[0] == 401
    assert _get(secured, path, "app", "app-pw")[0] == 403
    status, body = _get(secured, path, "root", "r00t-pw")
    assert status == 200 and body


def test_health_stays_public(secured: Any) -> None:
    status, body = _get(secured, "/_mqlite/health")
    assert status == 200 and b'"status":"ok"' in body.replace(b" ", b"")


def test_admin_endpoints_open_while_auth_is_off(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None)
    assert _get(server, "/_mqlite/metrics")[0] == 200


def test_open_server_on_a_network_address_refuses_to_start(capsys: pytest.CaptureFixture[str]) -> None:
    """No user and a non-loopback --host: one line, exit 1, nothing bound."""
    code = cli.main(["serve", "--memory", "--host", "0.0.0.0", "--http-port", "0", "--kafka-port", "0",
                     "--amqp-port", "0", "--redis-port", "0", "--mqtt-port", "0", "--stomp-port", "0"])
    assert code == 1
    assert capsys.readouterr().err == (
        "mqlite: cannot start: listening on 0.0.0.0 without authentication: configure --user "
        "(or --users-file), or pass --insecure to serve everyone on the network\n")


def test_network_address_with_insecure_or_users_starts(mqlite_server_factory: Callable[..., Any]) -> None:
    ports = {"http_port": None, "kafka_port": None, "amqp_port": None}
    assert mqlite_server_factory(host="0.0.0.0", insecure=True, **ports).redis_port
    assert mqlite_server_factory(host="0.0.0.0", users=("a:b",), **ports).redis_port


@pytest.mark.parametrize(("user", "peer", "insecure", "allowed"), [
    ("guest", ("127.0.0.1", 5), False, True),
    ("guest", ("192.0.2.7", 5), False, False),  # RabbitMQ's loopback_users = [guest]
    ("guest", ("192.0.2.7", 5), True, True),    # --insecure: loopback_users = none
    ("app", ("192.0.2.7", 5), False, True),
])
def test_guest_logs_in_from_loopback_unless_insecure(user: str, peer: tuple, insecure: bool, allowed: bool) -> None:
    """A container's published AMQP port reaches the broker from a non-loopback address:
    with --insecure (the image's default command) guest works there, as it does with
    RabbitMQ's `loopback_users = none`. The refusal itself is tested end to end in
    tests/protocols/amqp/test_connection.py (a non-loopback guest gets ACCESS_REFUSED)."""
    from mqlite.protocols.amqp.connection import login_allowed_from

    assert login_allowed_from(user, peer, insecure) is allowed


@pytest.mark.parametrize(("host", "loopback"), [
    ("127.0.0.1", True), ("::1", True), ("localhost", True), ("127.0.0.2", True),
    ("0.0.0.0", False), ("::", False), ("10.1.2.3", False), ("example.com", False)])
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_repeated_failures_of_one_address_are_slowed() -> None:
    """The first failures are answered at once, then each waits twice as long (capped);
    other addresses are not slowed; a quiet minute starts over."""
    now = [0.0]
    failed = throttle.FailedLogins(clock=lambda: now[0])
    delays = [failed.failed("10.0.0.1") for _ in range(12)]
    assert delays[: throttle.FREE] == [0.0] * throttle.FREE
    assert delays[throttle.FREE] == throttle.BASE
    assert delays[throttle.FREE + 1] == 2 * throttle.BASE
    assert max(delays) == throttle.MAX
    assert failed.failed("10.0.0.2") == 0.0
    now[0] += throttle.WINDOW + 1
    assert failed.failed("10.0.0.1") == 0.0


def test_failures_are_counted_per_server_across_protocols() -> None:
    owner_a, owner_b = object.__new__(type("Core", (), {})), object.__new__(type("Core", (), {}))
    assert throttle.for_server(owner_a) is throttle.for_server(owner_a)
    assert throttle.for_server(owner_a) is not throttle.for_server(owner_b)


def test_admin_api_needs_an_admin_user(secured: Any) -> None:
    """The admin API (`/_mqlite/api/`) applies the same rule: only the admin role."""
    assert _get(secured, "/_mqlite/api/queues")[0] == 403
    assert _get(secured, "/_mqlite/api/queues", "app", "app-pw")[0] == 403
    assert _get(secured, "/_mqlite/api/queues", "root", "r00t-pw")[0] == 200


def test_without_any_admin_role_every_user_administers(mqlite_server_factory: Callable[..., Any]) -> None:
    """Only per-protocol aliases (no roles anywhere): each user is an administrator, so
    `--aws-key` setups keep their admin access."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None, aws_keys=(("AKID", "sk"),))
    assert _get(server, "/_mqlite/metrics")[0] == 401
    assert _get(server, "/_mqlite/metrics", "AKID", "sk")[0] == 200
