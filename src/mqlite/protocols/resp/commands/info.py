"""INFO [section ...]: Redis's server report, section by section, with mqlite's own numbers.

Sections and fields follow Redis 7.4's `INFO` (`genRedisInfoString`) as redis-py,
redis-cli and monitoring agents (redis_exporter, Datadog, Telegraf) read them: server,
clients, memory, persistence, stats, replication, cpu, modules, errorstats, cluster,
keyspace by default; `all` adds commandstats; `everything` is `all`. A field holds a true
value where mqlite has one (connections, commands, bytes in and out, error replies,
pub/sub counts, memory and CPU of the process, keys); fields of features mqlite does
not have hold what Redis shows when the feature is unused (no replicas, no RDB child,
no evictions, no expiring keys). Unknown sections give nothing, as in Redis.
State read: the listener's `ServerState` (counters kept by the dispatcher) and the store.
"""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from typing import Any

from mqlite.protocols.resp.codec import Verbatim
from mqlite.protocols.resp.commands import command, text
from mqlite.protocols.resp.commands.connection import REDIS_VERSION

DEFAULT_SECTIONS = (
    "server", "clients", "memory", "persistence", "stats", "replication", "cpu", "modules",
    "errorstats", "cluster", "keyspace",
)
ALL_SECTIONS = (*DEFAULT_SECTIONS[:-3], "commandstats", *DEFAULT_SECTIONS[-3:])
_TITLES = {"cpu": "CPU", "errorstats": "Errorstats", "commandstats": "Commandstats"}
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _human(n: float) -> str:
    """Redis's `bytesToHuman`: 1.50K, 2.00M, ..."""
    for unit, size in (("P", 1 << 50), ("T", 1 << 40), ("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return f"{int(n)}B"


def _rss() -> int:
    """Resident set size now (Linux's /proc/self/statm), else the peak."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, IndexError, ValueError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _server(conn: Any, now: float) -> list[tuple[str, Any]]:
    state = conn.state
    port = conn.sockname[1] if conn.sockname else 0
    bind = conn.sockname[0] if conn.sockname else "127.0.0.1"
    up = int(now - state.started)
    return [
        ("redis_version", REDIS_VERSION), ("redis_git_sha1", "00000000"), ("redis_git_dirty", 0),
        ("redis_build_id", state.run_id[:16]), ("redis_mode", "standalone"),
        ("os", f"{platform.system()} {platform.release()} {platform.machine()}"),
        ("arch_bits", 64 if sys.maxsize > 2**32 else 32),
        ("monotonic_clock", "POSIX clock_gettime"),
        ("multiplexing_api", "epoll" if sys.platform.startswith("linux") else "kqueue"),
        ("process_id", os.getpid()), ("process_supervised", "no"), ("run_id", state.run_id),
        ("tcp_port", port), ("server_time_usec", int(now * 1_000_000)),
        ("uptime_in_seconds", up), ("uptime_in_days", up // 86400), ("hz", 10), ("configured_hz", 10),
        ("lru_clock", int(now) & ((1 << 24) - 1)), ("executable", sys.executable), ("config_file", ""),
        ("io_threads_active", 0), ("listener0", f"name=tcp,bind={bind},port={port}"),
        ("mqlite_python_version", platform.python_version()),
    ]


def _clients(conn: Any) -> list[tuple[str, Any]]:
    clients = list(conn.state.clients.values())
    watched = [c for c in clients if c.watched]
    return [
        ("connected_clients", len(clients)), ("cluster_connections", 0), ("maxclients", 10000),
        ("client_recent_max_input_buffer", max((c.parser.buffered for c in clients), default=0)),
        ("client_recent_max_output_buffer", max((c.write_buffer_size for c in clients), default=0)),
        ("blocked_clients", sum(1 for c in clients if c.busy)), ("tracking_clients", 0),
        ("pubsub_clients", sum(1 for c in clients if c.subscriptions)),
        ("watching_clients", len(watched)), ("clients_in_timeout_table", sum(1 for c in clients if c.busy)),
        ("total_watched_keys", sum(len(c.watched) for c in watched)),
        ("total_blocking_keys", len(conn.state.store.waiting)), ("total_blocking_keys_on_nokey", 0),
    ]


def _memory(conn: Any) -> list[tuple[str, Any]]:
    rss = _rss()
    peak = max(rss, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    total = os.sysconf("SC_PHYS_PAGES") * _PAGE if hasattr(os, "sysconf") else 0
    out_bufs = sum(c.write_buffer_size for c in conn.state.clients.values())
    return [
        ("used_memory", rss), ("used_memory_human", _human(rss)),
        ("used_memory_rss", rss), ("used_memory_rss_human", _human(rss)),
        ("used_memory_peak", peak), ("used_memory_peak_human", _human(peak)),
        ("used_memory_peak_perc", f"{100.0 * rss / peak:.2f}%" if peak else "100.00%"),
        ("used_memory_overhead", out_bufs), ("used_memory_startup", conn.state.startup_rss),
        ("used_memory_dataset", max(0, rss - out_bufs)),
        ("total_system_memory", total), ("total_system_memory_human", _human(total)),
        ("used_memory_lua", 0), ("used_memory_vm_eval", 0), ("used_memory_scripts", 0),
        ("maxmemory", 0), ("maxmemory_human", "0B"), ("maxmemory_policy", "noeviction"),
        ("mem_fragmentation_ratio", "1.00"), ("mem_fragmentation_bytes", 0),
        ("mem_not_counted_for_evict", 0), ("mem_replication_backlog", 0),
        ("mem_clients_slaves", 0), ("mem_clients_normal", out_bufs), ("mem_aof_buffer", 0),
        ("mem_allocator", "libc"), ("active_defrag_running", 0), ("lazyfree_pending_objects", 0),
        ("lazyfreed_objects", 0),
    ]


def _persistence(conn: Any) -> list[tuple[str, Any]]:
    # The log is mqlite's AOF: always on, never rewritten by a child process.
    state = conn.state
    return [
        ("loading", 0), ("async_loading", 0), ("current_cow_peak", 0), ("current_cow_size", 0),
        ("current_fork_perc", "0.00"), ("current_save_keys_processed", 0), ("current_save_keys_total", 0),
        ("rdb_changes_since_last_save", 0), ("rdb_bgsave_in_progress", 0),
        ("rdb_last_save_time", int(state.started)), ("rdb_last_bgsave_status", "ok"),
        ("rdb_last_bgsave_time_sec", -1), ("rdb_current_bgsave_time_sec", -1), ("rdb_saves", 0),
        ("rdb_last_cow_size", 0), ("rdb_last_load_keys_expired", 0),
        ("rdb_last_load_keys_loaded", len(state.store.names()) if state.store else 0),
        ("aof_enabled", 1), ("aof_rewrite_in_progress", 0), ("aof_rewrite_scheduled", 0),
        ("aof_last_rewrite_time_sec", -1), ("aof_current_rewrite_time_sec", -1),
        ("aof_last_bgrewrite_status", "ok"), ("aof_rewrites", 0), ("aof_rewrites_consecutive_failures", 0),
        ("aof_last_write_status", "ok"), ("aof_last_cow_size", 0),
        ("module_fork_in_progress", 0), ("module_fork_last_cow_size", 0),
    ]


def _stats(conn: Any, now: float) -> list[tuple[str, Any]]:
    state = conn.state
    ops, kin, kout = state.sample_rates(now)
    pubsub = state.pubsub
    return [
        ("total_connections_received", state.stats["connections"]),
        ("total_commands_processed", state.commands), ("instantaneous_ops_per_sec", ops),
        ("total_net_input_bytes", state.net_in), ("total_net_output_bytes", state.net_out),
        ("total_net_repl_input_bytes", 0), ("total_net_repl_output_bytes", 0),
        ("instantaneous_input_kbps", f"{kin:.2f}"), ("instantaneous_output_kbps", f"{kout:.2f}"),
        ("instantaneous_input_repl_kbps", "0.00"), ("instantaneous_output_repl_kbps", "0.00"),
        ("rejected_connections", 0), ("sync_full", 0), ("sync_partial_ok", 0), ("sync_partial_err", 0),
        ("expired_keys", 0), ("expired_stale_perc", "0.00"), ("expired_time_cap_reached_count", 0),
        ("expire_cycle_cpu_milliseconds", 0), ("evicted_keys", 0), ("evicted_clients", 0),
        ("total_eviction_exceeded_time", 0), ("current_eviction_exceeded_time", 0),
        ("keyspace_hits", 0), ("keyspace_misses", 0),
        ("pubsub_channels", len(pubsub.active_channels())), ("pubsub_patterns", pubsub.numpat()),
        ("pubsubshard_channels", len(pubsub.active_channels(shard=True))),
        ("latest_fork_usec", 0), ("total_forks", 0), ("migrate_cached_sockets", 0),
        ("slave_expires_tracked_keys", 0), ("active_defrag_hits", 0), ("active_defrag_misses", 0),
        ("active_defrag_key_hits", 0), ("active_defrag_key_misses", 0),
        ("total_active_defrag_time", 0), ("current_active_defrag_time", 0),
        ("tracking_total_keys", 0), ("tracking_total_items", 0), ("tracking_total_prefixes", 0),
        ("unexpected_error_replies", 0), ("total_error_replies", sum(state.errorstats.values())),
        ("dump_payload_sanitizations", 0), ("total_reads_processed", state.reads),
        ("total_writes_processed", state.writes), ("io_threaded_reads_processed", 0),
        ("io_threaded_writes_processed", 0), ("client_query_buffer_limit_disconnections", 0),
        ("client_output_buffer_limit_disconnections", state.stats["cut_off"]),
        ("reply_buffer_shrinks", 0), ("reply_buffer_expands", 0),
        ("acl_access_denied_auth", state.stats["auth_denied"]), ("acl_access_denied_cmd", 0),
        ("acl_access_denied_key", 0), ("acl_access_denied_channel", 0),
    ]


def _replication(conn: Any) -> list[tuple[str, Any]]:
    return [
        ("role", "master"), ("connected_slaves", 0), ("master_failover_state", "no-failover"),
        ("master_replid", conn.state.run_id), ("master_replid2", "0" * 40),
        ("master_repl_offset", 0), ("second_repl_offset", -1), ("repl_backlog_active", 0),
        ("repl_backlog_size", 1048576), ("repl_backlog_first_byte_offset", 0), ("repl_backlog_histlen", 0),
    ]


def _cpu() -> list[tuple[str, Any]]:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    main = resource.getrusage(getattr(resource, "RUSAGE_THREAD", resource.RUSAGE_SELF))  # INFO runs on the loop thread
    return [
        ("used_cpu_sys", f"{me.ru_stime:.6f}"), ("used_cpu_user", f"{me.ru_utime:.6f}"),
        ("used_cpu_sys_children", f"{kids.ru_stime:.6f}"), ("used_cpu_user_children", f"{kids.ru_utime:.6f}"),
        ("used_cpu_sys_main_thread", f"{main.ru_stime:.6f}"), ("used_cpu_user_main_thread", f"{main.ru_utime:.6f}"),
    ]


def _commandstats(conn: Any) -> list[tuple[str, Any]]:
    out = []
    for name, (calls, usec, rejected, failed) in sorted(conn.state.cmdstats.items()):
        per = usec / calls if calls else 0.0
        out.append((f"cmdstat_{text(name)}",
                    f"calls={calls},usec={usec},usec_per_call={per:.2f},rejected_calls={rejected},failed_calls={failed}"))
    return out


def _keyspace(conn: Any) -> list[tuple[str, Any]]:
    n = len(conn.state.store.names())
    return [("db0", f"keys={n},expires=0,avg_ttl=0,subexpiry=0")] if n else []


def _section(conn: Any, name: str, now: float) -> list[tuple[str, Any]]:
    if name == "server":
        return _server(conn, now)
    if name == "clients":
        return _clients(conn)
    if name == "memory":
        return _memory(conn)
    if name == "persistence":
        return _persistence(conn)
    if name == "stats":
        return _stats(conn, now)
    if name == "replication":
        return _replication(conn)
    if name == "cpu":
        return _cpu()
    if name == "errorstats":
        return [(f"errorstat_{k}", f"count={v}") for k, v in sorted(conn.state.errorstats.items())]
    if name == "commandstats":
        return _commandstats(conn)
    if name == "cluster":
        return [("cluster_enabled", 0)]
    if name == "keyspace":
        return _keyspace(conn)
    return []  # modules: none loaded


def info_text(conn: Any, sections: list[str]) -> str:
    """The INFO report for these section names (lowercase; empty = default)."""
    wanted: list[str] = []
    for s in sections or ["default"]:
        group = (DEFAULT_SECTIONS if s == "default" else ALL_SECTIONS if s in ("all", "everything")
                 else (s,) if s in ALL_SECTIONS else ())
        wanted.extend(g for g in group if g not in wanted)
    now = time.time()
    parts = []
    for name in wanted:
        fields = _section(conn, name, now)
        title = _TITLES.get(name, name.capitalize())
        parts.append(f"# {title}\r\n" + "".join(f"{k}:{v}\r\n" for k, v in fields))
    return "\r\n".join(parts)


@command("info", -1, group="server")
def info(conn: Any, argv: list[bytes]) -> Any:
    """INFO [section ...]: server, clients, memory, persistence, stats, replication, cpu..."""
    return Verbatim(info_text(conn, [text(a).lower() for a in argv[1:]]).encode("utf-8", "surrogateescape"))
