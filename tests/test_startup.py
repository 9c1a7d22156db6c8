"""The first minutes: start-up errors a person can act on, readiness, clean stops.

Each failing start is a real `mqlite serve` child process: one line on stderr, exit
status 1 (cannot start) or 2 (bad options), never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mqlite.testing import ServerHandle, spawn_server, test_settings

SERVE = [sys.executable, "-m", "mqlite.cli", "serve", "--host", "127.0.0.1"]
FREE_PORTS = ["--http-port", "0", "--kafka-port", "0", "--amqp-port", "0", "--redis-port", "0", "--mqtt-port", "0",
              "--stomp-port", "0"]


def serve(*flags: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MQLITE_")}
    environ.update(env or {})
    return subprocess.run([*SERVE, *flags], capture_output=True, text=True, timeout=60, env=environ, check=False)


def one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr, result.stderr
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(("name", "hint"), [
    ("http", "another mqlite, or LocalStack?"),
    ("kafka", "another mqlite, or a Kafka broker?"),
    ("redis", "another mqlite, or redis-server?"),
])
def test_a_port_in_use_names_the_port_and_the_front_end(name: str, hint: str) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        flags = [f for f in FREE_PORTS]
        flags[flags.index(f"--{name}-port") + 1] = str(port)
        result = serve("--memory", *flags)
    assert result.returncode == 1
    assert one_line(result) == (f"mqlite: cannot start: {name} port {port} is in use ({hint}); "
                                f"choose another with --{name}-port, 0 for any free port, or off")


def test_a_data_directory_that_is_a_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "data"
    path.write_text("not a directory")
    result = serve("--data-dir", str(path), *FREE_PORTS)
    assert result.returncode == 1
    assert one_line(result) == f"mqlite: cannot start: data directory {path} is a file, not a directory"


def test_a_data_directory_under_a_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    path = tmp_path / "file" / "data"
    result = serve("--data-dir", str(path), *FREE_PORTS)
    assert result.returncode == 1
    assert one_line(result) == f"mqlite: cannot start: cannot create data directory {path}: a parent of it is a file"


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at `path` (skips the test where mounting is not permitted)."""
    path.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)],
                      capture_output=True, check=False).returncode != 0:
        pytest.skip("mounting a tmpfs is not permitted here")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def test_a_full_disk_is_named(tmp_path: Path) -> None:
    """A 64 KiB tmpfs filled to the last byte: a full disk without filling a real one."""
    with tmpfs(tmp_path / "tiny", "size=64k") as mount:
        path = mount / "data"
        path.mkdir()
        fd = os.open(mount / "filler", os.O_WRONLY | os.O_CREAT)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        result = serve("--data-dir", str(path), *FREE_PORTS)
    assert result.returncode == 1
    assert one_line(result) == f"mqlite: cannot start: data directory {path} is not usable: no space left on device"


def test_a_read_only_data_directory_is_named(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "size=1m,ro") as mount:
        result = serve("--data-dir", str(mount), *FREE_PORTS)
    assert result.returncode == 1
    assert one_line(result) == f"mqlite: cannot start: data directory {mount} is not usable: read-only file system"


@pytest.mark.parametrize(("flags", "env", "expected"), [
    (["--memory", "--kafka-port", "ninety"], {},
     "mqlite: --kafka-port: expected a port 1-65535, 0 for any free port, or off, got 'ninety'"),
    (["--memory", "--data-dir", "d"], {},
     "mqlite: --memory and --data-dir together: choose one (memory keeps no data directory)"),
    (["--memory", "--http-port", "off", "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off",
      "--mqtt-port", "off", "--stomp-port", "off"], {},
     "mqlite: every port is off: enable at least one of --http-port, --kafka-port, --amqp-port, --redis-port, "
     "--mqtt-port, --stomp-port"),
    (["--memory"], {"MQLITE_AWS_KEYS": "a:b"},
     "mqlite: unknown environment variable MQLITE_AWS_KEYS (see docs/configuration.md; unset it or fix its name)"),
    (["--memory", "--fsync", "sometimes"], {},
     "mqlite: --fsync: expected always, never or an interval in milliseconds (e.g. 1000), got 'sometimes'"),
    (["--memory", "--config", "/nonexistent/mqlite.toml"], {},
     "mqlite: config file /nonexistent/mqlite.toml does not exist"),
])
def test_option_mistakes_exit_2_with_one_line(flags: list[str], env: dict[str, str], expected: str) -> None:
    result = serve(*flags, env=env)
    assert result.returncode == 2
    assert one_line(result) == expected


def test_memory_mode_leaves_no_temporary_directory(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([*SERVE, "--memory", *FREE_PORTS], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            if "mqlite ready" in line:
                break
        proc.send_signal(signal.SIGTERM)
        output = proc.stdout.read()  # type: ignore[union-attr]
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
    assert list(scratch.iterdir()) == []
    assert "mqlite stopped" in output
    for noise in ("Traceback", "Task was destroyed", "never awaited", "Exception ignored"):
        assert noise not in output, output


def test_sigterm_during_start_up_stops_cleanly(tmp_path: Path) -> None:
    proc = subprocess.Popen([*SERVE, "--data-dir", str(tmp_path / "data"), *FREE_PORTS],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()  # type: ignore[union-attr]
        assert "mqlite 0" in first and "starting (pid" in first, first
        proc.send_signal(signal.SIGTERM)  # start-up (imports, recovery, listeners) follows that line
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:  # never leave a server behind, whatever failed
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, output
    assert "Traceback" not in output and "Task was destroyed" not in output


def test_ready_log_line_comes_after_every_listener_accepts(tmp_path: Path) -> None:
    proc = spawn_server(tmp_path / "data")
    try:
        assert set(proc.ports) == {"http", "kafka", "amqp", "redis", "mqtt", "stomp"}
        for port in proc.ports.values():
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass
        body = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{proc.ports['http']}/_mqlite/health").read())
        assert body["status"] == "ok"
        assert {name: info["state"] for name, info in body["listeners"].items()} == dict.fromkeys(proc.ports, "ready")
    finally:
        assert proc.stop() == 0


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_health_is_503_with_what_is_pending_until_recovery_is_done(tmp_path: Path, monkeypatch) -> None:
    """Recovery is held open by a gate; health answers 503 "starting" meanwhile."""
    from mqlite.core.broker import BrokerCore

    gate = threading.Event()
    real_open = BrokerCore.open.__func__

    async def slow_open(cls, *args, **kwargs):
        import asyncio

        while not gate.is_set():
            await asyncio.sleep(0.01)
        return await real_open(cls, *args, **kwargs)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        http_port = probe.getsockname()[1]
    monkeypatch.setattr(BrokerCore, "open", classmethod(slow_open))
    holder: list[ServerHandle] = []
    starter = threading.Thread(target=lambda: holder.append(ServerHandle(
        test_settings(tmp_path / "data", http_port=http_port))))
    starter.start()
    try:
        url = f"http://127.0.0.1:{http_port}/_mqlite/health"
        deadline = time.monotonic() + 20
        while True:
            try:
                status, body = get(url)
                break
            except (ConnectionError, urllib.error.URLError):
                assert time.monotonic() < deadline
                time.sleep(0.02)
        assert status == 503
        assert body["status"] == "starting"
        assert body["starting"] == ["recovery", "http", "kafka", "amqp", "redis", "mqtt", "stomp"]
        status, _ = get(f"http://127.0.0.1:{http_port}/")  # every other request: 503, retryable
        assert status == 503
    finally:
        gate.set()
        starter.join(30)
    server = holder[0]
    try:
        status, body = get(url)
        assert (status, body["status"]) == (200, "ok")
    finally:
        server.stop()


def test_health_turns_degraded_under_a_resource_alarm(mqlite_server_factory) -> None:
    server = mqlite_server_factory(amqp_memory_limit=1)  # any process is over one byte
    status, body = get(server.endpoint_url + "/_mqlite/health")
    assert status == 200
    assert body["status"] == "degraded"
    assert body["reasons"][0].startswith("low on memory: resident ")
