"""INFO as redis-py, redis-cli and monitoring agents read it: every section, true counters,
one Redis version in INFO and HELLO (Redis's `INFO` documentation lists the fields)."""

from __future__ import annotations

import shutil
import subprocess
from typing import Any

import pytest
import redis

DEFAULT = ("server", "clients", "memory", "persistence", "stats", "replication", "cpu",
           "modules", "errorstats", "cluster", "keyspace")


def _headers(raw: str) -> list[str]:
    return [line[2:].strip().lower() for line in raw.splitlines() if line.startswith("# ")]


def test_default_info_has_every_section_redis_lists(r: redis.Redis) -> None:
    conn = r.connection_pool.get_connection()
    try:
        conn.send_command("INFO")  # read without redis-py's INFO parser, which drops headers
        raw = conn.read_response()
    finally:
        r.connection_pool.release(conn)
    text = raw.decode() if isinstance(raw, bytes) else str(raw)
    assert _headers(text) == list(DEFAULT)
    info = r.info()
    # the fields redis-py's own conftest and monitoring agents read
    for field in ("redis_version", "arch_bits", "cluster_enabled", "run_id", "tcp_port", "uptime_in_seconds",
                  "connected_clients", "blocked_clients", "maxclients", "used_memory", "used_memory_rss",
                  "used_memory_peak", "maxmemory_policy", "mem_fragmentation_ratio", "loading",
                  "rdb_changes_since_last_save", "aof_enabled", "total_connections_received",
                  "total_commands_processed", "instantaneous_ops_per_sec", "total_net_input_bytes",
                  "rejected_connections", "expired_keys", "evicted_keys", "keyspace_hits", "pubsub_channels",
                  "role", "connected_slaves", "master_repl_offset", "used_cpu_sys", "used_cpu_user"):
        assert field in info, field
    assert info["cluster_enabled"] == 0 and info["role"] == "master" and info["arch_bits"] == 64
    assert info["used_memory"] > 0


def test_info_version_is_the_hello_version(r: redis.Redis) -> None:
    hello = r.execute_command("HELLO", "3")
    version = hello.get("version", hello.get(b"version"))
    version = version.decode() if isinstance(version, bytes) else version
    assert r.info("server")["redis_version"] == version


def test_info_counters_follow_what_clients_do(r: redis.Redis) -> None:
    before = r.info("stats")
    r.xadd("counted", {"a": 1})
    r.xadd("counted", {"a": 2})
    with pytest.raises(redis.ResponseError):
        r.execute_command("XADD", "counted", "bad-id", "a", "1")
    with pytest.raises(redis.ResponseError):
        r.execute_command("NOSUCHCOMMAND")
    after = r.info("stats")
    assert after["total_commands_processed"] >= before["total_commands_processed"] + 4
    assert after["total_net_input_bytes"] > before["total_net_input_bytes"]
    assert after["total_error_replies"] == before["total_error_replies"] + 2
    cmd = r.info("commandstats")
    assert cmd["cmdstat_xadd"]["calls"] == 3 and cmd["cmdstat_xadd"]["failed_calls"] == 1
    assert r.info("errorstats")["errorstat_ERR"]["count"] >= 2
    assert r.info("keyspace")["db0"]["keys"] == 1
    assert "cmdstat_xadd" in r.info("all") and "cmdstat_xadd" not in r.info()


def test_info_clients_counts_subscribers_and_blocked_readers(r: redis.Redis, resp_server: Any) -> None:
    sub = redis.Redis(port=resp_server.redis_port).pubsub()
    sub.subscribe("news")
    sub.get_message(timeout=5)
    try:
        clients = r.info("clients")
        assert clients["pubsub_clients"] == 1 and clients["connected_clients"] >= 2
        assert r.info("stats")["pubsub_channels"] == 1
    finally:
        sub.close()


def test_config_resetstat_zeroes_the_counters(r: redis.Redis) -> None:
    r.xadd("s", {"a": 1})
    assert r.config_resetstat()
    assert "cmdstat_xadd" not in r.info("commandstats")
    assert r.info("stats")["total_error_replies"] == 0


@pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-cli not installed")
def test_redis_cli_info_and_stat_read_mqlite(resp_server: Any) -> None:
    port = str(resp_server.redis_port)
    out = subprocess.run(["redis-cli", "-p", port, "INFO", "cluster"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert "cluster_enabled:0" in out
    out = subprocess.run(["redis-cli", "-p", port, "INFO", "server"], capture_output=True, text=True,
                         timeout=30, check=True).stdout
    assert "redis_mode:standalone" in out and f"tcp_port:{port}" in out
