"""MQTT scenarios run against one broker; prints what was observed as JSON (one key a scenario).

Run by scripts/conformance-mqtt.sh against mosquitto and mqlite in the same run, which
prints where the two differ. Each scenario observes the broker's wire answer (raw bytes
for the bad-input cases, decoded facts otherwise), never timings.

Usage: python3 scripts/mqtt_conformance.py PORT [MAX_PACKET]
"""

from __future__ import annotations

import json
import socket
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from mqlite.protocols.mqtt.codec import fixed_header, varint  # noqa: E402 - framing only

PORT = int(sys.argv[1])
MAX_PACKET = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
QUIET = 0.7  # seconds to wait when checking that nothing arrives


def s16(b: bytes) -> bytes:
    return len(b).to_bytes(2, "big") + b


def connect(version: int, cid: str, flags: int = 0x02, keep: int = 60, props: bytes = b"") -> bytes:
    body = s16(b"MQTT") + bytes((version, flags)) + keep.to_bytes(2, "big")
    if version == 5:
        body += varint(len(props)) + props
    body += s16(cid.encode())
    return b"\x10" + varint(len(body)) + body


def publish(version: int, topic: str, payload: bytes, qos: int, pid: int = 1, dup: bool = False) -> bytes:
    body = s16(topic.encode()) + (pid.to_bytes(2, "big") if qos else b"") + (b"\x00" if version == 5 else b"")
    first = 0x30 | (qos << 1) | (0x08 if dup else 0)
    return bytes((first,)) + varint(len(body) + len(payload)) + body + payload


def subscribe(version: int, flt: str, pid: int = 1) -> bytes:
    body = pid.to_bytes(2, "big") + (b"\x00" if version == 5 else b"") + s16(flt.encode()) + b"\x00"
    return b"\x82" + varint(len(body)) + body


class Raw:
    def __init__(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", PORT), timeout=5)
        self.buf = b""

    def send(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    def packet(self, timeout: float = 5) -> str:
        """The next packet as hex, "closed", or "silent" (nothing within the timeout)."""
        self.sock.settimeout(timeout)
        while True:
            head = fixed_header(self.buf) if len(self.buf) >= 2 else None
            if head is not None and len(self.buf) >= head[0] + head[1]:
                out, self.buf = self.buf[:head[0] + head[1]], self.buf[head[0] + head[1]:]
                return out.hex()
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                return "silent"
            except OSError:
                return "closed"
            if not chunk:
                return "closed"
            self.buf += chunk

    def short(self, timeout: float = 5) -> str:
        """The next packet's type and reason byte(s) only (5.0 property blocks differ in text)."""
        p = self.packet(timeout)
        if p in ("closed", "silent"):
            return p
        raw = bytes.fromhex(p)
        kind = raw[0] >> 4
        if kind == 14:  # DISCONNECT: reason code
            return f"DISCONNECT 0x{raw[2]:02X}" if len(raw) > 2 else "DISCONNECT 0x00"
        if kind == 2:
            return f"CONNACK sp={raw[2]} rc=0x{raw[3]:02X}"
        if kind in (4, 5, 6, 7):
            name = {4: "PUBACK", 5: "PUBREC", 6: "PUBREL", 7: "PUBCOMP"}[kind]
            return f"{name} 0x{raw[4]:02X}" if len(raw) > 4 else f"{name} 0x00"
        if kind == 9:
            return "SUBACK " + raw[-1:].hex()
        return p

    def close(self) -> None:
        self.sock.close()


def raw_connected(version: int, cid: str, **kw: Any) -> Raw:
    r = Raw()
    r.send(connect(version, cid, **kw))
    r.packet()
    return r


class Paho:
    def __init__(self, cid: str, version: int = 5, clean: bool = True, props: dict[str, Any] | None = None,
                 will: tuple[Any, ...] | None = None) -> None:
        proto = mqtt.MQTTv5 if version == 5 else mqtt.MQTTv311
        kw: dict[str, Any] = {} if version == 5 else {"clean_session": clean}
        self.c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cid, protocol=proto, **kw)
        self.msgs: list[Any] = []
        self.acks: list[Any] = []
        self.disc: list[Any] = []
        self.c.on_message = lambda c, u, m: self.msgs.append(m)
        self.c.on_connect = lambda c, u, f, rc, p: self.acks.append((f, rc, p))
        self.c.on_disconnect = lambda c, u, f, rc, p: self.disc.append(rc)
        if will:
            self.c.will_set(*will)
        p = None
        if version == 5:
            p = Properties(PacketTypes.CONNECT)
            for k, v in (props or {}).items():
                setattr(p, k, v)
        self.c.connect("127.0.0.1", PORT, clean_start=clean if version == 5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
                       properties=p)
        self.c.loop_start()
        wait(lambda: self.acks)

    def sub(self, flt: str, qos: int = 1, **opts: Any) -> None:
        done: list[Any] = []
        self.c.on_subscribe = lambda c, u, mid, codes, p: done.append(codes)
        if self.c._protocol == mqtt.MQTTv5:  # noqa: SLF001
            self.c.subscribe(flt, options=SubscribeOptions(qos=qos, **opts))
        else:
            self.c.subscribe(flt, qos)
        wait(lambda: done)

    def pub(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        self.c.publish(topic, payload, qos, retain).wait_for_publish(5)

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


def wait(cond: Any, timeout: float = 5) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if cond():
            return True
        time.sleep(0.01)
    return False


def scenarios() -> dict[str, Any]:
    out: dict[str, Any] = {}
    # -- connect -------------------------------------------------------------------------------
    r = Raw()
    r.send(connect(4, "c311"))
    out["connack_v311"] = r.packet()
    r.close()
    r = Raw()
    r.send(connect(6, "c6"))
    out["unsupported_protocol_level"] = [r.short(), r.short()]
    r = Raw()
    r.send(connect(4, "", flags=0x00))
    out["empty_client_id_persistent_v311"] = [r.short(), r.short()]
    r = Raw()
    r.send(b"\xc0\x00")
    out["pingreq_before_connect"] = r.short()
    # -- bad input after CONNECT ---------------------------------------------------------------
    for v in (4, 5):
        tag = "v5" if v == 5 else "v311"
        r = raw_connected(v, f"bad-{tag}")
        r.send(bytes((0x36, 5, 0, 1, 0x74, 0, 1)))
        out[f"publish_qos3_{tag}"] = [r.short(), r.short()]
        r = raw_connected(v, f"second-{tag}")
        r.send(connect(v, f"second-{tag}"))
        out[f"second_connect_{tag}"] = [r.short(), r.short()]
        r = raw_connected(v, f"flt-{tag}")
        codes = []
        for flt in ("a/#/b", "a+/b", "$share/g/a/#/x"):
            r.send(subscribe(v, flt))
            codes.append(r.short())
        out[f"invalid_filters_{tag}"] = codes
        r.close()
        r = raw_connected(v, f"wild-{tag}")
        r.send(publish(v, "a/+", b"x", 1))
        out[f"publish_wildcard_topic_{tag}"] = [r.short(), r.short()]
        r = raw_connected(v, f"big-{tag}")
        r.send(publish(v, "big", b"x" * (MAX_PACKET + 100), 1))
        out[f"packet_too_large_{tag}"] = [r.short(), r.short()]
    r = raw_connected(5, "q2reuse")
    r.send(publish(5, "q2/reuse", b"first", 2, 1))
    first = r.short()
    r.send(publish(5, "q2/reuse", b"second", 2, 1))
    second = r.short()
    r.send(publish(5, "q2/reuse", b"first", 2, 1, dup=True))
    third = r.short()
    r.send(bytes((0x62, 2, 0, 9)))
    out["qos2_pid_reuse_v5"] = [first, second, third, r.short()]
    r.close()
    # -- semantics -------------------------------------------------------------------------------
    sub = Paho("sys-all")
    sub.sub("#")
    pub = Paho("sys-pub")
    pub.pub("$SYS/conformance", b"s")
    pub.pub("plain/topic", b"p")
    wait(lambda: any(m.topic == "plain/topic" for m in sub.msgs))
    out["hash_excludes_sys"] = sorted({m.topic for m in sub.msgs if not m.topic.startswith("$SYS/broker")})
    sub.close()
    reasons: list[Any] = []
    pub.c.on_publish = lambda c, u, mid, rc, p: reasons.append(rc.value)
    pub.c.publish("nobody/listens", b"x", 1).wait_for_publish(5)
    wait(lambda: reasons)
    out["puback_no_subscribers_v5"] = reasons
    pub.pub("conf/retained", b"kept", retain=True)
    late = Paho("late")
    late.sub("conf/#")
    wait(lambda: late.msgs)
    out["retained_on_subscribe"] = [(m.topic, m.payload.decode(), m.retain) for m in late.msgs]
    pub.pub("conf/retained", b"", retain=True)
    late.close()
    a, b = Paho("share-a"), Paho("share-b")
    a.sub("$share/g/jobs/#")
    b.sub("$share/g/jobs/#")
    for i in range(10):
        pub.pub("jobs/x", str(i).encode())
    wait(lambda: len(a.msgs) + len(b.msgs) >= 10)
    time.sleep(QUIET)
    out["shared_each_once"] = sorted(int(m.payload) for m in a.msgs + b.msgs)
    a.close()
    b.close()
    nl = Paho("nolocal")
    nl.sub("nl/t", noLocal=True)
    nl.pub("nl/t", b"own")
    pub.pub("nl/t", b"other")
    wait(lambda: nl.msgs)
    time.sleep(QUIET)
    out["no_local"] = [m.payload.decode() for m in nl.msgs]
    nl.close()
    first = Paho("takeover")
    Paho("takeover").close()
    wait(lambda: first.disc)
    out["takeover_v5_reason"] = [rc.value for rc in first.disc]
    first.c.loop_stop()
    s = Paho("persist", props={"SessionExpiryInterval": 300}, clean=False)
    s.sub("persist/t")
    s.close()
    pub.pub("persist/t", b"queued")
    s = Paho("persist", props={"SessionExpiryInterval": 300}, clean=False)
    wait(lambda: s.msgs)
    out["persistent_session"] = [bool(s.acks[0][0].session_present), [m.payload.decode() for m in s.msgs]]
    s.close()
    Paho("persist", clean=True).close()
    w = Paho("will-watch")
    w.sub("conf/will")
    dev = Paho("will-dev", will=("conf/will", b"lost", 1))
    dev.c.loop_stop()
    dev.c.socket().close()
    wait(lambda: w.msgs)
    out["will_on_abnormal_close"] = [m.payload.decode() for m in w.msgs]
    w.close()
    r = raw_connected(5, "keepalive", keep=1)
    out["keep_alive_timeout_v5"] = [r.short(5), r.short(5)]
    pub.close()
    return out


if __name__ == "__main__":
    print(json.dumps(scenarios(), indent=1, sort_keys=True))
