"""SNS topic actions with boto3 against a real server: CreateTopic, DeleteTopic,
ListTopics, Get/SetTopicAttributes, tags, permissions, data protection, and the
SMS / mobile-push actions of an account that has neither configured."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    err = exc.value.response["Error"]
    return err["Code"], err["Message"]


def test_create_topic_is_idempotent_and_returns_the_arn(sns: Any) -> None:
    """AWS CreateTopic: the same name and attributes return the same ARN."""
    a = sns.create_topic(Name="orders", Attributes={"DisplayName": "Orders"})["TopicArn"]
    b = sns.create_topic(Name="orders", Attributes={"DisplayName": "Orders"})["TopicArn"]
    assert a == b == "arn:aws:sns:us-east-1:000000000000:orders"
    with pytest.raises(ClientError) as exc:
        sns.create_topic(Name="orders", Attributes={"DisplayName": "Other"})
    assert code_of(exc) == ("InvalidParameter", "Invalid parameter: Attributes Reason: Topic already exists with different attributes")


def test_topic_names_follow_aws_rules(sns: Any) -> None:
    """Names: 1-256 of [A-Za-z0-9_-]; `.fifo` only (and required) with FifoTopic=true."""
    for bad in ("", "has space", "x" * 257, "dot.ted"):
        with pytest.raises(ClientError) as exc:
            sns.create_topic(Name=bad)
        assert code_of(exc)[0] == "InvalidParameter"
    with pytest.raises(ClientError) as exc:
        sns.create_topic(Name="plain", Attributes={"FifoTopic": "true"})
    assert code_of(exc)[0] == "InvalidParameter"
    with pytest.raises(ClientError):
        sns.create_topic(Name="t.fifo")
    arn = sns.create_topic(Name="t.fifo", Attributes={"FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["FifoTopic"] == "true" and attrs["ContentBasedDeduplication"] == "true"
    with pytest.raises(ClientError) as exc:
        sns.create_topic(Name="std", Attributes={"ContentBasedDeduplication": "true"})
    assert code_of(exc)[0] == "InvalidParameter"


def test_list_topics_pages_by_100(sns: Any) -> None:
    """ListTopics returns at most 100 topics per page with a NextToken."""
    for i in range(105):
        sns.create_topic(Name=f"t{i:03d}")
    first = sns.list_topics()
    assert len(first["Topics"]) == 100 and first["NextToken"]
    second = sns.list_topics(NextToken=first["NextToken"])
    assert len(second["Topics"]) == 5 and "NextToken" not in second
    names = {t["TopicArn"].rsplit(":", 1)[1] for t in first["Topics"] + second["Topics"]}
    assert names == {f"t{i:03d}" for i in range(105)}


def test_get_and_set_topic_attributes(sns: Any) -> None:
    """GetTopicAttributes has the computed attributes; SetTopicAttributes sets one."""
    arn = sns.create_topic(Name="attrs")["TopicArn"]
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["TopicArn"] == arn and attrs["Owner"] == "000000000000"
    assert attrs["SubscriptionsConfirmed"] == "0" and json.loads(attrs["Policy"])["Statement"]
    assert "http" in json.loads(attrs["EffectiveDeliveryPolicy"])
    sns.set_topic_attributes(TopicArn=arn, AttributeName="DisplayName", AttributeValue="Shown")
    sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="2")
    attrs = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
    assert attrs["DisplayName"] == "Shown" and attrs["SignatureVersion"] == "2"
    with pytest.raises(ClientError) as exc:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="Bogus", AttributeValue="x")
    assert code_of(exc) == ("InvalidParameter", "Invalid parameter: AttributeName")
    with pytest.raises(ClientError) as exc:
        sns.set_topic_attributes(TopicArn=arn, AttributeName="SignatureVersion", AttributeValue="3")
    assert code_of(exc)[0] == "InvalidParameter"


def test_unknown_topic_is_not_found_and_a_bad_arn_is_invalid(sns: Any) -> None:
    """AWS: a missing topic is NotFound (404); a malformed ARN InvalidParameter."""
    with pytest.raises(ClientError) as exc:
        sns.get_topic_attributes(TopicArn="arn:aws:sns:us-east-1:000000000000:missing")
    assert code_of(exc) == ("NotFound", "Topic does not exist")
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    with pytest.raises(ClientError) as exc:
        sns.publish(TopicArn="not-an-arn", Message="x")
    assert code_of(exc) == ("InvalidParameter", "Invalid parameter: TopicArn")


def test_delete_topic_removes_it_and_its_subscriptions(sns: Any, sqs: Any) -> None:
    """DeleteTopic deletes the topic's subscriptions too; deleting again is fine."""
    from sns_support import make_queue

    arn = sns.create_topic(Name="gone")["TopicArn"]
    _url, qarn = make_queue(sqs, "gone-q")
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=qarn)
    sns.delete_topic(TopicArn=arn)
    sns.delete_topic(TopicArn=arn)
    assert arn not in [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    assert sns.list_subscriptions()["Subscriptions"] == []


def test_tags_add_overwrite_remove(sns: Any) -> None:
    """TagResource / UntagResource / ListTagsForResource; unknown resource is ResourceNotFound."""
    arn = sns.create_topic(Name="tagged", Tags=[{"Key": "a", "Value": "1"}])["TopicArn"]
    sns.tag_resource(ResourceArn=arn, Tags=[{"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [
        {"Key": "a", "Value": "2"}, {"Key": "b", "Value": ""}]
    sns.untag_resource(ResourceArn=arn, TagKeys=["a", "zzz"])
    assert sns.list_tags_for_resource(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": ""}]
    with pytest.raises(ClientError) as exc:
        sns.list_tags_for_resource(ResourceArn="arn:aws:sns:us-east-1:000000000000:nope")
    assert code_of(exc)[0] == "ResourceNotFound"
    with pytest.raises(ClientError) as exc:
        sns.tag_resource(ResourceArn=arn, Tags=[{"Key": f"k{i}", "Value": "v"} for i in range(50)])
    assert code_of(exc)[0] == "TagLimitExceeded"


def test_permissions_edit_the_topic_policy(sns: Any) -> None:
    """AddPermission adds a labelled statement; a repeated label is InvalidParameter."""
    arn = sns.create_topic(Name="perm")["TopicArn"]
    sns.add_permission(TopicArn=arn, Label="pub", AWSAccountId=["111122223333"], ActionName=["Publish"])
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID", "pub"]
    with pytest.raises(ClientError) as exc:
        sns.add_permission(TopicArn=arn, Label="pub", AWSAccountId=["1"], ActionName=["Publish"])
    assert code_of(exc) == ("InvalidParameter", "Statement already exists")
    sns.remove_permission(TopicArn=arn, Label="pub")
    policy = json.loads(sns.get_topic_attributes(TopicArn=arn)["Attributes"]["Policy"])
    assert [s["Sid"] for s in policy["Statement"]] == ["__default_statement_ID"]


def test_data_protection_policy_round_trips(sns: Any) -> None:
    """Put/GetDataProtectionPolicy store the document on the topic."""
    arn = sns.create_topic(Name="dp")["TopicArn"]
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == ""
    doc = json.dumps({"Name": "p", "Version": "2021-06-01", "Statement": []})
    sns.put_data_protection_policy(ResourceArn=arn, DataProtectionPolicy=doc)
    assert sns.get_data_protection_policy(ResourceArn=arn)["DataProtectionPolicy"] == doc


def test_sms_and_platform_actions_answer_as_for_an_unconfigured_account(sns: Any, sns_server: Any) -> None:
    """No platform applications until made; SMS sandbox with no numbers; nobody opted out."""
    assert sns.list_platform_applications()["PlatformApplications"] == []
    app_arn = "arn:aws:sns:us-east-1:000000000000:app/GCM/app"
    with pytest.raises(ClientError) as exc:
        sns.get_platform_application_attributes(PlatformApplicationArn=app_arn)
    assert code_of(exc) == ("NotFound", "PlatformApplication does not exist")
    for call in (
        lambda: sns.create_platform_endpoint(PlatformApplicationArn=app_arn, Token="t"),
        lambda: sns.set_platform_application_attributes(PlatformApplicationArn=app_arn, Attributes={"a": "b"}),
        lambda: sns.list_endpoints_by_platform_application(PlatformApplicationArn=app_arn),
        lambda: sns.set_endpoint_attributes(EndpointArn=app_arn.replace(":app/", ":endpoint/") + "/x",
                                            Attributes={"Enabled": "false"}),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code_of(exc)[0] == "NotFound"
    sns.delete_platform_application(PlatformApplicationArn=app_arn)
    with pytest.raises(ClientError) as exc:
        sns.get_endpoint_attributes(EndpointArn="arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/x")
    assert code_of(exc)[0] == "NotFound"
    sns.delete_endpoint(EndpointArn="arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/x")
    with pytest.raises(ClientError) as exc:
        sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100-bad")
    assert code_of(exc)[0] == "InvalidParameter"
    assert sns.check_if_phone_number_is_opted_out(phoneNumber="+15555550100")["isOptedOut"] is False
    assert sns.list_phone_numbers_opted_out()["phoneNumbers"] == []
    sns.set_sms_attributes(attributes={"DefaultSMSType": "Transactional"})
    assert sns.get_sms_attributes()["attributes"] == {"DefaultSMSType": "Transactional"}
    assert sns.get_sms_sandbox_account_status()["IsInSandbox"] is True
    sns.create_sms_sandbox_phone_number(PhoneNumber="+15555550100")
    import urllib.request

    outbox = json.loads(urllib.request.urlopen(sns_server.endpoint_url + "/_mqlite/sns/outbox").read())
    otp = outbox["messages"][-1]["OneTimePassword"]
    with pytest.raises(ClientError) as exc:
        sns.verify_sms_sandbox_phone_number(PhoneNumber="+15555550100", OneTimePassword="0000000")
    assert code_of(exc)[0] == "VerificationException"
    sns.verify_sms_sandbox_phone_number(PhoneNumber="+15555550100", OneTimePassword=otp)
    assert sns.list_sms_sandbox_phone_numbers()["PhoneNumbers"] == [
        {"PhoneNumber": "+15555550100", "Status": "Verified"}]
    sns.delete_sms_sandbox_phone_number(PhoneNumber="+15555550100")
    assert sns.list_origination_numbers()["PhoneNumbers"] == []
    sns.opt_in_phone_number(phoneNumber="+15555550100")


def test_platform_applications_and_endpoints_are_stored_and_answered(sns: Any) -> None:
    """CreatePlatformApplication/Endpoint are kept (across calls), endpoints are idempotent
    per token, Publish to an enabled endpoint is accepted and to a disabled one refused."""
    app = sns.create_platform_application(Name="app", Platform="GCM",
                                          Attributes={"PlatformCredential": "key"})["PlatformApplicationArn"]
    assert app == "arn:aws:sns:us-east-1:000000000000:app/GCM/app"
    assert sns.get_platform_application_attributes(PlatformApplicationArn=app)["Attributes"] == {
        "PlatformCredential": "key"}
    ep = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="tok", CustomUserData="u")["EndpointArn"]
    assert ep.startswith("arn:aws:sns:us-east-1:000000000000:endpoint/GCM/app/")
    assert sns.create_platform_endpoint(PlatformApplicationArn=app, Token="tok", CustomUserData="u")["EndpointArn"] == ep
    with pytest.raises(ClientError) as exc:
        sns.create_platform_endpoint(PlatformApplicationArn=app, Token="tok", CustomUserData="other")
    assert code_of(exc) == ("InvalidParameter", f"Invalid parameter: Token Reason: Endpoint {ep} already exists with the same Token, but different attributes.")
    assert sns.get_endpoint_attributes(EndpointArn=ep)["Attributes"] == {
        "CustomUserData": "u", "Enabled": "true", "Token": "tok"}
    assert sns.publish(TargetArn=ep, Message="hi")["MessageId"]
    sns.set_endpoint_attributes(EndpointArn=ep, Attributes={"Enabled": "false"})
    with pytest.raises(ClientError) as exc:
        sns.publish(TargetArn=ep, Message="hi")
    assert code_of(exc) == ("EndpointDisabled", "Endpoint is disabled")
    listed = sns.list_endpoints_by_platform_application(PlatformApplicationArn=app)["Endpoints"]
    assert [e["EndpointArn"] for e in listed] == [ep]
    ep2 = sns.create_platform_endpoint(PlatformApplicationArn=app, Token="t2", CustomUserData="param",
                                       Attributes={"CustomUserData": "attribute"})["EndpointArn"]
    assert sns.get_endpoint_attributes(EndpointArn=ep2)["Attributes"]["CustomUserData"] == "attribute"
    topic = sns.create_topic(Name="push")["TopicArn"]
    sns.delete_endpoint(EndpointArn=ep2)
    with pytest.raises(ClientError) as exc:
        sns.subscribe(TopicArn=topic, Protocol="application", Endpoint=ep2)
    assert code_of(exc) == ("InvalidParameter", f"Invalid parameter: Endpoint Reason: Endpoint does not exist for endpoint arn{ep2}")
    sns.delete_platform_application(PlatformApplicationArn=app)
    assert sns.list_platform_applications()["PlatformApplications"] == []
    with pytest.raises(ClientError) as exc:
        sns.get_endpoint_attributes(EndpointArn=ep)
    assert code_of(exc) == ("NotFound", "Endpoint does not exist")
