"""Firehose delivery-stream CRUD, tags, encryption, UpdateDestination, limits, errors."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from firehose_support import s3_dest


def _code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def test_create_describe_list_delete(firehose: Any) -> None:
    """CreateDeliveryStream -> DescribeDeliveryStream (ACTIVE, version 1, documented
    default BufferingHints 5 MiB / 300 s) -> ListDeliveryStreams -> DeleteDeliveryStream."""
    arn = firehose.create_delivery_stream(DeliveryStreamName="d1", ExtendedS3DestinationConfiguration=s3_dest())[
        "DeliveryStreamARN"]
    assert arn == "arn:aws:firehose:us-east-1:000000000000:deliverystream/d1"
    firehose.create_delivery_stream(DeliveryStreamName="d2", S3DestinationConfiguration=s3_dest())
    d = firehose.describe_delivery_stream(DeliveryStreamName="d1")["DeliveryStreamDescription"]
    assert d["DeliveryStreamStatus"] == "ACTIVE" and d["VersionId"] == "1"
    assert d["DeliveryStreamType"] == "DirectPut"
    ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert ext["BufferingHints"] == {"SizeInMBs": 5, "IntervalInSeconds": 300}
    assert ext["CompressionFormat"] == "UNCOMPRESSED"
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == ["d1", "d2"]
    page = firehose.list_delivery_streams(Limit=1)
    assert page["DeliveryStreamNames"] == ["d1"] and page["HasMoreDeliveryStreams"] is True
    assert firehose.list_delivery_streams(ExclusiveStartDeliveryStreamName="d1")["DeliveryStreamNames"] == ["d2"]
    assert firehose.list_delivery_streams(DeliveryStreamType="KinesisStreamAsSource")["DeliveryStreamNames"] == []
    firehose.delete_delivery_stream(DeliveryStreamName="d1")
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == ["d2"]


def test_errors_use_firehose_codes_and_wording(firehose: Any) -> None:
    """ResourceNotFoundException 'Firehose x under account ... not found.',
    ResourceInUseException on a duplicate name."""
    with pytest.raises(ClientError) as exc:
        firehose.describe_delivery_stream(DeliveryStreamName="nope")
    assert _code(exc) == "ResourceNotFoundException"
    assert exc.value.response["Error"]["Message"] == "Firehose nope under account 000000000000 not found."
    with pytest.raises(ClientError) as exc:
        firehose.put_record(DeliveryStreamName="nope", Record={"Data": b"x"})
    assert _code(exc) == "ResourceNotFoundException"
    firehose.create_delivery_stream(DeliveryStreamName="d", S3DestinationConfiguration=s3_dest())
    with pytest.raises(ClientError) as exc:
        firehose.create_delivery_stream(DeliveryStreamName="d", S3DestinationConfiguration=s3_dest())
    assert _code(exc) == "ResourceInUseException"
    with pytest.raises(ClientError) as exc:
        firehose.create_delivery_stream(DeliveryStreamName="bad", S3DestinationConfiguration=s3_dest(
            BufferingHints={"SizeInMBs": 129, "IntervalInSeconds": 60}))
    assert _code(exc) in ("ValidationException", "InvalidArgumentException")


def test_put_record_batch_limits(firehose: Any) -> None:
    """PutRecordBatch: at most 500 records, 1,000 KiB per record, 4 MiB per request."""
    firehose.create_delivery_stream(DeliveryStreamName="d", S3DestinationConfiguration=s3_dest())
    out = firehose.put_record_batch(DeliveryStreamName="d", Records=[{"Data": b"x"}] * 500)
    assert out["FailedPutCount"] == 0 and len(out["RequestResponses"]) == 500
    assert len({r["RecordId"] for r in out["RequestResponses"]}) == 500
    with pytest.raises(ClientError) as exc:
        firehose.put_record_batch(DeliveryStreamName="d", Records=[{"Data": b"x"}] * 501)
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        firehose.put_record(DeliveryStreamName="d", Record={"Data": b"x" * 1_024_001})
    assert _code(exc) == "ValidationException"
    with pytest.raises(ClientError) as exc:
        firehose.put_record_batch(DeliveryStreamName="d", Records=[{"Data": b"x" * 1_000_000}] * 5)
    assert _code(exc) == "InvalidArgumentException"


def test_tags_and_encryption(firehose: Any) -> None:
    firehose.create_delivery_stream(DeliveryStreamName="d", S3DestinationConfiguration=s3_dest(),
                                    Tags=[{"Key": "a", "Value": "1"}])
    firehose.tag_delivery_stream(DeliveryStreamName="d", Tags=[{"Key": "b", "Value": "2"}])
    tags = firehose.list_tags_for_delivery_stream(DeliveryStreamName="d")
    assert tags["Tags"] == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert tags["HasMoreTags"] is False
    firehose.untag_delivery_stream(DeliveryStreamName="d", TagKeys=["a"])
    assert firehose.list_tags_for_delivery_stream(DeliveryStreamName="d")["Tags"] == [{"Key": "b", "Value": "2"}]
    firehose.start_delivery_stream_encryption(
        DeliveryStreamName="d", DeliveryStreamEncryptionConfigurationInput={"KeyType": "AWS_OWNED_CMK"})
    enc = firehose.describe_delivery_stream(DeliveryStreamName="d")["DeliveryStreamDescription"][
        "DeliveryStreamEncryptionConfiguration"]
    assert enc["Status"] == "ENABLED"
    assert firehose.put_record(DeliveryStreamName="d", Record={"Data": b"x"})["Encrypted"] is True
    firehose.stop_delivery_stream_encryption(DeliveryStreamName="d")


def test_update_destination_checks_version_and_bumps_it(firehose: Any) -> None:
    """UpdateDestination: CurrentDeliveryStreamVersionId must match
    (ConcurrentModificationException otherwise); the version goes up by one."""
    firehose.create_delivery_stream(DeliveryStreamName="d", ExtendedS3DestinationConfiguration=s3_dest())
    d = firehose.describe_delivery_stream(DeliveryStreamName="d")["DeliveryStreamDescription"]
    dest_id = d["Destinations"][0]["DestinationId"]
    firehose.update_destination(DeliveryStreamName="d", CurrentDeliveryStreamVersionId="1", DestinationId=dest_id,
                                ExtendedS3DestinationUpdate={"Prefix": "new/", "CompressionFormat": "GZIP"})
    d = firehose.describe_delivery_stream(DeliveryStreamName="d")["DeliveryStreamDescription"]
    ext = d["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert d["VersionId"] == "2" and ext["Prefix"] == "new/" and ext["CompressionFormat"] == "GZIP"
    with pytest.raises(ClientError) as exc:
        firehose.update_destination(DeliveryStreamName="d", CurrentDeliveryStreamVersionId="1",
                                    DestinationId=dest_id, ExtendedS3DestinationUpdate={"Prefix": "x/"})
    assert _code(exc) == "ConcurrentModificationException"
