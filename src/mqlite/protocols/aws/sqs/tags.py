"""TagQueue, UntagQueue, ListQueueTags, AddPermission, RemovePermission.

Tags: at most 50 per queue, keys 1-128 and values 0-256 characters, kept in the queue's
SQS state. Permissions become statements of the queue's `Policy` attribute (Sid =
Label); a repeated label or an unknown one is `InvalidParameterValue`.
Concurrency: the server's event loop.
"""

from __future__ import annotations

from typing import Any

import orjson

from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs.common import SqsState, name_from_url, now_s, queue_arn
from mqlite.protocols.aws.wire import AwsError


class TagActions:
    def __init__(self, core: Any, state: SqsState) -> None:
        self.core = core
        self.state = state

    def _name(self, url: str) -> str:
        return self.core.get_queue(name_from_url(url)).name

    async def tag_queue(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """TagQueue."""
        name = self._name(p["QueueUrl"])
        state = dict(self.state.get(name))
        tags = dict(state.get("tags") or {})
        for k, v in (p.get("Tags") or {}).items():
            if not 1 <= len(k) <= 128 or len(v or "") > 256:
                raise AwsError("InvalidParameterValue", f"Tag {k} is invalid.", 400)
            tags[k] = v or ""
        if len(tags) > 50:
            raise AwsError("InvalidParameterValue", "Too many tags added for queue. Maximum 50.", 400)
        state["tags"] = tags
        self.state.put(name, state)

    async def untag_queue(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UntagQueue."""
        name = self._name(p["QueueUrl"])
        state = dict(self.state.get(name))
        tags = dict(state.get("tags") or {})
        for k in p.get("TagKeys") or []:
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
        if not accounts:
            raise AwsError("MissingParameter", "The request must contain the parameter AWSAccountIds.", 400)
        if not actions:
            raise AwsError("MissingParameter", "The request must contain the parameter Actions.", 400)
        state = dict(self.state.get(name))
        policy: dict[str, Any] = orjson.loads(state["policy"]) if state.get("policy") else {
            "Version": "2012-10-17", "Id": f"{queue_arn(ctx, name)}/SQSDefaultPolicy", "Statement": []}
        statements: list[dict[str, Any]] = policy.setdefault("Statement", [])
        if any(s.get("Sid") == label for s in statements):
            raise AwsError("InvalidParameterValue", f"Value {label} for parameter Label is invalid. Reason: Already exists.", 400)
        statements.append({
            "Sid": label,
            "Effect": "Allow",
            "Principal": {"AWS": [f"arn:aws:iam::{a}:root" for a in accounts]},
            "Action": [f"SQS:{a}" for a in actions],
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
