"""Start-up checks that turn the usual first-minute failures into one line a person
can act on: a data directory that is a file, unwritable or on a full disk, a port
another program holds, an address this machine does not have.

Each check raises `StartupError` (exit status 1, no traceback) naming the path, port
or address and what to do; nothing here changes state except creating the data
directory and removing its own probe file.
"""

from __future__ import annotations

import errno
import os
import socket
from pathlib import Path

from mqlite.errors import MqliteError

PROBE = ".mqlite-write-probe"
# Who usually holds a front-end's default port, for the hint in "port in use".
LIKELY_HOLDER = {
    "http": "another mqlite, or LocalStack?",
    "kafka": "another mqlite, or a Kafka broker?",
    "amqp": "another mqlite, or RabbitMQ?",
    "redis": "another mqlite, or redis-server?",
}


class StartupError(MqliteError):
    """The broker cannot start; the message is one line saying why."""


def check_data_dir(path: Path) -> None:
    """Create the directory if needed and prove it takes a write and an fsync."""
    if path.exists() and not path.is_dir():
        raise StartupError(f"data directory {path} is a file, not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(f"cannot create data directory {path}: {_why(exc)}") from None
    probe = path / PROBE
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, b"mqlite" * 683)  # 4 KiB: a full disk refuses a block
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StartupError(f"data directory {path} is not usable: {_why(exc)}") from None
    finally:
        try:
            probe.unlink()
        except OSError:
            pass


def check_port(name: str, flag: str, host: str, port: int) -> None:
    """Bind and release `host:port`, so a held port fails before any recovery work."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except socket.gaierror:
        raise StartupError(f"--host {host}: not a known host name or address") from None
    sock = socket.socket(infos[0][0], socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(infos[0][4])
        sock.listen(1)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(f"{name} port {port} is in use ({LIKELY_HOLDER.get(name, 'another program?')}); "
                               f"choose another with {flag}, 0 for any free port, or off") from None
        if exc.errno == errno.EACCES:
            raise StartupError(f"{name} port {port}: permission denied (ports below 1024 need privileges); "
                               f"choose another with {flag}") from None
        if exc.errno == errno.EADDRNOTAVAIL:
            raise StartupError(f"--host {host}: not an address of this machine") from None
        raise StartupError(f"{name} port {port}: {_why(exc)}") from None
    finally:
        sock.close()


def _why(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on device"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.ENOTDIR:
        return "a parent of it is a file"
    return (exc.strerror or str(exc)).lower()
