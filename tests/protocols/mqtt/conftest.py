"""Fixtures for the MQTT front-end tests: a real mqlite server and paho-mqtt clients."""

from __future__ import annotations

import queue
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import hypothesis  # noqa: F401 - imported (and assertion-rewritten) before paho's threads start: CPython
# 3.11.7 can fail rewriting it later in pytest's summary ("AST constructor recursion depth mismatch")
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.packettypes import PacketTypes

from mqlite.protocols.mqtt.codec import fixed_header

WAIT = 10.0


@pytest.fixture
def mqtt_server(mqlite_server_factory: Callable[..., Any]) -> Any:
    """An mqlite server with MQTT and AMQP (Kafka and Redis off)."""
    return mqlite_server_factory(kafka_port=None, redis_port=None)


class Client:
    """A paho-mqtt client on its own network thread; received messages in `messages`."""

    def __init__(self, port: int, client_id: str = "", version: int = 4, clean: bool = True,
                 username: str | None = None, password: str | None = None, will: tuple[Any, ...] | None = None,
                 connect_props: dict[str, Any] | None = None, keepalive: int = 60) -> None:
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        kwargs: dict[str, Any] = {"protocol": proto}
        if version != 5:
            kwargs["clean_session"] = clean
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, **kwargs)
        self.version = version
        self.messages: queue.Queue[Any] = queue.Queue()
        self.connack: queue.Queue[Any] = queue.Queue()
        self.disconnects: queue.Queue[Any] = queue.Queue()
        self.subacks: queue.Queue[Any] = queue.Queue()
        self.c.on_message = lambda c, u, m: self.messages.put(m)
        self.c.on_connect = lambda c, u, f, rc, props: self.connack.put((f, rc, props))
        self.c.on_disconnect = lambda c, u, f, rc, props: self.disconnects.put(rc)
        self.c.on_subscribe = lambda c, u, mid, codes, props: self.subacks.put(codes)
        if username is not None:
            self.c.username_pw_set(username, password)
        if will is not None:
            self.c.will_set(*will)
        props = None
        if version == 5:
            props = Properties(PacketTypes.CONNECT)
            for name, value in (connect_props or {}).items():
                setattr(props, name, value)
        clean_start: Any = clean if version == 5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY
        self.c.connect("127.0.0.1", port, keepalive=keepalive, clean_start=clean_start, properties=props)
        self.c.loop_start()
        self.flags, self.rc, self.props = self.connack.get(timeout=WAIT)

    def subscribe(self, topic: str, qos: int = 0, **opts: Any) -> list[Any]:
        if self.version == 5:
            from paho.mqtt.subscribeoptions import SubscribeOptions

            props = None
            if "sub_id" in opts:
                props = Properties(PacketTypes.SUBSCRIBE)
                props.SubscriptionIdentifier = opts.pop("sub_id")
            self.c.subscribe(topic, options=SubscribeOptions(qos=qos, **opts), properties=props)
        else:
            self.c.subscribe(topic, qos)
        return list(self.subacks.get(timeout=WAIT))

    def publish(self, topic: str, payload: bytes | str, qos: int = 0, retain: bool = False,
                props: dict[str, Any] | None = None) -> Any:
        p = None
        if props:
            p = Properties(PacketTypes.PUBLISH)
            for name, value in props.items():
                setattr(p, name, value)
        info = self.c.publish(topic, payload, qos, retain, properties=p)
        info.wait_for_publish(WAIT)
        return info

    def get(self, timeout: float = WAIT) -> Any:
        return self.messages.get(timeout=timeout)

    def nothing(self, timeout: float = 0.5) -> bool:
        """True when no message arrives within `timeout` (a check of absence, not of time)."""
        try:
            self.messages.get(timeout=timeout)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()

    def drop(self) -> None:
        """Close the socket without DISCONNECT (an abnormal disconnect: the will goes)."""
        self.c.loop_stop()
        sock = self.c.socket()
        if sock is not None:
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def mqtt_client(mqtt_server: Any) -> Iterator[Callable[..., Client]]:
    made: list[Client] = []

    def make(client_id: str = "", version: int = 4, **kw: Any) -> Client:
        c = Client(mqtt_server.mqtt_port, client_id, version, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        try:
            c.close()
        except Exception:  # noqa: BLE001 - already gone
            pass


class Raw:
    """A raw TCP MQTT peer for the bad-input tests: send bytes, read packets back."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def packet(self) -> bytes | None:
        """The next whole packet, or None when the server closed the connection."""
        while True:
            head = fixed_header(self.buf) if len(self.buf) >= 2 else None
            if head is not None and len(self.buf) >= head[0] + head[1]:
                out, self.buf = self.buf[:head[0] + head[1]], self.buf[head[0] + head[1]:]
                return out
            chunk = self.sock.recv(65536)
            if not chunk:
                return None
            self.buf += chunk

    def closed(self) -> bool:
        return self.packet() is None

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def raw(mqtt_server: Any) -> Iterator[Callable[[], Raw]]:
    made: list[Raw] = []

    def make() -> Raw:
        r = Raw(mqtt_server.mqtt_port)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


_ = threading  # paho runs its own threads
