"""The Redis connection's phases (protocols/resp/phase.py): one transition table,
checked on every move, and driven by real clients through AUTH, RESET and QUIT."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from mqlite.protocols.resp.phase import TRANSITIONS, IllegalTransition, Phase, check


def test_a_closing_or_closed_connection_never_comes_back() -> None:
    for later in (Phase.NOAUTH, Phase.READY):
        with pytest.raises(IllegalTransition, match=f"closing -> {later.value}"):
            check(Phase.CLOSING, later)
    assert TRANSITIONS[Phase.CLOSED] == frozenset()
    for phase in Phase:
        assert check(phase, Phase.CLOSED) is Phase.CLOSED


def _command(sock: socket.socket, *args: str) -> bytes:
    sock.sendall(b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args))
    reply = b""
    while not reply.endswith(b"\r\n"):
        chunk = sock.recv(4096)
        if not chunk:
            break
        reply += chunk
    return reply


def test_auth_reset_and_quit_move_a_real_connection_through_its_phases(mqlite_server_factory: Any) -> None:
    """Redis: before AUTH only NOAUTH replies; AUTH makes it ready; RESET forgets the
    login when a password is required (RESET's docs); QUIT answers OK, then closes."""
    server = mqlite_server_factory(redis_password="s3cret")
    with socket.create_connection(("127.0.0.1", server.redis_port)) as sock:
        assert _command(sock, "PING") == b"-NOAUTH Authentication required.\r\n"
        assert _command(sock, "AUTH", "s3cret") == b"+OK\r\n"
        assert _command(sock, "PING") == b"+PONG\r\n"
        assert _command(sock, "RESET") == b"+RESET\r\n"
        assert _command(sock, "PING") == b"-NOAUTH Authentication required.\r\n"
        assert _command(sock, "AUTH", "s3cret") == b"+OK\r\n"
        assert _command(sock, "QUIT") == b"+OK\r\n"
        assert sock.recv(1) == b""  # closed after the reply
