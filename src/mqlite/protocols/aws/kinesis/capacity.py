"""UpdateMaxRecordSize, UpdateStreamWarmThroughput, DescribeAccountSettings,
UpdateAccountSettings: per-stream record-size limit, warm throughput, account settings.

Rules (botocore's Kinesis model and the API reference):
- MaxRecordSizeInKiB is 1024-10240 (1-10 MiB; ValidationException outside); default
  1024. It is kept in the stream's row (`max_record_kib`), PutRecord/PutRecords enforce
  it on Data (`max_record_bytes`), DescribeStreamSummary reports it. The stream's
  storage batch limit is raised so a record of that size (and a PutRecords request of
  up to max(5 MiB, the record limit), see `max_request_bytes`) fits one batch.
- WarmThroughputMiBps >= 0, only for ON_DEMAND streams (InvalidArgumentException for
  PROVISIONED), at most 10 GiBps (LimitExceededException). mqlite does not throttle, so
  the target is reached at once: TargetMiBps = CurrentMiBps, the stream stays ACTIVE
  (AWS: UPDATING while it scales). The account's billing commitment is not required.
- Account settings (`MinimumThroughputBillingCommitment`) live in the catalog kv
  namespace `kinesis.account`, key = account id: {status, started, ended, earliest}.
  Enabling starts a 24-hour minimum commitment (EarliestAllowedEndAt); disabling before
  it ends answers ENABLED_UNTIL_EARLIEST_ALLOWED_END (EndedAt = that time), which reads
  as DISABLED once the injectable clock passes it; disabling later ends it at once.
Concurrency: the server's event loop; no awaits between read and write of a row.
"""

from __future__ import annotations

from typing import Any

from mqlite.core.api import BrokerCore
from mqlite.protocols.aws.frontend import AwsContext
from mqlite.protocols.aws.kinesis import errors
from mqlite.protocols.aws.kinesis.state import MAX_BATCH_BYTES, KinesisState, StreamMeta

KIB = 1024
MIN_RECORD_KIB = 1024
MAX_RECORD_KIB = 10240
MAX_REQUEST = 5 * 1024 * 1024
MAX_WARM_MIBPS = 10 * 1024  # "Scale to more than 10 GiBps for an on-demand stream"
ACCOUNT_NS = "kinesis.account"
COMMITMENT_MS = 24 * 3_600_000


def max_record_bytes(meta: StreamMeta) -> int:
    """The stream's limit on one record's Data, in bytes."""
    return int(meta.data.get("max_record_kib", MIN_RECORD_KIB)) * KIB


def max_request_bytes(meta: StreamMeta) -> int:
    """PutRecords' limit on a request (data + keys): 5 MiB, or the record limit if larger."""
    return max(MAX_REQUEST, max_record_bytes(meta))


def check_record_kib(value: Any) -> int:
    """A MaxRecordSizeInKiB in range, or AWS's ValidationException."""
    if not isinstance(value, int) or value < MIN_RECORD_KIB:
        raise errors.validation(value, "maxRecordSizeInKiB",
                                f"Member must have value greater than or equal to {MIN_RECORD_KIB}")
    if value > MAX_RECORD_KIB:
        raise errors.validation(value, "maxRecordSizeInKiB",
                                f"Member must have value less than or equal to {MAX_RECORD_KIB}")
    return value


def check_warm(value: Any, mode: str) -> int:
    """A WarmThroughputMiBps acceptable for a stream in `mode`, or AWS's error."""
    if not isinstance(value, int) or value < 0:
        raise errors.validation(value, "warmThroughputMiBps",
                                "Member must have value greater than or equal to 0")
    if mode != "ON_DEMAND":
        raise errors.invalid_argument(
            "Warm throughput can only be configured for streams in ON_DEMAND capacity mode.")
    if value > MAX_WARM_MIBPS:
        raise errors.limit_exceeded(
            f"Requested warm throughput {value} MiBps exceeds the limit of {MAX_WARM_MIBPS} MiBps.")
    return value


def warm_shape(meta: StreamMeta) -> dict[str, int] | None:
    """WarmThroughputObject for a stream with a warm throughput set, else None."""
    warm = meta.data.get("warm_mibps")
    return None if warm is None else {"TargetMiBps": int(warm), "CurrentMiBps": int(warm)}


class CapacityActions:
    def __init__(self, core: BrokerCore, state: KinesisState) -> None:
        self.core = core
        self.state = state

    def apply_record_kib(self, meta: StreamMeta, kib: int) -> None:
        """Store the limit and make the stream's storage batches fit it."""
        meta.data["max_record_kib"] = kib
        need = max(MAX_BATCH_BYTES, max_request_bytes(meta) + 1024 * 1024)
        stream = self.core.get_stream(meta.name)
        current = stream.effective_config.max_message_bytes
        if current is not None and 0 < current < need:
            stream.set_config(max_message_bytes=need)
        self.state.save(meta)

    async def update_max_record_size(self, ctx: AwsContext, p: dict[str, Any]) -> None:
        """UpdateMaxRecordSize: StreamARN, MaxRecordSizeInKiB 1024-10240."""
        kib = check_record_kib(p.get("MaxRecordSizeInKiB"))
        meta = self.state.meta(self.state.name_of(p))
        self.apply_record_kib(meta, kib)

    async def update_stream_warm_throughput(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateStreamWarmThroughput: stored and reported (no throttling to lift)."""
        meta = self.state.meta(self.state.name_of(p))
        meta.data["warm_mibps"] = check_warm(p.get("WarmThroughputMiBps"),
                                             meta.data.get("mode", "PROVISIONED"))
        self.state.save(meta)
        return {"StreamARN": self.state.arn(meta.name, ctx.region), "StreamName": meta.aws_name,
                "WarmThroughput": warm_shape(meta)}

    # -- account settings -----------------------------------------------------------------
    def _commitment(self) -> dict[str, Any]:
        row = self.core.catalog.kv_get(ACCOUNT_NS, self.state.account) or {"status": "DISABLED"}
        now = self.core.clock.now_ms()
        if row["status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END" and now >= int(row["earliest"]):
            row["status"] = "DISABLED"
            self.core.catalog.kv_put(ACCOUNT_NS, self.state.account, row)
        return row

    @staticmethod
    def _commitment_shape(row: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Status": row["status"]}
        for key, member in (("started", "StartedAt"), ("ended", "EndedAt"),
                            ("earliest", "EarliestAllowedEndAt")):
            if row.get(key) is not None:
                out[member] = int(row[key]) / 1000
        return out

    async def describe_account_settings(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """DescribeAccountSettings: the minimum throughput billing commitment."""
        return {"MinimumThroughputBillingCommitment": self._commitment_shape(self._commitment())}

    async def update_account_settings(self, ctx: AwsContext, p: dict[str, Any]) -> dict[str, Any]:
        """UpdateAccountSettings: MinimumThroughputBillingCommitment.Status ENABLED|DISABLED."""
        status = (p.get("MinimumThroughputBillingCommitment") or {}).get("Status")
        if status not in ("ENABLED", "DISABLED"):
            raise errors.validation(status, "minimumThroughputBillingCommitment.status",
                                    "Member must satisfy enum value set: [ENABLED, DISABLED]")
        row = self._commitment()
        now = self.core.clock.now_ms()
        if status == "ENABLED":
            if row["status"] == "ENABLED_UNTIL_EARLIEST_ALLOWED_END":  # the commitment resumes
                row = {"status": "ENABLED", "started": row["started"], "earliest": row["earliest"]}
            elif row["status"] != "ENABLED":
                row = {"status": "ENABLED", "started": now, "earliest": now + COMMITMENT_MS}
        elif row["status"] == "ENABLED":
            if now < int(row["earliest"]):
                row = {**row, "status": "ENABLED_UNTIL_EARLIEST_ALLOWED_END", "ended": row["earliest"]}
            else:
                row = {**row, "status": "DISABLED", "ended": now}
        self.core.catalog.kv_put(ACCOUNT_NS, self.state.account, row)
        return {"MinimumThroughputBillingCommitment": self._commitment_shape(row)}
