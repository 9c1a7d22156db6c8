"""RESP codec: bytes in, commands out; reply values in, bytes out (sans-IO)."""

from __future__ import annotations

import itertools

import pytest

from mqlite.protocols.resp.codec import (
    NULL_ARRAY,
    Double,
    Error,
    Map,
    Push,
    RequestParser,
    Set,
    Simple,
    Verbatim,
    encode,
    split_inline,
)


def test_multibulk_request_parses_into_argv() -> None:
    """RESP spec: a request is an array of bulk strings."""
    p = RequestParser()
    assert p.feed(b"*2\r\n$4\r\nECHO\r\n$5\r\nhello\r\n") == [[b"ECHO", b"hello"]]


def test_pipelined_requests_split_across_chunks_parse_in_order() -> None:
    """Pipelining: several requests in one read, or one request over several reads."""
    data = b"*1\r\n$4\r\nPING\r\n*3\r\n$7\r\nPUBLISH\r\n$2\r\nch\r\n$3\r\nmsg\r\n"
    p = RequestParser()
    out = []
    for i in range(len(data)):
        out += p.feed(data[i : i + 1])
    assert out == [[b"PING"], [b"PUBLISH", b"ch", b"msg"]]
    assert p.buffered == 0


def test_binary_safe_bulk_with_crlf_inside() -> None:
    p = RequestParser()
    assert p.feed(b"*2\r\n$4\r\nECHO\r\n$4\r\na\r\nb\r\n") == [[b"ECHO", b"a\r\nb"]]


def test_inline_command_splits_on_spaces_and_honours_quotes() -> None:
    """Redis inline commands (telnet): sdssplitargs quoting rules."""
    p = RequestParser()
    assert p.feed(b"PING\r\nECHO \"a b\\n\" 'c d'\n\r\n") == [[b"PING"], [b"ECHO", b"a b\n", b"c d"]]
    assert split_inline(b'SET "\\x41\\x42" x') == [b"SET", b"AB", b"x"]


def test_unbalanced_quotes_is_a_protocol_error() -> None:
    p = RequestParser()
    assert p.feed(b'ECHO "abc\r\n') == []
    assert p.error is not None and p.error.message == "Protocol error: unbalanced quotes in request"


def test_commands_before_a_protocol_error_are_still_returned() -> None:
    """Redis runs what it parsed before the bad bytes, then replies the error and closes."""
    p = RequestParser()
    out = p.feed(b"*1\r\n$4\r\nPING\r\n*1\r\nx\r\n")
    assert out == [[b"PING"]]
    assert p.error is not None and p.error.message == "Protocol error: expected '$', got 'x'"
    assert p.feed(b"*1\r\n$4\r\nPING\r\n") == []


@pytest.mark.parametrize(
    "data,message",
    [
        (b"*abc\r\n", "Protocol error: invalid multibulk length"),
        (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$536870913\r\n", "Protocol error: invalid bulk length"),
        (b"*2000000000\r\n", "Protocol error: invalid multibulk length"),
    ],
)
def test_bad_framing_and_bulk_over_proto_max_bulk_len_are_protocol_errors(data: bytes, message: str) -> None:
    """proto-max-bulk-len is 512 MB; multibulk count at most 1024*1024*1024."""
    p = RequestParser()
    p.feed(data)
    assert p.error is not None and p.error.message == message


def test_inline_request_without_newline_over_64k_is_rejected() -> None:
    p = RequestParser()
    p.feed(b"A" * (64 * 1024 + 1))
    assert p.error is not None and p.error.message == "Protocol error: too big inline request"


def test_empty_and_zero_length_multibulk_are_skipped() -> None:
    p = RequestParser()
    assert p.feed(b"\r\n*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"]]


def test_resp2_encoding_of_every_type() -> None:
    assert encode(b"x") == b"$1\r\nx\r\n"
    assert encode(5) == b":5\r\n"
    assert encode(None) == b"$-1\r\n"
    assert encode(NULL_ARRAY) == b"*-1\r\n"
    assert encode(Simple("OK")) == b"+OK\r\n"
    assert encode(Error("ERR bad")) == b"-ERR bad\r\n"
    assert encode([b"a", 1]) == b"*2\r\n$1\r\na\r\n:1\r\n"
    assert encode(Map([(b"k", b"v")])) == b"*2\r\n$1\r\nk\r\n$1\r\nv\r\n"
    assert encode(Set([b"a"])) == b"*1\r\n$1\r\na\r\n"
    assert encode(Push([b"message", b"c", b"m"])) == b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\nm\r\n"
    assert encode(Double(1.5)) == b"$3\r\n1.5\r\n"
    assert encode(True) == b":1\r\n"
    assert encode(Verbatim(b"hi")) == b"$2\r\nhi\r\n"


def test_resp3_encoding_of_every_type() -> None:
    assert encode(None, True) == b"_\r\n"
    assert encode(NULL_ARRAY, True) == b"_\r\n"
    assert encode(Map([(b"k", 1)]), True) == b"%1\r\n$1\r\nk\r\n:1\r\n"
    assert encode(Set([b"a"]), True) == b"~1\r\n$1\r\na\r\n"
    assert encode(Push([b"a"]), True) == b">1\r\n$1\r\na\r\n"
    assert encode(Double(1.5), True) == b",1.5\r\n"
    assert encode(2.0, True) == b",2\r\n"
    assert encode(False, True) == b"#f\r\n"
    assert encode(Verbatim(b"hi"), True) == b"=6\r\ntxt:hi\r\n"


def test_inline_command_right_after_multibulk_in_one_chunk() -> None:
    """The hiredis fast path hands mixed input to the exact parser without loss."""
    p = RequestParser()
    assert p.feed(b"*1\r\n$4\r\nPING\r\nECHO x\r\n*1\r\n$4\r\nPING\r\n") == [[b"PING"], [b"ECHO", b"x"], [b"PING"]]


def test_non_bulk_element_in_a_request_is_a_protocol_error() -> None:
    p = RequestParser()
    assert p.feed(b"*1\r\n$4\r\nPING\r\n*1\r\n:5\r\n") == [[b"PING"]]
    assert p.error is not None and p.error.message == "Protocol error: expected '$', got ':'"


def _encode_cmd(argv: list[bytes]) -> bytes:
    return b"*%d\r\n" % len(argv) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in argv)


from hypothesis import given, settings
from hypothesis import strategies as st

_arg = st.binary(min_size=0, max_size=40)
_cmd = st.lists(_arg, min_size=1, max_size=5)
_inline = st.lists(st.text(alphabet="abcXYZ019", min_size=1, max_size=6), min_size=1, max_size=3)


@settings(max_examples=60, deadline=None)
@given(
    cmds=st.lists(st.one_of(_cmd.map(lambda a: ("m", a)), _inline.map(lambda a: ("i", a))), min_size=1, max_size=12),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=12),
)
def test_any_chunking_of_mixed_requests_parses_the_same(cmds: list[tuple[str, list]], cuts: list[int]) -> None:
    """Property: however the bytes are split, the parser yields the same commands."""
    data = b""
    expected: list[list[bytes]] = []
    for kind, argv in cmds:
        if kind == "m":
            data += _encode_cmd(argv)
            expected.append(argv)
        else:
            data += " ".join(argv).encode() + b"\r\n"
            expected.append([a.encode() for a in argv])
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    p = RequestParser()
    got: list[list[bytes]] = []
    for a, b in itertools.pairwise(points):
        got += p.feed(data[a:b])
    assert p.error is None
    assert got == expected


def test_a_pipeline_that_never_pauses_at_a_command_boundary_keeps_buffering_bounded() -> None:
    """Mass insertion (redis-cli --pipe): chunks split commands; only the pending partial
    command stays buffered."""
    cmd = _encode_cmd([b"XADD", b"s", b"*", b"field", b"v" * 50])
    data = cmd * 2000
    p = RequestParser()
    got = 0
    for i in range(0, len(data), 4093):  # a prime: every chunk ends mid-command
        got += len(p.feed(data[i : i + 4093]))
        assert p.buffered < len(cmd)
    assert got == 2000 and p.error is None


def test_every_two_and_three_way_split_of_a_pipeline_parses_the_same() -> None:
    """Redis parses a request stream the same however TCP splits it (`processInputBuffer`):
    cuts at element boundaries leave the fast path mid-command, and what follows (an empty
    multibulk, an inline command) must still come out in order."""
    data = (
        _encode_cmd([b"PUBLISH", b"ch", b"hello"])
        + b"*0\r\n"
        + _encode_cmd([b"PUBLISH", b"c\r\nh", b""])
        + _encode_cmd([b"SET", b"k", b"v" * 12])
        + b"PING x\r\n"
        + _encode_cmd([b"ECHO", b"*0\r\n"])
    )
    expected = [[b"PUBLISH", b"ch", b"hello"], [b"PUBLISH", b"c\r\nh", b""], [b"SET", b"k", b"v" * 12],
                [b"PING", b"x"], [b"ECHO", b"*0\r\n"]]
    n = len(data)
    for a in range(n + 1):
        for b in range(a, n + 1, 3 if a else 1):
            p = RequestParser()
            got = p.feed(data[:a]) + p.feed(data[a:b]) + p.feed(data[b:])
            assert p.error is None and got == expected, (a, b)
