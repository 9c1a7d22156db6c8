"""Dispatch of SNS deliveries that do not go through a core queue, by protocol.

`deliver_elsewhere(state, envelope, binding, info)` is called by the `sns` transform for
confirmed subscriptions whose protocol is not `sqs`: `http`/`https` -> an HTTP POST
(http_subscriptions), `lambda` -> an invocation of `settings.lambda_endpoint`
(lambda_invoke; the outbox without one), `firehose` -> a record appended to the
delivery stream's durable buffer (the Firehose front-end's `__mqlite.firehose.<name>` stream,
which its delivery loop ships to the destination at its next buffer flush: the raw
message with RawMessageDelivery, else the notification JSON; a missing delivery stream
dead-letters the message), `email`/`email-json` -> the SMTP relay
(`settings.smtp_relay`) or the outbox, `sms` and `application` -> the outbox.
Each returns at once; the I/O runs as tasks on the core loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

import orjson

from mqlite.core.message import Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import SnsState
from mqlite.protocols.aws.targets import Delivery, TargetFailed, target_for

log = logging.getLogger("mqlite.aws.sns")
_TASKS: set[asyncio.Task[None]] = set()


def deliver_elsewhere(state: SnsState, env: Envelope, binding: Binding, info: Mapping[str, Any]) -> None:
    protocol = info["protocol"]
    if protocol in ("http", "https"):
        from mqlite.protocols.aws.sns.http_subscriptions import deliver_notification

        deliver_notification(state, env, binding, info)
    elif protocol == "lambda":
        from mqlite.protocols.aws.sns.lambda_invoke import invoke

        invoke(state, env, binding, info)
    elif protocol == "firehose":
        task = asyncio.get_running_loop().create_task(to_firehose(state, env, info))
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
    else:
        from mqlite.protocols.aws.sns.outbox import deliver

        deliver(state, env, info)


def delivery_stream_name(arn: str) -> str:
    """`arn:aws:firehose:<r>:<a>:deliverystream/<name>` -> name."""
    return arn.rsplit(":", 1)[-1].split("/", 1)[-1]


async def to_firehose(state: SnsState, env: Envelope, info: Mapping[str, Any]) -> None:
    """A firehose subscription: through Firehose's target (`aws/targets.py`)."""
    from mqlite.protocols.aws.sns.envelope import message_for, notification
    from mqlite.protocols.aws.sns.http_subscriptions import dead_letter

    if info.get("attrs", {}).get("RawMessageDelivery") == "true":
        data = message_for(env, "firehose").encode()
    else:
        data = orjson.dumps(notification(state, env, info, "firehose"))
    name = delivery_stream_name(info["endpoint"])
    try:
        await target_for(state.core, state.settings, "firehose").deliver(name, Delivery(data))
    except TargetFailed:
        await dead_letter(state, info, Envelope(body=data), f"delivery stream {name} does not exist")
    except Exception as exc:  # noqa: BLE001 - contained per delivery, as in the router
        await dead_letter(state, info, Envelope(body=data), f"{type(exc).__name__}: {exc}")
