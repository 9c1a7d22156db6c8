"""PUBLISHes decoded from one read are routed as one batch (core Router.publish_batch):
each QoS 1 PUBLISH gets exactly one PUBACK, in order, only once it is stored, and a
crash right after the PUBACKs loses none of them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from mqlite.protocols.mqtt import codec as C
from mqlite.testing import spawn_server
from tests.protocols.mqtt.conftest import Client, Raw
from tests.protocols.mqtt.test_mqtt_bad_input import connected, subscribe_bytes
from tests.protocols.mqtt.test_mqtt_codec import connect_bytes

BURST = 300
PINGREQ = b"\xc0\x00"


def burst(version: int, topic_of: Callable[[int], str], n: int = BURST) -> bytes:
    """`n` QoS 1 PUBLISHes, packet ids 1..n, payload = the index, in one buffer."""
    return b"".join(C.encode_publish(version, topic_of(i), str(i).encode(), 1, False, False, i)
                    for i in range(1, n + 1))


def test_a_pipelined_qos1_burst_gets_one_puback_each_in_order(raw: Callable[[], Raw],
                                                               mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("sub", 5)
    sub.subscribe("burst/#", qos=1)
    r = connected(raw, 5, "bursty")
    # every third message goes where nobody subscribed: 5.0 says so in its PUBACK (0x10)
    r.send(burst(5, lambda i: "nobody/here" if i % 3 == 0 else f"burst/{i % 2}"))
    acks = [r.packet() for _ in range(BURST)]
    for i, ack in enumerate(acks, 1):
        assert ack is not None and ack[0] == 0x40, ack
        assert int.from_bytes(ack[2:4], "big") == i
        reason = ack[4] if len(ack) > 4 else C.SUCCESS
        assert reason == (C.NO_MATCHING_SUBSCRIBERS if i % 3 == 0 else C.SUCCESS)
    r.send(PINGREQ)
    assert r.packet() == C.PINGRESP_BYTES  # the next packet is the PINGRESP: no extra PUBACK
    got = [sub.get().payload for i in range(1, BURST + 1) if i % 3]
    assert got == [str(i).encode() for i in range(1, BURST + 1) if i % 3]
    assert sub.nothing()


def test_a_subscribe_after_a_burst_in_the_same_read_sees_only_later_messages(
        raw: Callable[[], Raw]) -> None:
    r = connected(raw, 4, "self")
    sub = subscribe_bytes(7, "mine", 1)
    r.send(burst(4, lambda i: "mine", 3) + sub + C.encode_publish(4, "mine", b"after", 1, False, False, 9))
    packets = [r.packet() for _ in range(6)]  # 3 PUBACKs, SUBACK, the delivery, PUBACK 9
    assert packets[:4] == [b"\x40\x02\x00\x01", b"\x40\x02\x00\x02", b"\x40\x02\x00\x03",
                           b"\x90\x03\x00\x07\x01"]
    rest = sorted(packets[4:], key=lambda p: p is not None and p[0] == 0x40)
    assert rest[1] == b"\x40\x02\x00\x09"
    assert rest[0] is not None and rest[0][0] & 0xF0 == 0x30 and rest[0].endswith(b"after")
    r.send(PINGREQ)
    assert r.packet() == C.PINGRESP_BYTES  # the three sent before the SUBSCRIBE never come


def test_messages_acknowledged_in_a_burst_survive_a_crash(tmp_path: Path) -> None:
    srv = spawn_server(tmp_path, "--fsync", "always")
    try:
        port = srv.ports["mqtt"]
        keeper = Client(port, "keeper", 4, clean=False)
        keeper.subscribe("crash/#", qos=1)
        keeper.close()
        r = Raw(port)
        r.send(connect_bytes(4, "pb"))
        assert r.packet() == b"\x20\x02\x00\x00"
        r.send(burst(4, lambda i: f"crash/{i % 5}", 200))
        assert [r.packet() for _ in range(200)] == [b"\x40\x02" + i.to_bytes(2, "big") for i in range(1, 201)]
        srv.kill()  # SIGKILL right after the last PUBACK: no orderly shutdown
        r.close()
    finally:
        srv.stop()
    srv = spawn_server(tmp_path, "--fsync", "always")
    try:
        keeper = Client(srv.ports["mqtt"], "keeper", 4, clean=False)
        try:
            assert keeper.flags.session_present
            got = [keeper.get().payload for _ in range(200)]
            assert got == [str(i).encode() for i in range(1, 201)]
        finally:
            keeper.close()
    finally:
        srv.stop()

