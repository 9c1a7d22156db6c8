"""The admin API (`/_mqlite/api/`): one model for entities of every protocol, the
operations list/describe/create/delete/purge/peek/publish, RFC 9457 problems, and an
OpenAPI document that is valid and that the answers conform to."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import jsonschema
import pika
import pytest
import redis
from openapi_spec_validator import validate

API = "/_mqlite/api"


def call(server: Any, method: str, path: str, body: Any = None) -> tuple[int, Any, str]:
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    req = urllib.request.Request(server.endpoint_url + path, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            raw, status, ctype = resp.read(), resp.status, resp.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raw, status, ctype = exc.read(), exc.code, exc.headers.get("Content-Type", "")
    return status, json.loads(raw) if raw else None, ctype


def conforms(doc: dict[str, Any], schema_name: str, value: Any) -> None:
    schema = {"$ref": f"#/components/schemas/{schema_name}", "components": doc["components"]}
    jsonschema.validate(value, schema)


@pytest.fixture
def doc(mqlite_server: Any) -> dict[str, Any]:
    status, document, _ = call(mqlite_server, "GET", f"{API}/openapi.json")
    assert status == 200
    return document


def test_openapi_document_is_valid_and_lists_every_operation(doc):
    validate(doc)
    ops = {(m.upper(), p) for p, item in doc["paths"].items() for m in item}
    for expected in [("GET", f"{API}/{{kind}}"), ("POST", f"{API}/{{kind}}"),
                     ("GET", f"{API}/{{kind}}/{{name}}"), ("DELETE", f"{API}/{{kind}}/{{name}}"),
                     ("POST", f"{API}/{{kind}}/{{name}}/purge"), ("GET", f"{API}/{{kind}}/{{name}}/messages"),
                     ("POST", f"{API}/{{kind}}/{{name}}/messages"), ("POST", f"{API}/reset")]:
        assert expected in ops
    assert {"QueueInfo", "StreamInfo", "RouterInfo", "GroupInfo", "Problem"} <= set(doc["components"]["schemas"])


def test_one_model_for_entities_made_by_every_protocol(mqlite_server, doc):
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    dlq = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    src = sqs.create_queue(QueueName="src", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})})["QueueUrl"]
    sqs.send_message(QueueUrl=src, MessageBody="one")
    sqs.send_message(QueueUrl=src, MessageBody="two", DelaySeconds=60)
    sqs.receive_message(QueueUrl=src, VisibilityTimeout=60)
    sqs.send_message(QueueUrl=src, MessageBody="three")
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port))
    ch = conn.channel()
    ch.exchange_declare("ex", "direct")
    ch.queue_declare("aq")
    ch.queue_bind("aq", "ex", "rk")
    r = redis.Redis(port=mqlite_server.redis_port)
    r.xadd("rs", {"f": "v"})

    status, q, _ = call(mqlite_server, "GET", f"{API}/queues/src")
    assert status == 200
    conforms(doc, "QueueInfo", q)
    assert (q["origin"], q["visible"], q["in_flight"], q["delayed"]) == ("sqs", 1, 1, 1)
    assert (q["dead_letter_queue"], q["max_receive_count"]) == ("dlq", 3)
    status, aq, _ = call(mqlite_server, "GET", f"{API}/queues/aq")
    assert aq["origin"] == "amqp"
    status, ex, _ = call(mqlite_server, "GET", f"{API}/routers/ex")
    conforms(doc, "RouterInfo", ex)
    assert ex["origin"] == "amqp" and [b["destination"] for b in ex["bindings"]] == ["aq"]
    status, rs, _ = call(mqlite_server, "GET", f"{API}/streams/rs")
    conforms(doc, "StreamInfo", rs)
    assert rs["messages"] == 1 and rs["partitions"][0]["latest"] == 1
    status, listing, _ = call(mqlite_server, "GET", f"{API}/entities")
    conforms(doc, "EntityList", listing)
    names = {(i["kind"], i["name"]) for i in listing["items"]}
    assert {("queue", "src"), ("queue", "aq"), ("router", "ex"), ("stream", "rs")} <= names
    conn.close()


def test_peek_changes_nothing_and_publish_purge_delete(mqlite_server, doc):
    status, created, _ = call(mqlite_server, "POST", f"{API}/queues", {"name": "work"})
    assert status == 201 and created["name"] == "work"
    status, res, _ = call(mqlite_server, "POST", f"{API}/queues/work/messages",
                          {"messages": [{"body": "a", "attributes": {"k": "v"}}, {"body": "/w==", "body_encoding": "base64"}]})
    assert status == 201 and len(res["results"]) == 2
    for _ in range(2):
        status, peeked, _ = call(mqlite_server, "GET", f"{API}/queues/work/messages?limit=10")
        conforms(doc, "MessageList", peeked)
        assert [m["body"] for m in peeked["messages"]] == ["a", "/w=="]
        assert peeked["messages"][0]["attributes"] == {"k": "v"}
        assert peeked["messages"][1]["body_encoding"] == "base64"
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    url = sqs.get_queue_url(QueueName="work")["QueueUrl"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                              AttributeNames=["ApproximateReceiveCount"])["Messages"]
    # peeking twice neither leased nor counted a receive
    assert got[0]["Body"] == "a" and got[0]["Attributes"]["ApproximateReceiveCount"] == "1"
    status, purged, _ = call(mqlite_server, "POST", f"{API}/queues/work/purge")
    assert (status, purged) == (200, {"purged": 2})
    status, _, _ = call(mqlite_server, "POST", f"{API}/streams", {"name": "ev", "partitions": 3})
    assert status == 201
    status, res, _ = call(mqlite_server, "POST", f"{API}/streams/ev/messages", {"body": "x", "partition": 2, "key": "k"})
    assert (res["partition"], res["offset"]) == (2, 0)
    status, peeked, _ = call(mqlite_server, "GET", f"{API}/streams/ev/messages?partition=2")
    assert peeked["messages"][0]["key"] == "k"
    status, deleted, _ = call(mqlite_server, "DELETE", f"{API}/streams/ev")
    assert (status, deleted) == (200, {"deleted": True})
    assert call(mqlite_server, "GET", f"{API}/streams/ev")[0] == 404


def test_groups_show_members_offsets_and_lag(mqlite_server, doc):
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.structs import OffsetAndMetadata

    prod = KafkaProducer(bootstrap_servers=f"127.0.0.1:{mqlite_server.kafka_port}")
    for i in range(5):
        prod.send("t", b"%d" % i, partition=0)
    prod.flush()
    prod.close()
    cons = KafkaConsumer(bootstrap_servers=f"127.0.0.1:{mqlite_server.kafka_port}", group_id="grp",
                         enable_auto_commit=False)
    cons.assign([TopicPartition("t", 0)])
    cons.commit({TopicPartition("t", 0): OffsetAndMetadata(2, "", -1)})
    cons.close()
    status, g, _ = call(mqlite_server, "GET", f"{API}/groups/grp")
    assert status == 200
    conforms(doc, "GroupInfo", g)
    assert g["offsets"] == [{"stream": "t", "partition": 0, "committed": 2, "latest": 5, "lag": 3}]
    assert g["lag"] == 3


@pytest.mark.parametrize("method,path,body,status,field", [
    ("GET", f"{API}/queues/nope", None, 404, None),
    ("GET", f"{API}/widgets", None, 404, "kind"),
    ("POST", f"{API}/queues", {"nam": "x"}, 400, "body.nam"),
    ("POST", f"{API}/queues", {"name": 5}, 400, "body.name"),
    ("POST", f"{API}/queues", b"{", 400, None),
    ("POST", f"{API}/streams", {"name": "s", "partitions": 0}, 400, None),
    ("POST", f"{API}/queues", {"name": "bad name!"}, 400, None),
    ("GET", f"{API}/queues/q1/messages?limit=0", None, 400, "query.limit"),
    ("POST", f"{API}/queues/q1/messages", {"messages": [{"body": "ok"}, {"body": "!!", "body_encoding": "base64"}]}, 400, "body.messages[1].body"),
])
def test_mistakes_are_problem_documents_and_change_nothing(mqlite_server, method, path, body, status, field):
    call(mqlite_server, "POST", f"{API}/queues", {"name": "q1"})
    got, problem, ctype = call(mqlite_server, method, path, body)
    assert got == status and ctype == "application/problem+json"
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field:
        assert problem.get("field") == field
    # nothing half-applied: q1 is still empty, nothing else was created
    _, q1, _ = call(mqlite_server, "GET", f"{API}/queues/q1")
    assert q1["visible"] == 0
    _, listing, _ = call(mqlite_server, "GET", f"{API}/entities")
    assert [i["name"] for i in listing["items"] if i["kind"] in ("queue", "stream")] == ["q1"]


def test_creating_an_existing_queue_differently_is_a_conflict(mqlite_server):
    assert call(mqlite_server, "POST", f"{API}/queues", {"name": "c"})[0] == 201
    status, problem, _ = call(mqlite_server, "POST", f"{API}/queues", {"name": "c", "attributes": {"delay": 5}})
    assert status == 409 and problem["title"] == "Conflict"


def test_publishing_to_an_sns_topic_goes_through_sns(mqlite_server):
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    sns = boto3.client("sns", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    url = sqs.create_queue(QueueName="sub")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    status, res, _ = call(mqlite_server, "POST", f"{API}/routers/news/messages",
                          {"body": "hi", "attributes": {"k": "v"}})
    assert status == 201 and res["message_id"]
    envelope = json.loads(sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"][0]["Body"])
    assert (envelope["Type"], envelope["Message"], envelope["MessageId"]) == ("Notification", "hi", res["message_id"])
    assert envelope["MessageAttributes"]["k"] == {"Type": "String", "Value": "v"}
    status, problem, _ = call(mqlite_server, "POST", f"{API}/routers/news/messages",
                              {"body": "/w==", "body_encoding": "base64"})
    assert status == 400 and problem["field"] == "body.messages[0].body"
