"""MQTT 5.0 properties and options with paho-mqtt: expiry, user properties, request/response,
topic aliases, subscription options, identifiers, reason codes, limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from tests.protocols.mqtt.conftest import Client


def test_publish_properties_reach_the_subscriber_unchanged(mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("sub", 5)
    sub.subscribe("req/+", qos=1)
    pub = mqtt_client("pub", 5)
    pub.publish("req/1", b"{}", qos=1, props={
        "UserProperty": [("trace", "abc"), ("trace", "def"), ("k", "v")],
        "ContentType": "application/json", "ResponseTopic": "resp/1", "CorrelationData": b"\x00\xffid",
        "PayloadFormatIndicator": 1, "MessageExpiryInterval": 3600,
    })
    msg = sub.get()
    p = msg.properties
    assert p.UserProperty == [("trace", "abc"), ("trace", "def"), ("k", "v")]  # order and repeats kept
    assert (p.ContentType, p.ResponseTopic, p.CorrelationData) == ("application/json", "resp/1", b"\x00\xffid")
    assert p.PayloadFormatIndicator == 1
    assert 3590 <= p.MessageExpiryInterval <= 3600  # MQTT 3.3.2.3.3: the time left


def test_expired_message_is_not_delivered_to_a_session_that_was_away(mqtt_server: Any,
                                                                     mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("away", 5, clean=False, connect_props={"SessionExpiryInterval": 600})
    sub.subscribe("e", qos=1)
    sub.close()
    pub = mqtt_client("pub", 5)
    pub.publish("e", b"short", qos=1, props={"MessageExpiryInterval": 1})
    pub.publish("e", b"long", qos=1, props={"MessageExpiryInterval": 600})
    import time

    time.sleep(2.2)  # let the first expire while the subscriber is away (not a timed assertion)
    again = mqtt_client("away", 5, clean=False, connect_props={"SessionExpiryInterval": 600})
    assert again.get().payload == b"long"
    assert again.nothing()


def test_topic_alias_from_the_client_is_resolved(mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("sub", 5)
    sub.subscribe("alias/#", qos=1)
    pub = mqtt_client("pub", 5)
    assert pub.props.TopicAliasMaximum > 0
    pub.publish("alias/long/topic/name", b"1", qos=1, props={"TopicAlias": 3})
    pub.publish("", b"2", qos=1, props={"TopicAlias": 3})  # MQTT 3.3.2.3.4: empty topic uses the alias
    assert [(m.topic, m.payload) for m in (sub.get(), sub.get())] == [
        ("alias/long/topic/name", b"1"), ("alias/long/topic/name", b"2")]


def test_no_local_keeps_a_clients_own_messages_from_it(mqtt_client: Callable[..., Client]) -> None:
    c = mqtt_client("self", 5)
    c.subscribe("chat", qos=1, noLocal=True)
    other = mqtt_client("other", 5)
    c.publish("chat", b"mine", qos=1)
    other.publish("chat", b"theirs", qos=1)
    assert c.get().payload == b"theirs"
    assert c.nothing()


def test_retain_as_published_and_retain_handling(mqtt_client: Callable[..., Client]) -> None:
    pub = mqtt_client("pub", 5)
    pub.publish("r/a", b"kept", qos=1, retain=True)
    rap = mqtt_client("rap", 5)
    rap.subscribe("r/#", qos=1, retainAsPublished=True, retainHandling=2)  # 2: no retained on subscribe
    plain = mqtt_client("plain", 5)
    plain.subscribe("r/#", qos=1)  # retain handling 0: retained sent, RETAIN=1
    first = plain.get()
    assert (first.payload, first.retain) == (b"kept", True)
    pub.publish("r/a", b"live", qos=1, retain=True)
    assert plain.get().retain is False  # MQTT 3.3.1.3: a live message has RETAIN 0 by default
    msg = rap.get()
    assert (msg.payload, msg.retain) == (b"live", True)
    once = mqtt_client("once", 5)
    once.subscribe("r/#", qos=1, retainHandling=1)
    assert once.get().payload == b"live"
    once.subscribe("r/#", qos=1, retainHandling=1)  # 1: only for a new subscription
    assert once.nothing()


def test_subscription_identifiers_come_back_with_each_message(mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("sub", 5)
    sub.subscribe("id/+", qos=1, sub_id=7)
    sub.subscribe("id/#", qos=1, sub_id=9)
    pub = mqtt_client("pub", 5)
    pub.publish("id/x", b"1", qos=1)
    msg = sub.get()
    assert sorted(msg.properties.SubscriptionIdentifier) == [7, 9]
    assert sub.nothing()  # overlapping subscriptions: one copy (MQTT 3.3.4)


def test_puback_says_no_matching_subscribers(mqtt_client: Callable[..., Client]) -> None:
    pub = mqtt_client("pub", 5)
    info = pub.c.publish("nobody/here", b"x", 1)
    info.wait_for_publish(10)
    assert info.is_published()
    reasons: list[Any] = []
    pub.c.on_publish = lambda c, u, mid, rc, props: reasons.append(rc)
    pub.c.publish("nobody/here", b"x", 1).wait_for_publish(10)
    assert reasons and reasons[0].value == 0x10


def test_unsubscribe_reason_codes(mqtt_client: Callable[..., Client]) -> None:
    c = mqtt_client("u", 5)
    c.subscribe("a", qos=0)
    got: list[Any] = []
    import threading

    done = threading.Event()
    c.c.on_unsubscribe = lambda cl, u, mid, codes, props: (got.extend(codes), done.set())
    c.c.unsubscribe(["a", "b"])
    assert done.wait(10)
    assert [rc.value for rc in got] == [0x00, 0x11]


def test_session_expiry_zero_ends_the_session_with_the_connection(mqtt_client: Callable[..., Client]) -> None:
    c = mqtt_client("brief", 5, clean=False)  # 5.0: no Session Expiry = 0
    c.subscribe("t", qos=1)
    c.close()
    again = mqtt_client("brief", 5, clean=False)
    assert not again.flags.session_present


def test_receive_maximum_limits_unacknowledged_deliveries(mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("rm", 5, connect_props={"ReceiveMaximum": 2})
    sub.c._manual_ack = True  # noqa: SLF001 - paho 2: nothing acknowledged until ack()
    sub.subscribe("rm", qos=1)
    pub = mqtt_client("pub", 5)
    for i in range(5):
        pub.publish("rm", str(i).encode(), qos=1)
    first = [sub.get(), sub.get()]
    assert sub.nothing()  # two in flight: the server waits
    for m in first:
        sub.c.ack(m.mid, m.qos)
    assert [sub.get().payload, sub.get().payload] == [b"2", b"3"]


def test_maximum_packet_size_of_the_client_drops_larger_messages(mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("small", 5, connect_props={"MaximumPacketSize": 200})
    sub.subscribe("big", qos=1)
    pub = mqtt_client("pub", 5)
    pub.publish("big", b"x" * 500, qos=1)
    pub.publish("big", b"small", qos=1)
    assert sub.get().payload == b"small"  # MQTT 3.1.2.11.4: discarded, not sent


def test_server_disconnect_on_shutdown_says_server_shutting_down(mqtt_server: Any,
                                                                 mqtt_client: Callable[..., Client]) -> None:
    c = mqtt_client("s", 5)
    mqtt_server.stop()
    assert c.disconnects.get(timeout=10) == 0x8B


def test_will_properties_travel_with_the_will(mqtt_client: Callable[..., Client]) -> None:
    watcher = mqtt_client("w", 5)
    watcher.subscribe("lwt", qos=1)
    props = Properties(PacketTypes.WILLMESSAGE)
    props.UserProperty = [("why", "lost")]
    props.ContentType = "text/plain"
    dev = mqtt_client("dev", 5, will=("lwt", b"bye", 1, False, props))
    dev.drop()
    msg = watcher.get()
    assert msg.payload == b"bye"
    assert msg.properties.UserProperty == [("why", "lost")] and msg.properties.ContentType == "text/plain"
