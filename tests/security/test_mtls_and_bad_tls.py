"""Client certificates (mTLS), TLS/plaintext mismatches, and bad TLS input at start."""

from __future__ import annotations

import logging
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from certs import Ca

from mqlite import cli


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Any]:
    server_ca = Ca(tmp_path, "server-ca")
    client_ca = Ca(tmp_path, "clients-ca")
    other_ca = Ca(tmp_path, "other-ca")
    return {
        "server_ca": server_ca, "client_ca": client_ca,
        "server": server_ca.issue("localhost", client=False),
        "client": client_ca.issue("trusted-client", client=True),
        "stranger": other_ca.issue("stranger-client", client=True),
    }


@pytest.fixture
def mtls_server(mqlite_server_factory: Callable[..., Any], pki: dict[str, Any]) -> Any:
    return mqlite_server_factory(http_port=None, kafka_port=None, amqp_port=None, tls_cert=pki["server"].cert,
                                 tls_key=pki["server"].key, tls_ca=pki["client_ca"].path)


def _redis(server: Any, pki: dict[str, Any], client: Any | None) -> redis.Redis:
    extra = {"ssl_certfile": str(client.cert), "ssl_keyfile": str(client.key)} if client else {}
    return redis.Redis(host="127.0.0.1", port=server.redis_port, ssl=True, ssl_ca_certs=str(pki["server_ca"].path),
                       socket_timeout=10, **extra)


def _assert_refused(server: Any, pki: dict[str, Any], client: Any | None) -> None:
    """One connection (no client-side retries): the server ends the handshake."""
    context = ssl.create_default_context(cafile=str(pki["server_ca"].path))
    if client is not None:
        context.load_cert_chain(client.cert, client.key)
    with socket.create_connection(("127.0.0.1", server.redis_port), timeout=15) as raw:
        try:
            with context.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"PING\r\n")  # TLS 1.3: the server's verdict arrives after the client's Finished
                assert tls.recv(100) == b""
        except (ssl.SSLError, ConnectionError):
            pass  # refused during the handshake: the expected outcome


def test_client_with_a_certificate_of_the_trusted_ca_is_served(mtls_server: Any, pki: dict[str, Any]) -> None:
    """--tls-ca: a client certificate signed by that CA completes the handshake."""
    assert _redis(mtls_server, pki, pki["client"]).ping()


def test_untrusted_client_certificate_is_refused_and_others_still_served(
        mtls_server: Any, pki: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    """A certificate from another CA (or none) fails the handshake; the failure is
    logged once for that connection; a trusted client keeps being served."""
    good = _redis(mtls_server, pki, pki["client"])
    good.set_response_callback("PING", lambda r, **kw: r)
    with caplog.at_level(logging.INFO, logger="mqlite.transport"):
        _assert_refused(mtls_server, pki, pki["stranger"])
        _assert_refused(mtls_server, pki, None)
        assert good.ping()
    failures = [r.getMessage() for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    assert len(failures) == 2 and all(m.startswith("redis ('127.0.0.1'") for m in failures)


def test_plaintext_client_on_a_tls_port_is_closed(mtls_server: Any, pki: dict[str, Any]) -> None:
    """Plaintext RESP on a TLS port is not a handshake: the server closes it; TLS
    clients go on."""
    with socket.create_connection(("127.0.0.1", mtls_server.redis_port), timeout=15) as sock:
        sock.sendall(b"PING\r\n")
        assert sock.recv(100) == b""
    assert _redis(mtls_server, pki, pki["client"]).ping()


def test_tls_handshake_on_a_plaintext_port_is_closed(
        mqlite_server_factory: Callable[..., Any], caplog: pytest.LogCaptureFixture) -> None:
    """A TLS ClientHello on a plaintext port gets the connection closed with one log
    line, on every TCP front-end; plaintext clients go on."""
    server = mqlite_server_factory(http_port=None)
    context = ssl.create_default_context()
    with caplog.at_level(logging.INFO, logger="mqlite.transport"):
        for port in (server.kafka_port, server.amqp_port, server.redis_port):
            with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
                with pytest.raises((ssl.SSLError, ConnectionError)):
                    context.wrap_socket(sock, server_hostname="localhost")
    assert len([r for r in caplog.records if "TLS handshake on a plaintext port" in r.getMessage()]) == 3
    assert redis.Redis(port=server.redis_port).ping()


def _start(*flags: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = cli.main(["serve", "--memory", "--http-port", "0", "--kafka-port", "0", "--amqp-port", "0",
                     "--redis-port", "0", "--mqtt-port", "0", "--stomp-port", "0", *flags])
    return code, capsys.readouterr().err


def test_certificate_not_matching_its_key_is_one_line_error(pki: dict[str, Any], capsys: Any) -> None:
    code, err = _start("--tls-cert", str(pki["server"].cert), "--tls-key", str(pki["client"].key), capsys=capsys)
    assert code == 1
    assert err == (f"mqlite: cannot start: --tls-key {pki['client'].key} does not match the certificate in "
                   f"--tls-cert {pki['server'].cert}\n")


def test_expired_certificate_is_one_line_error(pki: dict[str, Any], capsys: Any) -> None:
    expired = pki["server_ca"].issue("old", client=False, expired=True)
    code, err = _start("--tls-cert", str(expired.cert), "--tls-key", str(expired.key), capsys=capsys)
    assert code == 1
    assert err.startswith(f"mqlite: cannot start: --tls-cert {expired.cert}: certificate expired on ")
    assert err.count("\n") == 1


def test_not_a_certificate_is_one_line_error(tmp_path: Path, pki: dict[str, Any], capsys: Any) -> None:
    junk = tmp_path / "junk.pem"
    junk.write_text("hello\n")
    code, err = _start("--tls-cert", str(junk), "--tls-key", str(pki["server"].key), capsys=capsys)
    assert (code, err) == (1, f"mqlite: cannot start: --tls-cert {junk}: not a PEM certificate\n")


def test_malformed_users_file_is_one_line_error_naming_file_and_line(tmp_path: Path, capsys: Any) -> None:
    users = tmp_path / "users.txt"
    users.write_text("# team\nalice:pw:admin\nbob\n")
    code, err = _start("--users-file", str(users), capsys=capsys)
    assert code == 1
    assert err.startswith(f"mqlite: cannot start: users file {users}, line 3: ")
    assert err.count("\n") == 1


def test_tls_auto_reuses_its_ca_and_certificate(mqlite_server_factory: Callable[..., Any], tmp_path: Path) -> None:
    """--tls auto makes the CA and server certificate once, in the data directory."""
    data = tmp_path / "data"
    first = mqlite_server_factory(data_dir=data, tls="auto", kafka_port=None, amqp_port=None, http_port=None)
    ca, cert = (data / "tls" / "ca.pem").read_bytes(), (data / "tls" / "server.pem").read_bytes()
    assert oct((data / "tls" / "ca-key.pem").stat().st_mode & 0o777) == "0o600"
    first.stop()
    second = mqlite_server_factory(data_dir=data, tls="auto", kafka_port=None, amqp_port=None, http_port=None)
    assert (data / "tls" / "ca.pem").read_bytes() == ca and (data / "tls" / "server.pem").read_bytes() == cert
    assert redis.Redis(port=second.redis_port, ssl=True, ssl_ca_certs=str(data / "tls" / "ca.pem")).ping()


def test_tls_auto_in_memory_uses_a_temporary_directory_removed_at_exit() -> None:
    """--memory --tls auto: the CA lives in a temp dir the log names, gone after exit."""
    import re

    from mqlite.testing import spawn_server

    server = spawn_server(None, "--tls", "auto", "--http-port", "off", "--kafka-port", "off",
                          "--amqp-port", "off")
    try:
        found = next(m for m in (re.search(r"signed by the local CA (\S+)", line) for line in server.log_lines) if m)
        ca = Path(found.group(1))
        assert ca.exists()
        assert redis.Redis(port=server.ports["redis"], ssl=True, ssl_ca_certs=str(ca)).ping()
    finally:
        assert server.stop() == 0
    assert not ca.parent.exists()
