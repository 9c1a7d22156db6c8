"""Connections and API destinations through boto3, invoked against a local HTTP server.

Rules checked (EventBridge API reference and user guide): a connection authorizes with
BASIC (an Authorization: Basic header), API_KEY (the named header) or
OAUTH_CLIENT_CREDENTIALS (a client-credentials token from the AuthorizationEndpoint,
sent as a Bearer token, reused until it expires); secrets are never returned by
DescribeConnection; InvocationHttpParameters and the target's HttpParameters add
headers/query parameters; `*` in the endpoint takes PathParameterValues; Lambda targets
invoke the configured local endpoint; missing resources are ResourceNotFoundException.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from aiohttp import web
from botocore.exceptions import ClientError

from mqlite.testing import HttpEndpoint

ACCOUNT = "000000000000"


class Recorder:
    """A local HTTP endpoint (`mqlite.testing.HttpEndpoint`) that records every request."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.tokens_issued = 0
        app = web.Application()
        app.router.add_route("*", "/token", self.token)
        app.router.add_route("*", "/{tail:.*}", self.record)
        self.endpoint = HttpEndpoint(app)
        self.url = self.endpoint.url

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        expected = "Basic " + base64.b64encode(b"cid:csecret").decode()
        if request.headers.get("Authorization") != expected or form.get("grant_type") != "client_credentials":
            return web.Response(status=401)
        self.tokens_issued += 1
        return web.json_response({"access_token": f"tok-{self.tokens_issued}", "token_type": "Bearer",
                                  "expires_in": 3600, "scope": form.get("scope")})

    async def record(self, request: web.Request) -> web.Response:
        self.requests.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=200, text="ok")

    def wait_for(self, n: int) -> list[dict[str, Any]]:
        for _ in range(400):
            if len(self.requests) >= n:
                return self.requests
            time.sleep(0.025)
        raise AssertionError(f"expected {n} requests, got {self.requests}")

    def close(self) -> None:
        self.endpoint.close()


@pytest.fixture
def http() -> Any:
    rec = Recorder()
    yield rec
    rec.close()


@pytest.fixture
def events(client_factory: Any) -> Any:
    return client_factory(service="events")


def err(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    e = info.value.response["Error"]
    return str(e["Code"]), str(e["Message"])


def wire(events: Any, http: Any, name: str, auth_type: str, auth: dict[str, Any], endpoint: str) -> None:
    conn = events.create_connection(Name=name, AuthorizationType=auth_type, AuthParameters=auth)
    dest = events.create_api_destination(Name=f"{name}-dest", ConnectionArn=conn["ConnectionArn"],
                                         InvocationEndpoint=endpoint, HttpMethod="POST",
                                         InvocationRateLimitPerSecond=50)
    events.put_rule(Name=name, EventPattern=json.dumps({"source": [name]}))
    events.put_targets(Rule=name, Targets=[{
        "Id": "api", "Arn": dest["ApiDestinationArn"],
        "HttpParameters": {"PathParameterValues": ["v1"], "HeaderParameters": {"X-Target": "t"},
                           "QueryStringParameters": {"q": "1"}},
    }])


def put(events: Any, source: str) -> str:
    out = events.put_events(Entries=[{"Source": source, "DetailType": "t", "Detail": '{"k": 1}'}])
    return str(out["Entries"][0]["EventId"])


def test_connection_lifecycle_hides_secrets(events: Any) -> None:
    """Create/Describe/List/Update/Deauthorize/DeleteConnection; secrets never returned."""
    out = events.create_connection(Name="c1", AuthorizationType="API_KEY", Description="d",
                                   AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key",
                                                                            "ApiKeyValue": "s3cret"}})
    assert out["ConnectionState"] == "AUTHORIZED"
    assert ":connection/c1/" in out["ConnectionArn"]
    desc = events.describe_connection(Name="c1")
    assert desc["AuthParameters"] == {"ApiKeyAuthParameters": {"ApiKeyName": "x-api-key"}}
    assert desc["SecretArn"].startswith(f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:events!connection/c1/")
    assert "s3cret" not in json.dumps(desc, default=str)
    events.update_connection(Name="c1", Description="e",
                             AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "x-key"}})
    desc = events.describe_connection(Name="c1")
    assert desc["Description"] == "e" and desc["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"] == "x-key"
    assert [c["Name"] for c in events.list_connections()["Connections"]] == ["c1"]
    assert events.deauthorize_connection(Name="c1")["ConnectionState"] == "DEAUTHORIZED"
    assert events.delete_connection(Name="c1")["ConnectionState"] == "DEAUTHORIZED"  # its state before the deletion (API reference)
    with pytest.raises(ClientError) as info:
        events.describe_connection(Name="c1")
    assert err(info) == ("ResourceNotFoundException", "Connection 'c1' does not exist.")
    with pytest.raises(ClientError) as info:
        events.create_connection(Name="c2", AuthorizationType="BASIC",
                                 AuthParameters={"ApiKeyAuthParameters": {"ApiKeyName": "a", "ApiKeyValue": "b"}})
    assert err(info)[0] == "ValidationException"


def test_api_destination_lifecycle(events: Any) -> None:
    """Create/Describe/List/Update/DeleteApiDestination; the connection must exist."""
    conn = events.create_connection(Name="c", AuthorizationType="BASIC",
                                    AuthParameters={"BasicAuthParameters": {"Username": "u", "Password": "p"}})
    out = events.create_api_destination(Name="d", ConnectionArn=conn["ConnectionArn"],
                                        InvocationEndpoint="https://example.com/x", HttpMethod="PUT")
    assert out["ApiDestinationState"] == "ACTIVE"
    desc = events.describe_api_destination(Name="d")
    assert (desc["HttpMethod"], desc["InvocationRateLimitPerSecond"]) == ("PUT", 300)
    events.update_api_destination(Name="d", InvocationRateLimitPerSecond=10, HttpMethod="POST")
    desc = events.describe_api_destination(Name="d")
    assert (desc["HttpMethod"], desc["InvocationRateLimitPerSecond"]) == ("POST", 10)
    assert [d["Name"] for d in events.list_api_destinations()["ApiDestinations"]] == ["d"]
    events.delete_api_destination(Name="d")
    with pytest.raises(ClientError) as info:
        events.describe_api_destination(Name="d")
    assert err(info) == ("ResourceNotFoundException", "An api-destination 'd' does not exist.")
    with pytest.raises(ClientError) as info:
        events.create_api_destination(Name="e", ConnectionArn=conn["ConnectionArn"] + "x",
                                      InvocationEndpoint="https://example.com", HttpMethod="POST")
    assert err(info)[0] == "ResourceNotFoundException"


def test_basic_auth_destination(events: Any, http: Recorder) -> None:
    """BASIC: Authorization: Basic base64(user:password); path wildcard, headers, query."""
    wire(events, http, "basic", "BASIC", {"BasicAuthParameters": {"Username": "u", "Password": "p"}},
         http.url + "/hook/*")
    event_id = put(events, "basic")
    (req,) = http.wait_for(1)
    assert req["method"] == "POST" and req["path"] == "/hook/v1" and req["query"] == {"q": "1"}
    assert req["headers"]["Authorization"] == "Basic " + base64.b64encode(b"u:p").decode()
    assert req["headers"]["X-Target"] == "t"
    assert json.loads(req["body"])["id"] == event_id


def test_api_key_destination_with_invocation_parameters(events: Any, http: Recorder) -> None:
    """API_KEY: the key header; InvocationHttpParameters add headers and query parameters."""
    wire(events, http, "apikey", "API_KEY", {
        "ApiKeyAuthParameters": {"ApiKeyName": "x-api-key", "ApiKeyValue": "k-1"},
        "InvocationHttpParameters": {"HeaderParameters": [{"Key": "X-Extra", "Value": "e", "IsValueSecret": False}],
                                     "QueryStringParameters": [{"Key": "tenant", "Value": "a"}]},
    }, http.url + "/k/*")
    put(events, "apikey")
    (req,) = http.wait_for(1)
    assert req["headers"]["x-api-key"] == "k-1" and req["headers"]["X-Extra"] == "e"
    assert req["query"] == {"tenant": "a", "q": "1"}


def test_oauth_client_credentials_destination_reuses_token(events: Any, http: Recorder) -> None:
    """OAUTH_CLIENT_CREDENTIALS: token from the token URL (client id/secret as Basic auth,
    grant_type=client_credentials plus body parameters), sent as Bearer, reused."""
    wire(events, http, "oauth", "OAUTH_CLIENT_CREDENTIALS", {"OAuthParameters": {
        "ClientParameters": {"ClientID": "cid", "ClientSecret": "csecret"},
        "AuthorizationEndpoint": http.url + "/token", "HttpMethod": "POST",
        "OAuthHttpParameters": {"BodyParameters": [{"Key": "scope", "Value": "events"}]},
    }}, http.url + "/o/*")
    put(events, "oauth")
    http.wait_for(1)
    put(events, "oauth")
    reqs = http.wait_for(2)
    assert [r["headers"]["Authorization"] for r in reqs] == ["Bearer tok-1", "Bearer tok-1"]
    assert http.tokens_issued == 1
    desc = events.describe_connection(Name="oauth")
    assert "ClientSecret" not in desc["AuthParameters"]["OAuthParameters"]["ClientParameters"]


def test_lambda_target_invokes_configured_endpoint(mqlite_server_factory: Any, client_factory: Any,
                                                   http: Recorder) -> None:
    """A Lambda ARN target POSTs the event to lambda_endpoint's Invoke path."""
    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None, lambda_endpoint=http.url)
    events = client_factory(service="events", server=server)
    events.put_rule(Name="fn", EventPattern='{"source": ["fn"]}')
    events.put_targets(Rule="fn", Targets=[{"Id": "f", "Arn": f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:handler"}])
    event_id = put(events, "fn")
    (req,) = http.wait_for(1)
    assert req["path"] == "/2015-03-31/functions/handler/invocations"
    assert req["headers"]["X-Amz-Invocation-Type"] == "Event"
    assert json.loads(req["body"])["id"] == event_id


def test_failed_authorization_goes_to_dlq(events: Any, http: Recorder, client_factory: Any) -> None:
    """A token endpoint that refuses the client, or a deauthorized connection: the event
    goes to the target's DLQ (CONNECTION_FAILURE) and the endpoint is never called."""
    sqs = client_factory(service="sqs")
    dlq_url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    dlq_arn = f"arn:aws:sqs:us-east-1:{ACCOUNT}:dlq"
    bad = events.create_connection(Name="bad", AuthorizationType="OAUTH_CLIENT_CREDENTIALS", AuthParameters={
        "OAuthParameters": {"ClientParameters": {"ClientID": "cid", "ClientSecret": "wrong"},
                            "AuthorizationEndpoint": http.url + "/token", "HttpMethod": "POST"}})
    gone = events.create_connection(Name="gone", AuthorizationType="API_KEY", AuthParameters={
        "ApiKeyAuthParameters": {"ApiKeyName": "k", "ApiKeyValue": "v"}})
    events.deauthorize_connection(Name="gone")
    events.put_rule(Name="r", EventPattern='{"source": ["auth"]}')
    targets = []
    for conn in (bad, gone):
        dest = events.create_api_destination(Name=f"d-{len(targets)}", ConnectionArn=conn["ConnectionArn"],
                                             InvocationEndpoint=http.url + "/x", HttpMethod="POST")
        targets.append({"Id": f"t{len(targets)}", "Arn": dest["ApiDestinationArn"],
                        "DeadLetterConfig": {"Arn": dlq_arn}})
    events.put_targets(Rule="r", Targets=targets)
    put(events, "auth")
    dead = []
    for _ in range(100):
        dead += sqs.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=1,
                                    MessageAttributeNames=["All"]).get("Messages", [])
        if len(dead) >= 2:
            break
    assert sorted(m["MessageAttributes"]["TARGET_ARN"]["StringValue"] for m in dead) == sorted(
        t["Arn"] for t in targets)
    assert {m["MessageAttributes"]["ERROR_CODE"]["StringValue"] for m in dead} == {"CONNECTION_FAILURE"}
    assert http.requests == []
