"""Restart persistence: buses, rules, targets, archives, connections, API destinations
and tags survive a clean restart, and routing works afterwards as before.

Rule checked: EventBridge resources are durable (mqlite keeps them in the catalog; the
archive's events in its stream).
"""

from __future__ import annotations

import json
from typing import Any

ACCOUNT = "000000000000"


def test_everything_survives_restart(aws_server: Any, client_factory: Any) -> None:
    events = client_factory(service="events")
    sqs = client_factory(service="sqs")
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    bus_arn = events.create_event_bus(Name="orders", Tags=[{"Key": "k", "Value": "v"}])["EventBusArn"]
    events.put_permission(EventBusName="orders", Action="events:PutEvents", Principal="111122223333",
                          StatementId="s1")
    events.put_rule(Name="big", EventBusName="orders", EventPattern='{"detail": {"total": [{"numeric": [">", 100]}]}}')
    events.put_targets(Rule="big", EventBusName="orders", Targets=[
        {"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", "InputPath": "$.detail"}])
    events.put_rule(Name="off", EventBusName="orders", EventPattern='{"source": ["x"]}', State="DISABLED")
    events.put_rule(Name="cron", ScheduleExpression="cron(0 12 * * ? *)")
    events.create_archive(ArchiveName="arch", EventSourceArn=bus_arn, RetentionDays=1)
    conn = events.create_connection(Name="c", AuthorizationType="BASIC",
                                    AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    events.create_api_destination(Name="d", ConnectionArn=conn["ConnectionArn"],
                                  InvocationEndpoint="https://example.com", HttpMethod="POST")
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": '{"total": 150}',
                                "EventBusName": "orders"}])
    assert len(sqs.receive_message(QueueUrl=url).get("Messages", [])) == 1

    aws_server.restart()

    assert events.describe_event_bus(Name="orders")["Arn"] == bus_arn
    assert json.loads(events.describe_event_bus(Name="orders")["Policy"])["Statement"][0]["Sid"] == "s1"
    assert events.list_tags_for_resource(ResourceARN=bus_arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    # the archive's managed rule is listed too, as AWS lists it
    assert [r["Name"] for r in events.list_rules(EventBusName="orders")["Rules"]] == ["Events-Archive-arch", "big", "off"]
    assert events.describe_rule(Name="off", EventBusName="orders")["State"] == "DISABLED"
    assert events.describe_rule(Name="cron")["ScheduleExpression"] == "cron(0 12 * * ? *)"
    targets = events.list_targets_by_rule(Rule="big", EventBusName="orders")["Targets"]
    assert targets == [{"Id": "q", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q", "InputPath": "$.detail"}]
    assert events.describe_archive(ArchiveName="arch")["EventCount"] == 1
    assert events.describe_connection(Name="c")["ConnectionState"] == "AUTHORIZED"
    assert events.describe_api_destination(Name="d")["InvocationEndpoint"] == "https://example.com"
    # routing is rebuilt: the rule still matches, the archive still records
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": '{"total": 200}',
                                "EventBusName": "orders"},
                               {"Source": "shop", "DetailType": "t", "Detail": '{"total": 5}',
                                "EventBusName": "orders"}])
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]
    bodies = sorted(json.loads(m["Body"])["total"] for m in msgs)
    assert 200 in bodies and 5 not in bodies
    assert events.describe_archive(ArchiveName="arch")["EventCount"] == 3
