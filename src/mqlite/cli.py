"""The `mqlite` command: `mqlite serve [options]`, `mqlite check|repair DIR`, `mqlite version`.

`serve`'s flags are generated from the settings declarations (`mqlite.config`), so a
flag, its `MQLITE_*` variable and its TOML key always agree. Errors in the options print
one line and exit 2, as argparse does; a broker that cannot start (port in use, data
directory unusable or locked) prints one line saying why and exits 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import mqlite
from mqlite import ctl
from mqlite.errors import MqliteError


def build_parser() -> argparse.ArgumentParser:
    from mqlite.config import add_arguments

    parser = argparse.ArgumentParser(prog="mqlite", description=mqlite.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mqlite {mqlite.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")

    serve = sub.add_parser("serve", help="run the broker and its protocol front-ends",
                           description="Run the broker. Every option is also an MQLITE_* variable and a "
                                       "TOML key of the same name (docs/configuration.md).")
    serve.add_argument("--config", type=Path, help="TOML file of settings; flags and variables win [MQLITE_CONFIG]")
    add_arguments(serve)
    ctl.register(sub)
    for name, text in (("check", "report the data directory's state (read-only)"),
                       ("repair", "rebuild a missing or damaged catalog from the data (dry run unless --apply)")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("data_dir", type=Path, help="the data directory")
        if name == "repair":
            cmd.add_argument("--apply", action="store_true", help="make the changes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from mqlite.server_signals import EarlySignals

    early = EarlySignals()  # before anything slow: a SIGTERM now still stops cleanly
    args = build_parser().parse_args(argv)
    if args.command != "serve":
        early.restore()  # other commands keep Ctrl-C's default: stop at once
    if args.command == "version":
        print(f"mqlite {mqlite.__version__}")
        return 0
    if args.command in ctl.COMMANDS:
        return ctl.run(args)
    if args.command in ("check", "repair"):
        from mqlite.core.repair import run_command

        return run_command(args.command, args.data_dir, getattr(args, "apply", False))
    from mqlite.config import flag_values, load_settings

    try:
        settings = load_settings(flag_values(args), config_file=args.config)
    except MqliteError as exc:
        print(f"mqlite: {exc}", file=sys.stderr)
        return 2
    from mqlite import logformat

    logformat.configure(settings.log_level, settings.log_format)
    if early.received is not None:
        return 0
    from mqlite import server

    try:
        return server.run(settings, early_signal=early)
    except MqliteError as exc:
        print(f"mqlite: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"mqlite: cannot start: {exc.strerror or exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
