"""Storage errors: every failure the log engine reports, under `mqlite.errors.StorageError`.

Owns the typed errors raised by `mqlite.storage`. Each carries the facts a caller needs
to answer its client (offsets, sizes, paths) and `rule`, the documented rule broken.
A refused operation leaves the data on disk exactly as it was. Imports nothing but the
error root, so it is safe from any thread.
"""

from __future__ import annotations

from pathlib import Path

from mqlite.errors import StorageError

__all__ = [
    "CorruptBatch",
    "CorruptSegment",
    "DataDirLocked",
    "InvalidBatch",
    "InvalidRecord",
    "InvalidTimestamp",
    "LogClosed",
    "LogWriteError",
    "OffsetOutOfRange",
    "RecordTooLarge",
    "StorageError",
    "UnsupportedCompression",
]


class InvalidBatch(StorageError):
    """A RecordBatch is empty, truncated or malformed (Kafka: INVALID_RECORD / CORRUPT_MESSAGE)."""

    rule = "kafka-recordbatch-v2"


class CorruptBatch(InvalidBatch):
    """A RecordBatch's CRC-32C does not match its bytes (Kafka: CORRUPT_MESSAGE)."""

    rule = "kafka-recordbatch-crc32c"

    def __init__(self, message: str, *, expected: int = 0, actual: int = 0) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual


class UnsupportedCompression(InvalidBatch):
    """The batch's compression attribute names no codec we know (Kafka: UNSUPPORTED_COMPRESSION_TYPE)."""

    rule = "kafka-recordbatch-compression"


class RecordTooLarge(StorageError):
    """A batch is over the log's `max_batch_bytes` (Kafka: MESSAGE_TOO_LARGE)."""

    rule = "max-batch-bytes"

    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"batch of {size} bytes is over the limit of {limit} bytes")
        self.size = size
        self.limit = limit


class OffsetOutOfRange(StorageError):
    """A read asked for an offset below `start_offset` or above `end_offset` (Kafka: OFFSET_OUT_OF_RANGE)."""

    rule = "offset-in-range"

    def __init__(self, offset: int, start: int, end: int) -> None:
        super().__init__(f"offset {offset} is outside the log's range [{start}, {end}]")
        self.offset = offset
        self.start = start
        self.end = end


class CorruptSegment(StorageError):
    """A segment that is not the tail holds bytes that are not whole, valid batches."""

    rule = "segment-integrity"

    def __init__(
        self, path: Path | str, position: int, offset: int | None, reason: str
    ) -> None:
        where = f"byte {position}" + (
            f" (near offset {offset})" if offset is not None else ""
        )
        super().__init__(f"corrupt segment {path} at {where}: {reason}")
        self.path = Path(path)
        self.position = position
        self.offset = offset
        self.reason = reason


class LogClosed(StorageError):
    """The log was closed; no further operation is possible on this object."""

    rule = "log-open"


class LogWriteError(StorageError):
    """The operating system refused a write or fsync (disk full, I/O error)."""

    rule = "storage-io"

    def __init__(self, path: Path | str, cause: OSError) -> None:
        super().__init__(f"cannot write {path}: {cause.strerror or cause}")
        self.path = Path(path)
        self.errno = cause.errno


class DataDirLocked(StorageError):
    """Another process holds the data directory's lock file."""

    rule = "single-process-per-data-dir"

    def __init__(self, path: Path | str, holder: str = "") -> None:
        msg = f"data directory {path} is in use by another mqlite process"
        if holder:
            msg += f" ({holder})"
        super().__init__(msg)
        self.path = Path(path)
        self.holder = holder


class InvalidRecord(InvalidBatch):
    """A batch breaks a rule Kafka's LogValidator enforces on a client's batch: a base
    offset that is not 0, an inconsistent offset range or count, a control batch, a
    producer id without a sequence, malformed records (Kafka: INVALID_RECORD).

    `record_errors` lists (batch index, message) of the records at fault, if any."""

    rule = "kafka-log-validator"

    def __init__(self, message: str, record_errors: tuple[tuple[int, str], ...] = ()) -> None:
        super().__init__(message)
        self.record_errors = record_errors


class InvalidTimestamp(InvalidRecord):
    """A record's timestamp is outside the topic's `message.timestamp.before.max.ms` /
    `after.max.ms` bounds, or a producer set LogAppendTime (Kafka: INVALID_TIMESTAMP)."""

    rule = "kafka-message-timestamp"
