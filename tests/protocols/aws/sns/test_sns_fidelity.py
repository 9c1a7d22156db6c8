"""SNS behaviours as AWS answers them, found by moto's own test suite (issue 19), through
real boto3 clients: query error documents without an empty `<Detail/>`; SMS endpoints
and phone numbers validated as E.164 (single separators allowed at Subscribe); a
well-formed ARN of another service names no subscription (404); topic permissions
name real SNS actions and keep single members scalar; ListTopics pages; a platform
application may be created with no attributes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return str(err["Code"]), str(err["Message"])


def test_query_errors_have_no_empty_detail(sns_server: Any) -> None:
    form = urllib.parse.urlencode({"Action": "GetTopicAttributes", "Version": "2010-03-31",
                                   "TopicArn": "arn:aws:sns:us-east-1:000000000000:missing"}).encode()
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(sns_server.endpoint_url + "/", data=form)
    body = info.value.read().decode()
    assert info.value.code == 404
    assert "<Code>NotFound</Code><Message>Topic does not exist</Message></Error>" in body
    assert "<Detail" not in body


def test_sms_endpoints_and_numbers_are_e164(sns: Any) -> None:
    topic = sns.create_topic(Name="sms")["TopicArn"]
    assert sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint="+15/55-123.4567")["SubscriptionArn"]
    for bad in ("+15--551234567", "+15551234567.", "NAA+15551234567"):
        with pytest.raises(ClientError) as exc:
            sns.subscribe(TopicArn=topic, Protocol="sms", Endpoint=bad)
        assert error(exc) == ("InvalidParameter", f"Invalid SMS endpoint: {bad}")
    with pytest.raises(ClientError) as exc:
        sns.publish(PhoneNumber="NAA+15551234567", Message="hi")
    assert error(exc)[0] == "InvalidParameter" and "E164" in error(exc)[1]
    with pytest.raises(ClientError) as exc:
        sns.publish(PhoneNumber="+15551234567", Message="a" * 1601)
    assert "1600" in error(exc)[1]
    assert sns.publish(PhoneNumber="+15551234567", Message="ok")["MessageId"]
    with pytest.raises(ClientError) as exc:
        sns.check_if_phone_number_is_opted_out(phoneNumber="+44-74")
    assert error(exc)[0] == "InvalidParameter"
    assert sns.check_if_phone_number_is_opted_out(phoneNumber="+447428545399")["isOptedOut"] is False
    sns.opt_in_phone_number(phoneNumber="+447428545399")


def test_an_arn_of_another_service_names_no_subscription(sns: Any) -> None:
    with pytest.raises(ClientError) as exc:
        sns.get_subscription_attributes(SubscriptionArn="arn:aws:sqs:us-east-1:000000000000:q:66d97e76-31e5-444f-8fa7-b60b680d0d39")
    assert error(exc) == ("NotFound", "Subscription does not exist")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_permissions_name_sns_actions_and_keep_single_members_scalar(sns: Any) -> None:
    topic = sns.create_topic(Name="perm")["TopicArn"]
    sns.add_permission(TopicArn=topic, Label="one", AWSAccountId=["999999999999"], ActionName=["Publish"])
    statement = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])["Statement"][-1]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::999999999999:root"}
    assert statement["Action"] == "SNS:Publish"
    with pytest.raises(ClientError) as exc:
        sns.add_permission(TopicArn=topic, Label="two", AWSAccountId=["1"], ActionName=["NotExistingAction"])
    assert error(exc) == ("InvalidParameter", "Policy statement action out of service scope!")
    with pytest.raises(ClientError) as exc:
        sns.add_permission(TopicArn=topic, Label="one", AWSAccountId=["1"], ActionName=["Publish"])
    assert error(exc) == ("InvalidParameter", "Statement already exists")


def test_list_topics_pages_by_hundred(sns: Any) -> None:
    for i in range(150):
        sns.create_topic(Name=f"t{i:03d}")
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and first["NextToken"] == "100"
    rest = sns.list_topics(NextToken=first["NextToken"])
    assert len(rest["Topics"]) == 50 and "NextToken" not in rest
    assert len({t["TopicArn"] for t in first["Topics"] + rest["Topics"]}) == 150
    with pytest.raises(ClientError) as exc:
        sns.list_topics(NextToken="not-a-token")
    assert error(exc) == ("InvalidParameter", "Invalid parameter: NextToken")


def test_platform_application_without_attributes(sns: Any) -> None:
    arn = sns.create_platform_application(Name="bare", Platform="APNS", Attributes={})["PlatformApplicationArn"]
    assert sns.get_platform_application_attributes(PlatformApplicationArn=arn)["Attributes"] == {}
    assert [a["PlatformApplicationArn"] for a in sns.list_platform_applications()["PlatformApplications"]] == [arn]


def test_filter_numbers_match_at_five_decimals_and_string_array_scalars(sns: Any, sqs: Any) -> None:
    """Filter policy constraints: numbers compare with 5 digits after the decimal point;
    a String.Array attribute that is not an array is accepted: a JSON scalar counts as
    one element, text that is no JSON matches nothing."""
    from sns_support import drain, make_queue

    topic = sns.create_topic(Name="nums")["TopicArn"]
    url, arn = make_queue(sqs, "nums")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicy": json.dumps({"price": [100.123456789, 500]})})
    num = {"DataType": "Number", "StringValue": "100.1234567"}
    sns.publish(TopicArn=topic, Message="close enough", MessageAttributes={"price": num})
    sns.publish(TopicArn=topic, Message="too far", MessageAttributes={"price": {"DataType": "Number", "StringValue": "100.12"}})
    sns.publish(TopicArn=topic, Message="array", MessageAttributes={
        "price": {"DataType": "String.Array", "StringValue": json.dumps([100.1234567, 50])}})
    for text in ("500", "one hundred"):
        sns.publish(TopicArn=topic, Message=f"not an array: {text}", MessageAttributes={
            "price": {"DataType": "String.Array", "StringValue": text}})
    assert sorted(m["Body"] for m in drain(sqs, url, expect=3, wait=2)) == [
        "array", "close enough", "not an array: 500"]


def test_message_body_filter_numbers_match_at_five_decimals(sns: Any, sqs: Any) -> None:
    """The same five-digit accuracy applies to numbers in a JSON message body (scope
    MessageBody), in scalars and in arrays."""
    from sns_support import drain, make_queue

    topic = sns.create_topic(Name="body-nums")["TopicArn"]
    url, arn = make_queue(sqs, "body-nums")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={
        "RawMessageDelivery": "true", "FilterPolicyScope": "MessageBody",
        "FilterPolicy": json.dumps({"price": [100.123456789, 500]})})
    for body in ({"price": 100.1234567}, {"price": [100.1234567, 50]}, {"price": 100.12},
                 {"price": [50]}):
        sns.publish(TopicArn=topic, Message=json.dumps(body))
    assert sorted(json.loads(m["Body"])["price"].__repr__() for m in drain(sqs, url, expect=2, wait=2)) == [
        "100.1234567", "[100.1234567, 50]"]


def test_regions_are_isolated(sns_server: Any) -> None:
    """A topic belongs to the region it was created in: its ARN carries that region, other
    regions neither list nor find it, and the same name may exist in each region."""
    from sns_support import client

    east = client(sns_server, "sns")
    west = boto3.client("sns", endpoint_url=sns_server.endpoint_url, region_name="us-west-2",
                        aws_access_key_id="AKID", aws_secret_access_key="s")
    e_arn = east.create_topic(Name="same")["TopicArn"]
    w_arn = west.create_topic(Name="same")["TopicArn"]
    assert (e_arn, w_arn) == ("arn:aws:sns:us-east-1:000000000000:same", "arn:aws:sns:us-west-2:000000000000:same")
    assert [t["TopicArn"] for t in west.list_topics()["Topics"]] == [w_arn]
    assert [t["TopicArn"] for t in east.list_topics()["Topics"]] == [e_arn]
    with pytest.raises(ClientError) as exc:
        east.get_topic_attributes(TopicArn=w_arn)
    assert error(exc) == ("NotFound", "Topic does not exist")
    sub = west.subscribe(TopicArn=w_arn, Protocol="sms", Endpoint="+15551234567")["SubscriptionArn"]
    assert sub.startswith(w_arn + ":")
    assert west.get_subscription_attributes(SubscriptionArn=sub)["Attributes"]["TopicArn"] == w_arn
    assert east.list_subscriptions()["Subscriptions"] == []
    west.delete_topic(TopicArn=w_arn)
    assert [t["TopicArn"] for t in east.list_topics()["Topics"]] == [e_arn]
