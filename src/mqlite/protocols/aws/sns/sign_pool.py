"""SNS signatures on worker processes, so a signed fan-out uses more than one core.

`SignPool(signer, workers)` starts `workers` processes of sign_worker.py the first time
it is asked to sign (each gets the key over its stdin), and `await pool.sign_many(jobs)`
hashes each job's canonical string here and has the RSA done by the workers, a batch
split over the least-loaded ones. Until a worker has answered its start-up handshake,
and whenever none is alive, signatures are computed inline (`Signer.sign_many`), so
signing never waits for a process to start and never fails because one died; a dead
worker is replaced (at most one start per RESTART_INTERVAL).
Why processes, not threads: OpenSSL releases the GIL while signing, but a thread then
has to win the GIL back from the busy event loop (up to the 5 ms switch interval)
before its next signature, which lost throughput on 2 cores (docs/benchmarks.md, SNS).
Transport: plain `subprocess.Popen` pipes read with `loop.add_reader`, so the pool
needs no asyncio child watcher and works on any loop thread; a worker exits when its
stdin closes, which also happens when the broker process dies.
Concurrency: the loop that first calls `sign_many` owns the pool; `close()` is
idempotent and also runs when the pool is garbage collected or at exit.
"""

from __future__ import annotations

import asyncio
import collections
import errno
import logging
import os
import struct
import subprocess
import sys
import time
import weakref
from collections.abc import Mapping, Sequence

from cryptography.hazmat.primitives import serialization

from mqlite.protocols.aws.sns.signing import Signer

log = logging.getLogger("mqlite.aws.sns")
_FRAME = struct.Struct(">I")
RESTART_INTERVAL = 5.0  # seconds between starting replacements for dead workers


def default_workers() -> int:
    """One worker per core, at most 4; none on a single core (signing stays inline)."""
    cores = os.cpu_count() or 1
    return 0 if cores < 2 else min(4, cores)


class _Worker:
    """One signing process and the futures of the requests it has not answered yet."""

    def __init__(self, loop: asyncio.AbstractEventLoop, pem: bytes) -> None:
        self.loop = loop
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mqlite.protocols.aws.sns.sign_worker"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.wfd = self.proc.stdin.fileno()
        self.rfd = self.proc.stdout.fileno()
        os.set_blocking(self.wfd, False)
        os.set_blocking(self.rfd, False)
        self.pending: collections.deque[tuple[asyncio.Future[list[str]], int]] = collections.deque()
        self.load = 0  # signatures asked for and not answered
        self.ready = False  # the start-up handshake (an empty request) came back
        self.alive = True
        self._inbox = bytearray()
        self._outbox = bytearray()
        loop.add_reader(self.rfd, self._on_readable)
        self._write(_FRAME.pack(len(pem)) + pem)
        self._write(_FRAME.pack(2) + b"\0\0")  # handshake: a request for no signatures
        self.pending.append((loop.create_future(), 0))

    def request(self, digests: Sequence[tuple[int, bytes]]) -> asyncio.Future[list[str]]:
        payload = bytearray(struct.pack(">H", len(digests)))
        for version, digest in digests:
            payload.append(version)
            payload += digest
        fut: asyncio.Future[list[str]] = self.loop.create_future()
        self.pending.append((fut, len(digests)))
        self.load += len(digests)
        self._write(_FRAME.pack(len(payload)) + payload)
        return fut

    def _write(self, data: bytes) -> None:
        if self._outbox:
            self._outbox += data
            return
        try:
            sent = os.write(self.wfd, data)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            self._fail(exc)
            return
        if sent < len(data):
            self._outbox += data[sent:]
            self.loop.add_writer(self.wfd, self._on_writable)

    def _on_writable(self) -> None:
        try:
            sent = os.write(self.wfd, self._outbox)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(exc)
            return
        del self._outbox[:sent]
        if not self._outbox:
            self.loop.remove_writer(self.wfd)

    def _on_readable(self) -> None:
        try:
            data = os.read(self.rfd, 1 << 16)
        except BlockingIOError:
            return
        except OSError as exc:
            self._fail(exc)
            return
        if not data:
            self._fail(ConnectionError(f"SNS signing worker {self.proc.pid} exited"))
            return
        inbox = self._inbox
        inbox += data
        while len(inbox) >= 4:
            (size,) = _FRAME.unpack_from(inbox)
            if len(inbox) < 4 + size:
                break
            body = bytes(inbox[4:4 + size])
            del inbox[:4 + size]
            fut, count = self.pending.popleft()
            self.load -= count
            if count == 0:
                self.ready = True
            if not fut.done():
                fut.set_result(body.decode().split("\n") if count else [])

    def _fail(self, exc: Exception) -> None:
        if not self.alive:
            return
        log.warning("SNS signing worker %s stopped (%s); signing inline", self.proc.pid, exc)
        self._shut(exc)

    def close(self) -> None:
        """Stop the process; requests still waiting are signed inline by their callers."""
        self._shut(ConnectionError("the SNS signing pool was closed"))

    def _shut(self, exc: Exception) -> None:
        self.alive = False
        for remove, fd in ((self.loop.remove_reader, self.rfd), (self.loop.remove_writer, self.wfd)):
            try:
                remove(fd)
            except (RuntimeError, ValueError, OSError):  # the loop is closed already
                pass
        _stop(self.proc)
        while self.pending:
            fut, count = self.pending.popleft()
            if fut.done():
                continue
            if count:
                fut.set_exception(exc)  # SignPool.sign_many signs that share inline
            else:
                fut.cancel()  # the handshake: nobody awaits it


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Close the worker's pipes (it exits on EOF) and reap it."""
    for pipe in (proc.stdin, proc.stdout):
        try:
            if pipe is not None:
                pipe.close()
        except OSError as exc:  # pragma: no cover - already closed
            if exc.errno != errno.EBADF:
                raise
    try:
        proc.wait(timeout=2)
    except subprocess.TimeoutExpired:  # pragma: no cover - a stuck worker
        proc.kill()
        proc.wait()


class SignPool:
    """Signing on worker processes with inline fallback (see module docstring)."""

    def __init__(self, signer: Signer, workers: int) -> None:
        self.signer = signer
        self.size = workers
        self.workers: list[_Worker] = []
        self._started = False
        self._last_restart = -RESTART_INTERVAL
        self._pem = signer.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        self._finalizer = weakref.finalize(self, _close_all, self.workers)

    async def sign_many(self, jobs: Sequence[tuple[Mapping[str, str], str]]) -> list[str]:
        """Base64 signatures of `jobs` ((message, SignatureVersion) pairs), in order."""
        if not self._started:
            self._start()
        elif any(not w.alive for w in self.workers):
            self._replace_dead()
        ready = sorted((w for w in self.workers if w.ready and w.alive), key=lambda w: w.load)
        if not ready or not jobs:
            return self.signer.sign_many(list(jobs))
        digests = [self.signer.digest(message, version) for message, version in jobs]
        parts = min(len(ready), len(digests))
        step = -(-len(digests) // parts)
        futures = [ready[i].request(digests[i * step:(i + 1) * step]) for i in range(parts)]
        out: list[str] = []
        for i, fut in enumerate(futures):
            try:
                out += await fut
            except Exception:  # noqa: BLE001 - the worker died: sign its share here
                out += self.signer.sign_many(list(jobs[i * step:(i + 1) * step]))
        return out

    def _start(self) -> None:
        self._started = True
        if self.size <= 0:
            return
        loop = asyncio.get_running_loop()
        try:
            for _ in range(self.size):
                self.workers.append(_Worker(loop, self._pem))
        except OSError as exc:
            log.warning("SNS signing workers not started (%s); signing inline", exc)

    def _replace_dead(self) -> None:
        """Start a new worker in place of a dead one, at most one per RESTART_INTERVAL
        seconds (a worker that keeps dying costs no more than inline signing)."""
        now = time.monotonic()
        if now - self._last_restart < RESTART_INTERVAL:
            return
        self._last_restart = now
        for i, w in enumerate(self.workers):
            if not w.alive:
                try:
                    self.workers[i] = _Worker(asyncio.get_running_loop(), self._pem)
                except OSError as exc:
                    log.warning("SNS signing worker not restarted (%s); signing inline", exc)
                return

    def close(self) -> None:
        self._finalizer()


def _close_all(workers: list[_Worker]) -> None:
    for w in workers:
        w.close()
    workers.clear()


__all__ = ["SignPool", "default_workers"]
