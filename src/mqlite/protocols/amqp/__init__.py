"""AMQP 0-9-1 front-end with RabbitMQ's extensions (pika, aio-pika, kombu/Celery).

`server.start(core, settings, host, port)` serves it; docs/amqp-mapping.md says how
exchanges, queues, properties and dead-lettering map onto core routers and queues.
"""
