"""Kinesis over CBOR (`application/x-amz-cbor-1.1`), the AWS SDK for Java's default.

Two clients, neither of them boto3: the AWS SDK for Java v2 (`tests/protocols/aws/java`,
built with Maven): its KinesisClient (`KinesisCbor.java`) and its async client over
HTTP/2 doing enhanced fan-out as the KCL does (`KinesisFanOut.java`), each recording the
content type of every request it sent (CBOR, but for SubscribeToShard, which that SDK
sends as JSON); and raw HTTP requests whose bodies cbor2
encodes the way that SDK does (blobs as byte strings, timestamps as tag 1 holding epoch
milliseconds), for the wire details the SDK hides.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import cbor2
import pytest

# Responses hold tag 1 with epoch milliseconds, which cbor2's own decoder reads as
# seconds (and refuses); the server module's decoder keeps them as milliseconds.
from mqlite.protocols.aws.wire.cbor import _EpochMillis
from mqlite.protocols.aws.wire.cbor import _loads as loads

JAVA_DIR = Path(__file__).parents[1] / "java"
CBOR = "application/x-amz-cbor-1.1"


def _call(server: Any, op: str, body: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    req = urllib.request.Request(
        server.endpoint_url + "/", data=cbor2.dumps(body), method="POST",
        headers={"Content-Type": CBOR, "X-Amz-Target": f"Kinesis_20131202.{op}"})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, dict(resp.headers), loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), loads(err.read())


def test_cbor_round_trip_blobs_and_timestamps(kserver: Any) -> None:
    status, headers, _ = _call(kserver, "CreateStream", {"StreamName": "c1", "ShardCount": 1})
    assert status == 200 and headers["Content-Type"] == CBOR
    data = bytes(range(256))
    status, _, put = _call(kserver, "PutRecord", {"StreamName": "c1", "PartitionKey": "k", "Data": data})
    assert status == 200 and put["ShardId"] == "shardId-000000000000"
    _, _, it = _call(kserver, "GetShardIterator", {
        "StreamName": "c1", "ShardId": "shardId-000000000000", "ShardIteratorType": "AT_TIMESTAMP",
        "Timestamp": cbor2.CBORTag(1, int(time.time() * 1000) - 60_000)})
    status, _, got = _call(kserver, "GetRecords", {"ShardIterator": it["ShardIterator"]})
    assert status == 200
    [record] = got["Records"]
    assert record["Data"] == data  # a CBOR byte string, not base64 text
    ts = record["ApproximateArrivalTimestamp"]
    assert isinstance(ts, _EpochMillis) and ts.is_integer()  # tag 1
    assert abs(ts - time.time() * 1000) < 600_000  # epoch milliseconds, not seconds
    _, _, desc = _call(kserver, "DescribeStreamSummary", {"StreamName": "c1"})
    created = desc["StreamDescriptionSummary"]["StreamCreationTimestamp"]
    assert isinstance(created, _EpochMillis) and abs(created - time.time() * 1000) < 600_000


def test_cbor_errors_are_cbor_with_the_aws_code(kserver: Any) -> None:
    status, headers, body = _call(kserver, "DescribeStream", {"StreamName": "missing"})
    assert status == 400 and headers["Content-Type"] == CBOR
    assert headers["x-amzn-ErrorType"] == "ResourceNotFoundException"
    assert body == {"__type": "ResourceNotFoundException",
                    "message": "Stream missing under account 000000000000 not found."}
    status, _, body = _call(kserver, "PutRecord", {"StreamName": "missing", "PartitionKey": "k", "Data": "text"})
    assert status == 400 and body["__type"] == "SerializationException"  # a blob is a byte string


def test_cbor_body_that_is_not_cbor(kserver: Any) -> None:
    req = urllib.request.Request(
        kserver.endpoint_url + "/", data=b"\xff\xff\x00", method="POST",
        headers={"Content-Type": CBOR, "X-Amz-Target": "Kinesis_20131202.ListStreams"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 400
    assert loads(err.value.read())["__type"] == "SerializationException"


def _java_classpath() -> str:
    if shutil.which("java") is None or shutil.which("mvn") is None:
        pytest.skip("Java or Maven is not installed")
    jar = JAVA_DIR / "target" / "kinesis-cbor-1.jar"
    cp = JAVA_DIR / "target" / "classpath.txt"
    if not jar.exists() or not cp.exists() or jar.stat().st_mtime < max(
            p.stat().st_mtime for p in (JAVA_DIR / "src").rglob("*.java")):
        built = subprocess.run(
            ["mvn", "-q", "-o", "-B", "package", "dependency:build-classpath",
             "-Dmdep.outputFile=target/classpath.txt"],
            cwd=JAVA_DIR, capture_output=True, text=True, timeout=600)
        assert built.returncode == 0, (
            "building the Java client failed (run scripts/install-test-deps.sh once to fetch "
            f"the AWS SDK for Java):\n{built.stdout[-3000:]}\n{built.stderr[-3000:]}")
    return f"{jar}{os.pathsep}{cp.read_text().strip()}"


def test_aws_sdk_for_java_v2_speaks_cbor_to_mqlite(kserver: Any) -> None:
    classpath = _java_classpath()
    done = subprocess.run(
        ["java", "-cp", classpath, "mqlite.KinesisCbor", kserver.endpoint_url, "java-cbor", "000000000000"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("DONE"), f"{done.stdout}\n{done.stderr[-3000:]}"
    assert "OK every request was CBOR: [application/x-amz-cbor-1.1]" in done.stdout


def test_enhanced_fan_out_as_the_kcl_does_it(kserver: Any) -> None:
    """The AWS SDK for Java v2's async client (Netty, HTTP/2 with prior knowledge, CBOR):
    RegisterStreamConsumer, then SubscribeToShard's event stream, the KCL's default
    retrieval (`KinesisFanOut.java`)."""
    classpath = _java_classpath()
    done = subprocess.run(["java", "-cp", classpath, "mqlite.KinesisFanOut", kserver.endpoint_url, "fan"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.rstrip().endswith("DONE"), f"{done.stdout}\n{done.stderr[-3000:]}"
    assert "OK SubscribeToShard delivered the record's bytes" in done.stdout
    assert "OK every request but SubscribeToShard was CBOR: " in done.stdout
    assert "CreateStream application/x-amz-cbor-1.1" in done.stdout


def test_subscribe_to_shard_events_are_cbor_for_a_cbor_client(kserver: Any) -> None:
    """The AWS SDK for Java reads SubscribeToShard's events with the protocol it spoke:
    a CBOR client gets CBOR payloads (Data bytes, timestamps tag 1 in ms)."""
    import http.client

    from botocore.eventstream import EventStreamBuffer

    _call(kserver, "CreateStream", {"StreamName": "s", "ShardCount": 1})
    _, _, desc = _call(kserver, "DescribeStreamSummary", {"StreamName": "s"})
    arn = desc["StreamDescriptionSummary"]["StreamARN"]
    _, _, reg = _call(kserver, "RegisterStreamConsumer", {"StreamARN": arn, "ConsumerName": "c"})
    _call(kserver, "PutRecord", {"StreamName": "s", "PartitionKey": "k", "Data": b"\x00\xff"})
    host, port = kserver.endpoint_url.removeprefix("http://").rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request("POST", "/", body=cbor2.dumps({
        "ConsumerARN": reg["Consumer"]["ConsumerARN"], "ShardId": "shardId-000000000000",
        "StartingPosition": {"Type": "TRIM_HORIZON"}}),
        headers={"Content-Type": CBOR, "X-Amz-Target": "Kinesis_20131202.SubscribeToShard"})
    resp = conn.getresponse()
    assert resp.status == 200
    buf = EventStreamBuffer()
    events: list[Any] = []
    while len(events) < 2:
        buf.add_data(resp.read1(65536))
        events.extend(buf)
    conn.close()
    assert [e.headers[":event-type"] for e in events] == ["initial-response", "SubscribeToShardEvent"]
    assert {e.headers[":content-type"] for e in events} == {CBOR}
    body = loads(events[1].payload)
    [record] = body["Records"]
    assert record["Data"] == b"\x00\xff" and isinstance(record["ApproximateArrivalTimestamp"], _EpochMillis)
