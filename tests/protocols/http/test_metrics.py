"""GET /_mqlite/metrics: message flow, lag, request latencies and errors, fsync and
connection metrics, driven by real clients (boto3, confluent-kafka, pika, redis-py)."""

from __future__ import annotations

import json
import threading
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import confluent_kafka
import pika
import pytest
import redis
from prometheus_client.parser import text_string_to_metric_families

CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
DASHBOARD = Path(__file__).resolve().parents[3] / "docs" / "grafana" / "mqlite.json"


def scrape(server: Any) -> dict[str, list[Any]]:
    """Metric family name -> its samples."""
    with urllib.request.urlopen(f"{server.endpoint_url}/_mqlite/metrics") as r:
        assert r.status == 200
        text = r.read().decode()
    families: dict[str, list[Any]] = {}
    for family in text_string_to_metric_families(text):
        families.setdefault(family.name, []).extend(family.samples)
    return families


def value(families: dict[str, list[Any]], sample: str, **labels: str) -> float:
    base = sample.removesuffix("_total").removesuffix("_bucket").removesuffix("_count").removesuffix("_sum")
    for name in (base, sample):
        for s in families.get(name, []):
            if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    raise AssertionError(f"no sample {sample} {labels}")


def test_sqs_flow_requests_and_errors_are_counted(mqlite_server: Any) -> None:
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    url = sqs.create_queue(QueueName="orders")["QueueUrl"]
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"body-{i}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    with pytest.raises(sqs.exceptions.QueueDoesNotExist):
        sqs.get_queue_url(QueueName="missing")

    m = scrape(mqlite_server)
    labels = {"kind": "queue", "entity": "orders", "protocol": "sqs"}
    assert value(m, "mqlite_messages_in_total", **labels) == 3
    assert value(m, "mqlite_bytes_in_total", **labels) >= len("body-0") * 3
    assert value(m, "mqlite_messages_out_total", **labels) == 2
    assert value(m, "mqlite_messages_acked_total", **labels) == 1
    assert value(m, "mqlite_request_duration_seconds_count", protocol="sqs", action="SendMessage") == 3
    assert value(m, "mqlite_request_duration_seconds_bucket", protocol="sqs", action="SendMessage", le="+Inf") == 3
    assert value(m, "mqlite_request_errors_total", protocol="sqs", action="GetQueueUrl",
                 code="QueueDoesNotExist") == 1
    assert value(m, "mqlite_queue_oldest_message_age_seconds", entity="orders", protocol="sqs") >= 0


def test_sqs_dead_lettered_messages_are_counted(mqlite_server: Any) -> None:
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="src", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "1"}),
        "VisibilityTimeout": "0"})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="poison")
    assert len(sqs.receive_message(QueueUrl=src)["Messages"]) == 1
    assert sqs.receive_message(QueueUrl=src).get("Messages") is None  # moved on the second receive
    m = scrape(mqlite_server)
    assert value(m, "mqlite_messages_dead_lettered_total", kind="queue", entity="src", protocol="sqs") == 1
    assert value(m, "mqlite_messages_in_total", kind="queue", entity="dlq", protocol="sqs") == 1


def test_kafka_produce_fetch_and_group_lag(mqlite_server: Any) -> None:
    bootstrap = f"127.0.0.1:{mqlite_server.kafka_port}"
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(5):
        producer.produce("events", value=f"v{i}".encode())
    assert producer.flush(10) == 0
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "g1",
                                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["events"])
    got = []
    while len(got) < 2:
        msg = consumer.poll(10)
        assert msg is not None and msg.error() is None
        got.append(msg)
    consumer.commit(message=got[1], asynchronous=False)  # committed offset 2 of 5
    consumer.close()

    m = scrape(mqlite_server)
    assert value(m, "mqlite_messages_in_total", kind="stream", entity="events", protocol="kafka") == 5
    assert value(m, "mqlite_messages_out_total", kind="stream", entity="events", protocol="kafka") >= 2
    assert value(m, "mqlite_request_duration_seconds_count", protocol="kafka", action="Produce") >= 1
    assert value(m, "mqlite_consumer_group_lag", group="g1", stream="events", partition="0") == 3
    assert value(m, "mqlite_connections_opened_total", protocol="kafka") >= 2


def test_amqp_and_redis_requests_are_counted(mqlite_server: Any) -> None:
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    ch.queue_declare("jobs")
    ch.basic_publish("", "jobs", b"work")
    with pytest.raises(pika.exceptions.ChannelClosedByBroker):
        ch.queue_declare("absent", passive=True)
    conn.close()
    r = redis.Redis(port=mqlite_server.redis_port)
    r.xadd("s1", {"f": "v"})
    with pytest.raises(redis.ResponseError):
        r.xgroup_create("nostream", "g")
    pipe = r.pipeline(transaction=False)
    for i in range(5):
        pipe.publish("news", f"n{i}")
    assert pipe.execute() == [0] * 5
    r.close()

    m = scrape(mqlite_server)
    assert value(m, "mqlite_request_duration_seconds_count", protocol="amqp", action="basic.publish") == 1
    assert value(m, "mqlite_request_errors_total", protocol="amqp", action="queue.declare", code="404") == 1
    assert value(m, "mqlite_messages_in_total", kind="queue", entity="jobs", protocol="amqp") == 1
    assert value(m, "mqlite_request_duration_seconds_count", protocol="redis", action="XADD") == 1
    assert value(m, "mqlite_request_errors_total", protocol="redis", action="XGROUP", code="ERR") == 1
    assert value(m, "mqlite_request_duration_seconds_count", protocol="redis", action="PUBLISH") == 5


def test_fsync_and_group_commit_histograms(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(fsync="always")
    sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, **CREDS)
    url = sqs.create_queue(QueueName="durable")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="x")
    m = scrape(server)
    assert value(m, "mqlite_fsync_duration_seconds_count") >= 1
    assert value(m, "mqlite_group_commit_batch_size_count") >= 1


def test_entity_labels_are_bounded(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(metrics_max_entities=2)
    sqs = boto3.client("sqs", endpoint_url=server.endpoint_url, **CREDS)
    for name in ("q-a", "q-b", "q-c", "q-d"):
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        sqs.send_message(QueueUrl=url, MessageBody="m")
    m = scrape(server)
    entities = {s.labels["entity"] for s in m["mqlite_messages_in"] if s.labels["kind"] == "queue"}
    assert entities == {"q-a", "q-b", "_other"}
    assert value(m, "mqlite_messages_in_total", kind="queue", entity="_other", protocol="sqs") == 2
    assert {s.labels["queue"] for s in m["mqlite_queue_messages"]} == {"q-a", "q-b", "_other"}


def test_scrapes_never_fail_while_entities_are_deleted_and_reset(mqlite_server: Any) -> None:
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    r = redis.Redis(port=mqlite_server.redis_port)
    failures: list[BaseException] = []
    stop = threading.Event()

    def scrape_loop() -> None:
        while not stop.is_set():
            try:
                scrape(mqlite_server)
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    scraper = threading.Thread(target=scrape_loop)
    scraper.start()
    try:
        for round_ in range(15):
            urls = [sqs.create_queue(QueueName=f"churn-{round_}-{i}")["QueueUrl"] for i in range(5)]
            for url in urls:
                sqs.send_message(QueueUrl=url, MessageBody="x")
            r.xadd(f"stream-{round_}", {"a": "b"})
            for url in urls[:3]:
                sqs.delete_queue(QueueUrl=url)
            if round_ % 5 == 4:
                req = urllib.request.Request(f"{mqlite_server.endpoint_url}/_mqlite/reset", method="POST", data=b"")
                urllib.request.urlopen(req).read()
    finally:
        stop.set()
        scraper.join()
        r.close()
    assert failures == []


def test_grafana_dashboard_uses_existing_metric_names(mqlite_server: Any) -> None:
    """Every expression of docs/grafana/mqlite.json names metrics this server exposes."""
    import re

    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    sqs.create_queue(QueueName="warm")
    with urllib.request.urlopen(f"{mqlite_server.endpoint_url}/_mqlite/metrics") as r:
        text = r.read().decode()
    names = set()
    for line in text.splitlines():  # `# TYPE name kind`: every family, even one with no sample yet
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names.update({name} | ({f"{name}_bucket", f"{name}_sum", f"{name}_count"} if kind == "histogram" else set()))
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs
    for expr in exprs:
        used = set(re.findall(r"\b(mqlite_[a-z_]+|process_[a-z_]+)\b", expr))
        assert used, expr
        assert used <= names, (expr, used - names)
