"""The AWS CLI against mqlite, and SQS state across a server restart.

Rules: `aws --endpoint-url ... sqs|sts ...` works unmodified with dummy credentials;
queues, their attributes and tags, and unconsumed messages survive a clean restart
(durable on the data directory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest


def aws(server, *args: str, endpoint_flag: bool = True, **env_vars: str) -> dict:
    """Run aws-cli; `--endpoint-url` unless `endpoint_flag` is False (then the
    environment given as `env_vars`, e.g. AWS_ENDPOINT_URL, must point it at mqlite)."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_CONFIG_FILE": os.devnull,
           "AWS_SHARED_CREDENTIALS_FILE": os.devnull, **env_vars}
    flag = ["--endpoint-url", server.endpoint_url] if endpoint_flag else []
    out = subprocess.run(
        [sys.executable, "-m", "awscli", *flag, "--cli-connect-timeout", "5", "--output", "json", *args],
        check=False, env=env, capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout) if out.stdout.strip() else {}


@pytest.mark.slow
def test_aws_cli_drives_sqs_and_sts(aws_server) -> None:
    assert aws(aws_server, "sts", "get-caller-identity")["Account"] == "000000000000"
    url = aws(aws_server, "sqs", "create-queue", "--queue-name", "cli")["QueueUrl"]
    aws(aws_server, "sqs", "send-message", "--queue-url", url, "--message-body", "from cli",
        "--message-attributes", '{"k": {"DataType": "String", "StringValue": "v"}}')
    got = aws(aws_server, "sqs", "receive-message", "--queue-url", url,
              "--message-attribute-names", "All", "--attribute-names", "All")
    assert got["Messages"][0]["Body"] == "from cli"
    assert got["Messages"][0]["MessageAttributes"]["k"]["StringValue"] == "v"
    attrs = aws(aws_server, "sqs", "get-queue-attributes", "--queue-url", url, "--attribute-names", "All")
    assert attrs["Attributes"]["ApproximateNumberOfMessagesNotVisible"] == "1"
    assert url in aws(aws_server, "sqs", "list-queues")["QueueUrls"]
    aws(aws_server, "sqs", "delete-queue", "--queue-url", url)


@pytest.mark.slow
def test_aws_cli_v1_sqs_needs_the_endpoint_flag_or_a_region_it_does_not_pin(aws_server) -> None:
    """aws-cli v1 pins `aws sqs` to https://queue.amazonaws.com (and the other
    `<region>.queue.amazonaws.com` names it lists) by setting --endpoint-url itself
    whenever the flag is absent (awscli.customizations.overridesslcommonname; aws-cli
    issue #8737), so AWS_ENDPOINT_URL and AWS_ENDPOINT_URL_SQS are ignored for SQS in
    those regions. docs/aws.md gives the forms that work; this checks them, and that
    the customization still exists (if it goes, the doc's caveat can go too)."""
    from awscli.customizations.overridesslcommonname import SSL_COMMON_NAMES

    assert SSL_COMMON_NAMES["sqs"]["us-east-1"] == "queue.amazonaws.com"
    assert "eu-central-2" not in SSL_COMMON_NAMES["sqs"]
    env = {"AWS_ENDPOINT_URL": aws_server.endpoint_url}
    url = aws(aws_server, "sqs", "create-queue", "--queue-name", "envq",  # the flag
              AWS_DEFAULT_REGION="eu-central-2", **env)["QueueUrl"]  # regions are isolated: the same one
    assert url.startswith(aws_server.endpoint_url)
    listed = aws(aws_server, "sqs", "list-queues", endpoint_flag=False, AWS_DEFAULT_REGION="eu-central-2", **env)
    assert listed["QueueUrls"] == [url]
    # other services honour AWS_ENDPOINT_URL alone, in any region
    assert aws(aws_server, "sts", "get-caller-identity", endpoint_flag=False, **env)["Account"] == "000000000000"


def test_queues_and_messages_survive_restart(aws_server, client_factory) -> None:
    sqs = client_factory()
    url = sqs.create_queue(QueueName="durable", Attributes={"VisibilityTimeout": "17"}, tags={"t": "1"})["QueueUrl"]
    fifo = sqs.create_queue(QueueName="durable.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    sqs.send_message(QueueUrl=fifo, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="d")
    m = sqs.receive_message(QueueUrl=url)["Messages"][0]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
    aws_server.restart()
    sqs = client_factory()
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["VisibilityTimeout"])["Attributes"] == {"VisibilityTimeout": "17"}
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"t": "1"}
    bodies = set()
    for _ in range(5):
        bodies |= {x["Body"] for x in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])}
    assert bodies == {"m0", "m1", "m2"} - {m["Body"]}
    dup = sqs.send_message(QueueUrl=fifo, MessageBody="f", MessageGroupId="g", MessageDeduplicationId="d")
    assert len(sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10)["Messages"]) == 1
    assert dup["MessageId"]


def test_sqs_on_the_full_server_with_every_front_end(mqlite_server) -> None:
    """The default fixture (Kafka, AMQP, Redis listeners too): SQS shares the HTTP port
    with /_mqlite/health, which keeps answering."""
    import urllib.request

    import boto3

    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="secret")
    url = sqs.create_queue(QueueName="full")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    assert sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "x"
    health = json.loads(urllib.request.urlopen(mqlite_server.endpoint_url + "/_mqlite/health").read())
    assert health["status"] == "ok"
