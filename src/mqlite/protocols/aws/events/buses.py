"""CreateEventBus, DescribeEventBus, ListEventBuses, UpdateEventBus, DeleteEventBus.

The `default` bus exists in every region (created on first use, cannot be deleted:
ValidationException). Custom bus names are 1-256 of `[.\\-_A-Za-z0-9]` (no `/`: "Event
bus name must not contain '/'."; a partner bus is named after an existing partner event
source, `partners.py`); a second bus of the same
name is ResourceAlreadyExistsException. Deleting a bus deletes its rules and targets.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.naming import is_dot_name
from mqlite.protocols.aws.events.common import (
    BUS_NAME,
    DEFAULT_BUS,
    EventsState,
    bus_scope,
    drop_none,
    now_s,
    paginate,
    scope,
)
from mqlite.protocols.aws.events.errors import already_exists, bus_not_found, not_found, validation
from mqlite.protocols.aws.events.partners import find_source, short_name
from mqlite.protocols.aws.frontend import AwsContext


def require_bus(state: EventsState, ctx: AwsContext, name: str | None) -> dict[str, Any]:
    key, bus_name = bus_scope(ctx, name or DEFAULT_BUS)
    bus = state.bus(key, bus_name)
    if bus is None:
        raise bus_not_found(bus_name)
    return bus


def _bus_view(bus: dict[str, Any]) -> dict[str, Any]:
    return drop_none({
        "Name": bus["name"], "Arn": bus["arn"], "Description": bus.get("description"),
        "KmsKeyIdentifier": bus.get("kms"), "DeadLetterConfig": bus.get("dlq"),
        "LogConfig": bus.get("log"), "Policy": bus.get("policy"),
        "CreationTime": bus["created"], "LastModifiedTime": bus["modified"],
    })


def _list_view(bus: dict[str, Any]) -> dict[str, Any]:
    """ListEventBuses' EventBus: only the members of that shape (no KMS key, DLQ, logs)."""
    return drop_none({
        "Name": bus["name"], "Arn": bus["arn"], "Description": bus.get("description"),
        "Policy": bus.get("policy"), "CreationTime": bus["created"], "LastModifiedTime": bus["modified"],
    })


class BusActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    async def create_event_bus(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreateEventBus: a custom (or partner) bus; ResourceAlreadyExists when taken."""
        name = p["Name"]
        source = p.get("EventSourceName")
        if source:
            if short_name(name) != short_name(source):
                raise validation("Event source name must match event bus name for partner event buses.")
            if find_source(self.state, ctx.region, source) is None:
                raise not_found(f"Event source {source} does not exist.")
        elif "/" in name:
            raise validation("Event bus name must not contain '/'.")
        elif not BUS_NAME.match(name) or is_dot_name(name):
            raise validation(f"Event bus name {name} is not valid.")
        if name == DEFAULT_BUS:
            raise already_exists(f"Event bus {name} already exists.")
        if self.state.bus(scope(ctx), name) is not None:
            raise already_exists(f"Event bus {name} already exists.")
        bus = self.state.put_bus(scope(ctx), name, drop_none({
            "description": p.get("Description"), "kms": p.get("KmsKeyIdentifier"),
            "dlq": p.get("DeadLetterConfig"), "log": p.get("LogConfig"),
        }))
        tags = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
        if tags:
            self.state.set_tags(bus["arn"], tags)
        return drop_none({"EventBusArn": bus["arn"], "Description": bus.get("description"),
                          "KmsKeyIdentifier": bus.get("kms"), "DeadLetterConfig": bus.get("dlq"),
                          "LogConfig": bus.get("log")})

    async def describe_event_bus(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeEventBus: name, ARN, policy (PutPermission statements), times."""
        return _bus_view(require_bus(self.state, ctx, p.get("Name")))

    async def list_event_buses(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListEventBuses: by NamePrefix, paged with Limit/NextToken."""
        self.state.ensure_region(scope(ctx))
        prefix = p.get("NamePrefix") or ""
        buses = [b for b in self.state.buses.values(f"{scope(ctx)}/") if b["name"].startswith(prefix)]
        page, token = paginate(buses, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"EventBuses": [_list_view(b) for b in page]}
        if token:
            out["NextToken"] = token
        return out

    async def update_event_bus(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateEventBus: description, KMS key, dead-letter and log configuration."""
        bus = dict(require_bus(self.state, ctx, p.get("Name")))
        for param, key in (("Description", "description"), ("KmsKeyIdentifier", "kms"),
                           ("DeadLetterConfig", "dlq"), ("LogConfig", "log")):
            if param in p:
                bus[key] = p[param]
        bus["modified"] = now_s()
        self.state.buses.put(f"{scope(ctx)}/{bus['name']}", bus)
        return drop_none({"Arn": bus["arn"], "Name": bus["name"], "KmsKeyIdentifier": bus.get("kms"),
                          "Description": bus.get("description"), "DeadLetterConfig": bus.get("dlq"),
                          "LogConfig": bus.get("log")})

    async def delete_event_bus(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeleteEventBus: the default bus cannot be deleted; a missing bus is a no-op."""
        key, name = bus_scope(ctx, p["Name"])
        if name == DEFAULT_BUS:
            raise validation("Cannot delete event bus default.")
        bus = self.state.bus(key, name)
        if bus is not None:
            self.state.delete_bus(key, name)
            self.state.set_tags(bus["arn"], {})
        return {}
