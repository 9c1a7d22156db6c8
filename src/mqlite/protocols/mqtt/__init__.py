"""MQTT 3.1.1 and 5.0 front-end (issue #27), built as RabbitMQ's MQTT plugin is.

Mapping onto the core model:

- topics are routing keys of the `amq.topic` router (`/` and `.` swap, `+` is `*`),
  so MQTT and AMQP publishers and subscribers meet there (`topics.py`, `crossing.py`);
- a session's subscriptions are bindings of its queue `mqtt-subscription-<id>qos1` to
  `amq.topic`; a shared subscription's members consume one queue (`sessions.py`);
- retained messages and persistent sessions live in the catalog (`retained.py`,
  `sessions.py`); deliveries are leases of the session's queues (`delivery.py`).

Modules: `codec` (sans-IO packets), `topics`, `crossing`, `sessions`, `retained`,
`broker` (shared state), `connection` (one client), `delivery`, `server` (listener).
"""
