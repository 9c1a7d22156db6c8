"""Core-model errors: what a front-end needs to answer a client's mistake.

Every error is a `CoreError` (root `mqlite.errors.MqliteError`). Each carries `rule`,
the documented rule it enforces, and each front-end maps these classes to its wire
codes in one table. Add new classes here, grouped by the object they concern.
"""

from __future__ import annotations

from mqlite.errors import CoreError


class NotFound(CoreError):
    """An entity (queue, stream, router, group, binding...) does not exist."""

    def __init__(self, kind: str, name: str, message: str = "") -> None:
        super().__init__(message or f"{kind} {name!r} does not exist", rule=f"{kind}-exists")
        self.kind = kind
        self.name = name


class AlreadyExists(CoreError):
    """An entity exists already with a different configuration."""

    def __init__(self, kind: str, name: str, message: str = "") -> None:
        super().__init__(message or f"{kind} {name!r} already exists", rule=f"{kind}-unique")
        self.kind = kind
        self.name = name


class InvalidName(CoreError):
    """A name breaks the naming rule (stated in `rule`)."""


class InvalidValue(CoreError):
    """A parameter is out of its documented range or of the wrong form."""

    def __init__(self, name: str, message: str, *, rule: str = "") -> None:
        super().__init__(message, rule=rule or name)
        self.name = name


class LimitExceeded(CoreError):
    """A documented size or count limit was exceeded (message size, batch size...)."""


class StreamNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__("stream", name)


class StreamExists(AlreadyExists):
    def __init__(self, name: str) -> None:
        super().__init__("stream", name)


class QueueNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__("queue", name)


class QueueExists(AlreadyExists):
    def __init__(self, name: str) -> None:
        super().__init__("queue", name)


class RouterNotFound(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__("router", name)


class RouterExists(AlreadyExists):
    def __init__(self, name: str) -> None:
        super().__init__("router", name)


class InvalidReceipt(CoreError):
    """A receipt handle that was never issued (SQS ReceiptHandleIsInvalid)."""


class MessageNotInflight(CoreError):
    """The message behind a receipt is not in flight (SQS MessageNotInflight)."""


class PurgeInProgress(CoreError):
    """A purge within 60 s of the previous one (SQS PurgeQueueInProgress)."""


class InvalidPattern(CoreError):
    """A matcher pattern/policy is invalid; `message` is the real system's text."""

    def __init__(self, language: str, message: str) -> None:
        super().__init__(message, rule=f"{language}-syntax")
        self.language = language


class QueueFull(CoreError):
    """A publish refused by max-length/max-bytes with overflow `reject-publish`."""


class OffsetOutOfRange(CoreError):
    """A stream read asked for an offset outside [earliest, latest] (Kafka OFFSET_OUT_OF_RANGE)."""

    def __init__(self, stream: str, partition: int, offset: object, start: int, end: int) -> None:
        super().__init__(
            f"offset {offset!r} is out of range for {stream}-{partition} "
            f"(earliest {start}, latest {end})",
            rule="offset-in-range",
        )
        self.stream = stream
        self.partition = partition
        self.offset = offset
        self.start = start
        self.end = end


class CatalogUnusable(CoreError):
    """The catalog is missing while the data directory holds data, or it is damaged:
    the broker refuses to start rather than treat the data as orphans."""

    def __init__(self, message: str) -> None:
        super().__init__(message, rule="catalog-explains-data")
