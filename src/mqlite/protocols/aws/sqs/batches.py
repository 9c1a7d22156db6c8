"""SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch.

Whole-request rules (each a 400 for the request): no entries `EmptyBatchRequest`, more
than 10 `TooManyEntriesInBatchRequest`, an Id that is not 1-80 of `[A-Za-z0-9_-]`
`InvalidBatchEntryId`, repeated Ids `BatchEntryIdsNotDistinct`, SendMessageBatch bodies
and attributes over 1 MiB in total `BatchRequestTooLong`. Then each entry succeeds or
fails on its own: `Successful` / `Failed` with the entry's code and `SenderFault`.
Concurrency: the server's event loop.
"""

from __future__ import annotations

import re
from typing import Any

from mqlite.core.api import BrokerCore, Queue
from mqlite.protocols.aws.errors import map_core_error
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.sqs.common import MAX_SQS_MESSAGE, name_from_url
from mqlite.protocols.aws.sqs.messages import (
    NO_DEDUP_ID,
    _param_range,
    prepare_send,
    send_reply,
)
from mqlite.protocols.aws.wire import AwsError

_ENTRY_ID = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


def check_entries(entries: list[dict[str, Any]] | None, kind: str) -> list[dict[str, Any]]:
    """The whole-request rules; `kind` names the entry type in EmptyBatchRequest's text
    (`SendMessage`, `DeleteMessage`, `ChangeMessageVisibility`)."""
    if not entries:
        raise AwsError("EmptyBatchRequest", f"There should be at least one {kind}BatchRequestEntry in the request.", 400)
    if len(entries) > 10:
        raise AwsError("TooManyEntriesInBatchRequest", f"Maximum number of entries per request are 10. You have sent {len(entries)}.", 400)
    seen: set[str] = set()
    for entry in entries:
        eid = entry["Id"]
        if not _ENTRY_ID.match(eid):
            raise AwsError("InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.", 400)
        if eid in seen:
            raise AwsError("BatchEntryIdsNotDistinct", f"Id {eid} repeated.", 400)
        seen.add(eid)
    return entries


def failure(eid: str, exc: BaseException, receipt: str | None = None) -> dict[str, Any]:
    err = exc if isinstance(exc, AwsError) else map_core_error(exc)
    if err is None:
        raise exc
    if err.code == "ReceiptHandleIsInvalid" and receipt is not None:
        # A batch entry names the handle (a single DeleteMessage does not).
        err = AwsError(err.code, f'The input receipt handle "{receipt}" is not a valid receipt handle.', err.status)
    return {"Id": eid, "SenderFault": err.sender, "Code": _entry_code(err.code), "Message": err.message}


def _entry_code(code: str) -> str:
    # Per-entry codes are the query codes SQS has always used in batch results.
    return {
        "ReceiptHandleIsInvalid": "ReceiptHandleIsInvalid",
        "MessageNotInflight": "AWS.SimpleQueueService.MessageNotInflight",
    }.get(code, code)


class BatchActions:
    def __init__(self, core: BrokerCore) -> None:
        self.core = core

    def queue(self, url: str) -> Queue:
        return self.core.get_queue(name_from_url(url))

    async def send_message_batch(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """SendMessageBatch."""
        queue = self.queue(p["QueueUrl"])
        entries = check_entries(p.get("Entries"), "SendMessage")
        if _batch_bytes(entries) > MAX_SQS_MESSAGE:
            raise AwsError("BatchRequestTooLong", f"Batch requests cannot be longer than {MAX_SQS_MESSAGE} bytes. You have sent {_batch_bytes(entries, exact=True)} bytes.", 400)
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        prepared = []
        for e in entries:
            try:
                prepared.append((e["Id"], prepare_send(ctx, queue, e)))
            except AwsError as exc:
                if exc.code == "MissingParameter" or exc.message == NO_DEDUP_ID:
                    raise  # a FIFO entry without its group or deduplication id fails the request
                failed.append(failure(e["Id"], exc))
        if prepared:
            results = await _send_all(queue, [prep for _, prep in prepared])
            for (eid, prep), result in zip(prepared, results):
                if isinstance(result, BaseException):
                    failed.append(failure(eid, result))
                else:
                    ok.append({"Id": eid, **send_reply(prep, result)})
        return {"Successful": ok, "Failed": failed}

    async def delete_message_batch(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DeleteMessageBatch."""
        queue = self.queue(p["QueueUrl"])
        entries = check_entries(p.get("Entries"), "DeleteMessage")
        ok, failed = [], []
        results = await queue.delete_batch([e["ReceiptHandle"] for e in entries])
        for e, err in zip(entries, results):
            if err is None:
                ok.append({"Id": e["Id"]})
            else:
                failed.append(failure(e["Id"], err, e["ReceiptHandle"]))
        return {"Successful": ok, "Failed": failed}

    async def change_message_visibility_batch(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """ChangeMessageVisibilityBatch."""
        queue = self.queue(p["QueueUrl"])
        ok: list[dict[str, Any]] = []
        failed: list[dict[str, Any]] = []
        valid: list[dict[str, Any]] = []
        for e in check_entries(p.get("Entries"), "ChangeMessageVisibility"):
            try:
                vis = e.get("VisibilityTimeout")
                if vis is None:
                    raise AwsError("MissingParameter", "The request must contain the parameter VisibilityTimeout.", 400)
                _param_range("VisibilityTimeout", vis, 0, 43200)
                valid.append(e)
            except AwsError as exc:
                failed.append(failure(e["Id"], exc))
        if valid:
            results = queue.change_visibility_batch([(e["ReceiptHandle"], e["VisibilityTimeout"]) for e in valid])
            for e, err in zip(valid, results):
                if err is None:
                    ok.append({"Id": e["Id"]})
                else:
                    failed.append(failure(e["Id"], err, e["ReceiptHandle"]))
        return {"Successful": ok, "Failed": failed}


def _batch_bytes(entries: list[dict[str, Any]], exact: bool = False) -> int:
    """Bodies plus attributes, as SQS counts a batch; UTF-8 is at most 4 bytes a
    character, so short batches are cleared without encoding anything."""
    if not exact:
        rough = 0
        for e in entries:
            rough += len(e.get("MessageBody") or "")
            if "MessageAttributes" in e:
                rough = MAX_SQS_MESSAGE  # attributes present: count exactly
                break
        if rough * 4 <= MAX_SQS_MESSAGE:
            return rough * 4
    total = 0
    for e in entries:
        total += len((e.get("MessageBody") or "").encode())
        for name, a in (e.get("MessageAttributes") or {}).items():
            value = a.get("StringValue") or a.get("BinaryValue") or b""
            total += len(name.encode()) + len(a.get("DataType", "")) + len(
                value.encode() if isinstance(value, str) else value)
    return total


async def _send_all(queue: Queue, preps: list[Any]) -> list[Any]:
    """One core append for the whole batch; each entry gets its result or its error."""
    return list(await queue.send_batch([prep.envelope() for prep in preps]))
