"""Power-cut simulation for crash tests: keep only what an fsync made durable.

`PowerCut(tmp)` builds `powercut_shim.c` (an LD_PRELOAD library, see its header) and
`spawn(data_dir, *flags)` starts `mqlite serve` under it. After `kill()` (SIGKILL: the
page cache would survive that), `cut(data_dir)` drops every write no fsync covered, as
a power loss would: append-written files are truncated to the size their last fsync
covered (0 if never fsynced), SQLite's files are put back to their image at their last
fsync (or emptied). Names (create, rename, unlink) are treated as durable at once: the
model drops file contents, not directory entries.

`wait_durable(data_dir)` blocks until every segment file's durable size reached its
current size and every SQLite file's fsynced image is its current content: what a
policy's interval promises once it has elapsed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from mqlite.testing import ServerProcess, spawn_server

SHIM_SOURCE = Path(__file__).with_name("powercut_shim.c")
CC = shutil.which("cc") or shutil.which("gcc")


def _build(out_dir: Path) -> Path:
    digest = hashlib.sha256(SHIM_SOURCE.read_bytes()).hexdigest()[:12]
    lib = out_dir / f"powercut_shim-{digest}.so"
    if not lib.exists():
        assert CC is not None, "a C compiler is needed for the power-cut shim"
        subprocess.run([CC, "-shared", "-fPIC", "-O2", "-o", str(lib), str(SHIM_SOURCE), "-ldl"],
                       check=True, capture_output=True)
    return lib


class PowerCut:
    def __init__(self, work: Path) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.lib = _build(work)
        self.log = work / "fsyncs.log"
        self.shadow = work / "shadow"
        self.shadow.mkdir(exist_ok=True)
        self.server: ServerProcess | None = None

    def spawn(self, data_dir: Path, *flags: str, fsync_delay_ms: int = 0) -> ServerProcess:
        """`mqlite serve` under the shim; `fsync_delay_ms` slows each log fsync."""
        data_dir.mkdir(parents=True, exist_ok=True)
        env = {"LD_PRELOAD": str(self.lib), "POWERCUT_DIR": str(data_dir.resolve()),
               "POWERCUT_LOG": str(self.log), "POWERCUT_SHADOW": str(self.shadow)}
        if fsync_delay_ms:
            env["POWERCUT_DELAY_US"] = str(fsync_delay_ms * 1000)
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            self.server = spawn_server(data_dir, *flags)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return self.server

    def records(self) -> list[tuple[int, int]]:
        if not self.log.exists():
            return []
        out = []
        for line in self.log.read_text().splitlines():
            ino, _, size = line.partition(" ")
            if size:
                out.append((int(ino), int(size)))
        return out

    def kill(self) -> None:
        assert self.server is not None
        self.server.kill()

    def cut(self, data_dir: Path) -> dict[str, int]:
        """Drop what no fsync covered (the server must be dead). Returns counts."""
        durable: dict[int, int] = {}
        for ino, size in self.records():
            durable[ino] = size
        dropped = files = 0
        for path in data_dir.rglob("*"):
            if not path.is_file():
                continue
            st = path.stat()
            if ".sqlite3" in path.name:
                image = self.shadow / str(st.st_ino)
                data = image.read_bytes() if image.exists() else b""
                if data != path.read_bytes():
                    files += 1
                    dropped += max(st.st_size - len(data), 0)
                    path.write_bytes(data)
                continue
            keep = durable.get(st.st_ino, 0)
            if st.st_size > keep:
                files += 1
                dropped += st.st_size - keep
                os.truncate(path, keep)
        self.log.unlink(missing_ok=True)
        shutil.rmtree(self.shadow, ignore_errors=True)
        self.shadow.mkdir()
        return {"files": files, "bytes": dropped}

    def wait_durable(self, data_dir: Path, timeout: float = 30) -> None:
        """Wait until the fsync policy made everything written so far durable: each
        segment file's fsynced size reached its current size, and each SQLite file's
        last fsynced image equals its current content."""
        logs = {p.stat().st_ino: p.stat().st_size for p in data_dir.rglob("*.log") if p.stat().st_size}
        sqlite = [p for p in data_dir.glob("catalog.sqlite3*") if not p.name.endswith("-shm")]
        deadline = time.monotonic() + timeout
        pending: list[str] = []
        while time.monotonic() < deadline:
            sizes = dict(self.records())
            pending = [f"log inode {ino}" for ino, size in logs.items() if sizes.get(ino, 0) < size]
            for path in sqlite:
                data = path.read_bytes()
                image = self.shadow / str(path.stat().st_ino)
                if data and (not image.exists() or image.read_bytes() != data):
                    pending.append(path.name)
            if not pending:
                return
            time.sleep(0.05)
        raise AssertionError(f"the fsync policy left acknowledged writes unsynced after {timeout} s: {pending}")
