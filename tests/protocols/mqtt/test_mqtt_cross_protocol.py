"""MQTT meets AMQP and SQS as RabbitMQ maps it (docs/cross-protocol.md): MQTT `a/b/c` is
amq.topic routing key `a.b.c`; user properties are AMQP headers and SQS attributes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import boto3
import pika

from tests.protocols.mqtt.conftest import Client


def _channel(server: Any) -> Any:
    return pika.BlockingConnection(pika.ConnectionParameters("127.0.0.1", server.amqp_port)).channel()


def test_mqtt_publish_reaches_an_amqp_queue_bound_to_amq_topic(mqtt_server: Any,
                                                                mqtt_client: Callable[..., Client]) -> None:
    ch = _channel(mqtt_server)
    ch.queue_declare("readings", durable=True)
    ch.queue_bind("readings", "amq.topic", "sensors.*.temp")
    pub = mqtt_client("pub", 5)
    pub.publish("sensors/kitchen/temp", b"21.5", qos=1, props={
        "UserProperty": [("unit", "C")], "ContentType": "text/plain", "ResponseTopic": "replies/kitchen",
        "CorrelationData": b"req-1", "MessageExpiryInterval": 60})
    pub.publish("sensors/kitchen/humidity", b"40", qos=1)  # not bound: not in the queue
    method, props, body = ch.basic_get("readings", auto_ack=True)
    assert body == b"21.5"
    assert (method.exchange, method.routing_key) == ("amq.topic", "sensors.kitchen.temp")
    assert props.headers == {"unit": "C"}
    assert (props.content_type, props.reply_to, props.correlation_id) == ("text/plain", "replies.kitchen", "req-1")
    assert props.delivery_mode == 2 and props.expiration == "60000"
    assert ch.basic_get("readings")[0] is None


def test_amqp_publish_to_amq_topic_reaches_mqtt_subscribers(mqtt_server: Any, mqtt_client: Callable[..., Client]) -> None:
    v5 = mqtt_client("v5", 5)
    v5.subscribe("devices/+/cmd", qos=1)
    v3 = mqtt_client("v3", 4)
    v3.subscribe("devices/#", qos=1)
    ch = _channel(mqtt_server)
    ch.basic_publish("amq.topic", "devices.d1.cmd", b"reboot", pika.BasicProperties(
        headers={"by": "ops", "n": 3}, content_type="text/plain", correlation_id="c-9", reply_to="devices.d1.ack",
        delivery_mode=2))
    msg = v5.get()
    assert (msg.topic, msg.payload, msg.qos) == ("devices/d1/cmd", b"reboot", 1)
    p = msg.properties
    assert sorted(p.UserProperty) == [("by", "ops"), ("n", "3")]
    assert (p.ContentType, p.CorrelationData, p.ResponseTopic) == ("text/plain", b"c-9", "devices/d1/ack")
    assert v3.get().payload == b"reboot"


def test_dots_and_slashes_swap_as_in_rabbitmq(mqtt_server: Any, mqtt_client: Callable[..., Client]) -> None:
    ch = _channel(mqtt_server)
    ch.queue_declare("versions", durable=True)
    ch.queue_bind("versions", "amq.topic", "fw.v1/2.#")
    pub = mqtt_client("pub", 4)
    pub.publish("fw/v1.2/notes", b"n", qos=1)
    method, _, body = ch.basic_get("versions", auto_ack=True)
    assert (method.routing_key, body) == ("fw.v1/2.notes", b"n")


def test_user_properties_are_sqs_message_attributes_on_a_shared_queue(
        mqtt_server: Any, mqtt_client: Callable[..., Client]) -> None:
    ch = _channel(mqtt_server)
    ch.queue_declare("mqtt-to-sqs", durable=True)
    ch.queue_bind("mqtt-to-sqs", "amq.topic", "orders.#")
    pub = mqtt_client("pub", 5)
    pub.publish("orders/eu/new", b'{"id": 1}', qos=1, props={"UserProperty": [("tenant", "acme")]})
    sqs = boto3.client("sqs", endpoint_url=mqtt_server.endpoint_url, region_name="us-east-1",
                       aws_access_key_id="test", aws_secret_access_key="test")
    url = sqs.get_queue_url(QueueName="mqtt-to-sqs")["QueueUrl"]
    (msg,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=2)["Messages"]
    assert msg["Body"] == '{"id": 1}'
    assert msg["MessageAttributes"] == {"tenant": {"DataType": "String", "StringValue": "acme"}}


def test_mqtt_session_queue_is_visible_to_amqp_as_rabbitmq_names_it(mqtt_server: Any,
                                                                    mqtt_client: Callable[..., Client]) -> None:
    sub = mqtt_client("dev42", 4, clean=False)
    sub.subscribe("a/b", qos=1)
    ch = _channel(mqtt_server)
    ok = ch.queue_declare("mqtt-subscription-dev42qos1", passive=True)
    assert ok.method.queue == "mqtt-subscription-dev42qos1"
