"""STOMP ERROR frames: `StompError` and the one table mapping AMQP/core errors to them.

Texts are RabbitMQ 3.10's STOMP plugin's, word for word (scripts/conformance-stomp.sh
compares them): `message` header, then the detail as a `text/plain` body. An AMQP
error raised by the shared AMQP model (NOT_FOUND, ACCESS_REFUSED, PRECONDITION_FAILED...)
becomes RabbitMQ's "amqp death": `message` is the reply code's name in lower case, the
body the reply text.
Concurrency: pure.
"""

from __future__ import annotations

from mqlite.errors import ProtocolError

SUPPORTED = ("1.0", "1.1", "1.2")

_CODE_NAMES = {
    320: "connection_forced", 402: "invalid_path", 403: "access_refused", 404: "not_found",
    405: "resource_locked", 406: "precondition_failed", 501: "frame_error", 502: "syntax_error",
    503: "command_invalid", 504: "channel_error", 505: "unexpected_frame", 506: "resource_error",
    530: "not_allowed", 540: "not_implemented", 541: "internal_error",
}


class StompError(ProtocolError):
    """One ERROR frame (see module docstring)."""

    def __init__(self, message: str, detail: str) -> None:
        super().__init__(f"{message}: {detail.strip()}", rule="stomp")
        self.title = message
        self.detail = detail


def from_amqp(exc: object) -> StompError:
    """An `AmqpError` of the shared model as RabbitMQ's STOMP plugin reports it."""
    code = getattr(exc, "code", 541)
    return StompError(_CODE_NAMES.get(code, "internal_error"), str(getattr(exc, "text", exc)))


def missing_destination(command: str) -> StompError:
    return StompError("Missing destination", f'"{command}" must include a \'destination\' header\n')


def unknown_destination(dest: str) -> StompError:
    return StompError("Unknown destination", f"'{dest}' is not a valid destination.\nValid destination types are: "
                      "/temp-queue, /exchange, /topic, /queue, /amq/queue, /reply-queue/.\n")


def invalid_destination(content: str, kind: str) -> StompError:
    return StompError("Invalid destination", f"'{content}' is not a valid {kind} destination\n")


def invalid_for(dest: str, command: str) -> StompError:
    return StompError("Invalid destination", f"'{dest}' is not a valid destination for '{command}'\n")


def not_logged_in() -> StompError:
    return StompError("Illegal command", "You must log in using CONNECT first")


def version_mismatch() -> StompError:
    return StompError("Version mismatch", f"Supported versions are {','.join(SUPPORTED)}\n")


def access_refused(user: str) -> StompError:
    return StompError("Bad CONNECT", f"Access refused for user '{user}'\n")


def vhost_denied(vhost: str) -> StompError:
    return StompError("Bad CONNECT", f"Virtual host '{vhost}' access denied")


def bad_command(command: str) -> StompError:
    return StompError("Bad command", f'Could not interpret command "{command}"\n')


def missing_ack_header(command: str, header: str) -> StompError:
    return StompError("Missing header", f'"{command}" must include the "{header}" header\n')


def invalid_ack_header(command: str, header: str) -> StompError:
    return StompError("Invalid header", f'"{command}" must include a valid "{header}" header\n')


def no_subscription_for(message_id: str) -> StompError:
    return StompError("Subscription not found", f'Message with id "{message_id}" has no subscription')


def unknown_delivery_tag(tag: int) -> StompError:
    return StompError("Message not found", f"unknown delivery tag {tag}\n")


def missing_transaction(command: str) -> StompError:
    return StompError("Missing transaction", f'"{command}" must include a \'transaction\' header\n')


def bad_transaction(tx: str) -> StompError:
    return StompError("Bad transaction", f'Invalid transaction identifier: "{tx}"\n')


def header_not_allowed(header: str, command: str) -> StompError:
    return StompError("Invalid header", f"'{header}' is not allowed on '{command}'.\n")


def duplicate_subscription(tag: str) -> StompError:
    return StompError("Duplicated subscription identifier", f"A subscription identified by '{tag}' already exists.")


def durable_needs_id() -> StompError:
    return StompError("Missing Header", "Header 'id' is required for durable subscriptions")


def unsubscribe_needs_id() -> StompError:
    return StompError("Missing destination or id", "UNSUBSCRIBE must include a 'destination' or 'id' header")


def no_such_subscription(description: str) -> StompError:
    return StompError("No subscription found", "UNSUBSCRIBE must refer to an existing subscription.\n"
                      f'Subscription to "{description}" not found.\n')


def invalid_unsubscribe_id() -> StompError:
    return StompError("Invalid id", "UNSUBSCRIBE 'id' may not start with /temp-queue/\n")
