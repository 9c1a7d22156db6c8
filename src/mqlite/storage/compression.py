"""Batch compression codecs with Kafka's attribute values (bits 0-2 of a batch's attributes).

Owns the mapping `Compression` <-> codec, backed by cramjam (C/Rust). The record section
of a RecordBatch v2 (everything after the 61-byte header) is compressed as one block:

- GZIP (1): RFC 1952 gzip member.
- SNAPPY (2): the xerial "snappy-java" framing Kafka's Java client writes::

      +--------------------+-----------+-----------+----------------------------------+
      | magic 8 bytes      | version   | compat    | ( block_len int32 BE | raw snappy )* |
      | 82 'SNAPPY' 00     | int32 = 1 | int32 = 1 |                                  |
      +--------------------+-----------+-----------+----------------------------------+

  On decode a buffer without the magic is taken as one raw snappy block (what some
  clients send).
- LZ4 (3): the LZ4 frame format (Kafka >= 0.10 with magic 2).
- ZSTD (4): one zstd frame.

Pure functions; thread-safe.
"""

from __future__ import annotations

import enum
import functools
import struct
from typing import Any

from mqlite.storage.errors import InvalidBatch, UnsupportedCompression

__all__ = ["Compression", "compress", "decompress"]


class Compression(enum.IntEnum):
    """Kafka's compression codec ids (RecordBatch attributes bits 0-2)."""

    NONE = 0
    GZIP = 1
    SNAPPY = 2
    LZ4 = 3
    ZSTD = 4


@functools.cache
def _cramjam() -> Any:
    """cramjam, imported on the first compressed batch: most brokers never see one, and
    the extension costs start-up time and resident memory."""
    import cramjam

    return cramjam


_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER = _XERIAL_MAGIC + struct.pack(">ii", 1, 1)
_XERIAL_BLOCK = 32 * 1024
_I32 = struct.Struct(">i")


def _snappy_encode(data: bytes) -> bytes:
    out = [_XERIAL_HEADER]
    view = memoryview(data)
    for start in range(0, len(data), _XERIAL_BLOCK):
        block = bytes(_cramjam().snappy.compress_raw(view[start : start + _XERIAL_BLOCK]))
        out.append(_I32.pack(len(block)))
        out.append(block)
    return b"".join(out)


def _snappy_decode(data: bytes) -> bytes:
    if data[:8] != _XERIAL_MAGIC:
        return bytes(_cramjam().snappy.decompress_raw(data))
    out = []
    pos = 16
    end = len(data)
    view = memoryview(data)
    while pos < end:
        if pos + 4 > end:
            raise InvalidBatch("truncated xerial snappy block length")
        (n,) = _I32.unpack_from(data, pos)
        pos += 4
        if n < 0 or pos + n > end:
            raise InvalidBatch("truncated xerial snappy block")
        out.append(bytes(_cramjam().snappy.decompress_raw(view[pos : pos + n])))
        pos += n
    return b"".join(out)


def compress(codec: Compression, data: bytes) -> bytes:
    """Compress the record section of a batch with `codec`."""
    if codec == Compression.NONE:
        return data
    if codec == Compression.GZIP:
        return bytes(_cramjam().gzip.compress(data))
    if codec == Compression.SNAPPY:
        return _snappy_encode(data)
    if codec == Compression.LZ4:
        return bytes(_cramjam().lz4.compress(data))
    if codec == Compression.ZSTD:
        return bytes(_cramjam().zstd.compress(data))
    raise UnsupportedCompression(f"unknown compression codec {int(codec)}")


def decompress(codec: int, data: bytes | memoryview) -> bytes:
    """Decompress a batch's record section; raises `InvalidBatch` on bad input."""
    try:
        if codec == 0:
            return bytes(data)
        if codec == 1:
            return bytes(_cramjam().gzip.decompress(data))
        if codec == 2:
            return _snappy_decode(bytes(data))
        if codec == 3:
            return bytes(_cramjam().lz4.decompress(data))
        if codec == 4:
            return bytes(_cramjam().zstd.decompress(data))
    except InvalidBatch:
        raise
    except Exception as exc:  # cramjam raises its own DecompressionError types
        raise InvalidBatch(
            f"cannot decompress {Compression(codec).name} records: {exc}"
        ) from exc
    raise UnsupportedCompression(f"unknown compression codec {codec}")
