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
Confinement (issue #23): every object lands under the root, whatever the configuration
says. Bucket names follow S3's rules (`bucket_problem`); keys may not start with `/` nor
hold `.`/`..` segments, backslashes or NULs (`key_problem`, also applied after the
Prefix's expressions are expanded); the written file's directory must resolve (symlinks
followed) inside the resolved root, and the temp file is opened with O_NOFOLLOW.
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


BUCKET_ARN = re.compile(r"arn:.*:s3:::[\w\.\-]{1,255}")  # Firehose's model pattern
_BUCKET_CHARS = re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]")
_IPV4 = re.compile(r"\d{1,3}(\.\d{1,3}){3}")
_BAD_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_BAD_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
MAX_KEY_BYTES = 1024


class UnsafePath(ValueError):
    """An object that would be written outside the S3 root."""


def bucket_name(bucket_arn: str) -> str:
    return bucket_arn.rsplit(":", 1)[-1] if bucket_arn.startswith("arn:") else bucket_arn


def bucket_problem(name: str) -> str | None:
    """Why `name` is not a valid S3 general purpose bucket name (S3 User Guide, "Bucket
    naming rules"), or None."""
    if not 3 <= len(name) <= 63:
        return "Bucket names must be between 3 (min) and 63 (max) characters long."
    if not _BUCKET_CHARS.fullmatch(name):
        return ("Bucket names can consist only of lowercase letters, numbers, periods (.), and "
                "hyphens (-), and must begin and end with a letter or number.")
    if ".." in name:
        return "Bucket names must not contain two adjacent periods."
    if _IPV4.fullmatch(name):
        return "Bucket names must not be formatted as an IP address."
    if name.startswith(_BAD_PREFIXES) or name.endswith(_BAD_SUFFIXES):
        return "Bucket names must not use a reserved prefix or suffix."
    return None


def key_problem(key: str) -> str | None:
    """Why an object key cannot be stored as a file under the root, or None."""
    if len(key.encode()) > MAX_KEY_BYTES:
        return f"Object keys must be at most {MAX_KEY_BYTES} bytes long."
    if key.startswith("/"):
        return "Object keys stored under --s3-dir must not start with '/'."
    if "\\" in key or "\0" in key:
        return "Object keys stored under --s3-dir must not contain backslashes or NUL characters."
    if any(part in (".", "..") for part in key.split("/")):
        return "Object keys stored under --s3-dir must not contain '.' or '..' path segments."
    return None


def bucket_dir(root: Path, bucket_arn: str) -> Path:
    name = bucket_name(bucket_arn)
    problem = bucket_problem(name)
    if problem is not None:
        raise UnsafePath(f"bucket {name!r}: {problem}")
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
    """Write one object atomically, confined to `root` (see module docstring)."""
    problem = key_problem(key)
    if problem is not None:
        raise UnsafePath(f"object key {key!r}: {problem}")
    root.mkdir(parents=True, exist_ok=True)
    real_root = root.resolve()
    relative = bucket_dir(Path(), bucket_arn) / key
    directory = real_root
    for part in relative.parent.parts:  # one level at a time: never mkdir through a link out
        directory = directory / part
        if (directory.is_symlink() or directory.exists()) and \
                not directory.resolve().is_relative_to(real_root):
            raise UnsafePath(f"object key {key!r} resolves outside the S3 root {root} (a symlink)")
        directory.mkdir(exist_ok=True)
    path = directory / relative.name
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(body)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)  # rename replaces a symlink at `path` itself, never its target
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
