"""stomp.py (PyPI, pinned in pyproject's test extra) with pika against mqlite's STOMP
front-end: each scenario of `stomp_scenarios.py` (also run against RabbitMQ 3.10's STOMP
plugin by scripts/conformance-stomp.sh, which gave these same results except where a
test says otherwise)."""

from __future__ import annotations

from typing import Any

import pytest
import stomp_scenarios as scenarios


@pytest.fixture
def run(mqlite_server: Any) -> Any:
    def go(name: str) -> dict[str, Any]:
        return scenarios.run(name, mqlite_server.stomp_port, mqlite_server.amqp_port)

    return go


@pytest.mark.parametrize("version", ["1.0", "1.1", "1.2"])
def test_send_with_receipt_then_subscribe_delivers_headers_in_each_version(run: Any, version: str) -> None:
    got = run("queue_roundtrip")[version]
    assert got["body"] == f"hello {version}"
    assert got["subscription"] == "s1" and got["destination_ok"] and got["redelivered"] == "false"
    assert got["content-type"] == "text/plain"
    # 1.1/1.2 escape ':' and '\' in header values; 1.0 has no escaping (stomp.py 1.0 sends `\c` raw)
    assert got["custom"] == ("a:b\\c" if version != "1.0" else "a:b:")
    assert got["has_ack_header"] is False  # the `ack` header only for client acks in 1.2


def test_client_ack_is_cumulative_and_unacked_messages_return_redelivered(run: Any) -> None:
    assert run("client_ack_cumulative") == {"first": ["m0", "m1", "m2"], "left": 0,
                                            "redelivered": {"body": "m2", "redelivered": "true"}}


def test_client_individual_acks_one_and_nack_requeues_unless_requeue_false(run: Any) -> None:
    assert run("client_individual_and_nack") == {"first": ["m0", "m1", "m2"], "left": 0,
                                                 "requeued": {"body": "m1", "redelivered": "true"}}


def test_stomp_10_acks_by_message_id(run: Any) -> None:
    assert run("version_10_ack") == {"again": {"body": "one", "redelivered": "true"}, "first": "one", "left": 0}


def test_transaction_abort_stores_nothing_and_commit_stores_in_order(run: Any) -> None:
    assert run("transactions") == {"committed": ["c1", "c2"], "held_during_tx": 0, "left": 0}


def test_topic_destinations_meet_amqp_on_amq_topic_both_ways(run: Any) -> None:
    got = run("topic_crossing")
    assert got["stomp_got"] == {"body": "from pika", "content-type": "application/json",
                                "destination": "/topic/orders-RUN.eu", "n": "7", "region": "eu",
                                "subscription": "t"}
    assert got["amqp_got"] == {
        "body": "from stomp", "content_type": "text/plain", "correlation_id": "c9", "delivery_mode": 2,
        "exchange": "amq.topic", "priority": 3, "routing_key": "orders-RUN.us.west",
        # RabbitMQ 3.10 copies every non-property header, its frame headers included
        "headers": {"content-length": "10", "receipt": "snd", "x-custom": "v"},
    }


def test_amqp_properties_become_stomp_headers_on_exchange_destinations(run: Any) -> None:
    got = run("exchange_and_properties")
    assert got["got"] == {
        "amqp-message-id": "mid-1", "app-id": "app", "body": "props", "content-encoding": "utf-8",
        "content-type": "text/plain", "correlation-id": "corr", "destination": "/exchange/ex-RUN/k1",
        "expiration": "60000", "i": "42", "persistent": "true", "priority": "4",
        "reply-to": "/reply-queue/replies", "s": "text", "timestamp": "1700000000", "type": "order",
        "b": None,  # a boolean header has no STOMP form (RabbitMQ drops it too)
    }
    assert got["stomp_to_stomp"] == {"body": "to exchange", "destination": "/exchange/ex-RUN/k1"}


def test_amq_queue_destination_uses_the_queue_amqp_declared(run: Any) -> None:
    assert run("amq_queue_crossing") == {
        "amqp_got": {"body": "to amqp", "headers": {"app": "x", "content-length": "7", "receipt": "r"},
                     "routing_key": "amq-RUN"},
        "stomp_got": {"body": "to stomp", "destination": "/queue/amq-RUN", "from": "pika"},
    }


def test_temp_queue_reply_to_reaches_the_sender_through_an_amqp_responder(run: Any) -> None:
    assert run("temp_queue_reply") == {
        "destination_is_reply_queue": True, "reply_to_prefix": "amq.gen",
        "reply": {"body": "pong:ping", "correlation-id": "c1", "subscription": "/temp-queue/r1"},
    }


def test_send_to_a_transient_amqp_queue_is_precondition_failed(run: Any) -> None:
    assert run("inequivalent_queue") == {
        "command": "ERROR", "message": "precondition_failed", "closed": True,
        "body": "PRECONDITION_FAILED - inequivalent arg 'durable' for queue 'transient-RUN' in vhost '/': "
                "received 'true' but current is 'false'",
    }


def test_durable_topic_subscription_keeps_messages_while_away(run: Any) -> None:
    got = run("durable_topic_subscription")
    assert got["got"] == {"body": "while away", "destination": "/topic/dur-RUN", "subscription": "d1"}


def test_heart_beats_are_negotiated_sent_and_a_silent_client_is_closed(run: Any) -> None:
    assert run("heartbeats") == {"connected_heart_beat": ["heart-beat:1000,1000"], "got_heart_beats": True,
                                 "silent_client_closed": True}


def test_malformed_send_stores_nothing_and_other_clients_go_on(run: Any) -> None:
    assert run("bad_input_stores_nothing") == {"bad_closed": True, "left": 0, "stored": "good"}


# RabbitMQ 3.10's texts (scripts/conformance-stomp.sh); mqlite closes after every ERROR
# as STOMP 1.2 requires, where RabbitMQ keeps some connections open.
EXPECTED_ERRORS = {
    "not_logged_in": ("Illegal command", "You must log in using CONNECT first"),
    "bad_login": ("Bad CONNECT", "Access refused for user 'guest'\n"),
    "unknown_vhost": ("Bad CONNECT", "Virtual host 'nohost' access denied"),
    "version_mismatch": ("Version mismatch", "Supported versions are 1.0,1.1,1.2\n"),
    "unknown_destination": ("Unknown destination", "'/foo/a' is not a valid destination.\nValid destination "
                            "types are: /temp-queue, /exchange, /topic, /queue, /amq/queue, /reply-queue/.\n"),
    "missing_destination": ("Missing destination", "\"SEND\" must include a 'destination' header\n"),
    "blank_queue": ("Invalid destination", "'/' is not a valid queue destination\n"),
    "temp_queue_send": ("Invalid destination", "'/temp-queue/x' is not a valid destination for 'SEND'\n"),
    "message_id_on_send": ("Invalid header", "'message-id' is not allowed on 'SEND'.\n"),
    "no_such_exchange": ("not_found", "NOT_FOUND - no exchange 'nope-x' in vhost '/'"),
    "no_such_amq_queue": ("not_found", "NOT_FOUND - no queue 'nope-q' in vhost '/'"),
    "bad_command": ("Bad command", 'Could not interpret command "FOO"\n'),
    "ack_missing_id": ("Missing header", '"ACK" must include the "id" header\n'),
    "ack_invalid_id": ("Invalid header", '"ACK" must include a valid "id" header\n'),
    "ack_unknown_subscription": ("Subscription not found", 'Message with id "T_1@@session-xx@@5" has no subscription'),
    "begin_without_transaction": ("Missing transaction", "\"BEGIN\" must include a 'transaction' header\n"),
    "commit_unknown_transaction": ("Bad transaction", 'Invalid transaction identifier: "t9"\n'),
    "unsubscribe_unknown": ("No subscription found", "UNSUBSCRIBE must refer to an existing subscription.\n"
                            "Subscription to \"id='9'\" not found.\n"),
    "unsubscribe_without_id": ("Missing destination or id", "UNSUBSCRIBE must include a 'destination' or 'id' header"),
    "duplicate_subscription": ("Duplicated subscription identifier", "A subscription identified by 'T_1' already exists."),
    "durable_without_id": ("Missing Header", "Header 'id' is required for durable subscriptions"),
    # RabbitMQ closes on these without an ERROR frame; mqlite says why first
    "undefined_escape": ("Invalid frame", "undefined escape sequence in header: b'\\\\t'"),
    "header_without_colon": ("Invalid frame", "header line without a name and colon: b'xyz'"),
    "bad_content_length": ("Invalid frame", "content-length is not a non-negative integer: 'abc'"),
    "content_length_without_nul": ("Invalid frame", "body is not terminated by NUL after content-length octets"),
}


def test_every_bad_frame_gets_rabbitmqs_error_text_and_the_connection_is_closed(run: Any) -> None:
    got = run("bad_input")
    assert set(got) == set(EXPECTED_ERRORS)
    for name, (message, body) in EXPECTED_ERRORS.items():
        assert got[name] == {"command": "ERROR", "message": message, "body": body, "closed": True}, name
