"""PutRule, DescribeRule, ListRules, ListRuleNamesByTarget, EnableRule, DisableRule,
DeleteRule, TestEventPattern.

Rules from the EventBridge API reference: a rule has an EventPattern or a
ScheduleExpression (ValidationException "Parameter(s) EventPattern or
ScheduleExpression must be specified."); schedules only on the default bus; PutRule on
an existing rule replaces what it specifies and keeps its targets (omitted State means
ENABLED); an invalid pattern is InvalidEventPatternException with AWS's reason; a missing
rule is ResourceNotFoundException "Rule <r> does not exist on EventBus <bus>." (DescribeRule
says "Rule <r> does not exist."); archives' managed rules are listed and described
(`managed.py`); DeleteRule
refuses while targets exist ("Rule can't be deleted since it has targets.") unless Force;
at most 300 rules per bus (LimitExceededException). Disabled rules match nothing and do
not fire. TestEventPattern validates the pattern the same way and needs an event with the
envelope fields id, account, source, time, region, detail-type (ValidationException
"Parameter Event is not valid." otherwise; `resources` may be absent, as in AWS). Patterns are at most
4096 characters (the model's limit; ValidationException).
Concurrency: the server's event loop only.
"""

from __future__ import annotations

from typing import Any

import orjson

from mqlite.core.matchers.event_pattern import compile_event_pattern, test_event_pattern
from mqlite.protocols.aws.events.buses import require_bus
from mqlite.protocols.aws.events.common import (
    DEFAULT_BUS,
    RULE_NAME,
    EventsState,
    drop_none,
    paginate,
    rule_arn,
    scope,
)
from mqlite.protocols.aws.events.errors import (
    limit_exceeded,
    not_found,
    rule_not_found,
    validation,
)
from mqlite.protocols.aws.events.managed import PREFIX, archive_rule, archive_rules
from mqlite.protocols.aws.events.schedule import ScheduleError, parse_schedule
from mqlite.protocols.aws.frontend import AwsContext

MAX_RULES_PER_BUS = 300
STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
EVENT_FIELDS = ("id", "account", "source", "time", "region", "detail-type")
MAX_PATTERN = 4096  # the model's EventPattern length limit


def check_pattern(pattern: str) -> None:
    """Length as the model limits it, then EventBridge's pattern validation."""
    if len(pattern) > MAX_PATTERN:
        raise validation(
            f"1 validation error detected: Value '{pattern}' at 'eventPattern' failed to satisfy "
            f"constraint: Member must have length less than or equal to {MAX_PATTERN}"
        )
    compile_event_pattern(pattern)  # InvalidEventPatternException with AWS's reason


def check_rule_name(name: str) -> None:
    if not RULE_NAME.match(name or ""):
        raise validation(
            f"1 validation error detected: Value '{name}' at 'name' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_A-Za-z0-9]+"
        )


def require_rule(state: EventsState, ctx: AwsContext, name: str, bus_param: str | None) -> dict[str, Any]:
    bus = require_bus(state, ctx, bus_param)
    rule = state.rule(scope(ctx), bus["name"], name)
    if rule is None:
        raise rule_not_found(name, bus["name"])
    return rule


def find_rule(state: EventsState, ctx: AwsContext, name: str, bus_param: str | None,
              short: bool = False) -> dict[str, Any]:
    """A rule for the read actions: a stored rule or an archive's managed rule. A missing
    one is "Rule <r> does not exist on EventBus <bus>.", or with `short` "Rule <r> does
    not exist." (DescribeRule's, EnableRule's and DisableRule's text)."""
    bus = require_bus(state, ctx, bus_param)
    rule = state.rule(scope(ctx), bus["name"], name)
    if rule is None and name.startswith(PREFIX):
        archive = state.archives.get(f"{scope(ctx)}/{name[len(PREFIX):]}")
        if archive is not None and archive["bus"] == bus["name"]:
            rule = archive_rule(archive, ctx.account)
    if rule is None:
        raise not_found(f"Rule {name} does not exist.") if short else rule_not_found(name, bus["name"])
    return rule


def all_rules(state: EventsState, ctx: AwsContext, bus: str) -> list[dict[str, Any]]:
    """The bus's rules and its archives' managed rules, by name."""
    rules = list(state.rules.values(f"{scope(ctx)}/{bus}/"))
    rules += archive_rules(state.archives.values(f"{scope(ctx)}/"), bus, ctx.account)
    return sorted(rules, key=lambda r: r["name"])


def rule_view(rule: dict[str, Any], account: str) -> dict[str, Any]:
    return drop_none({
        "Name": rule["name"], "Arn": rule["arn"], "EventPattern": rule.get("pattern"),
        "ScheduleExpression": rule.get("schedule"), "State": rule.get("state", "ENABLED"),
        "Description": rule.get("description"), "RoleArn": rule.get("role"),
        "ManagedBy": rule.get("managed_by"), "EventBusName": rule["bus"],
    })


class RuleActions:
    def __init__(self, state: EventsState) -> None:
        self.state = state

    def _arm(self, rule: dict[str, Any]) -> None:
        scheduler = self.state.scheduler
        if scheduler is not None:
            key = self.state.rule_key(rule["region"], rule["bus"], rule["name"])
            scheduler.arm(key, rule.get("schedule"), rule.get("state") == "ENABLED")

    async def put_rule(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """PutRule: create or replace a rule (pattern and/or schedule) on a bus."""
        name = p["Name"]
        check_rule_name(name)
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        pattern, schedule = p.get("EventPattern"), p.get("ScheduleExpression")
        if not pattern and not schedule:
            raise validation("Parameter(s) EventPattern or ScheduleExpression must be specified.")
        if schedule:
            if bus["name"] != DEFAULT_BUS:
                raise validation("ScheduleExpression is supported only on the default event bus.")
            try:
                parse_schedule(schedule)
            except ScheduleError:
                raise validation("Parameter ScheduleExpression is not valid.") from None
        if pattern:
            check_pattern(pattern)
        state_value = p.get("State") or "ENABLED"
        if state_value not in STATES:
            raise validation(
                f"1 validation error detected: Value '{state_value}' at 'state' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(STATES)}]"
            )
        existing = self.state.rule(scope(ctx), bus["name"], name)
        if existing is None:
            count = sum(1 for _ in self.state.rules.values(f"{scope(ctx)}/{bus['name']}/"))
            if count >= MAX_RULES_PER_BUS:
                raise limit_exceeded("The requested resource exceeds the maximum number allowed.")
        arn = rule_arn(ctx.region, ctx.account, bus["name"], name)
        rule = drop_none({
            "name": name, "bus": bus["name"], "region": scope(ctx), "arn": arn,
            "pattern": pattern, "schedule": schedule, "state": state_value,
            "description": p.get("Description"), "role": p.get("RoleArn"),
            "targets": dict(existing["targets"]) if existing else {},
        })
        self.state.save_rule(rule)
        self._arm(rule)
        tags = {t["Key"]: t["Value"] for t in p.get("Tags") or []}
        if tags:
            merged = self.state.get_tags(arn)
            merged.update(tags)
            self.state.set_tags(arn, merged)
        return {"RuleArn": arn}

    async def describe_rule(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeRule: the rule's pattern/schedule, state, description, role, bus."""
        rule = find_rule(self.state, ctx, p["Name"], p.get("EventBusName"), short=True)
        view = rule_view(rule, ctx.account)
        view["CreatedBy"] = ctx.account
        return view

    async def list_rules(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListRules: a bus's rules by NamePrefix, paged with Limit/NextToken."""
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        prefix = p.get("NamePrefix") or ""
        rules = [r for r in all_rules(self.state, ctx, bus["name"]) if r["name"].startswith(prefix)]
        page, token = paginate(rules, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"Rules": [rule_view(r, ctx.account) for r in page]}
        if token:
            out["NextToken"] = token
        return out

    async def list_rule_names_by_target(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ListRuleNamesByTarget: names of the bus's rules with a target of that ARN."""
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        arn = p["TargetArn"]
        names = [r["name"] for r in all_rules(self.state, ctx, bus["name"])
                 if any(t.get("Arn") == arn for t in r.get("targets", {}).values())]
        page, token = paginate(names, p.get("NextToken"), p.get("Limit"))
        out: dict[str, Any] = {"RuleNames": page}
        if token:
            out["NextToken"] = token
        return out

    async def _set_state(self, ctx: AwsContext, p: dict[str, Any], value: str) -> dict[str, Any]:
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        found = self.state.rule(scope(ctx), bus["name"], p["Name"])
        if found is None:
            raise not_found(f"Rule {p['Name']} does not exist.")
        rule = dict(found)
        rule["state"] = value
        self.state.save_rule(rule)
        self._arm(rule)
        return {}

    async def enable_rule(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """EnableRule: the rule matches (and fires) again."""
        return await self._set_state(ctx, p, "ENABLED")

    async def disable_rule(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DisableRule: the rule matches nothing and does not fire."""
        return await self._set_state(ctx, p, "DISABLED")

    async def delete_rule(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeleteRule: refused while targets exist unless Force; a missing rule is a no-op."""
        check_rule_name(p["Name"])
        bus = require_bus(self.state, ctx, p.get("EventBusName"))
        rule = self.state.rule(scope(ctx), bus["name"], p["Name"])
        if rule is None:
            return {}
        if rule.get("targets") and not p.get("Force"):
            raise validation("Rule can't be deleted since it has targets.")
        self.state.delete_rule(rule)
        if self.state.scheduler is not None:
            self.state.scheduler.disarm(self.state.rule_key(scope(ctx), bus["name"], rule["name"]))
        return {}

    async def test_event_pattern(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """TestEventPattern: does the event match the pattern (validated as in PutRule)?"""
        check_pattern(p["EventPattern"])
        try:
            event = orjson.loads(p["Event"])
        except orjson.JSONDecodeError:
            raise validation("Parameter Event is not valid.") from None
        if not isinstance(event, dict) or any(f not in event for f in EVENT_FIELDS):
            raise validation("Parameter Event is not valid.")
        return {"Result": test_event_pattern(p["EventPattern"], event)}
