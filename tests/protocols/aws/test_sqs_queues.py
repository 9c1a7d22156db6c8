"""SQS queue lifecycle through real boto3 clients, json and query protocols.

Rules from the SQS API reference: CreateQueue is idempotent for identical attributes and
answers QueueAlreadyExists otherwise; queue URLs are http://<host>:<port>/<account>/<name>
and ARNs arn:aws:sqs:<region>:<account>:<name>; ListQueues pages with MaxResults and
NextToken; Get/SetQueueAttributes validate names (InvalidAttributeName) and values
(InvalidAttributeValue); a deleted queue is QueueDoesNotExist
(AWS.SimpleQueueService.NonExistentQueue on the query protocol).
"""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError


def code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_create_get_list_delete_queue(sqs, aws_server) -> None:
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert url == f"{aws_server.endpoint_url}/000000000000/orders"
    assert sqs.get_queue_url(QueueName="orders")["QueueUrl"] == url
    sqs.create_queue(QueueName="other")
    assert sqs.list_queues(QueueNamePrefix="ord")["QueueUrls"] == [url]
    sqs.delete_queue(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.get_queue_url(QueueName="orders")
    assert code(info) in ("AWS.SimpleQueueService.NonExistentQueue",)
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_missing_queue_maps_to_queue_does_not_exist_exception(sqs_json) -> None:
    """json protocol: x-amzn-query-error lets boto3 raise the modeled exception class."""
    with pytest.raises(sqs_json.exceptions.QueueDoesNotExist):
        sqs_json.get_queue_url(QueueName="nope")


def test_list_queues_paginates_with_max_results_and_next_token(sqs) -> None:
    names = [f"q{i:02d}" for i in range(5)]
    for n in names:
        sqs.create_queue(QueueName=n)
    seen: list[str] = []
    kwargs = {"MaxResults": 2}
    while True:
        page = sqs.list_queues(**kwargs)
        seen += [u.rsplit("/", 1)[1] for u in page.get("QueueUrls", [])]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert seen == names


def test_create_queue_is_idempotent_only_with_identical_attributes(sqs) -> None:
    url = sqs.create_queue(QueueName="idem", Attributes={"VisibilityTimeout": "40"})["QueueUrl"]
    assert sqs.create_queue(QueueName="idem", Attributes={"VisibilityTimeout": "40"})["QueueUrl"] == url
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="idem", Attributes={"VisibilityTimeout": "41"})
    assert code(info) == "QueueAlreadyExists"


def test_queue_attributes_round_trip_and_computed_values(sqs) -> None:
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert dlq_arn == "arn:aws:sqs:us-east-1:000000000000:dead"
    url = sqs.create_queue(QueueName="src", Attributes={"DelaySeconds": "2"})["QueueUrl"]
    redrive = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})
    sqs.set_queue_attributes(QueueUrl=url, Attributes={
        "VisibilityTimeout": "12", "MaximumMessageSize": "2048", "MessageRetentionPeriod": "120",
        "ReceiveMessageWaitTimeSeconds": "1", "RedrivePolicy": redrive,
        "Policy": json.dumps({"Version": "2012-10-17", "Statement": []}),
        "SqsManagedSseEnabled": "false",
    })
    sqs.send_message(QueueUrl=url, MessageBody="x")
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "12"
    assert attrs["MaximumMessageSize"] == "2048"
    assert attrs["DelaySeconds"] == "2"
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1"
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}
    assert attrs["SqsManagedSseEnabled"] == "false"
    assert int(attrs["CreatedTimestamp"]) > 0
    assert sqs.list_dead_letter_source_queues(QueueUrl=dlq)["queueUrls"] == [url]


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"VisibilityTimeout": "43201"}, "InvalidAttributeValue"),
        ({"MaximumMessageSize": "1048577"}, "InvalidAttributeValue"),
        ({"Bogus": "1"}, "InvalidAttributeName"),
        ({"QueueArn": "x"}, "InvalidAttributeName"),
        ({"ContentBasedDeduplication": "true"}, "InvalidAttributeName"),
    ],
)
def test_bad_queue_attributes_are_refused(sqs, attributes, expected) -> None:
    url = sqs.create_queue(QueueName="attrs")["QueueUrl"]
    with pytest.raises(ClientError) as info:
        sqs.set_queue_attributes(QueueUrl=url, Attributes=attributes)
    assert code(info) == expected


def test_fifo_queue_name_and_attribute_must_agree(sqs) -> None:
    with pytest.raises(ClientError) as info:
        sqs.create_queue(QueueName="nofifo", Attributes={"FifoQueue": "true"})
    assert code(info) == "InvalidParameterValue"
    with pytest.raises(ClientError):
        sqs.create_queue(QueueName="bad name!")
    url = sqs.create_queue(QueueName="ok.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["FifoQueue", "DeduplicationScope"])
    assert attrs["Attributes"] == {"FifoQueue": "true", "DeduplicationScope": "queue"}


def test_purge_queue_allows_one_purge_per_60_seconds(sqs) -> None:
    url = sqs.create_queue(QueueName="purge")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    sqs.purge_queue(QueueUrl=url)
    assert "Messages" not in sqs.receive_message(QueueUrl=url)
    with pytest.raises(ClientError) as info:
        sqs.purge_queue(QueueUrl=url)
    assert code(info) == "AWS.SimpleQueueService.PurgeQueueInProgress"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_tags_and_permissions(sqs) -> None:
    url = sqs.create_queue(QueueName="tagged", tags={"team": "a"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=url, Tags={"env": "dev"})
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "a", "env": "dev"}
    sqs.untag_queue(QueueUrl=url, TagKeys=["team"])
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"env": "dev"}
    sqs.add_permission(QueueUrl=url, Label="l1", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    policy = json.loads(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["l1"]
    with pytest.raises(ClientError) as info:
        sqs.add_permission(QueueUrl=url, Label="l1", AWSAccountIds=["111122223333"], Actions=["SendMessage"])
    assert code(info) == "InvalidParameterValue"
    sqs.remove_permission(QueueUrl=url, Label="l1")
    with pytest.raises(ClientError):
        sqs.remove_permission(QueueUrl=url, Label="l1")


def test_queue_url_built_by_client_from_another_host_is_accepted(sqs, aws_server) -> None:
    """Clients build URLs from their own endpoint (localhost vs 127.0.0.1, AWS hosts)."""
    sqs.create_queue(QueueName="hosted")
    for url in (
        f"http://localhost:{aws_server.http_port}/000000000000/hosted",
        "https://sqs.us-east-1.amazonaws.com/000000000000/hosted",
    ):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    assert sqs.get_queue_attributes(
        QueueUrl="hosted", AttributeNames=["ApproximateNumberOfMessages"]
    )["Attributes"]["ApproximateNumberOfMessages"] == "2"


def test_region_comes_from_the_credential_scope(client_factory) -> None:
    client = client_factory(region_name="eu-west-1")
    url = client.create_queue(QueueName="regional")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert arn == "arn:aws:sqs:eu-west-1:000000000000:regional"
