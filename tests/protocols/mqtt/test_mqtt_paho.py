"""paho-mqtt (3.1.1 and 5.0) against mqlite: QoS, sessions, retained, wills, filters, takeover."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.protocols.mqtt.conftest import Client

VERSIONS = pytest.mark.parametrize("version", [4, 5], ids=["v311", "v5"])


@VERSIONS
@pytest.mark.parametrize("qos", [0, 1, 2])
def test_publish_reaches_a_wildcard_subscriber_at_the_lower_qos(mqtt_client: Callable[..., Client], version: int,
                                                                   qos: int) -> None:
    sub = mqtt_client("sub", version)
    assert [c.value for c in sub.subscribe("sensors/+/temp", qos=1)] == [1]
    pub = mqtt_client("pub", version)
    pub.publish("sensors/kitchen/temp", b"21.5", qos=qos)
    msg = sub.get()
    assert (msg.topic, msg.payload, msg.qos) == ("sensors/kitchen/temp", b"21.5", min(qos, 1))


@VERSIONS
def test_multi_level_wildcard_matches_the_parent_and_not_sys(mqtt_client: Callable[..., Client], version: int) -> None:
    sub = mqtt_client("sub", version)
    sub.subscribe("#", qos=0)
    sys_sub = mqtt_client("sys", version)
    sys_sub.subscribe("$SYS/#", qos=0)
    pub = mqtt_client("pub", version)
    pub.publish("$SYS/broker/x", b"s", qos=1)
    pub.publish("a", b"1", qos=1)
    assert sys_sub.get().topic == "$SYS/broker/x"  # MQTT 4.7.2: `#` does not match `$` topics
    assert sub.get().topic == "a"
    assert sub.nothing()


@VERSIONS
def test_qos2_messages_arrive_exactly_once_in_order(mqtt_client: Callable[..., Client], version: int) -> None:
    sub = mqtt_client("sub", version)
    sub.subscribe("q2", qos=2)
    pub = mqtt_client("pub", version)
    for i in range(50):
        pub.publish("q2", str(i).encode(), qos=2)
    got = [sub.get().payload for _ in range(50)]
    assert got == [str(i).encode() for i in range(50)]
    assert sub.nothing()


@VERSIONS
def test_retained_message_goes_to_later_subscribers_and_survives_a_restart(
        mqtt_server: Any, mqtt_client: Callable[..., Client], version: int) -> None:
    pub = mqtt_client("pub", version)
    pub.publish("status/door", b"open", qos=1, retain=True)
    pub.close()
    mqtt_server.restart()
    sub = mqtt_client("sub", version)
    sub.subscribe("status/#", qos=1)
    msg = sub.get()
    assert (msg.topic, msg.payload, msg.retain) == ("status/door", b"open", True)
    pub = mqtt_client("pub2", version)
    pub.publish("status/door", b"", qos=1, retain=True)  # MQTT 3.3.1.3: empty payload deletes
    assert sub.get().payload == b""
    later = mqtt_client("sub2", version)
    later.subscribe("status/#", qos=1)
    assert later.nothing()


@VERSIONS
def test_will_is_published_on_an_abnormal_disconnect_only(mqtt_client: Callable[..., Client], version: int) -> None:
    watcher = mqtt_client("watch", version)
    watcher.subscribe("wills/#", qos=1)
    polite = mqtt_client("polite", version, will=("wills/polite", b"gone", 1))
    polite.close()
    rude = mqtt_client("rude", version, will=("wills/rude", b"gone", 1))
    rude.drop()
    msg = watcher.get()
    assert (msg.topic, msg.payload) == ("wills/rude", b"gone")
    assert watcher.nothing()


def test_will_delay_is_cancelled_when_the_session_resumes(mqtt_client: Callable[..., Client]) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    watcher = mqtt_client("watch", 5)
    watcher.subscribe("wills/#", qos=1)
    will_props = Properties(PacketTypes.WILLMESSAGE)
    will_props.WillDelayInterval = 3600
    dev = mqtt_client("dev", 5, clean=False, will=("wills/dev", b"gone", 1, False, will_props),
                      connect_props={"SessionExpiryInterval": 3600})
    dev.drop()
    again = mqtt_client("dev", 5, clean=False, connect_props={"SessionExpiryInterval": 3600})
    assert again.flags.session_present
    assert watcher.nothing()
    # a will with a short delay does go after the delay, once the session is not resumed
    will_props.WillDelayInterval = 1
    short = mqtt_client("dev2", 5, clean=False, will=("wills/dev2", b"late", 1, False, will_props),
                        connect_props={"SessionExpiryInterval": 3600})
    short.drop()
    assert watcher.get().payload == b"late"


@VERSIONS
def test_persistent_session_keeps_subscriptions_and_queued_messages_across_a_restart(
        mqtt_server: Any, mqtt_client: Callable[..., Client], version: int) -> None:
    props = {"SessionExpiryInterval": 3600} if version == 5 else None
    sub = mqtt_client("durable", version, clean=False, connect_props=props)
    sub.subscribe("orders/#", qos=1)
    sub.close()
    pub = mqtt_client("pub", version)
    for i in range(3):
        pub.publish("orders/new", f"o{i}".encode(), qos=1)
    pub.close()
    mqtt_server.restart()
    again = mqtt_client("durable", version, clean=False, connect_props=props)
    assert again.flags.session_present
    assert [again.get().payload for _ in range(3)] == [b"o0", b"o1", b"o2"]


@VERSIONS
def test_clean_session_discards_the_previous_session(mqtt_client: Callable[..., Client], version: int) -> None:
    props = {"SessionExpiryInterval": 3600} if version == 5 else None
    sub = mqtt_client("c", version, clean=False, connect_props=props)
    sub.subscribe("x", qos=1)
    sub.close()
    pub = mqtt_client("pub", version)
    pub.publish("x", b"queued", qos=1)
    fresh = mqtt_client("c", version, clean=True)
    assert not fresh.flags.session_present
    assert fresh.nothing()


@VERSIONS
def test_session_takeover_disconnects_the_older_connection(mqtt_client: Callable[..., Client], version: int) -> None:
    first = mqtt_client("same", version)
    mqtt_client("same", version)
    rc = first.disconnects.get(timeout=10)
    if version == 5:
        assert rc == 0x8E  # Session taken over
    else:
        assert rc != 0


@VERSIONS
def test_shared_subscription_gives_each_message_to_one_member(mqtt_client: Callable[..., Client], version: int) -> None:
    a = mqtt_client("a", version)
    b = mqtt_client("b", version)
    a.subscribe("$share/workers/jobs/+", qos=1)
    b.subscribe("$share/workers/jobs/+", qos=1)
    pub = mqtt_client("pub", version)
    for i in range(20):
        pub.publish("jobs/x", str(i).encode(), qos=1)
    got = []
    while len(got) < 20:
        for c in (a, b):
            while not c.messages.empty():
                got.append(c.messages.get().payload)
        if len(got) < 20:
            try:
                got.append(a.messages.get(timeout=0.2).payload)
            except Exception:  # noqa: BLE001
                pass
    assert sorted(got, key=int) == [str(i).encode() for i in range(20)]
    assert a.nothing(0.3) and b.nothing(0.3)


def test_inflight_qos1_is_redelivered_after_a_reconnect_with_dup(mqtt_server: Any, mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("slow", 4, clean=False)
    sub.subscribe("r", qos=1)
    sub.c._manual_ack = True  # noqa: SLF001 - paho 2's manual-ack switch: never acknowledged
    pub = mqtt_client("pub", 4)
    pub.publish("r", b"m1", qos=1)
    pub.publish("r", b"m1b", qos=1)
    assert sorted([sub.get().payload, sub.get().payload]) == [b"m1", b"m1b"]
    sub.drop()
    again = mqtt_client("slow", 4, clean=False)
    msgs = [again.get(), again.get()]
    assert sorted(m.payload for m in msgs) == [b"m1", b"m1b"]
    assert all(m.dup for m in msgs)


def test_reset_ends_sessions_and_retained_and_mqtt_keeps_serving(mqtt_server: Any,
                                                                 mqtt_client: Callable[..., Client]) -> None:
    from mqlite.core.reset import reset

    old = mqtt_client("before", 5, clean=False, connect_props={"SessionExpiryInterval": 3600})
    old.subscribe("r/#", qos=1)
    old.publish("r/kept", b"retained", qos=1, retain=True)
    assert old.get().payload == b"retained"
    mqtt_server.call(lambda: reset(mqtt_server.core))
    assert old.disconnects.get(timeout=10) is not None
    sub = mqtt_client("after", 5)
    sub.subscribe("r/#", qos=1)
    assert sub.nothing()  # the retained message went with the reset
    mqtt_client("pub", 5).publish("r/new", b"fresh", qos=1)
    assert sub.get().payload == b"fresh"
    again = mqtt_client("before", 5, clean=False, connect_props={"SessionExpiryInterval": 3600})
    assert not again.flags.session_present
