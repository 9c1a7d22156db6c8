"""Frame codec: bytes in, events out (AMQP 0-9-1 section 4.2 framing; pamqp for methods)."""

from __future__ import annotations

import datetime
import decimal
import struct

import pytest
from pamqp import commands
from pamqp import frame as pframe
from pamqp.body import ContentBody
from pamqp.header import ContentHeader

from mqlite.protocols.amqp.frames import (
    HEARTBEAT_FRAME,
    PROTOCOL_HEADER,
    BadProtocolHeader,
    FrameError,
    FrameReader,
    HeartbeatEvent,
    MethodEvent,
    ProtocolHeaderEvent,
    Publish,
    content_frames,
    deliver_payload,
)
from mqlite.protocols.amqp.properties import decode_properties


def _opened(frame_max: int = 131072) -> FrameReader:
    reader = FrameReader(frame_max)
    assert reader.feed(PROTOCOL_HEADER) == [ProtocolHeaderEvent()]
    return reader


def _publish_bytes(channel: int, body: bytes, props: commands.Basic.Properties | None = None,
                   frame_max: int = 131072) -> bytes:
    out = pframe.marshal(commands.Basic.Publish(exchange="ex", routing_key="rk", mandatory=True), channel)
    out += pframe.marshal(ContentHeader(0, len(body), props or commands.Basic.Properties()), channel)
    step = frame_max - 8
    for i in range(0, len(body), step):
        out += pframe.marshal(ContentBody(body[i:i + step]), channel)
    return out


def test_protocol_header_is_accepted_then_methods_decode() -> None:
    """Section 4.2.2: the client opens with 'AMQP' 0 0 9 1."""
    reader = _opened()
    events = reader.feed(pframe.marshal(commands.Connection.TuneOk(2047, 131072, 60), 0))
    assert len(events) == 1 and isinstance(events[0], MethodEvent)
    assert events[0].method.heartbeat == 60


def test_wrong_protocol_header_is_refused() -> None:
    """Section 4.2.2: a bad header gets the supported header back, then close."""
    with pytest.raises(BadProtocolHeader):
        FrameReader().feed(b"AMQP\x01\x01\x00\x0a")
    with pytest.raises(BadProtocolHeader):
        FrameReader().feed(b"GET / HTTP/1.1\r\n")


def test_publish_is_assembled_from_bytes_fed_one_at_a_time() -> None:
    """Section 4.2.6: method, content header and body frames make one message."""
    reader = _opened()
    data = _publish_bytes(1, b"hello world")
    events: list[object] = []
    for i in range(len(data)):
        events += reader.feed(data[i:i + 1])
    assert len(events) == 1
    ev = events[0]
    assert isinstance(ev, Publish)
    assert (ev.channel, ev.exchange, ev.routing_key, ev.mandatory, ev.body) == (1, "ex", "rk", True, b"hello world")


def test_body_split_over_many_frames_is_reassembled() -> None:
    """Bodies larger than frame_max arrive as several body frames."""
    reader = _opened(4096)
    body = bytes(range(256)) * 100
    events = reader.feed(_publish_bytes(3, body, frame_max=4096))
    assert [e.body for e in events if isinstance(e, Publish)] == [body]


def test_interleaved_channels_assemble_independently() -> None:
    """Content frames of different channels may interleave (section 4.2.6)."""
    reader = _opened()
    a = _publish_bytes(1, b"a" * 10)
    b = _publish_bytes(2, b"b" * 10)
    # split each after its header frame and interleave
    cut_a = len(a) - (10 + 8)
    cut_b = len(b) - (10 + 8)
    events = reader.feed(a[:cut_a] + b[:cut_b] + b[cut_b:] + a[cut_a:])
    assert [(e.channel, e.body) for e in events] == [(2, b"b" * 10), (1, b"a" * 10)]


def test_empty_body_completes_on_the_content_header() -> None:
    reader = _opened()
    events = reader.feed(_publish_bytes(1, b""))
    assert len(events) == 1 and events[0].body == b""


def test_frame_larger_than_frame_max_is_a_frame_error() -> None:
    """Section 4.2.3: a peer must not send frames larger than the negotiated frame_max."""
    reader = _opened(4096)
    with pytest.raises(FrameError) as err:
        reader.feed(struct.pack(">BHI", 3, 1, 5000) + b"x" * 5000 + b"\xce")
    assert err.value.reply_code == 501


def test_bad_frame_end_is_a_frame_error() -> None:
    """Section 4.2.3: the frame-end octet must be 0xCE."""
    reader = _opened()
    data = bytearray(pframe.marshal(commands.Channel.Open(), 1))
    data[-1] = 0x00
    with pytest.raises(FrameError) as err:
        reader.feed(bytes(data))
    assert err.value.reply_code == 501


def test_content_header_without_publish_is_unexpected_frame() -> None:
    """Section 4.2.6: content frames must follow a content-bearing method (505)."""
    reader = _opened()
    with pytest.raises(FrameError) as err:
        reader.feed(pframe.marshal(ContentHeader(0, 3, commands.Basic.Properties()), 1))
    assert err.value.reply_code == 505


def test_method_inside_content_is_unexpected_frame_and_nothing_is_published() -> None:
    reader = _opened()
    data = _publish_bytes(1, b"abc")
    head = data[: len(data) - (3 + 8)]  # method + header, no body
    assert reader.feed(head) == []
    with pytest.raises(FrameError) as err:
        reader.feed(pframe.marshal(commands.Basic.Qos(prefetch_count=1), 1))
    assert err.value.reply_code == 505


def test_unknown_method_is_rejected() -> None:
    reader = _opened()
    payload = struct.pack(">HH", 99, 99)
    with pytest.raises(FrameError) as err:
        reader.feed(struct.pack(">BHI", 1, 1, len(payload)) + payload + b"\xce")
    assert err.value.reply_code == 540


def test_garbage_after_the_header_is_a_frame_error() -> None:
    reader = _opened()
    with pytest.raises(FrameError):
        reader.feed(b"\x09" * 64)


def test_heartbeat_frame_is_an_event() -> None:
    """Section 4.2.7: heartbeat frames are on channel 0."""
    reader = _opened()
    assert reader.feed(HEARTBEAT_FRAME) == [HeartbeatEvent(0)]


def test_content_frames_split_bodies_to_frame_max() -> None:
    """The encoder splits to frame_max (pamqp does not)."""
    out: list[bytes] = []
    body = b"z" * 10000
    content_frames(out, 5, deliver_payload("ctag", 7, False, "ex", "rk"), b"\x00\x00", body, 4096)
    assert all(len(f) <= 4096 for f in out)
    # a client-side parse gives back the same body
    got = b""
    for f in out:
        _, channel, value = pframe.unmarshal(f)
        assert channel == 5
        if isinstance(value, ContentBody):
            got += value.value
        elif isinstance(value, commands.Basic.Deliver):
            assert (value.consumer_tag, value.delivery_tag, value.exchange) == ("ctag", 7, "ex")
    assert got == body


def test_properties_with_every_field_table_type_pass_through_byte_exact() -> None:
    """Properties are stored as the publisher's bytes, so every table type round-trips."""
    headers = {
        "str": "text", "bytes": bytearray(b"\x00\xff"), "bool": True, "i8": 5, "i16": 3000, "i32": 70000,
        "i64": 2**40, "neg": -300, "float": 1.5, "decimal": decimal.Decimal("3.14"),
        "ts": datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC),
        "table": {"nested": [1, "two", {"x": None}]}, "array": [1, 2.5, "s"], "void": None,
    }
    props = commands.Basic.Properties(
        content_type="application/json", content_encoding="gzip", headers=headers, delivery_mode=2,
        priority=7, correlation_id="corr", reply_to="rq", expiration="60000", message_id="mid",
        timestamp=datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC), message_type="t",
        user_id="guest", app_id="app",
    )
    reader = _opened()
    (ev,) = reader.feed(_publish_bytes(1, b"x", props))
    assert ev.raw_properties == props.marshal()
    decoded = decode_properties(ev.raw_properties)
    assert decoded.headers["table"] == {"nested": [1, "two", {"x": None}]}
    assert decoded.priority == 7 and decoded.expiration == "60000"


def test_basic_ack_fast_path_decodes_tag_and_multiple() -> None:
    reader = _opened()
    (ev,) = reader.feed(pframe.marshal(commands.Basic.Ack(delivery_tag=2**40 + 3, multiple=True), 4))
    assert isinstance(ev.method, commands.Basic.Ack)
    assert (ev.channel, ev.method.delivery_tag, ev.method.multiple) == (4, 2**40 + 3, True)


def test_content_of_a_channel_being_closed_is_skipped() -> None:
    """After the server sent Channel.Close, the peer's in-flight content is ignored."""
    reader = _opened()
    data = _publish_bytes(1, b"abc")
    head = data[: len(data) - (3 + 8)]
    assert reader.feed(head) == []
    reader.discard_channel(1, ignore=True)
    assert reader.feed(data[len(head):]) == []
    reader.resume_channel(1)
    assert [e.body for e in reader.feed(_publish_bytes(1, b"again"))] == [b"again"]
