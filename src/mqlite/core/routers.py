"""RouterRegistry: the named routers (SNS topics, AMQP exchanges, EventBridge buses).

Owns the catalog entities of kind 'router' (name: the router's; config: {'kind': ...,
'config': {...}}) and 'binding' (name: '<router>\\x1f<binding id>'; config: the
binding's JSON form, see `binding_to_json`), and the one `HttpDelivery` its routers
share. BrokerCore builds it as `RouterRegistry(catalog, logs, clock, core)` and calls
`await open()` (restore), `tick()`, `await close()`.

    create(name, kind, config=None) -> Router   same kind+config again: the same router;
                                                otherwise RouterExists
    get(name) -> Router (RouterNotFound); find(name) -> Router | None
    get_or_create(name, kind, config=None); delete(name) -> bool; list(prefix="")
    remove_destination(destination) -> int      drop every binding to a deleted queue,
                                                stream or router (AMQP semantics)

Durability: a router is persisted unless config['durable'] is False; a binding is
persisted when its router is and `bind(..., durable=True)`. JSON cannot hold AMQP table
values, so specs/args are tagged: bytes {"$bytes": b64}, Decimal {"$decimal": s},
datetime {"$datetime": iso}. An auto-delete router (config['auto_delete']) is deleted
when its last binding goes (AMQP).

Invariants: every durable router and binding in memory has its catalog row and vice
versa; after `open()` every router and binding of the catalog is back, matchers
recompiled. Concurrency: core's single event loop (docs/architecture.md); no locks.
"""

from __future__ import annotations

import base64
import builtins
import datetime
import decimal
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from mqlite.core.catalog import Catalog
from mqlite.core.clock import Clock
from mqlite.core.errors import InvalidName, RouterExists, RouterNotFound
from mqlite.core.matchers.index import MatcherKind
from mqlite.core.router import Binding, Destination, DestinationKind, Router

if TYPE_CHECKING:  # pragma: no cover
    from mqlite.core.broker import BrokerCore

log = logging.getLogger("mqlite.core.routers")

ROUTER_ENTITY = "router"
BINDING_ENTITY = "binding"
SEP = "\x1f"
MAX_NAME = 1024


class RouterRegistry:
    """create/get/delete/list routers; `BrokerCore` delegates its router calls here."""

    def __init__(self, catalog: Catalog, logs: Any, clock: Clock, core: BrokerCore) -> None:
        self.catalog = catalog
        self.logs = logs
        self.clock = clock
        self.core = core
        self._routers: dict[str, Router] = {}
        self._http: Any = None
        self._restore()

    # -- lifecycle ---------------------------------------------------------------------------
    def _restore(self) -> None:
        for name, row in self.catalog.list_entities(ROUTER_ENTITY):
            self._routers[name] = Router(
                name, row["kind"], from_json(row.get("config") or {}), core=self.core,
                registry=self,
            )
        restoring = []
        for _key, row in self.catalog.list_entities(BINDING_ENTITY):
            restoring.append(row)
        restoring.sort(key=lambda r: int(r.get("seq", 0)))
        for row in restoring:
            router = self._routers.get(row.get("router", ""))
            if router is None:
                continue
            try:
                router._restore_binding(
                    row["id"], Destination.from_json(row["destination"]),
                    MatcherKind(row["matcher"]), from_json(row.get("spec")),
                    from_json(row.get("args") or {}), int(row.get("seq", 0)),
                )
            except Exception:
                log.exception("router %s: binding %s could not be restored", router.name, row)

    async def open(self) -> None:
        """Nothing to wait for: restoring happens at construction (kept for BrokerCore)."""

    @property
    def http(self) -> Any:
        """The shared HttpDelivery (created on first use)."""
        if self._http is None:
            from mqlite.core.http_delivery import HttpDelivery

            config = getattr(self.core, "config", None)
            policy = config.destination_policy if config is not None else None
            self._http = HttpDelivery(self.clock, policy=policy)
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()

    # -- routers -----------------------------------------------------------------------------
    def create(self, name: str, kind: str, config: Mapping[str, Any] | None = None) -> Router:
        _check_name(name)
        if not isinstance(kind, str) or not kind:
            raise InvalidName(f"router kind must be a non-empty string: {kind!r}", rule="router-kind")
        cfg = dict(config or {})
        existing = self._routers.get(name)
        if existing is not None:
            if existing.kind == kind and existing.config == cfg:
                return existing
            raise RouterExists(name)
        router = Router(name, kind, cfg, core=self.core, registry=self)
        self._routers[name] = router
        if router.durable:
            self.catalog.put_entity(ROUTER_ENTITY, name, {"kind": kind, "config": to_json(cfg)})
        return router

    def get(self, name: str) -> Router:
        try:
            return self._routers[name]
        except KeyError:
            raise RouterNotFound(name) from None

    def find(self, name: str) -> Router | None:
        return self._routers.get(name)

    def get_or_create(self, name: str, kind: str, config: Mapping[str, Any] | None = None) -> Router:
        return self._routers.get(name) or self.create(name, kind, config)

    def set_config(self, name: str, config: Mapping[str, Any]) -> Router:
        """Replace a router's config (alternate, dead_letter, dedupe...), durably."""
        router = self.get(name)
        router.config = dict(config)
        if router.durable:
            self.catalog.put_entity(
                ROUTER_ENTITY, name, {"kind": router.kind, "config": to_json(router.config)}
            )
        return router

    def delete(self, name: str) -> bool:
        """Delete a router, its bindings, and every binding that targets it."""
        router = self._routers.pop(name, None)
        if router is None:
            return False
        router.deleted = True
        with self.catalog.transaction():
            for b in router.bindings():
                self.catalog.delete_entity(BINDING_ENTITY, f"{name}{SEP}{b.id}")
            self.catalog.delete_entity(ROUTER_ENTITY, name)
        self.remove_destination(Destination(DestinationKind.ROUTER, name))
        return True

    def delete_many(self, names: builtins.list[str]) -> int:
        """Delete several routers in one pass: like `delete` for each, but the bindings
        that target them are found by one scan of the routers left, not one per router
        (a reset deletes hundreds). Returns how many existed."""
        gone = set()
        with self.catalog.transaction():
            for name in names:
                router = self._routers.pop(name, None)
                if router is None:
                    continue
                router.deleted = True
                gone.add(name)
                for b in router.bindings():
                    self.catalog.delete_entity(BINDING_ENTITY, f"{name}{SEP}{b.id}")
                self.catalog.delete_entity(ROUTER_ENTITY, name)
            if gone and self._routers:
                for router in list(self._routers.values()):
                    for b in router.bindings():
                        if b.destination.kind is DestinationKind.ROUTER and b.destination.name in gone:
                            router.unbind(b)
        return len(gone)

    def list(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._routers if n.startswith(prefix))

    def routers(self) -> builtins.list[Router]:
        return [self._routers[n] for n in self.list()]

    def remove_destination(self, destination: Destination) -> int:
        """Unbind every binding whose destination is `destination`; returns how many."""
        removed = 0
        for router in list(self._routers.values()):
            for b in router.bindings_to(destination):
                removed += router.unbind(b)
        return removed

    # -- called by Router ----------------------------------------------------------------------
    def _binding_added(self, router: Router, b: Binding) -> None:
        if router.durable and b.durable and not router.deleted and router.name in self._routers:
            self.catalog.put_entity(BINDING_ENTITY, f"{router.name}{SEP}{b.id}", binding_to_json(b))

    def _binding_removed(self, router: Router, b: Binding, auto_delete: bool = True) -> None:
        if router.durable and b.durable:
            self.catalog.delete_entity(BINDING_ENTITY, f"{router.name}{SEP}{b.id}")
        if (auto_delete and router.config.get("auto_delete") and not router.bindings()
                and not router.deleted):
            self.delete(router.name)


def _check_name(name: str) -> None:
    if not isinstance(name, str) or len(name) > MAX_NAME or SEP in name:
        raise InvalidName(
            f"router name must be a string of at most {MAX_NAME} characters: {name!r}",
            rule="router-name",
        )


def binding_to_json(b: Binding) -> dict[str, Any]:
    return {
        "router": b.router,
        "id": b.id,
        "destination": b.destination.to_json(),
        "matcher": b.matcher.value,
        "spec": to_json(b.spec),
        "args": to_json(dict(b.args)),
        "seq": b.seq,
    }


def to_json(v: Any) -> Any:
    """JSON form with tags for AMQP table values (see module docstring)."""
    if isinstance(v, Mapping):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"$bytes": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, decimal.Decimal):
        return {"$decimal": str(v)}
    if isinstance(v, datetime.datetime):
        return {"$datetime": v.isoformat()}
    if isinstance(v, Destination):
        return v.to_json()
    return v


def from_json(v: Any) -> Any:
    if isinstance(v, dict):
        if len(v) == 1:
            ((k, x),) = v.items()
            if k == "$bytes" and isinstance(x, str):
                return base64.b64decode(x)
            if k == "$decimal" and isinstance(x, str):
                return decimal.Decimal(x)
            if k == "$datetime" and isinstance(x, str):
                return datetime.datetime.fromisoformat(x)
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v
