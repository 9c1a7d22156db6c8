"""The console's pages and the admin API endpoints it draws from, over plain HTTP (the
browser tests are tests/console/): status codes, headers, auth, overview and graph."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest

CREDS = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def get(server: Any, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    req = urllib.request.Request(server.endpoint_url + path, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_pages_and_assets(mqlite_server: Any) -> None:
    status, headers, body = get(mqlite_server, "/_mqlite/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'data-page="overview"' in body
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert get(mqlite_server, "/_mqlite/entities")[2].count(b'data-page="entities"') == 1
    status, headers, _ = get(mqlite_server, "/_mqlite")
    assert status == 302 and headers["Location"] == "/_mqlite/"
    for name, ctype in (("console.js", "text/javascript"), ("charts.js", "text/javascript"), ("console.css", "text/css")):
        status, headers, body = get(mqlite_server, f"/_mqlite/static/{name}")
        assert status == 200 and headers["Content-Type"].startswith(ctype) and body
    assert get(mqlite_server, "/_mqlite/static/nothing.js")[0] == 404


def test_console_scripts_never_write_markup_from_data() -> None:
    """The escaping rule, checked in the source: no innerHTML/outerHTML/insertAdjacentHTML
    or document.write anywhere in the console's scripts."""
    from importlib import resources

    static = resources.files("mqlite.protocols.http.console") / "static"
    for name in ("console.js", "charts.js"):
        text = (static / name).read_text()
        for sink in (".innerHTML", ".outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in text, (name, sink)


def test_missing_entities_and_kinds_are_404_pages(mqlite_server: Any) -> None:
    for path in ("/_mqlite/entity/queues/missing", "/_mqlite/entity/nonsense/x",
                 "/_mqlite/entity/groups/%3Cscript%3E"):
        status, headers, body = get(mqlite_server, path)
        assert status == 404 and headers["Content-Type"].startswith("text/html")
        assert b'data-page="notfound"' in body and b"<script>" not in body.replace(b"<script src", b"")
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    sqs.create_queue(QueueName="there")
    assert get(mqlite_server, "/_mqlite/entity/queues/there")[0] == 200


def test_console_asks_for_admin_credentials_when_keys_are_set(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(aws_keys=(("AKIDADMIN", "s3cret"),))
    status, headers, _ = get(server, "/_mqlite/")
    assert status == 401 and headers["WWW-Authenticate"].startswith('Basic realm="mqlite"')
    assert get(server, "/_mqlite/api/overview")[0] == 403
    auth = {"Authorization": "Basic " + base64.b64encode(b"AKIDADMIN:s3cret").decode()}
    assert get(server, "/_mqlite/", auth)[0] == 200
    assert get(server, "/_mqlite/api/overview", auth)[0] == 200
    assert get(server, "/_mqlite/", {"Authorization": "Basic " + base64.b64encode(b"AKIDADMIN:wrong").decode()})[0] == 401


def test_overview_and_graph(mqlite_server: Any) -> None:
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    sns = boto3.client("sns", endpoint_url=mqlite_server.endpoint_url, **CREDS)
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    q = sqs.create_queue(QueueName="work", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "2"})})["QueueUrl"]
    qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    topic = sns.create_topic(Name="news")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=qarn)
    sns.publish(TopicArn=topic, Message="hi")

    status, _, body = get(mqlite_server, "/_mqlite/api/overview")
    o = json.loads(body)
    assert status == 200
    assert o["listeners"] == {"http": mqlite_server.http_port, "kafka": mqlite_server.kafka_port,
                              "amqp": mqlite_server.amqp_port, "redis": mqlite_server.redis_port,
                              "mqtt": mqlite_server.mqtt_port,
                              "stomp": mqlite_server.stomp_port}
    assert o["fsync"] == "never" and o["alarms"] == [] and o["uptime_s"] >= 0
    assert o["messages_in"] == 1 and o["entities"]["queues"] == 2
    edges = {(e["source_kind"], e["source"], e["destination_kind"], e["destination"], e["label"])
             for e in json.loads(get(mqlite_server, "/_mqlite/api/graph")[2])["edges"]}
    assert ("queue", "work", "queue", "dead", "dead letters") in edges
    assert any(e[:4] == ("router", "news", "queue", "work") for e in edges)
    described = json.loads(get(mqlite_server, "/_mqlite/api/queues/work")[2])
    assert described["flow"]["messages_in"] == 1 and described["oldest_ms"] > 0


@pytest.mark.parametrize("path", ["/_mqlite/api/overview", "/_mqlite/api/graph"])
def test_new_endpoints_are_in_the_openapi_document(mqlite_server: Any, path: str) -> None:
    doc = json.loads(get(mqlite_server, "/_mqlite/api/openapi.json")[2])
    assert "get" in doc["paths"][path]
