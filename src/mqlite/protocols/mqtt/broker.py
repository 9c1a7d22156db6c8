"""MqttBroker: the MQTT view of one core, shared by every connection of the listener.

Owns what outlives a connection: the sessions (`sessions.SessionStore`), the retained
messages (`retained.Retained`), pending wills (5.0 Will Delay Interval) and session
expiry timers, the user model and authorization, and publishing into core: every
PUBLISH and will goes through the `amq.topic` router with its topic as routing key
(`crossing.envelope_for`), so AMQP queues bound there receive it too.
Concurrency: the server's event loop only.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any

from mqlite.core.reset import Selection, on_reset
from mqlite.protocols.mqtt import codec as C
from mqlite.protocols.mqtt.crossing import envelope_for
from mqlite.protocols.mqtt.retained import Retained
from mqlite.protocols.mqtt.sessions import NEVER, Session, SessionStore
from mqlite.security.authz import authorizer_for
from mqlite.security.users import Users

if TYPE_CHECKING:
    from mqlite.core.api import BrokerCore
    from mqlite.settings import Settings

log = logging.getLogger("mqlite.mqtt")

#: What the server tells 5.0 clients in CONNACK (and enforces).
RECEIVE_MAXIMUM = 1024
TOPIC_ALIAS_MAXIMUM = 1024


class MqttBroker:
    """See module docstring."""

    def __init__(self, core: BrokerCore, settings: Settings | None) -> None:
        self.core = core
        self.settings = settings
        self.users = Users.from_settings(settings) if settings is not None else Users()
        self.authz = authorizer_for(core, settings) if settings is not None else None
        self.max_packet = int(getattr(settings, "mqtt_max_packet_size", 0) or C.MAX_PACKET)
        self.sessions = SessionStore(core)
        self.retained = Retained(core.catalog)
        self.wills: dict[str, tuple[asyncio.TimerHandle, C.Will]] = {}  # client id -> delayed will
        self.delivery_tasks: set[asyncio.Task[None]] = set()  # every Outbound task (delivery.py)
        self.sessions.restore(self.expire_later)
        on_reset(core, self.reset_after, "after")

    def reset_after(self, sel: Selection) -> None:
        """A reset (core/reset.py) deleted core objects: a session whose queue went ends
        and its client is disconnected (as RabbitMQ does when an MQTT queue is deleted);
        a full reset also empties the retained messages; amq.topic comes back."""
        self.sessions.router = self.sessions.topic_router()
        if sel.everything:
            self.retained.messages.clear()
        for s in list(self.sessions.sessions.values()):
            if sel.everything or s.queue_name in sel.queues:
                conn = s.conn
                s.inflight.clear()
                self.sessions.end(s)
                if conn is not None:
                    conn.session = None
                    conn.close()

    def now_ms(self) -> int:
        return int(self.core.clock.now_ms())

    # -- authorization (security/authz.py): MQTT topics are amq.topic's routing keys --------
    def allowed(self, principal: str | None, op: str) -> bool:
        authz = self.authz
        return authz is None or not authz.enabled or authz.allowed(principal, op, "router", "amq.topic")

    # -- publishing -----------------------------------------------------------------------------
    async def publish(self, topic: str, payload: bytes, qos: int, retain: bool, props: C.Props,
                      client_id: str = "") -> int:
        """Route one message through amq.topic (and keep it when retained): destinations reached."""
        now = self.now_ms()
        if retain:
            self.retained.set(topic, payload, qos, props, now)
        env = envelope_for(topic, payload, qos, retain, props, now, client_id)
        result = await self.sessions.router.publish(env)
        return int(result.routed)

    async def publish_many(self, items: list[tuple[str, bytes, int, bool, C.Props]],
                           client_id: str = "") -> list[int]:
        """`publish` for the PUBLISHes of one read, in order: one append per destination
        queue (`Router.publish_batch`); destinations reached, per message."""
        now = self.now_ms()
        envs = []
        for topic, payload, qos, retain, props in items:
            if retain:
                self.retained.set(topic, payload, qos, props, now)
            envs.append(envelope_for(topic, payload, qos, retain, props, now, client_id))
        results = await self.sessions.router.publish_batch(envs)
        return [int(r.routed) for r in results]

    # -- wills and expiry ----------------------------------------------------------------------
    def will_later(self, client_id: str, will: C.Will, delay: float) -> None:
        """Publish `will` after `delay` seconds unless the session is resumed first."""
        self.cancel_will(client_id)
        if delay <= 0:
            self._fire_will(client_id, will)
            return
        loop = asyncio.get_running_loop()
        self.wills[client_id] = (loop.call_later(delay, self._fire_will, client_id, will), will)

    def cancel_will(self, client_id: str) -> None:
        pending = self.wills.pop(client_id, None)
        if pending is not None:
            pending[0].cancel()

    def fire_will(self, client_id: str) -> None:
        """Publish a pending will now (its session ended before the delay was over)."""
        pending = self.wills.pop(client_id, None)
        if pending is not None:
            pending[0].cancel()
            self._fire_will(client_id, pending[1])

    def _fire_will(self, client_id: str, will: C.Will) -> None:
        self.wills.pop(client_id, None)
        props = {k: v for k, v in will.props.items() if k != C.WILL_DELAY}
        task = asyncio.ensure_future(self.publish(will.topic, will.payload, will.qos, will.retain, props, client_id))
        task.add_done_callback(_log_failure)

    def expire_later(self, s: Session, seconds: float) -> None:
        if s.expiry == NEVER:
            return
        loop = asyncio.get_running_loop()
        s.expiry_timer = loop.call_later(seconds, self._expire, s)

    def _expire(self, s: Session) -> None:
        s.expiry_timer = None
        if s.conn is None and not s.ended:
            self.fire_will(s.client_id)  # MQTT 5.0 3.1.3.2.2: the will goes when the session ends
            self.sessions.end(s)


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("MQTT will not published: %s", task.exception())
