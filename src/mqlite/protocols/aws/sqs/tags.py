"""TagQueue, UntagQueue, ListQueueTags, AddPermission, RemovePermission.

Tags: at most 50 per queue, keys 1-128 and values 0-256 characters, kept in the queue's
SQS state; an empty TagQueue or UntagQueue is refused. Permissions become statements of
the queue's `Policy` attribute (Sid = Label), with single principals and actions as
scalars the way SQS writes them; at most 7 actions, only those a non-owner may be
granted; a repeated label or an unknown one is `InvalidParameterValue`.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import Any

import orjson

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs.common import SqsState, name_from_url, now_s, queue_arn
from mqlite.protocols.aws.wire import AwsError

# The actions AddPermission may grant (AddPermission reference: the owner keeps the rest).
GRANTABLE = frozenset({
    "*", "ChangeMessageVisibility", "DeleteMessage", "GetQueueAttributes", "GetQueueUrl",
    "ListDeadLetterSourceQueues", "PurgeQueue", "ReceiveMessage", "SendMessage",
})


def _one_or_many(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


class TagActions:
    def __init__(self, core: BrokerCore, state: SqsState) -> None:
        self.core = core
        self.state = state

    def _name(self, url: str) -> str:
        return self.core.get_queue(name_from_url(url)).name

    async def tag_queue(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """TagQueue."""
        name = self._name(p["QueueUrl"])
        state = dict(self.state.get(name))
        tags = dict(state.get("tags") or {})
        if not p.get("Tags"):
            raise AwsError("MissingParameter", "The request must contain the parameter Tags.", 400)
        for k, v in p["Tags"].items():
            if not 1 <= len(k) <= 128 or len(v or "") > 256:
                raise AwsError("InvalidParameterValue", f"Tag {k} is invalid.", 400)
            tags[k] = v or ""
        if len(tags) > 50:
            raise AwsError("InvalidParameterValue", f"Too many tags added for queue {name}.", 400)
        state["tags"] = tags
        self.state.put(name, state)

    async def untag_queue(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UntagQueue."""
        name = self._name(p["QueueUrl"])
        state = dict(self.state.get(name))
        tags = dict(state.get("tags") or {})
        if not p.get("TagKeys"):
            raise AwsError("InvalidParameterValue", "Tag keys must be between 1 and 128 characters in length.", 400)
        for k in p["TagKeys"]:
            tags.pop(k, None)
        state["tags"] = tags
        self.state.put(name, state)

    async def list_queue_tags(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListQueueTags."""
        tags = self.state.get(self._name(p["QueueUrl"])).get("tags") or {}
        return {"Tags": dict(tags)} if tags else {}

    async def add_permission(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """AddPermission."""
        name = self._name(p["QueueUrl"])
        label = p["Label"]
        accounts, actions = p.get("AWSAccountIds") or [], p.get("Actions") or []
        if not actions:
            raise AwsError("MissingParameter", "The request must contain the parameter Actions.", 400)
        if not accounts:
            raise AwsError("InvalidParameterValue", "Value [] for parameter PrincipalId is invalid. Reason: Unable to verify.", 400)
        if len(actions) > 7:
            raise AwsError("OverLimit", f"{len(actions)} Actions were found, maximum allowed is 7.", 403)
        for action in actions:
            if action not in GRANTABLE:
                raise AwsError("InvalidParameterValue", f"Value SQS:{action} for parameter ActionName is invalid. Reason: Only the queue owner is allowed to invoke this action.", 400)
        state = dict(self.state.get(name))
        policy: dict[str, Any] = orjson.loads(state["policy"]) if state.get("policy") else {
            "Version": "2012-10-17", "Id": f"{queue_arn(ctx, name)}/SQSDefaultPolicy", "Statement": []}
        statements: list[dict[str, Any]] = policy.setdefault("Statement", [])
        if any(s.get("Sid") == label for s in statements):
            raise AwsError("InvalidParameterValue", f"Value {label} for parameter Label is invalid. Reason: Already exists.", 400)
        statements.append({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": _one_or_many([f"arn:aws:iam::{a}:root" for a in accounts])},
            "Action": _one_or_many([f"SQS:{a}" for a in actions]),
            "Resource": queue_arn(ctx, name),
        })
        state["policy"] = orjson.dumps(policy).decode()
        state["modified"] = now_s()
        self.state.put(name, state)

    async def remove_permission(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """RemovePermission."""
        name = self._name(p["QueueUrl"])
        label = p["Label"]
        state = dict(self.state.get(name))
        policy = orjson.loads(state["policy"]) if state.get("policy") else {"Statement": []}
        statements = policy.get("Statement", [])
        kept = [s for s in statements if s.get("Sid") != label]
        if len(kept) == len(statements):
            raise AwsError("InvalidParameterValue", f"Value {label} for parameter Label is invalid. Reason: can't find label on existing policy.", 400)
        policy["Statement"] = kept
        state["policy"] = orjson.dumps(policy).decode() if kept else ""
        self.state.put(name, state)
