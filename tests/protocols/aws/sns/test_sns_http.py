"""HTTP/S, email and Lambda subscriptions against real local endpoints: the
SubscriptionConfirmation POST and its working SubscribeURL, signed Notification POSTs
with AWS's headers verified with the certificate from SigningCertURL, retries per
DeliveryPolicy and the redrive DLQ, email through an SMTP relay (aiosmtpd), and the
Lambda SNS event posted to the configured Lambda endpoint."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import time
import urllib.error
import urllib.request
from typing import Any

import pytest
from sns_support import Receiver, client, drain, make_queue

from mqlite.protocols.aws.sns.signing import verify

FAST_RETRIES = json.dumps({"healthyRetryPolicy": {
    "numRetries": 2, "numNoDelayRetries": 2, "minDelayTarget": 1, "maxDelayTarget": 1}})


def confirm_via_subscribe_url(receiver: Receiver) -> dict[str, Any]:
    (req,) = receiver.wait_for(1)
    doc = json.loads(req["body"])
    urllib.request.urlopen(doc["SubscribeURL"]).read()
    return {"headers": req["headers"], "doc": doc}


def test_http_subscriber_confirms_and_receives_signed_notifications(sns: Any, receiver: Receiver) -> None:
    """SNS HTTP/S: a SubscriptionConfirmation POST (signed, with Token and SubscribeURL);
    a GET of the SubscribeURL confirms; then Notification POSTs carry x-amz-sns-message-type,
    -message-id, -topic-arn, -subscription-arn and verify against SigningCertURL's cert;
    unsubscribing (a GET of the UnsubscribeURL) sends an UnsubscribeConfirmation."""
    topic = sns.create_topic(Name="web")["TopicArn"]
    shown = sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url + "/hook")
    assert shown["SubscriptionArn"] == "pending confirmation"
    first = confirm_via_subscribe_url(receiver)
    doc, headers = first["doc"], first["headers"]
    assert doc["Type"] == "SubscriptionConfirmation" and doc["TopicArn"] == topic and doc["Token"]
    assert headers["x-amz-sns-message-type"] == "SubscriptionConfirmation"
    assert headers["x-amz-sns-topic-arn"] == topic
    assert headers["User-Agent"] == "Amazon Simple Notification Service Agent"
    cert = urllib.request.urlopen(doc["SigningCertURL"]).read()
    assert verify(cert, doc)
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sub["SubscriptionArn"].startswith(topic + ":")
    msg_id = sns.publish(TopicArn=topic, Message="ping", Subject="s",
                         MessageAttributes={"k": {"DataType": "String", "StringValue": "v"}})["MessageId"]
    req = receiver.wait_for(2)[1]
    note = json.loads(req["body"])
    assert req["path"] == "/hook"
    assert req["headers"]["x-amz-sns-message-type"] == "Notification"
    assert req["headers"]["x-amz-sns-message-id"] == msg_id
    assert req["headers"]["x-amz-sns-topic-arn"] == topic
    assert req["headers"]["x-amz-sns-subscription-arn"] == sub["SubscriptionArn"]
    assert req["headers"]["Content-Type"] == "text/plain; charset=UTF-8"
    assert note["Message"] == "ping" and note["MessageAttributes"]["k"]["Value"] == "v"
    assert verify(cert, note)
    # The UnsubscribeURL works too (GET, as subscribers use it); the endpoint is told.
    urllib.request.urlopen(note["UnsubscribeURL"]).read()
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    bye = receiver.wait_for(3)[2]
    assert bye["headers"]["x-amz-sns-message-type"] == "UnsubscribeConfirmation"
    bye_doc = json.loads(bye["body"])
    assert bye_doc["Type"] == "UnsubscribeConfirmation" and verify(cert, bye_doc)


def test_raw_http_delivery_sends_the_message_with_the_rawdelivery_header(sns: Any, receiver: Receiver) -> None:
    """Raw delivery to HTTP/S: the body is the message, header x-amz-sns-rawdelivery: true."""
    topic = sns.create_topic(Name="rawweb")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url,
                  Attributes={"RawMessageDelivery": "true"})
    token = json.loads(receiver.wait_for(1)[0]["body"])["Token"]
    sns.confirm_subscription(TopicArn=topic, Token=token)
    sns.publish(TopicArn=topic, Message="as is")
    req = receiver.wait_for(2)[1]
    assert req["body"] == b"as is" and req["headers"]["x-amz-sns-rawdelivery"] == "true"


def test_failing_endpoint_is_retried_per_delivery_policy_then_dead_lettered(sns: Any, sqs: Any) -> None:
    """DeliveryPolicy numRetries=2: three attempts in all for a 500-answering endpoint,
    then the message goes to the RedrivePolicy DLQ; a 2xx on a retry delivers it once."""
    failing = Receiver([200, 500, 500, 500, 503, 200])  # confirmation, then the script
    try:
        topic = sns.create_topic(Name="flaky")["TopicArn"]
        dlq_url, dlq_arn = make_queue(sqs, "flaky-dlq")
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=failing.url, Attributes={
            "DeliveryPolicy": FAST_RETRIES,
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn})})
        confirm_via_subscribe_url(failing)
        sns.publish(TopicArn=topic, Message="doomed")
        failing.wait_for(4)
        (dead,) = drain(sqs, dlq_url, expect=1, wait=10)
        assert json.loads(dead["Body"])["Message"] == "doomed"
        sns.publish(TopicArn=topic, Message="survivor")
        reqs = failing.wait_for(6)
        assert [json.loads(r["body"])["Message"] for r in reqs[4:]] == ["survivor", "survivor"]
        assert drain(sqs, dlq_url) == []
    finally:
        failing.close()


def text_of(raw: bytes) -> str:
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    return str(msg.get_content())  # type: ignore[attr-defined]


def test_email_goes_through_the_smtp_relay(sns_server_factory: Any) -> None:
    """email/email-json subscriptions are delivered through `smtp_relay` (here aiosmtpd):
    the confirmation first, then the message (email) or the notification JSON (email-json)."""
    from aiosmtpd.controller import Controller

    class Sink:
        def __init__(self) -> None:
            self.mails: list[tuple[list[str], bytes]] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.mails.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK"

    sink = Sink()
    with socket.socket() as probe:  # aiosmtpd's Controller needs a concrete port
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        server = sns_server_factory(smtp_relay=f"127.0.0.1:{port}")
        sns = client(server, "sns")
        topic = sns.create_topic(Name="mail")["TopicArn"]
        sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="ops@example.com")
        sns.subscribe(TopicArn=topic, Protocol="email-json", Endpoint="bot@example.com")
        deadline = time.monotonic() + 20
        while len(sink.mails) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        tokens = {}
        for rcpts, content in sink.mails:
            text = text_of(content)
            assert "To confirm this subscription" in text
            tokens[rcpts[0]] = text.split("Token=")[1].split()[0]
        for token in tokens.values():
            sns.confirm_subscription(TopicArn=topic, Token=token)
        sns.publish(TopicArn=topic, Message="mail body", Subject="Alert")
        while len(sink.mails) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        by_rcpt = {r[0]: c for r, c in sink.mails[2:]}
        assert email.message_from_bytes(by_rcpt["ops@example.com"])["Subject"] == "Alert"
        assert text_of(by_rcpt["ops@example.com"]).strip() == "mail body"
        note = json.loads(text_of(by_rcpt["bot@example.com"]))
        assert note["Type"] == "Notification" and note["Message"] == "mail body"
    finally:
        controller.stop()


def test_lambda_subscription_posts_the_sns_event(sns_server_factory: Any, receiver: Receiver) -> None:
    """lambda subscriptions: the Lambda SNS event ({"Records": [{"EventSource": "aws:sns",
    "Sns": {...}}]}) is POSTed to the Lambda Invoke API of `lambda_endpoint`."""
    server = sns_server_factory(lambda_endpoint=receiver.url)
    sns = client(server, "sns")
    topic = sns.create_topic(Name="fn")["TopicArn"]
    fn = "arn:aws:lambda:us-east-1:000000000000:function:handler"
    sub = sns.subscribe(TopicArn=topic, Protocol="lambda", Endpoint=fn)["SubscriptionArn"]
    msg_id = sns.publish(TopicArn=topic, Message="event!", Subject="subj")["MessageId"]
    (req,) = receiver.wait_for(1)
    assert req["path"] == "/2015-03-31/functions/handler/invocations"
    assert req["headers"]["X-Amz-Invocation-Type"] == "Event"
    record = json.loads(req["body"])["Records"][0]
    assert record["EventSource"] == "aws:sns" and record["EventSubscriptionArn"] == sub
    assert record["Sns"]["MessageId"] == msg_id and record["Sns"]["Message"] == "event!"
    assert record["Sns"]["Subject"] == "subj" and "SigningCertUrl" in record["Sns"]


def test_subscribe_and_unsubscribe_links_work_unsigned_when_keys_are_required(
        sns_server_factory: Any, receiver: Receiver) -> None:
    """AWS serves SubscribeURL and UnsubscribeURL to whoever holds them (no signature);
    with `aws_keys` set the query API demands SigV4, so the links use SNS's own routes."""
    server = sns_server_factory(aws_keys=(("AKIDEXAMPLE", "secret"),))
    sns = client(server, "sns")
    topic = sns.create_topic(Name="keyed")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=receiver.url)
    first = confirm_via_subscribe_url(receiver)
    assert "/_mqlite/sns/confirm?" in first["doc"]["SubscribeURL"]
    (sub,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert sub["SubscriptionArn"].startswith(topic + ":")
    sns.publish(TopicArn=topic, Message="signed client")
    note = json.loads(receiver.wait_for(2)[1]["body"])
    reply = urllib.request.urlopen(note["UnsubscribeURL"]).read()
    assert b"<UnsubscribeResponse" in reply
    assert sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"] == []
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(first["doc"]["SubscribeURL"].replace("Token=", "Token=0"))
    assert exc.value.code == 400 and b"<Code>InvalidParameter</Code>" in exc.value.read()
