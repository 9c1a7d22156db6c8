"""The pytest plugin as users meet it: README's example runs under the plugin, the
`pytest11` entry point and `-p mqlite.testing` register it once, reset isolates tests,
and the environment, embedded broker and manual clock fixtures work."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def readme_test() -> str:
    section = README.split("## Testing with pytest", 1)[1]
    return re.search(r"```py\n(.*?)```", section, flags=re.DOTALL).group(1)


def run_pytest(tmp_path: Path, *args: str, extra_path: str = "") -> subprocess.CompletedProcess[str]:
    path = os.pathsep.join(p for p in [extra_path, *sys.path] if p)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": path})


def test_readme_example_passes_with_the_plugin(tmp_path):
    (tmp_path / "test_app.py").write_text(readme_test())
    assert len(readme_test().strip().splitlines()) <= 13
    out = run_pytest(tmp_path, "-p", "mqlite.testing", "test_app.py")
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 passed" in out.stdout


def test_entry_point_and_dash_p_register_the_plugin_once(tmp_path):
    eps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["pytest11"]
    assert eps == {"mqlite.testing": "mqlite.testing"}
    # an installed distribution carrying that entry point, plus addopts' -p: no clash
    site = tmp_path / "site"
    dist = site / "mqlite_plugin_probe-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: mqlite-plugin-probe\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[pytest11]\nmqlite.testing = mqlite.testing\n")
    (tmp_path / "test_app.py").write_text(readme_test())
    for args in ((), ("-p", "mqlite.testing")):
        out = run_pytest(tmp_path, *args, "test_app.py", extra_path=str(site))
        assert out.returncode == 0, out.stdout + out.stderr
        assert "2 passed" in out.stdout


def test_env_points_every_client_at_the_session_server(mqlite_env, mqlite_fresh):
    import pika
    import redis
    from kafka import KafkaProducer

    assert os.environ["AWS_ENDPOINT_URL"] == mqlite_fresh.endpoint_url
    boto3.client("sqs").create_queue(QueueName="made-here")
    conn = pika.BlockingConnection(pika.URLParameters(os.environ["AMQP_URL"]))
    conn.channel().queue_declare("via-amqp-url")
    conn.close()
    redis.Redis.from_url(os.environ["REDIS_URL"]).xadd("via-redis-url", {"a": "1"})
    producer = KafkaProducer(bootstrap_servers=os.environ["KAFKA_BOOTSTRAP_SERVERS"])
    producer.send("via-kafka", b"x").get(timeout=10)
    producer.close()
    assert {"made-here", "via-amqp-url"} <= set(mqlite_fresh.core.list_queues())
    assert {"via-redis-url", "via-kafka"} <= set(mqlite_fresh.core.list_streams())


def test_the_next_test_sees_none_of_it(mqlite_fresh):
    assert mqlite_fresh.core.list_queues() == [] and mqlite_fresh.core.list_streams() == []


def test_embedded_broker_and_manual_clock(mqlite_broker, mqlite_clock):
    import mqlite as package

    jobs = mqlite_broker.queue("jobs")
    jobs.send("x")
    assert jobs.counts().visible == 1
    with package.Broker(clock=mqlite_clock) as broker:
        q = broker.queue("q", visibility_timeout=30)
        q.send("y")
        assert len(q.receive()) == 1
        assert q.receive() == []
        mqlite_clock.advance(31)
        assert [m.body for m in q.receive()] == [b"y"]
