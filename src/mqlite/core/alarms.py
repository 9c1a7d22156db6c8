"""Storage failures seen by front-ends, turned into the broker's disk alarm.

Owns `storage_failure(exc) -> reason | None` (is this exception, or its cause, a
storage failure: ENOSPC/EDQUOT/EIO/EROFS from a log, or SQLite's "database or disk is
full" from the catalog?) and `note_failure(core, exc)`, which a front-end calls with an
exception from a write: for a storage failure it raises the disk alarm of the core's
`ResourceMonitor` (`core/resources.py`: logged once, shown by `/_mqlite/health` as
`degraded`, AMQP publishers blocked, cleared by itself when space returns) and returns
the reason, so the front-end answers with its protocol's error: Kafka
KAFKA_STORAGE_ERROR, AWS 503 ServiceUnavailable, Redis MISCONF, AMQP RESOURCE_ERROR.

Concurrency: called on the server's loop.
"""

from __future__ import annotations

import errno
import sqlite3
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.core.broker import BrokerCore

_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EIO, errno.EROFS}


def storage_failure(exc: BaseException | None) -> str | None:
    """A one-line reason when `exc` (or what caused it) is a storage failure; else None."""
    seen = 0
    while exc is not None and seen < 8:
        if getattr(exc, "errno", None) in _STORAGE_ERRNOS:
            return f"{getattr(exc, 'message', None) or exc}"
        if isinstance(exc, sqlite3.OperationalError | sqlite3.DatabaseError):
            text = str(exc)
            if "full" in text or "disk I/O" in text or "readonly" in text:
                return f"catalog: {text}"
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return None


def note_failure(core: BrokerCore, exc: BaseException) -> str | None:
    """Raise the disk alarm when `exc` is a storage failure; return its reason (or None)."""
    reason = storage_failure(exc)
    if reason is not None:
        resources = getattr(core, "resources", None)
        if resources is not None:
            resources.report_failure(reason)
    return reason
