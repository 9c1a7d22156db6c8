"""The S3 destination as local files: objects named as Firehose names its S3 keys.

Root: `settings.s3_dir`, default `<data_dir>/s3` (a temporary directory when running in
memory). A bucket ARN `arn:aws:s3:::my-bucket` maps to the sub-directory `my-bucket`;
an object key's `/` become sub-directories. Key naming (Firehose developer guide,
"Amazon S3 object name format"):

    <Prefix>YYYY/MM/DD/HH/<DeliveryStreamName>-<Version>-YYYY-MM-DD-HH-MM-SS-<uuid><ext>

in UTC, from the arrival time of the buffer's first record; a Prefix holding
`!{timestamp:...}` / `!{firehose:...}` expressions is expanded instead of getting the
YYYY/MM/DD/HH/ part. Failed records go under ErrorOutputPrefix (default
`<kind>-failed/`, e.g. `processing-failed/`, `http-endpoint-failed/`) with the
`!{firehose:error-output-type}` expression filled in.
Content: the records' data concatenated as is, no delimiter added (Firehose adds none),
compressed per CompressionFormat: UNCOMPRESSED, GZIP (`.gz`), ZIP (`.zip`, one entry),
Snappy (`.snappy`, framing format), HADOOP_SNAPPY (`.hsnappy`, Hadoop block format);
`FileExtension` overrides the extension. Writes are atomic (temp file + rename), so an
object is never half-written.
Synchronous file I/O; callers run it in a thread (`asyncio.to_thread`).
"""

from __future__ import annotations

import datetime as dt
import gzip
import io
import os
import re
import struct
import uuid
import zipfile
from pathlib import Path

import cramjam

EXTENSIONS = {"UNCOMPRESSED": "", "GZIP": ".gz", "ZIP": ".zip", "Snappy": ".snappy",
              "HADOOP_SNAPPY": ".hsnappy"}
_EXPR = re.compile(r"!\{(timestamp|firehose):([^}]*)\}")
_JAVA_FORMAT = (("yyyy", "%Y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("mm", "%M"), ("ss", "%S"))


def bucket_dir(root: Path, bucket_arn: str) -> Path:
    name = bucket_arn.rsplit(":", 1)[-1] if bucket_arn.startswith("arn:") else bucket_arn
    return root / name


def compress(data: bytes, fmt: str) -> bytes:
    if fmt in ("UNCOMPRESSED", "", None):
        return data
    if fmt == "GZIP":
        return gzip.compress(data, mtime=0)
    if fmt == "Snappy":
        return bytes(cramjam.snappy.compress(data))
    if fmt == "HADOOP_SNAPPY":
        block = bytes(cramjam.snappy.compress_raw(data))
        return struct.pack(">II", len(data), len(block)) + block
    if fmt == "ZIP":
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("data", data)
        return buf.getvalue()
    raise ValueError(f"unknown CompressionFormat {fmt}")


def _java_ts(fmt: str, when: dt.datetime) -> str:
    for java, py in _JAVA_FORMAT:
        fmt = fmt.replace(java, py)
    return when.strftime(fmt)


def object_key(prefix: str, stream: str, version: int, when_ms: int, ext: str,
               error_type: str | None = None) -> str:
    when = dt.datetime.fromtimestamp(when_ms / 1000, dt.UTC)
    if _EXPR.search(prefix):
        def repl(m: re.Match[str]) -> str:
            if m.group(1) == "timestamp":
                return _java_ts(m.group(2), when)
            if m.group(2) == "random-string":
                return uuid.uuid4().hex[:11]
            if m.group(2) == "error-output-type":
                return error_type or ""
            return ""
        head = _EXPR.sub(repl, prefix)
    else:
        head = prefix + when.strftime("%Y/%m/%d/%H/")
    name = f"{stream}-{version}-{when.strftime('%Y-%m-%d-%H-%M-%S')}-{uuid.uuid4()}{ext}"
    return head + name


def write_object(root: Path, bucket_arn: str, key: str, body: bytes) -> Path:
    path = bucket_dir(root, bucket_arn) / key
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def deliver(root: Path, dest: dict, stream: str, version: int, records: list[tuple[int, bytes]],
            error_type: str | None = None) -> Path:
    """Write one object for `records` per the S3 destination config `dest`."""
    fmt = dest.get("CompressionFormat") or "UNCOMPRESSED"
    ext = dest.get("FileExtension") or EXTENSIONS.get(fmt, "")
    if error_type is not None:
        prefix = dest.get("ErrorOutputPrefix") or f"{error_type}/"
    else:
        prefix = dest.get("Prefix") or ""
    key = object_key(prefix, stream, version, records[0][0], ext, error_type)
    return write_object(root, dest["BucketARN"], key, compress(b"".join(d for _, d in records), fmt))
