"""Basic.* (publish, consume, cancel, get, ack, nack, reject, recover, qos), Confirm.Select,
Tx.Select/Commit/Rollback and Channel.Flow handlers; direct reply-to.

Publish: resolve the exchange (404/403 as RabbitMQ), build the core `Envelope` once,
start routing eagerly (the append happens in frame order), and when routing finishes
send Basic.Return for an unroutable `mandatory` message *before* the confirm, then the
confirm (ack, or nack when a queue refused it: `x-overflow` reject-publish).
Direct reply-to: a no-ack consumer on `amq.rabbitmq.reply-to` gets a token; a publish
whose `reply_to` is the pseudo-queue is rewritten to `amq.rabbitmq.reply-to.<token>`,
and a publish to that name on the default exchange is delivered straight to it.

Concurrency: the server's event loop; handlers are synchronous, async work is started
eagerly (`eager.start`) so its first step happens in frame order.
"""

from __future__ import annotations

import base64
import logging
import os
from typing import TYPE_CHECKING, Any

from pamqp import commands

from mqlite.core import alarms
from mqlite.core import errors as core_errors
from mqlite.errors import MqliteError
from mqlite.protocols.amqp import delayed, eager
from mqlite.protocols.amqp import errors as E
from mqlite.protocols.amqp.broker import REPLY_TO, _ready
from mqlite.protocols.amqp.channel import INF, Consumer, Delivery
from mqlite.protocols.amqp.entities import AmqpQueue
from mqlite.protocols.amqp.frames import (
    Publish,
    content_frames,
    deliver_payload,
    get_ok_payload,
    return_payload,
)
from mqlite.protocols.amqp.properties import (
    PublishFacts,
    encode_properties,
    envelope_for,
    exchange_of,
    raw_properties_for,
    with_header,
)
from mqlite.protocols.amqp.stream_queue import StreamConsumer, StreamQueue, start_offset

if TYPE_CHECKING:
    from mqlite.protocols.amqp.channel import Channel

log = logging.getLogger("mqlite.amqp")



# -- publish ----------------------------------------------------------------------------
def publish(ch: Channel, p: Publish) -> None:
    """Basic.Publish with its content."""
    if p.immediate:
        raise E.AmqpError(E.NOT_IMPLEMENTED, "NOT_IMPLEMENTED - immediate=true", 60, 40)
    raw = p.raw_properties
    try:
        facts = PublishFacts(raw)
    except ValueError as exc:
        raise E.AmqpError(E.PRECONDITION_FAILED, f"PRECONDITION_FAILED - {exc}", 60, 40) from None
    props = facts.props
    if props is not None and props.reply_to == REPLY_TO:
        if not ch.reply_token:
            raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - fast reply consumer does not exist", 60, 40)
        props.reply_to = f"{REPLY_TO}.{ch.reply_token}"
        raw = encode_properties(props)
    broker = ch.broker
    if broker.authz is not None and broker.authz.enabled:
        broker.authorize(ch.conn, ch.vhost, "write", "router", p.exchange or "amq.default", 60, 40)
    if p.exchange == "" and p.routing_key.startswith(REPLY_TO + "."):
        _publish_reply(ch, p, raw)
        return
    try:
        target, is_queue = broker.resolve_publish(ch.vhost, p.exchange, p.routing_key)
    except E.AmqpError as exc:
        exc.class_id, exc.method_id = 60, 40
        raise
    if not is_queue and target.type == delayed.TYPE:
        delayed.delay_of(facts.headers)  # an x-delay the plugin cannot read closes the connection
    env = envelope_for(p.exchange, p.routing_key, raw, p.body, facts)
    if ch.tx:
        ch.tx_ops.append(("publish", target, is_queue, env, p, raw, facts.headers))
        return
    entry = None
    if ch.confirm:
        ch.pub_seq += 1
        entry = [ch.pub_seq, None]
        ch.confirms.append(entry)
    conn = ch.conn
    if broker.blocked_reason:
        conn.block_publisher(broker.blocked_reason)
    conn.inflight += 1
    conn.publishes.update(conn.inflight)
    if is_queue and target is not None:
        batch = conn.batch
        if batch is not None and (batch.channel is not ch or batch.queue is not target):
            conn.flush_batch()
            batch = None
        if batch is None:
            batch = conn.batch = PublishBatch(ch, target)
        batch.items.append((p, raw, entry))
        batch.envs.append(env)
        return

    def done(routed: Any, exc: BaseException | None) -> None:
        conn.inflight -= 1
        conn.publishes.update(conn.inflight)
        _published(ch, p, raw, entry, routed, exc)

    eager.start(broker.route(ch.vhost, target, is_queue, env, facts.headers), done)


class PublishBatch:
    """Consecutive default-exchange publishes of one channel to one queue, within one
    read: sent as one `Queue.send_batch` (one append, one record batch)."""

    __slots__ = ("channel", "envs", "items", "queue")

    def __init__(self, channel: Channel, queue: AmqpQueue) -> None:
        self.channel = channel
        self.queue = queue
        self.items: list[tuple[Publish, bytes, list[Any] | None]] = []
        self.envs: list[Any] = []

    def flush(self) -> None:
        ch = self.channel
        conn = ch.conn
        items = self.items

        def done(results: Any, exc: BaseException | None) -> None:
            n = len(items)
            conn.inflight -= n
            conn.publishes.update(conn.inflight)
            for i, (p, raw, entry) in enumerate(items):
                if exc is not None:
                    _published(ch, p, raw, entry, None, exc)
                    continue
                r = results[i]
                if isinstance(r, MqliteError):
                    _published(ch, p, raw, entry, None, r)
                else:
                    _published(ch, p, raw, entry, (1, False), None)

        eager.start(self.queue.send_batch(self.envs), done)


def _published(ch: Channel, p: Publish, raw: bytes, entry: list[Any] | None, result: Any,
               exc: BaseException | None) -> None:
    ok = True
    routed = 0
    if exc is not None:
        ok = False
        if alarms.note_failure(ch.broker.core, exc) is not None:
            pass  # logged once by the alarm; the publisher gets a nack
        elif not isinstance(exc, core_errors.QueueFull):
            log.warning("publish to %r failed: %r", p.exchange, exc)
        routed = 1  # refused, not unroutable: no Basic.Return
    else:
        routed, refused = result
        ok = not refused
    if not routed and p.mandatory and not ch.closing:
        out: list[bytes] = []
        content_frames(out, ch.number, return_payload(E.NO_ROUTE, "NO_ROUTE", p.exchange, p.routing_key),
                       raw, p.body, ch.conn.frame_max)
        ch.conn.send_many(out)
    if entry is not None:
        ch.confirm_done(entry, ok)


def _publish_reply(ch: Channel, p: Publish, raw: bytes) -> None:
    token = p.routing_key[len(REPLY_TO) + 1:]
    consumer = ch.broker.reply_to.get(token)
    if consumer is not None and not consumer.channel.closing:
        c_ch = consumer.channel
        out: list[bytes] = []
        tag = c_ch.next_tag
        c_ch.next_tag += 1
        content_frames(out, c_ch.number, deliver_payload(consumer.tag, tag, False, "", p.routing_key),
                       raw, p.body, c_ch.conn.frame_max)
        c_ch.conn.send_many(out)
    elif p.mandatory:
        out = []
        content_frames(out, ch.number, return_payload(E.NO_ROUTE, "NO_ROUTE", p.exchange, p.routing_key),
                       raw, p.body, ch.conn.frame_max)
        ch.conn.send_many(out)
    if ch.confirm:
        ch.pub_seq += 1
        entry = [ch.pub_seq, None]
        ch.confirms.append(entry)
        ch.confirm_done(entry, True)


# -- consume ----------------------------------------------------------------------------
def basic_qos(ch: Channel, m: Any) -> None:
    """Basic.Qos: global=false sets the prefetch of consumers created later on this
    channel (RabbitMQ's per-consumer semantics); global=true a limit shared by the channel."""
    if m.global_:
        ch.global_prefetch = m.prefetch_count
    else:
        ch.prefetch = m.prefetch_count
    ch.send_method(commands.Basic.QosOk())
    for c in ch.consumers.values():
        c.poke()


def basic_consume(ch: Channel, m: Any) -> None:
    """Basic.Consume (no-ack, exclusive, consumer tags, x-priority, direct reply-to)."""
    broker = ch.broker
    name = m.queue or ch.last_queue
    tag = m.consumer_tag or ch.new_consumer_tag()
    if tag in ch.consumers:
        raise E.AmqpError(E.NOT_ALLOWED, f"NOT_ALLOWED - attempt to reuse consumer tag '{tag}'", 60, 20)
    if name == REPLY_TO:
        if not m.no_ack:
            raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - reply consumer cannot acknowledge", 60, 20)
        consumer = Consumer(ch, None, tag, True, False, 0, {})
        ch.reply_token = base64.urlsafe_b64encode(os.urandom(18)).decode()
        broker.reply_to[ch.reply_token] = consumer
        ch.consumers[tag] = consumer
        if not m.nowait:
            ch.send_method(commands.Basic.ConsumeOk(consumer_tag=tag))
        return
    broker.authorize(ch.conn, ch.vhost, "read", "queue", name, 60, 20)
    rec = broker.queue(ch.vhost, name, ch.conn)
    exclusive_use = any(c.exclusive for c in rec.consumers.values()) or (m.exclusive and rec.consumers)
    if exclusive_use:
        raise E.AmqpError(E.ACCESS_REFUSED, f"ACCESS_REFUSED - queue '{name}' in vhost '{ch.vhost}' in exclusive use", 60, 20)
    args = dict(m.arguments or {})
    if rec.kind == "stream":
        consumer = _stream_consumer(ch, rec, tag, m, args)
    else:
        consumer = Consumer(ch, rec, tag, m.no_ack, m.exclusive, ch.prefetch, args)
    ch.consumers[tag] = consumer
    broker.consumer_added(rec, consumer)
    if not m.nowait:
        ch.send_method(commands.Basic.ConsumeOk(consumer_tag=tag))
    consumer.start()


def _stream_consumer(ch: Channel, rec: Any, tag: str, m: Any, args: dict[str, Any]) -> Consumer:
    """RabbitMQ's stream-queue consume rules (stream_queue.py), then the consumer."""
    if m.no_ack:
        raise rec.queue.not_supported("automatic acknowledgement")
    if not ch.prefetch:
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - consumer prefetch count is not set "
                          f"for 'queue '{rec.name}' in vhost '{ch.vhost}''", 60, 20)
    position = start_offset(rec.queue.stream, args.get("x-stream-offset"), "x-stream-offset" in args)
    return StreamConsumer(ch, rec, tag, m.exclusive, ch.prefetch, args, position)


def basic_cancel(ch: Channel, m: Any) -> None:
    """Basic.Cancel from the client (unknown tags are not an error)."""
    consumer = ch.consumers.get(m.consumer_tag)
    if consumer is not None:
        ch.remove_consumer(consumer)
    if not m.nowait:
        ch.send_method(commands.Basic.CancelOk(consumer_tag=m.consumer_tag))


def basic_get(ch: Channel, m: Any) -> None:
    """Basic.Get -> Get-Ok with one message, or Get-Empty."""
    ch.broker.authorize(ch.conn, ch.vhost, "read", "queue", m.queue or ch.last_queue, 60, 70)
    rec = ch.broker.queue(ch.vhost, m.queue or ch.last_queue, ch.conn)
    if isinstance(rec.queue, StreamQueue):
        raise rec.queue.not_supported("basic.get")
    ch.broker.touch(rec)
    queue = rec.queue

    def done(msgs: Any, exc: BaseException | None) -> None:
        if ch.closing:
            for msg in msgs or ():
                queue.release(msg.receipt)
            return
        if exc is not None:
            err = E.from_core(exc, name=rec.name, vhost=ch.vhost) if isinstance(exc, MqliteError) else E.AmqpError(
                E.INTERNAL_ERROR, f"INTERNAL_ERROR - {exc}")
            ch.conn.channel_error(ch, err)
            return
        if not msgs:
            ch.send_method(commands.Basic.GetEmpty())
            return
        msg = msgs[0]
        tag = ch.next_tag
        ch.next_tag += 1
        out: list[bytes] = []
        payload = get_ok_payload(tag, msg.receive_count > 1, exchange_of(msg), msg.routing_key,
                                 _ready(queue.counts()))
        props = raw_properties_for(msg)
        if rec.kind == "quorum":  # on every delivery, 0 the first time (as RabbitMQ)
            props = with_header(props, "x-delivery-count", msg.receive_count - 1)
        content_frames(out, ch.number, payload, props, msg.body, ch.conn.frame_max)
        if m.no_ack:
            queue.delete(msg.receipt)
        else:
            ch.unacked[tag] = Delivery(tag, None, queue, msg, rec)
            ch.leased[id(queue)] = queue
        ch.conn.send_many(out)

    eager.start(queue.receive(1, 0.0, INF, owner=ch), done)


# -- settle -----------------------------------------------------------------------------
def basic_ack(ch: Channel, m: Any) -> None:
    """Basic.Ack (multiple; tag 0 with multiple = everything)."""
    if ch.tx:
        ch.tx_ops.append(("ack", m.delivery_tag, m.multiple))
        return
    ch.ack(m.delivery_tag, m.multiple)


def basic_nack(ch: Channel, m: Any) -> None:
    """Basic.Nack (multiple, requeue)."""
    if ch.tx:
        ch.tx_ops.append(("nack", m.delivery_tag, m.multiple, m.requeue))
        return
    ch.nack(m.delivery_tag, m.multiple, m.requeue)


def basic_reject(ch: Channel, m: Any) -> None:
    """Basic.Reject (requeue)."""
    if ch.tx:
        ch.tx_ops.append(("nack", m.delivery_tag, False, m.requeue))
        return
    ch.nack(m.delivery_tag, False, m.requeue)


def basic_recover(ch: Channel, m: Any) -> None:
    """Basic.Recover: requeue all unacked messages of the channel."""
    ch.recover()
    ch.send_method(commands.Basic.RecoverOk())


def basic_recover_async(ch: Channel, m: Any) -> None:
    """Basic.RecoverAsync (deprecated): as Recover, without a reply."""
    ch.recover()


# -- confirms, tx, flow -----------------------------------------------------------------
def confirm_select(ch: Channel, m: Any) -> None:
    """Confirm.Select: publisher confirms from now on."""
    if ch.tx:
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - cannot switch from tx to confirm mode", 85, 10)
    ch.confirm = True
    if not m.nowait:
        ch.send_method(commands.Confirm.SelectOk())


def tx_select(ch: Channel, m: Any) -> None:
    """Tx.Select."""
    if ch.confirm:
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - cannot switch from confirm to tx mode", 90, 10)
    ch.tx = True
    ch.send_method(commands.Tx.SelectOk())


def tx_commit(ch: Channel, m: Any) -> None:
    """Tx.Commit: apply buffered publishes and acks in order, then Commit-Ok."""
    if not ch.tx:
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - channel is not transactional", 90, 20)
    ops, ch.tx_ops = ch.tx_ops, []

    async def commit() -> None:
        for op in ops:
            if op[0] == "publish":
                _, target, is_queue, env, p, raw, headers = op
                try:
                    result = await ch.broker.route(ch.vhost, target, is_queue, env, headers)
                    _published(ch, p, raw, None, result, None)
                except MqliteError as exc:
                    _published(ch, p, raw, None, None, exc)
            elif op[0] == "ack":
                ch.ack(op[1], op[2])
            else:
                ch.nack(op[1], op[2], op[3])

    def done(_: Any, exc: BaseException | None) -> None:
        if exc is None:
            ch.send_method(commands.Tx.CommitOk())
        elif isinstance(exc, E.AmqpError):
            ch.conn.channel_error(ch, exc)
        else:
            ch.conn.channel_error(ch, E.AmqpError(E.INTERNAL_ERROR, f"INTERNAL_ERROR - {exc}"))

    eager.start(commit(), done)


def tx_rollback(ch: Channel, m: Any) -> None:
    """Tx.Rollback: drop buffered publishes and acks."""
    if not ch.tx:
        raise E.AmqpError(E.PRECONDITION_FAILED, "PRECONDITION_FAILED - channel is not transactional", 90, 30)
    ch.tx_ops.clear()
    ch.send_method(commands.Tx.RollbackOk())


def channel_flow(ch: Channel, m: Any) -> None:
    """Channel.Flow: pause/resume deliveries to this channel."""
    ch.flow = bool(m.active)
    ch.send_method(commands.Channel.FlowOk(active=ch.flow))
    if ch.flow:
        for c in ch.consumers.values():
            c.poke()


HANDLERS = {
    commands.Basic.Qos: basic_qos,
    commands.Basic.Consume: basic_consume,
    commands.Basic.Cancel: basic_cancel,
    commands.Basic.Get: basic_get,
    commands.Basic.Ack: basic_ack,
    commands.Basic.Nack: basic_nack,
    commands.Basic.Reject: basic_reject,
    commands.Basic.Recover: basic_recover,
    commands.Basic.RecoverAsync: basic_recover_async,
    commands.Confirm.Select: confirm_select,
    commands.Tx.Select: tx_select,
    commands.Tx.Commit: tx_commit,
    commands.Tx.Rollback: tx_rollback,
    commands.Channel.Flow: channel_flow,
}
