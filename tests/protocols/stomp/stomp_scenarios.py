"""STOMP scenarios driven with real clients (stomp.py for STOMP, pika for AMQP), run the
same way against mqlite (test_stomp_py.py beside it asserts the results)
and RabbitMQ's STOMP plugin (scripts/conformance-stomp.sh prints the differences).

`python3 stomp_scenarios.py STOMP_PORT AMQP_PORT [NAME...]` prints one JSON object:
scenario name -> what the clients saw (bodies, headers, counts, ERROR texts), with the
values that differ per run by nature (session ids, generated queue names) normalised.
Every wait is for an event (a frame, a receipt, a closed socket), bounded by `WAIT`.
"""

from __future__ import annotations

import json
import queue
import socket
import sys
import uuid
from collections.abc import Callable
from typing import Any

import pika
import stomp

WAIT = 20.0
HOST = "127.0.0.1"


class Collector(stomp.ConnectionListener):  # type: ignore[misc]
    """Frames a stomp.py connection received, in order, for a test to wait on."""

    def __init__(self) -> None:
        self.frames: queue.Queue[tuple[str, Any]] = queue.Queue()
        self.receipts: set[str] = set()
        self.receipt_seen: queue.Queue[str] = queue.Queue()

    def on_message(self, frame: Any) -> None:
        self.frames.put(("MESSAGE", frame))

    def on_error(self, frame: Any) -> None:
        self.frames.put(("ERROR", frame))

    def on_receipt(self, frame: Any) -> None:
        self.receipt_seen.put(frame.headers["receipt-id"])

    def on_disconnected(self) -> None:
        self.frames.put(("DISCONNECTED", None))

    def next(self, kind: str = "MESSAGE") -> Any:
        got, frame = self.frames.get(timeout=WAIT)
        if got != kind:
            raise AssertionError(f"expected {kind}, got {got}: {getattr(frame, 'headers', None)} {getattr(frame, 'body', None)}")
        return frame

    def receipt(self, rid: str) -> None:
        while rid not in self.receipts:
            self.receipts.add(self.receipt_seen.get(timeout=WAIT))


class Env:
    """Ports of the broker under test and the connections a scenario opened."""

    def __init__(self, stomp_port: int, amqp_port: int) -> None:
        self.stomp_port = stomp_port
        self.amqp_port = amqp_port
        self.opened: list[Any] = []
        self.run = uuid.uuid4().hex[:8]  # unique names: scenarios can run twice on one broker

    def name(self, base: str) -> str:
        return f"{base}-{self.run}"

    def stomp(self, version: str = "1.2", **kw: Any) -> tuple[Any, Collector]:
        cls = {"1.0": stomp.Connection10, "1.1": stomp.Connection11, "1.2": stomp.Connection12}[version]
        if version != "1.0":
            kw.setdefault("vhost", "/")
        conn = cls([(HOST, self.stomp_port)], **kw)
        listener = Collector()
        conn.set_listener("c", listener)
        conn.connect("guest", "guest", wait=True)
        self.opened.append(conn)
        return conn, listener

    def pika(self) -> Any:
        conn = pika.BlockingConnection(pika.ConnectionParameters(HOST, self.amqp_port))
        self.opened.append(conn)
        return conn.channel()

    def close(self) -> None:
        for conn in self.opened:
            try:
                if isinstance(conn, pika.BlockingConnection):
                    if conn.is_open:
                        conn.close()
                elif conn.is_connected():
                    conn.disconnect()
            except Exception:  # noqa: BLE001 - teardown of a connection the scenario broke
                pass


def _depth(ch: Any, name: str) -> int:
    return int(ch.queue_declare(name, passive=True).method.message_count)


def _msg(frame: Any, *names: str) -> dict[str, Any]:
    out = {"body": frame.body}
    out.update({n: frame.headers.get(n) for n in names})
    return out


# -- scenarios --------------------------------------------------------------------------
def queue_roundtrip(env: Env) -> dict[str, Any]:
    """Each version: SEND with a receipt, SUBSCRIBE ack:auto, headers round-trip."""
    out = {}
    for version in ("1.0", "1.1", "1.2"):
        conn, seen = env.stomp(version)
        dest = f"/queue/{env.name('rt' + version)}"
        conn.send(dest, "hello " + version, content_type="text/plain", headers={"custom": "a:b\\c", "receipt": "r1"})
        seen.receipt("r1")
        conn.subscribe(dest, id="s1", ack="auto")
        frame = seen.next()
        out[version] = _msg(frame, "subscription", "content-type", "custom", "redelivered")
        out[version]["destination_ok"] = frame.headers["destination"] == dest
        out[version]["has_ack_header"] = "ack" in frame.headers
    return out


def client_ack_cumulative(env: Env) -> dict[str, Any]:
    """ack:client: ACK of the 2nd of 3 acknowledges the 1st too; the 3rd comes back."""
    ch = env.pika()
    q = env.name("cum")
    conn, seen = env.stomp("1.2")
    for i in range(3):
        conn.send(f"/queue/{q}", f"m{i}", headers={"receipt": f"r{i}"})
    seen.receipt("r2")
    conn.subscribe(f"/queue/{q}", id="s", ack="client")
    frames = [seen.next() for _ in range(3)]
    conn.ack(frames[1].headers["ack"], receipt="a1")
    seen.receipt("a1")
    conn.disconnect(receipt="bye")
    conn2, seen2 = env.stomp("1.2")
    conn2.subscribe(f"/queue/{q}", id="s", ack="client-individual")
    again = seen2.next()
    conn2.ack(again.headers["ack"], receipt="a2")
    seen2.receipt("a2")
    return {"first": [f.body for f in frames], "redelivered": _msg(again, "redelivered"), "left": _depth(ch, q)}


def client_individual_and_nack(env: Env) -> dict[str, Any]:
    """client-individual (1.1, ACK by message-id + subscription); NACK requeues by default,
    `requeue:false` drops (no dead-letter exchange)."""
    ch = env.pika()
    q = env.name("ind")
    conn, seen = env.stomp("1.1")
    for i in range(3):
        conn.send(f"/queue/{q}", f"m{i}", headers={"receipt": f"r{i}"})
    seen.receipt("r2")
    conn.subscribe(f"/queue/{q}", id="s", ack="client-individual")
    frames = [seen.next() for _ in range(3)]
    conn.ack(frames[0].headers["message-id"], "s", receipt="a0")
    conn.ack(frames[2].headers["message-id"], "s", receipt="a2")
    conn.nack(frames[1].headers["message-id"], "s", receipt="n1")
    seen.receipt("n1")
    again = seen.next()
    conn.nack(again.headers["message-id"], "s", receipt="n2", requeue="false")
    seen.receipt("n2")
    return {"first": [f.body for f in frames], "requeued": _msg(again, "redelivered"), "left": _depth(ch, q)}


def version_10_ack(env: Env) -> dict[str, Any]:
    """STOMP 1.0: ACK by message-id; an unacked message returns after disconnect."""
    ch = env.pika()
    q = env.name("v10")
    conn, seen = env.stomp("1.0")
    conn.send(f"/queue/{q}", "one", headers={"receipt": "r"})
    seen.receipt("r")
    conn.subscribe(f"/queue/{q}", id="s", ack="client")
    frame = seen.next()
    conn.disconnect(receipt="bye")
    conn2, seen2 = env.stomp("1.0")
    conn2.subscribe(f"/queue/{q}", id="s", ack="client")
    again = seen2.next()
    conn2.ack(again.headers["message-id"], receipt="a")
    seen2.receipt("a")
    return {"first": frame.body, "again": _msg(again, "redelivered"), "left": _depth(ch, q)}


def transactions(env: Env) -> dict[str, Any]:
    """BEGIN/SEND/ABORT stores nothing; BEGIN/SEND/SEND/COMMIT stores both, in order."""
    ch = env.pika()
    q = env.name("tx")
    ch.queue_declare(q, durable=True)
    conn, seen = env.stomp("1.2")
    conn.begin("t1")
    conn.send(f"/queue/{q}", "aborted", transaction="t1")
    conn.begin("probe", headers={"receipt": "s0"})  # frames are handled in order
    seen.receipt("s0")
    held = _depth(ch, q)
    conn.abort("probe")
    conn.abort("t1")
    conn.begin("t2")
    conn.send(f"/queue/{q}", "c1", transaction="t2")
    conn.send(f"/queue/{q}", "c2", transaction="t2")
    conn.commit("t2", headers={"receipt": "c"})
    seen.receipt("c")
    bodies = []
    for _ in range(2):
        _, _, body = ch.basic_get(q, auto_ack=True)
        bodies.append(body.decode() if body else None)
    return {"held_during_tx": held, "committed": bodies, "left": _depth(ch, q)}


def topic_crossing(env: Env) -> dict[str, Any]:
    """STOMP /topic/ <-> AMQP amq.topic, both ways, with patterns."""
    ch = env.pika()
    key = env.name("orders")
    conn, seen = env.stomp("1.2")
    conn.subscribe(f"/topic/{key}.*", id="t", ack="auto", headers={"receipt": "sub"})
    seen.receipt("sub")
    ch.basic_publish("amq.topic", f"{key}.eu", b"from pika",
                     pika.BasicProperties(content_type="application/json", headers={"region": "eu", "n": 7}))
    got = seen.next()
    amqp_q = ch.queue_declare("", exclusive=True).method.queue
    ch.queue_bind(amqp_q, "amq.topic", f"{key}.#")
    conn.send(f"/topic/{key}.us.west", "from stomp", content_type="text/plain",
              headers={"persistent": "true", "priority": "3", "correlation-id": "c9", "x-custom": "v",
                       "receipt": "snd"})
    seen.receipt("snd")
    method, props, body = ch.basic_get(amqp_q, auto_ack=True)
    return {
        "stomp_got": _msg(got, "destination", "content-type", "region", "n", "subscription"),
        "amqp_got": {"body": body.decode(), "exchange": method.exchange, "routing_key": method.routing_key,
                     "content_type": props.content_type, "delivery_mode": props.delivery_mode,
                     "priority": props.priority, "correlation_id": props.correlation_id,
                     "headers": props.headers},
    }


def exchange_and_properties(env: Env) -> dict[str, Any]:
    """/exchange/<name>/<key>: pika's properties become STOMP headers."""
    ch = env.pika()
    ex = env.name("ex")
    ch.exchange_declare(ex, "direct")
    conn, seen = env.stomp("1.2")
    conn.subscribe(f"/exchange/{ex}/k1", id="e", ack="auto", headers={"receipt": "sub"})
    seen.receipt("sub")
    props = pika.BasicProperties(content_type="text/plain", content_encoding="utf-8", correlation_id="corr",
                                 reply_to="replies", expiration="60000", message_id="mid-1", type="order",
                                 app_id="app", priority=4, delivery_mode=2, timestamp=1700000000,
                                 headers={"s": "text", "i": 42, "b": True})
    ch.basic_publish(ex, "k1", b"props", props)
    got = seen.next()
    names = ("destination", "content-type", "content-encoding", "correlation-id", "reply-to", "expiration",
             "amqp-message-id", "type", "app-id", "priority", "persistent", "timestamp", "s", "i", "b")
    conn.send(f"/exchange/{ex}/k1", "to exchange", headers={"receipt": "snd"})
    seen.receipt("snd")
    back = seen.next()
    return {"got": _msg(got, *names), "stomp_to_stomp": _msg(back, "destination")}


def amq_queue_crossing(env: Env) -> dict[str, Any]:
    """/amq/queue/ names a queue AMQP declared (not declared by STOMP)."""
    ch = env.pika()
    q = env.name("amq")
    ch.queue_declare(q, durable=False)
    conn, seen = env.stomp("1.2")
    conn.send(f"/amq/queue/{q}", "to amqp", headers={"app": "x", "receipt": "r"})
    seen.receipt("r")
    method, props, body = ch.basic_get(q, auto_ack=True)
    ch.basic_publish("", q, b"to stomp", pika.BasicProperties(headers={"from": "pika"}))
    conn.subscribe(f"/amq/queue/{q}", id="a", ack="client-individual")
    got = seen.next()
    conn.ack(got.headers["ack"], receipt="ack")
    seen.receipt("ack")
    return {"amqp_got": {"body": body.decode(), "headers": props.headers, "routing_key": method.routing_key},
            "stomp_got": _msg(got, "destination", "from")}


def temp_queue_reply(env: Env) -> dict[str, Any]:
    """reply-to:/temp-queue/<id>: an AMQP responder answers to the generated queue."""
    ch = env.pika()
    q = env.name("rpc")
    ch.queue_declare(q, durable=True)  # SEND /queue/ declares durable: it must be equivalent
    conn, seen = env.stomp("1.2")
    conn.send(f"/queue/{q}", "ping", headers={"reply-to": "/temp-queue/r1", "correlation-id": "c1",
                                              "receipt": "r"})
    seen.receipt("r")
    _, props, body = ch.basic_get(q, auto_ack=True)
    ch.basic_publish("", props.reply_to, b"pong:" + body, pika.BasicProperties(correlation_id=props.correlation_id))
    got = seen.next()
    return {"reply_to_prefix": props.reply_to.split("-")[0], "reply": _msg(got, "subscription", "correlation-id"),
            "destination_is_reply_queue": got.headers["destination"] == "/queue/" + props.reply_to}


def inequivalent_queue(env: Env) -> dict[str, Any]:
    """SEND /queue/q declares q durable: a transient q made by AMQP is a 406 (RabbitMQ)."""
    ch = env.pika()
    q = env.name("transient")
    ch.queue_declare(q, durable=False)
    return _raw(env, [f"SEND\ndestination:/queue/{q}\n\nx\x00".encode()])


def durable_topic_subscription(env: Env) -> dict[str, Any]:
    """durable:true with an id (and auto-delete:false) keeps the subscription's queue
    while the subscriber is away."""
    key = env.name("dur")
    headers = {"durable": "true", "auto-delete": "false", "receipt": "sub"}
    conn, seen = env.stomp("1.2")
    conn.subscribe(f"/topic/{key}", id="d1", ack="client-individual", headers=headers)
    seen.receipt("sub")
    conn.disconnect(receipt="bye")
    pub, pseen = env.stomp("1.2")
    pub.send(f"/topic/{key}", "while away", headers={"receipt": "p"})
    pseen.receipt("p")
    conn2, seen2 = env.stomp("1.2")
    conn2.subscribe(f"/topic/{key}", id="d1", ack="client-individual", headers=headers)
    got = seen2.next()
    conn2.ack(got.headers["ack"])
    conn2.unsubscribe("d1", headers={"durable": "true", "receipt": "u"})
    seen2.receipt("u")
    ch = env.pika()
    try:
        ch.queue_declare(f"stomp-subscription-{key}", passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        gone = exc.reply_code
    else:
        gone = 200
    return {"got": _msg(got, "destination", "subscription"), "probe_unrelated_queue": gone}


def heartbeats(env: Env) -> dict[str, Any]:
    """CONNECTED heart-beat values, server heart-beats arriving, a silent client closed."""
    sock = socket.create_connection((HOST, env.stomp_port), timeout=WAIT)
    sock.sendall(b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\nhost:/\nheart-beat:1000,1000\n\n\x00")
    data = b""
    while b"\x00" not in data:
        data += sock.recv(4096)
    head = data.split(b"\x00")[0].decode()
    beats = 0
    closed = False
    while True:  # the server beats every second and closes us (we never beat)
        try:
            chunk = sock.recv(4096)
        except (ConnectionResetError, TimeoutError):
            closed = True
            break
        if not chunk:
            closed = True
            break
        beats += chunk.count(b"\n")
    sock.close()
    hb = [line for line in head.splitlines() if line.startswith("heart-beat:")]
    return {"connected_heart_beat": hb, "got_heart_beats": beats > 0, "silent_client_closed": closed}


def _raw(env: Env, frames: list[bytes], connect: bool = True) -> dict[str, Any]:
    """Send raw frames; the ERROR frame that came back and whether the server closed."""
    sock = socket.create_connection((HOST, env.stomp_port), timeout=WAIT)
    if connect:
        sock.sendall(b"CONNECT\naccept-version:1.0,1.1,1.2\nlogin:guest\npasscode:guest\nhost:/\n\n\x00")
        data = b""
        while b"\x00" not in data:
            data += sock.recv(4096)
    for f in frames:
        sock.sendall(f)
    data = b""
    closed = False
    sock.settimeout(WAIT if not connect else 2.0)  # RabbitMQ keeps some connections open
    try:
        while b"\x00" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                closed = True
                break
            data += chunk
        if not closed:
            sock.settimeout(2.0)
            closed = sock.recv(4096) == b""
    except (TimeoutError, ConnectionResetError) as exc:
        closed = isinstance(exc, ConnectionResetError)
    sock.close()
    frame = data.split(b"\x00")[0].decode("utf-8", "replace").lstrip("\n")
    lines = frame.split("\n\n", 1)
    headers = dict(line.split(":", 1) for line in lines[0].split("\n")[1:] if ":" in line)
    return {"command": lines[0].split("\n")[0] or None, "message": headers.get("message"),
            "body": lines[1] if len(lines) > 1 else None, "closed": closed}


BAD_FRAMES: dict[str, tuple[list[bytes], bool]] = {
    "not_logged_in": ([b"SEND\ndestination:/queue/a\n\nx\x00"], False),
    "bad_login": ([b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:nope\nhost:/\n\n\x00"], False),
    "unknown_vhost": ([b"CONNECT\naccept-version:1.2\nlogin:guest\npasscode:guest\nhost:nohost\n\n\x00"], False),
    "version_mismatch": ([b"CONNECT\naccept-version:2.0\nlogin:guest\npasscode:guest\n\n\x00"], False),
    "unknown_destination": ([b"SEND\ndestination:/foo/a\n\nx\x00"], True),
    "missing_destination": ([b"SEND\n\nx\x00"], True),
    "blank_queue": ([b"SEND\ndestination:/queue/\n\nx\x00"], True),
    "temp_queue_send": ([b"SEND\ndestination:/temp-queue/x\n\nx\x00"], True),
    "message_id_on_send": ([b"SEND\ndestination:/queue/a\nmessage-id:1\n\nx\x00"], True),
    "no_such_exchange": ([b"SEND\ndestination:/exchange/nope-x/k\n\nx\x00"], True),
    "no_such_amq_queue": ([b"SUBSCRIBE\nid:1\ndestination:/amq/queue/nope-q\n\n\x00"], True),
    "bad_command": ([b"FOO\n\n\x00"], True),
    "ack_missing_id": ([b"ACK\n\n\x00"], True),
    "ack_invalid_id": ([b"ACK\nid:zzz\n\n\x00"], True),
    "ack_unknown_subscription": ([b"ACK\nid:T_1@@session-xx@@5\n\n\x00"], True),
    "begin_without_transaction": ([b"BEGIN\n\n\x00"], True),
    "commit_unknown_transaction": ([b"COMMIT\ntransaction:t9\n\n\x00"], True),
    "unsubscribe_unknown": ([b"UNSUBSCRIBE\nid:9\n\n\x00"], True),
    "unsubscribe_without_id": ([b"UNSUBSCRIBE\n\n\x00"], True),
    "duplicate_subscription": ([b"SUBSCRIBE\nid:1\ndestination:/topic/a\n\n\x00",
                                b"SUBSCRIBE\nid:1\ndestination:/topic/b\n\n\x00"], True),
    "durable_without_id": ([b"SUBSCRIBE\ndurable:true\ndestination:/topic/a\n\n\x00"], True),
    "undefined_escape": ([b"SEND\ndestination:/queue/a\nx:a\\tb\n\nx\x00"], True),
    "header_without_colon": ([b"SEND\ndestination:/queue/a\nxyz\n\nx\x00"], True),
    "bad_content_length": ([b"SEND\ndestination:/queue/a\ncontent-length:abc\n\nx\x00"], True),
    "content_length_without_nul": ([b"SEND\ndestination:/queue/a\ncontent-length:1\n\nxy\x00"], True),
}


def bad_input(env: Env) -> dict[str, Any]:
    return {name: _raw(env, frames, connect) for name, (frames, connect) in BAD_FRAMES.items()}


def bad_input_stores_nothing(env: Env) -> dict[str, Any]:
    """A SEND whose frame is malformed, and frames after it, store nothing; another
    client is unaffected."""
    ch = env.pika()
    q = env.name("nothing")
    ch.queue_declare(q, durable=True)
    other, oseen = env.stomp("1.2")
    bad = _raw(env, [f"SEND\ndestination:/queue/{q}\ncontent-length:1\n\nxy\x00".encode(),
                     f"SEND\ndestination:/queue/{q}\n\nafter\x00".encode()])
    other.send(f"/queue/{q}", "good", headers={"receipt": "g"})
    oseen.receipt("g")
    _, _, body = ch.basic_get(q, auto_ack=True)
    return {"bad_closed": bad["closed"], "stored": body.decode() if body else None, "left": _depth(ch, q)}


SCENARIOS: dict[str, Callable[[Env], dict[str, Any]]] = {
    f.__name__: f for f in (queue_roundtrip, client_ack_cumulative, client_individual_and_nack, version_10_ack,
                            transactions, topic_crossing, exchange_and_properties, amq_queue_crossing,
                            temp_queue_reply, inequivalent_queue, durable_topic_subscription, heartbeats, bad_input,
                            bad_input_stores_nothing)
}


def run(name: str, stomp_port: int, amqp_port: int) -> dict[str, Any]:
    """One scenario's result, with this run's unique name suffix replaced by RUN."""
    env = Env(stomp_port, amqp_port)
    try:
        result = SCENARIOS[name](env)
    finally:
        env.close()
    return json.loads(json.dumps(result, default=str).replace(env.run, "RUN"))


def main(argv: list[str]) -> int:
    stomp_port, amqp_port = int(argv[0]), int(argv[1])
    out: dict[str, Any] = {}
    for name in argv[2:] or list(SCENARIOS):
        try:
            out[name] = run(name, stomp_port, amqp_port)
        except Exception as exc:  # noqa: BLE001 - the script reports, the tests assert
            out[name] = {"failed": f"{type(exc).__name__}: {exc}"}
    print(json.dumps(out, indent=1, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
