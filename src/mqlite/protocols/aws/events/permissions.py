"""PutPermission, RemovePermission: the resource policy of an event bus.

PutPermission adds (or replaces, by StatementId) one statement allowing `Principal`
(an account id or `*`, then with an optional Condition) to `events:PutEvents`, or sets
the whole `Policy` document; the policy is returned by DescribeEventBus. mqlite does not
enforce it (requests are not authorized per principal). RemovePermission deletes one
statement (ResourceNotFoundException "Statement with the provided id does not exist.")
or all of them. Concurrency: the server's event loop only.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from mqlite.protocols.aws.events.buses import require_bus
from mqlite.protocols.aws.events.common import EventsState, now_s, scope
from mqlite.protocols.aws.events.errors import not_found, validation
from mqlite.protocols.aws.frontend import AwsContext

PRINCIPAL = re.compile(r"^(\d{12}|\*)$")
STATEMENT_ID = re.compile(r"^[a-zA-Z0-9-_]{1,64}$")


class PermissionActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _save(self, ctx: AwsContext, bus: dict[str, Any], policy: dict[str, Any] | None) -> None:
        bus = dict(bus)
        if policy and policy.get("Statement"):
            bus["policy"] = orjson.dumps(policy).decode()
        else:
            bus.pop("policy", None)
        bus["modified"] = now_s()
        self.state.buses.put(f"{scope(ctx)}/{bus['name']}", bus)

    async def put_permission(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutPermission: add a statement (Action/Principal/StatementId) or set Policy."""
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        if p.get("Policy"):
            try:
                policy = orjson.loads(p["Policy"])
            except orjson.JSONDecodeError:
                raise validation("Policy is not valid JSON.") from None
            self._save(ctx, bus, policy)
            return {}
        action, principal, sid = p.get("Action"), p.get("Principal"), p.get("StatementId")
        if not action or not principal or not sid:
            raise validation("Parameters Action, Principal and StatementId are required unless Policy is set.")
        if action != "events:PutEvents":
            raise validation("Provided value in parameter 'action' is not supported.")
        if not PRINCIPAL.match(principal):
            raise validation("Provided value in parameter 'principal' is not supported.")
        if not STATEMENT_ID.match(sid):
            raise validation(f"Provided value in parameter 'statementId' is not valid: {sid}.")
        policy = orjson.loads(bus["policy"]) if bus.get("policy") else {"Version": "2012-10-17", "Statement": []}
        statement: dict[str, Any] = {
            "Sid": sid, "Effect": "Allow",
            "Principal": "*" if principal == "*" else {"AWS": f"arn:aws:iam::{principal}:root"},
            "Action": action, "Resource": bus["arn"],
        }
        condition = p.get("Condition")
        if condition:
            statement["Condition"] = {condition["Type"]: {condition["Key"]: condition["Value"]}}
        policy["Statement"] = [s for s in policy["Statement"] if s.get("Sid") != sid] + [statement]
        self._save(ctx, bus, policy)
        return {}

    async def remove_permission(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """RemovePermission: one statement by id, or all (RemoveAllPermissions)."""
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        policy = orjson.loads(bus["policy"]) if bus.get("policy") else None
        if p.get("RemoveAllPermissions"):
            self._save(ctx, bus, None)
            return {}
        sid = p.get("StatementId")
        if not sid:
            raise validation("Parameter StatementId is required unless RemoveAllPermissions is true.")
        if policy is None:
            raise not_found("EventBus does not have a policy.")
        kept = [s for s in policy["Statement"] if s.get("Sid") != sid]
        if len(kept) == len(policy["Statement"]):
            raise not_found("Statement with the provided id does not exist.")
        policy["Statement"] = kept
        self._save(ctx, bus, policy)
        return {}
