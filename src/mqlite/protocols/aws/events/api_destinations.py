"""CreateApiDestination, DescribeApiDestination, ListApiDestinations,
UpdateApiDestination, DeleteApiDestination.

An API destination is an HTTP endpoint (InvocationEndpoint, `*` wildcards filled from a
target's PathParameterValues), an HttpMethod, a connection (its authorization) and an
InvocationRateLimitPerSecond (default 300) that the shared HttpDelivery enforces per
URL. Names are 1-64 of `[\\.\\-_A-Za-z0-9]`; the connection must exist
(ResourceNotFoundException); a missing destination is ResourceNotFoundException "An
api-destination '<n>' does not exist.". State is ACTIVE.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from mqlite.protocols.aws.events.common import (
    EventsState,
    drop_none,
    now_s,
    paginate,
    resource_arn,
    scope,
)
from mqlite.protocols.aws.events.errors import already_exists, not_found, validation
from mqlite.protocols.aws.frontend import AwsContext

NAME = re.compile(r"^[\.\-_A-Za-z0-9]{1,64}$")
METHODS = ("POST", "GET", "HEAD", "OPTIONS", "PUT", "PATCH", "DELETE")
DEFAULT_RATE = 300


def require_destination(state: EventsState, ctx: AwsContext, name: str) -> dict[str, Any]:
    dest = state.api_destinations.get(f"{scope(ctx)}/{name}")
    if dest is None:
        raise not_found(f"An api-destination '{name}' does not exist.")
    return dest


def _connection_name(state: EventsState, ctx: AwsContext, arn: str) -> str:
    for conn in state.connections.values(f"{scope(ctx)}/"):
        if conn["arn"] == arn:
            return str(conn["name"])
    raise not_found(f"Connection '{arn}' does not exist.")


# The model's HttpsEndpoint pattern: a scheme is optional ("www.example.com" is accepted,
# as AWS accepts it, and called over HTTPS).
_ENDPOINT = re.compile(r"^((%[0-9A-Fa-f]{2}|[-()_.!~*';/?:@\x26=+$,A-Za-z0-9])+)([).!';/?:,])?$")


def endpoint_url(endpoint: str) -> str:
    """The URL an InvocationEndpoint is called at (https:// when it names no scheme)."""
    return endpoint if re.match(r"^https?://", endpoint) else f"https://{endpoint}"


def _check(p: dict[str, Any], policy: Any) -> None:
    method = p.get("HttpMethod")
    if method is not None and method not in METHODS:
        raise validation(f"1 validation error detected: Value '{method}' at 'httpMethod' failed to satisfy "
                         f"constraint: Member must satisfy enum value set: [{', '.join(METHODS)}]")
    endpoint = p.get("InvocationEndpoint")
    if endpoint is not None and not _ENDPOINT.match(endpoint):
        raise validation(f"1 validation error detected: Value '{endpoint}' at 'invocationEndpoint' failed to "
                         f"satisfy constraint: Member must satisfy regular expression pattern: {_ENDPOINT.pattern}")
    if endpoint is not None and "://" in endpoint and not re.match(r"^https?://", endpoint):
        raise validation("Parameter InvocationEndpoint is not valid. Reason: Must be an http(s) URL.")
    refusal = policy.refusal(endpoint_url(endpoint)) if endpoint is not None else None
    if refusal is not None:  # the operator's --http-destination policy
        raise validation(f"Parameter InvocationEndpoint is not valid. Reason: {refusal}.")
    rate = p.get("InvocationRateLimitPerSecond")
    if rate is not None and rate < 1:
        raise validation("Parameter InvocationRateLimitPerSecond is not valid. Reason: Must be at least 1.")


class ApiDestinationActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _short(self, d: dict[str, Any]) -> dict[str, Any]:
        return {"ApiDestinationArn": d["arn"], "ApiDestinationState": d["state"],
                "CreationTime": d["created"], "LastModifiedTime": d["modified"]}

    def _full(self, d: dict[str, Any]) -> dict[str, Any]:
        return drop_none({
            "ApiDestinationArn": d["arn"], "Name": d["name"], "Description": d.get("description"),
            "ApiDestinationState": d["state"], "ConnectionArn": d["connection_arn"],
            "InvocationEndpoint": d["endpoint"], "HttpMethod": d["method"],
            "InvocationRateLimitPerSecond": d["rate"], "CreationTime": d["created"],
            "LastModifiedTime": d["modified"],
        })

    async def create_api_destination(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreateApiDestination: an HTTP endpoint with a connection and a rate limit."""
        name = p["Name"]
        if not NAME.match(name):
            raise validation(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
        if self.state.api_destinations.get(f"{scope(ctx)}/{name}") is not None:
            raise already_exists(f"An api-destination '{name}' already exists.")
        _check(p, self.state.core.routers.http.policy)
        connection = _connection_name(self.state, ctx, p["ConnectionArn"])
        now = now_s()
        uid = str(uuid.uuid4())
        dest = drop_none({
            "name": name, "region": scope(ctx),
            "arn": resource_arn(ctx.region, ctx.account, "api-destination", f"{name}/{uid}"),
            "description": p.get("Description"), "connection": connection,
            "connection_arn": p["ConnectionArn"], "endpoint": p["InvocationEndpoint"],
            "method": p["HttpMethod"], "rate": p.get("InvocationRateLimitPerSecond") or DEFAULT_RATE,
            "state": "ACTIVE", "created": now, "modified": now,
        })
        self.state.api_destinations.put(f"{scope(ctx)}/{name}", dest)
        return self._short(dest)

    async def describe_api_destination(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeApiDestination: endpoint, method, connection, rate limit, state."""
        return self._full(require_destination(self.state, ctx, p["Name"]))

    async def list_api_destinations(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListApiDestinations: by NamePrefix and ConnectionArn, paged."""
        items = [d for d in self.state.api_destinations.values(f"{scope(ctx)}/")
                 if d["name"].startswith(p.get("NamePrefix") or "")
                 and (not p.get("ConnectionArn") or d["connection_arn"] == p["ConnectionArn"])]
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"ApiDestinations": [self._full(d) for d in page]}
        for view in out["ApiDestinations"]:
            view.pop("Description", None)
        if token:
            out["NextToken"] = token
        return out

    async def update_api_destination(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateApiDestination: any of description, connection, endpoint, method, rate."""
        d = dict(require_destination(self.state, ctx, p["Name"]))
        _check(p, self.state.core.routers.http.policy)
        if p.get("ConnectionArn"):
            d["connection"] = _connection_name(self.state, ctx, p["ConnectionArn"])
            d["connection_arn"] = p["ConnectionArn"]
        for param, key in (("Description", "description"), ("InvocationEndpoint", "endpoint"),
                           ("HttpMethod", "method"), ("InvocationRateLimitPerSecond", "rate")):
            if p.get(param) is not None:
                d[key] = p[param]
        d["modified"] = now_s()
        self.state.api_destinations.put(f"{scope(ctx)}/{d['name']}", d)
        return self._short(d)

    async def delete_api_destination(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeleteApiDestination."""
        d = require_destination(self.state, ctx, p["Name"])
        self.state.api_destinations.delete(f"{scope(ctx)}/{d['name']}")
        self.state.set_tags(d["arn"], {})
        return {}
