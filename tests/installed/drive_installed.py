"""Drive an installed mqlite once through every front-end with a real client.

Run by `scripts/check-installed.sh` with the Python of a fresh venv that holds only the
built wheel, its dependencies and the client libraries, from a working directory where
no checkout (and no `shared/` spec directory) is reachable. It checks the distribution
(LICENSE and the Kafka schemas' NOTICE installed, the `mqlite` script works), starts
`python -m mqlite serve --memory` with every port 0, then:

- HTTP: GET /_mqlite/health answers 200;
- SQS (boto3): CreateQueue, SendMessage, ReceiveMessage;
- Kafka (confluent-kafka): produce, then consume it back in a consumer group;
- AMQP (pika): queue.declare, basic.publish, basic.get;
- Redis (redis-py): XADD, XREAD;

and stops the server with SIGTERM, which must exit 0. Any failure exits non-zero with
the server's log. Standalone on purpose: it imports nothing from the checkout.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

READY_TIMEOUT = 60.0
STEP_TIMEOUT = 30.0
PORT = re.compile(r"\b(http|kafka|amqp|redis)=(\d+)")


def check_isolation() -> None:
    """mqlite must come from this venv, and the checkout must not be on the path."""
    import mqlite

    where = Path(mqlite.__file__).resolve()
    assert where.is_relative_to(Path(sys.prefix).resolve()), f"mqlite imported from {where}, not the venv"
    checkout = os.environ.get("DRIVE_INSTALLED_CHECKOUT")
    if checkout:
        root = Path(checkout).resolve()
        assert not Path.cwd().resolve().is_relative_to(root), "cwd is inside the checkout"
        for entry in sys.path:
            assert not (entry and Path(entry).resolve().is_relative_to(root)), f"{entry} on sys.path"
    shipped = {str(f) for f in importlib.metadata.files("mqlite") or ()}
    assert any(f.endswith("LICENSE") for f in shipped), "no LICENSE in the installed distribution"
    assert any(f.endswith("schemas/NOTICE") for f in shipped), "no Kafka schema NOTICE installed"
    script = shutil.which("mqlite")
    assert script and Path(script).resolve().is_relative_to(Path(sys.prefix).resolve()), script
    version = subprocess.run([script, "version"], capture_output=True, text=True, timeout=STEP_TIMEOUT, check=True)
    assert version.stdout.strip() == f"mqlite {mqlite.__version__}", version.stdout
    print(f"drive-installed: mqlite {mqlite.__version__} from {where.parent}")


def start_server(log_path: Path) -> tuple[subprocess.Popen[bytes], dict[str, int]]:
    args = [sys.executable, "-m", "mqlite", "serve", "--memory", "--host", "127.0.0.1"]
    for name in ("http", "kafka", "amqp", "redis", "stomp"):
        args += [f"--{name}-port", "0"]
    log = log_path.open("wb")
    process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        for line in log_path.read_text(errors="replace").splitlines():
            if "mqlite ready" in line:
                ports = {name: int(port) for name, port in PORT.findall(line)}
                missing = {"http", "kafka", "amqp", "redis"} - set(ports)
                assert not missing, f"ready line lacks {sorted(missing)}: {line}"
                return process, ports
        if process.poll() is not None:
            raise SystemExit(f"mqlite serve exited with {process.returncode}:\n{log_path.read_text()}")
        time.sleep(0.05)
    process.kill()
    raise SystemExit(f"mqlite serve not ready in {READY_TIMEOUT:.0f} s:\n{log_path.read_text()}")


def drive_health(port: int) -> None:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_mqlite/health", timeout=STEP_TIMEOUT) as reply:
        assert reply.status == 200, reply.status


def drive_sqs(port: int) -> None:
    import boto3

    sqs = boto3.client("sqs", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1")
    url = sqs.create_queue(QueueName="installed-sqs")["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="hello sqs")
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5).get("Messages", [])
    assert [m["Body"] for m in got] == ["hello sqs"], got


def drive_kafka(port: int) -> None:
    from confluent_kafka import Consumer, Producer

    bootstrap = f"127.0.0.1:{port}"
    producer = Producer({"bootstrap.servers": bootstrap})
    producer.produce("installed-kafka", key=b"k", value=b"hello kafka")
    assert producer.flush(STEP_TIMEOUT) == 0, "produce not acknowledged"
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": "installed-kafka", "auto.offset.reset": "earliest"}
    )
    try:
        consumer.subscribe(["installed-kafka"])
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            assert msg.error() is None, msg.error()
            assert (msg.key(), msg.value()) == (b"k", b"hello kafka")
            return
        raise AssertionError("no Kafka record consumed")
    finally:
        consumer.close()


def drive_amqp(port: int) -> None:
    import pika

    params = pika.ConnectionParameters("127.0.0.1", port, credentials=pika.PlainCredentials("guest", "guest"))
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.queue_declare("installed-amqp")
        channel.basic_publish("", "installed-amqp", b"hello amqp")
        deadline = time.monotonic() + STEP_TIMEOUT
        while time.monotonic() < deadline:
            method, _props, body = channel.basic_get("installed-amqp", auto_ack=True)
            if method is not None:
                assert body == b"hello amqp", body
                return
            connection.sleep(0.05)
        raise AssertionError("basic.get found nothing")
    finally:
        connection.close()


def drive_redis(port: int) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port)
    try:
        entry = client.xadd("installed-redis", {"greeting": "hello redis"})
        got = client.xread({"installed-redis": "0"}, count=10)
        assert got == [[b"installed-redis", [(entry, {b"greeting": b"hello redis"})]]], got
    finally:
        client.close()


def main() -> int:
    check_isolation()
    with tempfile.TemporaryDirectory(prefix="mqlite-drive-") as tmp:
        log_path = Path(tmp) / "server.log"
        process, ports = start_server(log_path)
        try:
            for name, step, port in (
                ("health", drive_health, ports["http"]),
                ("sqs (boto3)", drive_sqs, ports["http"]),
                ("kafka (confluent-kafka)", drive_kafka, ports["kafka"]),
                ("amqp (pika)", drive_amqp, ports["amqp"]),
                ("redis (redis-py)", drive_redis, ports["redis"]),
            ):
                started = time.monotonic()
                step(port)
                print(f"drive-installed: {name} ok ({time.monotonic() - started:.1f} s)")
        except BaseException:
            process.kill()
            process.wait()
            print(log_path.read_text(errors="replace"), file=sys.stderr)
            raise
        process.send_signal(signal.SIGTERM)
        code = process.wait(STEP_TIMEOUT)
        log = log_path.read_text(errors="replace")
        assert code == 0, f"mqlite serve exited {code} after SIGTERM:\n{log}"
        for bad in ("Traceback", "unknown api key"):
            assert bad not in log, f"{bad!r} in the server log:\n{log}"
    print("drive-installed: every front-end answered a real client")
    return 0


if __name__ == "__main__":
    sys.exit(main())
