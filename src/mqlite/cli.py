"""The `mqlite` command: `mqlite serve [options]` and `mqlite version`.

Flags mirror the fields of `Settings` (see `mqlite.config` for precedence). Errors in
the options print one line and exit 2, as argparse does; a broker that cannot start
(e.g. its data directory is locked by another process) prints why and exits 1.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import mqlite
from mqlite.errors import MqliteError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mqlite", description=mqlite.__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"mqlite {mqlite.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("version", help="print the version")

    serve = sub.add_parser("serve", help="run the broker and its protocol front-ends")
    serve.add_argument("--config", type=Path, help="TOML file of settings (flags win)")
    serve.add_argument("--data-dir", help="data directory (default ./mqlite-data)")
    serve.add_argument("--memory", action="store_true", default=None, help="no data directory: keep everything in memory")
    serve.add_argument("--fsync", help="always | never | <milliseconds> (default 1000)")
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    for name, default in (("http", 4566), ("kafka", 9092), ("amqp", 5672), ("redis", 6379)):
        serve.add_argument(f"--{name}-port", help=f"port, 0 for any, or off (default {default})")
    serve.add_argument("--aws-account", help="AWS account id in ARNs and URLs (default 000000000000)")
    serve.add_argument("--aws-region", help="default AWS region (default us-east-1)")
    serve.add_argument("--aws-key", action="append", dest="aws_keys", metavar="ID:SECRET",
                       help="accept SigV4 signatures of this key only (repeatable)")
    serve.add_argument("--s3-dir", help="where Firehose writes S3 objects (default <data-dir>/s3)")
    serve.add_argument("--sns-sign-workers", help="SNS signing processes, 0 to sign inline (default: one per core, 0 on 1 core)")
    serve.add_argument("--kafka-advertised-host", help="host Kafka clients are told to dial")
    serve.add_argument("--kafka-user", action="append", dest="kafka_users", metavar="USER:PASSWORD",
                       help="require SASL with these users (repeatable)")
    serve.add_argument("--amqp-user", action="append", dest="amqp_users", metavar="USER:PASSWORD",
                       help="AMQP users (default guest:guest, loopback only)")
    serve.add_argument("--redis-password", help="require AUTH with this password (user 'default')")
    serve.add_argument("--redis-user", action="append", dest="redis_users", metavar="USER:PASSWORD",
                       help="ACL-style Redis users for AUTH user password (repeatable)")
    serve.add_argument("--log-level", help="debug | info | warning | error (default info)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "version":
        print(f"mqlite {mqlite.__version__}")
        return 0
    from mqlite import server
    from mqlite.config import load_settings

    flags: dict[str, Any] = {k: v for k, v in vars(args).items() if k not in ("command", "config")}
    try:
        settings = load_settings(flags, config_file=args.config)
    except MqliteError as exc:
        print(f"mqlite: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return server.run(settings)
    except MqliteError as exc:
        print(f"mqlite: cannot start: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"mqlite: cannot start: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
