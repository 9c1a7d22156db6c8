"""Router: a named publish target (SNS topic, AMQP exchange, EventBridge bus or rule)
whose bindings carry a matcher and a destination.

Shapes (all frozen, slotted; see also `RouterRegistry` in routers.py for persistence):

    Destination(kind, name)       kind: DestinationKind 'queue' | 'stream' | 'router' |
                                  'channel' | 'http' (name = URL); Destination.queue(n)...
    MatcherKind                   'direct' | 'fanout' | 'topic' | 'headers' | 'glob' |
                                  'sns' | 'event_pattern'
    spec (per matcher kind)       direct/topic: binding key (str); fanout: ignored (None);
                                  headers: the binding arguments dict (with x-match);
                                  glob: Redis pattern (str); sns: filter policy (dict or
                                  JSON text; args['scope'] = 'MessageAttributes' (default)
                                  or 'MessageBody'); event_pattern: pattern (dict or JSON)
    Binding(id, router, destination, matcher, spec, args, seq)
                                  args: durable free-form options, part of the binding's
                                  identity (e.g. AMQP arguments). Reserved keys: 'scope',
                                  'transform' (a name the broker's transforms know),
                                  'transform_args', 'dead_letter' ({'kind','name'}),
                                  'http' (options for HTTP delivery).
    RouteResult(routed, destinations, failed, dead_lettered, via_alternate)

    router.bind(destination, matcher, spec=None, args=None, *, binding_id=None,
                durable=True) -> Binding            (idempotent for an identical binding)
    router.bind_key(destination, routing_key, arguments=None) -> Binding  (AMQP queue.bind:
                the matcher is the router kind's; for 'headers' the arguments are the spec)
    router.unbind(binding_or_id) -> bool; router.unbind_key(destination, routing_key,
                arguments=None) -> bool; router.rebind(binding_id, spec=..., args=...)
    router.bindings() -> list[Binding]; router.match(envelope, headers=None) -> [Binding]
    await router.publish(envelope, *, headers=None) -> RouteResult
    await router.publish_batch(envelopes, *, headers=None) -> [RouteResult]  (one append
                per destination queue for the batch; see core/router_batch.py)

Matching inputs: direct/topic/glob match `envelope.routing_key`; headers match the
`headers` table passed to publish (AMQP header values as pamqp decodes them; default:
the attributes' values); sns matches `envelope.attributes` (MessageAttributes scope) or
the JSON body (MessageBody scope); event_pattern matches the JSON body (the event).

Delivery: queue -> `core.get_queue(n).send_envelope(env)` (or `send(...)`), stream ->
`core.get_stream(n).append(body, key, headers)` (meta and attributes as record headers),
channel -> `core.channels.publish(n, body)`, router -> that router's bindings (exchange-
to-exchange; each router is visited at most once per publish, so cycles terminate), http
-> the registry's `HttpDelivery` (asynchronous; final failures are dead-lettered). A
destination reached by several bindings gets the message once (RabbitMQ), unless the
router's config has `dedupe: False` (EventBridge rules, SNS subscriptions). A binding's
transform (`core.transforms`, see core/transforms.py; fn(envelope, binding) -> Envelope | None) runs
before its delivery; None drops the message for that binding.

Fallbacks (router config): `alternate` (a router name; AMQP alternate-exchange) takes
messages no binding matched; `dead_letter` ({'kind','name'}; a binding's own
args['dead_letter'] wins) takes messages whose delivery failed (missing destination,
full queue, transform error, HTTP retries exhausted), and unroutable ones too when
`dead_letter_unroutable` is true. Dead-lettered envelopes carry meta
`mqlite.dlq.reason`, `mqlite.dlq.router`, `mqlite.dlq.destination`; a message that
already carries `mqlite.dlq.reason` is never dead-lettered again (dead-letter routes
cannot loop).

Invariants: a matcher is compiled (and validated) once, at bind time: an invalid spec
raises InvalidPattern and no binding is made; no message can make `publish` raise for
one binding's sake (predicate, transform and delivery errors are contained per binding).
Concurrency: core's single event loop; `publish` awaits deliveries in binding order.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from enum import Enum
from typing import Any

from mqlite.core.errors import InvalidValue
from mqlite.core.matchers.index import (
    BindingIndex,
    MatcherKind,
    MessageView,
    compile_matcher,
    matcher_kind,
    normalize_spec,
)
from mqlite.core.message import Envelope

log = logging.getLogger("mqlite.core.router")


class DestinationKind(str, Enum):
    QUEUE = "queue"
    STREAM = "stream"
    ROUTER = "router"
    CHANNEL = "channel"
    HTTP = "http"


#: the matcher a router kind's `bind_key` uses (AMQP exchange types, SNS, EventBridge).
DEFAULT_MATCHER = {
    "direct": MatcherKind.DIRECT,
    "fanout": MatcherKind.FANOUT,
    "topic": MatcherKind.TOPIC,
    "headers": MatcherKind.HEADERS,
    "glob": MatcherKind.GLOB,
    "sns": MatcherKind.SNS,
    "event_bus": MatcherKind.EVENT_PATTERN,
    "rule": MatcherKind.FANOUT,
}


@dataclass(frozen=True, slots=True)
class Destination:
    kind: DestinationKind
    name: str

    def __post_init__(self) -> None:
        if not isinstance(self.kind, DestinationKind):
            try:
                object.__setattr__(self, "kind", DestinationKind(self.kind))
            except ValueError:
                raise InvalidValue(
                    "destination", f"unknown destination kind {self.kind!r}"
                ) from None

    @classmethod
    def queue(cls, name: str) -> Destination:
        return cls(DestinationKind.QUEUE, name)

    @classmethod
    def stream(cls, name: str) -> Destination:
        return cls(DestinationKind.STREAM, name)

    @classmethod
    def router(cls, name: str) -> Destination:
        return cls(DestinationKind.ROUTER, name)

    @classmethod
    def channel(cls, name: str) -> Destination:
        return cls(DestinationKind.CHANNEL, name)

    @classmethod
    def http(cls, url: str) -> Destination:
        return cls(DestinationKind.HTTP, url)

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "name": self.name}

    @classmethod
    def from_json(cls, data: Any) -> Destination:
        if isinstance(data, Destination):
            return data
        return cls(DestinationKind(data["kind"]), data["name"])

    def __str__(self) -> str:
        return f"{self.kind.value}:{self.name}"


@dataclass(frozen=True, slots=True, eq=False)
class Binding:
    """One binding; compared by identity (`id`), hashed by identity."""

    id: str
    router: str
    destination: Destination
    matcher: MatcherKind
    spec: Any
    args: Mapping[str, Any]
    seq: int
    durable: bool = True
    compiled: Any = field(default=None, repr=False)

    def identity(self) -> tuple[Any, ...]:
        return (self.destination, self.matcher, _freeze(self.spec), _freeze(self.args))


@dataclass(frozen=True, slots=True)
class DeliveryFailure:
    destination: Destination
    reason: str


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What a publish did. `routed` counts destinations that took the message."""

    routed: int
    destinations: tuple[Destination, ...] = ()
    failed: tuple[DeliveryFailure, ...] = ()
    dead_lettered: int = 0
    via_alternate: bool = False

    def __bool__(self) -> bool:
        return self.routed > 0


DLQ_REASON = "mqlite.dlq.reason"

Transform = Callable[[Envelope, Binding], "Envelope | None"]


def _freeze(v: Any) -> Any:
    if isinstance(v, Mapping):
        return tuple(sorted((str(k), _freeze(x)) for k, x in v.items()))
    if isinstance(v, (list, tuple)):
        return tuple(_freeze(x) for x in v)
    if isinstance(v, Destination):
        return (v.kind.value, v.name)
    if isinstance(v, (bytearray, memoryview)):
        return bytes(v)
    return v


class _Publish:
    """Per-publish state: the message view, loop protection, and the tally."""

    __slots__ = (
        "dead_lettered",
        "delivered",
        "destinations",
        "failed",
        "headers",
        "routed",
        "via_alternate",
        "views",
        "visited",
    )

    def __init__(self, headers: Mapping[str, Any] | None) -> None:
        self.headers = headers
        self.views: dict[int, tuple[Envelope, MessageView]] = {}
        self.visited: set[str] = set()
        self.delivered: set[Any] = set()
        self.routed = 0
        self.destinations: list[Destination] = []
        self.failed: list[DeliveryFailure] = []
        self.dead_lettered = 0
        self.via_alternate = False

    def view(self, env: Envelope) -> MessageView:
        # keyed by identity; the envelope is kept alive with its view so ids stay unique
        hit = self.views.get(id(env))
        if hit is None or hit[0] is not env:
            hit = self.views[id(env)] = (
                env, MessageView(env.routing_key, env.body, env.attributes, self.headers)
            )
        return hit[1]

    def result(self) -> RouteResult:
        return RouteResult(
            self.routed, tuple(self.destinations), tuple(self.failed), self.dead_lettered,
            self.via_alternate,
        )


_UNSET = object()


class Router:
    """See module docstring. Build through `RouterRegistry.create` for durability."""

    def __init__(
        self,
        name: str,
        kind: str,
        config: Mapping[str, Any] | None = None,
        *,
        core: Any = None,
        registry: Any = None,
    ) -> None:
        self.name = name
        self.kind = kind
        self.config: dict[str, Any] = dict(config or {})
        self.core = core
        self.registry = registry
        self._bindings: dict[str, Binding] = {}
        self._by_identity: dict[tuple[Any, ...], Binding] = {}
        self._seq = 0
        self._index = BindingIndex()
        self.deleted = False

    def __repr__(self) -> str:
        return f"Router({self.name!r}, {self.kind!r}, bindings={len(self._bindings)})"

    @property
    def durable(self) -> bool:
        return bool(self.config.get("durable", True))

    # -- bindings --------------------------------------------------------------------------
    def bind(
        self,
        destination: Destination,
        matcher: MatcherKind | str,
        spec: Any = None,
        args: Mapping[str, Any] | None = None,
        *,
        binding_id: str | None = None,
        durable: bool = True,
    ) -> Binding:
        """Add a binding (validated now); an identical existing binding is returned."""
        destination = Destination.from_json(destination)
        kind = matcher_kind(matcher)
        args = dict(args or {})
        if "dead_letter" in args and args["dead_letter"] is not None:
            args["dead_letter"] = Destination.from_json(args["dead_letter"]).to_json()
        compiled = compile_matcher(kind, spec, args)
        spec = normalize_spec(kind, spec, compiled)
        probe = (destination, kind, _freeze(spec), _freeze(args))
        existing = self._by_identity.get(probe)
        if existing is not None and (binding_id is None or binding_id == existing.id):
            return existing
        if binding_id is not None and binding_id in self._bindings:
            old = self._bindings.pop(binding_id)  # replaced under the same id
            self._uninstall(old)
            if self.registry is not None and old.durable and not durable:
                self.registry._binding_removed(self, old, auto_delete=False)
        self._seq += 1
        b = Binding(
            binding_id or uuid.uuid4().hex, self.name, destination, kind, spec, args,
            self._seq, durable, compiled,
        )
        self._install(b)
        if self.registry is not None:
            self.registry._binding_added(self, b)
        return b

    def bind_key(
        self, destination: Destination, routing_key: str, arguments: Mapping[str, Any] | None = None,
        *, durable: bool = True,
    ) -> Binding:
        """AMQP queue.bind / exchange.bind: the matcher is the router kind's."""
        kind = self.default_matcher()
        if kind is MatcherKind.HEADERS:
            return self.bind(destination, kind, dict(arguments or {}), {"routing_key": routing_key},
                             durable=durable)
        return self.bind(destination, kind, routing_key, dict(arguments or {}), durable=durable)

    def unbind_key(
        self, destination: Destination, routing_key: str, arguments: Mapping[str, Any] | None = None
    ) -> bool:
        """AMQP queue.unbind: remove the binding `bind_key` made with the same values."""
        b = self._by_identity.get(self._key_identity(destination, routing_key, arguments))
        return self.unbind(b) if b is not None else False

    def _key_identity(
        self, destination: Destination, routing_key: str, arguments: Mapping[str, Any] | None
    ) -> tuple[Any, ...]:
        kind = self.default_matcher()
        dest = Destination.from_json(destination)
        if kind is MatcherKind.HEADERS:
            return (dest, kind, _freeze(dict(arguments or {})), _freeze({"routing_key": routing_key}))
        return (dest, kind, _freeze(routing_key), _freeze(dict(arguments or {})))

    def default_matcher(self) -> MatcherKind:
        kind = DEFAULT_MATCHER.get(self.kind)
        if kind is None:
            raise InvalidValue("kind", f"router kind {self.kind!r} has no default matcher")
        return kind

    def unbind(self, binding: Binding | str) -> bool:
        """Remove a binding (by object or id); False if it was not there."""
        bid = binding.id if isinstance(binding, Binding) else binding
        b = self._bindings.pop(bid, None)
        if b is None:
            return False
        self._uninstall(b)
        if self.registry is not None:
            self.registry._binding_removed(self, b)
        return True

    def rebind(self, binding_id: str, *, spec: Any = _UNSET, args: Mapping[str, Any] | None = None
               ) -> Binding:
        """Change a binding's spec/args in place (same id; e.g. SNS SetSubscriptionAttributes)."""
        old = self._bindings[binding_id]
        new_spec = old.spec if spec is _UNSET else spec
        new_args = dict(old.args if args is None else args)
        compiled = compile_matcher(old.matcher, new_spec, new_args)
        new_spec = normalize_spec(old.matcher, new_spec, compiled)
        self._uninstall(old)
        del self._bindings[binding_id]
        b = replace(old, spec=new_spec, args=new_args, compiled=compiled)
        self._install(b)
        if self.registry is not None:
            self.registry._binding_added(self, b)
        return b

    def _restore_binding(
        self, binding_id: str, destination: Destination, kind: MatcherKind, spec: Any,
        args: dict[str, Any], seq: int,
    ) -> Binding:
        """Reinstall a binding read from the catalog (no write back)."""
        compiled = compile_matcher(kind, spec, args)
        b = Binding(binding_id, self.name, destination, kind, normalize_spec(kind, spec, compiled),
                    args, seq, True, compiled)
        self._install(b)
        return b

    def bindings(self) -> list[Binding]:
        return sorted(self._bindings.values(), key=lambda b: b.seq)

    def get_binding(self, binding_id: str) -> Binding | None:
        return self._bindings.get(binding_id)

    def bindings_to(self, destination: Destination) -> list[Binding]:
        return [b for b in self.bindings() if b.destination == destination]

    def _install(self, b: Binding) -> None:
        self._bindings[b.id] = b
        self._by_identity[b.identity()] = b
        self._seq = max(self._seq, b.seq)
        self._index.add(b)

    def _uninstall(self, b: Binding) -> None:
        ident = b.identity()
        if self._by_identity.get(ident) is b:
            del self._by_identity[ident]
        self._index.remove(b)

    # -- matching -------------------------------------------------------------------------
    def match(self, envelope: Envelope, headers: Mapping[str, Any] | None = None) -> list[Binding]:
        """The bindings a message matches, in binding order."""
        if self._index.keyed_only:
            return self._index.match_key(envelope.routing_key)
        return self._index.match(
            MessageView(envelope.routing_key, envelope.body, envelope.attributes, headers)
        )

    # -- publishing ------------------------------------------------------------------------
    async def publish(
        self, envelope: Envelope, *, headers: Mapping[str, Any] | None = None
    ) -> RouteResult:
        """Route one message; see module docstring for fallbacks and counting."""
        ctx = _Publish(headers)
        await self._route(envelope, ctx)
        return ctx.result()

    async def publish_batch(
        self, envelopes: list[Envelope], *, headers: Mapping[str, Any] | None = None
    ) -> list[RouteResult]:
        """Route many: one append per destination queue (core/router_batch.py)."""
        from mqlite.core.router_batch import publish_batch  # it builds on this module

        return await publish_batch(self, envelopes, headers)

    async def _route(self, env: Envelope, ctx: _Publish) -> int:
        if self.name in ctx.visited:
            return 0
        ctx.visited.add(self.name)
        before = ctx.routed
        index = self._index
        matched = (
            index.match_key(env.routing_key) if index.keyed_only else index.match(ctx.view(env))
        )
        dedupe = bool(self.config.get("dedupe", True))
        for b in matched:
            out = env
            tname = b.args.get("transform")
            if tname:
                fn = self.core.transforms.get(tname)
                try:
                    if fn is None:
                        raise LookupError(f"transform {tname!r} is not registered")
                    transformed = fn(env, b)
                except Exception as exc:  # noqa: BLE001 - contained per binding
                    log.warning("router %s: transform of binding %s failed: %s", self.name, b.id, exc)
                    await self._fail(env, b, f"transform failed: {exc}", ctx)
                    continue
                if transformed is None:
                    continue
                out = transformed
            dest = b.destination
            if dest.kind is DestinationKind.ROUTER:
                target = self._resolve_router(dest.name)
                if target is None:
                    await self._fail(out, b, f"router {dest.name!r} does not exist", ctx)
                    continue
                await target._route(out, ctx)
                continue
            key = (dest, tname, _freeze(b.args.get("transform_args"))) if tname else dest
            if dedupe:
                if key in ctx.delivered:
                    continue
                ctx.delivered.add(key)
            try:
                await self._deliver(dest, out, b)
            except Exception as exc:  # noqa: BLE001 - contained per binding
                await self._fail(out, b, _reason(exc), ctx)
                continue
            ctx.routed += 1
            ctx.destinations.append(dest)
        if ctx.routed == before and not matched:
            alt = self.config.get("alternate")
            if alt:
                target = self._resolve_router(alt)
                if target is not None and target.name not in ctx.visited:
                    await target._route(env, ctx)
                    if ctx.routed > before:
                        ctx.via_alternate = True
            if ctx.routed == before and self.config.get("dead_letter_unroutable"):
                await self._fail(env, None, "unroutable", ctx, record=False)
        return ctx.routed - before

    def _resolve_router(self, name: str) -> Router | None:
        if self.registry is None:
            return self if name == self.name else None
        found: Router | None = self.registry.find(name)
        return found

    async def _deliver(self, dest: Destination, env: Envelope, binding: Binding | None) -> None:
        core = self.core
        kind = dest.kind
        if kind is DestinationKind.QUEUE:
            q = core.get_queue(dest.name)
            send = getattr(q, "send_envelope", None)
            if send is not None:
                await send(env)
            else:
                await q.send(
                    env.body, dict(env.attributes) or None, delay=env.delay,
                    group_id=env.group_id, dedup_id=env.dedup_id, priority=env.priority,
                    ttl_ms=env.ttl_ms, meta=dict(env.meta) or None,
                )
        elif kind is DestinationKind.STREAM:
            s = core.get_stream(dest.name)
            key = env.key if env.key is not None else (env.routing_key.encode() or None)
            await s.append(env.body, key, stream_headers(env), timestamp=env.timestamp_ms)
        elif kind is DestinationKind.CHANNEL:
            core.channels.publish(dest.name, env.body)
        elif kind is DestinationKind.HTTP:
            if self.registry is None:
                raise InvalidValue("destination", "HTTP delivery needs a RouterRegistry")
            opts = dict((binding.args.get("http") or {}) if binding else {})
            self.registry.http.submit(
                dest.name, env, opts,
                on_failure=lambda e, reason, b=binding: self._late_failure(e, b, reason),
            )
        else:  # pragma: no cover
            raise InvalidValue("destination", f"cannot deliver to {dest}")

    async def _late_failure(self, env: Envelope, binding: Binding | None, reason: str) -> None:
        await self._fail(env, binding, reason, _Publish(None))

    async def _fail(
        self, env: Envelope, binding: Binding | None, reason: str, ctx: _Publish,
        record: bool = True,
    ) -> None:
        if record and binding is not None:
            ctx.failed.append(DeliveryFailure(binding.destination, reason))
        target_json = (binding.args.get("dead_letter") if binding else None) or self.config.get(
            "dead_letter"
        )
        if not target_json:
            return
        if DLQ_REASON in env.meta:
            log.warning("router %s: dropping a message that failed after being dead-lettered"
                        " once (%s)", self.name, reason)
            return
        target = Destination.from_json(target_json)
        meta = dict(env.meta)
        meta[DLQ_REASON] = reason.encode()
        meta["mqlite.dlq.router"] = self.name.encode()
        if binding is not None:
            meta["mqlite.dlq.destination"] = str(binding.destination).encode()
        dl_env = replace(env, meta=meta)
        try:
            if target.kind is DestinationKind.ROUTER:
                r = self._resolve_router(target.name)
                if r is None:
                    raise LookupError(f"router {target.name!r} does not exist")
                await r.publish(dl_env)
            else:
                await self._deliver(target, dl_env, None)
        except Exception as exc:  # noqa: BLE001 - contained per binding
            log.warning("router %s: dead-letter delivery to %s failed: %s", self.name, target, exc)
            return
        ctx.dead_lettered += 1


def stream_headers(env: Envelope) -> list[tuple[str, bytes | None]]:
    """Record headers for a stream delivery: meta as-is, then each attribute's value."""
    headers: list[tuple[str, bytes | None]] = list(env.meta.items())
    for name, attr in env.attributes.items():
        v = attr.value
        headers.append((name, v if isinstance(v, bytes) else str(v).encode()))
    return headers


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
