"""What `/_mqlite/health` reports: starting, ready, degraded or stopping, per listener.

The server moves one `Readiness` through its life: every enabled listener is
`starting` until it accepts connections, the core is `recovering` until its data is
open, and only then is the whole `ready` (HTTP 200). Before that, and while stopping,
health answers 503 with what is still pending, so a load balancer, a compose
`depends_on: service_healthy` or a CI wait loop never sends work too early. Once ready,
resource alarms (core/resources.py) turn the status `degraded`, with their reasons,
still 200: the broker serves, but an operator should look.

Concurrency: the server's event loop only.
"""

from __future__ import annotations

import time
from typing import Any

STARTING, READY, STOPPING = "starting", "ready", "stopping"


class Readiness:
    """See module docstring."""

    def __init__(self, host: str, enabled: dict[str, int]) -> None:
        self.host = host
        self.phase = STARTING
        self.started = time.monotonic()
        self.core_open = False
        self.listeners: dict[str, dict[str, Any]] = {
            name: {"state": STARTING, "address": f"{host}:{port}" if port else None}
            for name, port in enabled.items()
        }
        self.resources: Any = None  # the core's ResourceMonitor, once the core is open

    def listener_ready(self, name: str, port: int) -> None:
        self.listeners[name] = {"state": READY, "address": f"{self.host}:{port}"}

    def pending(self) -> list[str]:
        waiting = [] if self.core_open else ["recovery"]
        return waiting + [name for name, info in self.listeners.items() if info["state"] != READY]

    def report(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, body) for the health endpoint."""
        body: dict[str, Any] = {"listeners": {name: dict(info) for name, info in self.listeners.items()}}
        if self.phase == STOPPING:
            return 503, {"status": STOPPING, **body}
        pending = self.pending()
        if self.phase != READY or pending:
            return 503, {"status": STARTING, "starting": pending, **body}
        reasons = list(self.resources.reasons) if self.resources is not None else []
        if reasons:
            return 200, {"status": "degraded", "reasons": reasons, **body}
        return 200, {"status": "ok", **body}
