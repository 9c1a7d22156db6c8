"""CreateConnection, DescribeConnection, ListConnections, UpdateConnection,
DeleteConnection, DeauthorizeConnection.

A connection holds an API destination's authorization: `BASIC` (username, password),
`API_KEY` (a header name and value) or `OAUTH_CLIENT_CREDENTIALS` (client id and secret,
the token URL and its HTTP method and extra parameters), plus
InvocationHttpParameters sent with every invocation. As in AWS, secrets (password, API
key value, client secret) are stored but never returned: Describe shows the
non-secret parameters and a SecretArn. A connection is AUTHORIZED once created (the
OAuth token is fetched on first invocation and cached until it expires);
DeauthorizeConnection makes it DEAUTHORIZED (invocations then fail to the DLQ).
Names are 1-64 of `[\\.\\-_A-Za-z0-9]`; a taken name is ResourceAlreadyExistsException;
a missing connection ResourceNotFoundException "Connection '<n>' does not exist.";
deleting a connection an API destination uses is allowed (as on AWS): invocations of
that destination then fail to the target's dead-letter queue.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import copy
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
AUTH_TYPES = ("BASIC", "OAUTH_CLIENT_CREDENTIALS", "API_KEY")
_PARAM_FOR = {"BASIC": "BasicAuthParameters", "OAUTH_CLIENT_CREDENTIALS": "OAuthParameters",
              "API_KEY": "ApiKeyAuthParameters"}


def require_connection(state: EventsState, ctx: AwsContext, name: str) -> dict[str, Any]:
    conn = state.connections.get(f"{scope(ctx)}/{name}")
    if conn is None:
        raise not_found(f"Connection '{name}' does not exist.")
    return conn


def _redacted(auth: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(auth)
    out.get("BasicAuthParameters", {}).pop("Password", None)
    out.get("ApiKeyAuthParameters", {}).pop("ApiKeyValue", None)
    out.get("OAuthParameters", {}).get("ClientParameters", {}).pop("ClientSecret", None)
    for section in ("InvocationHttpParameters",):
        params = out.get(section) or {}
        for group in ("HeaderParameters", "QueryStringParameters", "BodyParameters"):
            for item in params.get(group) or []:
                if item.get("IsValueSecret"):
                    item.pop("Value", None)
    return out


def _check_auth(kind: str, auth: dict[str, Any], policy: Any) -> None:
    if kind not in AUTH_TYPES:
        raise validation(f"1 validation error detected: Value '{kind}' at 'authorizationType' failed to "
                         f"satisfy constraint: Member must satisfy enum value set: [{', '.join(AUTH_TYPES)}]")
    if not auth.get(_PARAM_FOR[kind]):
        raise validation(f"Parameter(s) {_PARAM_FOR[kind]} must be specified for {kind} authorization type.")
    if kind == "OAUTH_CLIENT_CREDENTIALS":
        oauth = auth["OAuthParameters"]
        if not oauth.get("ClientParameters") or not oauth.get("AuthorizationEndpoint"):
            raise validation("Parameter(s) ClientParameters and AuthorizationEndpoint must be specified.")
        refusal = policy.refusal(oauth["AuthorizationEndpoint"])
        if refusal is not None:  # the operator's --http-destination policy
            raise validation(f"Parameter AuthorizationEndpoint is not valid. Reason: {refusal}.")


class ConnectionActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _short(self, c: dict[str, Any]) -> dict[str, Any]:
        return drop_none({"ConnectionArn": c["arn"], "ConnectionState": c["state"],
                          "CreationTime": c["created"], "LastModifiedTime": c["modified"],
                          "LastAuthorizedTime": c.get("authorized")})

    async def create_connection(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """CreateConnection: BASIC, API_KEY or OAUTH_CLIENT_CREDENTIALS authorization."""
        name = p["Name"]
        if not NAME.match(name):
            raise validation(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                             "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+")
        if self.state.connections.get(f"{scope(ctx)}/{name}") is not None:
            raise already_exists(f"Connection {name} already exists.")
        kind = p["AuthorizationType"]
        auth = p["AuthParameters"]
        _check_auth(kind, auth, self.state.core.routers.http.policy)
        now = now_s()
        uid = str(uuid.uuid4())
        conn = drop_none({
            "name": name, "region": scope(ctx), "uuid": uid,
            "arn": resource_arn(ctx.region, ctx.account, "connection", f"{name}/{uid}"),
            "secret": f"arn:aws:secretsmanager:{ctx.region}:{ctx.account}:secret:events!connection/{name}/{uid}",
            "description": p.get("Description"), "auth_type": kind, "auth": auth,
            "state": "AUTHORIZED", "created": now, "modified": now, "authorized": now,
        })
        self.state.connections.put(f"{scope(ctx)}/{name}", conn)
        out = self._short(conn)
        out.pop("LastAuthorizedTime", None)
        return out

    async def describe_connection(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeConnection: everything but the secrets, and the SecretArn."""
        c = require_connection(self.state, ctx, p["Name"])
        return drop_none({
            "ConnectionArn": c["arn"], "Name": c["name"], "Description": c.get("description"),
            "ConnectionState": c["state"], "AuthorizationType": c["auth_type"], "SecretArn": c["secret"],
            "AuthParameters": _redacted(c["auth"]), "CreationTime": c["created"],
            "LastModifiedTime": c["modified"], "LastAuthorizedTime": c.get("authorized"),
        })

    async def list_connections(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListConnections: by NamePrefix and ConnectionState, paged."""
        items = [c for c in self.state.connections.values(f"{scope(ctx)}/")
                 if c["name"].startswith(p.get("NamePrefix") or "")
                 and (not p.get("ConnectionState") or c["state"] == p["ConnectionState"])]
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"Connections": [
            drop_none({"ConnectionArn": c["arn"], "Name": c["name"], "ConnectionState": c["state"],
                       "AuthorizationType": c["auth_type"], "CreationTime": c["created"],
                       "LastModifiedTime": c["modified"], "LastAuthorizedTime": c.get("authorized")})
            for c in page
        ]}
        if token:
            out["NextToken"] = token
        return out

    async def update_connection(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateConnection: description, authorization type and parameters (merged)."""
        c = copy.deepcopy(require_connection(self.state, ctx, p["Name"]))
        if "Description" in p:
            c["description"] = p["Description"]
        kind = p.get("AuthorizationType") or c["auth_type"]
        if "AuthParameters" in p:
            auth = dict(c["auth"]) if kind == c["auth_type"] else {}
            for key, value in p["AuthParameters"].items():
                if isinstance(value, dict) and isinstance(auth.get(key), dict):
                    auth[key] = {**auth[key], **value}
                else:
                    auth[key] = value
            c["auth"] = auth
        _check_auth(kind, c["auth"], self.state.core.routers.http.policy)
        c["auth_type"] = kind
        c["modified"] = c["authorized"] = now_s()
        c["state"] = "AUTHORIZED"
        self.state.connections.put(f"{scope(ctx)}/{c['name']}", c)
        dispatcher = self.state.delivery
        if dispatcher is not None:
            dispatcher.tokens.pop(c["arn"], None)
        return self._short(c)

    async def delete_connection(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeleteConnection: the connection is gone; the answer has its state before the
        deletion (the API reference: "The state of the connection before it was deleted")."""
        c = require_connection(self.state, ctx, p["Name"])
        self.state.connections.delete(f"{scope(ctx)}/{c['name']}")
        self.state.set_tags(c["arn"], {})
        return self._short(c)

    async def deauthorize_connection(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeauthorizeConnection: the connection is DEAUTHORIZED (its OAuth token dropped)."""
        c = dict(require_connection(self.state, ctx, p["Name"]))
        c["state"] = "DEAUTHORIZED"
        c["modified"] = now_s()
        self.state.connections.put(f"{scope(ctx)}/{c['name']}", c)
        if self.state.delivery is not None:
            self.state.delivery.tokens.pop(c["arn"], None)
        out = self._short(c)
        return out
