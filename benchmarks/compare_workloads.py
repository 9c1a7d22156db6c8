"""The workloads of one comparison run (compare.py), over the per-protocol benchmarks.

Each family runs its workloads against one server and returns {row: Result}; the load
generators are the existing benchmarks' own (resp_bench, amqp_bench, sqs_bench,
sns_bench, kafka_bench, kinesis_bench, events_bench, startup_bench), so a figure here
means what it means there. Server CPU is the server process's (and its children's)
user+system time over the measured phase, from /proc, divided by the messages.
`Size` scales every workload: `quick` for a short run, `full` for the documented one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass

sys.path.insert(0, os.path.dirname(__file__))
from aws_servers import cpu_seconds


@dataclass
class Result:
    """One measurement: msg/s (or the row's unit), server CPU µs per message, latency ms."""

    rate: float
    cpu_us: float | None = None
    p50: float | None = None
    p99: float | None = None


@dataclass(frozen=True)
class Size:
    duration: float  # seconds of each timed AWS-API phase
    procs: int  # load processes for the AWS APIs
    conc: int  # connections per load process
    redis_n: int  # redis-benchmark requests per PUBLISH/XADD run
    group_n: int  # entries read by XREADGROUP+XACK
    kafka_n: int  # messages produced and consumed
    amqp_n: int  # messages per AMQP phase
    samples: int  # latency samples (EventBridge)


QUICK = Size(duration=1.5, procs=1, conc=8, redis_n=100_000, group_n=20_000, kafka_n=100_000,
             amqp_n=3_000, samples=20)
FULL = Size(duration=4.0, procs=2, conc=8, redis_n=400_000, group_n=60_000, kafka_n=500_000,
            amqp_n=10_000, samples=40)


def timed(pid: int, n_of: Callable[[], tuple[int, float]]) -> Result:
    """Run a phase that returns (messages, seconds); its rate and server CPU µs/msg."""
    c0 = cpu_seconds(pid)
    n, seconds = n_of()
    cpu = cpu_seconds(pid) - c0
    return Result(n / seconds if seconds > 0 else 0.0, cpu * 1e6 / n if n else None)


# -- Redis ----------------------------------------------------------------------------
def redis_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    from resp_bench import group_fill, group_read, rbench_stats

    port = ports["redis"]
    out = {}
    for row, n, pipeline, cmd in (
        ("Redis PUBLISH (50 conns, -P 1)", size.redis_n // 4, 1, ("PUBLISH", "ch", "hello")),
        ("Redis PUBLISH (50 conns, -P 16)", size.redis_n, 16, ("PUBLISH", "ch", "hello")),
        ("Redis XADD (50 conns, -P 16)", size.redis_n, 16, ("XADD", f"x{tag}", "*", "f", "v")),
    ):
        c0 = cpu_seconds(pid)
        rps, p50, p99 = rbench_stats(port, n, pipeline, *cmd)
        out[row] = Result(rps, (cpu_seconds(pid) - c0) * 1e6 / n, p50, p99)
    group_fill(port, size.group_n, f"g{tag}")
    c0 = cpu_seconds(pid)
    rate = group_read(port, size.group_n, f"g{tag}")
    out["Redis XREADGROUP COUNT 100 + XACK (redis-py)"] = Result(rate, (cpu_seconds(pid) - c0) * 1e6 / size.group_n)
    return out


# -- AMQP -----------------------------------------------------------------------------
AMQP_ROWS = {
    "persistent-publish": "AMQP persistent publish, confirms (pika)",
    "persistent-consume": "AMQP persistent consume, manual ack",
    "transient-publish": "AMQP transient publish (pika)",
    "transient-consume": "AMQP transient consume, manual ack",
}


def amqp_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    from amqp_bench import run_broker

    phases = run_broker(tag, ports["amqp"], pid, 1, size.amqp_n, 100)
    return {AMQP_ROWS[k]: Result(rate, cpu) for k, (rate, cpu) in phases.items()}


# -- Kafka ----------------------------------------------------------------------------
def kafka_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    import kafka_bench

    bootstrap = f"127.0.0.1:{ports['kafka']}"
    topic = f"cmp{tag}"
    kafka_bench.create(bootstrap, [topic])
    n = size.kafka_n
    produced = timed(pid, lambda: (n, kafka_bench.produce_confluent(bootstrap, topic, n, "1", "none")))
    consumed = timed(pid, lambda: (n, kafka_bench.consume_confluent(bootstrap, topic, n, "tuned")))
    return {"Kafka produce 100 B, acks=1 (confluent-kafka)": produced,
            "Kafka consume (confluent-kafka, assign)": consumed}


# -- AWS APIs -------------------------------------------------------------------------
def sqs_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    import aiohttp
    import sqs_bench

    endpoint = f"http://127.0.0.1:{ports['http']}"

    async def create() -> str:
        async with aiohttp.ClientSession() as s:
            return str((await sqs_bench.call(s, endpoint, "CreateQueue", {"QueueName": f"cmp{tag}"}))["QueueUrl"])

    url = asyncio.run(create())
    sent = timed(pid, lambda: sqs_bench.run_phase("send", endpoint, url, size.duration, size.procs, size.conc))
    got = timed(pid, lambda: sqs_bench.run_phase("recv", endpoint, url, size.duration, size.procs, size.conc))
    return {"SQS SendMessageBatch 10 x 100 B": sent, "SQS ReceiveMessage 10 + DeleteMessageBatch": got}


def sns_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    import sns_bench

    endpoint = f"http://127.0.0.1:{ports['http']}"
    topic, _urls = asyncio.run(sns_bench.setup(endpoint, f"cmp{tag}"))
    res = timed(pid, lambda: sns_bench.run_phase("publish", endpoint, topic, size.duration, size.procs, size.conc))
    return {"SNS Publish, fan-out to 4 filtered SQS queues": res}


def kinesis_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    import kinesis_bench

    endpoint = f"http://127.0.0.1:{ports['http']}"
    args = argparse.Namespace(procs=size.procs, conc=size.conc, shards=4)
    r = kinesis_bench.bench(tag, endpoint, pid, args, size.duration)
    return {"Kinesis PutRecords 500 x 100 B": Result(r["in"], 1e6 / r["in_cpu"] if r["in_cpu"] else None),
            "Kinesis GetRecords (4 shards)": Result(r["out"], 1e6 / r["out_cpu"] if r["out_cpu"] else None)}


def events_family(ports: dict[str, int], pid: int, size: Size, tag: str) -> dict[str, Result]:
    import events_bench

    endpoint = f"http://127.0.0.1:{ports['http']}"
    args = argparse.Namespace(procs=size.procs, conc=size.conc, duration=size.duration, samples=size.samples)
    r = events_bench.bench(tag, endpoint, args, pid)
    return {"EventBridge PutEvents 10 entries, 100 rules -> SQS": Result(
        r["rate"], 1e6 / r["per_cpu"] if r["per_cpu"] else None, r["p50"], r["p99"])}


# -- start-up ---------------------------------------------------------------------------
def startup_side(peer: bool) -> dict[str, Result]:
    """Warm start-up to ready (s) and idle RSS (MiB): redis-server, or mqlite with all
    four front-ends on (startup_bench's measure)."""
    import startup_bench

    if peer:
        r = startup_bench.start_redis()
        if r is None:
            return {}
    else:
        r = startup_bench.start_mqlite(sys.executable, dict(os.environ))
    return {"start-up to ready, warm (s; lower is better)": Result(r["ready_s"]),
            "idle RSS (MiB; lower is better; mqlite: all front-ends on)": Result(r["rss_mib"])}


Family = Callable[[dict[str, int], int, Size, str], dict[str, Result]]

__all__ = [
    "FULL",
    "QUICK",
    "Family",
    "Result",
    "Size",
    "amqp_family",
    "events_family",
    "kafka_family",
    "kinesis_family",
    "redis_family",
    "sns_family",
    "sqs_family",
    "startup_side",
]
