"""SNS signing on worker processes (sign_pool.py), driven through boto3 publishes.

The pool is the default on a machine with two or more cores; these tests start it
explicitly, wait until its workers have answered their handshake, and check that what
they sign verifies against the SigningCertURL certificate, that a killed worker's share
is signed inline (nothing is lost and nothing goes unsigned) and the worker replaced,
that a FIFO topic's order holds while batches are signed concurrently, and that closing
the pool stops its workers.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from typing import Any

from sns_support import bodies, client, drain, make_queue, signing_workers_ready

from mqlite.protocols.aws.sns.signing import verify


def _started(server: Any, sns: Any, topic: str, urls: list[str], workers: int) -> Any:
    """Publish once (which starts the pool) and wait for every worker to be ready."""
    sns.publish(TopicArn=topic, Message="warm-up")
    state = signing_workers_ready(server, workers)
    for url in urls:
        drain(sqs_of(server), url, expect=1)
    return state


def sqs_of(server: Any) -> Any:
    return client(server, "sqs")


def _fanout(server: Any, queues: int) -> tuple[Any, Any, str, list[str]]:
    sns, sqs = client(server, "sns"), sqs_of(server)
    topic = sns.create_topic(Name="orders")["TopicArn"]
    urls = []
    for i in range(queues):
        url, arn = make_queue(sqs, f"q{i}")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    return sns, sqs, topic, urls


def test_worker_signatures_verify_for_both_signature_versions(sns_server_factory: Any) -> None:
    server = sns_server_factory(sns_sign_workers=2)
    sns, sqs, topic, urls = _fanout(server, 2)
    _started(server, sns, topic, urls, 2)
    for version in ("1", "2"):
        sns.set_topic_attributes(TopicArn=topic, AttributeName="SignatureVersion", AttributeValue=version)
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": f"e{i}", "Message": f"v{version}-{i}", "Subject": "s",
             "MessageAttributes": {"n": {"DataType": "Number", "StringValue": str(i)}}}
            for i in range(10)])
        sns.publish(TopicArn=topic, Message=f"v{version}-single")
        for url in urls:
            docs = bodies(drain(sqs, url, expect=11))
            assert {d["SignatureVersion"] for d in docs} == {version}
            cert = urllib.request.urlopen(docs[0]["SigningCertURL"]).read()
            assert all(verify(cert, d) for d in docs)
            assert max(d["Message"] for d in docs) == f"v{version}-single"


def test_a_killed_workers_share_is_signed_inline_and_the_worker_replaced(sns_server_factory: Any) -> None:
    server = sns_server_factory(sns_sign_workers=2)
    sns, sqs, topic, urls = _fanout(server, 2)
    state = _started(server, sns, topic, urls, 2)
    victim = server.call(lambda: state.sign_pool.workers[0].proc.pid)
    os.kill(victim, signal.SIGKILL)
    for n in range(5):  # the batches in flight when it died, and those after
        sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
            {"Id": f"e{i}", "Message": f"{n}-{i}"} for i in range(10)])
    for url in urls:
        docs = bodies(drain(sqs, url, expect=50))
        assert sorted(d["Message"] for d in docs) == sorted(f"{n}-{i}" for n in range(5) for i in range(10))
        cert = urllib.request.urlopen(docs[0]["SigningCertURL"]).read()
        assert all(verify(cert, d) for d in docs)
    # and a replacement is started (it signs once it has answered its handshake)
    deadline = time.monotonic() + 30
    while True:
        sns.publish(TopicArn=topic, Message="after")
        pids = server.call(lambda: [(w.proc.pid, w.alive, w.ready) for w in state.sign_pool.workers])
        if victim not in [p for p, _, _ in pids] and all(alive and ready for _, alive, ready in pids):
            break
        assert time.monotonic() < deadline, f"no replacement worker: {pids}"
        time.sleep(0.2)


def test_closing_the_pool_stops_its_workers(sns_server_factory: Any) -> None:
    server = sns_server_factory(sns_sign_workers=1)
    sns, _, topic, urls = _fanout(server, 1)
    state = _started(server, sns, topic, urls, 1)
    proc = server.call(lambda: state.sign_pool.workers[0].proc)
    server.call(state.sign_pool.close)
    assert proc.poll() is not None  # exited on stdin EOF and was reaped
    sns.publish(TopicArn=topic, Message="after close")  # inline again
    (doc,) = bodies(drain(sqs_of(server), urls[0], expect=1))
    assert doc["Message"] == "after close"


def test_fifo_topic_order_holds_while_batches_are_signed_concurrently(sns_server_factory: Any) -> None:
    """Concurrent publishers to one message group of a FIFO topic: the batches of
    consecutive loop iterations are signed on the workers at the same time, yet each
    subscribed FIFO queue receives the messages in SNS sequence-number order."""
    from concurrent.futures import ThreadPoolExecutor

    server = sns_server_factory(sns_sign_workers=2)
    sns, sqs = client(server, "sns"), sqs_of(server)
    topic = sns.create_topic(Name="ledger.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    urls = []
    for i in range(2):
        url, arn = make_queue(sqs, f"ledger-{i}.fifo", FifoQueue="true")
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
        urls.append(url)
    sns.publish(TopicArn=topic, Message="warm-up", MessageGroupId="g")
    signing_workers_ready(server, 2)

    def publisher(k: int) -> None:
        own = client(server, "sns")
        for n in range(10):
            if n % 2:
                own.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
                    {"Id": f"e{i}", "Message": f"{k}-{n}-{i}", "MessageGroupId": "g"} for i in range(5)])
            else:
                own.publish(TopicArn=topic, Message=f"{k}-{n}", MessageGroupId="g")

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(publisher, range(8)))
    for url in urls:
        docs = bodies(drain(sqs, url, expect=1 + 8 * (5 + 5 * 5)))
        assert len(docs) == 1 + 8 * 30
        seqs = [int(d["SequenceNumber"]) for d in docs]
        assert seqs == sorted(seqs)
        cert = urllib.request.urlopen(docs[-1]["SigningCertURL"]).read()
        assert verify(cert, docs[-1])


def test_stopping_the_server_stops_the_signing_workers(sns_server_factory: Any) -> None:
    server = sns_server_factory(sns_sign_workers=2)
    sns, _, topic, urls = _fanout(server, 1)
    state = _started(server, sns, topic, urls, 2)
    procs = server.call(lambda: [w.proc for w in state.sign_pool.workers])
    server.stop()
    assert all(p.poll() is not None for p in procs)


def test_closing_the_pool_mid_request_signs_that_request_inline() -> None:
    """A batch waiting on a worker when the pool closes (the server shutting down) is
    signed inline, not left waiting."""
    import asyncio

    from mqlite.protocols.aws.sns.sign_pool import SignPool
    from mqlite.protocols.aws.sns.signing import Signer

    signer = Signer.load_or_create(None)
    jobs = [({"Type": "Notification", "MessageId": f"m{i}", "Message": "x", "Timestamp": "t",
              "TopicArn": "arn:aws:sns:us-east-1:000000000000:t", "SignatureVersion": "1"}, "1")
            for i in range(20)]

    async def scenario() -> list[str]:
        pool = SignPool(signer, 1)
        await pool.sign_many(jobs[:1])  # starts the worker (inline meanwhile)
        deadline = time.monotonic() + 30
        while not all(w.ready for w in pool.workers):
            assert time.monotonic() < deadline, "signing worker did not start"
            await asyncio.sleep(0.05)
        pending = asyncio.ensure_future(pool.sign_many(jobs))
        await asyncio.sleep(0)  # the request is on its way to the worker
        pool.close()
        return await asyncio.wait_for(pending, 10)

    signatures = asyncio.run(scenario())
    assert all(verify(signer.cert_pem, {**doc, "Signature": sig})
               for (doc, _), sig in zip(jobs, signatures, strict=True))


def test_fifo_order_holds_across_sns_and_eventbridge_publishers(sns_server_factory: Any) -> None:
    """A FIFO topic published to by SNS clients and by an EventBridge rule at once: both
    go through the one coalescer of the core, so the queue still receives the messages in
    SNS sequence-number order while batches are signed concurrently."""
    from concurrent.futures import ThreadPoolExecutor

    server = sns_server_factory(sns_sign_workers=2)
    sns, sqs, events = client(server, "sns"), sqs_of(server), client(server, "events")
    topic = sns.create_topic(Name="mixed.fifo", Attributes={
        "FifoTopic": "true", "ContentBasedDeduplication": "true"})["TopicArn"]
    url, arn = make_queue(sqs, "mixed.fifo", FifoQueue="true")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    events.put_rule(Name="to-fifo", EventPattern='{"source": ["shop"]}')
    events.put_targets(Rule="to-fifo", Targets=[{"Id": "t", "Arn": topic}])
    sns.publish(TopicArn=topic, Message="warm-up", MessageGroupId="default")
    signing_workers_ready(server, 2)

    def sns_publisher(k: int) -> None:
        own = client(server, "sns")
        for n in range(15):
            own.publish(TopicArn=topic, Message=f"sns-{k}-{n}", MessageGroupId="default")

    def events_publisher(k: int) -> None:
        own = client(server, "events")
        for n in range(15):
            own.put_events(Entries=[{"Source": "shop", "DetailType": "order", "Detail": f'{{"n": "{k}-{n}"}}'}])

    with ThreadPoolExecutor(8) as pool:
        for f in [pool.submit(sns_publisher, k) for k in range(4)] + [pool.submit(events_publisher, k) for k in range(4)]:
            f.result()
    docs = bodies(drain(sqs, url, expect=1 + 8 * 15, wait=2))
    assert len(docs) == 1 + 8 * 15
    seqs = [int(d["SequenceNumber"]) for d in docs]
    assert seqs == sorted(seqs)
