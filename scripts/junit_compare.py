"""Compare two JUnit XML results of one test suite: the real server's and mqlite's.

    python3 scripts/junit_compare.py DIR REFERENCE SUBJECT VARIANT [VARIANT ...]
            [--documented FILE]

reads DIR/<REFERENCE>-<VARIANT>.xml and DIR/<SUBJECT>-<VARIANT>.xml, prints the counts of
both side by side, and lists the tests that pass on the reference but not on the subject.
FILE lists test ids (one a line, `#` comments) whose difference is documented in
docs/protocols.md; they are shown but do not fail the run. Exit status 1 when any other
test passes on the reference and not on the subject.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from pathlib import Path


def outcomes(path: Path) -> dict[str, str]:
    """test id -> passed | failed | error | skipped."""
    result: dict[str, str] = {}
    if not path.exists():
        return result
    for case in ET.parse(path).getroot().iter("testcase"):
        tid = f"{case.get('classname', '')}::{case.get('name', '')}"
        state = "passed"
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                state = {"failure": "failed"}.get(child.tag, child.tag)
                break
        result[tid] = state
    return result


def counts(res: dict[str, str]) -> str:
    c = {k: sum(1 for v in res.values() if v == k) for k in ("passed", "failed", "error", "skipped")}
    return f"{c['passed']} passed, {c['failed'] + c['error']} failed, {c['skipped']} skipped"


def main(argv: list[str]) -> int:
    documented: set[str] = set()
    if "--documented" in argv:
        i = argv.index("--documented")
        text = Path(argv[i + 1]).read_text()
        documented = {ln.split("#")[0].strip() for ln in text.splitlines() if ln.split("#")[0].strip()}
        argv = argv[:i] + argv[i + 2:]
    if len(argv) < 4:
        print(__doc__)
        return 2
    work, ref, sub, variants = Path(argv[0]), argv[1], argv[2], argv[3:]
    bad = 0
    print(f"\n{'suite':<12} {ref:<40} {sub}")
    for v in variants:
        a, b = outcomes(work / f"{ref}-{v}.xml"), outcomes(work / f"{sub}-{v}.xml")
        print(f"{v:<12} {counts(a):<40} {counts(b)}")
        for tid in sorted(t for t, s in a.items() if s == "passed" and b.get(t) != "passed"):
            mark = "documented" if tid in documented else "DIFFERENT"
            bad += mark == "DIFFERENT"
            print(f"  {mark}: {tid} ({ref}: passed, {sub}: {b.get(tid, 'not run')})")
    print(f"\n{bad} test(s) pass on {ref} and not on {sub} without a documented reason")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
