"""Signals caught from the first moment of `mqlite serve`, before the event loop runs.

The CLI makes an `EarlySignals` before it parses anything, so a SIGTERM during imports,
option parsing or recovery is recorded rather than killing the process half-way; the
server's loop installs its own handlers once it runs and acts on what was recorded.
(uvloop drops a signal that arrives between `add_signal_handler` and the loop running,
which is why the loop's handlers are installed from inside it.) Imports nothing heavy.
"""

from __future__ import annotations

import signal
from typing import Any


class EarlySignals:
    """Records SIGTERM/SIGINT until the running loop installs its own handlers."""

    def __init__(self) -> None:
        self.received: int | None = None
        self._previous = {signum: signal.signal(signum, self._record) for signum in (signal.SIGTERM, signal.SIGINT)}

    def restore(self) -> None:
        """Put back the handlers that were there before."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)

    def _record(self, signum: int, frame: Any) -> None:
        self.received = signum
