"""PutEvents through boto3: the envelope EventBridge builds, per-entry errors, limits, and
every event-pattern operator end to end into SQS targets.

Rules checked (EventBridge API reference and user guide): the delivered event has
version/id/detail-type/source/account/time/region/resources/detail in that order;
per-entry errors InvalidArgument (missing Source/DetailType/Detail) and MalformedDetail;
more than 10 entries or more than 1 MB is a ValidationException; content filters
(exact, prefix, suffix, anything-but, numeric, exists, cidr, equals-ignore-case,
wildcard, $or, arrays) select events; disabled rules match nothing; FIFO targets get
SqsParameters.MessageGroupId; an event bus target re-routes the event (cross-bus);
stream targets key records by KinesisParameters.PartitionKeyPath.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"


@pytest.fixture
def events(client_factory: Any) -> Any:
    return client_factory(service="events")


@pytest.fixture
def sqs(client_factory: Any) -> Any:
    return client_factory(service="sqs")


def queue(sqs: Any, name: str, **attrs: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
    return url, f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def bodies(sqs: Any, url: str) -> list[Any]:
    out = []
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not msgs:
            return out
        for m in msgs:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def entry(detail: Any, source: str = "app", **kw: Any) -> dict[str, Any]:
    return {"Source": source, "DetailType": "thing", "Detail": json.dumps(detail), **kw}


def test_envelope_is_built_as_eventbridge_builds_it(events: Any, sqs: Any) -> None:
    """Keys in EventBridge's order; Time and Resources from the entry; id = EventId."""
    url, arn = queue(sqs, "all")
    events.put_rule(Name="r", EventPattern='{"source": ["app"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    when = dt.datetime(2026, 5, 4, 3, 2, 1, tzinfo=dt.UTC)
    out = events.put_events(Entries=[entry({"a": 1}, Time=when, Resources=["arn:x"], TraceHeader="Root=1")])
    assert out["FailedEntryCount"] == 0
    (event,) = bodies(sqs, url)
    assert list(event) == ["version", "id", "detail-type", "source", "account", "time", "region",
                           "resources", "detail"]
    assert event == {"version": "0", "id": out["Entries"][0]["EventId"], "detail-type": "thing",
                     "source": "app", "account": ACCOUNT, "time": "2026-05-04T03:02:01Z",
                     "region": "us-east-1", "resources": ["arn:x"], "detail": {"a": 1}}


def test_per_entry_errors_do_not_fail_the_call(events: Any) -> None:
    """Missing fields are InvalidArgument, a non-object Detail is MalformedDetail, the
    reserved `aws.` sources are refused."""
    out = events.put_events(Entries=[
        {"DetailType": "t", "Detail": "{}"},
        {"Source": "s", "Detail": "{}"},
        {"Source": "s", "DetailType": "t"},
        {"Source": "s", "DetailType": "t", "Detail": "{oops"},
        {"Source": "s", "DetailType": "t", "Detail": "[1, 2]"},
        {"Source": "s", "DetailType": "t", "Detail": "{}", "EventBusName": "nope"},
        {"Source": "aws.ec2", "DetailType": "t", "Detail": "{}"},
        {"Source": "s", "DetailType": "t", "Detail": "{}"},
    ])
    assert out["FailedEntryCount"] == 7
    got = [(e.get("ErrorCode"), e.get("ErrorMessage")) for e in out["Entries"][:7]]
    assert got == [
        ("InvalidArgument", "Parameter Source is not valid. Reason: Source is a required argument."),
        ("InvalidArgument", "Parameter DetailType is not valid. Reason: DetailType is a required argument."),
        ("InvalidArgument", "Parameter Detail is not valid. Reason: Detail is a required argument."),
        ("MalformedDetail", "Detail is malformed."),
        ("MalformedDetail", "Detail is malformed."),
        ("ResourceNotFoundException", "Event bus nope does not exist."),
        ("NotAuthorizedForSourceException", "Not authorized for the source."),
    ]
    assert "EventId" in out["Entries"][7]


def test_more_than_ten_entries_or_one_megabyte_is_a_validation_error(events: Any) -> None:
    """PutEvents takes at most 10 entries and 1 MB in all."""
    with pytest.raises(ClientError) as info:
        events.put_events(Entries=[entry({})] * 11)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    big = json.dumps({"x": "a" * (600 * 1024)})
    with pytest.raises(ClientError) as info:
        events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": big}] * 2)
    assert info.value.response["Error"]["Code"] == "ValidationException"
    ok = events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": big}])
    assert ok["FailedEntryCount"] == 0


# (operator, pattern on detail, detail that matches, detail that does not)
OPERATORS: list[tuple[str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    ("exact-string", {"s": ["a"]}, {"s": "a"}, {"s": "b"}),
    ("exact-number", {"n": [5]}, {"n": 5.0}, {"n": "5"}),
    ("null", {"x": [None]}, {"x": None}, {"x": ""}),
    ("prefix", {"s": [{"prefix": "ab"}]}, {"s": "abc"}, {"s": "xab"}),
    ("prefix-ignore-case", {"s": [{"prefix": {"equals-ignore-case": "AB"}}]}, {"s": "abc"}, {"s": "xab"}),
    ("suffix", {"s": [{"suffix": ".png"}]}, {"s": "a.png"}, {"s": "a.jpg"}),
    ("suffix-ignore-case", {"s": [{"suffix": {"equals-ignore-case": ".PNG"}}]}, {"s": "a.png"}, {"s": "a.jpg"}),
    ("anything-but", {"s": [{"anything-but": ["a", "b"]}]}, {"s": "c"}, {"s": "a"}),
    ("anything-but-prefix", {"s": [{"anything-but": {"prefix": "x"}}]}, {"s": "ab"}, {"s": "xy"}),
    ("anything-but-suffix", {"s": [{"anything-but": {"suffix": "x"}}]}, {"s": "ab"}, {"s": "yx"}),
    ("anything-but-ignore-case", {"s": [{"anything-but": {"equals-ignore-case": ["A"]}}]}, {"s": "b"}, {"s": "a"}),
    ("anything-but-wildcard", {"s": [{"anything-but": {"wildcard": "*.tmp"}}]}, {"s": "a.txt"}, {"s": "a.tmp"}),
    ("numeric", {"n": [{"numeric": [">", 0, "<=", 5]}]}, {"n": 5}, {"n": 6}),
    ("exists-true", {"x": [{"exists": True}]}, {"x": 1}, {"y": 1}),
    ("exists-false", {"x": [{"exists": False}]}, {"y": 1}, {"x": 1}),
    ("cidr", {"ip": [{"cidr": "10.0.0.0/24"}]}, {"ip": "10.0.0.7"}, {"ip": "10.0.1.7"}),
    ("equals-ignore-case", {"s": [{"equals-ignore-case": "AbC"}]}, {"s": "aBc"}, {"s": "abd"}),
    ("wildcard", {"s": [{"wildcard": "img/*.png"}]}, {"s": "img/a.png"}, {"s": "doc/a.png"}),
    ("or", {"$or": [{"a": [1]}, {"b": [2]}]}, {"b": 2}, {"a": 2, "b": 1}),
    ("array-any-element", {"tags": ["red"]}, {"tags": ["blue", "red"]}, {"tags": ["blue"]}),
    ("nested", {"o": {"p": {"q": ["z"]}}}, {"o": {"p": {"q": "z"}}}, {"o": {"p": {"q": "y"}}}),
]


def test_each_pattern_operator_end_to_end_through_put_events(events: Any, sqs: Any) -> None:
    """Every documented content-filter operator, as a rule with an SQS target."""
    urls = {}
    for name, pattern, _yes, _no in OPERATORS:
        url, arn = queue(sqs, name)
        urls[name] = url
        events.put_rule(Name=name, EventPattern=json.dumps({"source": [name], "detail": pattern}))
        events.put_targets(Rule=name, Targets=[{"Id": "q", "Arn": arn}])
    for name, _pattern, yes, no in OPERATORS:
        out = events.put_events(Entries=[entry(yes, source=name), entry(no, source=name)])
        assert out["FailedEntryCount"] == 0
    for name, _pattern, yes, _no in OPERATORS:
        got = [e["detail"] for e in bodies(sqs, urls[name])]
        assert got == [yes], name


def test_disabled_rule_matches_nothing_until_enabled(events: Any, sqs: Any) -> None:
    """DisableRule: the rule does not match; EnableRule: it matches again."""
    url, arn = queue(sqs, "q")
    events.put_rule(Name="r", EventPattern='{"source": ["app"]}', State="DISABLED")
    events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[entry({"n": 1})])
    assert bodies(sqs, url) == []
    events.enable_rule(Name="r")
    events.put_events(Entries=[entry({"n": 2})])
    assert [e["detail"] for e in bodies(sqs, url)] == [{"n": 2}]


def test_several_rules_and_targets_each_get_the_event(events: Any, sqs: Any) -> None:
    """Every matching rule delivers to each of its targets (no de-duplication)."""
    u1, a1 = queue(sqs, "q1")
    u2, a2 = queue(sqs, "q2")
    events.put_rule(Name="r1", EventPattern='{"source": ["app"]}')
    events.put_rule(Name="r2", EventPattern='{"detail-type": ["thing"]}')
    events.put_targets(Rule="r1", Targets=[{"Id": "a", "Arn": a1}, {"Id": "b", "Arn": a2}])
    events.put_targets(Rule="r2", Targets=[{"Id": "a", "Arn": a1}])
    events.put_events(Entries=[entry({"n": 1})])
    assert len(bodies(sqs, u1)) == 2 and len(bodies(sqs, u2)) == 1


def test_fifo_queue_target_uses_message_group_id(events: Any, sqs: Any) -> None:
    """A FIFO SQS target needs SqsParameters.MessageGroupId, which the messages carry;
    EventBridge sends no deduplication id, so only a queue with content-based
    deduplication takes the events."""
    url, arn = queue(sqs, "q.fifo", FifoQueue="true", ContentBasedDeduplication="true")
    bare_url, bare_arn = queue(sqs, "bare.fifo", FifoQueue="true")
    events.put_rule(Name="r", EventPattern='{"source": ["app"]}')
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule="r", Targets=[{"Id": "q", "Arn": arn}])
    assert info.value.response["Error"]["Message"] == "Parameter(s) SqsParameters must be specified for target: q."
    events.put_targets(Rule="r", Targets=[{"Id": "b", "Arn": bare_arn, "SqsParameters": {"MessageGroupId": "g1"}},
                                          {"Id": "q", "Arn": arn, "SqsParameters": {"MessageGroupId": "g1"}}])
    events.put_events(Entries=[entry({"n": 1}), entry({"n": 2})])
    msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, MessageSystemAttributeNames=["All"],
                               WaitTimeSeconds=5)["Messages"]
    assert [json.loads(m["Body"])["detail"]["n"] for m in msgs] == [1, 2]
    assert {m["Attributes"]["MessageGroupId"] for m in msgs} == {"g1"}
    assert "Messages" not in sqs.receive_message(QueueUrl=bare_url, MaxNumberOfMessages=10)


def test_cross_bus_target_routes_into_the_other_bus(events: Any, sqs: Any) -> None:
    """An event bus target: the event is matched by the target bus's rules."""
    url, arn = queue(sqs, "q")
    bus_arn = events.create_event_bus(Name="central")["EventBusArn"]
    events.put_rule(Name="fwd", EventPattern='{"source": ["app"]}')
    events.put_targets(Rule="fwd", Targets=[{"Id": "bus", "Arn": bus_arn}])
    events.put_rule(Name="sink", EventBusName="central", EventPattern='{"detail": {"n": [1]}}')
    events.put_targets(Rule="sink", EventBusName="central", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[entry({"n": 1}), entry({"n": 2})])
    assert [e["detail"] for e in bodies(sqs, url)] == [{"n": 1}]


def test_put_events_on_custom_bus_by_name_and_arn(events: Any, sqs: Any) -> None:
    """EventBusName may be a name or an ARN; rules of other buses do not see the event."""
    url, arn = queue(sqs, "q")
    bus_arn = events.create_event_bus(Name="b")["EventBusArn"]
    events.put_rule(Name="r", EventBusName="b", EventPattern='{"source": ["app"]}')
    events.put_targets(Rule="r", EventBusName="b", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[entry({"n": 1}, EventBusName="b"), entry({"n": 2}, EventBusName=bus_arn),
                               entry({"n": 3})])
    assert [e["detail"]["n"] for e in bodies(sqs, url)] == [1, 2]


def test_kinesis_and_kafka_stream_targets(events: Any, aws_server: Any) -> None:
    """Kinesis targets key records by PartitionKeyPath; a Kafka target appends to the stream."""
    aws_server.call(lambda: aws_server.core.create_stream("ks", 1))
    aws_server.call(lambda: aws_server.core.create_stream("orders-topic", 1))
    events.put_rule(Name="r", EventPattern='{"source": ["app"]}')
    events.put_targets(Rule="r", Targets=[
        {"Id": "k", "Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/ks",
         "KinesisParameters": {"PartitionKeyPath": "$.detail.customer"}},
        {"Id": "t", "Arn": f"arn:aws:kafka:us-east-1:{ACCOUNT}:topic/cluster/orders-topic"},
    ])
    events.put_events(Entries=[entry({"customer": "c-1"})])
    recs = aws_server.call(lambda: aws_server.core.get_stream("ks").read(0, 0))
    assert [r.key for r in recs] == [b"c-1"]
    assert json.loads(recs[0].value)["detail"] == {"customer": "c-1"}
    topic = aws_server.call(lambda: aws_server.core.get_stream("orders-topic").read(0, 0))
    assert len(topic) == 1


def test_kinesis_target_routes_partition_key_to_its_shard(events: Any, client_factory: Any) -> None:
    """A Kinesis stream made through the Kinesis API: records land in the shard whose
    hash-key range holds MD5(partition key), as PutRecord would put them."""
    kinesis = client_factory(service="kinesis")
    kinesis.create_stream(StreamName="multi", ShardCount=4)
    events.put_rule(Name="r", EventPattern='{"source": ["app"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "k", "Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/multi",
                                           "KinesisParameters": {"PartitionKeyPath": "$.detail.customer"}}])
    customers = [f"cust-{i}" for i in range(8)]
    events.put_events(Entries=[entry({"customer": c}) for c in customers])
    expected = {c: kinesis.put_record(StreamName="multi", Data=b"x", PartitionKey=c)["ShardId"] for c in customers}
    found = {}
    for shard in kinesis.list_shards(StreamName="multi")["Shards"]:
        it = kinesis.get_shard_iterator(StreamName="multi", ShardId=shard["ShardId"],
                                        ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for rec in kinesis.get_records(ShardIterator=it)["Records"]:
            if rec["Data"] != b"x":
                found[rec["PartitionKey"]] = shard["ShardId"]
                assert json.loads(rec["Data"])["detail"]["customer"] == rec["PartitionKey"]
    assert found == expected


def test_unmodified_code_runs_with_only_aws_endpoint_url(aws_server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue #11: EventBridge code needs nothing but AWS_ENDPOINT_URL (the SDK's setting)."""
    import boto3

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_server.endpoint_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    session = boto3.Session()
    events, sqs = session.client("events"), session.client("sqs")
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="big-orders", EventPattern=json.dumps(
        {"source": ["shop"], "detail": {"total": [{"numeric": [">=", 100]}]}}))
    events.put_targets(Rule="big-orders", Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[entry({"total": 150}, source="shop"), entry({"total": 5}, source="shop")])
    assert [e["detail"]["total"] for e in bodies(sqs, url)] == [150]
