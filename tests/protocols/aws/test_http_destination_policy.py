"""The operator's HTTP destination policy (`--http-destination HOST|*.DOMAIN|CIDR`,
issue #23, item 5): SNS HTTP/S subscriptions, EventBridge API destinations (and OAuth
token endpoints) and Firehose HTTP endpoints reach only allowed hosts/networks.

Rules: the default (no entries) allows any host, for local use, and the start-up log
says which policy is in force; a URL whose host is outside the policy is refused when
registered, with the service's own error (SNS `InvalidParameter`, EventBridge and
Firehose validation errors); a host name allowed at registration but resolving outside
the allowed networks fails at delivery (EventBridge: the event goes to the target's DLQ
and the endpoint is never called). A bad entry is a one-line start-up error.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from mqlite.testing import HttpEndpoint, spawn_server

ACCOUNT = "000000000000"


class Hits:
    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.record)
        self.endpoint = HttpEndpoint(app)

    async def record(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        return web.Response(text="ok")


@pytest.fixture
def hits() -> Any:
    h = Hits()
    yield h
    h.endpoint.close()


@pytest.fixture
def policed(mqlite_server_factory: Any) -> Any:
    return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                 http_destinations=("127.0.0.1/32",))


def _code(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    return info.value.response["Error"]["Code"], info.value.response["Error"]["Message"]


def test_sns_subscription_outside_the_policy_is_refused_at_subscribe(policed, client_factory, hits) -> None:
    sns = client_factory(service="sns", server=policed)
    topic = sns.create_topic(Name="t")["TopicArn"]
    with pytest.raises(ClientError) as info:
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=f"http://127.0.0.2:{hits.endpoint.port}/")
    code, message = _code(info)
    assert code == "InvalidParameter"
    assert message == "Invalid parameter: Endpoint Reason: 127.0.0.2 is not an allowed HTTP destination"
    for url in ("http://169.254.169.254/latest/meta-data/", "http://[::1]:80/"):
        with pytest.raises(ClientError):
            sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=url)
    sub = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=hits.endpoint.url + "/ok",
                        ReturnSubscriptionArn=True)
    assert sub["SubscriptionArn"].startswith(f"arn:aws:sns:us-east-1:{ACCOUNT}:t:")
    assert [s["Endpoint"] for s in sns.list_subscriptions()["Subscriptions"]] == [hits.endpoint.url + "/ok"]


def test_eventbridge_api_destination_and_token_endpoint_outside_the_policy_are_refused(policed, client_factory) -> None:
    events = client_factory(service="events", server=policed)
    conn = events.create_connection(Name="c", AuthorizationType="API_KEY",
                                    AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    with pytest.raises(ClientError) as info:
        events.create_api_destination(Name="d", ConnectionArn=conn["ConnectionArn"],
                                      InvocationEndpoint="https://169.254.169.254/x", HttpMethod="POST")
    assert _code(info) == ("ValidationException", "Parameter InvocationEndpoint is not valid. Reason: "
                           "169.254.169.254 is not an allowed HTTP destination.")
    with pytest.raises(ClientError) as info:
        events.create_connection(Name="o", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
            "OAuthParameters": {"ClientParameters": {"ClientID": "a", "ClientSecret": "b"},
                                "AuthorizationEndpoint": "http://10.1.2.3/token", "HttpMethod": "POST"}})
    assert _code(info)[0] == "ValidationException"


def test_firehose_http_endpoint_outside_the_policy_is_refused(policed, client_factory) -> None:
    firehose = client_factory(service="firehose", server=policed)
    with pytest.raises(ClientError) as info:
        firehose.create_delivery_stream(
            DeliveryStreamName="f", HttpEndpointDestinationConfiguration={
                "EndpointConfiguration": {"Url": "https://192.168.7.7/ingest"},
                "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/r",
                "S3Configuration": {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/r", "BucketARN": "arn:aws:s3:::bkt"}})
    assert _code(info)[0] == "InvalidArgumentException"
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []


def test_a_name_resolving_outside_the_networks_fails_at_delivery(mqlite_server_factory, client_factory, hits) -> None:
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                   http_destinations=("10.0.0.0/8",))
    events = client_factory(service="events", server=server)
    sqs = client_factory(service="sqs", server=server)
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    conn = events.create_connection(Name="c", AuthorizationType="API_KEY",
                                    AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    # a name is accepted when registered (it might resolve into 10/8) ...
    dest = events.create_api_destination(Name="d", ConnectionArn=conn["ConnectionArn"], HttpMethod="POST",
                                         InvocationEndpoint=f"http://localhost:{hits.endpoint.port}/in")
    events.put_rule(Name="r", EventPattern='{"source": ["s"]}')
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": dest["ApiDestinationArn"],
                                           "RetryPolicy": {"MaximumRetryAttempts": 0},
                                           "DeadLetterConfig": {"Arn": f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"}}])
    events.put_events(Entries=[{"Source": "s", "DetailType": "t", "Detail": '{"k": 1}'}])
    # ... but it resolves to loopback, outside 10/8: a failed delivery, dead-lettered
    dead: list[Any] = []
    while not dead:
        dead = sqs.receive_message(QueueUrl=dlq_url, WaitTimeSeconds=20,
                                   MessageAttributeNames=["All"]).get("Messages", [])
    attrs = dead[0]["MessageAttributes"]
    assert attrs["TARGET_ARN"]["StringValue"] == dest["ApiDestinationArn"]
    assert "HTTP destination policy" in attrs["ERROR_MESSAGE"]["StringValue"]
    assert hits.bodies == []


def test_start_up_log_states_the_policy_and_a_bad_entry_is_one_line(tmp_path) -> None:
    proc = spawn_server(None, "--http-destination", "10.0.0.0/8", "--http-destination", "*.example.com",
                        "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off")
    try:
        assert any("outbound HTTP destinations: *.example.com, 10.0.0.0/8" in line for line in proc.log_lines)
    finally:
        proc.process.terminate()
        proc.process.wait(10)
    default = spawn_server(None, "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off")
    try:
        assert any("outbound HTTP destinations: any host" in line for line in default.log_lines)
    finally:
        default.process.terminate()
        default.process.wait(10)
    bad = subprocess.run([sys.executable, "-m", "mqlite.cli", "serve", "--memory", "--http-destination", "not a host!"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    (line,) = bad.stderr.strip().splitlines()
    assert line.startswith("mqlite: ") and "--http-destination" in line and "'not a host!'" in line
