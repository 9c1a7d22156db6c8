"""The rule language and decision of security/authz.py, and rules surviving a restart.

Rules: `[!]USER:OPS:KIND:PATTERN`, `*` wildcards; no rules = authorization off; with
rules, deny beats allow, no match is a refusal, the `admin` role may do everything; a
bad rule is a one-line start-up error; rules added by clients are kept in the catalog.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
import redis

from mqlite.security.authz import AccessDenied, Authorizer, parse_rule
from mqlite.security.users import User, Users

USERS = Users([User("root", "pw", ("admin",)), User("alice", "pw"), User("bob", "pw")])


@pytest.mark.parametrize("spec", ["alice:read:queue", "alice:fly:queue:x", "alice:read:table:x",
                                  ":read:queue:x", "alice::queue:x"])
def test_malformed_rules_are_refused(spec: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(spec)


def test_rule_text_round_trips() -> None:
    for spec in ("alice:write+read:queue:orders-*", "!bob:*:*:*", "*:create:stream:a:b"):
        assert parse_rule(spec).text() == spec
    assert parse_rule("alice:write+read:queue:q") == parse_rule("alice:read+write:queue:q")


def test_no_rules_means_everyone_may_do_everything() -> None:
    authz = Authorizer(USERS)
    authz.check("bob", "admin", "queue", "anything")
    authz.check(None, "write", "stream", "t")


def test_deny_beats_allow_and_no_match_is_refused() -> None:
    authz = Authorizer(USERS, [parse_rule("*:read:queue:shared-*"), parse_rule("!bob:read:queue:shared-secret"),
                               parse_rule("alice:*:queue:alice-*")])
    authz.check("bob", "read", "queue", "shared-1")
    authz.check("alice", "admin", "queue", "alice-q")
    with pytest.raises(AccessDenied) as info:
        authz.check("bob", "read", "queue", "shared-secret")
    assert (info.value.principal, info.value.op, info.value.kind, info.value.name) == (
        "bob", "read", "queue", "shared-secret")
    with pytest.raises(AccessDenied):
        authz.check("alice", "write", "queue", "bob-q")
    with pytest.raises(AccessDenied):
        authz.check(None, "write", "queue", "shared-1")  # anonymous
    authz.check("root", "admin", "stream", "anything")  # the admin role


def test_a_bad_acl_is_a_one_line_start_up_error() -> None:
    bad = subprocess.run([sys.executable, "-m", "mqlite.cli", "serve", "--memory", "--acl", "alice:fly:queue:x"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    (line,) = bad.stderr.strip().splitlines()
    assert line.startswith("mqlite: ") and "--acl" in line and "[!]USER:OPS:KIND:PATTERN" in line


def test_rules_added_by_clients_survive_a_restart(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None,
                                   users=("root:rootpw:admin", "bob:bobpw"), acl=("bob:read:stream:none",))
    root = redis.Redis(host="127.0.0.1", port=server.redis_port, username="root", password="rootpw")
    root.xadd("logs", {"f": "v"})
    root.execute_command("ACL", "SETUSER", "bob", "%R~logs")
    server.restart()
    bob = redis.Redis(host="127.0.0.1", port=server.redis_port, username="bob", password="bobpw")
    assert [f for _id, f in bob.xrange("logs")] == [{b"f": b"v"}]
    with pytest.raises(redis.exceptions.NoPermissionError):
        bob.xadd("logs", {"f": "w"})
