"""Other client libraries against mqlite as against RabbitMQ: aio-pika, kombu, Celery
(a worker running tasks end to end, with Celery's native delayed delivery, which uses
topic exchanges, exchange-to-exchange bindings, TTL, dead-lettering and reject-publish)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aio_pika
import kombu
import pytest


def test_aio_pika_publish_consume_with_confirms(mqlite_server: Any) -> None:
    async def main() -> list[bytes]:
        conn = await aio_pika.connect_robust(f"amqp://guest:guest@127.0.0.1:{mqlite_server.amqp_port}/")
        async with conn:
            ch = await conn.channel(publisher_confirms=True)
            await ch.set_qos(prefetch_count=10)
            ex = await ch.declare_exchange("aio-ex", aio_pika.ExchangeType.TOPIC, durable=True)
            q = await ch.declare_queue("aio-q", durable=True)
            await q.bind(ex, "k.#")
            for i in range(20):
                await ex.publish(aio_pika.Message(b"m%d" % i, headers={"n": i},
                                                  delivery_mode=aio_pika.DeliveryMode.PERSISTENT), "k.x")
            got: list[bytes] = []
            async with q.iterator() as it:
                async for message in it:
                    async with message.process():
                        assert message.headers["n"] == len(got)
                        got.append(message.body)
                    if len(got) == 20:
                        break
            return got

    assert asyncio.run(main()) == [b"m%d" % i for i in range(20)]


def test_aio_pika_rpc_with_direct_reply_to(mqlite_server: Any) -> None:
    from aio_pika.patterns import RPC

    async def main() -> int:
        conn = await aio_pika.connect(f"amqp://guest:guest@127.0.0.1:{mqlite_server.amqp_port}/")
        async with conn:
            ch = await conn.channel()
            rpc = await RPC.create(ch)

            async def double(x: int) -> int:
                return x * 2

            await rpc.register("double", double, auto_delete=True)
            result = await rpc.proxy.double(x=21)
            await rpc.close()
            return int(result)

    assert asyncio.run(main()) == 42


def test_kombu_producer_and_consumer(mqlite_server: Any) -> None:
    url = f"amqp://guest:guest@127.0.0.1:{mqlite_server.amqp_port}//"
    exchange = kombu.Exchange("kx", type="direct", durable=True)
    queue = kombu.Queue("kq", exchange, routing_key="kk")
    with kombu.Connection(url) as conn:
        producer = conn.Producer(serializer="json")
        producer.publish({"hello": "world"}, exchange=exchange, routing_key="kk", declare=[queue],
                         retry=True)
        got: list[Any] = []
        with conn.Consumer(queue, callbacks=[lambda body, msg: (got.append(body), msg.ack())]):
            conn.drain_events(timeout=5)
        assert got == [{"hello": "world"}]


def test_deleting_the_queue_its_own_channel_consumes_answers_delete_ok_before_the_cancel(mqlite_server: Any) -> None:
    """py-amqp raises ConsumerCancelled on a Basic.Cancel that arrives while it waits for
    Queue.DeleteOk; RabbitMQ sends the deleting channel's cancel after the DeleteOk (as in
    kombu's integration test test_ack_from_another_thread)."""
    import amqp

    with amqp.Connection(f"127.0.0.1:{mqlite_server.amqp_port}") as conn:
        conn.connect()
        ch = conn.channel()
        ch.queue_declare("own-doomed")
        cancelled: list[str] = []
        tag = ch.basic_consume("own-doomed", callback=lambda m: None, on_cancel=cancelled.append)
        assert ch.queue_delete("own-doomed") == 0
        conn.drain_events(timeout=5)
        assert cancelled == [tag]


def _celery_app(port: int, **conf: Any) -> Any:
    from celery import Celery

    app = Celery("mqlite_test", broker=f"amqp://guest:guest@127.0.0.1:{port}//", backend="rpc://")
    # broker_heartbeat=0: the worker's event loop then wakes at once on shutdown (with
    # heartbeats it sleeps up to 10 s, against RabbitMQ too); heartbeats are tested elsewhere
    app.conf.update(task_serializer="json", accept_content=["json"], result_serializer="json",
                    broker_connection_retry_on_startup=True, worker_hijack_root_logger=False,
                    broker_heartbeat=0, **conf)
    return app


@pytest.mark.slow
def test_celery_worker_runs_a_task_end_to_end(mqlite_server: Any) -> None:
    from celery.contrib.testing.worker import start_worker

    app = _celery_app(mqlite_server.amqp_port)

    @app.task
    def add(x: int, y: int) -> int:
        return x + y

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING",
                      shutdown_timeout=30):
        assert add.delay(2, 3).get(timeout=20) == 5


@pytest.mark.slow
def test_celery_native_delayed_delivery_runs_a_countdown_task(mqlite_server: Any) -> None:
    """Celery 5.5 native delayed delivery on quorum queues (the RabbitMQ recipe)."""
    from celery.contrib.testing.worker import start_worker
    from kombu import Exchange, Queue

    app = _celery_app(
        mqlite_server.amqp_port,
        task_default_queue_type="quorum",
        worker_detect_quorum_queues=True,
        broker_transport_options={"confirm_publish": True},
        task_queues=[Queue("celery", Exchange("celery", type="topic"), routing_key="celery",
                           queue_arguments={"x-queue-type": "quorum"})],
    )

    @app.task
    def stamp() -> float:
        return time.time()

    with start_worker(app, perform_ping_check=False, pool="solo", loglevel="WARNING",
                      shutdown_timeout=30):
        sent = time.time()
        done_at = stamp.apply_async(countdown=2).get(timeout=40)
    assert done_at >= sent + 1.5
    # it travelled through the delay levels: the topology Celery declared is there
    import pika

    ch = pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", mqlite_server.amqp_port)).channel()
    ch.exchange_declare("celery_delayed_27", passive=True)
    ch.exchange_declare("celery_delayed_delivery", passive=True)
    ch.queue_declare("celery_delayed_0", passive=True)
    ch.connection.close()
