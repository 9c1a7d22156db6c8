"""The MQTT codec and topic rules: bytes in, packets out (MQTT 3.1.1 and 5.0 sections cited)."""

from __future__ import annotations

import pytest

from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt import topics


def connect_bytes(version: int = 4, client_id: str = "c1", flags: int = 0x02, props: bytes = b"",
                  tail: bytes = b"") -> bytes:
    name = b"MQTT"
    body = len(name).to_bytes(2, "big") + name + bytes((version, flags)) + (60).to_bytes(2, "big")
    if version == 5:
        body += C.varint(len(props)) + props
    body += len(client_id).to_bytes(2, "big") + client_id.encode() + tail
    return bytes((0x10,)) + C.varint(len(body)) + body


def test_connect_311_decodes_client_id_clean_session_and_keep_alive() -> None:
    p = C.Parser()
    [pkt] = p.feed(connect_bytes())
    assert isinstance(pkt, C.Connect)
    assert (pkt.version, pkt.client_id, pkt.clean, pkt.keep_alive) == (4, "c1", True, 60)
    assert p.version == 4


def test_connect_5_reads_properties_and_switches_the_parser_to_5() -> None:
    props = C.encode_props({C.SESSION_EXPIRY: 300, C.RECEIVE_MAXIMUM: 10, C.USER_PROPERTY: [("a", "1"), ("a", "2")]})
    p = C.Parser()
    [pkt] = p.feed(connect_bytes(5, props=props))
    assert pkt.props == {C.SESSION_EXPIRY: 300, C.RECEIVE_MAXIMUM: 10, C.USER_PROPERTY: [("a", "1"), ("a", "2")]}
    assert p.version == 5


def test_packets_split_anywhere_decode_the_same() -> None:
    data = connect_bytes() + C.encode_publish(4, "a/b", b"x" * 300, 1, False, False, 7)
    data = bytes((data[0] & 0xF0 | 0,)) + data[1:]
    for cut in range(1, len(data)):
        p = C.Parser()
        out = p.feed(data[:cut]) + p.feed(data[cut:])
        assert [type(x) for x in out] == [C.Connect, C.Publish]
        assert out[1].payload == b"x" * 300 and out[1].packet_id == 7


def test_publish_5_keeps_raw_properties_and_payload() -> None:
    p = C.Parser()
    p.feed(connect_bytes(5))
    raw = C.encode_props({C.CONTENT_TYPE: "text/plain", C.CORRELATION_DATA: b"\x00\x01"})
    [pub] = p.feed(C.encode_publish(5, "t", b"body", 2, True, False, 9, raw))
    assert (pub.topic, pub.payload, pub.qos, pub.retain, pub.packet_id) == ("t", b"body", 2, True, 9)
    assert pub.props == {C.CONTENT_TYPE: "text/plain", C.CORRELATION_DATA: b"\x00\x01"}
    assert C.decode_props(pub.raw_props) == pub.props


@pytest.mark.parametrize("data, reason", [
    (bytes((0x36, 3, 0, 1, 0x74)), C.MALFORMED_PACKET),  # PUBLISH QoS 3 (3.3.1.2)
    (bytes((0x82, 5, 0, 1, 0, 1, 0x61)), C.MALFORMED_PACKET),  # SUBSCRIBE without options byte
    (bytes((0x80, 6, 0, 1, 0, 1, 0x61, 0)), C.MALFORMED_PACKET),  # SUBSCRIBE flags not 0010 (3.8.1)
    (bytes((0x62, 1, 0)), C.MALFORMED_PACKET),  # PUBREL cut short
    (bytes((0x20, 2, 0, 0)), C.PROTOCOL_ERROR),  # CONNACK is not a client packet
    (bytes((0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F)), C.MALFORMED_PACKET),  # 5-byte remaining length
    (bytes((0x30, 4, 0, 2, 0xC3, 0x28)), C.MALFORMED_PACKET),  # topic not UTF-8 (1.5.4)
    (bytes((0x30, 4, 0, 2, 0x61, 0x00)), C.MALFORMED_PACKET),  # topic with U+0000
])
def test_malformed_packets_raise_the_reason_code(data: bytes, reason: int) -> None:
    p = C.Parser()
    p.feed(connect_bytes())
    with pytest.raises(C.MqttError) as err:
        p.feed(data)
    assert err.value.reason == reason


def test_connect_reserved_flag_and_will_flags_without_will_are_malformed() -> None:
    for flags in (0x03, 0x12, 0x22):
        with pytest.raises(C.MqttError) as err:
            C.Parser().feed(connect_bytes(flags=flags))
        assert err.value.reason == C.MALFORMED_PACKET


def test_unknown_protocol_level_is_unsupported_version() -> None:
    with pytest.raises(C.MqttError) as err:
        C.Parser().feed(connect_bytes(version=6))
    assert err.value.reason == C.UNSUPPORTED_PROTOCOL_VERSION


def test_packet_over_the_maximum_fails_on_its_header_before_the_body_arrives() -> None:
    p = C.Parser(max_packet=100)
    with pytest.raises(C.MqttError) as err:
        p.feed(bytes((0x30,)) + C.varint(1000))
    assert err.value.reason == C.PACKET_TOO_LARGE


def test_property_twice_and_property_in_the_wrong_packet_are_protocol_errors() -> None:
    p = C.Parser()
    p.feed(connect_bytes(5))
    twice = C.varint(C.CONTENT_TYPE) + b"\x00\x01a" + C.varint(C.CONTENT_TYPE) + b"\x00\x01b"
    with pytest.raises(C.MqttError) as err:
        p.feed(C.encode_publish(5, "t", b"", 0, False, False, None, twice))
    assert err.value.reason == C.PROTOCOL_ERROR
    wrong = C.encode_props({C.SESSION_EXPIRY: 1})
    with pytest.raises(C.MqttError) as err:
        p.feed(C.encode_publish(5, "t", b"", 0, False, False, None, wrong))
    assert err.value.reason == C.PROTOCOL_ERROR


def test_server_packets_encode_as_the_specification_draws_them() -> None:
    assert C.encode_connack(4, True, 0) == b"\x20\x02\x01\x00"
    assert C.encode_connack(5, False, 0x86) == b"\x20\x03\x00\x86\x00"
    assert C.encode_ack(4, C.PUBREL, 5) == b"\x62\x02\x00\x05"
    assert C.encode_ack(5, C.PUBACK, 5) == b"\x40\x02\x00\x05"  # 3.4.2.1: short form on success
    assert C.encode_ack(5, C.PUBACK, 5, C.NO_MATCHING_SUBSCRIBERS) == b"\x40\x03\x00\x05\x10"
    assert C.encode_suback(4, 1, [0, 0x80]) == b"\x90\x04\x00\x01\x00\x80"
    assert C.encode_unsuback(4, 2, []) == b"\xb0\x02\x00\x02"
    assert C.encode_disconnect(0x8E) == b"\xe0\x02\x8e\x00"


@pytest.mark.parametrize("flt, ok", [
    ("a/b", True), ("a/+/c", True), ("#", True), ("a/#", True), ("+", True), ("a//b", True), ("/a", True),
    ("a/#/b", False), ("a/b#", False), ("a+/b", False), ("", False), ("a/+b", False),
])
def test_topic_filter_rules(flt: str, ok: bool) -> None:  # MQTT 4.7.1
    assert topics.valid_filter(flt) is ok


@pytest.mark.parametrize("flt, topic, ok", [
    ("a/+/c", "a/b/c", True), ("a/+/c", "a/b/d", False), ("a/#", "a", True), ("a/#", "a/b/c", True),
    ("#", "$SYS/broker", False), ("+/broker", "$SYS/broker", False), ("$SYS/#", "$SYS/broker", True),
    ("a/+", "a/", True), ("+", "/a", False), ("a/b", "a/b/c", False),
])
def test_topic_matching(flt: str, topic: str, ok: bool) -> None:  # MQTT 4.7.1-4.7.2
    assert topics.matches(flt, topic) is ok


def test_amq_topic_mapping_is_rabbitmqs() -> None:
    assert topics.to_routing_key("a/b/c") == "a.b.c"
    assert topics.to_routing_key("a/+/#") == "a.*.#"
    assert topics.to_routing_key("v1.0/x") == "v1/0.x"
    assert topics.from_routing_key("v1/0.x") == "v1.0/x"


def test_shared_subscription_names() -> None:
    assert topics.split_shared("$share/g1/a/+") == ("g1", "a/+")
    assert topics.split_shared("a/b") == (None, "a/b")
    for bad in ("$share/g1", "$share//a", "$share/g+/a", "$share/g/a/#/b"):
        with pytest.raises(ValueError):
            topics.split_shared(bad)
