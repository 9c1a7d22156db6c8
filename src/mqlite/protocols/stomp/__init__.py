"""STOMP 1.0, 1.1 and 1.2 front-end (RabbitMQ's STOMP plugin dialect) over the AMQP model."""
