"""The server process: listeners, health endpoint, CLI lifecycle, data-dir locking."""

from __future__ import annotations

import json
import signal
import socket
import urllib.request
from pathlib import Path

import pytest

import mqlite
from mqlite.testing import ServerHandle, spawn_server


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("application/json")
        return json.loads(response.read())


def test_health_reports_version_uptime_and_data_dir(mqlite_server: ServerHandle) -> None:
    body = get_json(mqlite_server.endpoint_url + "/_mqlite/health")
    assert body["status"] == "ok"
    assert body["version"] == mqlite.__version__
    assert body["uptime_seconds"] >= 0
    assert body["data_dir"] == str(Path(mqlite_server.data_dir).resolve())
    assert body["memory"] is False


def test_memory_mode_has_no_data_directory(mqlite_server_factory) -> None:
    server = mqlite_server_factory(data_dir=None)
    body = get_json(server.endpoint_url + "/_mqlite/health")
    assert body["memory"] is True and body["data_dir"] is None


def test_restart_comes_back_on_the_same_ports(mqlite_server: ServerHandle) -> None:
    before = dict(mqlite_server.server.ports)
    mqlite_server.restart()
    assert mqlite_server.server.ports == before
    assert get_json(mqlite_server.endpoint_url + "/_mqlite/health")["status"] == "ok"


def test_serve_logs_every_address_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc = spawn_server(tmp_path / "data")
    try:
        assert "http" in proc.ports
        body = get_json(f"http://127.0.0.1:{proc.ports['http']}/_mqlite/health")
        assert body["status"] == "ok"
        for port in proc.ports.values():
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass  # every advertised port accepts connections
        proc.process.send_signal(signal.SIGTERM)
        assert proc.process.wait(timeout=20) == 0
    finally:
        proc.stop()
    proc.process.stdout  # noqa: B018 - output is in the temp log
    assert any("listening on" in line for line in proc.log_lines)


def test_second_process_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    """A data directory is held by one process (lock file); a second gets a clear error."""
    first = spawn_server(tmp_path / "data")
    try:
        with pytest.raises(RuntimeError, match="(?i)lock|in use|held"):
            spawn_server(tmp_path / "data")
    finally:
        first.stop()


def test_disabled_front_ends_do_not_listen(tmp_path: Path) -> None:
    proc = spawn_server(None, "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off", "--mqtt-port", "off",
                         "--stomp-port", "off")
    try:
        assert set(proc.ports) == {"http"}
    finally:
        proc.stop()


def test_metrics_expose_queue_depths_and_stream_offsets(mqlite_server: ServerHandle) -> None:
    """/_mqlite/metrics speaks Prometheus text format with the core's gauges."""

    async def populate() -> None:
        core = mqlite_server.core
        queue = core.queue("metered")
        await queue.send(b"one")
        await queue.send(b"two")
        stream = core.stream("clicks", partitions=2)
        await stream.append(b"x", partition=1)

    mqlite_server.call(populate)
    with urllib.request.urlopen(mqlite_server.endpoint_url + "/_mqlite/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain")
        text = r.read().decode()
    assert 'mqlite_queue_messages{queue="metered",state="visible"} 2.0' in text
    assert 'mqlite_stream_end_offset{partition="1",stream="clicks"} 1.0' in text
    assert "process_cpu_seconds_total" in text
