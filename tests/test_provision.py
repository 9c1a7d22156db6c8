"""Provisioning: `--init FILE` declares queues, topics with subscriptions, streams,
exchanges/queues/bindings, event buses and rules before ready; idempotent, all or
nothing, RabbitMQ definitions accepted; `export` writes the same format back."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pika
import pytest

from mqlite.testing import spawn_server

INIT = """
vhosts = ["staging"]

[[queues]]
name = "orders-dlq"

[[queues]]
name = "orders"
attributes = { VisibilityTimeout = "45" }
dead_letter = { queue = "orders-dlq", max_receive_count = 3 }
tags = { team = "shop" }

[[topics]]
name = "order-events"
[[topics.subscriptions]]
protocol = "sqs"
endpoint = "orders"
attributes = { RawMessageDelivery = "true" }

[[streams]]
name = "clicks"
partitions = 4
config = { retention_ms = 86400000 }

[[exchanges]]
name = "logs"
type = "topic"

[[amqp_queues]]
name = "errors"
arguments = { "x-max-length" = 100 }

[[bindings]]
source = "logs"
destination = "errors"
routing_key = "*.error"

[[event_buses]]
name = "shop"
[[event_buses.rules]]
name = "big-orders"
event_pattern = { source = ["shop"], detail = { total = [{ numeric = [">", 100] }] } }
targets = [{ id = "q", arn = "arn:aws:sqs:us-east-1:000000000000:orders" }]
"""


def aws(server, service):
    return boto3.client(service, endpoint_url=server.endpoint_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def post(server, path, doc):
    import urllib.error
    import urllib.request

    req = urllib.request.Request(server.endpoint_url + path, data=json.dumps(doc).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def get(server, path):
    import urllib.request

    with urllib.request.urlopen(server.endpoint_url + path, timeout=10) as resp:
        return json.loads(resp.read())


def test_init_declares_every_kind_before_ready(mqlite_server_factory, tmp_path):
    init = tmp_path / "init.toml"
    init.write_text(INIT)
    server = mqlite_server_factory(init=init)
    sqs, sns, events = aws(server, "sqs"), aws(server, "sns"), aws(server, "events")
    url = sqs.get_queue_url(QueueName="orders")["QueueUrl"]
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["VisibilityTimeout"] == "45"
    assert json.loads(attrs["RedrivePolicy"])["maxReceiveCount"] == 3
    assert sqs.list_queue_tags(QueueUrl=url)["Tags"] == {"team": "shop"}
    topic = sns.list_topics()["Topics"][0]["TopicArn"]
    sns.publish(TopicArn=topic, Message="via sns")
    events.put_events(Entries=[{"Source": "shop", "DetailType": "order", "EventBusName": "shop",
                                "Detail": json.dumps({"total": 250})}])
    bodies = []
    for _ in range(10):
        bodies += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                          WaitTimeSeconds=1).get("Messages", [])]
        if len(bodies) >= 2:
            break
    assert "via sns" in bodies  # raw delivery through the declared subscription
    assert any(json.loads(b).get("detail") == {"total": 250} for b in bodies if b.startswith("{"))
    assert get(server, "/_mqlite/api/streams/clicks")["partitions"][3]["partition"] == 3
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port))
    ch = conn.channel()
    ch.basic_publish("logs", "db.error", b"boom")
    ch.basic_publish("logs", "db.info", b"fine")
    method, _, body = ch.basic_get("errors", auto_ack=True)
    assert body == b"boom" and method.message_count == 0
    conn.close()
    vhost = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port, "staging"))
    vhost.close()


def test_init_is_idempotent_across_restarts(mqlite_server_factory, tmp_path):
    init = tmp_path / "init.toml"
    init.write_text(INIT)
    server = mqlite_server_factory(init=init)
    first = get(server, "/_mqlite/api/topology")
    server.restart()
    assert get(server, "/_mqlite/api/topology") == first
    status, res = post(server, "/_mqlite/api/topology", first)
    assert status == 200 and res["applied"]["queues"] == 2
    assert get(server, "/_mqlite/api/topology") == first


def test_export_reset_import_round_trip(mqlite_server_factory, tmp_path):
    init = tmp_path / "init.toml"
    init.write_text(INIT)
    server = mqlite_server_factory(init=init)
    exported = get(server, "/_mqlite/api/topology")
    assert post(server, "/_mqlite/reset", {})[0] == 200
    assert get(server, "/_mqlite/api/topology").get("queues") is None
    status, _ = post(server, "/_mqlite/api/topology", exported)
    assert status == 200
    assert get(server, "/_mqlite/api/topology") == exported


def test_rabbitmq_definitions_with_policies(mqlite_server_factory, tmp_path):
    definitions = {
        "rabbit_version": "3.13.0",
        "users": [{"name": "admin", "password_hash": "x", "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ["administrator"]}],
        "vhosts": [{"name": "/"}],
        "permissions": [],
        "policies": [{"vhost": "/", "name": "cap", "pattern": "^capped\\.", "apply-to": "queues",
                      "definition": {"max-length": 2}, "priority": 0}],
        "queues": [{"name": "capped.q", "vhost": "/", "durable": True, "auto_delete": False, "arguments": {}}],
        "exchanges": [{"name": "in", "vhost": "/", "type": "fanout", "durable": True, "auto_delete": False,
                       "internal": False, "arguments": {}}],
        "bindings": [{"source": "in", "vhost": "/", "destination": "capped.q", "destination_type": "queue",
                      "routing_key": "", "arguments": {}}],
    }
    path = tmp_path / "definitions.json"
    path.write_text(json.dumps(definitions))
    server = mqlite_server_factory(init=path)
    conn = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port))
    ch = conn.channel()
    for i in range(3):
        ch.basic_publish("in", "", b"m%d" % i)
    ch.queue_declare("capped.q", passive=True)
    bodies = [ch.basic_get("capped.q", auto_ack=True)[2] for _ in range(2)]
    assert bodies == [b"m1", b"m2"]  # the policy's max-length 2 dropped the oldest
    conn.close()


@pytest.mark.parametrize("doc,message", [
    ({"queues": [{"name": "a"}, {"name": "b", "attributes": {"VisibilityTimeout": 5}}]},
     "queues[b].attributes.VisibilityTimeout must be string"),
    ({"queues": [{"name": "a", "dead_letter": {"queue": "nope", "max_receive_count": 2}}]},
     "queues[a].dead_letter.queue: no queue named 'nope'"),
    ({"queues": [{"name": "ok"}], "topics": [{"name": "t", "subscriptions": [{"protocol": "sqs", "endpoint": "missing"}]}]},
     "topics[t].subscriptions[0].endpoint: no queue named 'missing'"),
    ({"queues": [{"name": "ok"}, {"name": "bad name!"}]}, "queues[bad name!]"),
    ({"streams": [{"name": "s", "partitions": "3"}]}, "streams[s].partitions must be integer"),
    ({"exchanges": [{"name": "x", "type": "nonsense"}]}, "exchanges[x]"),
    ({"bindings": [{"source": "nope", "destination": "q"}]}, "bindings[nope->q].source: no exchange 'nope'"),
    ({"widgets": []}, "unknown section 'widgets'"),
    ({"queues": [{"name": "a"}, {"name": "a"}]}, "queues[a]: declared twice"),
])
def test_bad_documents_name_the_entity_and_field_and_apply_nothing(mqlite_server, doc, message):
    status, problem = post(mqlite_server, "/_mqlite/api/topology", doc)
    assert status == 400 and message in problem["detail"], problem
    assert get(mqlite_server, "/_mqlite/api/entities")["items"] == [
        i for i in get(mqlite_server, "/_mqlite/api/entities")["items"] if i["kind"] == "router"]


def test_a_bad_init_file_stops_the_start_with_one_line(tmp_path):
    init = tmp_path / "init.toml"
    init.write_text('[[queues]]\nname = "ok"\n[[queues]]\nname = "x"\nattributes = { DelaySeconds = "9999" }\n')
    proc = subprocess.run(
        [sys.executable, "-m", "mqlite.cli", "serve", "--memory", "--init", str(init), "--http-port", "0",
         "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off", "--mqtt-port", "off", "--stomp-port", "off"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("mqlite: cannot start:") and str(init) in last and "queues[x]" in last


def test_init_from_the_config_file(tmp_path):
    init = tmp_path / "init.json"
    init.write_text(json.dumps({"queues": [{"name": "from-config"}]}))
    config = tmp_path / "mqlite.toml"
    config.write_text(f'init = "{init}"\n')
    proc = spawn_server(None, "--config", str(config), "--kafka-port", "off", "--amqp-port", "off",
                        "--redis-port", "off")
    try:
        sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{proc.ports['http']}", region_name="us-east-1",
                           aws_access_key_id="x", aws_secret_access_key="x")
        assert sqs.get_queue_url(QueueName="from-config")["QueueUrl"].endswith("/from-config")
    finally:
        proc.stop()
