"""What the connections of one Redis listener share: the stream store, the pub/sub
hub, clients by id, CONFIG values, INFO's counters, and the AUTH users.

Owns INFO's statistics (`reset_stats`, `count_error`, `sample_rates`) and the pub/sub
output-buffer limits CONFIG SET changes. The dispatcher (server.py) bumps the counters.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import resource
import secrets
import time
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.protocols.observe import Observer
from mqlite.protocols.resp import codec
from mqlite.protocols.resp.pubsub_hub import PubSubHub
from mqlite.protocols.resp.store import StreamStore
from mqlite.security.authz import authorizer_for
from mqlite.security.users import Users
from mqlite.settings import Settings


class ServerState:
    """What the connections of one listener share."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self.core = core
        self.clock = core.clock
        self.settings = settings
        self.observer = Observer(core, settings)
        # XADD and group-changing commands reply once their write is in the log / the
        # catalog: durable under `--fsync always` (Redis's `appendfsync always`), in the
        # page cache otherwise (Redis writes its AOF before replying, so a killed
        # process loses nothing acknowledged; a power cut loses at most the interval)
        self.durable_replies = True
        self.store = StreamStore(core, str(settings.fsync))
        self.pubsub = PubSubHub(core)
        self.channels = core.channels
        self.clients: dict[int, Any] = {}  # client id -> RespConnection
        self.next_id = 1
        self.started = time.time()
        self.config: dict[str, str] = {
            "client-output-buffer-limit": (
                f"normal 0 0 0 slave 268435456 67108864 60 pubsub {settings.redis_pubsub_buffer_bytes} 8388608 60"
            ),
            "proto-max-bulk-len": str(codec.PROTO_MAX_BULK_LEN),
        }
        self.pubsub_limit = settings.redis_pubsub_buffer_bytes  # hard limit
        self.pubsub_soft_limit = 8 * 1024 * 1024  # Redis's default `pubsub 32mb 8mb 60`
        self.pubsub_soft_seconds = 60.0
        self.run_id = secrets.token_hex(20)  # INFO's run_id / master_replid
        self.startup_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        self.reset_stats()
        # AUTH users: every configured user (mqlite.security.users; `--redis-password`
        # is user `default`). With none, no authentication is required (Redis's
        # `nopass` default user); with some, `default` without a password is disabled.
        self.users: dict[str, str] = Users.from_settings(settings).secrets()
        self.auth_required = bool(self.users)
        self.authz = authorizer_for(core, settings)  # the one rule set of every protocol

    def reset_stats(self) -> None:
        """Zero INFO's counters (start, CONFIG RESETSTAT)."""
        self.stats = {"connections": 0, "rejected": 0, "cut_off": 0, "auth_denied": 0}
        self.commands = 0  # total commands processed (INFO stats)
        self.net_in = self.net_out = self.reads = self.writes = 0
        #: INFO commandstats: command -> [calls, usec, rejected_calls, failed_calls]
        self.cmdstats: dict[bytes, list[int]] = {}
        self.errorstats: dict[str, int] = {}  # INFO errorstats: error code -> replies
        self._sample = (time.time(), 0, 0, 0)

    def count_error(self, reply: str, cmd: bytes | None, rejected: bool) -> None:
        """One error reply: errorstats by its code, and the command's failed/rejected calls."""
        code = reply.split(" ", 1)[0] or "ERR"
        self.errorstats[code] = self.errorstats.get(code, 0) + 1
        if cmd is not None:
            st = self.cmdstats.get(cmd)
            if st is None:
                st = self.cmdstats[cmd] = [0, 0, 0, 0]
            st[2 if rejected else 3] += 1

    def sample_rates(self, now: float) -> tuple[int, float, float]:
        """Ops/s and input/output KB/s since the previous INFO (Redis samples every 100 ms)."""
        t0, c0, i0, o0 = self._sample
        self._sample = (now, self.commands, self.net_in, self.net_out)
        dt = now - t0
        if dt <= 0:
            return 0, 0.0, 0.0
        return int((self.commands - c0) / dt), (self.net_in - i0) / dt / 1024, (self.net_out - o0) / dt / 1024

    def set_output_limit(self, value: str) -> None:
        """`CONFIG SET client-output-buffer-limit "<class> <hard> <soft> <seconds> ..."`:
        the pubsub class applies (hard: cut at once; soft: cut after <seconds> over)."""
        parts = value.split()
        if len(parts) % 4:
            raise ValueError(value)
        for i in range(0, len(parts), 4):
            if parts[i].lower() == "pubsub":
                self.pubsub_limit = _memsize(parts[i + 1])
                self.pubsub_soft_limit = _memsize(parts[i + 2])
                self.pubsub_soft_seconds = float(int(parts[i + 3]))
        self.config["client-output-buffer-limit"] = value


def _memsize(text: str) -> int:
    t = text.lower()
    for suffix, mult in (("gb", 1 << 30), ("mb", 1 << 20), ("kb", 1 << 10), ("g", 10**9), ("m", 10**6), ("k", 1000), ("b", 1)):
        if t.endswith(suffix):
            return int(t[: -len(suffix)]) * mult
    return int(t)
