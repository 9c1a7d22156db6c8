"""The servers one comparison run starts (compare.py): mqlite and each peer.

Every server runs as a child process on a fixed port of the run's own range (`--port-
base`, default 49100: peers never take their default ports), with its data under the
run's work directory, and is stopped when the run ends (by pid, or for RabbitMQ by
scripts/rabbitmq-peer.sh). A peer whose program is missing is skipped with one line
saying what would install it.

    mqlite        `mqlite serve` with every front-end on, default fsync (1000 ms);
                  a second one with `--fsync always` for AMQP persistent confirms
                  (RabbitMQ confirms persistent messages once they are on disk)
    redis-server  Debian's, `appendonly yes`, `appendfsync everysec`
    rabbitmq      Debian's rabbitmq-server (scripts/rabbitmq-peer.sh)
    moto          `python -m moto.server` (SQS, SNS, Kinesis, EventBridge)
    kafka         Apache Kafka 4.x in KRaft mode (broker+controller in one JVM) from the
                  Maven Central jars in MQLITE_KAFKA_JARS (default
                  ~/.cache/mqlite/kafka-jars, filled by scripts/install-test-deps.sh),
                  started by kafka_peer_bench.py's `start_kafka`; its default flush
                  policy leaves fsync to the OS
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Server:
    """A running server: its name, process, the ports it serves and how to stop it."""

    name: str
    proc: subprocess.Popen[bytes] | None
    ports: dict[str, int] = field(default_factory=dict)
    pid: int = 0  # the process whose CPU and RSS are measured
    stop_cmd: list[str] | None = None

    def stop(self) -> None:
        if self.stop_cmd:
            subprocess.run(self.stop_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        # as servers bind (SO_REUSEADDR); a client connection's TIME_WAIT on the port
        # still blocks it (its socket had no SO_REUSEADDR)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
            s.listen(1)
        except OSError:
            return False
    return True


def free_block(start: int, count: int, lo: int = 49_000, hi: int = 50_000) -> int:
    """The first port from `start` (wrapping within lo..hi) with `count` bindable ports
    from it: the range lies in the kernel's ephemeral range, where client connections
    (and their TIME_WAITs) may hold any port for a while."""
    candidates = list(range(start, hi - count + 1)) + list(range(lo, start))
    for port in candidates:
        if all(_bindable(p) for p in range(port, port + count)):
            return port
    raise RuntimeError(f"no {count} consecutive free ports in {lo}-{hi - 1} (client connections hold them; "
                       "retry in a minute, or pass another --port-base)")


def wait_port(port: int, proc: subprocess.Popen[bytes] | None = None, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server on port {port} exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def wait_http(port: int, path: str, timeout: float = 60) -> None:
    import urllib.error
    import urllib.request

    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"http port {port} never answered")


def start_mqlite(work: Path, base: int, name: str = "mqlite", fsync: str = "1000") -> Server:
    """mqlite with every front-end on: http, kafka, amqp, redis on ports base..base+3,
    MQTT and STOMP on free ports (no comparison uses them yet)."""
    ports = {"http": base, "kafka": base + 1, "amqp": base + 2, "redis": base + 3}
    cmd = [sys.executable, "-m", "mqlite.cli", "serve", "--host", "127.0.0.1", "--data-dir", str(work / name),
           "--fsync", fsync, "--log-level", "warning"]
    for proto, port in ports.items():
        cmd += [f"--{proto}-port", str(port)]
    cmd += ["--mqtt-port", "0", "--stomp-port", "0"]  # on too, on any free port (not 1883, 61613)
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for port in ports.values():
        wait_port(port, proc)
    return Server(name, proc, ports, proc.pid)


def start_redis(work: Path, port: int) -> Server | None:
    if not shutil.which("redis-server"):
        print("  redis-server: not installed (apt-get install redis-server redis-tools); skipped", flush=True)
        return None
    d = work / "redis"
    d.mkdir()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "yes", "--appendfsync", "everysec", "--dir", str(d)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_port(port, proc)
    return Server("redis-server", proc, {"redis": port}, proc.pid)


def pid_listening(port: int) -> int:
    out = subprocess.run(["ss", "-ltnpH", f"sport = :{port}"], capture_output=True, text=True, check=False).stdout
    marker = "pid="
    at = out.find(marker)
    return int(out[at + len(marker):].split(",")[0]) if at >= 0 else 0


def start_rabbitmq(work: Path, port: int) -> Server | None:
    script = ROOT / "scripts" / "rabbitmq-peer.sh"
    if not Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
        print("  rabbitmq-server: not installed (apt-get install rabbitmq-server); skipped", flush=True)
        return None
    node = work / "rabbitmq-node"
    subprocess.run(["bash", str(script), "start", str(node), str(port)], check=True,
                   stdout=subprocess.DEVNULL)
    return Server("rabbitmq", None, {"amqp": port}, pid_listening(port),
                  stop_cmd=["bash", str(script), "stop", str(node)])


def start_moto(port: int) -> Server | None:
    try:
        import moto  # noqa: F401
    except ImportError:
        print("  moto: not installed (pip install 'moto[server]'); skipped", flush=True)
        return None
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_http(port, "/moto-api/")
    return Server("moto", proc, {"http": port}, proc.pid)


def kafka_jars() -> Path | None:
    d = Path(os.environ.get("MQLITE_KAFKA_JARS", Path.home() / ".cache" / "mqlite" / "kafka-jars"))
    return d if any(d.glob("kafka_2.13-4.*.jar")) else None


def start_kafka(work: Path, port: int) -> Server | None:
    """Apache Kafka, one KRaft node (broker and controller), on `port` (controller:
    port+1), as kafka_peer_bench.py (#21) starts it."""
    if not shutil.which("java") or kafka_jars() is None:
        print("  kafka: needs java and Kafka's jars in MQLITE_KAFKA_JARS "
              "(scripts/install-test-deps.sh fetches them from Maven Central); skipped", flush=True)
        return None
    from kafka_peer_bench import start_kafka as start

    d = work / "kafka"
    d.mkdir()
    proc = start(d, port)
    return Server("kafka", proc, {"kafka": port}, proc.pid)


__all__ = ["Server", "free_block", "pid_listening", "start_kafka", "start_moto", "start_mqlite", "start_rabbitmq", "start_redis"]
