"""Firehose delivery: S3 object names, compression, buffering, HTTP endpoints, Lambda
transformation, Kinesis as source, and no acknowledged record lost across restarts."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import struct
import time
import zipfile
from pathlib import Path
from typing import Any

import cramjam
import pytest
from firehose_support import Sink, echo_request_id, firehose_client, objects, s3_dest

# Firehose's S3 key: <prefix>YYYY/MM/DD/HH/<stream>-<version>-YYYY-MM-DD-HH-MM-SS-<uuid>
KEY = re.compile(r"(\d{4})/(\d{2})/(\d{2})/(\d{2})/(?P<stream>[\w.-]+)-(?P<version>\d+)-"
                 r"(\d{4})-(\d{2})-(\d{2})-(\d{2})-\d{2}-\d{2}-[0-9a-f-]{36}(?P<ext>\.\w+)?")
FAST = {"SizeInMBs": 1, "IntervalInSeconds": 0}


def _decode(path: Path) -> bytes:
    raw = path.read_bytes()
    if path.suffix == ".gz":
        return gzip.decompress(raw)
    if path.suffix == ".snappy":
        return bytes(cramjam.snappy.decompress(raw))
    if path.suffix == ".hsnappy":
        n, m = struct.unpack(">II", raw[:8])
        out = bytes(cramjam.snappy.decompress_raw(raw[8:8 + m]))
        assert len(out) == n
        return out
    if path.suffix == ".zip":
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            return zf.read(zf.namelist()[0])
    return raw


@pytest.mark.parametrize("fmt,ext", [("UNCOMPRESSED", ""), ("GZIP", ".gz"), ("Snappy", ".snappy"),
                                     ("ZIP", ".zip"), ("HADOOP_SNAPPY", ".hsnappy")])
def test_records_land_as_one_object_named_like_firehose_keys(fserver: Any, tmp_path: Path, fmt: str, ext: str) -> None:
    """S3 destination: bucket ARN -> sub-directory, key `prefix/YYYY/MM/DD/HH/stream-1-
    YYYY-MM-DD-HH-MM-SS-uuid` + compression extension, records concatenated without
    delimiters, compressed as CompressionFormat says."""
    client = firehose_client(fserver)
    client.create_delivery_stream(DeliveryStreamName="logs", ExtendedS3DestinationConfiguration=s3_dest(
        "my-bucket", Prefix="app/", CompressionFormat=fmt, BufferingHints=FAST))
    client.put_record_batch(DeliveryStreamName="logs", Records=[{"Data": f"r{i};".encode()} for i in range(50)])
    found = objects(tmp_path / "s3")
    assert len(found) == 1
    rel = found[0].relative_to(tmp_path / "s3" / "my-bucket").as_posix()
    assert rel.startswith("app/")
    m = KEY.fullmatch(rel[len("app/"):])
    assert m is not None, rel
    assert m["stream"] == "logs" and m["version"] == "1" and (m["ext"] or "") == ext
    assert m.group(1, 2, 3, 4) == m.group(7, 8, 9, 10)  # the path's hour is the name's hour
    assert _decode(found[0]) == b"".join(f"r{i};".encode() for i in range(50))


def test_size_hint_flushes_before_the_interval(fserver: Any, tmp_path: Path) -> None:
    """BufferingHints: a full SizeInMBs buffer is delivered without waiting for the
    (15-minute) interval."""
    client = firehose_client(fserver)
    client.create_delivery_stream(DeliveryStreamName="big", S3DestinationConfiguration=s3_dest(
        BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900}))
    chunk = b"x" * 100_000
    for _ in range(3):
        client.put_record_batch(DeliveryStreamName="big", Records=[{"Data": chunk}] * 5)
    found = objects(tmp_path / "s3")
    assert len(found) == 1 and found[0].stat().st_size >= 1024 * 1024


def test_custom_prefix_expressions_are_expanded(fserver: Any, tmp_path: Path) -> None:
    """Prefix with !{timestamp:...} expressions replaces the YYYY/MM/DD/HH/ part."""
    client = firehose_client(fserver)
    client.create_delivery_stream(DeliveryStreamName="p", ExtendedS3DestinationConfiguration=s3_dest(
        Prefix="year=!{timestamp:yyyy}/month=!{timestamp:MM}/", ErrorOutputPrefix="err/!{firehose:error-output-type}/",
        BufferingHints=FAST))
    client.put_record(DeliveryStreamName="p", Record={"Data": b"x"})
    rel = objects(tmp_path / "s3")[0].relative_to(tmp_path / "s3" / "bkt").as_posix()
    assert re.fullmatch(r"year=\d{4}/month=\d{2}/p-1-[\d-]+-[0-9a-f-]{36}", rel), rel


def test_http_endpoint_gets_firehose_request_shape(fserver: Any) -> None:
    """HTTP endpoint destination: POST {requestId, timestamp, records:[{data: base64}]} with
    the X-Amz-Firehose-* headers; 200 with the requestId acknowledges."""
    sink = Sink(echo_request_id)
    try:
        client = firehose_client(fserver)
        client.create_delivery_stream(DeliveryStreamName="h", HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": sink.url + "/ingest", "Name": "sink", "AccessKey": "k3y"},
            "BufferingHints": FAST,
            "RequestConfiguration": {"CommonAttributes": [{"AttributeName": "env", "AttributeValue": "test"}]},
            "S3Configuration": s3_dest(), "RoleARN": "arn:aws:iam::000000000000:role/r"})
        client.put_record_batch(DeliveryStreamName="h", Records=[{"Data": b"a"}, {"Data": b"b"}])
        path, headers, body = _wait_requests(sink, 1)[0]
        doc = json.loads(body)
        assert path == "/ingest"
        assert [base64.b64decode(r["data"]) for r in doc["records"]] == [b"a", b"b"]
        assert headers["x-amz-firehose-protocol-version"] == "1.0"
        assert headers["x-amz-firehose-request-id"] == doc["requestId"]
        assert headers["x-amz-firehose-access-key"] == "k3y"
        assert headers["x-amz-firehose-source-arn"].endswith(":deliverystream/h")
        assert json.loads(headers["x-amz-firehose-common-attributes"]) == {"commonAttributes": {"env": "test"}}
    finally:
        sink.close()


def _wait_requests(sink: Sink, n: int) -> list[tuple[str, dict[str, str], bytes]]:
    deadline = time.monotonic() + 20
    while len(sink.requests) < n and time.monotonic() < deadline:
        time.sleep(0.05)
    return list(sink.requests)


def test_http_endpoint_failures_go_to_the_error_prefix(fserver: Any, tmp_path: Path) -> None:
    """A failing endpoint (after RetryOptions.DurationInSeconds) -> records written to the
    S3 configuration under `http-endpoint-failed/` as Firehose's failed-record JSON."""
    sink = Sink(lambda body, headers: (500, b'{"error": "down"}'))
    try:
        client = firehose_client(fserver)
        client.create_delivery_stream(DeliveryStreamName="h", HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": sink.url}, "BufferingHints": FAST,
            "RetryOptions": {"DurationInSeconds": 0}, "S3Configuration": s3_dest()})
        client.put_record(DeliveryStreamName="h", Record={"Data": b"lost?"})
        found = objects(tmp_path / "s3")
        rel = found[0].relative_to(tmp_path / "s3" / "bkt").as_posix()
        assert rel.startswith("http-endpoint-failed/")
        doc = json.loads(found[0].read_bytes().splitlines()[0])
        assert base64.b64decode(doc["rawData"]) == b"lost?"
        assert doc["errorCode"] == "HttpEndpoint.ResponseCode500" and doc["attemptsMade"] >= 1
    finally:
        sink.close()


def test_http_endpoint_is_retried_until_it_accepts(fserver: Any, tmp_path: Path) -> None:
    """Retries within RetryOptions.DurationInSeconds: a 503 then a 200 delivers the
    buffer once, and nothing goes to the error prefix."""
    calls: list[int] = []

    def flaky(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        calls.append(1)
        return (503, b"{}") if len(calls) == 1 else echo_request_id(body, headers)

    sink = Sink(flaky)
    try:
        client = firehose_client(fserver)
        client.create_delivery_stream(DeliveryStreamName="h", HttpEndpointDestinationConfiguration={
            "EndpointConfiguration": {"Url": sink.url}, "BufferingHints": FAST,
            "RetryOptions": {"DurationInSeconds": 60}, "S3Configuration": s3_dest()})
        client.put_record(DeliveryStreamName="h", Record={"Data": b"again"})
        got = _wait_requests(sink, 2)
        assert len(got) == 2
        assert json.loads(got[0][2])["records"] == json.loads(got[1][2])["records"]  # same buffer again
        assert [base64.b64decode(r["data"]) for r in json.loads(got[1][2])["records"]] == [b"again"]
        assert objects(tmp_path / "s3", timeout=0.5) == []
    finally:
        sink.close()


def test_lambda_transformation_rewrites_and_drops_records(mqlite_server_factory: Any, tmp_path: Path) -> None:
    """ProcessingConfiguration Lambda: the Lambda-shaped endpoint gets Firehose's event;
    Ok records are delivered transformed, Dropped ones left out."""
    def respond(body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        event = json.loads(body)
        out = []
        for r in event["records"]:
            data = base64.b64decode(r["data"])
            if data == b"drop":
                out.append({"recordId": r["recordId"], "result": "Dropped"})
            else:
                out.append({"recordId": r["recordId"], "result": "Ok",
                            "data": base64.b64encode(data.upper() + b"\n").decode()})
        return 200, json.dumps({"records": out}).encode()

    sink = Sink(respond)
    try:
        server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None,
                                       s3_dir=tmp_path / "s3", lambda_endpoint=sink.url)
        client = firehose_client(server)
        client.create_delivery_stream(DeliveryStreamName="t", ExtendedS3DestinationConfiguration=s3_dest(
            BufferingHints=FAST, ProcessingConfiguration={"Enabled": True, "Processors": [{
                "Type": "Lambda", "Parameters": [{"ParameterName": "LambdaArn",
                                                  "ParameterValue": "arn:aws:lambda:us-east-1:000000000000:function:up"}]}]}))
        client.put_record_batch(DeliveryStreamName="t", Records=[{"Data": b"a"}, {"Data": b"drop"}, {"Data": b"b"}])
        found = objects(tmp_path / "s3")
        assert found[0].read_bytes() == b"A\nB\n"
        assert sink.requests[0][0] == "/2015-03-31/functions/up/invocations"
    finally:
        sink.close()


def test_kinesis_stream_as_source(mqlite_server_factory: Any, tmp_path: Path) -> None:
    """KinesisStreamAsSource: records put to the Kinesis stream (from creation on) are
    delivered; PutRecord to such a delivery stream is InvalidArgumentException."""
    import boto3
    from botocore.exceptions import ClientError

    server = mqlite_server_factory(kafka_port=None, amqp_port=None, redis_port=None, s3_dir=tmp_path / "s3",
                                   kinesis_create_delay_ms=0)
    kinesis = boto3.client("kinesis", endpoint_url=server.endpoint_url, region_name="us-east-1",
                           aws_access_key_id="a", aws_secret_access_key="b")
    kinesis.create_stream(StreamName="src", ShardCount=2)
    kinesis.put_record(StreamName="src", Data=b"before;", PartitionKey="k")
    client = firehose_client(server)
    client.create_delivery_stream(
        DeliveryStreamName="fromk", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": "arn:aws:kinesis:us-east-1:000000000000:stream/src",
                                          "RoleARN": "arn:aws:iam::000000000000:role/r"},
        ExtendedS3DestinationConfiguration=s3_dest(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 1}))
    kinesis.put_records(StreamName="src", Records=[{"Data": f"k{i};".encode(), "PartitionKey": f"p{i}"}
                                                   for i in range(10)])
    found = objects(tmp_path / "s3")
    data = b"".join(_decode(p) for p in found)
    assert sorted(x for x in data.split(b";") if x) == sorted(f"k{i}".encode() for i in range(10))
    d = client.describe_delivery_stream(DeliveryStreamName="fromk")["DeliveryStreamDescription"]
    assert d["Source"]["KinesisStreamSourceDescription"]["KinesisStreamARN"].endswith(":stream/src")
    with pytest.raises(ClientError) as exc:
        client.put_record(DeliveryStreamName="fromk", Record={"Data": b"x"})
    assert exc.value.response["Error"]["Code"] == "InvalidArgumentException"


def test_clean_shutdown_flushes_buffered_records(fserver: Any, tmp_path: Path) -> None:
    """Acknowledged records are not lost: a clean shutdown delivers the buffer even
    though neither BufferingHints limit was reached."""
    client = firehose_client(fserver)
    client.create_delivery_stream(DeliveryStreamName="d", S3DestinationConfiguration=s3_dest(
        BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900}))
    client.put_record_batch(DeliveryStreamName="d", Records=[{"Data": b"keep;"}] * 3)
    assert objects(tmp_path / "s3", timeout=0.3) == []
    fserver.restart()
    found = objects(tmp_path / "s3")
    assert [p.read_bytes() for p in found] == [b"keep;keep;keep;"]


def test_records_survive_a_crash_and_are_delivered_after_restart(tmp_path: Path) -> None:
    """Durability: PutRecord acknowledges once the record is in the delivery stream's
    buffer log, so SIGKILL of the server (no flush, no shutdown hook) loses nothing;
    delivery resumes after restart (here under destination version 2)."""
    import boto3

    from mqlite.testing import spawn_server

    def client_for(proc: Any) -> Any:
        return boto3.client("firehose", endpoint_url=f"http://127.0.0.1:{proc.ports['http']}",
                            region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b")

    flags = ("--s3-dir", str(tmp_path / "s3"), "--kafka-port", "off", "--amqp-port", "off", "--redis-port", "off")
    proc = spawn_server(tmp_path / "data", *flags)
    try:
        client = client_for(proc)
        client.create_delivery_stream(DeliveryStreamName="d", S3DestinationConfiguration=s3_dest(
            BufferingHints={"SizeInMBs": 128, "IntervalInSeconds": 900}))
        client.put_record_batch(DeliveryStreamName="d", Records=[{"Data": b"safe;"}] * 4)
    finally:
        proc.kill()
    assert objects(tmp_path / "s3", timeout=0) == []
    proc = spawn_server(tmp_path / "data", *flags)
    try:
        client = client_for(proc)
        client.update_destination(DeliveryStreamName="d", CurrentDeliveryStreamVersionId="1",
                                  DestinationId="destinationId-000000000001",
                                  S3DestinationUpdate={"BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 0}})
        found = objects(tmp_path / "s3")
        assert b"".join(p.read_bytes() for p in found) == b"safe;" * 4
        assert found[0].name.startswith("d-2-")
    finally:
        proc.stop()
