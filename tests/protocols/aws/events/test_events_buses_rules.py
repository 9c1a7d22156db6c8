"""EventBridge buses, permissions, tags, rules and TestEventPattern through boto3.

Rules checked (EventBridge API reference): the `default` bus always exists and cannot be
deleted; custom bus names are unique (ResourceAlreadyExistsException); a missing bus or
rule is ResourceNotFoundException with AWS's wording ("Rule r does not exist on EventBus
default."); PutRule needs an EventPattern or a ScheduleExpression, schedules only on the
default bus, invalid patterns are InvalidEventPatternException; DeleteRule refuses while
targets exist unless Force; ListRules pages; TestEventPattern answers like AWS.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

EVENT = {"id": "1", "account": "123456789012", "source": "com.shop", "time": "2026-01-01T00:00:00Z",
         "region": "us-east-1", "detail-type": "order", "resources": [], "detail": {"total": 12}}


def err(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = info.value.response["Error"]
    return str(e["Code"]), str(e["Message"])


@pytest.fixture
def events(client_factory: Any) -> Any:
    return client_factory(service="events")


def test_default_bus_exists_and_cannot_be_deleted(events: Any) -> None:
    """The default bus exists in every region; DeleteEventBus(default) is a ValidationException."""
    desc = events.describe_event_bus()
    assert desc["Name"] == "default"
    assert desc["Arn"] == "arn:aws:events:us-east-1:000000000000:event-bus/default"
    with pytest.raises(ClientError) as info:
        events.delete_event_bus(Name="default")
    assert err(info) == ("ValidationException", "Cannot delete event bus default.")


def test_custom_bus_lifecycle_and_duplicate(events: Any) -> None:
    """Create/Describe/List/Update/Delete EventBus; a taken name is ResourceAlreadyExists."""
    arn = events.create_event_bus(Name="orders", Description="d1", Tags=[{"Key": "team", "Value": "a"}])["EventBusArn"]
    assert arn.endswith(":event-bus/orders")
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="orders")
    assert err(info) == ("ResourceAlreadyExistsException", "Event bus orders already exists.")
    assert events.describe_event_bus(Name="orders")["Description"] == "d1"
    assert events.describe_event_bus(Name=arn)["Name"] == "orders"  # a bus ARN is accepted
    events.update_event_bus(Name="orders", Description="d2")
    assert events.describe_event_bus(Name="orders")["Description"] == "d2"
    names = [b["Name"] for b in events.list_event_buses()["EventBuses"]]
    assert names == ["default", "orders"]
    assert [b["Name"] for b in events.list_event_buses(NamePrefix="ord")["EventBuses"]] == ["orders"]
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "team", "Value": "a"}]
    events.delete_event_bus(Name="orders")
    with pytest.raises(ClientError) as info:
        events.describe_event_bus(Name="orders")
    assert err(info) == ("ResourceNotFoundException", "Event bus orders does not exist.")


def test_put_and_remove_permission_shape_the_bus_policy(events: Any) -> None:
    """PutPermission adds a statement per StatementId; RemovePermission removes it."""
    events.put_permission(Action="events:PutEvents", Principal="111122223333", StatementId="s1")
    events.put_permission(Action="events:PutEvents", Principal="*", StatementId="s2",
                          Condition={"Type": "StringEquals", "Key": "aws:PrincipalOrgID", "Value": "o-1"})
    policy = json.loads(events.describe_event_bus()["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s1", "s2"]
    assert policy["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert policy["Statement"][1]["Condition"] == {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}
    events.remove_permission(StatementId="s1")
    policy = json.loads(events.describe_event_bus()["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["s2"]
    with pytest.raises(ClientError) as info:
        events.remove_permission(StatementId="nope")
    assert err(info)[0] == "ResourceNotFoundException"
    events.remove_permission(RemoveAllPermissions=True)
    assert "Policy" not in events.describe_event_bus()


def test_put_describe_list_rules_with_pagination(events: Any) -> None:
    """PutRule returns the rule ARN; ListRules filters by prefix and pages with NextToken."""
    for i in range(5):
        arn = events.put_rule(Name=f"rule-{i}", EventPattern=json.dumps({"source": [f"s{i}"]}),
                              Description=f"r{i}", RoleArn="arn:aws:iam::000000000000:role/x")["RuleArn"]
        assert arn == f"arn:aws:events:us-east-1:000000000000:rule/rule-{i}"
    events.put_rule(Name="other", ScheduleExpression="rate(5 minutes)", State="DISABLED")
    desc = events.describe_rule(Name="rule-2")
    assert (desc["Description"], desc["State"], desc["EventBusName"]) == ("r2", "ENABLED", "default")
    assert json.loads(desc["EventPattern"]) == {"source": ["s2"]}
    assert desc["RoleArn"] == "arn:aws:iam::000000000000:role/x"
    page1 = events.list_rules(NamePrefix="rule-", Limit=2)
    assert [r["Name"] for r in page1["Rules"]] == ["rule-0", "rule-1"]
    page2 = events.list_rules(NamePrefix="rule-", Limit=2, NextToken=page1["NextToken"])
    page3 = events.list_rules(NamePrefix="rule-", Limit=2, NextToken=page2["NextToken"])
    assert [r["Name"] for r in page2["Rules"] + page3["Rules"]] == ["rule-2", "rule-3", "rule-4"]
    assert "NextToken" not in page3
    sched = events.describe_rule(Name="other")
    assert (sched["ScheduleExpression"], sched["State"]) == ("rate(5 minutes)", "DISABLED")


def test_rule_on_custom_bus_has_bus_in_arn_and_not_found_wording(events: Any) -> None:
    """Rules of a custom bus are arn:...:rule/<bus>/<name>; a missing one names its bus
    (except in DescribeRule, EnableRule and DisableRule, as AWS words them)."""
    events.create_event_bus(Name="b1")
    arn = events.put_rule(Name="r", EventBusName="b1", EventPattern='{"source":["x"]}')["RuleArn"]
    assert arn.endswith(":rule/b1/r")
    with pytest.raises(ClientError) as info:
        events.describe_rule(Name="r")
    assert err(info) == ("ResourceNotFoundException", "Rule r does not exist.")
    with pytest.raises(ClientError) as info:
        events.list_targets_by_rule(Rule="r")
    assert err(info) == ("ResourceNotFoundException", "Rule r does not exist on EventBus default.")
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="r", EventBusName="nope", EventPattern='{"source":["x"]}')
    assert err(info) == ("ResourceNotFoundException", "Event bus nope does not exist.")


def test_put_rule_validation_errors(events: Any) -> None:
    """Neither pattern nor schedule, a schedule on a custom bus, bad schedule, bad name, bad pattern."""
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="r")
    assert err(info) == ("ValidationException", "Parameter(s) EventPattern or ScheduleExpression must be specified.")
    events.create_event_bus(Name="b1")
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="r", EventBusName="b1", ScheduleExpression="rate(1 minute)")
    assert err(info) == ("ValidationException", "ScheduleExpression is supported only on the default event bus.")
    for bad in ("rate(1 minutes)", "rate(0 minutes)", "cron(0 12 * * * *)", "every day"):
        with pytest.raises(ClientError) as info:
            events.put_rule(Name="r", ScheduleExpression=bad)
        assert err(info) == ("ValidationException", "Parameter ScheduleExpression is not valid."), bad
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="bad name!", EventPattern='{"source":["x"]}')
    assert err(info)[0] == "ValidationException"
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="r", EventPattern='{"source": "x"}')
    code, message = err(info)
    assert code == "InvalidEventPatternException"
    assert message.startswith("Event pattern is not valid. Reason: ")
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="r", EventPattern="{not json")
    assert err(info)[0] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as info:  # the model's 4096-character limit
        events.put_rule(Name="r", EventPattern=json.dumps({"source": ["x" * 4100]}))
    assert err(info)[0] == "ValidationException"


def test_put_rule_replaces_but_keeps_targets(events: Any) -> None:
    """PutRule on an existing rule replaces what it specifies (State defaults to ENABLED)."""
    events.put_rule(Name="r", EventPattern='{"source":["a"]}', State="DISABLED", Description="x")
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}])
    events.put_rule(Name="r", EventPattern='{"source":["b"]}')
    desc = events.describe_rule(Name="r")
    assert desc["State"] == "ENABLED" and "Description" not in desc
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["t"]


def test_enable_disable_and_delete_rule_with_force(events: Any) -> None:
    """Enable/DisableRule flip State; DeleteRule refuses while targets exist unless Force."""
    events.put_rule(Name="r", EventPattern='{"source":["a"]}')
    events.disable_rule(Name="r")
    assert events.describe_rule(Name="r")["State"] == "DISABLED"
    events.enable_rule(Name="r")
    assert events.describe_rule(Name="r")["State"] == "ENABLED"
    with pytest.raises(ClientError) as info:
        events.disable_rule(Name="missing")
    assert err(info) == ("ResourceNotFoundException", "Rule missing does not exist.")
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:q"}])
    with pytest.raises(ClientError) as info:
        events.delete_rule(Name="r")
    assert err(info) == ("ValidationException", "Rule can't be deleted since it has targets.")
    events.delete_rule(Name="r", Force=True)
    assert events.list_rules()["Rules"] == []
    events.delete_rule(Name="r")  # deleting a missing rule succeeds, as on AWS


def test_list_rule_names_by_target(events: Any) -> None:
    """ListRuleNamesByTarget: the rules with a target of that ARN."""
    q = "arn:aws:sqs:us-east-1:000000000000:q"
    for name in ("a", "b", "c"):
        events.put_rule(Name=name, EventPattern='{"source":["x"]}')
    events.put_targets(Rule="a", Targets=[{"Id": "1", "Arn": q}])
    events.put_targets(Rule="c", Targets=[{"Id": "1", "Arn": q}])
    assert events.list_rule_names_by_target(TargetArn=q)["RuleNames"] == ["a", "c"]


def test_tags_on_rules(events: Any) -> None:
    """TagResource/UntagResource/ListTagsForResource by ARN; a missing resource is not found."""
    arn = events.put_rule(Name="r", EventPattern='{"source":["x"]}', Tags=[{"Key": "a", "Value": "1"}])["RuleArn"]
    events.tag_resource(ResourceARN=arn, Tags=[{"Key": "b", "Value": "2"}])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [
        {"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    events.untag_resource(ResourceARN=arn, TagKeys=["a"])
    assert events.list_tags_for_resource(ResourceARN=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    with pytest.raises(ClientError) as info:
        events.list_tags_for_resource(ResourceARN="arn:aws:events:us-east-1:000000000000:rule/nope")
    assert err(info) == ("ResourceNotFoundException", "Rule nope does not exist on EventBus default.")


def test_test_event_pattern_answers_and_validates(events: Any) -> None:
    """TestEventPattern: Result true/false; invalid pattern and invalid event are errors."""
    ok = events.test_event_pattern(EventPattern=json.dumps({"source": ["com.shop"], "detail": {"total": [{"numeric": [">", 10]}]}}),
                                   Event=json.dumps(EVENT))
    assert ok["Result"] is True
    no = events.test_event_pattern(EventPattern=json.dumps({"detail": {"total": [{"numeric": ["<", 10]}]}}),
                                   Event=json.dumps(EVENT))
    assert no["Result"] is False
    with pytest.raises(ClientError) as info:
        events.test_event_pattern(EventPattern='{"source": [{"prefix": 1}]}', Event=json.dumps(EVENT))
    assert err(info)[0] == "InvalidEventPatternException"
    with pytest.raises(ClientError) as info:
        events.test_event_pattern(EventPattern='{"source": ["a"]}', Event=json.dumps({"source": "a"}))
    assert err(info) == ("ValidationException", "Parameter Event is not valid.")
    no_resources = {k: v for k, v in EVENT.items() if k != "resources"}  # AWS accepts it (issue #20)
    ok = events.test_event_pattern(EventPattern='{"source": ["com.shop"]}', Event=json.dumps(no_resources))
    assert ok["Result"] is True


def test_rule_limit_per_bus(events: Any) -> None:
    """At most 300 rules per event bus (LimitExceededException)."""
    events.create_event_bus(Name="small")
    for i in range(300):
        events.put_rule(Name=f"r{i}", EventBusName="small", EventPattern='{"source":["x"]}')
    with pytest.raises(ClientError) as info:
        events.put_rule(Name="r300", EventBusName="small", EventPattern='{"source":["x"]}')
    assert err(info)[0] == "LimitExceededException"
