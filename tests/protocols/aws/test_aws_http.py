"""The AWS HTTP front-end with raw requests and with SigV4 keys configured.

Rules: a malformed request gets AWS's error shape with the right code and status, the
connection stays usable and nothing is stored (SerializationException for bad JSON or a
wrong type, MissingParameter, UnknownOperationException for an unknown target,
InvalidAction for an unknown Action); with `aws_keys` set, SigV4 signatures (header and
presigned query) are verified: unknown key -> InvalidClientTokenId, bad signature ->
SignatureDoesNotMatch (403), as AWS answers. STS GetCallerIdentity answers the account.
"""

from __future__ import annotations

import http.client
import json
import urllib.parse
import urllib.request

import pytest
from botocore.exceptions import ClientError


def _post(server, body: bytes, headers: dict[str, str], conn: http.client.HTTPConnection | None = None):
    conn = conn or http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.request("POST", "/", body=body, headers=headers)
    resp = conn.getresponse()
    return conn, resp.status, dict(resp.getheaders()), resp.read()


JSON_H = {"Content-Type": "application/x-amz-json-1.0"}


@pytest.mark.parametrize(
    ("target", "body", "status", "type_"),
    [
        ("AmazonSQS.CreateQueue", b"{bad json", 400, "SerializationException"),
        ("AmazonSQS.CreateQueue", b'{"QueueName": 7}', 400, "SerializationException"),
        ("AmazonSQS.CreateQueue", b"{}", 400, "MissingParameter"),
        ("AmazonSQS.NoSuchThing", b"{}", 400, "UnknownOperationException"),
        ("Nope.CreateQueue", b"{}", 400, "UnknownOperationException"),
    ],
)
def test_bad_json_requests_get_aws_errors_on_a_kept_connection(aws_server, target, body, status, type_) -> None:
    conn, got, headers, raw = _post(aws_server, body, {**JSON_H, "X-Amz-Target": target})
    assert got == status
    assert json.loads(raw)["__type"].endswith("#" + type_)
    assert "x-amzn-RequestId" in headers
    conn, got, _, raw = _post(aws_server, b"{}", {**JSON_H, "X-Amz-Target": "AmazonSQS.ListQueues"}, conn)
    assert got == 200 and json.loads(raw) == {}


def test_wrong_content_type_with_target_is_refused(aws_server) -> None:
    _, status, _, raw = _post(aws_server, b"{}", {"Content-Type": "text/plain", "X-Amz-Target": "AmazonSQS.ListQueues"})
    assert status == 400
    assert "SerializationException" in json.loads(raw)["__type"]


def test_query_requests_unknown_action_and_missing_parameter(aws_server) -> None:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    _, status, _, raw = _post(aws_server, b"Action=Frobnicate&Version=2012-11-05", form)
    assert status == 400 and b"<Code>InvalidAction</Code>" in raw
    _, status, _, raw = _post(aws_server, b"Action=CreateQueue&Version=2012-11-05", form)
    assert status == 400 and b"<Code>MissingParameter</Code>" in raw
    _, status, _, raw = _post(aws_server, b"Action=CreateQueue&QueueName=viaform&Version=2012-11-05", form)
    assert status == 200 and b"<CreateQueueResult><QueueUrl>" in raw
    _, status, _, raw = _post(aws_server, b"Action=ListQueues", form)
    assert b"/000000000000/viaform</QueueUrl>" in raw


def test_get_with_query_string_on_queue_path(aws_server) -> None:
    """Old clients GET the queue URL with Action in the query string."""
    urllib.request.urlopen(urllib.request.Request(
        f"{aws_server.endpoint_url}/?Action=CreateQueue&QueueName=g1", method="GET")).read()
    q = urllib.parse.urlencode({"Action": "SendMessage", "MessageBody": "hi", "QueueUrl": f"{aws_server.endpoint_url}/000000000000/g1"})
    raw = urllib.request.urlopen(f"{aws_server.endpoint_url}/000000000000/g1?{q}").read()
    assert b"<MD5OfMessageBody>49f68a5c8493ec2c0bf489821c21fc3b</MD5OfMessageBody>" in raw
    # boto2-era clients POST to the queue URL without a QueueUrl parameter
    _, status, _, raw = _post_path(aws_server, "/000000000000/g1", b"Action=ReceiveMessage&Version=2012-11-05")
    assert status == 200 and b"<Body>hi</Body>" in raw


def _post_path(server, path: str, body: bytes):
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    conn.request("POST", path, body=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    resp = conn.getresponse()
    return conn, resp.status, dict(resp.getheaders()), resp.read()


def test_oversized_body_is_413_in_the_protocol_error_shape(aws_server) -> None:
    """The server answers from Content-Length without reading the body, then closes."""
    conn = http.client.HTTPConnection("127.0.0.1", aws_server.http_port, timeout=10)
    conn.putrequest("POST", "/")
    for k, v in {**JSON_H, "X-Amz-Target": "AmazonSQS.ListQueues", "Content-Length": str(17 * 1024 * 1024)}.items():
        conn.putheader(k, v)
    conn.endheaders(b"{")
    resp = conn.getresponse()
    assert resp.status == 413
    assert "RequestEntityTooLarge" in json.loads(resp.read())["__type"]
    _, status, _, _ = _post(aws_server, b"{}", {**JSON_H, "X-Amz-Target": "AmazonSQS.ListQueues"})
    assert status == 200


def test_sts_get_caller_identity(client_factory) -> None:
    sts = client_factory(service="sts")
    ident = sts.get_caller_identity()
    assert ident["Account"] == "000000000000"
    assert ident["Arn"] == "arn:aws:iam::000000000000:root"


@pytest.fixture
def keyed_server(mqlite_server_factory):
    return mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                 aws_keys=(("AKIDGOOD", "goodsecret"),), aws_account="123456789012")


def test_sigv4_is_verified_when_keys_are_configured(keyed_server, client_factory, protocol) -> None:
    good = client_factory(protocol, server=keyed_server, aws_access_key_id="AKIDGOOD", aws_secret_access_key="goodsecret")
    url = good.create_queue(QueueName="secure")["QueueUrl"]
    assert "/123456789012/secure" in url
    good.send_message(QueueUrl=url, MessageBody="signed ✓ body")
    wrong_secret = client_factory(protocol, server=keyed_server, aws_access_key_id="AKIDGOOD", aws_secret_access_key="bad")
    with pytest.raises(ClientError) as info:
        wrong_secret.list_queues()
    assert info.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    unknown = client_factory(protocol, server=keyed_server, aws_access_key_id="AKIDBAD", aws_secret_access_key="x")
    with pytest.raises(ClientError) as info:
        unknown.list_queues()
    assert info.value.response["Error"]["Code"] == "InvalidClientTokenId"
    assert good.receive_message(QueueUrl=url)["Messages"][0]["Body"] == "signed ✓ body"


def test_presigned_query_url_is_verified(keyed_server, client_factory) -> None:
    good = client_factory("query", server=keyed_server, aws_access_key_id="AKIDGOOD", aws_secret_access_key="goodsecret")
    good.create_queue(QueueName="presigned")
    url = good.generate_presigned_url("list_queues", Params={}, ExpiresIn=60, HttpMethod="GET")
    raw = urllib.request.urlopen(url).read()
    assert b"/123456789012/presigned</QueueUrl>" in raw
    tampered = url.replace("X-Amz-Signature=", "X-Amz-Signature=0")
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(tampered)
    assert info.value.code == 403


def test_unsigned_request_is_refused_when_keys_are_configured(keyed_server) -> None:
    _, status, _, raw = _post(keyed_server, b"{}", {**JSON_H, "X-Amz-Target": "AmazonSQS.ListQueues"})
    assert status == 403
    assert json.loads(raw)["__type"].endswith("MissingAuthenticationToken")
