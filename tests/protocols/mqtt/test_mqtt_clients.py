"""aiomqtt, mosquitto's command-line clients (Debian `mosquitto-clients`) and TLS against mqlite."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import threading
from typing import Any

import aiomqtt
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.protocols.mqtt.conftest import Client


def test_aiomqtt_v5_and_v311_publish_subscribe_with_properties(mqtt_server: Any) -> None:
    from paho.mqtt.packettypes import PacketTypes
    from paho.mqtt.properties import Properties

    async def run() -> list[Any]:
        got = []
        async with aiomqtt.Client("127.0.0.1", mqtt_server.mqtt_port, identifier="aio-sub",
                                  protocol=aiomqtt.ProtocolVersion.V5) as sub, \
                aiomqtt.Client("127.0.0.1", mqtt_server.mqtt_port, identifier="aio-pub",
                               protocol=aiomqtt.ProtocolVersion.V311) as pub:
            await sub.subscribe("aio/#", qos=2)
            props = Properties(PacketTypes.PUBLISH)
            props.UserProperty = [("from", "aiomqtt")]
            async with aiomqtt.Client("127.0.0.1", mqtt_server.mqtt_port, identifier="aio-pub5",
                                      protocol=aiomqtt.ProtocolVersion.V5) as pub5:
                await pub5.publish("aio/v5", b"five", qos=2, properties=props)
            await pub.publish("aio/v311", b"three", qos=1)
            async for msg in sub.messages:
                got.append(msg)
                if len(got) == 2:
                    break
        return got

    got = asyncio.run(asyncio.wait_for(run(), 30))
    assert [(str(m.topic), m.payload, m.qos) for m in got] == [("aio/v5", b"five", 2), ("aio/v311", b"three", 1)]
    assert got[0].properties.UserProperty == [("from", "aiomqtt")]


mosquitto = pytest.mark.skipif(shutil.which("mosquitto_pub") is None,
                               reason="mosquitto-clients is not installed (scripts/install-test-deps.sh)")


@mosquitto
@pytest.mark.parametrize("version", ["mqttv311", "mqttv5"])
def test_mosquitto_sub_persistent_session_gets_what_mosquitto_pub_sent_meanwhile(mqtt_server: Any,
                                                                                  version: str) -> None:
    port = str(mqtt_server.mqtt_port)
    common = ["-h", "127.0.0.1", "-p", port, "-V", version]
    session = ["-c", "-i", f"cli-{version}", "-q", "1", "-t", "cli/#"]
    if version == "mqttv5":
        session += ["-x", "3600"]  # Session Expiry Interval
    subprocess.run(["mosquitto_sub", *common, *session, "-E"], check=True, timeout=30)  # subscribe, leave
    for topic, text in (("cli/one", "first"), ("cli/two", "second")):
        subprocess.run(["mosquitto_pub", *common, "-q", "1", "-t", topic, "-m", text], check=True, timeout=30)
    out = subprocess.run(["mosquitto_sub", *common, *session, "-C", "2", "-v"], check=True, timeout=30,
                         capture_output=True, text=True).stdout
    assert out.splitlines() == ["cli/one first", "cli/two second"]


@mosquitto
def test_mosquitto_pub_with_user_properties_and_a_bad_password(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(kafka_port=None, redis_port=None, users=("dev:pw",))
    port = str(server.mqtt_port)
    watcher = Client(server.mqtt_port, "w", 5, username="dev", password="pw")
    try:
        watcher.subscribe("up/#", qos=1)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv5", "-u", "dev", "-P", "pw",
                        "-t", "up/x", "-m", "hi", "-q", "1", "-D", "publish", "user-property", "site", "lab"],
                       check=True, timeout=30)
        msg = watcher.get()
        assert msg.payload == b"hi" and msg.properties.UserProperty == [("site", "lab")]
        bad = subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv311", "-u", "dev",
                              "-P", "nope", "-t", "up/x", "-m", "no"], capture_output=True, text=True, timeout=30)
        assert bad.returncode != 0
        assert "not authorised" in bad.stderr.lower() or "bad user name or password" in bad.stderr.lower()
        assert watcher.nothing()
    finally:
        watcher.close()


@mosquitto
def test_mosquitto_clients_speak_mqtt_31_too(mqtt_server: Any) -> None:
    port = str(mqtt_server.mqtt_port)
    watcher = Client(mqtt_server.mqtt_port, "w31", 4)
    try:
        watcher.subscribe("v31/#", qos=1)
        subprocess.run(["mosquitto_pub", "-h", "127.0.0.1", "-p", port, "-V", "mqttv31", "-q", "1", "-t", "v31/x",
                        "-m", "old"], check=True, timeout=30)
        assert watcher.get().payload == b"old"
    finally:
        watcher.close()


def test_tls_listener_with_paho_and_mosquitto_pub(mqlite_server_factory: Any) -> None:
    server = mqlite_server_factory(tls="auto", kafka_port=None, redis_port=None, users=("dev:pw",))
    ca = str(server.tls_ca_file)
    received: list[Any] = []
    got = threading.Event()
    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="tls-sub", protocol=mqtt.MQTTv5)
    sub.tls_set(ca_certs=ca)
    sub.username_pw_set("dev", "pw")
    sub.on_message = lambda c, u, m: (received.append(m.payload), got.set())
    subscribed = threading.Event()
    sub.on_subscribe = lambda c, u, mid, codes, props: subscribed.set()
    sub.on_connect = lambda c, u, f, rc, props: c.subscribe("secure/#", 1)
    sub.connect("localhost", server.mqtt_port)
    sub.loop_start()
    try:
        assert subscribed.wait(10)
        if shutil.which("mosquitto_pub") is not None:
            subprocess.run(["mosquitto_pub", "-h", "localhost", "-p", str(server.mqtt_port), "--cafile", ca,
                            "-u", "dev", "-P", "pw", "-t", "secure/x", "-m", "sealed", "-q", "1"],
                           check=True, timeout=30)
        else:
            sub.publish("secure/x", b"sealed", 1)
        assert got.wait(10)
        assert received == [b"sealed"]
    finally:
        sub.disconnect()
        sub.loop_stop()
