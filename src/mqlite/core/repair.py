"""`mqlite check` and `mqlite repair`: report, and rebuild, what the catalog lost.

`check(data_dir)` is read-only: the catalog's state (missing, damaged, ok), entity
directories without a catalog row and rows without a directory, and every log's
segments and offset indexes (`storage.verify`).
`repair(data_dir, apply=False)` prints what it would do; with `apply` it moves a damaged
catalog aside (`catalog.sqlite3.damaged-<time>`, never deleted) and opens the broker
with `rebuild_catalog`, which restores every stream and queue found on disk (name,
partitions; default config, as `StreamRegistry`/`QueueRegistry` adopt orphans). Torn
tails are left to start-up recovery, which truncates and logs them. Takes the data
directory's lock only when applying (a running broker makes it fail: DataDirLocked).
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from mqlite.core import ondisk
from mqlite.storage.verify import verify_log

__all__ = ["CheckReport", "check", "repair"]

CATALOG_FILE = "catalog.sqlite3"


@dataclass
class CheckReport:
    """Lines to print; `problems` counts the ones an operator must act on."""

    lines: list[str] = field(default_factory=list)
    problems: int = 0
    catalog: str = "ok"  # ok | missing | damaged
    orphans: list[ondisk.OnDiskEntity] = field(default_factory=list)

    def note(self, text: str) -> None:
        self.lines.append(text)

    def problem(self, text: str) -> None:
        self.lines.append(f"PROBLEM {text}")
        self.problems += 1


def _catalog_rows(path: Path, report: CheckReport) -> dict[str, set[str]] | None:
    if not path.exists():
        report.catalog = "missing"
        report.problem(f"catalog: missing ({path})")
        return None
    try:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = "; ".join(str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()[:3])
            rows = db.execute("SELECT kind, name FROM entities").fetchall()
        finally:
            db.close()
    except sqlite3.DatabaseError as exc:
        verdict, rows = str(exc), []
    if verdict != "ok":
        report.catalog = "damaged"
        report.problem(f"catalog: damaged ({verdict})")
        return None
    out: dict[str, set[str]] = {}
    for kind, name in rows:
        out.setdefault(kind, set()).add(name)
    report.note(f"catalog: ok ({len(rows)} entities)")
    return out


def check(data_dir: Path) -> CheckReport:
    """Inspect `data_dir` without changing it."""
    report = CheckReport()
    rows = _catalog_rows(data_dir / CATALOG_FILE, report)
    for kind in ondisk.RECOVERABLE_KINDS:
        found = ondisk.entities_on_disk(data_dir, kind)
        known = rows.get(kind, set()) if rows is not None else set()
        for entity in found:
            label = f"{kind} {entity.name!r}" if entity.name is not None else f"{kind} in {entity.path}"
            if entity.name is None or entity.name not in known:
                report.orphans.append(entity)
                report.problem(f"{label}: {entity.partitions} partitions on disk, no catalog entry")
        if rows is not None:
            names = {e.name for e in found}
            for name in sorted(known - names):
                report.note(f"{kind} {name!r}: in the catalog, no data directory yet")
    logs = 0
    for kind in ("stream", "queue", "queue-journal"):
        base = data_dir / f"{kind}s"
        for part in sorted(base.glob("*/*")) if base.is_dir() else []:
            if not part.is_dir() or not part.name.isdigit():
                continue
            logs += 1
            for text in verify_log(part).problems:
                report.problem(text)
    report.note(f"logs: {logs} checked")
    return report


def repair(data_dir: Path, *, apply: bool = False) -> list[str]:
    """What repair does (dry run) or did (`apply`); see the module docstring."""
    report = check(data_dir)
    actions: list[str] = []
    catalog_path = data_dir / CATALOG_FILE
    if report.catalog == "damaged":
        aside = catalog_path.with_name(f"{CATALOG_FILE}.damaged-{time.strftime('%Y%m%dT%H%M%S')}")
        actions.append(f"move the damaged catalog aside to {aside} and start a new one")
        if apply:
            for suffix in ("", "-wal", "-shm"):
                src = Path(f"{catalog_path}{suffix}")
                if src.exists():
                    src.rename(Path(f"{aside}{suffix}"))
    elif report.catalog == "missing":
        actions.append(f"create a new catalog {catalog_path}")
    for entity in report.orphans:
        if entity.name is None:
            actions.append(f"leave {entity.path} in place: its name cannot be recovered")
        else:
            actions.append(f"restore {entity.kind} {entity.name!r} ({entity.partitions} partitions,"
                           " default config)")
    if apply and actions:
        asyncio.run(_rebuild(data_dir))
    return actions


async def _rebuild(data_dir: Path) -> None:
    from mqlite.core.broker import BrokerCore  # the full open adopts what is on disk
    from mqlite.core.config import CoreConfig

    core = await BrokerCore.open(
        data_dir, CoreConfig(fsync="always", maintenance_interval=0, rebuild_catalog=True)
    )
    await core.close()


def run_command(command: str, data_dir: Path, apply: bool) -> int:
    """`mqlite check DIR` (exit 1 when there are problems) / `mqlite repair DIR [--apply]`."""
    import sys

    from mqlite.errors import MqliteError

    if not data_dir.is_dir():
        print(f"mqlite: {data_dir} is not a directory", file=sys.stderr)
        return 2
    if command == "check":
        report = check(data_dir)
        print("\n".join(report.lines))
        print(f"{report.problems} problems" if report.problems else "no problems")
        return 1 if report.problems else 0
    try:
        actions = repair(data_dir, apply=apply)
    except MqliteError as exc:
        print(f"mqlite: cannot repair: {exc}", file=sys.stderr)
        return 1
    if not actions:
        print("nothing to repair")
    for action in actions:
        print(("done: " if apply else "would ") + action)
    if actions and not apply:
        print("dry run: nothing changed; run again with --apply to make these changes")
    return 0
