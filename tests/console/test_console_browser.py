"""The web console in a real browser: Debian's headless Chromium driven over the DevTools
protocol (`cdp.py`) against a real server, with real clients (boto3, pika, redis-py,
confluent-kafka) making the data it shows.

Screenshots of each page go to $MQLITE_CONSOLE_SCREENSHOTS when set (docs/console/ holds
the ones docs/console.md shows), else to the test's temporary directory.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import confluent_kafka
import pika
import pytest
import redis

sys.path.insert(0, os.path.dirname(__file__))
from cdp import Browser, Page, chromium_path

CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
HOSTILE = "<script>window.__pwned=1</script>\"'&<img src=x onerror=\"window.__pwned=2\">"

pytestmark = pytest.mark.skipif(chromium_path() is None, reason="chromium is not installed (scripts/install-test-deps.sh)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    b = Browser(chromium_path() or "chromium")
    yield b
    b.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    p = browser.new_page()
    yield p
    p.close()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    where = os.environ.get("MQLITE_CONSOLE_SCREENSHOTS")
    path = Path(where) if where else tmp_path / "screenshots"
    path.mkdir(parents=True, exist_ok=True)
    return path


def sqs(server: Any) -> Any:
    return boto3.client("sqs", endpoint_url=server.endpoint_url, **CREDS)


def url(server: Any, path: str) -> str:
    return f"{server.endpoint_url}/_mqlite{path}"


def entity_url(server: Any, kind: str, name: str) -> str:
    return url(server, f"/entity/{kind}/{urllib.parse.quote(name, safe='')}")


def counts(client: Any, queue_url: str) -> dict[str, str]:
    return client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=[
        "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed"])["Attributes"]


def populate(server: Any) -> dict[str, str]:
    """A little of everything: an SQS queue fed by an SNS topic, a dead-letter queue, a
    Kafka topic with a consumer group, an AMQP exchange and queue, a Redis stream."""
    client = sqs(server)
    dlq = client.create_queue(QueueName="orders-dlq")["QueueUrl"]
    arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    q = client.create_queue(QueueName="orders", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})["QueueUrl"]
    sns = boto3.client("sns", endpoint_url=server.endpoint_url, **CREDS)
    topic = sns.create_topic(Name="order-events")["TopicArn"]
    qarn = client.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    client.send_message(QueueUrl=q, MessageBody=json.dumps({"order": 1, "items": ["a", "b"]}),
                        MessageAttributes={"source": {"DataType": "String", "StringValue": "web"}})
    sns.publish(TopicArn=topic, Message="order 2 placed")
    bootstrap = f"127.0.0.1:{server.kafka_port}"
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap})
    for i in range(10):
        producer.produce("clicks", key=f"user-{i % 3}".encode(), value=bytes([0, 1, 2, 250, i]))
    assert producer.flush(10) == 0
    consumer = confluent_kafka.Consumer({"bootstrap.servers": bootstrap, "group.id": "dashboard",
                                         "auto.offset.reset": "earliest", "enable.auto.commit": False})
    consumer.subscribe(["clicks"])
    msg = None
    while msg is None:
        msg = consumer.poll(10)
    consumer.commit(message=msg, asynchronous=False)
    consumer.close()
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port))
    ch = conn.channel()
    ch.exchange_declare("billing", "topic")
    ch.queue_declare("invoices")
    ch.queue_bind("invoices", "billing", "invoice.*")
    ch.basic_publish("billing", "invoice.created", b"invoice 7")
    conn.close()
    r = redis.Redis(port=server.redis_port)
    r.xadd("sensor", {"temp": "21.5"})
    r.close()
    return {"queue_url": q, "topic_arn": topic}


def load(page: Page, address: str, ready: str) -> None:
    page.goto(address)
    page.wait_js(ready)


def test_every_page_loads_without_console_errors(mqlite_server: Any, page: Page, shots: Path) -> None:
    populate(mqlite_server)
    pages = [
        ("overview", url(mqlite_server, "/"), "document.querySelector('#listeners tbody tr') && document.querySelector('polyline')"),
        ("entities", url(mqlite_server, "/entities"), "document.querySelectorAll('#entities tbody tr').length >= 6"),
        ("queue", entity_url(mqlite_server, "queues", "orders"),
         "document.querySelector('#messages .message') && document.querySelector('#graph svg') && document.querySelector('#chart polyline')"),
        ("stream", entity_url(mqlite_server, "streams", "clicks"),
         "document.querySelector('#messages .message') && document.querySelector('#partitions') && document.querySelector('#stream-group-lag tbody tr')"),
        ("router", entity_url(mqlite_server, "routers", "order-events"), "document.querySelector('#bindings tbody tr')"),
        ("group", entity_url(mqlite_server, "groups", "dashboard"), "document.querySelector('#offsets tbody tr') && document.querySelector('#chart polyline')"),
    ]
    for name, address, ready in pages:
        load(page, address, ready)
        page.wait_js("document.getElementById('status').textContent.startsWith('live')")
        page.screenshot(shots / f"{name}.png")
        assert page.errors == [], (name, page.errors)
    # the group page shows the lag of each partition: 10 records, 1 committed
    assert page.evaluate("document.querySelector('#offsets tbody tr td:last-child').textContent") == "9"
    load(page, entity_url(mqlite_server, "streams", "clicks"), "document.querySelector('#stream-group-lag tbody tr')")
    assert page.evaluate("Array.from(document.querySelectorAll('#stream-group-lag tbody td')).map(td => td.textContent)") \
        == ["dashboard", "Empty", "0", "1", "9"]


def test_binary_bodies_are_hex_and_json_is_pretty(mqlite_server: Any, page: Page) -> None:
    populate(mqlite_server)
    load(page, entity_url(mqlite_server, "streams", "clicks"), "document.querySelector('#messages .message')")
    first = page.evaluate("document.querySelector('#messages .message pre').textContent")
    assert first.startswith("00000000  00 01 02 fa 00")
    load(page, entity_url(mqlite_server, "queues", "orders"), "document.querySelector('#messages .message')")
    bodies = page.evaluate("Array.from(document.querySelectorAll('#messages pre')).map(p => p.textContent)")
    assert json.dumps({"order": 1, "items": ["a", "b"]}, indent=2) in bodies
    assert "web" in page.evaluate("document.querySelector('#messages dl').textContent")


def test_a_message_published_with_boto3_appears_without_reload(mqlite_server: Any, page: Page) -> None:
    client = sqs(mqlite_server)
    q = client.create_queue(QueueName="live")["QueueUrl"]
    load(page, entity_url(mqlite_server, "queues", "live"), "document.getElementById('no-messages')")
    loads = page.loads
    # the page polls once a second (POLL_MS); no reload happens in between
    assert page.evaluate("POLL_MS") == 1000
    client.send_message(QueueUrl=q, MessageBody="hello from boto3")
    page.wait_js("document.getElementById('messages').textContent.includes('hello from boto3')")
    page.wait_js("document.getElementById('visible').textContent === '1'")
    assert page.loads == loads
    assert page.errors == []


def test_peeking_changes_no_counts(mqlite_server: Any, page: Page) -> None:
    client = sqs(mqlite_server)
    q = client.create_queue(QueueName="peeked")["QueueUrl"]
    for i in range(3):
        client.send_message(QueueUrl=q, MessageBody=f"m{i}")
    before = counts(client, q)
    load(page, entity_url(mqlite_server, "queues", "peeked"),
         "document.querySelectorAll('#messages .message').length === 3")
    for _ in range(3):
        page.click("#peek-button")
    page.wait_js("document.querySelectorAll('#messages .message').length === 3")
    assert counts(client, q) == before == {"ApproximateNumberOfMessages": "3",
                                           "ApproximateNumberOfMessagesNotVisible": "0",
                                           "ApproximateNumberOfMessagesDelayed": "0"}
    got = client.receive_message(QueueUrl=q, MaxNumberOfMessages=10, AttributeNames=["ApproximateReceiveCount"])
    assert sorted(m["Body"] for m in got["Messages"]) == ["m0", "m1", "m2"]
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in got["Messages"]} == {"1"}


def test_purge_through_the_ui_empties_the_queue(mqlite_server: Any, page: Page, shots: Path) -> None:
    client = sqs(mqlite_server)
    q = client.create_queue(QueueName="to-purge")["QueueUrl"]
    for i in range(5):
        client.send_message(QueueUrl=q, MessageBody=f"m{i}")
    load(page, entity_url(mqlite_server, "queues", "to-purge"), "document.querySelectorAll('#messages .message').length === 5")
    page.click("#purge-button")
    page.wait_js("document.getElementById('confirm')")
    page.screenshot(shots / "purge-confirm.png")
    assert counts(client, q)["ApproximateNumberOfMessages"] == "5"  # nothing before confirming
    page.click("#confirm-yes")
    page.wait_js("(document.getElementById('action-result') || {}).textContent === 'Purge: done.'")
    assert counts(client, q)["ApproximateNumberOfMessages"] == "0"
    page.wait_js("document.getElementById('no-messages')")
    assert page.errors == []


def test_publish_form_and_delete_with_confirmation(mqlite_server: Any, page: Page) -> None:
    client = sqs(mqlite_server)
    q = client.create_queue(QueueName="form")["QueueUrl"]
    load(page, entity_url(mqlite_server, "queues", "form"), "document.getElementById('no-messages')")
    page.evaluate("document.getElementById('publish-body').value = 'typed in the console'")
    page.evaluate("document.getElementById('publish-attributes').value = '{\"color\": \"blue\"}'")
    page.click("#publish-button")
    page.wait_js("(document.getElementById('publish-result') || {}).textContent === 'Published (offset 0).'")
    got = client.receive_message(QueueUrl=q, MessageAttributeNames=["All"])["Messages"]
    assert got[0]["Body"] == "typed in the console"
    assert got[0]["MessageAttributes"]["color"]["StringValue"] == "blue"
    page.click("#delete-button")
    page.click("#confirm-no")
    assert client.get_queue_url(QueueName="form")["QueueUrl"] == q  # cancelled: still there
    page.click("#delete-button")
    page.click("#confirm-yes")
    page.wait_js("location.pathname === '/_mqlite/entities'")
    with pytest.raises(client.exceptions.QueueDoesNotExist):
        client.get_queue_url(QueueName="form")


def test_hostile_names_bodies_and_attributes_never_execute(mqlite_server: Any, page: Page, shots: Path) -> None:
    long_name = "ü" * 40 + "-" + "x" * 150
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    for name in (HOSTILE, long_name, "队列 ✓ \"quoted\""):
        ch.queue_declare(name)
        ch.basic_publish("", name, HOSTILE.encode(), pika.BasicProperties(headers={HOSTILE: HOSTILE}))
    ch.exchange_declare(HOSTILE, "fanout")
    ch.queue_bind(HOSTILE, HOSTILE)
    conn.close()
    client = sqs(mqlite_server)
    q = client.create_queue(QueueName="attrs")["QueueUrl"]
    client.send_message(QueueUrl=q, MessageBody=HOSTILE,
                        MessageAttributes={"evil": {"DataType": "String", "StringValue": HOSTILE}})
    r = redis.Redis(port=mqlite_server.redis_port)
    r.xadd(HOSTILE, {HOSTILE: HOSTILE})
    r.close()

    with urllib.request.urlopen(url(mqlite_server, "/api/streams")) as resp:  # the Redis stream's core name
        stream = next(e["name"] for e in json.loads(resp.read())["items"] if e["name"].startswith("__rk."))
    load(page, url(mqlite_server, "/entities"), "document.querySelectorAll('#entities tbody tr').length >= 5")
    names = page.evaluate("Array.from(document.querySelectorAll('#entities td.name')).map(td => td.textContent)")
    assert HOSTILE in names and long_name in names and "队列 ✓ \"quoted\"" in names
    page.screenshot(shots / "hostile-entities.png")
    for kind, name, ready in [("queues", HOSTILE, "#messages .message"), ("queues", "attrs", "#messages dl"),
                              ("streams", stream, "#messages .message"), ("routers", HOSTILE, "#bindings tbody tr"),
                              ("queues", long_name, "#messages .message")]:
        load(page, entity_url(mqlite_server, kind, name), f"document.querySelector({json.dumps(ready)})")
        page.wait_js("document.querySelector('#graph svg') || document.querySelector('#graph p')")
        assert page.evaluate("document.getElementById('entity-name').textContent") == name
        text = page.evaluate("document.getElementById('main').textContent")
        assert HOSTILE in text
        assert page.evaluate("typeof window.__pwned") == "undefined"
        assert page.evaluate("document.scripts.length") == 2  # the console's own two, nothing added
        assert page.evaluate("document.querySelectorAll('main img, main script').length") == 0
        assert page.dialogs == [] and page.errors == [], (kind, name, page.errors)


def test_a_missing_entity_is_a_404_page(mqlite_server: Any, page: Page, shots: Path) -> None:
    address = entity_url(mqlite_server, "queues", "<b>nope</b>")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(address)
    assert caught.value.code == 404
    assert "text/html" in caught.value.headers["Content-Type"]
    load(page, address, "document.getElementById('notfound-text')")
    assert page.evaluate("document.getElementById('notfound-text').textContent") == \
        "There is no queue named “<b>nope</b>”."
    assert page.evaluate("document.querySelectorAll('main b').length") == 0
    page.screenshot(shots / "not-found.png")
