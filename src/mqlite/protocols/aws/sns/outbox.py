"""Email, SMS and mobile-push deliveries: an SMTP relay or the outbox.

`email` / `email-json` subscriptions are sent through `settings.smtp_relay`
("host:port", plain SMTP, no auth) when it is set: `email` gets the message text as
the body, `email-json` the notification JSON; From `no-reply@sns.amazonaws.com`,
Subject the message's Subject (else "AWS Notification Message"). Without a relay, and
for `sms` and `application` always, the delivery is kept in the outbox
(newest last, at most OUTBOX_MAX records, in memory: an outbox is for looking at what
would have been sent), which `GET /_mqlite/sns/outbox[?protocol=...]` lists.
Confirmation messages of email subscriptions go the same way (they carry the
SubscribeURL and token). SMTP sends run in a worker thread (smtplib), so the loop never
blocks on a slow relay; a failed send is logged and kept in the outbox with `error`.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any

import orjson

from mqlite.core.message import Envelope
from mqlite.protocols.aws.sns.common import SnsState, iso_timestamp, now_ms
from mqlite.protocols.aws.sns.envelope import (
    M_ID,
    M_SUBJECT,
    M_TOPIC,
    message_for,
    notification,
)

log = logging.getLogger("mqlite.aws.sns")
OUTBOX_MAX = 10_000
FROM = "no-reply@sns.amazonaws.com"


def keep(state: SnsState, record: dict[str, Any]) -> None:
    record.setdefault("Timestamp", iso_timestamp(now_ms()))
    state.outbox.append(record)
    if len(state.outbox) > OUTBOX_MAX:
        del state.outbox[: len(state.outbox) - OUTBOX_MAX]


def deliver(state: SnsState, env: Envelope, info: Mapping[str, Any]) -> None:
    """Deliver one notification to an email/sms/application subscription."""
    protocol = info["protocol"]
    subject = env.meta[M_SUBJECT].decode() if M_SUBJECT in env.meta else None
    if protocol == "email-json":
        text = orjson.dumps(notification(state, env, info, protocol)).decode()
    else:
        text = message_for(env, protocol)
    record = {
        "Type": "Notification", "Protocol": protocol, "Endpoint": info["endpoint"],
        "SubscriptionArn": info["arn"], "TopicArn": env.meta[M_TOPIC].decode(),
        "MessageId": env.meta[M_ID].decode(), "Subject": subject, "Message": text,
    }
    send_or_keep(state, record)


def send_or_keep(state: SnsState, record: dict[str, Any]) -> None:
    """Email through the relay when configured; everything else to the outbox."""
    relay = state.settings.smtp_relay
    if record["Protocol"] in ("email", "email-json") and relay:
        asyncio.get_running_loop().create_task(_send_mail(state, relay, record))
        return
    keep(state, record)


async def _send_mail(state: SnsState, relay: str, record: dict[str, Any]) -> None:
    msg = EmailMessage()
    msg["From"] = FROM
    msg["To"] = record["Endpoint"]
    msg["Subject"] = record.get("Subject") or "AWS Notification Message"
    msg["X-Amz-Sns-Message-Id"] = record["MessageId"]
    msg["X-Amz-Sns-Topic-Arn"] = record["TopicArn"]
    msg.set_content(record["Message"])
    host, _, port = relay.rpartition(":")
    try:
        await asyncio.to_thread(_smtp_send, host or relay, int(port or 25), msg)
    except Exception as exc:  # noqa: BLE001 - the relay's problem, not the publisher's
        log.warning("sns: SMTP relay %s failed: %s", relay, exc)
        keep(state, {**record, "error": f"{type(exc).__name__}: {exc}"})


def _smtp_send(host: str, port: int, msg: EmailMessage) -> None:
    with smtplib.SMTP(host, port, timeout=15) as smtp:
        smtp.send_message(msg)


def listing(state: SnsState, protocol: str | None = None) -> list[dict[str, Any]]:
    return [r for r in state.outbox if protocol is None or r.get("Protocol") == protocol]
