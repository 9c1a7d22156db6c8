"""RabbitMQ's STOMP destinations: parse a `destination` header, format one for MESSAGE.

Owns the naming rules of RabbitMQ's STOMP plugin (rabbitmq.com/docs/stomp,
"Destinations"): `/queue/<name>` (declared durable if missing), `/amq/queue/<name>`
(an existing queue, never declared), `/topic/<key>` (exchange `amq.topic`),
`/exchange/<name>[/<key>]`, `/temp-queue/<id>` (reply-to only), `/reply-queue/<name>`
(slashes allowed in the name) and a bare `<name>` (a queue). `%2F` in a segment is a
literal slash. `routing(dest)` gives the (exchange, routing key) a SEND publishes with;
`format_destination` is the inverse used on MESSAGE frames (queue for the default
exchange, topic for `amq.topic`, else exchange), escaping `/`, `%` and non-ASCII.
Concurrency: pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from mqlite.protocols.stomp import errors as E

TOPIC_EXCHANGE = "amq.topic"


@dataclass(frozen=True, slots=True)
class Destination:
    kind: str  # queue | amqqueue | topic | exchange | temp_queue | reply_queue
    name: str  # queue/exchange name, topic key, temp-queue id
    key: str | None = None  # an exchange destination's routing key / binding pattern


def _unescape(segment: str) -> str:
    return segment.replace("%2F", "/")


def parse(dest: str) -> Destination:
    """The destination, or a StompError with RabbitMQ's text."""
    parts = dest.split("/")
    if len(parts) == 1:
        return Destination("queue", _unescape(dest))
    if parts[0] != "":
        raise E.unknown_destination(dest)
    head = parts[1]
    if head == "exchange":
        rest = parts[2:]
        if not rest or rest[0] == "" or len(rest) > 2:
            raise E.invalid_destination(_url(rest), "exchange")
        return Destination("exchange", _unescape(rest[0]), _unescape(rest[1]) if len(rest) == 2 else None)
    if head == "amq" and len(parts) > 2 and parts[2] == "queue":
        return _simple("amqqueue", parts[3:])
    if head == "reply-queue" and len(parts) > 2:
        return Destination("reply_queue", dest[len("/reply-queue/"):])
    kind = {"queue": "queue", "topic": "topic", "temp-queue": "temp_queue"}.get(head)
    if kind is None:
        raise E.unknown_destination(dest)
    return _simple(kind, parts[2:])


def _simple(kind: str, rest: list[str]) -> Destination:
    if len(rest) == 1 and rest[0] != "":
        return Destination(kind, _unescape(rest[0]))
    raise E.invalid_destination(_url(rest), kind)


def _url(rest: list[str]) -> str:
    return "/" + "/".join(rest) if rest else ""


def routing(dest: Destination) -> tuple[str, str]:
    """(exchange, routing key) of a SEND to `dest`."""
    if dest.kind == "exchange":
        return dest.name, dest.key or ""
    if dest.kind == "topic":
        return TOPIC_EXCHANGE, dest.name
    return "", dest.name


def _escape(text: str) -> str:
    out = []
    for ch in text:
        if ch == "/":
            out.append("%2F")
        elif ch == "%":
            out.append("%25")
        elif ord(ch) < 32 or ord(ch) > 127:
            out.extend(f"%{b:02X}" for b in ch.encode())
        else:
            out.append(ch)
    return "".join(out)


def format_destination(exchange: str, routing_key: str) -> str:
    """The `destination` header of a MESSAGE routed through `exchange` with `routing_key`."""
    if exchange == "":
        return "/queue/" + _escape(routing_key)
    if exchange == TOPIC_EXCHANGE:
        return "/topic/" + _escape(routing_key)
    if routing_key == "":
        return "/exchange/" + _escape(exchange)
    return f"/exchange/{_escape(exchange)}/{_escape(routing_key)}"


#: reply-to values already naming a destination are passed through; others are queues
DEST_PREFIXES = ("/temp-queue", "/exchange", "/topic", "/queue", "/amq/queue", "/reply-queue/")


def reply_to_header(value: str) -> str:
    """RabbitMQ's MESSAGE reply-to: a plain queue name becomes `/reply-queue/<name>`."""
    return value if value.startswith(DEST_PREFIXES) else "/reply-queue/" + value
