"""The SNS signing worker process: RSA signatures for the broker, over its stdin/stdout.

Run by sign_pool.py as `python -m mqlite.protocols.aws.sns.sign_worker`; not for users.
RSA-2048 costs ~250 µs of CPU per signature, so a signed SNS fan-out is bound by it; a
separate process signs on another core without contending for the broker's GIL (a
thread must win the GIL back from the busy event loop after every signature).

Wire format, every frame `u32 big-endian length` + payload:
  first frame   the private key, PEM (PKCS#8, unencrypted)
  request       `u16 count`, then per item `u8 version` (b"1" SHA-1 / b"2" SHA-256) and
                the digest of the canonical string (20 or 32 bytes, by version)
  response      the `count` base64 signatures joined by b"\\n", in request order
The worker exits when stdin closes. Invariant: one response per request, in order.
"""

from __future__ import annotations

import signal
import struct
import sys
from typing import BinaryIO

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mqlite.protocols.aws.sns.signing import sign_digest

_DIGEST_BYTES = {ord("1"): 20, ord("2"): 32}  # SHA-1, SHA-256


def _read_frame(stream: BinaryIO) -> bytes | None:
    head = stream.read(4)
    if len(head) < 4:
        return None
    (size,) = struct.unpack(">I", head)
    body = stream.read(size)
    return body if len(body) == size else None


def sign_request(key: rsa.RSAPrivateKey, payload: bytes) -> bytes:
    """The response payload for one request payload (see module docstring)."""
    (count,) = struct.unpack_from(">H", payload)
    pos = 2
    out = []
    for _ in range(count):
        version = payload[pos]
        size = _DIGEST_BYTES[version]
        out.append(sign_digest(key, version, payload[pos + 1:pos + 1 + size]))
        pos += 1 + size
    return b"\n".join(out)


def main() -> None:
    # The broker handles Ctrl-C for its process group; this worker ends when stdin
    # closes (the broker closed it or died), quietly if a reply can no longer be sent.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        _serve(sys.stdin.buffer, sys.stdout.buffer)
    except BrokenPipeError:
        pass


def _serve(stdin: BinaryIO, stdout: BinaryIO) -> None:
    pem = _read_frame(stdin)
    if pem is None:
        return
    key = serialization.load_pem_private_key(pem, password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    while (payload := _read_frame(stdin)) is not None:
        reply = sign_request(key, payload)
        stdout.write(struct.pack(">I", len(reply)) + reply)
        stdout.flush()


if __name__ == "__main__":
    main()
