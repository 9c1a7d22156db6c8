"""Binding transforms are the broker's own, not a side effect of imports (#24 item 1).

An SNS topic with an SQS subscription, made through the server, is then opened by
`mqlite.Broker(path)` in a fresh process that never imported the SNS front-end: a
message published into the topic must still reach the queue (it routed 0 messages,
"transform 'sns' is not registered", while transforms registered at import).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import boto3

from mqlite.testing import spawn_server

CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


def test_a_topic_made_over_sns_routes_when_opened_embedded(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = spawn_server(data)
    try:
        url = f"http://127.0.0.1:{server.ports['http']}"
        sns = boto3.client("sns", endpoint_url=url, **CREDENTIALS)
        sqs = boto3.client("sqs", endpoint_url=url, **CREDENTIALS)
        topic = sns.create_topic(Name="orders")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="order-copies")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
    finally:
        assert server.stop() == 0
    script = textwrap.dedent(f"""
        import sys
        import mqlite
        with mqlite.Broker({str(data)!r}) as broker:
            assert "mqlite.protocols.aws.sns" not in sys.modules  # nothing imported it
            broker.topic("orders").publish("hello from embedded")
            got = [m.body for m in broker.queue("order-copies").receive(max_messages=10, wait=2)]
            print(got)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[b'hello from embedded']"
