"""Model-driven conformance, quick subset: requests generated from botocore's models.

A few operations per service go through `scripts/conformance/run_model.py` (the full run
is `scripts/conformance-model.sh`): the minimal and full valid requests, each required
member missing and each length/range/pattern/enum constraint broken by one, sent by a
real botocore client (its own validation off) over every protocol the service speaks;
every answer must parse against the output shape, every refusal must be a modelled or
common AWS error with its HTTP status, and no invalid request may be accepted.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "scripts" / "conformance"))

import run_model

QUICK = {
    "sqs": {"CreateQueue", "SendMessage", "ChangeMessageVisibilityBatch"},
    "sns": {"CreateTopic", "Publish", "Subscribe"},
    "sts": {"GetCallerIdentity"},
    "kinesis": {"PutRecord", "DescribeStream", "ListShards"},
    "firehose": {"PutRecord", "DescribeDeliveryStream"},
    "events": {"PutRule", "ListRules"},
}


@pytest.mark.parametrize("service", sorted(QUICK))
def test_generated_requests_get_modelled_answers(aws_server: Any, tmp_path: Path, service: str) -> None:
    lines: list[str] = []
    tally = run_model.run_service(service, aws_server.endpoint_url, tmp_path, QUICK[service], lines.append)
    assert sorted(tally.served) == sorted(QUICK[service]), tally.not_served
    assert tally.failures == []
    assert tally.passed == tally.cases >= len(QUICK[service])
    assert tally.succeeded >= 1  # valid requests reach the service's logic


def test_constraint_violations_are_answered_as_aws_words_them(aws_server: Any, tmp_path: Path) -> None:
    """JSON services: ValidationException with AWS's request-validation text (paths in
    lower camel case, every broken constraint listed); a missing member is "null"."""
    from botocore.exceptions import ClientError

    kinesis = run_model.client(aws_server.endpoint_url, "kinesis", "json", tmp_path)
    with pytest.raises(ClientError) as info:
        kinesis.describe_stream(StreamName="a" * 129, Limit=0)
    err = info.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("ValidationException", (
        f"2 validation errors detected: Value '{'a' * 129}' at 'streamName' failed to satisfy constraint:"
        " Member must have length less than or equal to 128; Value '0' at 'limit' failed to satisfy"
        " constraint: Member must have value greater than or equal to 1"))
    with pytest.raises(ClientError) as info:
        kinesis.put_record(StreamName="s", Data=b"x")
    err = info.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("ValidationException", (
        "1 validation error detected: Value null at 'partitionKey' failed to satisfy constraint:"
        " Member must not be null"))
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    sns = run_model.client(aws_server.endpoint_url, "sns", "query", tmp_path)
    with pytest.raises(ClientError) as info:
        sns.list_origination_numbers(MaxResults=31)
    err = info.value.response["Error"]
    assert (err["Code"], err["Message"]) == ("ValidationException", (
        "1 validation error detected: Value '31' at 'maxResults' failed to satisfy constraint:"
        " Member must have value less than or equal to 30"))
