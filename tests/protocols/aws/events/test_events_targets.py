"""PutTargets/RemoveTargets/ListTargetsByRule, input transformation, failures and DLQs.

Rules checked (EventBridge API reference and user guide): at most 5 targets per rule
(LimitExceededException); ARNs must be ARNs; Input, InputPath and InputTransformer
(InputPathsMap + InputTemplate, `<aws.events.*>` placeholders; values inside JSON strings
inserted as text, outside as JSON) shape what the target receives; a target that cannot
be reached is not retried when the resource does not exist and goes to its
DeadLetterConfig queue with RULE_ARN, TARGET_ARN, ERROR_CODE, ERROR_MESSAGE and
RETRY_ATTEMPTS attributes, without blocking the rule's other targets; retryable failures
are retried per RetryPolicy first; an SNS topic target publishes through SNS; a Firehose
delivery stream target reaches the stream's destination.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
EVENT_DETAIL = {"instance-id": "i-123", "state": "running", "sizes": [1, 2, 3], "meta": {"k": "v"}}


@pytest.fixture
def events(client_factory: Any) -> Any:
    return client_factory(service="events")


@pytest.fixture
def sqs(client_factory: Any) -> Any:
    return client_factory(service="sqs")


def queue(sqs: Any, name: str) -> tuple[str, str]:
    return sqs.create_queue(QueueName=name)["QueueUrl"], f"arn:aws:sqs:us-east-1:{ACCOUNT}:{name}"


def receive(sqs: Any, url: str) -> list[dict[str, Any]]:
    return sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                               MessageAttributeNames=["All"]).get("Messages", [])


def put(events: Any) -> str:
    out = events.put_events(Entries=[{"Source": "ec2", "DetailType": "state change",
                                      "Detail": json.dumps(EVENT_DETAIL)}])
    return str(out["Entries"][0]["EventId"])


def test_put_list_remove_targets_and_limit(events: Any) -> None:
    """Targets are listed as sent; an Id is replaced; more than 5 is LimitExceeded."""
    events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    targets = [{"Id": f"t{i}", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:q{i}"} for i in range(5)]
    assert events.put_targets(Rule="r", Targets=targets)["FailedEntryCount"] == 0
    listed = events.list_targets_by_rule(Rule="r")["Targets"]
    assert [t["Id"] for t in listed] == ["t0", "t1", "t2", "t3", "t4"]
    events.put_targets(Rule="r", Targets=[{"Id": "t0", "Arn": "arn:aws:sqs:us-east-1:000000000000:z", "Input": '{"a":1}'}])
    listed = events.list_targets_by_rule(Rule="r")["Targets"]
    assert listed[0] == {"Id": "t0", "Arn": "arn:aws:sqs:us-east-1:000000000000:z", "Input": '{"a":1}'}
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule="r", Targets=[{"Id": "t5", "Arn": "arn:aws:sqs:us-east-1:000000000000:q5"}])
    assert info.value.response["Error"]["Code"] == "LimitExceededException"
    events.remove_targets(Rule="r", Ids=["t1", "t2"])
    assert [t["Id"] for t in events.list_targets_by_rule(Rule="r")["Targets"]] == ["t0", "t3", "t4"]
    page = events.list_targets_by_rule(Rule="r", Limit=2)
    assert len(page["Targets"]) == 2 and "NextToken" in page
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule="nope", Targets=targets[:1])
    assert info.value.response["Error"]["Message"] == "Rule nope does not exist on EventBus default."


def test_put_targets_validation(events: Any) -> None:
    """Bad ARN, two input kinds, non-JSON Input, bad JSONPath, retry policy range."""
    events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:q"
    cases = [
        {"Id": "t", "Arn": "not-an-arn"},
        {"Id": "t", "Arn": arn, "Input": "{}", "InputPath": "$.detail"},
        {"Id": "t", "Arn": arn, "Input": "{not json"},
        {"Id": "t", "Arn": arn, "InputPath": "detail"},
        {"Id": "t", "Arn": arn, "InputTransformer": {"InputPathsMap": {"a": "$..x["}, "InputTemplate": "<a>"}},
        {"Id": "t", "Arn": arn, "RetryPolicy": {"MaximumRetryAttempts": 186}},
    ]
    for target in cases:
        with pytest.raises(ClientError) as info:
            events.put_targets(Rule="r", Targets=[target])
        assert info.value.response["Error"]["Code"] == "ValidationException", target
    with pytest.raises(ClientError) as info:
        events.put_targets(Rule="r", Targets=[cases[0]])
    assert info.value.response["Error"]["Message"] == (
        "Parameter not-an-arn is not valid. Reason: Provided Arn is not in correct format.")


def test_input_and_input_path(events: Any, sqs: Any) -> None:
    """Input is sent verbatim; InputPath sends the selected part of the event."""
    u1, a1 = queue(sqs, "constant")
    u2, a2 = queue(sqs, "path")
    events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "c", "Arn": a1, "Input": '{"fixed": true}'},
                                          {"Id": "p", "Arn": a2, "InputPath": "$.detail.meta"}])
    put(events)
    assert [m["Body"] for m in receive(sqs, u1)] == ['{"fixed": true}']
    assert [json.loads(m["Body"]) for m in receive(sqs, u2)] == [{"k": "v"}]


def test_input_transformer_json_and_string_templates(events: Any, sqs: Any) -> None:
    """InputPathsMap values fill the template: JSON outside strings, text inside; predefined
    <aws.events.rule-arn>, <aws.events.rule-name>, <aws.events.event>, ingestion time."""
    u1, a1 = queue(sqs, "json")
    u2, a2 = queue(sqs, "text")
    u3, a3 = queue(sqs, "whole")
    rule_arn = events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')["RuleArn"]
    paths = {"instance": "$.detail.instance-id", "state": "$.detail.state", "second": "$.detail.sizes[1]",
             "meta": "$.detail.meta", "missing": "$.detail.nothing"}
    events.put_targets(Rule="r", Targets=[
        {"Id": "j", "Arn": a1, "InputTransformer": {"InputPathsMap": paths, "InputTemplate":
            '{"id": <instance>, "msg": "<instance> is <state>", "n": <second>, "m": <meta>, '
            '"none": <missing>, "rule": "<aws.events.rule-name>", "arn": "<aws.events.rule-arn>"}'}},
        {"Id": "t", "Arn": a2, "InputTransformer": {"InputPathsMap": paths,
                                                     "InputTemplate": '"<instance> is in state <state>"'}},
        {"Id": "w", "Arn": a3, "InputTransformer": {"InputTemplate":
            '{"original": <aws.events.event>, "at": "<aws.events.event.ingestion-time>"}'}},
    ])
    event_id = put(events)
    (m1,) = receive(sqs, u1)
    assert json.loads(m1["Body"]) == {"id": "i-123", "msg": "i-123 is running", "n": 2, "m": {"k": "v"},
                                      "none": None, "rule": "r", "arn": rule_arn}
    (m2,) = receive(sqs, u2)
    assert m2["Body"] == '"i-123 is in state running"'
    (m3,) = receive(sqs, u3)
    whole = json.loads(m3["Body"])
    assert whole["original"]["id"] == event_id and whole["original"]["detail"] == EVENT_DETAIL
    assert whole["at"] == whole["original"]["time"]


def test_missing_queue_goes_to_dlq_with_error_attributes_and_others_still_get_it(events: Any, sqs: Any) -> None:
    """A target that does not exist is not retried: DLQ with EventBridge's attributes;
    the rule's other target and other rules are delivered anyway."""
    dlq_url, dlq_arn = queue(sqs, "dlq")
    ok_url, ok_arn = queue(sqs, "ok")
    other_url, other_arn = queue(sqs, "other")
    rule_arn = events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')["RuleArn"]
    missing = f"arn:aws:sqs:us-east-1:{ACCOUNT}:does-not-exist"
    events.put_targets(Rule="r", Targets=[
        {"Id": "bad", "Arn": missing, "DeadLetterConfig": {"Arn": dlq_arn}},
        {"Id": "good", "Arn": ok_arn},
    ])
    events.put_rule(Name="r2", EventPattern='{"source": ["ec2"]}')
    events.put_targets(Rule="r2", Targets=[{"Id": "o", "Arn": other_arn}])
    event_id = put(events)
    assert len(receive(sqs, ok_url)) == 1
    assert len(receive(sqs, other_url)) == 1
    (dead,) = receive(sqs, dlq_url)
    assert json.loads(dead["Body"])["id"] == event_id
    attrs = {k: v["StringValue"] for k, v in dead["MessageAttributes"].items()}
    assert attrs["RULE_ARN"] == rule_arn
    assert attrs["TARGET_ARN"] == missing
    assert attrs["ERROR_CODE"] == "RESOURCE_NOT_FOUND"
    assert attrs["RETRY_ATTEMPTS"] == "0"
    assert attrs["ERROR_MESSAGE"]


def test_failing_http_target_exhausts_retries_then_dlq(events: Any, sqs: Any, mqlite_server_factory: Any,
                                                       client_factory: Any) -> None:
    """An unreachable Lambda endpoint: retried per RetryPolicy, then the DLQ with
    EXHAUSTED_RETRY_CONDITION=MaximumRetryAttempts."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   lambda_endpoint="http://127.0.0.1:9",
                                   events_retry_base=0.01)
    ev = client_factory(service="events", server=server)
    sq = client_factory(service="sqs", server=server)
    dlq_url, dlq_arn = queue(sq, "dlq")
    ev.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    ev.put_targets(Rule="r", Targets=[{"Id": "fn", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:f",
                                       "RetryPolicy": {"MaximumRetryAttempts": 2},
                                       "DeadLetterConfig": {"Arn": dlq_arn}}])
    put(ev)
    msgs = sq.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=10, MessageAttributeNames=["All"])["Messages"]
    attrs = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
    assert attrs["RETRY_ATTEMPTS"] == "2"
    assert attrs["EXHAUSTED_RETRY_CONDITION"] == "MaximumRetryAttempts"
    assert attrs["TARGET_ARN"].endswith(":function:f")


def test_sns_topic_target_publishes_through_sns(events: Any, sqs: Any, client_factory: Any) -> None:
    """An SNS topic target: subscribers get SNS's notification with the event as Message."""
    sns = client_factory(service="sns")
    url, qarn = queue(sqs, "subscriber")
    topic = sns.create_topic(Name="alerts")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": topic}])
    event_id = put(events)
    (m,) = receive(sqs, url)
    note = json.loads(m["Body"])
    assert (note["Type"], note["TopicArn"]) == ("Notification", topic)
    assert json.loads(note["Message"])["id"] == event_id


def test_missing_sns_topic_goes_to_dlq(events: Any, sqs: Any) -> None:
    """A topic that does not exist is a non-retried failure: straight to the DLQ."""
    dlq_url, dlq_arn = queue(sqs, "dlq")
    events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": f"arn:aws:sns:us-east-1:{ACCOUNT}:nope",
                                           "DeadLetterConfig": {"Arn": dlq_arn}}])
    put(events)
    (dead,) = receive(sqs, dlq_url)
    assert dead["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "RESOURCE_NOT_FOUND"


def test_full_queue_is_retried_then_dead_lettered(mqlite_server_factory: Any, client_factory: Any) -> None:
    """A retryable failure (the target queue refuses: full) is retried per RetryPolicy,
    then dead-lettered with EXHAUSTED_RETRY_CONDITION and RETRY_ATTEMPTS."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   events_retry_base=0.01)
    ev = client_factory(service="events", server=server)
    sq = client_factory(service="sqs", server=server)
    server.call(lambda: server.core.create_queue("tiny", max_length=1, overflow="reject-publish"))
    dlq_url, dlq_arn = queue(sq, "dlq")
    ev.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    ev.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:tiny",
                                       "RetryPolicy": {"MaximumRetryAttempts": 3},
                                       "DeadLetterConfig": {"Arn": dlq_arn}}])
    put(ev)  # fills the queue
    second = put(ev)  # refused: retried 3 times, then the DLQ
    msgs = sq.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=10, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(msgs[0]["Body"])["id"] == second
    attrs = {k: v["StringValue"] for k, v in msgs[0]["MessageAttributes"].items()}
    assert (attrs["RETRY_ATTEMPTS"], attrs["EXHAUSTED_RETRY_CONDITION"]) == ("3", "MaximumRetryAttempts")
    assert attrs["ERROR_CODE"] == "SDK_CLIENT_ERROR"


def test_firehose_target_reaches_the_delivery_stream_destination(events: Any, client_factory: Any,
                                                                 aws_server: Any) -> None:
    """A Firehose delivery stream target: the event is delivered to its S3 destination."""
    firehose = client_factory(service="firehose")
    arn = firehose.create_delivery_stream(
        DeliveryStreamName="audit", ExtendedS3DestinationConfiguration={
            "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose", "BucketARN": "arn:aws:s3:::audit-bucket",
            "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})["DeliveryStreamARN"]
    events.put_rule(Name="r", EventPattern='{"source": ["ec2"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "f", "Arn": arn}])
    event_id = put(events)
    root = aws_server.data_dir / "s3" / "audit-bucket"
    found: list[Any] = []
    for _ in range(400):
        found = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")] if root.exists() else []
        if found:
            break
        time.sleep(0.05)
    assert len(found) == 1
    assert json.loads(found[0].read_bytes())["id"] == event_id
