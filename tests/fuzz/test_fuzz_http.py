"""Seeded mutation fuzzing of the AWS front-ends (SQS, SNS, Kinesis, Firehose,
EventBridge): every mutated request gets an AWS error, never a 500 InternalFailure or a
logged traceback (issue 26, item 9)."""

from __future__ import annotations

import base64
import copy
import http.client
import json
import urllib.parse
from typing import Any

import pytest
from fuzz_harness import CASES, SEED, Mutator, unhandled

Q = "http://127.0.0.1/000000000000/fq"
DATA = base64.b64encode(b"payload").decode()
# (X-Amz-Target prefix, content type, operation, params): valid requests the cases mutate
JSON_SEEDS: list[tuple[str, str, str, dict[str, Any]]] = [
    ("AmazonSQS", "1.0", "CreateQueue", {"QueueName": "fq", "Attributes": {"VisibilityTimeout": "5"}}),
    ("AmazonSQS", "1.0", "SendMessage", {"QueueUrl": Q, "MessageBody": "b", "DelaySeconds": 0,
                                         "MessageAttributes": {"a": {"DataType": "String", "StringValue": "v"}}}),
    ("AmazonSQS", "1.0", "SendMessageBatch", {"QueueUrl": Q, "Entries": [{"Id": "1", "MessageBody": "b"}]}),
    ("AmazonSQS", "1.0", "ReceiveMessage", {"QueueUrl": Q, "MaxNumberOfMessages": 2, "WaitTimeSeconds": 0,
                                            "MessageAttributeNames": ["All"], "AttributeNames": ["All"]}),
    ("AmazonSQS", "1.0", "DeleteMessage", {"QueueUrl": Q, "ReceiptHandle": "AQEB"}),
    ("AmazonSQS", "1.0", "ChangeMessageVisibility", {"QueueUrl": Q, "ReceiptHandle": "AQEB", "VisibilityTimeout": 3}),
    ("AmazonSQS", "1.0", "GetQueueAttributes", {"QueueUrl": Q, "AttributeNames": ["All"]}),
    ("AmazonSQS", "1.0", "SetQueueAttributes", {"QueueUrl": Q, "Attributes": {"DelaySeconds": "0"}}),
    ("AmazonSQS", "1.0", "ListQueues", {"QueueNamePrefix": "f", "MaxResults": 5}),
    ("AmazonSQS", "1.0", "GetQueueUrl", {"QueueName": "fq"}),
    ("AmazonSQS", "1.0", "TagQueue", {"QueueUrl": Q, "Tags": {"k": "v"}}),
    ("AmazonSQS", "1.0", "DeleteMessageBatch", {"QueueUrl": Q, "Entries": [{"Id": "1", "ReceiptHandle": "x"}]}),
    ("AmazonSQS", "1.0", "StartMessageMoveTask", {"SourceArn": "arn:aws:sqs:us-east-1:000000000000:fq"}),
    ("Kinesis_20131202", "1.1", "CreateStream", {"StreamName": "fk", "ShardCount": 1}),
    ("Kinesis_20131202", "1.1", "PutRecord", {"StreamName": "fk", "Data": DATA, "PartitionKey": "p"}),
    ("Kinesis_20131202", "1.1", "PutRecords", {"StreamName": "fk", "Records": [{"Data": DATA, "PartitionKey": "p"}]}),
    ("Kinesis_20131202", "1.1", "GetShardIterator", {"StreamName": "fk", "ShardId": "shardId-000000000000",
                                                     "ShardIteratorType": "TRIM_HORIZON"}),
    ("Kinesis_20131202", "1.1", "GetRecords", {"ShardIterator": "AAAA", "Limit": 10}),
    ("Kinesis_20131202", "1.1", "DescribeStream", {"StreamName": "fk"}),
    ("Kinesis_20131202", "1.1", "ListShards", {"StreamName": "fk", "MaxResults": 10}),
    ("Kinesis_20131202", "1.1", "SplitShard", {"StreamName": "fk", "ShardToSplit": "shardId-000000000000",
                                               "NewStartingHashKey": "100"}),
    ("Kinesis_20131202", "1.1", "RegisterStreamConsumer", {"StreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/fk",
                                                           "ConsumerName": "c"}),
    ("Firehose_20150804", "1.1", "CreateDeliveryStream", {"DeliveryStreamName": "ff", "DeliveryStreamType": "DirectPut"}),
    ("Firehose_20150804", "1.1", "PutRecord", {"DeliveryStreamName": "ff", "Record": {"Data": DATA}}),
    ("Firehose_20150804", "1.1", "PutRecordBatch", {"DeliveryStreamName": "ff", "Records": [{"Data": DATA}]}),
    ("Firehose_20150804", "1.1", "DescribeDeliveryStream", {"DeliveryStreamName": "ff"}),
    ("AWSEvents", "1.1", "CreateEventBus", {"Name": "fb"}),
    ("AWSEvents", "1.1", "PutRule", {"Name": "r", "EventBusName": "fb", "EventPattern": "{\"source\": [\"s\"]}"}),
    ("AWSEvents", "1.1", "PutTargets", {"Rule": "r", "EventBusName": "fb", "Targets": [
        {"Id": "t", "Arn": "arn:aws:sqs:us-east-1:000000000000:fq", "InputPath": "$.detail"}]}),
    ("AWSEvents", "1.1", "PutEvents", {"Entries": [{"Source": "s", "DetailType": "d", "Detail": "{}",
                                                     "EventBusName": "fb"}]}),
    ("AWSEvents", "1.1", "TestEventPattern", {"EventPattern": "{\"source\": [\"s\"]}", "Event": json.dumps(
        {"id": "1", "source": "s", "detail-type": "d", "account": "0", "time": "2020-01-01T00:00:00Z",
         "region": "us-east-1", "resources": [], "detail": {}})}),
    ("AWSEvents", "1.1", "ListRules", {"EventBusName": "fb", "Limit": 5}),
]
SNS = "arn:aws:sns:us-east-1:000000000000:ft"
QUERY_SEEDS: list[dict[str, str]] = [
    {"Action": "CreateTopic", "Name": "ft"},
    {"Action": "Publish", "TopicArn": SNS, "Message": "m", "MessageAttributes.entry.1.Name": "a",
     "MessageAttributes.entry.1.Value.DataType": "String", "MessageAttributes.entry.1.Value.StringValue": "v"},
    {"Action": "Subscribe", "TopicArn": SNS, "Protocol": "sqs", "Endpoint": "arn:aws:sqs:us-east-1:000000000000:fq",
     "Attributes.entry.1.key": "FilterPolicy", "Attributes.entry.1.value": "{\"a\": [\"v\"]}"},
    {"Action": "ListSubscriptionsByTopic", "TopicArn": SNS},
    {"Action": "SetTopicAttributes", "TopicArn": SNS, "AttributeName": "DisplayName", "AttributeValue": "x"},
    {"Action": "PublishBatch", "TopicArn": SNS, "PublishBatchRequestEntries.member.1.Id": "1",
     "PublishBatchRequestEntries.member.1.Message": "m"},
    {"Action": "SendMessage", "QueueUrl": Q, "MessageBody": "b", "Version": "2012-11-05"},
]
ODD = [None, 0, -1, 2**63, 1.5, True, "", "x" * 300, [], {}, [None], {"": None}, "\u0000", "-1", "NaN", "1e999"]


def _mutate_value(m: Mutator, value: Any) -> Any:
    rng = m.rng
    if isinstance(value, dict) and value and rng.random() < 0.6:
        key = rng.choice(list(value))
        if rng.random() < 0.4:
            del value[key]
        else:
            value[key] = _mutate_value(m, value[key])
        return value
    if isinstance(value, list) and value and rng.random() < 0.6:
        i = rng.randrange(len(value))
        value[i] = _mutate_value(m, value[i])
        return value
    return rng.choice(ODD)


def json_case(m: Mutator) -> tuple[dict[str, str], bytes]:
    prefix, version, op, params = JSON_SEEDS[m.rng.randrange(len(JSON_SEEDS))]
    body = json.dumps(_mutate_value(m, copy.deepcopy(params))).encode()
    if m.rng.random() < 0.15:
        body = m.bytes_(body)
    headers = {"X-Amz-Target": f"{prefix}.{op}", "Content-Type": f"application/x-amz-json-{version}"}
    return headers, body


def query_case(m: Mutator) -> tuple[dict[str, str], bytes]:
    params = dict(QUERY_SEEDS[m.rng.randrange(len(QUERY_SEEDS))])
    for _ in range(m.rng.randint(1, 3)):
        key = m.rng.choice(list(params))
        if key != "Action" and m.rng.random() < 0.5:
            del params[key]
        else:
            params[key] = str(m.rng.choice(ODD))
    body = urllib.parse.urlencode(params).encode()
    return {"Content-Type": "application/x-www-form-urlencoded"}, body


def test_mutated_aws_requests_get_aws_errors_not_internal_failures(
    mqlite_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    mutator = Mutator(SEED)
    conn = http.client.HTTPConnection("127.0.0.1", mqlite_server.http_port, timeout=30)
    headers_auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=k/20200101/us-east-1/sqs/aws4_request, "
                                     "SignedHeaders=host, Signature=0"}
    for prefix, version, op, params in JSON_SEEDS:  # the entities the mutated requests aim at
        conn.request("POST", "/", json.dumps(params).encode(),
                     {"X-Amz-Target": f"{prefix}.{op}", "Content-Type": f"application/x-amz-json-{version}"})
        conn.getresponse().read()
    failures: list[str] = []
    caplog.clear()
    for n in range(CASES):
        headers, body = json_case(mutator) if n % 3 else query_case(mutator)
        if n % 5 == 0:
            headers.update(headers_auth)
        try:
            conn.request("POST", "/", body, headers)
            response = conn.getresponse()
            answer = response.read()
        except (http.client.HTTPException, OSError):
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", mqlite_server.http_port, timeout=30)
            continue
        if response.status >= 500:
            failures.append(f"{response.status} for {headers.get('X-Amz-Target', 'query')} {body[:160]!r}: {answer[:160]!r}")
    conn.close()
    bad = unhandled(caplog)
    assert not failures and not bad, "\n".join(failures[:20] + bad)
