"""Firehose S3 destinations cannot write outside `--s3-dir` (issue #23, item 5: a Prefix
or BucketARN with `../` or an absolute path wrote files anywhere the broker could).

Rules: BucketARN must match Firehose's model pattern (`ValidationException`) and name a
valid S3 bucket (S3 User Guide, "Bucket naming rules": 3-63 of [a-z0-9.-], no `..`, not
an IP address; `InvalidArgumentException`); Prefix and ErrorOutputPrefix, expressions
expanded, may not start with `/` or hold `.`/`..` segments; on CreateDeliveryStream and
UpdateDestination alike. The writer itself refuses any object whose directory resolves
outside the root (a symlink planted under it) and never follows a symlinked temp file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from firehose_support import objects, s3_dest

from mqlite.protocols.aws.firehose import s3_writer


def _create(firehose: Any, name: str, **dest: Any) -> None:
    firehose.create_delivery_stream(DeliveryStreamName=name, DeliveryStreamType="DirectPut",
                                    ExtendedS3DestinationConfiguration=dest)



@pytest.mark.parametrize("prefix", ["../../escape/", "a/../../../escape/", "/tmp/mqlite-abs-escape/",
                                    "!{timestamp:'..'}/../escape/", "./here/"])
def test_prefix_leaving_the_root_is_refused(fserver, firehose, tmp_path, prefix) -> None:
    with pytest.raises(ClientError) as info:
        _create(firehose, "esc", **s3_dest("bkt", Prefix=prefix, BufferingHints={"IntervalInSeconds": 0, "SizeInMBs": 1}))
    assert info.value.response["Error"]["Code"] == "InvalidArgumentException"
    assert "Prefix" in info.value.response["Error"]["Message"]
    assert firehose.list_delivery_streams()["DeliveryStreamNames"] == []


def test_error_output_prefix_and_update_destination_are_checked_too(fserver, firehose) -> None:
    with pytest.raises(ClientError) as info:
        _create(firehose, "err", **s3_dest("bkt", ErrorOutputPrefix="../failed/"))
    assert info.value.response["Error"]["Code"] == "InvalidArgumentException"
    _create(firehose, "ok", **s3_dest("bkt", Prefix="fine/"))
    desc = firehose.describe_delivery_stream(DeliveryStreamName="ok")["DeliveryStreamDescription"]
    with pytest.raises(ClientError) as info:
        firehose.update_destination(
            DeliveryStreamName="ok", CurrentDeliveryStreamVersionId=desc["VersionId"],
            DestinationId=desc["Destinations"][0]["DestinationId"],
            ExtendedS3DestinationUpdate={"Prefix": "../../escape/"})
    assert info.value.response["Error"]["Code"] == "InvalidArgumentException"


@pytest.mark.parametrize(("arn", "code"), [
    ("arn:aws:s3:::../../escape", "ValidationException"),
    ("arn:aws:s3:::/etc", "ValidationException"),
    ("arn:aws:s3:::..", "InvalidArgumentException"),
    ("arn:aws:s3:::a..b", "InvalidArgumentException"),
    ("arn:aws:s3:::Upper_Case", "InvalidArgumentException"),
    ("arn:aws:s3:::192.168.1.1", "InvalidArgumentException"),
    ("arn:aws:s3:::ab", "InvalidArgumentException"),
])
def test_bucket_arn_must_name_a_valid_s3_bucket(fserver, firehose, arn, code) -> None:
    with pytest.raises(ClientError) as info:
        _create(firehose, "bad-bucket", RoleARN="arn:aws:iam::000000000000:role/firehose", BucketARN=arn)
    assert info.value.response["Error"]["Code"] == code


def test_valid_prefix_still_delivers_under_the_root(fserver, firehose) -> None:
    _create(firehose, "good", **s3_dest("good-bucket", Prefix="a/b-!{timestamp:yyyy}/",
                                        BufferingHints={"IntervalInSeconds": 0, "SizeInMBs": 1}))
    firehose.put_record(DeliveryStreamName="good", Record={"Data": b"inside"})
    root = Path(fserver.settings.s3_dir)
    (obj,) = objects(root / "good-bucket")
    assert obj.read_bytes() == b"inside"
    assert obj.resolve().is_relative_to(root.resolve())


def test_writer_refuses_a_symlink_out_of_the_root(tmp_path) -> None:
    root, outside = tmp_path / "s3", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "linked").symlink_to(outside)
    with pytest.raises(s3_writer.UnsafePath):
        s3_writer.write_object(root, "arn:aws:s3:::linked", "k/obj", b"x")
    (root / "okay").mkdir()
    (root / "okay" / "sub").symlink_to(outside)
    with pytest.raises(s3_writer.UnsafePath):
        s3_writer.write_object(root, "arn:aws:s3:::okay", "sub/obj", b"x")
    assert list(outside.rglob("*")) == []
    # a symlink at the object's own name is replaced, its target left alone
    target = outside / "victim"
    target.write_bytes(b"keep")
    (root / "okay" / "obj").symlink_to(target)
    s3_writer.write_object(root, "arn:aws:s3:::okay", "obj", b"new")
    assert target.read_bytes() == b"keep"
    assert (root / "okay" / "obj").read_bytes() == b"new" and not (root / "okay" / "obj").is_symlink()
