"""Bad input on the wire: the reason code the specification gives, the close where it says
so, nothing stored, every other client unaffected (MQTT 5.0 4.13, 3.1.1 4.8)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from mqlite.protocols.mqtt import codec as C
from tests.protocols.mqtt.conftest import Client, Raw
from tests.protocols.mqtt.test_mqtt_codec import connect_bytes


def subscribe_bytes(pid: int, flt: str, opts: int = 0, v5: bool = False) -> bytes:
    body = pid.to_bytes(2, "big") + (b"\x00" if v5 else b"") + len(flt.encode()).to_bytes(2, "big") + flt.encode()
    return bytes((0x82,)) + C.varint(len(body) + 1) + body + bytes((opts,))


def connected(raw: Callable[[], Raw], version: int, client_id: str = "raw") -> Raw:
    r = raw()
    r.send(connect_bytes(version, client_id))
    ack = r.packet()
    assert ack is not None and ack[0] == 0x20 and ack[3] == 0
    return r


def reason_of_disconnect(packet: bytes | None) -> int | None:
    assert packet is not None and packet[0] == 0xE0, packet
    return packet[2]


@pytest.fixture
def watcher(mqtt_client: Callable[..., Client]) -> Client:
    """A well-behaved subscriber to everything: it must see nothing of the bad input."""
    w = mqtt_client("watcher", 5)
    w.subscribe("#", qos=1)
    return w


def assert_unaffected(watcher: Client, mqtt_client: Callable[..., Client]) -> None:
    assert watcher.nothing()
    pub = mqtt_client("good-pub", 5)
    pub.publish("still/works", b"ok", qos=1)
    assert watcher.get().payload == b"ok"


@pytest.mark.parametrize("version", [4, 5], ids=["v311", "v5"])
def test_malformed_packet_closes_with_malformed_packet(raw: Callable[[], Raw], watcher: Client,
                                                       mqtt_client: Callable[..., Client], version: int) -> None:
    r = connected(raw, version)
    r.send(bytes((0x36, 5, 0, 1, 0x74, 0, 1)))  # PUBLISH with QoS 3
    if version == 5:
        assert reason_of_disconnect(r.packet()) == C.MALFORMED_PACKET
    assert r.closed()
    assert_unaffected(watcher, mqtt_client)


@pytest.mark.parametrize("version", [4, 5], ids=["v311", "v5"])
def test_second_connect_is_a_protocol_error(raw: Callable[[], Raw], version: int) -> None:
    r = connected(raw, version)
    r.send(connect_bytes(version, "raw"))
    if version == 5:
        assert reason_of_disconnect(r.packet()) == C.PROTOCOL_ERROR
    assert r.closed()


def test_first_packet_other_than_connect_closes(raw: Callable[[], Raw]) -> None:
    r = raw()
    r.send(C.PINGRESP_BYTES[:1].replace(b"\xd0", b"\xc0") + b"\x00")  # PINGREQ before CONNECT
    assert r.closed()


def test_unsupported_protocol_level_gets_connack_1_in_311(raw: Callable[[], Raw]) -> None:
    r = raw()
    r.send(connect_bytes(6))
    assert r.packet() == b"\x20\x02\x00\x01"  # MQTT 3.2.2.3: unacceptable protocol version
    assert r.closed()


@pytest.mark.parametrize("version", [4, 5], ids=["v311", "v5"])
def test_invalid_topic_filters_are_refused_in_suback(raw: Callable[[], Raw], version: int) -> None:
    r = connected(raw, version)
    for flt in ("a/#/b", "a+/b", "$share/g/a/#/x"):
        r.send(subscribe_bytes(3, flt, v5=version == 5))
        ack = r.packet()
        assert ack is not None and ack[0] == 0x90
        assert ack[-1] == (0x8F if version == 5 else 0x80)


@pytest.mark.parametrize("version", [4, 5], ids=["v311", "v5"])
def test_publish_to_a_wildcard_topic_closes_and_stores_nothing(raw: Callable[[], Raw], watcher: Client,
                                                               mqtt_client: Callable[..., Client], version: int) -> None:
    r = connected(raw, version)
    r.send(C.encode_publish(version, "a/+", b"x", 1, False, False, 1))
    if version == 5:
        assert reason_of_disconnect(r.packet()) == C.TOPIC_NAME_INVALID
    assert r.closed()
    assert_unaffected(watcher, mqtt_client)


def test_packet_over_the_maximum_is_refused_before_it_is_stored(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(kafka_port=None, redis_port=None, mqtt_max_packet_size=1024)
    w = Client(server.mqtt_port, "w", 5)
    try:
        assert w.props.MaximumPacketSize == 1024
        w.subscribe("#", qos=1)
        r = Raw(server.mqtt_port)
        r.send(connect_bytes(5, "big"))
        assert r.packet() is not None
        r.send(C.encode_publish(5, "big", b"x" * 2000, 1, False, False, 1))
        assert reason_of_disconnect(r.packet()) == C.PACKET_TOO_LARGE
        assert r.closed()
        assert w.nothing()
    finally:
        w.close()


def test_qos2_packet_id_reused_without_release_is_refused_and_not_stored(raw: Callable[[], Raw],
                                                                         watcher: Client) -> None:
    r = connected(raw, 5)
    r.send(C.encode_publish(5, "q2", b"first", 2, False, False, 1))
    assert r.packet() == b"\x50\x02\x00\x01"  # PUBREC
    r.send(C.encode_publish(5, "q2", b"second", 2, False, False, 1))  # same id, not a DUP resend
    ack = r.packet()
    assert ack is not None and ack[0] == 0x50 and ack[4] == C.PACKET_ID_IN_USE
    r.send(C.encode_publish(5, "q2", b"first", 2, False, True, 1))  # a DUP resend: acknowledged, not routed again
    assert r.packet() == b"\x50\x02\x00\x01"
    r.send(C.encode_ack(5, C.PUBREL, 1))
    assert r.packet() == b"\x70\x02\x00\x01"  # PUBCOMP
    r.send(C.encode_ack(5, C.PUBREL, 9))  # never received
    ack = r.packet()
    assert ack is not None and ack[0] == 0x70 and ack[4] == C.PACKET_ID_NOT_FOUND
    assert watcher.get().payload == b"first"
    assert watcher.nothing()


def test_qos2_handshake_survives_a_reconnect_and_a_restart(mqtt_server: Any, raw: Callable[[], Raw],
                                                           mqtt_client: Callable[..., Client]) -> None:
    w = mqtt_client("w", 5)
    w.subscribe("exact", qos=2)
    props = C.encode_props({C.SESSION_EXPIRY: 3600})
    r = raw()
    r.send(connect_bytes(5, "dev", flags=0x00, props=props))
    assert r.packet() is not None
    r.send(C.encode_publish(5, "exact", b"once", 2, False, False, 5))
    assert r.packet() == b"\x50\x02\x00\x05"
    r.close()  # PUBREL never sent
    assert w.get().payload == b"once"
    w.close()
    mqtt_server.restart()
    w = mqtt_client("w2", 5)
    w.subscribe("exact", qos=2)
    r = raw()
    r.send(connect_bytes(5, "dev", flags=0x00, props=props))
    ack = r.packet()
    assert ack is not None and ack[2] == 1  # session present
    r.send(C.encode_publish(5, "exact", b"once", 2, False, True, 5))  # the client resends with DUP
    assert r.packet() == b"\x50\x02\x00\x05"
    r.send(C.encode_ack(5, C.PUBREL, 5))
    assert r.packet() == b"\x70\x02\x00\x05"
    assert w.nothing()  # not routed a second time


def test_bad_credentials_get_bad_user_name_or_password(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(kafka_port=None, redis_port=None, users=("alice:s3cret",))
    for version, expected in ((5, C.BAD_USERNAME_OR_PASSWORD), (4, 4)):
        refused = Client(server.mqtt_port, "x", version, username="alice", password="wrong")
        assert refused.rc.is_failure and refused.rc.value == C.BAD_USERNAME_OR_PASSWORD  # paho maps 3.1.1's 4
        refused.c.loop_stop()
        r = Raw(server.mqtt_port)
        name = b"alice"
        flags = 0xC2
        body = b"\x00\x04MQTT" + bytes((version, flags)) + b"\x00\x3c" + (b"\x00" if version == 5 else b"")
        body += b"\x00\x01y" + len(name).to_bytes(2, "big") + name + b"\x00\x05wrong"
        r.send(bytes((0x10,)) + C.varint(len(body)) + body)
        ack = r.packet()
        assert ack is not None and ack[0] == 0x20 and ack[3] == expected
        assert r.closed()
    ok = Client(server.mqtt_port, "ok", 5, username="alice", password="s3cret")
    assert ok.rc.value == 0
    ok.close()


def test_keep_alive_timeout_closes_a_silent_client(raw: Callable[[], Raw]) -> None:
    r = raw()
    body = b"\x00\x04MQTT\x05\x02\x00\x01\x00\x00\x01k"  # keep alive 1 s, 5.0
    r.send(bytes((0x10,)) + C.varint(len(body)) + body)
    assert r.packet() is not None
    assert reason_of_disconnect(r.packet()) == C.KEEP_ALIVE_TIMEOUT  # after 1.5 s of silence
    assert r.closed()


def test_outbound_qos2_state_survives_a_restart_with_the_same_packet_id(mqtt_server: Any, raw: Callable[[], Raw],
                                                                        mqtt_client: Callable[..., Client]) -> None:
    props = C.encode_props({C.SESSION_EXPIRY: 3600})

    def reconnect() -> Raw:
        r = raw()
        r.send(connect_bytes(5, "q2-sub", flags=0x00, props=props))
        ack = r.packet()
        assert ack is not None and ack[0] == 0x20
        return r

    r = reconnect()
    r.send(subscribe_bytes(1, "out2", opts=2, v5=True))
    assert r.packet() is not None  # SUBACK
    mqtt_client("pub", 5).publish("out2", b"exactly", qos=2)
    first = r.packet()
    assert first is not None and first[0] == 0x34  # PUBLISH QoS 2, DUP 0
    pid = first[8:10]  # after the fixed header, the topic length and "out2"
    r.close()
    mqtt_server.restart()
    r = reconnect()
    again = r.packet()
    assert again is not None and again[0] == 0x3C  # MQTT 4.3.3: the same PUBLISH, DUP 1
    assert again[8:10] == pid and again.endswith(b"exactly")
    r.send(bytes((0x50, 2)) + pid)  # PUBREC
    assert r.packet() == bytes((0x62, 2)) + pid  # PUBREL
    r.close()
    mqtt_server.restart()
    r = reconnect()
    assert r.packet() == bytes((0x62, 2)) + pid  # the PUBREL is sent again after a restart
    r.send(bytes((0x70, 2)) + pid)  # PUBCOMP
    r.send(b"\xc0\x00")  # PINGREQ: nothing else is owed to the client
    assert r.packet() == b"\xd0\x00"


def test_acl_rules_apply_to_publish_and_subscribe(mqlite_server_factory: Callable[..., Any]) -> None:
    server = mqlite_server_factory(kafka_port=None, redis_port=None, users=("boss:pw:admin", "reader:pw"),
                                   acl=("reader:read:router:amq.topic",))
    boss = Client(server.mqtt_port, "boss", 5, username="boss", password="pw")
    reader = Client(server.mqtt_port, "reader", 5, username="reader", password="pw")
    reader3 = Client(server.mqtt_port, "reader3", 4, username="reader", password="pw")
    try:
        assert [c.value for c in reader.subscribe("acl/#", qos=1)] == [1]
        boss.publish("acl/x", b"allowed", qos=1)
        assert reader.get().payload == b"allowed"
        reasons: list[Any] = []
        reader.c.on_publish = lambda c, u, mid, rc, props: reasons.append(rc.value)
        reader.c.publish("acl/x", b"refused", 1).wait_for_publish(10)
        assert reasons == [C.NOT_AUTHORIZED]  # PUBACK 0x87, nothing routed
        reader3.c.publish("acl/x", b"refused", 1)
        assert reader3.disconnects.get(timeout=10) != 0  # 3.1.1 has no PUBACK code: disconnected
        assert reader.nothing()
    finally:
        for c in (boss, reader, reader3):
            c.close()
