"""Codec tests: bytes in, events out (Kafka protocol guide, message schemas)."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mqlite.errors import ProtocolError
from mqlite.protocols.kafka import codec
from mqlite.protocols.kafka.schema import Versions, load, strip_comments

# The first request kafka-python 3.0.12 sends: ApiVersions v4 (flexible, request header
# v2), captured from a real client connecting to a plain socket.
KAFKA_PYTHON_API_VERSIONS = bytes.fromhex(
    "00000037001200040000000100176b61666b612d707974686f6e2d70726f64756365722d31000d6b61666b61"
    "2d707974686f6e07332e302e313200"
)


def test_decodes_real_kafka_python_api_versions_request() -> None:
    """Request header v2: ClientId stays an int16 string; body fields are compact strings."""
    frames = codec.FrameReader().feed(KAFKA_PYTHON_API_VERSIONS)
    assert len(frames) == 1
    req = codec.decode_request(frames[0])
    assert (req.api_key, req.api_name, req.api_version, req.correlation_id) == (18, "ApiVersions", 4, 1)
    assert req.client_id == "kafka-python-producer-1"
    assert req.body == {"ClientSoftwareName": "kafka-python", "ClientSoftwareVersion": "3.0.12"}


def test_api_versions_v4_is_rejected_when_only_0_to_3_are_supported() -> None:
    """KIP-511: an unsupported ApiVersions version is reported, with its correlation id."""
    frame = codec.FrameReader().feed(KAFKA_PYTHON_API_VERSIONS)[0]
    with pytest.raises(codec.UnsupportedVersionError) as info:
        codec.decode_request(frame, {18: Versions(0, 3)})
    assert info.value.correlation_id == 1


def test_api_versions_response_uses_header_v0_even_when_flexible() -> None:
    """SOURCE.md: ApiVersions responses always use response header v0."""
    data = codec.encode_response(18, 3, 7, {"ErrorCode": 0, "ApiKeys": [{"ApiKey": 0, "MinVersion": 3, "MaxVersion": 7}]})
    size, correlation = struct.unpack_from(">ii", data)
    assert size == len(data) - 4 and correlation == 7
    # header v0: the body starts right after the correlation id (error code 0)
    assert data[8:10] == b"\x00\x00"
    # compact array of one element: length + 1 = 2
    assert data[10] == 2


def test_flexible_response_has_header_tagged_fields_and_compact_strings() -> None:
    """Response header v1 ends with an empty tagged-field section; strings are compact."""
    data = codec.encode_response(3, 9, 1, {"Brokers": [], "ClusterId": "c", "ControllerId": 0, "Topics": []})
    assert data[8] == 0  # header tagged fields: none
    corr, body = codec.decode_response(3, 9, data[4:])
    assert corr == 1 and body["ClusterId"] == "c"


def test_round_trip_of_every_produce_request_version() -> None:
    """Non-flexible (3-8) and flexible (9+) encodings decode to the same values."""
    body = {"TransactionalId": None, "Acks": -1, "TimeoutMs": 1000,
            "TopicData": [{"Name": "t", "PartitionData": [{"Index": 2, "Records": b"abc"}]}]}
    for version in range(3, 12):
        frame = codec.encode_request(0, version, 42, body)
        req = codec.decode_request(codec.FrameReader().feed(frame)[0])
        assert req.body["TopicData"] == body["TopicData"]
        assert req.body["Acks"] == -1 and req.correlation_id == 42


def test_tagged_fields_are_written_only_when_not_default_and_read_back() -> None:
    """Flexible versions carry optional fields as tagged fields (KIP-482)."""
    plain = codec.encode_response(1, 12, 1, {"Responses": [{"Topic": "t", "Partitions": [{"PartitionIndex": 0}]}]})
    tagged = codec.encode_response(1, 12, 1, {"Responses": [{"Topic": "t", "Partitions": [
        {"PartitionIndex": 0, "CurrentLeader": {"LeaderId": 5, "LeaderEpoch": 3}}]}]})
    assert len(tagged) > len(plain)
    _, body = codec.decode_response(1, 12, tagged[4:])
    assert body["Responses"][0]["Partitions"][0]["CurrentLeader"] == {"LeaderId": 5, "LeaderEpoch": 3}
    _, body = codec.decode_response(1, 12, plain[4:])
    assert body["Responses"][0]["Partitions"][0]["CurrentLeader"] == {"LeaderId": -1, "LeaderEpoch": -1}


def test_unknown_tagged_fields_are_skipped() -> None:
    """A reader ignores tags it does not know (KIP-482)."""
    frame = bytearray(codec.encode_request(18, 3, 1, {"ClientSoftwareName": "x", "ClientSoftwareVersion": "1"}))
    assert frame[-1] == 0
    frame[-1:] = bytes([1, 9, 2]) + b"zz"  # one tag (9), two bytes of data
    req = codec.decode_request(bytes(frame[4:]))
    assert req.body["ClientSoftwareName"] == "x"


def test_records_may_be_encoded_from_chunks_without_joining() -> None:
    """Fetch passes stored batches as a list; the wire bytes equal the joined form."""
    joined = codec.encode_response(1, 4, 1, {"Responses": [{"Topic": "t", "Partitions": [
        {"PartitionIndex": 0, "Records": b"abcdef"}]}]})
    chunked = codec.encode_response(1, 4, 1, {"Responses": [{"Topic": "t", "Partitions": [
        {"PartitionIndex": 0, "Records": [b"abc", b"def"]}]}]})
    assert joined == chunked


def test_truncated_request_is_a_decode_error() -> None:
    """A request cut short cannot be parsed (the broker closes the connection)."""
    frame = codec.encode_request(3, 1, 1, {"Topics": [{"Name": "abc"}]})[4:]
    with pytest.raises(codec.KafkaDecodeError):
        codec.decode_request(frame[:-2])


def test_huge_array_count_is_a_decode_error_not_an_allocation() -> None:
    """Garbled counts beyond the frame are rejected before allocating."""
    frame = struct.pack(">hhih", 3, 1, 1, -1) + struct.pack(">i", 1 << 30)
    with pytest.raises(codec.KafkaDecodeError):
        codec.decode_request(frame)


def test_unknown_api_key_is_reported() -> None:
    with pytest.raises(codec.UnknownApiError):
        codec.decode_request(struct.pack(">hhih", 999, 0, 1, -1))


def test_frame_reader_splits_coalesced_and_partial_frames() -> None:
    """Frames are an int32 size and payload; TCP may split or merge them."""
    reader = codec.FrameReader()
    a = struct.pack(">i", 3) + b"abc"
    b = struct.pack(">i", 2) + b"de"
    data = a + b
    assert reader.feed(data[:5]) == []
    assert reader.feed(data[5:]) == [b"abc", b"de"]
    assert reader.buffered == 0


def test_frame_over_the_limit_is_refused() -> None:
    """socket.request.max.bytes: a bigger frame is refused from its size field alone."""
    reader = codec.FrameReader(max_frame=100)
    with pytest.raises(codec.FrameTooLarge):
        reader.feed(struct.pack(">i", 101))


def test_every_schema_version_compiles() -> None:
    """Every message at every valid version builds an encoder and a decoder."""
    for name in codec.api_names().values():
        for side in ("Request", "Response"):
            spec = load(name + side)
            for version in range(spec.valid.lo, spec.valid.hi + 1):
                assert codec.compiled(name + side, version).version == version


def test_comments_are_stripped_outside_strings_only() -> None:
    assert strip_comments('{"a": "x//y"} // c\n') == '{"a": "x//y"} \n'


def test_big_record_chunks_are_passed_by_reference_with_identical_bytes() -> None:
    """Fetch responses splice stored batches into the output without copying them;
    the bytes on the wire are the same as the copied form."""
    big = [b"a" * 70_000, b"b" * 70_000]
    body = {"Responses": [{"Topic": "t", "Partitions": [{"PartitionIndex": 0, "Records": big}]}]}
    parts = codec.encode_response_parts(1, 12, 9, body)
    assert any(p is big[0] for p in parts)
    copied = {"Responses": [{"Topic": "t", "Partitions": [{"PartitionIndex": 0, "Records": b"".join(big)}]}]}
    assert b"".join(parts) == codec.encode_response(1, 12, 9, copied)
    _, decoded = codec.decode_response(1, 12, b"".join(parts)[4:])
    assert decoded["Responses"][0]["Partitions"][0]["Records"] == b"".join(big)


def test_frame_reader_keeps_a_partial_frame_after_whole_ones() -> None:
    reader = codec.FrameReader()
    data = struct.pack(">i", 1) + b"x" + struct.pack(">i", 3) + b"y"
    assert reader.feed(data) == [b"x"]
    assert reader.buffered == 5
    assert reader.feed(b"zz") == [b"yzz"]


SAMPLE_REQUESTS = [
    codec.encode_request(0, 7, 1, {"TransactionalId": None, "Acks": 1, "TimeoutMs": 1000, "TopicData": [
        {"Name": "t", "PartitionData": [{"Index": 0, "Records": b"x" * 70}]}]}),
    codec.encode_request(1, 11, 2, {"MaxWaitMs": 500, "MinBytes": 1, "MaxBytes": 1024, "Topics": [
        {"Topic": "t", "Partitions": [{"Partition": 0, "FetchOffset": 5, "PartitionMaxBytes": 100}]}]}),
    codec.encode_request(3, 9, 3, {"Topics": [{"Name": "abc"}], "AllowAutoTopicCreation": True}),
    codec.encode_request(11, 7, 4, {"GroupId": "g", "SessionTimeoutMs": 10000, "MemberId": "", "ProtocolType": "consumer",
                                    "Protocols": [{"Name": "range", "Metadata": b"m"}]}),
]


@given(st.sampled_from(SAMPLE_REQUESTS), st.data())
@settings(max_examples=300, deadline=None)
def test_garbled_requests_fail_only_with_protocol_errors(frame: bytes, data: st.DataObject) -> None:
    """Whatever bytes arrive, decoding either succeeds or raises a ProtocolError (the
    server then closes the connection, as Kafka does), never another exception."""
    payload = bytearray(frame[4:])
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(payload) - 1))
        payload[i] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(payload)))
    try:
        codec.decode_request(bytes(payload[:cut]))
    except ProtocolError:
        pass
