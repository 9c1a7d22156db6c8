"""The one request hook every front-end calls where it dispatches a request: counts it
in `core.telemetry` (for `/_mqlite/metrics`) and writes the request log line.

`Observer(core, settings)` per front-end; `observer.done(protocol, action, entity,
peer, error, started)` after each request, `started` from `time.perf_counter()`.
`error` is None on success, else the protocol's own code (an AWS error code, a Kafka
error name, an AMQP reply code, a Redis error prefix). A line is logged per request
with `--log-requests` or at `--log-level debug`; a request slower than
`--slow-request-ms` is logged at info regardless, except actions that wait by design
(`WAITS`: long polls, blocking reads, group joins).
"""

from __future__ import annotations

import logging
import time
from bisect import bisect_left
from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.settings import Settings
from mqlite.storage.histogram import Histogram

log = logging.getLogger("mqlite.requests")
_clock = time.perf_counter

#: Actions whose duration includes waiting for messages or members: never "slow".
WAITS = frozenset({
    "ReceiveMessage", "SubscribeToShard", "Fetch", "JoinGroup", "SyncGroup", "Heartbeat",
    "XREAD", "XREADGROUP", "BLPOP", "BRPOP", "BLMOVE", "BRPOPLPUSH", "BZPOPMIN", "BZPOPMAX",
    "BLMPOP", "BZMPOP", "WAIT", "basic.consume",
})


class Observer:
    """Counts and logs requests for one front-end; see module docstring."""

    __slots__ = ("_errors", "_every", "_latency", "_level", "_slow")

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self._latency = core.telemetry.latency
        self._errors = core.telemetry.errors
        asked = bool(getattr(settings, "log_requests", False))
        self._every = asked or log.isEnabledFor(logging.DEBUG)
        self._level = logging.INFO if asked else logging.DEBUG
        slow_ms = getattr(settings, "slow_request_ms", 0) or 0
        self._slow = slow_ms / 1000.0 if slow_ms > 0 else float("inf")

    def done(self, protocol: str, action: str, entity: Any, peer: Any,
             error: str | None, started: float) -> None:
        seconds = _clock() - started
        # Telemetry.request, inlined: this runs once per request on every front-end
        key = (protocol, action)
        hist = self._latency.get(key)
        if hist is None:
            hist = self._latency[key] = Histogram()
        hist.counts[bisect_left(hist.bounds, seconds)] += 1
        hist.sum += seconds
        if error is not None:
            ekey = (protocol, action, error)
            self._errors[ekey] = self._errors.get(ekey, 0) + 1
        if seconds >= self._slow and action not in WAITS:
            _log(logging.INFO, "slow request: ", protocol, action, entity, peer, error, seconds)
        elif self._every:
            _log(self._level, "", protocol, action, entity, peer, error, seconds)

    @property
    def logs_every(self) -> bool:
        """Whether every request is logged (then a front-end must call `done` per request)."""
        return self._every

    def many(self, protocol: str, action: str, n: int, seconds_each: float) -> None:
        """Count `n` successful requests that took `seconds_each` on average: for a
        pipeline of requests too cheap to time one by one (Redis PUBLISH); an upper
        bound, as the mean includes the other commands of the same run."""
        key = (protocol, action)
        hist = self._latency.get(key)
        if hist is None:
            hist = self._latency[key] = Histogram()
        hist.counts[bisect_left(hist.bounds, seconds_each)] += n
        hist.sum += seconds_each * n


#: Request parameters naming the entity, in the order looked for (AWS front-ends pass
#: their decoded parameters; the name is only extracted when a line is logged).
ENTITY_PARAMS = ("QueueUrl", "QueueName", "TopicArn", "StreamName", "StreamARN",
                 "DeliveryStreamName", "EventBusName", "Name", "TargetArn", "SubscriptionArn")


def entity_name(entity: Any) -> str | None:
    """The entity a request names: a string as given, or found in a parameter mapping."""
    if entity is None or isinstance(entity, str):
        return entity
    if callable(entity):  # computed only when a line is logged
        return entity_name(entity())
    if isinstance(entity, list):  # a Redis command's argv: its first argument
        first = entity[1] if len(entity) > 1 else None
        return first.decode(errors="replace") if isinstance(first, bytes) else None
    if isinstance(entity, dict):
        for key in ENTITY_PARAMS:
            value = entity.get(key)
            if isinstance(value, str) and value:
                return value.rstrip("/").rsplit("/", 1)[-1].rsplit(":", 1)[-1]
        return None
    return str(entity)


def _log(level: int, prefix: str, protocol: str, action: str, entity: Any, peer: Any,
         error: str | None, seconds: float) -> None:
    entity = entity_name(entity)
    if callable(peer):
        peer = peer()
    client = f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) and len(peer) >= 2 else str(peer or "-")
    fields = {"protocol": protocol, "client": client, "action": action, "entity": entity,
              "status": error or "ok", "duration_ms": round(seconds * 1000, 3)}
    log.log(level, "%s%s %s %s %s %s %.3fms", prefix, protocol, client, action, entity or "-",
            error or "ok", seconds * 1000, extra={"request": fields})
