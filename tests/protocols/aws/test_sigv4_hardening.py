"""SigV4 is verified as AWS verifies it, not only the HMAC (issue #23, item 5).

Rules checked, with real botocore clients and botocore's own signer against a real
server whose clock is a `ManualClock` (the server's clock decides, not the client's):
- the clock-skew window: a request dated more than 15 minutes before the server's time is
  `SignatureDoesNotMatch` "Signature expired: <date> is now earlier than <now-15> (<now> -
  15 min.)" (403) on SQS; one dated more than 15 minutes ahead "Signature not yet current:
  ... (<now> + 15 min.)". Kinesis answers `InvalidSignatureException` (400) with a
  5-minute window, as AWS's Kinesis does;
- the credential scope's date must be X-Amz-Date's day, its service the service called,
  its region a region name; `host` and `x-amz-date` must be signed;
- a body swapped under a signed `X-Amz-Content-Sha256` is refused (the hash is compared
  with the body), so a captured request cannot be replayed with a new body;
- a presigned URL needs `X-Amz-Expires` (at most 7 days) and expires: `AccessDenied`
  "Request has expired".
"""

from __future__ import annotations

import hashlib
import http.client
import json
import re
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from mqlite.core.clock import ManualClock

KEY, SECRET = "AKIDGOOD", "goodsecret"
CREDS = Credentials(KEY, SECRET)
JSON_H = {"Content-Type": "application/x-amz-json-1.0"}


def _clock(offset_s: float) -> ManualClock:
    """A server clock `offset_s` seconds away from the real time the client signs with."""
    return ManualClock(start_ms=int((time.time() + offset_s) * 1000))


@pytest.fixture
def keyed(mqlite_server_factory: Any) -> Any:
    def make(offset_s: float = 0.0) -> Any:
        return mqlite_server_factory(
            clock=_clock(offset_s), kafka_port=None, amqp_port=None, redis_port=None,
            aws_keys=((KEY, SECRET),), aws_account="123456789012",
        )

    return make


def _client(server: Any, factory: Any, protocol: str = "json", service: str = "sqs") -> Any:
    return factory(protocol, service=service, server=server, aws_access_key_id=KEY,
                   aws_secret_access_key=SECRET)


def _error(info: pytest.ExceptionInfo[ClientError]) -> tuple[str, str, int]:
    err = info.value.response
    return err["Error"]["Code"], err["Error"]["Message"], err["ResponseMetadata"]["HTTPStatusCode"]


def _send(server: Any, request: AWSRequest) -> tuple[int, bytes]:
    prepared = request.prepare()
    conn = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=10)
    try:
        conn.request(prepared.method, prepared.url.split(str(server.http_port), 1)[1] or "/",
                     body=prepared.body, headers=dict(prepared.headers))
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def _sqs_request(server: Any, target: str, payload: dict[str, Any],
                 headers: dict[str, str] | None = None) -> AWSRequest:
    return AWSRequest("POST", server.endpoint_url + "/", data=json.dumps(payload).encode(),
                      headers={**JSON_H, "X-Amz-Target": f"AmazonSQS.{target}", **(headers or {})})


EXPIRED = re.compile(r"Signature expired: (\d{8}T\d{6}Z) is now earlier than (\d{8}T\d{6}Z) "
                     r"\((\d{8}T\d{6}Z) - (\d+) min\.\)")
NOT_YET = re.compile(r"Signature not yet current: \d{8}T\d{6}Z is still later than \d{8}T\d{6}Z "
                     r"\(\d{8}T\d{6}Z \+ (\d+) min\.\)")


@pytest.mark.parametrize("age_s", [20 * 60, 24 * 3600, 365 * 24 * 3600])
def test_request_dated_in_the_past_is_signature_expired(keyed, client_factory, protocol, age_s) -> None:
    sqs = _client(keyed(age_s), client_factory, protocol)
    with pytest.raises(ClientError) as info:
        sqs.list_queues()
    code, message, status = _error(info)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    match = EXPIRED.fullmatch(message)
    assert match is not None, message
    assert match.group(4) == "15"


def test_request_a_day_ahead_is_not_yet_current(keyed, client_factory, protocol) -> None:
    sqs = _client(keyed(-24 * 3600), client_factory, protocol)
    with pytest.raises(ClientError) as info:
        sqs.list_queues()
    code, message, status = _error(info)
    assert (code, status) == ("SignatureDoesNotMatch", 403)
    assert NOT_YET.fullmatch(message) is not None, message


def test_request_within_the_window_is_accepted(keyed, client_factory) -> None:
    sqs = _client(keyed(10 * 60), client_factory)
    assert sqs.create_queue(QueueName="in-window")["QueueUrl"].endswith("/in-window")


def test_kinesis_answers_invalid_signature_exception_with_its_5_minute_window(keyed, client_factory) -> None:
    kinesis = _client(keyed(6 * 60), client_factory, service="kinesis")
    with pytest.raises(ClientError) as info:
        kinesis.list_streams()
    code, message, status = _error(info)
    assert (code, status) == ("InvalidSignatureException", 400)
    match = EXPIRED.fullmatch(message)
    assert match is not None and match.group(4) == "5", message


def test_captured_request_cannot_be_replayed_after_the_window(keyed, client_factory) -> None:
    server = keyed()
    sqs = _client(server, client_factory)
    url = sqs.create_queue(QueueName="victim")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="keep me")
    captured = _sqs_request(server, "PurgeQueue", {"QueueUrl": url})
    SigV4Auth(CREDS, "sqs", "us-east-1").add_auth(captured)
    server.clock.advance(20 * 60)
    status, body = _send(server, captured)
    assert status == 403
    assert EXPIRED.fullmatch(json.loads(body)["message"])
    server.clock.advance(-20 * 60)
    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"


def test_body_swapped_under_a_signed_payload_hash_is_refused(keyed, client_factory) -> None:
    server = keyed()
    sqs = _client(server, client_factory)
    kept = sqs.create_queue(QueueName="kept")["QueueUrl"]
    other = sqs.create_queue(QueueName="other")["QueueUrl"]
    sqs.send_message(QueueUrl=kept, MessageBody="keep me")
    body = json.dumps({"QueueUrl": other}).encode()
    request = _sqs_request(server, "PurgeQueue", {"QueueUrl": other},
                           {"X-Amz-Content-Sha256": hashlib.sha256(body).hexdigest()})
    SigV4Auth(CREDS, "sqs", "us-east-1").add_auth(request)
    request.data = json.dumps({"QueueUrl": kept}).encode()  # the signature covers `other`
    status, raw = _send(server, request)
    assert status == 403
    assert json.loads(raw)["__type"].endswith("#SignatureDoesNotMatch")
    assert sqs.get_queue_attributes(QueueUrl=kept, AttributeNames=["ApproximateNumberOfMessages"])[
        "Attributes"]["ApproximateNumberOfMessages"] == "1"


class _ScopeDatedAuth(SigV4Auth):
    """botocore's signer with a valid signature over a credential scope dated `day`
    while X-Amz-Date stays today's (a forged scope, for the test)."""

    day = "20200101"

    def _dated(self, request: AWSRequest, fn: Any, *args: Any) -> Any:
        stamp = request.context["timestamp"]
        request.context["timestamp"] = self.day + stamp[8:]
        try:
            return fn(*args)
        finally:
            request.context["timestamp"] = stamp

    def scope(self, request: AWSRequest) -> str:
        return self._dated(request, super().scope, request)

    def credential_scope(self, request: AWSRequest) -> str:
        return self._dated(request, super().credential_scope, request)

    def signature(self, string_to_sign: str, request: AWSRequest) -> str:
        return self._dated(request, super().signature, string_to_sign, request)


def test_credential_scope_date_must_be_x_amz_dates_day(keyed) -> None:
    server = keyed()
    request = _sqs_request(server, "ListQueues", {})
    _ScopeDatedAuth(CREDS, "sqs", "us-east-1").add_auth(request)
    status, raw = _send(server, request)
    stamp = request.headers["X-Amz-Date"]
    assert status == 403
    assert json.loads(raw)["message"] == (
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from "
        f"HTTP: '20200101' != '{stamp[:8]}', from '{stamp}'."
    )


@pytest.mark.parametrize(("service", "region", "message"), [
    ("sns", "us-east-1", "Credential should be scoped to correct service: 'sqs'."),
    ("sqs", "nowhere", "Credential should be scoped to a valid region, not 'nowhere'."),
])
def test_credential_scope_service_and_region_are_checked(keyed, service, region, message) -> None:
    server = keyed()
    request = _sqs_request(server, "ListQueues", {})
    SigV4Auth(CREDS, service, region).add_auth(request)
    status, raw = _send(server, request)
    assert (status, json.loads(raw)["message"]) == (403, message)


class _NoHeadersAuth(SigV4Auth):
    """botocore's signer signing no headers at all (`SignedHeaders=`)."""

    def headers_to_sign(self, request: AWSRequest) -> Any:
        return type(super().headers_to_sign(request))()


def test_empty_signed_headers_are_refused(keyed) -> None:
    server = keyed()
    request = _sqs_request(server, "ListQueues", {})
    _NoHeadersAuth(CREDS, "sqs", "us-east-1").add_auth(request)
    assert "SignedHeaders=," in request.headers["Authorization"]
    status, raw = _send(server, request)
    assert (status, json.loads(raw)["message"]) == (
        403, "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.")


class _NoExpiryQueryAuth(SigV4QueryAuth):
    """botocore's presigner, leaving `X-Amz-Expires` out of the signed URL."""

    def _modify_request_before_signing(self, request: AWSRequest) -> None:
        super()._modify_request_before_signing(request)
        request.url = re.sub(r"&?X-Amz-Expires=\d+", "", request.url)


def _presigned(server: Any, auth: SigV4QueryAuth) -> str:
    request = AWSRequest("GET", server.endpoint_url + "/?Action=ListQueues&Version=2012-11-05")
    auth.add_auth(request)
    return str(request.url)


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@pytest.mark.parametrize(("auth", "text"), [
    (_NoExpiryQueryAuth(CREDS, "sqs", "us-east-1"), b"AWS query-string parameters must include 'X-Amz-Expires'."),
    (SigV4QueryAuth(CREDS, "sqs", "us-east-1", expires=604801),
     b"X-Amz-Expires must be less than a week (in seconds) that is 604800"),
], ids=["no-expires", "longer-than-7-days"])
def test_presigned_url_without_a_valid_expiry_is_refused(keyed, auth, text) -> None:
    url = _presigned(keyed(), auth)
    assert "X-Amz-Signature" in url
    status, raw = _get(url)
    assert status == 400
    assert text in raw


def test_presigned_url_expires(keyed) -> None:
    server = keyed()
    url = _presigned(server, SigV4QueryAuth(CREDS, "sqs", "us-east-1", expires=60))
    assert _get(url)[0] == 200
    server.clock.advance(61)
    status, raw = _get(url)
    assert status == 403
    assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in raw
