"""The delayed-message exchange (`x-delayed-message`), as RabbitMQ's plugin serves it.

An exchange of type `x-delayed-message` routes like its `x-delayed-type` (direct,
fanout, topic, headers), but a message whose `x-delay` header is a delay in ms
(0 < delay <= 4294967295) is held and routed after that delay, with `x-delay` then set
to minus the delay (so a downstream delayed exchange does not delay it again). Rules
and texts are the plugin's (`rabbit_exchange_type_delayed_message`,
`rabbit_delayed_message_utils`):

- no `x-delayed-type`, or not a string: 406 `Invalid argument, 'x-delayed-type' must be
  an existing exchange type`; `x-delayed-message` itself: 406 `Invalid argument,
  'x-delayed-message' can't be used for 'x-delayed-type'`; an unknown type: 503
  `unknown exchange type '<t>'` (as any unknown exchange type);
- `x-delay`: an integer type is the delay; a string is parsed as an integer (one that is
  not an integer crashes the plugin: 541 INTERNAL_ERROR closes the connection); a
  float or decimal is truncated; any other type (bool, table...) means no delay.

Held messages are durable: each is written to the catalog before the publish is
confirmed and removed once routed, and a restart reschedules them. A held message
counts as routed (no Basic.Return), as the plugin's confirm does.
Concurrency: the server's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import decimal
import itertools
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

from mqlite.core.api import Catalog
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.entities import EXCHANGE_TYPES

log = logging.getLogger("mqlite.amqp")

TYPE = "x-delayed-message"
MAX_DELAY_MS = 4294967295  # the plugin's limit (Erlang's largest timer)
NS_DELAYED = "amqp/delayed"
_INT_TEXT = re.compile(r"^[+-]?[0-9]+$")


def routing_type(kind: str, arguments: dict[str, Any]) -> str:
    """The core router kind of an exchange (a delayed exchange routes as its x-delayed-type);
    raises the plugin's errors for a bad x-delayed-type."""
    if kind != TYPE:
        return kind
    value = arguments.get("x-delayed-type")
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if value == TYPE:
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - Invalid argument, "
                          "'x-delayed-message' can't be used for 'x-delayed-type'", 40, 10)
    if not isinstance(value, str):
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - Invalid argument, "
                          "'x-delayed-type' must be an existing exchange type", 40, 10)
    if value not in EXCHANGE_TYPES:
        raise E.AmqpError(E.COMMAND_INVALID, f"COMMAND_INVALID - unknown exchange type '{value}'", 40, 10)
    return value


def delay_of(headers: dict[str, Any] | None) -> int | None:
    """The delay to hold a message for (ms), or None to route it now."""
    if not headers or "x-delay" not in headers:
        return None
    value = headers["x-delay"]
    if isinstance(value, bytes | bytearray):
        value = bytes(value).decode("utf-8", "replace")
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        if not _INT_TEXT.match(value):  # binary_to_integer fails: the plugin crashes
            raise E.AmqpError(E.INTERNAL_ERROR, "INTERNAL_ERROR", 60, 40, hard=True)
        delay = int(value)
    elif isinstance(value, int):
        delay = value
    elif isinstance(value, float | decimal.Decimal):
        delay = int(value)
    else:
        return None
    return delay if 0 < delay <= MAX_DELAY_MS else None


Publish = Callable[[str, str, str, bytes, bytes], Awaitable[Any]]


class DelayedMessages:
    """Held messages of every delayed exchange: catalog rows + one timer each."""

    def __init__(self, catalog: Catalog | None, publish: Publish) -> None:
        self.catalog = catalog
        self.publish = publish  # (vhost, exchange, routing_key, raw_props, body) -> routed
        self.memory: dict[str, dict[str, Any]] = {}  # without a catalog (embedded tests)
        self._seq = itertools.count()
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def hold(self, vhost: str, exchange: str, routing_key: str, raw: bytes, body: bytes, delay_ms: int) -> None:
        due = int(time.time() * 1000) + delay_ms
        key = f"{due:016d}.{next(self._seq):08d}.{id(self):x}"
        row = {"vhost": vhost, "exchange": exchange, "routing_key": routing_key, "due": due,
               "delay": delay_ms, "props": base64.b64encode(raw).decode(),
               "body": base64.b64encode(body).decode()}
        if self.catalog is not None:
            self.catalog.kv_put(NS_DELAYED, key, row)
        else:
            self.memory[key] = row
        self._schedule(key, due)

    def restore(self) -> None:
        """Reschedule the messages held before a restart."""
        if self.catalog is None:
            return
        for key, row in self.catalog.kv_items(NS_DELAYED):
            self._schedule(key, int(row["due"]))

    def close(self) -> None:
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()

    def _schedule(self, key: str, due: int) -> None:
        loop = asyncio.get_running_loop()
        wait = max(0.0, (due - time.time() * 1000) / 1000)
        self._timers[key] = loop.call_later(wait, lambda: loop.create_task(self._fire(key)))

    async def _fire(self, key: str) -> None:
        self._timers.pop(key, None)
        row = self.catalog.kv_get(NS_DELAYED, key) if self.catalog is not None else self.memory.get(key)
        if row is None:
            return
        raw = base64.b64decode(row["props"])
        try:
            await self.publish(row["vhost"], row["exchange"], row["routing_key"], raw, base64.b64decode(row["body"]))
        except Exception:  # noqa: BLE001 - the exchange went away: drop, as the plugin does
            log.info("delayed message for exchange %r dropped: exchange gone", row["exchange"])
        if self.catalog is not None:
            self.catalog.kv_delete(NS_DELAYED, key)
        else:
            self.memory.pop(key, None)
