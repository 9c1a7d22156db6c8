"""The `mqlite` CLI over a running server's admin API: ls, show, send, tail, purge,
delete, reset, groups, stats; tables and --json; one-line errors with exit statuses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import boto3
import pytest
import redis


def mq(server: Any, *args: str, stdin: str | None = None, url: str | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mqlite.cli", *args, "--url", url or server.endpoint_url]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})


def test_ls_show_send_tail_purge_delete(mqlite_server, tmp_path):
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    sqs.create_queue(QueueName="jobs")
    r = redis.Redis(port=mqlite_server.redis_port)
    r.xadd("events", {"a": "1"})

    out = mq(mqlite_server, "ls")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].split() == ["KIND", "NAME", "ORIGIN", "DEPTH"]
    assert any(line.split()[:3] == ["queue", "jobs", "sqs"] for line in lines)
    listed = json.loads(mq(mqlite_server, "ls", "streams", "--json").stdout)
    assert [i["name"] for i in listed] == ["events"]

    assert mq(mqlite_server, "send", "jobs", "hello", "-a", "color=red").returncode == 0
    assert mq(mqlite_server, "send", "jobs", stdin="from stdin").returncode == 0
    many = tmp_path / "many.txt"
    many.write_text("".join(f"line {i}\n" for i in range(1200)))
    out = mq(mqlite_server, "send", "jobs", "--file", str(many), "--lines")
    assert out.returncode == 0 and "sent 1200 messages" in out.stdout
    assert out.stderr == ""  # no progress bar when stderr is not a terminal

    shown = json.loads(mq(mqlite_server, "show", "jobs", "--json").stdout)
    assert shown["visible"] == 1202
    out = mq(mqlite_server, "show", "jobs")
    assert "visible" in out.stdout and "1202" in out.stdout

    tail = mq(mqlite_server, "tail", "jobs", "--limit", "2", "--json")
    msgs = [json.loads(line) for line in tail.stdout.splitlines()]
    assert [m["body"] for m in msgs] == ["hello", "from stdin"]
    assert msgs[0]["attributes"] == {"color": "red"}
    got = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="jobs")["QueueUrl"],
                              AttributeNames=["ApproximateReceiveCount"])["Messages"][0]
    assert got["Attributes"]["ApproximateReceiveCount"] == "1"  # tail only peeked

    assert mq(mqlite_server, "send", "events", "k-v", "--key", "k1").returncode == 0
    tail = mq(mqlite_server, "tail", "events", "--from", "1")
    assert tail.stdout.splitlines() == ["0/1 key=k1 k-v"]

    out = mq(mqlite_server, "purge", "jobs")
    assert out.returncode == 0 and "purged 1202" in out.stdout
    assert mq(mqlite_server, "delete", "events").returncode == 0
    assert r.exists("events") == 0


def test_tail_as_a_group_commits_and_resumes(mqlite_server):
    from kafka import KafkaProducer

    prod = KafkaProducer(bootstrap_servers=f"127.0.0.1:{mqlite_server.kafka_port}")
    for i in range(3):
        prod.send("clicks", b"c%d" % i)
    prod.flush()
    prod.close()
    first = mq(mqlite_server, "tail", "clicks", "--group", "cli", "--limit", "2")
    assert [line.split()[-1] for line in first.stdout.splitlines()] == ["c0", "c1"]
    rest = mq(mqlite_server, "tail", "clicks", "--group", "cli")
    assert [line.split()[-1] for line in rest.stdout.splitlines()] == ["c2"]
    groups = mq(mqlite_server, "groups", "--json")
    (g,) = json.loads(groups.stdout)
    assert g["offsets"][0]["committed"] == 3 and g["lag"] == 0
    table = mq(mqlite_server, "groups").stdout.splitlines()
    assert table[0].split() == ["GROUP", "STATE", "MEMBERS", "STREAM", "PARTITION", "COMMITTED", "LATEST", "LAG"]


def test_reset_and_stats(mqlite_server):
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    sqs.create_queue(QueueName="q")
    stats = json.loads(mq(mqlite_server, "stats", "--interval", "0", "--json").stdout)
    assert stats["now"]["queues"] == 1
    out = mq(mqlite_server, "reset")
    assert out.returncode == 0 and out.stdout.startswith("reset all: deleted 1 queues")
    assert sqs.list_queues().get("QueueUrls", []) == []


@pytest.mark.parametrize("args,status,text", [
    (("show", "nope"), 1, "no entity named 'nope'"),
    (("send", "nope", "x", "--kind", "queue"), 1, "no queue named 'nope' (HTTP 404)"),
    (("send", "q", "x", "--kind", "queue", "-a", "novalue"), 2, "expected NAME=VALUE"),
    (("tail", "q", "--kind", "queue", "--from", "yesterday"), 2, "--from 'yesterday'"),
    (("reset", "--scope", "bogus"), 1, "unknown reset scope 'bogus'"),
])
def test_errors_are_one_line_with_an_exit_status(mqlite_server, args, status, text):
    out = mq(mqlite_server, *args)
    assert out.returncode == status
    assert len(out.stderr.strip().splitlines()) == 1 and text in out.stderr


def test_no_server_is_exit_69(mqlite_server):
    out = mq(mqlite_server, "ls", url="http://127.0.0.1:9")
    assert out.returncode == 69 and "cannot reach mqlite" in out.stderr


def test_export_reset_import(mqlite_server, tmp_path):
    sqs = boto3.client("sqs", endpoint_url=mqlite_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="x", aws_secret_access_key="x")
    sqs.create_queue(QueueName="kept", Attributes={"VisibilityTimeout": "50"})
    redis.Redis(port=mqlite_server.redis_port).xadd("rs", {"a": "1"})
    path = tmp_path / "topology.json"
    out = mq(mqlite_server, "export", str(path))
    assert out.returncode == 0 and out.stdout == ""  # the document went to the file
    exported = json.loads(path.read_text())
    assert exported["queues"] == [{"name": "kept", "attributes": {"VisibilityTimeout": "50"}}]
    assert mq(mqlite_server, "reset").returncode == 0
    out = mq(mqlite_server, "import", str(path))
    assert out.returncode == 0, out.stderr
    assert "1 queues" in out.stdout and "1 streams" in out.stdout
    assert json.loads(mq(mqlite_server, "export").stdout) == exported


def test_import_of_a_bad_file_names_file_entity_and_field(mqlite_server, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[streams]]\nname = "s"\npartitions = "two"\n')
    out = mq(mqlite_server, "import", str(bad))
    assert out.returncode == 2
    assert out.stderr.strip() == f"mqlite import: {bad}: streams[s].partitions must be integer"


def test_tail_a_queue_from_latest_prints_only_what_comes_after(mqlite_server):
    import urllib.request

    req = urllib.request.Request(mqlite_server.endpoint_url + "/_mqlite/api/queues", method="POST",
                                 data=json.dumps({"name": "late"}).encode(), headers={"Content-Type": "application/json"})
    urllib.request.urlopen(req, timeout=10).read()
    for i in range(3):
        assert mq(mqlite_server, "send", "late", f"old {i}").returncode == 0
    out = mq(mqlite_server, "tail", "late", "--from", "latest")
    assert out.returncode == 0 and out.stdout == ""
    out = mq(mqlite_server, "tail", "late", "--from", "earliest", "--json")
    assert [json.loads(line)["body"] for line in out.stdout.splitlines()] == ["old 0", "old 1", "old 2"]
