"""EventBridge answers as AWS does (issue #20), through boto3 on a real server: archives'
managed rules, partner event sources, bus names, ListEventBuses' shape, the replay state
machine with CancelReplay on a running replay, StartReplay's check order, API
destinations without a scheme, target validation before the rule lookup."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
BUS = f"arn:aws:events:us-east-1:{ACCOUNT}:event-bus/default"


@pytest.fixture
def events(client_factory: Any) -> Any:
    return client_factory(service="events")


def err(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """(code, message) of a boto3 error."""
    return tuple(info.value.response["Error"][k] for k in ("Code", "Message"))  # type: ignore[return-value]


def test_an_archive_shows_as_a_managed_rule_and_counts_matching_events(events: Any) -> None:
    events.create_archive(ArchiveName="all", EventSourceArn=BUS)
    events.create_archive(ArchiveName="shop", EventSourceArn=BUS, EventPattern=json.dumps({"source": ["shop"]}))
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    assert set(rules) == {"Events-Archive-all", "Events-Archive-shop"}
    assert rules["Events-Archive-all"]["ManagedBy"] == "prod.vhs.events.aws.internal"
    assert json.loads(rules["Events-Archive-all"]["EventPattern"]) == {"replay-name": [{"exists": False}]}
    assert json.loads(rules["Events-Archive-shop"]["EventPattern"]) == {"source": ["shop"],
                                                                        "replay-name": [{"exists": False}]}
    desc = events.describe_rule(Name="Events-Archive-shop")
    assert desc["CreatedBy"] == ACCOUNT and desc["EventBusName"] == "default"
    [target] = events.list_targets_by_rule(Rule="Events-Archive-shop")["Targets"]
    assert target["Arn"] == "arn:aws:events:us-east-1:::"
    assert '"event": <aws.events.event.json>' in target["InputTransformer"]["InputTemplate"]
    events.put_events(Entries=[{"Source": "shop", "DetailType": "t", "Detail": "{}"},
                               {"Source": "other", "DetailType": "t", "Detail": "{}"}])
    assert events.describe_archive(ArchiveName="all")["EventCount"] == 2
    assert events.describe_archive(ArchiveName="shop")["EventCount"] == 1
    events.delete_archive(ArchiveName="shop")
    assert [r["Name"] for r in events.list_rules()["Rules"]] == ["Events-Archive-all"]


def test_partner_event_source_and_its_bus(events: Any) -> None:
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="aws.partner/acme/app/orders", EventSourceName="aws.partner/acme/app/orders")
    assert err(info) == ("ResourceNotFoundException", "Event source aws.partner/acme/app/orders does not exist.")
    arn = events.create_partner_event_source(Name="aws.partner/acme/app/orders", Account=ACCOUNT)["EventSourceArn"]
    assert arn == "arn:aws:events:us-east-1::event-source/aws.partner/acme/app/orders"
    partner = events.describe_partner_event_source(Name="aws.partner/acme/app/orders")
    assert (partner["Arn"], partner["Name"]) == (arn, "aws.partner/acme/app/orders")
    source = events.describe_event_source(Name="aws.partner/acme/app/orders")
    assert (source["CreatedBy"], source["State"]) == ("acme", "ACTIVE")
    events.create_event_bus(Name="aws.partner/acme/app/orders", EventSourceName="aws.partner/acme/app/orders")
    assert events.describe_event_bus(Name="aws.partner/acme/app/orders")["Name"] == "aws.partner/acme/app/orders"
    events.delete_partner_event_source(Name="aws.partner/acme/app/orders", Account=ACCOUNT)
    assert events.describe_event_source(Name="aws.partner/acme/app/orders")["State"] == "DELETED"


def test_bus_names_and_list_shape(events: Any) -> None:
    with pytest.raises(ClientError) as info:
        events.create_event_bus(Name="a/b")
    assert err(info) == ("ValidationException", "Event bus name must not contain '/'.")
    events.create_event_bus(Name="b1", KmsKeyIdentifier="arn:aws:kms:us-east-1:000000000000:key/k",
                            DeadLetterConfig={"Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"})
    buses = {b["Name"]: b for b in events.list_event_buses()["EventBuses"]}
    assert set(buses) == {"default", "b1"}
    # ListEventBuses' EventBus has no KMS key nor dead-letter config (DescribeEventBus has)
    assert set(buses["b1"]) == {"Name", "Arn", "CreationTime", "LastModifiedTime"}
    assert "KmsKeyIdentifier" in events.describe_event_bus(Name="b1")


def test_cancel_replay_stops_a_running_replay(events: Any) -> None:
    archive = events.create_archive(ArchiveName="a", EventSourceArn=BUS)["ArchiveArn"]
    start = dt.datetime(2021, 2, 1, tzinfo=dt.UTC)
    out = events.start_replay(ReplayName="r", EventSourceArn=archive, EventStartTime=start,
                              EventEndTime=start + dt.timedelta(days=1), Destination={"Arn": BUS})
    assert out["State"] == "STARTING"
    assert events.cancel_replay(ReplayName="r")["State"] == "CANCELLING"
    with pytest.raises(ClientError) as info:
        events.cancel_replay(ReplayName="r")
    assert err(info) == ("IllegalStatusException", "Replay r is not in a valid state for this operation.")
    assert events.describe_replay(ReplayName="r")["State"] in ("CANCELLING", "CANCELLED")


def test_start_replay_checks_the_destination_first(events: Any) -> None:
    start = dt.datetime(2021, 2, 1, tzinfo=dt.UTC)
    kw = {"ReplayName": "r", "EventSourceArn": f"arn:aws:events:us-east-1:{ACCOUNT}:archive/none",
          "EventStartTime": start, "EventEndTime": start + dt.timedelta(days=1)}
    with pytest.raises(ClientError) as info:
        events.start_replay(Destination={"Arn": "invalid"}, **kw)
    assert err(info) == ("ValidationException",
                         "Parameter Destination.Arn is not valid. Reason: Must contain an event bus ARN.")
    with pytest.raises(ClientError) as info:
        events.start_replay(Destination={"Arn": BUS.replace("default", "nope")}, **kw)
    assert err(info) == ("ResourceNotFoundException", "Event bus nope does not exist.")
    with pytest.raises(ClientError) as info:
        events.list_replays(State="invalid")
    assert err(info)[0] == "ValidationException" and "at 'state' failed to satisfy constraint" in err(info)[1]


def test_api_destination_endpoint_without_a_scheme(events: Any) -> None:
    conn = events.create_connection(Name="c", AuthorizationType="API_KEY",
                                    AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    events.create_api_destination(Name="d", ConnectionArn=conn["ConnectionArn"],
                                  InvocationEndpoint="www.example.com", HttpMethod="GET")
    assert events.describe_api_destination(Name="d")["InvocationEndpoint"] == "www.example.com"
    with pytest.raises(ClientError) as info:
        events.create_api_destination(Name="e", ConnectionArn=conn["ConnectionArn"],
                                      InvocationEndpoint="ftp://example.com", HttpMethod="GET")
    assert err(info) == ("ValidationException", "Parameter InvocationEndpoint is not valid. Reason: Must be an http(s) URL.")
    assert [d["Name"] for d in events.list_api_destinations()["ApiDestinations"]] == ["d"]
    assert events.delete_connection(Name="c")["ConnectionState"] == "AUTHORIZED"  # its state before


def test_put_targets_checks_targets_before_the_rule(events: Any) -> None:
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule="unknown", Targets=[{"Id": "f", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q.fifo"}])
    assert err(info) == ("ValidationException", "Parameter(s) SqsParameters must be specified for target: f.")
