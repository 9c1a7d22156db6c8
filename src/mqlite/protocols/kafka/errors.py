"""Kafka error codes and the one table mapping mqlite errors to them.

Owns `ErrorCode` (Kafka's `Errors` enum values, as on the wire) and `code_for(exc)`,
the only place a core or storage error becomes a Kafka error code. Handlers call
`code_for` and never compare exception types themselves.

Invariant: an exception not in the table maps to UNKNOWN_SERVER_ERROR (-1), so a client
always gets an answer. Pure: no state, safe from anywhere.
"""

from __future__ import annotations

import enum

from mqlite.core import errors as core_errors
from mqlite.errors import MqliteError
from mqlite.storage import errors as storage_errors


class ErrorCode(enum.IntEnum):
    UNKNOWN_SERVER_ERROR = -1
    NONE = 0
    OFFSET_OUT_OF_RANGE = 1
    CORRUPT_MESSAGE = 2
    UNKNOWN_TOPIC_OR_PARTITION = 3
    INVALID_FETCH_SIZE = 4
    LEADER_NOT_AVAILABLE = 5
    NOT_LEADER_OR_FOLLOWER = 6
    REQUEST_TIMED_OUT = 7
    MESSAGE_TOO_LARGE = 10
    COORDINATOR_LOAD_IN_PROGRESS = 14
    COORDINATOR_NOT_AVAILABLE = 15
    NOT_COORDINATOR = 16
    INVALID_TOPIC_EXCEPTION = 17
    RECORD_LIST_TOO_LARGE = 18
    INVALID_REQUIRED_ACKS = 21
    ILLEGAL_GENERATION = 22
    INCONSISTENT_GROUP_PROTOCOL = 23
    INVALID_GROUP_ID = 24
    UNKNOWN_MEMBER_ID = 25
    INVALID_SESSION_TIMEOUT = 26
    REBALANCE_IN_PROGRESS = 27
    INVALID_COMMIT_OFFSET_SIZE = 28
    TOPIC_AUTHORIZATION_FAILED = 29
    GROUP_AUTHORIZATION_FAILED = 30
    CLUSTER_AUTHORIZATION_FAILED = 31
    INVALID_TIMESTAMP = 32
    UNSUPPORTED_SASL_MECHANISM = 33
    ILLEGAL_SASL_STATE = 34
    UNSUPPORTED_VERSION = 35
    TOPIC_ALREADY_EXISTS = 36
    INVALID_PARTITIONS = 37
    INVALID_REPLICATION_FACTOR = 38
    INVALID_REPLICA_ASSIGNMENT = 39
    INVALID_CONFIG = 40
    NOT_CONTROLLER = 41
    INVALID_REQUEST = 42
    UNSUPPORTED_FOR_MESSAGE_FORMAT = 43
    POLICY_VIOLATION = 44
    OUT_OF_ORDER_SEQUENCE_NUMBER = 45
    DUPLICATE_SEQUENCE_NUMBER = 46
    INVALID_PRODUCER_EPOCH = 47
    INVALID_TXN_STATE = 48
    INVALID_PRODUCER_ID_MAPPING = 49
    INVALID_TRANSACTION_TIMEOUT = 50
    CONCURRENT_TRANSACTIONS = 51
    SECURITY_DISABLED = 54
    OPERATION_NOT_ATTEMPTED = 55
    KAFKA_STORAGE_ERROR = 56
    SASL_AUTHENTICATION_FAILED = 58
    UNKNOWN_PRODUCER_ID = 59
    NON_EMPTY_GROUP = 68
    GROUP_ID_NOT_FOUND = 69
    UNSUPPORTED_COMPRESSION_TYPE = 76
    MEMBER_ID_REQUIRED = 79
    GROUP_MAX_SIZE_REACHED = 81
    FENCED_INSTANCE_ID = 82
    INVALID_RECORD = 87
    PRODUCER_FENCED = 90
    TRANSACTIONAL_ID_NOT_FOUND = 105


# Order matters: the first matching class wins (subclasses before their bases).
_TABLE: tuple[tuple[type[BaseException], ErrorCode], ...] = (
    (storage_errors.CorruptBatch, ErrorCode.CORRUPT_MESSAGE),
    (storage_errors.InvalidTimestamp, ErrorCode.INVALID_TIMESTAMP),
    (storage_errors.InvalidRecord, ErrorCode.INVALID_RECORD),
    (storage_errors.UnsupportedCompression, ErrorCode.UNSUPPORTED_COMPRESSION_TYPE),
    (storage_errors.InvalidBatch, ErrorCode.CORRUPT_MESSAGE),
    (storage_errors.RecordTooLarge, ErrorCode.MESSAGE_TOO_LARGE),
    (storage_errors.OffsetOutOfRange, ErrorCode.OFFSET_OUT_OF_RANGE),
    (storage_errors.LogClosed, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    (core_errors.OffsetOutOfRange, ErrorCode.OFFSET_OUT_OF_RANGE),
    (core_errors.StreamNotFound, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    (core_errors.StreamExists, ErrorCode.TOPIC_ALREADY_EXISTS),
    (core_errors.InvalidName, ErrorCode.INVALID_TOPIC_EXCEPTION),
    (core_errors.LimitExceeded, ErrorCode.MESSAGE_TOO_LARGE),
    (core_errors.NotFound, ErrorCode.UNKNOWN_TOPIC_OR_PARTITION),
    (core_errors.InvalidValue, ErrorCode.INVALID_REQUEST),
)


def code_for(exc: BaseException) -> ErrorCode:
    """The Kafka error code for an mqlite error (UNKNOWN_SERVER_ERROR when unmapped)."""
    for cls, code in _TABLE:
        if isinstance(exc, cls):
            if code is ErrorCode.INVALID_REQUEST and getattr(exc, "rule", "") == "partition-exists":
                return ErrorCode.UNKNOWN_TOPIC_OR_PARTITION
            return code
    if isinstance(exc, MqliteError):
        return ErrorCode.UNKNOWN_SERVER_ERROR
    return ErrorCode.UNKNOWN_SERVER_ERROR
