"""EventBridge front-end state: buses, rules (with targets), archives, replays,
connections and API destinations, durable in the catalog; ARNs and names.

Model: every resource is a JSON-able dict in the catalog kv namespace `events/<kind>`
keyed `<region>/<name>` (rules `<region>/<bus>/<rule>`), cached in memory; outside the
server's home account the region is `<account>:<region>` (`scope`: accounts are
isolated, and the home account's keys stay those of older data dirs). A resource's
`region` field holds that scope key; its ARN the real account and region. An event bus
is a core router of kind `event_bus` named `events:<region>:<bus>` (not durable in the
router registry: rebuilt from this catalog at start, so the catalog is the one truth).
Each enabled rule with an event pattern has one binding per target on its bus's router
(matcher `event_pattern`, args `{"rule": key, "target": id}`); each archive has one
binding (args `{"archive": key}`). `EventsState.sync_rule(rule)` keeps the bindings
equal to the rule's state (the router's index files each rule under its rarest
condition itself). `state_for(core)` gives the one state per broker core.
Invariants: a rule's bindings exist iff it is ENABLED, has an EventPattern, and its
targets exist; the `default` bus exists in every region served.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import re
import time
import weakref
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from mqlite.core.api import BrokerCore, Catalog, Selection
from mqlite.core.matchers.index import MatcherKind
from mqlite.core.reset import on_reset
from mqlite.core.router import Binding, Destination, Router
from mqlite.settings import Settings

KIND = "event_bus"
NS = "events/"
RULE_NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
BUS_NAME = re.compile(r"^[/\.\-_A-Za-z0-9]{1,256}$")
TARGET_ID = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
DEFAULT_BUS = "default"
MAX_TARGETS = 5

_STATES: weakref.WeakKeyDictionary[Any, EventsState] = weakref.WeakKeyDictionary()


def now_s() -> float:
    return time.time()


def bus_arn(region: str, account: str, bus: str) -> str:
    return f"arn:aws:events:{region}:{account}:event-bus/{bus}"


def rule_arn(region: str, account: str, bus: str, rule: str) -> str:
    if bus == DEFAULT_BUS:
        return f"arn:aws:events:{region}:{account}:rule/{rule}"
    return f"arn:aws:events:{region}:{account}:rule/{bus}/{rule}"


def resource_arn(region: str, account: str, kind: str, name: str) -> str:
    return f"arn:aws:events:{region}:{account}:{kind}/{name}"


def scope(ctx: Any) -> str:
    """The key of a request's account and region in this front-end's stores and router
    names: the region in the server's home account (keys of data dirs written before
    accounts), `<account>:<region>` in another (protocols/aws/namespace.py)."""
    if ctx.home_account and ctx.account != ctx.home_account:
        return f"{ctx.account}:{ctx.region}"
    return str(ctx.region)


def bus_scope(ctx: Any, value: str) -> tuple[str, str]:
    """(scope key, bus name) of an EventBusName parameter: a bus ARN names its account
    (another account's bus: authorization decides), a name the caller's."""
    account = ctx.account
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[4]:
            account = parts[4]
    home = ctx.home_account or ctx.account
    return scope_of(account, ctx.region, home), bus_name_of(value)


def split_scope(key: str, home_account: str) -> tuple[str, str]:
    """(account, region) of a scope key."""
    account, colon, region = key.rpartition(":")
    return (account, region) if colon else (home_account, key)


def scope_of(account: str, region: str, home_account: str) -> str:
    """The scope key of an account and region (an ARN's)."""
    return region if account in ("", home_account) else f"{account}:{region}"


def router_name(region: str, bus: str) -> str:
    return f"events:{region}:{bus}"


def bus_name_of(value: str) -> str:
    """An EventBusName parameter may be a name or a bus ARN."""
    if value.startswith("arn:"):
        parts = value.split(":", 5)
        if len(parts) == 6 and parts[5].startswith("event-bus/"):
            return parts[5][len("event-bus/"):]
    return value


class Store:
    """One resource kind: a dict cache over a catalog kv namespace."""

    def __init__(self, catalog: Catalog, kind: str) -> None:
        self.catalog = catalog
        self.ns = NS + kind
        self.items: dict[str, dict[str, Any]] = {k: dict(v) for k, v in catalog.kv_items(self.ns)}

    def get(self, key: str) -> dict[str, Any] | None:
        return self.items.get(key)

    def put(self, key: str, value: dict[str, Any]) -> None:
        self.items[key] = value
        self.catalog.kv_put(self.ns, key, value)

    def delete(self, key: str) -> None:
        if self.items.pop(key, None) is not None:
            self.catalog.kv_delete(self.ns, key)

    def values(self, prefix: str = "") -> Iterator[dict[str, Any]]:
        for key in sorted(self.items):
            if key.startswith(prefix):
                yield self.items[key]


class EventsState:
    """Per-core EventBridge state (see module docstring)."""

    def __init__(self, core: BrokerCore, settings: Settings) -> None:
        self.core = core
        self.settings = settings
        self.account: str = settings.aws_account
        # Host:port clients dial (from the latest request; SNS URLs in notifications)
        self.host: str = f"{settings.host}:{settings.http_port or 4566}"
        catalog = core.catalog
        self.buses = Store(catalog, "buses")
        self.rules = Store(catalog, "rules")
        self.archives = Store(catalog, "archives")
        self.replays = Store(catalog, "replays")
        self.connections = Store(catalog, "connections")
        self.api_destinations = Store(catalog, "api-destinations")
        self.tags = Store(catalog, "tags")  # key: ARN -> {"tags": {k: v}}
        self.sources = Store(catalog, "partner-sources")  # key: region/name (partners.py)
        self._rule_bindings: dict[str, list[str]] = {}
        self._archive_bindings: dict[str, str] = {}
        self.delivery: Any = None  # set by build(): delivery.Dispatcher
        self.scheduler: Any = None  # set by build(): schedule.Scheduler
        self.replayer: Any = None
        for bus in list(self.buses.values()):
            self._router(bus["region"], bus["name"])
        for rule in list(self.rules.values()):
            self.sync_rule(rule)
        for archive in list(self.archives.values()):
            self.sync_archive(archive)
        on_reset(core, self.reset)

    def reset(self, sel: Selection) -> None:
        """After a reset (core/reset.py): forget the deleted buses with their rules
        (schedules disarmed); a full reset forgets every resource (the catalog rows are
        gone already). The default bus comes back on its region's next request."""
        gone = [b for b in self.buses.values()
                if sel.everything or router_name(b["region"], b["name"]) in sel.routers]
        for bus in gone:
            for rule in list(self.rules.values(f"{bus['region']}/{bus['name']}/")):
                key = self.rule_key(rule["region"], rule["bus"], rule["name"])
                if self.scheduler is not None:
                    self.scheduler.disarm(key)
                self._rule_bindings.pop(key, None)
                self.rules.delete(key)
                self.tags.delete(rule["arn"])
            self.buses.delete(f"{bus['region']}/{bus['name']}")
            self.tags.delete(bus["arn"])
        if sel.everything:
            for store in (self.buses, self.rules, self.archives, self.replays, self.connections,
                          self.api_destinations, self.tags, self.sources):
                store.items.clear()
            self._rule_bindings.clear()
            self._archive_bindings.clear()

    # -- buses ---------------------------------------------------------------------------
    def ensure_region(self, region: str) -> None:
        """The default bus exists in every region served."""
        if self.buses.get(f"{region}/{DEFAULT_BUS}") is None:
            self.put_bus(region, DEFAULT_BUS, {})

    def put_bus(self, region: str, name: str, extra: dict[str, Any]) -> dict[str, Any]:
        now = now_s()
        account, real_region = split_scope(region, self.account)
        bus = {"name": name, "region": region, "arn": bus_arn(real_region, account, name),
               "created": now, "modified": now, **extra}
        self.buses.put(f"{region}/{name}", bus)
        self._router(region, name)
        return bus

    def bus(self, region: str, name: str) -> dict[str, Any] | None:
        if name == DEFAULT_BUS:
            self.ensure_region(region)
        return self.buses.get(f"{region}/{name}")

    def _router(self, region: str, bus: str) -> Router:
        name = router_name(region, bus)
        router = self.core.routers.find(name)
        if router is None:
            router = self.core.routers.create(name, KIND, {"dedupe": False, "durable": False})
        return router

    def router(self, region: str, bus: str) -> Router | None:
        return self.core.routers.find(router_name(region, bus))

    def delete_bus(self, region: str, name: str) -> None:
        for rule in list(self.rules.values(f"{region}/{name}/")):
            self.delete_rule(rule)
        self.buses.delete(f"{region}/{name}")
        self.core.routers.delete(router_name(region, name))

    # -- rules ---------------------------------------------------------------------------
    @staticmethod
    def rule_key(region: str, bus: str, name: str) -> str:
        return f"{region}/{bus}/{name}"

    def rule(self, region: str, bus: str, name: str) -> dict[str, Any] | None:
        return self.rules.get(self.rule_key(region, bus, name))

    def save_rule(self, rule: dict[str, Any]) -> None:
        self.rules.put(self.rule_key(rule["region"], rule["bus"], rule["name"]), rule)
        self.sync_rule(rule)

    def delete_rule(self, rule: dict[str, Any]) -> None:
        key = self.rule_key(rule["region"], rule["bus"], rule["name"])
        self._unbind_rule(key, rule)
        self.rules.delete(key)
        self.tags.delete(rule["arn"])

    def _unbind_rule(self, key: str, rule: dict[str, Any]) -> None:
        router = self.router(rule["region"], rule["bus"])
        for bid in self._rule_bindings.pop(key, []):
            if router is not None:
                router.unbind(bid)

    def sync_rule(self, rule: dict[str, Any]) -> None:
        """Make the rule's bindings match its state, pattern and targets."""
        key = self.rule_key(rule["region"], rule["bus"], rule["name"])
        self._unbind_rule(key, rule)
        if rule.get("state", "ENABLED") != "ENABLED" or not rule.get("pattern"):
            return
        router = self._router(rule["region"], rule["bus"])
        spec = orjson.loads(rule["pattern"])
        ids = []
        for tid in rule.get("targets", {}):
            b: Binding = router.bind(
                Destination.router(f"events-rule:{key}"), MatcherKind.EVENT_PATTERN,
                spec, {"rule": key, "target": tid}, durable=False,
            )
            ids.append(b.id)
        self._rule_bindings[key] = ids

    # -- archives ------------------------------------------------------------------------
    def sync_archive(self, archive: dict[str, Any]) -> None:
        key = f"{archive['region']}/{archive['name']}"
        router = self._router(archive["region"], archive["bus"])
        old = self._archive_bindings.pop(key, None)
        if old is not None:
            router.unbind(old)
        if archive.get("deleted"):
            return
        pattern = archive.get("pattern") or None
        if pattern:
            b = router.bind(Destination.stream(archive["stream"]), MatcherKind.EVENT_PATTERN,
                            pattern, {"archive": key}, durable=False)
        else:
            b = router.bind(Destination.stream(archive["stream"]), MatcherKind.FANOUT, None,
                            {"archive": key}, durable=False)
        self._archive_bindings[key] = b.id

    def unbind_archive(self, archive: dict[str, Any]) -> None:
        key = f"{archive['region']}/{archive['name']}"
        old = self._archive_bindings.pop(key, None)
        router = self.router(archive["region"], archive["bus"])
        if old is not None and router is not None:
            router.unbind(old)

    # -- tags ----------------------------------------------------------------------------
    def get_tags(self, arn: str) -> dict[str, str]:
        row = self.tags.get(arn)
        return dict(row["tags"]) if row else {}

    def set_tags(self, arn: str, tags: dict[str, str]) -> None:
        if tags:
            self.tags.put(arn, {"tags": tags})
        else:
            self.tags.delete(arn)


def state_for(core: BrokerCore, settings: Settings) -> EventsState:
    state = _STATES.get(core)
    if state is None:
        state = _STATES[core] = EventsState(core, settings)
    return state


def find_state(core: BrokerCore) -> EventsState | None:
    """The state `build()` made for this core (tests drive the scheduler through it)."""
    return _STATES.get(core)


def paginate(items: list[Any], token: str | None, limit: int | None, default: int = 100
             ) -> tuple[list[Any], str | None]:
    """One page of `items` (NextToken is the opaque start index of the next page)."""
    from mqlite.protocols.aws.events.errors import validation

    start = 0
    if token:
        try:
            start = int(token)
        except ValueError:
            raise validation("The NextToken is not valid.") from None
    size = limit if limit and limit > 0 else default
    page = items[start : start + size]
    nxt = str(start + size) if start + size < len(items) else None
    return page, nxt


def filter_listing(
    action: str, items: Iterable[dict[str, Any]], p: dict[str, Any], states: tuple[str, ...],
    default_state: str | None = None,
) -> list[dict[str, Any]]:
    """ListArchives / ListReplays: at most one of NamePrefix, EventSourceArn, State (with
    EventBridge's wording for each mistake), then the matching items in order."""
    from mqlite.protocols.aws.events.errors import validation

    if sum(1 for k in ("NamePrefix", "EventSourceArn", "State") if p.get(k)) > 1:
        raise validation(f"At most one filter is allowed for {action}. "
                         "Use either : State, EventSourceArn, or NamePrefix.")
    state = p.get("State")
    if state and state not in states:
        raise validation(
            f"1 validation error detected: Value '{state}' at 'state' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(states)}]"
        )
    prefix, source = p.get("NamePrefix") or "", p.get("EventSourceArn")
    return [
        i for i in items
        if i["name"].startswith(prefix)
        and (not source or i["source"] == source)
        and (not state or i.get("state", default_state) == state)
    ]


def drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}
