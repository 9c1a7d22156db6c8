"""Seeded mutation fuzzing of the STOMP front-end: every mutated frame stream gets
CONNECTED/RECEIPT/MESSAGE/ERROR frames or a closed connection, never a logged traceback,
and the server goes on serving everyone (issue 27, "Bad input")."""

from __future__ import annotations

from typing import Any

import pytest
import stomp
from fuzz_harness import Mutator, exchange, run_cases, unhandled

from mqlite.protocols.stomp.frames import Frame, FrameError, FrameParser

CONNECT = b"CONNECT\naccept-version:1.0,1.1,1.2\nlogin:guest\npasscode:guest\nhost:/\nheart-beat:0,0\n\n\x00"
SEEDS = [
    b"SEND\ndestination:/queue/fz\ncontent-type:text/plain\nreceipt:r1\n\nhello\x00",
    b"SEND\ndestination:/topic/fz.a\ncontent-length:3\n\na\x00b\x00",
    b"SEND\ndestination:/exchange/amq.direct/k\npersistent:true\npriority:5\n\nx\x00",
    b"SEND\ndestination:/queue/fz\nreply-to:/temp-queue/t\ncorrelation-id:c\n\nping\x00",
    b"SUBSCRIBE\nid:1\ndestination:/queue/fz\nack:client\nprefetch-count:2\n\n\x00",
    b"SUBSCRIBE\nid:2\ndestination:/topic/fz.*\ndurable:true\nauto-delete:false\n\n\x00",
    b"SUBSCRIBE\nid:3\ndestination:/amq/queue/fz\nack:client-individual\n\n\x00",
    b"UNSUBSCRIBE\nid:1\n\n\x00",
    b"ACK\nid:T_1@@session-x@@1\n\n\x00",
    b"NACK\nmessage-id:T_1@@session-x@@1\nrequeue:false\n\n\x00",
    b"BEGIN\ntransaction:t\n\n\x00",
    b"SEND\ndestination:/queue/fz\ntransaction:t\n\ntx\x00",
    b"COMMIT\ntransaction:t\nreceipt:c\n\n\x00",
    b"ABORT\ntransaction:t\n\n\x00",
    b"DISCONNECT\nreceipt:bye\n\n\x00",
    b"\n\n\r\n",
]
COMMANDS = ("CONNECTED", "RECEIPT", "MESSAGE", "ERROR")


@pytest.mark.parametrize("logged_in", [True, False], ids=["connected", "not-connected"])
def test_mutated_stomp_frames_get_error_frames_not_tracebacks(
    mqlite_server_factory: Any, caplog: pytest.LogCaptureFixture, logged_in: bool
) -> None:
    server = mqlite_server_factory()
    bystander = stomp.Connection12([("127.0.0.1", server.stomp_port)], vhost="/")
    bystander.connect("guest", "guest", wait=True)

    def case(m: Mutator, n: int) -> bytes:
        frames = [SEEDS[m.pick(SEEDS)] for _ in range(m.rng.randint(1, 4))]
        body = b"".join(m.bytes_(f) if m.rng.random() < 0.7 else f for f in frames)
        return (CONNECT if logged_in else m.bytes_(CONNECT)) + body

    odd: list[bytes] = []

    def check(sent: bytes, got: bytes) -> None:
        reader = FrameParser()  # every server frame carries content-length where it has a body
        reader.version = "1.2"
        try:
            frames = [f for f in reader.feed(got) if isinstance(f, Frame)]
        except FrameError:
            frames = [Frame("unparsable")]
        if any(f.command not in COMMANDS for f in frames):
            odd.append(sent)

    caplog.clear()
    run_cases(case, server.stomp_port, check)
    assert exchange(server.stomp_port, CONNECT + b"DISCONNECT\nreceipt:x\n\n\x00").count(b"RECEIPT") == 1
    assert bystander.is_connected()
    bystander.disconnect()
    bad = unhandled(caplog)
    assert not bad and not odd, "unhandled:\n" + "\n".join(bad) + "\nodd replies to:\n" + "\n".join(
        repr(s[:200]) for s in odd[:10])
