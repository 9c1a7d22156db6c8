"""Run moto's own test suites (server mode) against mqlite and against moto's server.

    scripts/conformance-moto.sh sqs sns [--targets mqlite,moto] [-k EXPR] [--serial]

Fetches the pinned moto sdist from PyPI (once, into the cache directory), extracts its
`moto/` package and the tests of the named services with their conftest and helpers, and
runs each suite with TEST_SERVER_MODE=true twice in the same run: against a fresh mqlite
per test (in-process server on a fixed port, restarted before every test; see
moto_plugin.py) and against moto's own server of the same version (which moto's tests
reset through /moto-api/reset). Prints a progress line per test and pass/fail counts per
target, then the tests that fail on mqlite only, marking those documented in
docs/aws-fidelity.md as moto deviations from AWS. Exit status 0 when every mqlite failure
is documented.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import subprocess
import sys
import tarfile
import time
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

MOTO_VERSION = "5.2.3"
HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
DOC = REPO / "docs" / "aws-fidelity.md"
# Helper modules moto's SQS/SNS tests import besides their own package.
SHARED = ("tests/__init__.py", "tests/conftest.py", "tests/markers.py", "tests/test_core/",
          "tests/test_awslambda/", "tests/test_ecr/")
# Modules (or tests) of services mqlite does not serve: run on neither target, named in the output.
OUT_OF_SCOPE = {
    "tests/test_sqs/test_sqs_cloudformation.py": "CloudFormation",
    "tests/test_sqs/test_sqs_integration.py": "Lambda (needs Docker)",
    "tests/test_sns/test_sns_cloudformation.py": "CloudFormation",
    "tests/test_sns/test_topics.py::test_list_config_service_resources": "AWS Config",
    "tests/test_sns/test_topics.py::test_get_config_resource": "AWS Config",
    "tests/test_kinesis/test_kinesis_cloudformation.py": "CloudFormation",
    "tests/test_events/test_events_cloudformation.py": "CloudFormation",
    "tests/test_events/test_events_sfn_integration.py": "Step Functions",
    "tests/test_events/test_events_lambdatriggers_integration.py": "IAM, Lambda and S3",
    "tests/test_events/test_events_integration.py::test_send_to_cw_log_group": "CloudWatch Logs",
    "tests/test_events/test_events_integration.py::test_moto_matches_none_value_with_exists_filter":
        "CloudWatch Logs",
    "tests/test_events/test_events.py::test_start_replay_send_to_log_group": "CloudWatch Logs",
    "tests/test_events/test_events.py::test_send_transformed_events_to_log_group": "CloudWatch Logs",
    "tests/test_events/test_events.py::test_kms_key_is_created": "Secrets Manager",
    "tests/test_firehose/test_firehose_integration.py::test_get_tag_and_untag_resources_firehose":
        "Resource Groups Tagging API",
    "tests/test_firehose/test_firehose_put.py::test_put_record_batch_extended_s3_destination": "S3",
    "tests/test_firehose/test_firehose_put.py::test_put_record_redshift_destination": "Redshift",
    "tests/test_firehose/test_firehose_put.py::test_put_record_batch_redshift_destination": "Redshift",
    "tests/test_firehose/test_firehose_put.py::test_put_record_snowflake_destination": "Snowflake",
    "tests/test_firehose/test_firehose_put.py::test_put_record_batch_snowflake_destination": "Snowflake",
    "tests/test_firehose/test_firehose_destination_types.py::test_create_snowflake_delivery_stream": "Snowflake",
    "tests/test_firehose/test_firehose_destination_types.py::test_create_iceberg_delivery_stream": "Iceberg",
    "tests/test_firehose/test_firehose_destination_types.py::test_update_iceberg_delivery_stream": "Iceberg",
    "tests/test_firehose/test_firehose_destination_types.py::test_create_redshift_delivery_stream": "Redshift",
    "tests/test_firehose/test_firehose_destination_types.py::test_create_elasticsearch_delivery_stream":
        "Elasticsearch/OpenSearch",
}


def fetch(cache: Path, services: list[str]) -> Path:
    """The extracted sdist root (moto/, the services' tests and their helpers), downloading
    the sdist on first use."""
    root = cache / f"moto-{MOTO_VERSION}"
    cache.mkdir(parents=True, exist_ok=True)
    archive = cache / f"moto-{MOTO_VERSION}.tar.gz"
    if not archive.exists():
        print(f"conformance: pip download moto=={MOTO_VERSION} (sdist) into {cache}", flush=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-binary", ":all:",
                        "--no-deps", "--disable-pip-version-check", f"moto=={MOTO_VERSION}",
                        "-d", str(cache)], check=True)
    wanted = ["moto/", *SHARED, *(f"tests/test_{s}/" for s in services)]
    missing = [w for w in wanted if not (root / w).exists()]
    if missing:
        prefix = f"moto-{MOTO_VERSION}/"
        print(f"conformance: extracting {' '.join(missing)} from {archive.name}", flush=True)
        with tarfile.open(archive) as tar:
            members = [m for m in tar.getmembers() if m.name.startswith(prefix)
                       and m.name[len(prefix):].startswith(tuple(missing))]
            tar.extractall(cache, members=members, filter="data")
    return root


def free_port(lo: int, hi: int) -> int:
    for port in range(lo, hi):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise SystemExit(f"conformance: no free port in {lo}-{hi}")


def wait_http(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"conformance: moto server exited with {proc.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1)
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("conformance: moto server did not start")


def documented() -> set[str]:
    """Test ids documented in docs/aws-fidelity.md as moto deviations (`tests/...::name`
    in its section "Tests that encode moto, not AWS")."""
    if not DOC.exists():
        return set()
    text = DOC.read_text()
    found: set[str] = set()
    for part in text.split("## Tests that encode moto")[1:]:  # one such section per service group
        section = part.split("\n## ", 1)[0]
        found |= set(re.findall(r"`(tests/test_\w+/\w+\.py::[^`\s]+)`", section))
    return found


def outcomes(junit: Path) -> dict[str, str]:
    result: dict[str, str] = {}
    if not junit.exists():
        return result
    for case in ET.parse(junit).getroot().iter("testcase"):
        path = case.get("classname", "").replace(".", "/")
        # classname is module[.Class]; rebuild pytest's node id
        parts = case.get("classname", "").split(".")
        cls = [p for p in parts if p[:1].isupper()]
        module = "/".join(p for p in parts if not p[:1].isupper()) + ".py"
        node = f"{module}::" + "::".join(cls + [case.get("name", "")])
        del path
        if case.find("skipped") is not None:
            result[node] = "skipped"
        elif case.find("failure") is not None or case.find("error") is not None:
            result[node] = "failed"
        else:
            result[node] = "passed"
    return result


def start_run(target: str, service: str, root: Path, port: int, work: Path,
              extra: list[str]) -> tuple[subprocess.Popen, Path, Path]:
    junit = work / f"{target}-{service}.xml"
    log = work / f"{target}-{service}.log"
    env = dict(os.environ)
    env.update(
        TEST_SERVER_MODE="true",
        TEST_SERVER_MODE_ENDPOINT=f"http://localhost:{port}",
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", CONFORMANCE_LABEL=f"{target} {service}",
        PYTHONPATH=os.pathsep.join([str(root), str(HERE), str(REPO / "src")]),
    )
    env.pop("MQLITE_CONFORMANCE_PORT", None)
    if target == "mqlite":
        env["MQLITE_CONFORMANCE_PORT"] = str(port)
    ignore = [f"--deselect={m}" if "::" in m else f"--ignore={m}"
              for m in OUT_OF_SCOPE if m.startswith(f"tests/test_{service}/")]
    cmd = [sys.executable, "-m", "pytest", f"tests/test_{service}", *ignore, "-p", "moto_plugin",
           "-p", "no:cacheprovider", "-q", "--color=no", f"--junitxml={junit}",
           "-o", "junit_family=xunit1", "--timeout=120", "--continue-on-collection-errors", *extra]
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=log.open("w"),
                            stderr=subprocess.STDOUT if os.environ.get("CONFORMANCE_QUIET") else None)
    return proc, junit, log


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("services", nargs="+", help="moto test packages: sqs sns kinesis events ...")
    ap.add_argument("--targets", default="mqlite,moto", help="comma-separated: mqlite,moto")
    ap.add_argument("--ports", default="48000-48999", help="range for the servers' ports")
    ap.add_argument("--cache", type=Path,
                    default=Path(os.environ.get("MQLITE_CONFORMANCE_CACHE",
                                                Path.home() / ".cache" / "mqlite-conformance")))
    ap.add_argument("--serial", action="store_true", help="one pytest run at a time")
    ap.add_argument("-k", dest="keyword", help="pytest -k expression")
    args = ap.parse_args(argv)
    lo, hi = (int(p) for p in args.ports.split("-"))
    targets = args.targets.split(",")
    root = fetch(args.cache, args.services)
    work = args.cache / "runs"
    work.mkdir(exist_ok=True)
    extra = ["-k", args.keyword] if args.keyword else []

    moto_proc = None
    ports: dict[str, int] = {}
    next_port = lo
    for target in targets:
        ports[target] = free_port(next_port, hi)
        next_port = ports[target] + 1
    if "moto" in targets:
        env = dict(os.environ, PYTHONPATH=str(root))
        moto_proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(ports["moto"])],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_http(ports["moto"], moto_proc)
        print(f"conformance: moto {MOTO_VERSION} server on 127.0.0.1:{ports['moto']}", flush=True)
    if "mqlite" in targets:
        print(f"conformance: fresh mqlite per test on 127.0.0.1:{ports['mqlite']}", flush=True)
    results: dict[tuple[str, str], dict[str, str]] = {}
    try:
        for service in args.services:
            runs = []
            for target in targets:
                runs.append((target, *start_run(target, service, root, ports[target], work, extra)))
                if args.serial:
                    runs[-1][1].wait()
            for target, proc, junit, _log in runs:
                proc.wait()
                results[(target, service)] = outcomes(junit)
    finally:
        if moto_proc is not None:
            moto_proc.terminate()
            moto_proc.wait(timeout=30)

    docs = documented()
    status = 0
    for module, why in OUT_OF_SCOPE.items():
        if any(module.startswith(f"tests/test_{s}/") for s in args.services):
            print(f"conformance: not run (a service mqlite does not serve: {why}): {module}")
    print(f"\nmoto {MOTO_VERSION} test suites, server mode (logs and junit in {work})")
    for service in args.services:
        for target in targets:
            res = results[(target, service)]
            counts = {k: sum(1 for v in res.values() if v == k) for k in ("passed", "failed", "skipped")}
            print(f"  {service:8} {target:7} passed {counts['passed']:4}  failed {counts['failed']:4}"
                  f"  skipped {counts['skipped']:4}  of {len(res)}")
        if "mqlite" in targets:
            failed = sorted(n for n, v in results[("mqlite", service)].items() if v == "failed")
            known = [n for n in failed if n in docs]
            unknown = [n for n in failed if n not in docs]
            print(f"  {service:8} mqlite failures documented as moto deviations: {len(known)}; "
                  f"undocumented: {len(unknown)}")
            for node in unknown:
                print(f"    FAIL {node}")
            status |= bool(unknown)
    return status


if __name__ == "__main__":
    sys.exit(main())
