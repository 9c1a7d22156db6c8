"""mqlite's storage engine: segmented logs of Kafka RecordBatch v2 with group commit.

Public names (the contract in docs/architecture.md, section "storage"):
`Record`, `RecordIn`, `BatchHeader`, `Compression`, `encode_batch`, `decode_batch`;
`Log`, `LogConfig`, `AppendResult`, `ProducerState`; `FileLog`, `MemoryLog`;
`FsyncPolicy`, `GroupCommitter`; `acquire_dir_lock`, `DirLock`; errors in
`mqlite.storage.errors`. Imports only `mqlite.errors` from the rest of mqlite.

Modules: recordbatch (v2 codec; byte layout) + batchheader (types, header checks) +
recorddecode (record decoder, ranged decode) + uniformruns (its fixed-layout fast
path), varint, compression, log (the `Log` contract), memlog, filelog, segment, index
(offset + time index), commit (group commit), lock (data-dir lock), errors.
"""

from __future__ import annotations

from mqlite.storage.commit import FsyncMode, FsyncPolicy, GroupCommitter
from mqlite.storage.compression import Compression
from mqlite.storage.errors import (
    CorruptBatch,
    CorruptSegment,
    DataDirLocked,
    InvalidBatch,
    LogClosed,
    LogWriteError,
    OffsetOutOfRange,
    RecordTooLarge,
    StorageError,
    UnsupportedCompression,
)
from mqlite.storage.filelog import FileLog
from mqlite.storage.lock import DirLock, acquire_dir_lock
from mqlite.storage.log import (
    AppendResult,
    Log,
    LogConfig,
    ProducerBatch,
    ProducerState,
)
from mqlite.storage.memlog import MemoryLog
from mqlite.storage.recordbatch import (
    BatchHeader,
    Record,
    RecordIn,
    TimestampType,
    decode_batch,
    encode_batch,
    parse_header,
    validate_batch,
)

__all__ = [
    "AppendResult",
    "BatchHeader",
    "Compression",
    "CorruptBatch",
    "CorruptSegment",
    "DataDirLocked",
    "DirLock",
    "FileLog",
    "FsyncMode",
    "FsyncPolicy",
    "GroupCommitter",
    "InvalidBatch",
    "Log",
    "LogClosed",
    "LogConfig",
    "LogWriteError",
    "MemoryLog",
    "OffsetOutOfRange",
    "ProducerBatch",
    "ProducerState",
    "Record",
    "RecordIn",
    "RecordTooLarge",
    "StorageError",
    "TimestampType",
    "UnsupportedCompression",
    "acquire_dir_lock",
    "decode_batch",
    "encode_batch",
    "parse_header",
    "validate_batch",
]
