"""Reset (`POST /_mqlite/reset`, moto's and LocalStack's paths) in place: real clients
(boto3, pika, confluent-kafka, redis-py) keep working across it, and see an empty broker."""

from __future__ import annotations


import json
import os
import urllib.error
import urllib.request

import boto3
import pika
import pytest
import redis
from confluent_kafka import Consumer, Producer


def post(url: str, body: bytes = b"", headers: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read(), resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers.get("Content-Type", "")


def aws(server, service: str):
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")


def test_reset_clears_every_front_end_and_clients_keep_working(mqlite_server):
    sqs, sns, events, kinesis = (aws(mqlite_server, s) for s in ("sqs", "sns", "events", "kinesis"))
    q = sqs.create_queue(QueueName="orders", Attributes={"DelaySeconds": "0"})["QueueUrl"]
    sqs.tag_queue(QueueUrl=q, Tags={"team": "a"})
    sqs.send_message(QueueUrl=q, MessageBody="before")
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs",
                  Endpoint=sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])
    events.create_event_bus(Name="bus1")
    events.put_rule(Name="r1", EventBusName="bus1", EventPattern=json.dumps({"source": ["x"]}))
    kinesis.create_stream(StreamName="ks", ShardCount=2)

    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    ch.exchange_declare("logs", "topic", durable=True)
    ch.queue_declare("amqp-q", durable=True)
    ch.queue_bind("amqp-q", "logs", "a.*")
    ch.basic_publish("logs", "a.b", b"hello")

    r = redis.Redis(port=mqlite_server.redis_port)
    r.xadd("rs", {"f": "v"})
    r.xgroup_create("rs", "g1", id="0")

    p = Producer({"bootstrap.servers": f"127.0.0.1:{mqlite_server.kafka_port}"})
    p.produce("kt", b"k1")
    p.flush(10)

    status, body, ctype = post(f"{mqlite_server.endpoint_url}/_mqlite/reset")
    assert status == 200, body
    reply = json.loads(body)
    assert reply["scope"] == "all"
    assert reply["deleted"]["queues"] >= 2 and reply["deleted"]["streams"] >= 3

    # every front-end sees an empty broker
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert sns.list_topics()["Topics"] == []
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default"]
    assert events.list_rules(EventBusName="default")["Rules"] == []
    assert kinesis.list_streams()["StreamNames"] == []
    assert r.keys("*") == []
    with pytest.raises(pika.exceptions.ChannelClosedByBroker) as exc:
        ch.queue_declare("amqp-q", passive=True)
    assert exc.value.reply_code == 404

    # the same clients go on working: same names come back empty, no stale facts
    ch = conn.channel()
    ch.queue_declare("amqp-q", durable=True)
    ch.basic_publish("", "amqp-q", b"after")  # the default exchange was re-created
    method, _, body = ch.basic_get("amqp-q", auto_ack=True)
    assert body == b"after"
    conn.close()
    q2 = sqs.create_queue(QueueName="orders")["QueueUrl"]
    assert sqs.list_queue_tags(QueueUrl=q2).get("Tags", {}) == {}
    assert "Messages" not in sqs.receive_message(QueueUrl=q2, WaitTimeSeconds=0)
    kinesis.create_stream(StreamName="ks", ShardCount=1)
    assert len(kinesis.describe_stream(StreamName="ks")["StreamDescription"]["Shards"]) == 1
    r.xadd("rs", {"f": "new"})
    assert [fields for _, fields in r.xrange("rs")] == [{b"f": b"new"}]
    assert r.xinfo_groups("rs") == []
    p.produce("kt", b"k2")
    p.flush(10)
    c = Consumer({"bootstrap.servers": f"127.0.0.1:{mqlite_server.kafka_port}", "group.id": "g",
                  "auto.offset.reset": "earliest"})
    c.subscribe(["kt"])
    got = None
    for _ in range(50):
        m = c.poll(1.0)
        if m is not None and m.error() is None:
            got = m.value()
            break
    c.close()
    assert got == b"k2"


def test_moto_and_localstack_reset_paths(mqlite_server):
    sqs = aws(mqlite_server, "sqs")
    sqs.create_queue(QueueName="a")
    status, body, _ = post(f"{mqlite_server.endpoint_url}/moto-api/reset")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert sqs.list_queues().get("QueueUrls", []) == []
    sqs.create_queue(QueueName="b")
    sns = aws(mqlite_server, "sns")
    sns.create_topic(Name="t")
    status, _, _ = post(f"{mqlite_server.endpoint_url}/_localstack/state/sqs/reset")
    assert status == 200
    assert sqs.list_queues().get("QueueUrls", []) == []
    assert len(sns.list_topics()["Topics"]) == 1  # only SQS was reset
    status, _, _ = post(f"{mqlite_server.endpoint_url}/_localstack/state/reset")
    assert status == 200 and sns.list_topics()["Topics"] == []
    with urllib.request.urlopen(f"{mqlite_server.endpoint_url}/_localstack/health", timeout=10) as resp:
        health = json.loads(resp.read())
    assert health["services"]["sqs"] == "running" and "version" in health


def test_reset_of_one_kind_keeps_the_others(mqlite_server):
    sqs = aws(mqlite_server, "sqs")
    sqs.create_queue(QueueName="keep")
    r = redis.Redis(port=mqlite_server.redis_port)
    r.xadd("gone", {"a": "1"})
    status, body, _ = post(f"{mqlite_server.endpoint_url}/_mqlite/reset?scope=streams")
    assert status == 200 and json.loads(body)["deleted"]["streams"] == 1
    assert r.exists("gone") == 0
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_unknown_scope_is_a_problem_and_changes_nothing(mqlite_server):
    sqs = aws(mqlite_server, "sqs")
    sqs.create_queue(QueueName="keep")
    status, body, ctype = post(f"{mqlite_server.endpoint_url}/_mqlite/reset",
                               json.dumps({"scope": "everything"}).encode())
    assert status == 400 and ctype == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 400 and "scope" in problem["detail"]
    status, body, _ = post(f"{mqlite_server.endpoint_url}/_mqlite/reset", b"{not json")
    assert status == 400 and "not valid JSON" in json.loads(body)["detail"]
    assert len(sqs.list_queues()["QueueUrls"]) == 1


def test_reset_needs_an_admin_when_keys_are_configured(mqlite_server_factory):
    server = mqlite_server_factory(aws_keys=(("AKADMIN", "s3cret"),))
    status, body, ctype = post(f"{server.endpoint_url}/_mqlite/reset")
    assert status == 403 and ctype == "application/problem+json"
    import base64
    wrong = base64.b64encode(b"AKADMIN:nope").decode()
    assert post(f"{server.endpoint_url}/moto-api/reset", headers={"Authorization": f"Basic {wrong}"})[0] == 403
    good = base64.b64encode(b"AKADMIN:s3cret").decode()
    assert post(f"{server.endpoint_url}/_mqlite/reset", headers={"Authorization": f"Basic {good}"})[0] == 200


def directory_names(root):
    """Names of the directories under `root`, outside `.trash` (emptied by a thread
    while we walk, so a vanishing directory is skipped, not an error)."""
    found = set()
    for parent, dirs, _ in os.walk(root, onerror=lambda exc: None):
        dirs[:] = [d for d in dirs if d != ".trash"]
        found.update(dirs)
    return found


def test_reset_on_disk_removes_the_data(mqlite_server):
    sqs = aws(mqlite_server, "sqs")
    sqs.create_queue(QueueName="ondisk")
    data = mqlite_server.data_dir
    assert data is not None
    before = directory_names(data)
    assert any("ondisk" in n for n in before)
    assert post(f"{mqlite_server.endpoint_url}/_mqlite/reset")[0] == 200
    after = directory_names(data)
    assert not any("ondisk" in n for n in after)
    mqlite_server.restart()  # a clean stop waits for the trash to empty
    assert not any("ondisk" in d for _, dirs, _ in os.walk(data) for d in dirs)
    assert sqs.list_queues().get("QueueUrls", []) == []


def test_a_kafka_consumer_group_and_an_amqp_consumer_live_through_a_reset(mqlite_server):
    bootstrap = f"127.0.0.1:{mqlite_server.kafka_port}"
    p = Producer({"bootstrap.servers": bootstrap})
    p.produce("live", b"before")
    p.flush(10)
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "live-group", "auto.offset.reset": "earliest",
                  "topic.metadata.refresh.interval.ms": 500})
    c.subscribe(["live"])

    def next_value():
        for _ in range(60):
            m = c.poll(0.5)
            if m is not None and m.error() is None:
                return m.value()
        return None

    assert next_value() == b"before"
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    ch.queue_declare("work")
    cancelled = []
    ch.add_on_cancel_callback(lambda frame: cancelled.append(frame.method.consumer_tag))
    tag = ch.basic_consume("work", lambda *a: None)

    assert post(f"{mqlite_server.endpoint_url}/_mqlite/reset")[0] == 200
    for _ in range(100):
        if cancelled:
            break
        conn.process_data_events(time_limit=0.2)
    assert cancelled == [tag]  # RabbitMQ's consumer_cancel_notify, as for a deleted queue
    conn.close()

    p.produce("live", b"after")
    p.flush(10)
    assert next_value() == b"after"  # the group re-joined the re-created topic
    c.close()
