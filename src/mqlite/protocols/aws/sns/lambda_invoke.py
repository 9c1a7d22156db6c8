"""Lambda subscriptions: invoke a local Lambda-compatible endpoint with the SNS event.

With `settings.lambda_endpoint` set (the base URL of a Lambda Invoke API, e.g. AWS SAM's
`sam local start-lambda`), each notification is POSTed to
`<endpoint>/2015-03-31/functions/<function name>/invocations` with
`X-Amz-Invocation-Type: Event` (SNS invokes asynchronously) and the Lambda SNS event:
`{"Records": [{"EventVersion": "1.0", "EventSubscriptionArn", "EventSource": "aws:sns",
"Sns": {Type, MessageId, TopicArn, Subject, Message, Timestamp, SignatureVersion,
Signature, SigningCertUrl, UnsubscribeUrl, MessageAttributes}}]}` (note Lambda's
`...Url` spelling). Retries and dead-lettering as for HTTP subscriptions. Without an
endpoint the event is kept in the outbox.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import orjson

from mqlite.core.message import Envelope
from mqlite.core.router import Binding
from mqlite.protocols.aws.sns.common import SnsState
from mqlite.protocols.aws.sns.envelope import notification


def function_name(arn: str) -> str:
    """`arn:aws:lambda:<r>:<a>:function:<name>[:qualifier]` -> name (or the text as is)."""
    parts = arn.split(":")
    if len(parts) >= 7 and parts[0] == "arn" and parts[2] == "lambda":
        return parts[6]
    return arn


def event(state: SnsState, env: Envelope, info: Mapping[str, Any]) -> dict[str, Any]:
    doc = notification(state, env, info, "lambda")
    sns = {
        "Type": doc["Type"], "MessageId": doc["MessageId"], "TopicArn": doc["TopicArn"],
        "Subject": doc.get("Subject"), "Message": doc["Message"], "Timestamp": doc["Timestamp"],
        "SignatureVersion": doc["SignatureVersion"], "Signature": doc["Signature"],
        "SigningCertUrl": doc["SigningCertURL"], "UnsubscribeUrl": doc["UnsubscribeURL"],
        "MessageAttributes": doc.get("MessageAttributes", {}),
    }
    return {"Records": [{
        "EventVersion": "1.0", "EventSubscriptionArn": info["arn"], "EventSource": "aws:sns",
        "Sns": sns,
    }]}


def invoke(state: SnsState, env: Envelope, binding: Binding, info: Mapping[str, Any]) -> None:
    body = orjson.dumps(event(state, env, info))
    endpoint = state.settings.lambda_endpoint
    if not endpoint:
        from mqlite.protocols.aws.sns.outbox import keep

        keep(state, {"Type": "Notification", "Protocol": "lambda", "Endpoint": info["endpoint"],
                     "SubscriptionArn": info["arn"], "Message": body.decode()})
        return
    from mqlite.protocols.aws.sns.http_subscriptions import (
        dead_letter,
        delivery_options,
    )

    url = (f"{endpoint.rstrip('/')}/2015-03-31/functions/"
           f"{quote(function_name(info['endpoint']), safe='')}/invocations")
    opts = delivery_options(state, info, binding.router, {"X-Amz-Invocation-Type": "Event"})
    opts["policy"] = False  # the operator's own Lambda endpoint, not a client's URL
    opts["content_type"] = "application/json"

    async def failed(out: Envelope, reason: str) -> None:
        await dead_letter(state, info, out, reason)

    state.core.routers.http.submit(url, Envelope(body=body), opts, on_failure=failed)
