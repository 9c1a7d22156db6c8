"""Reset: delete every entity (or one service's or one kind's) in place, for test isolation.

`await reset(core, scope)` empties the broker without a restart: the selected queues,
streams, routers (with their bindings) and consumer groups are deleted through their
registries (logs removed from disk, catalog rows deleted in ONE catalog transaction),
and a full reset also empties the catalog's key-value state (front-ends' facts such as
SQS tags, Kinesis shard maps, EventBridge rules), except what must outlive a reset
(`KEEP_NAMESPACES`, `KEEP_KINDS`: users, the Kafka producer-id counter, so a producer
id handed out before a reset is never handed out again).

Front-ends keep caches and views of core entities (AMQP records, SQS facts, EventBridge
rules...). Each registers hooks with `on_reset(core, fn, phase)`:
- `before` hooks run first with the `Selection`: a front-end deletes what it owns there
  through its own paths (AMQP cancels the consumers of a deleted queue, as RabbitMQ
  does), so the core deletes only what is left;
- `after` hooks run last: a front-end drops cached facts of removed entities and
  re-creates its built-in entities (AMQP's default exchanges).
A hook may be a coroutine function. Hooks are held weakly when they are bound methods
(the state object lives as long as its front-end, not as long as the registry).

Scopes: None or "all"; an entity kind ("queues", "streams", "routers", "groups"); or a
service, which selects the entities that service made (`origin`): "sqs", "amqp",
"sns", "events", "kinesis", "firehose", "kafka", "redis". Kafka topics and Redis streams
share one namespace (both are plain streams), so "kafka" and "redis" select the same
streams ("kafka" also selects consumer groups).
Concurrency: the core's event loop; nothing else runs between the deletions of one reset
except awaiting hooks.
"""

from __future__ import annotations

import asyncio
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mqlite.core.errors import InvalidValue
from mqlite.core.naming import INTERNAL_STREAM_PREFIX
from mqlite.core.router import Destination

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.core.broker import BrokerCore

KINDS = ("queues", "streams", "routers", "groups")
SERVICES = ("sqs", "amqp", "sns", "events", "kinesis", "firehose", "kafka", "redis")
SCOPES = ("all", *KINDS, *SERVICES)
KEEP_KINDS = frozenset({"user"})  # entities that outlive a reset (the user model)
KEEP_NAMESPACES = frozenset({"kafka", "users"})  # kv namespaces that outlive a reset
AMQP_ROUTER_KINDS = frozenset({"direct", "fanout", "topic", "headers"})
KINESIS_NS = "kinesis.streams"
PHASES = ("before", "after")


@dataclass(slots=True)
class Selection:
    """What one reset deletes, by core name; `everything` for a full reset."""

    scope: str
    everything: bool = False
    queues: set[str] = field(default_factory=set)
    streams: set[str] = field(default_factory=set)
    routers: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)

    def counts(self) -> dict[str, int]:
        return {k: len(getattr(self, k)) for k in KINDS}


@dataclass(frozen=True, slots=True)
class ResetResult:
    scope: str
    deleted: dict[str, int]
    duration_ms: float


_HOOKS: weakref.WeakKeyDictionary[Any, list[tuple[str, Any]]] = weakref.WeakKeyDictionary()


def on_reset(core: BrokerCore, hook: Callable[[Selection], Any], phase: str = "after") -> None:
    """Call `hook(selection)` at every reset of `core` (see module docstring)."""
    if phase not in PHASES:
        raise ValueError(f"phase must be one of {PHASES}")
    ref: Any = weakref.WeakMethod(hook) if hasattr(hook, "__self__") else (lambda h=hook: h)
    _HOOKS.setdefault(core, []).append((phase, ref))


def parse_scope(scope: str | None) -> str:
    """The canonical scope; InvalidValue naming the allowed ones otherwise."""
    value = (scope or "all").strip().lower()
    if value not in SCOPES:
        raise InvalidValue("scope", f"unknown reset scope {scope!r}",
                           rule=f"scope: one of {', '.join(SCOPES)}")
    return value


def origin_of_queue(core: BrokerCore, name: str) -> str:
    """The service that made a queue: 'amqp' or 'sqs' (by the name rule it was made with)."""
    entry = core.catalog.get_entity("queue", name) or {}
    return "amqp" if entry.get("name_rule") == "amqp" else "sqs"


def queue_origins(core: BrokerCore) -> dict[str, str]:
    """`origin_of_queue` of every queue, in one catalog read."""
    return {name: "amqp" if entry.get("name_rule") == "amqp" else "sqs"
            for name, entry in core.catalog.list_entities("queue")}


def origin_of_router(router: Any) -> str:
    kind = str(getattr(router, "kind", ""))
    if kind == "sns":
        return "sns"
    if kind == "event_bus":
        return "events"
    return "amqp" if kind in AMQP_ROUTER_KINDS else kind


def origin_of_stream(core: BrokerCore, name: str, kinesis: set[str] | None = None) -> str:
    if name.startswith(INTERNAL_STREAM_PREFIX + "firehose"):
        return "firehose"
    if name.startswith(INTERNAL_STREAM_PREFIX + "events"):
        return "events"
    names = kinesis if kinesis is not None else {k for k, _ in core.catalog.kv_items(KINESIS_NS)}
    return "kinesis" if name in names else "kafka"


def select(core: BrokerCore, scope: str) -> Selection:
    """The entities a reset of `scope` deletes."""
    sel = Selection(scope, everything=scope == "all")
    if scope in ("all", "queues"):
        sel.queues = set(core.list_queues())
    if scope in ("all", "streams"):
        sel.streams = set(core.streams.list())  # the registry: internal streams too
    if scope in ("all", "routers"):
        sel.routers = set(core.list_routers())
    if scope in ("all", "groups", "kafka"):
        sel.groups = set(core.groups.list())
    if scope in ("sqs", "amqp"):
        sel.queues = {q for q, origin in queue_origins(core).items() if origin == scope}
    if scope in ("amqp", "sns", "events"):
        sel.routers = {r.name for r in core.routers.routers() if origin_of_router(r) == scope}
    if scope in ("kinesis", "firehose", "kafka", "redis", "events"):
        kinesis = {k for k, _ in core.catalog.kv_items(KINESIS_NS)}
        want = "kafka" if scope == "redis" else scope
        sel.streams = {s for s in core.streams.list() if origin_of_stream(core, s, kinesis) == want}
    return sel


async def _run_hooks(core: BrokerCore, phase: str, sel: Selection) -> None:
    for hook_phase, ref in list(_HOOKS.get(core, [])):
        hook = ref()
        if hook is None or hook_phase != phase:
            continue
        result = hook(sel)
        if asyncio.iscoroutine(result):
            await result


async def reset(core: BrokerCore, scope: str | None = None) -> ResetResult:
    """Delete what `scope` selects, in memory and on disk; see module docstring."""
    start = time.perf_counter()
    scope = parse_scope(scope)
    sel = select(core, scope)
    await _run_hooks(core, "before", sel)
    catalog = core.catalog
    with core.logs.bulk_delete(), catalog.transaction():
        core.routers.delete_many(sorted(sel.routers))
        for name in sorted(sel.queues):
            if not sel.everything:
                core.routers.remove_destination(Destination.queue(name))
            core.queues.delete(name)
        for name in sorted(sel.streams):
            if not sel.everything:
                core.routers.remove_destination(Destination.stream(name))
            core.streams.delete(name)
        for name in sorted(sel.groups):
            core.groups.delete(name)
        if sel.everything:
            catalog.clear(keep_kinds=KEEP_KINDS, keep_namespaces=KEEP_NAMESPACES)
    await _run_hooks(core, "after", sel)
    return ResetResult(scope, sel.counts(), (time.perf_counter() - start) * 1000)
