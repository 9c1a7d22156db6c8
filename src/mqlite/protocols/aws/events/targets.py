"""PutTargets, RemoveTargets, ListTargetsByRule.

Rules from the EventBridge API reference: a rule has at most 5 targets
(LimitExceededException); target ids are 1-64 of `[.\\-_A-Za-z0-9]` and an existing id is
replaced; an ARN must be an ARN ("Parameter <arn> is not valid. Reason: Provided Arn is
not in correct format."); at most one of Input / InputPath / InputTransformer, each
validated (JSON Input, EventBridge's JSONPath subset); a FIFO SQS queue needs
SqsParameters.MessageGroupId; RetryPolicy MaximumRetryAttempts 0-185 and
MaximumEventAgeInSeconds 60-86400. A target stored here is exactly the Target structure
the client sent (ListTargetsByRule gives it back). Adding or removing a target rebinds
the rule (one core binding per target). Concurrency: the server's event loop only.
"""

from __future__ import annotations

from typing import Any

from mqlite.protocols.aws.events.common import (
    MAX_TARGETS,
    TARGET_ID,
    EventsState,
    paginate,
)
from mqlite.protocols.aws.events.errors import limit_exceeded, validation
from mqlite.protocols.aws.events.rules import find_rule, require_rule
from mqlite.protocols.aws.events.transform import validate_target_input
from mqlite.protocols.aws.frontend import AwsContext


def _check_target(target: dict[str, Any]) -> None:
    tid = target["Id"]
    if not TARGET_ID.match(tid):
        raise validation(
            f"1 validation error detected: Value '{tid}' at 'targets.1.member.id' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )
    arn = target["Arn"]
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[2] or not parts[5]:
        raise validation(f"Parameter {arn} is not valid. Reason: Provided Arn is not in correct format.")
    message = validate_target_input(target)
    if message:
        raise validation(message)
    if parts[2] == "sqs" and parts[5].endswith(".fifo") and not (target.get("SqsParameters") or {}).get("MessageGroupId"):
        raise validation(f"Parameter(s) SqsParameters must be specified for target: {tid}.")
    policy = target.get("RetryPolicy") or {}
    retries = policy.get("MaximumRetryAttempts")
    if retries is not None and not 0 <= retries <= 185:
        raise validation("Parameter MaximumRetryAttempts is not valid. Valid range is 0-185.")
    age = policy.get("MaximumEventAgeInSeconds")
    if age is not None and not 60 <= age <= 86400:
        raise validation("Parameter MaximumEventAgeInSeconds is not valid. Valid range is 60-86400.")
    dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
    if dlq is not None and not dlq.startswith("arn:aws:sqs:"):
        raise validation(f"Parameter {dlq} is not valid. Reason: Provided Arn is not in correct format.")


class TargetActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    async def put_targets(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutTargets: add or replace targets (by Id) of a rule, at most 5 in all."""
        for target in p["Targets"]:  # the targets first: AWS checks them before the rule
            _check_target(target)
        rule = dict(require_rule(self.state, ctx, p["Rule"], p.get("EventBusName")))
        targets = dict(rule.get("targets", {}))
        for target in p["Targets"]:
            targets[target["Id"]] = target
        if len(targets) > MAX_TARGETS:
            raise limit_exceeded("The requested resource exceeds the maximum number allowed.")
        rule["targets"] = targets
        self.state.save_rule(rule)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def remove_targets(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """RemoveTargets: remove targets by Id (unknown ids are ignored)."""
        rule = dict(require_rule(self.state, ctx, p["Rule"], p.get("EventBusName")))
        targets = dict(rule.get("targets", {}))
        for tid in p["Ids"]:
            targets.pop(tid, None)
        rule["targets"] = targets
        self.state.save_rule(rule)
        return {"FailedEntryCount": 0, "FailedEntries": []}

    async def list_targets_by_rule(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListTargetsByRule: the rule's targets as sent, paged with Limit/NextToken."""
        rule = find_rule(self.state, ctx, p["Rule"], p.get("EventBusName"))
        items = list(rule.get("targets", {}).values())
        page, token = paginate(items, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"Targets": page}
        if token:
            out["NextToken"] = token
        return out
