"""Dispatch of SNS deliveries that do not go through a core queue, by protocol.

`deliver_elsewhere(state, envelope, binding, info)` is called by the `sns` transform for
confirmed subscriptions whose protocol is not `sqs`: `http`/`https` -> an HTTP POST
(http_subscriptions), `lambda` -> an invocation of `settings.lambda_endpoint`
(lambda_invoke; the outbox without one), `email`/`email-json` -> the SMTP relay
(`settings.smtp_relay`) or the outbox, `sms`, `application`, `firehose` -> the outbox.
Each returns at once; the I/O runs as tasks on the core loop.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mqlite.core.message import Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import SnsState


def deliver_elsewhere(state: SnsState, env: Envelope, binding: Binding, info: Mapping[str, Any]) -> None:
    protocol = info["protocol"]
    if protocol in ("http", "https"):
        from mqlite.protocols.aws.sns.http_subscriptions import deliver_notification

        deliver_notification(state, env, binding, info)
    elif protocol == "lambda":
        from mqlite.protocols.aws.sns.lambda_invoke import invoke

        invoke(state, env, binding, info)
    else:
        from mqlite.protocols.aws.sns.outbox import deliver

        deliver(state, env, info)
