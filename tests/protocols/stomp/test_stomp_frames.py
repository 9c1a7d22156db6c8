"""The sans-IO STOMP codec: bytes in, frames and heart-beats out (STOMP 1.2 spec,
"Augmented BNF", "Value Encoding", "Heart-beating"); `encode` for server frames."""

from __future__ import annotations

import pytest

from mqlite.protocols.stomp.frames import (
    HEARTBEAT,
    Frame,
    FrameError,
    FrameParser,
    encode,
)


def parser(version: str = "1.2", **kw: int) -> FrameParser:
    p = FrameParser(**kw)
    p.version = version
    return p


def test_frames_split_across_reads_and_heart_beat_eols_between_them() -> None:
    p = parser()
    data = b"\r\n\nSEND\r\ndestination:/queue/a\r\n\r\nhel" + b"lo\x00\n\nSUBSCRIBE\nid:1\ndestination:/topic/t\n\n\x00"
    out = [p.feed(data[i:i + 1]) for i in range(len(data))]
    events: list[object] = []
    for e in (e for chunk in out for e in chunk):  # each EOL is a heart-beat; count runs once
        if not (e == HEARTBEAT and events and events[-1] == HEARTBEAT):
            events.append(e)
    assert events == [HEARTBEAT, Frame("SEND", [("destination", "/queue/a")], b"hello"), HEARTBEAT,
                      Frame("SUBSCRIBE", [("id", "1"), ("destination", "/topic/t")], b"")]


def test_content_length_body_may_contain_nul() -> None:
    assert parser().feed(b"SEND\ncontent-length:3\n\na\x00b\x00") == [
        Frame("SEND", [("content-length", "3")], b"a\x00b")]


def test_header_escapes_per_version() -> None:
    raw = b"SEND\nk\\cx:a\\nb\\\\c\\rd\n\n\x00"
    assert parser("1.2").feed(raw)[0].headers == [("k:x", "a\nb\\c\rd")]
    with pytest.raises(FrameError, match="undefined escape"):
        parser("1.1").feed(raw)  # \r is a 1.2 escape only
    assert parser("1.0").feed(b"SEND\nk:  a\\nb\n\n\x00")[0].headers == [("k", "a\\nb")]  # no escapes; trimmed


def test_connect_headers_are_never_unescaped() -> None:
    assert parser("1.2").feed(b"CONNECT\npasscode:a\\tb\n\n\x00")[0].get("passcode") == "a\\tb"


def test_first_of_repeated_headers_wins() -> None:
    assert parser().feed(b"SEND\nfoo:1\nfoo:2\n\n\x00")[0].get("foo") == "1"


@pytest.mark.parametrize(("raw", "detail"), [
    (b"SEND\nnocolon\n\n\x00", "without a name and colon"),
    (b"SEND\ncontent-length:x\n\n\x00", "not a non-negative integer"),
    (b"SEND\ncontent-length:1\n\nab\x00", "not terminated by NUL"),
    (b"SEND\nk:\xff\n\n\x00", "not valid UTF-8"),
])
def test_malformed_frames_are_frame_errors(raw: bytes, detail: str) -> None:
    with pytest.raises(FrameError, match=detail) as info:
        parser().feed(raw)
    assert info.value.message == "Invalid frame"


def test_limits_on_headers_and_bodies() -> None:
    with pytest.raises(FrameError, match="headers larger"):
        parser(max_header_bytes=100).feed(b"SEND\n" + b"k:" + b"v" * 200)
    with pytest.raises(FrameError, match="body larger"):
        parser(max_body=10).feed(b"SEND\n\n" + b"x" * 11)  # no NUL yet: refused once over
    with pytest.raises(FrameError, match="body larger"):
        parser(max_body=10).feed(b"SEND\ncontent-length:11\n\n")
    with pytest.raises(FrameError, match="more than 2 headers"):
        parser(max_headers=2).feed(b"SEND\na:1\nb:2\nc:3\n\n\x00")


def test_unterminated_body_waits_for_more() -> None:
    p = parser()
    assert p.feed(b"SEND\ndestination:/queue/a\n\nno end yet") == []
    assert p.pending_bytes > 0


def test_encode_escapes_headers_except_on_connected_and_adds_content_length() -> None:
    assert encode("MESSAGE", [("a:b", "c\nd\\")], b"xy", "1.2") == b"MESSAGE\na\\cb:c\\nd\\\\\ncontent-length:2\n\nxy\x00\n"
    assert encode("CONNECTED", [("session", "a:b")], b"", "1.2") == b"CONNECTED\nsession:a:b\n\n\x00\n"
    assert encode("RECEIPT", {"receipt-id": "r"}, b"", "1.0") == b"RECEIPT\nreceipt-id:r\n\n\x00\n"
