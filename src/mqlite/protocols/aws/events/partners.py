"""Partner event sources: CreatePartnerEventSource, DescribePartnerEventSource,
ListPartnerEventSources, DeletePartnerEventSource (the partner's side) and
DescribeEventSource, ListEventSources (the customer's side).

A SaaS partner creates `partner/namespace/event` for a customer account; the customer
sees it as `aws.partner/partner/namespace/event` and makes a partner event bus of that
name (CreateEventBus with EventSourceName, which needs the source: ResourceNotFoundException
"Event source <n> does not exist." otherwise). mqlite serves one account, so the
partner's and the customer's sides are the same server; a name is accepted with or
without its `aws.partner/` prefix. A deleted source stays DELETED for the customer.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import re
from typing import Any

from mqlite.protocols.aws.events.common import EventsState, drop_none, now_s, paginate
from mqlite.protocols.aws.events.errors import already_exists, not_found, validation
from mqlite.protocols.aws.frontend import AwsContext

PARTNER = "aws.partner/"
_NAME = re.compile(r"^[\.\-_A-Za-z0-9]+/[/\.\-_A-Za-z0-9]*[\.\-_A-Za-z0-9]$")


def short_name(name: str) -> str:
    return name[len(PARTNER):] if name.startswith(PARTNER) else name


def find_source(state: EventsState, region: str, name: str) -> dict[str, Any] | None:
    """The live (not deleted) partner event source of that name, if any."""
    source = state.sources.get(f"{region}/{short_name(name)}")
    return source if source is not None and source.get("state") != "DELETED" else None


class PartnerActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _require(self, ctx: AwsContext, name: str) -> dict[str, Any]:
        source = self.state.sources.get(f"{ctx.region}/{short_name(name)}")
        if source is None:
            raise not_found(f"Event source {name} does not exist.")
        return source

    async def create_partner_event_source(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreatePartnerEventSource: `partner/namespace/event` for an account."""
        name = short_name(p["Name"])
        if not _NAME.match(name):
            raise validation(f"Event source name {p['Name']} is not valid.")
        key = f"{ctx.region}/{name}"
        if find_source(self.state, ctx.region, name) is not None:
            raise already_exists(f"Event source {name} already exists.")
        source = {"name": name, "account": p["Account"], "region": ctx.region, "state": "ACTIVE",
                  "arn": f"arn:aws:events:{ctx.region}::event-source/{PARTNER}{name}", "created": now_s()}
        self.state.sources.put(key, source)
        return {"EventSourceArn": source["arn"]}

    async def describe_partner_event_source(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribePartnerEventSource: its ARN and name."""
        source = self._require(ctx, p["Name"])
        return {"Arn": source["arn"], "Name": PARTNER + source["name"]}

    async def list_partner_event_sources(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListPartnerEventSources: by NamePrefix, paged with Limit/NextToken."""
        prefix = short_name(p["NamePrefix"])
        items = [{"Arn": s["arn"], "Name": PARTNER + s["name"]} for s in self.state.sources.values(f"{ctx.region}/")
                 if s["name"].startswith(prefix) and s.get("state") != "DELETED"]
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        return drop_none({"PartnerEventSources": page, "NextToken": token})

    async def delete_partner_event_source(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeletePartnerEventSource: the customer then sees it DELETED."""
        source = self.state.sources.get(f"{ctx.region}/{short_name(p['Name'])}")
        if source is not None:
            self.state.sources.put(f"{ctx.region}/{source['name']}", dict(source, state="DELETED"))
        return {}

    def _customer_view(self, s: dict[str, Any]) -> dict[str, Any]:
        return {"Arn": s["arn"], "CreatedBy": s["name"].split("/", 1)[0], "CreationTime": s["created"],
                "Name": PARTNER + s["name"], "State": s.get("state", "ACTIVE")}

    async def describe_event_source(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeEventSource: the customer's view (CreatedBy the partner, State)."""
        return self._customer_view(self._require(ctx, p["Name"]))

    async def list_event_sources(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListEventSources: the customer's view, by NamePrefix."""
        prefix = short_name(p.get("NamePrefix") or "")
        items = [self._customer_view(s) for s in self.state.sources.values(f"{ctx.region}/")
                 if s["name"].startswith(prefix)]
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        return drop_none({"EventSources": page, "NextToken": token})
