"""Model-driven conformance: generated requests for every AWS operation mqlite serves.

    scripts/conformance-model.sh [sqs sns sts kinesis firehose events] [--ops A,B] [--port N]

For each service, every operation of botocore's model (the one mqlite's wire layer
serves) gets the requests of `model_cases.py` (minimal, full, each required member
missing, each constraint broken by one), sent by a real botocore client (its own
parameter validation off, so invalid requests reach the server) over every protocol the
service speaks (SQS: json and query; SNS, STS: query; Kinesis, Firehose, EventBridge:
json) to a fresh in-process mqlite server; each answer is judged by `model_check.py`.
An operation mqlite does not serve (answered `InvalidAction`) is listed, not counted.
Prints a progress line per operation, then per service: operations served, cases
generated, passed, failed, and each failure (operation, case, protocol, why).
Exit status 0 when every case passes.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
if not any(Path(p, "mqlite").is_dir() for p in sys.path if p):  # PYTHONPATH picks the server
    sys.path.insert(1, str(REPO / "src"))

import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from model_cases import Case, cases
from model_check import Err, Ok, judge
from model_fixtures import fixtures

PROTOCOLS = {"sqs": ("json", "query"), "sns": ("query",), "sts": ("query",),
             "kinesis": ("json",), "firehose": ("json",), "events": ("json",)}
CONFIG = Config(parameter_validation=False, retries={"max_attempts": 1}, read_timeout=30,
                connect_timeout=5)
CREDS = {"aws_access_key_id": "AKIDCONFORMANCE", "aws_secret_access_key": "secret"}


@dataclass
class Tally:
    served: list[str] = field(default_factory=list)
    not_served: list[str] = field(default_factory=list)
    cases: int = 0
    passed: int = 0
    succeeded: int = 0  # valid cases answered with a result (not an error)
    failures: list[str] = field(default_factory=list)


def _session(protocol: str, service: str, models: Path) -> botocore.session.Session:
    session = botocore.session.Session()
    if service == "sqs" and protocol == "query":
        from mqlite.protocols.aws.sqs.query_traits import QUERY_OVERLAY
        from mqlite.protocols.aws.wire import query_model_dict

        target = models / "sqs" / "2012-11-05"
        target.mkdir(parents=True, exist_ok=True)
        (target / "service-2.json").write_text(json.dumps(query_model_dict("sqs", QUERY_OVERLAY)))
        session.get_component("data_loader").search_paths.insert(0, str(models))
    return session


def client(endpoint: str, service: str, protocol: str, models: Path) -> Any:
    return _session(protocol, service, models).create_client(
        service, endpoint_url=endpoint, region_name="us-east-1", config=CONFIG, **CREDS)


def send(c: Any, case: Case) -> Ok | Err | str:
    """The answer to one case, or a string when the client could not send it."""
    method = getattr(c, c.meta.method_to_api_mapping and
                     {v: k for k, v in c.meta.method_to_api_mapping.items()}[case.operation])
    try:
        parsed = method(**case.params)
    except ClientError as exc:
        err = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        # awsQueryCompatible JSON errors: botocore reports the query code (x-amzn-query-error)
        # and keeps the modelled shape's name (`__type`) as QueryErrorCode
        code = str(err.get("QueryErrorCode") or err.get("Code", ""))
        return Err(status, code, str(err.get("Message", "")))
    except (BotoCoreError, ValueError, TypeError, KeyError) as exc:
        return f"client could not send or parse: {type(exc).__name__}: {str(exc)[:160]}"
    return Ok(parsed.get("ResponseMetadata", {}).get("HTTPStatusCode", 200), parsed)


def not_served(outcome: Ok | Err | str) -> bool:
    return isinstance(outcome, Err) and outcome.code == "InvalidAction"


def run_service(service: str, endpoint: str, models: Path, ops: Iterable[str] | None,
                out: Callable[[str], None]) -> Tally:
    tally = Tally()
    for protocol in PROTOCOLS[service]:
        c = client(endpoint, service, protocol, models)
        model = c.meta.service_model
        names = [n for n in model.operation_names if ops is None or n in ops]
        started = time.monotonic()
        for i, name in enumerate(names, 1):
            op = model.operation_model(name)
            generated = cases(op, fixtures(service, c, lambda name: client(endpoint, name, "json", models)))
            first = send(c, generated[0])
            if not_served(first):
                if protocol == PROTOCOLS[service][0]:
                    tally.not_served.append(name)
                continue
            if protocol == PROTOCOLS[service][0]:
                tally.served.append(name)
            passed = 0
            for j, case in enumerate(generated):
                outcome = first if j == 0 else send(c, case)
                why = outcome if isinstance(outcome, str) else judge(case.valid, op, outcome, protocol == "query")
                tally.cases += 1
                tally.succeeded += isinstance(outcome, Ok)
                if why is None:
                    passed += 1
                    tally.passed += 1
                else:
                    tally.failures.append(f"{name} [{protocol}] {case.kind}: {why}")
            out(f"[model {service} {protocol}] {i}/{len(names)} {name}: {passed}/{len(generated)} passed"
                f" (total {tally.passed}/{tally.cases}, {time.monotonic() - started:.0f}s)")
    return tally


def start_server(port: int) -> Any:
    from mqlite.testing import ServerHandle, test_settings

    settings = test_settings(None, memory=True, http_port=port, kafka_port=None, amqp_port=None,
                             redis_port=None, host="127.0.0.1")
    return ServerHandle(settings)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("services", nargs="*", default=list(PROTOCOLS), help=" ".join(PROTOCOLS))
    ap.add_argument("--ops", help="comma-separated operation names (default: all)")
    ap.add_argument("--port", type=int, default=0, help="the server's HTTP port (default: any free)")
    ap.add_argument("--failures", type=int, default=60, help="failures printed per service")
    args = ap.parse_args(argv)
    ops = set(args.ops.split(",")) if args.ops else None
    results: dict[str, Tally] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for service in args.services:
            server = start_server(args.port)  # a fresh server per service
            try:
                endpoint = f"http://127.0.0.1:{server.settings.http_port}"
                print(f"conformance-model: {service} against mqlite on {endpoint}", flush=True)
                results[service] = run_service(service, endpoint, Path(tmp), ops,
                                               lambda line: print(line, flush=True))
            finally:
                server.stop()
    print("\nmodel-driven conformance (botocore models):")
    status = 0
    for service, t in results.items():
        print(f"  {service:9} operations served {len(t.served):3}  cases {t.cases:5}  passed {t.passed:5}"
              f"  failed {len(t.failures):4}  (answered with a result: {t.succeeded})")
        if t.not_served:
            print(f"    not served ({len(t.not_served)}): {', '.join(t.not_served)}")
        for line in t.failures[:args.failures]:
            print(f"    FAIL {line}")
        if len(t.failures) > args.failures:
            print(f"    ... {len(t.failures) - args.failures} more")
        status |= bool(t.failures)
    return status


if __name__ == "__main__":
    sys.exit(main())
