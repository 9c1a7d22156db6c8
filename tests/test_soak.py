"""The soak and fault run, short (issue 26, item 11): `scripts/soak.py --duration 30`
must find every acknowledged message of all four front-ends after kills, connection
floods and (as root) a full disk. The 10-minute run is the script's default."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_short_soak_loses_nothing_acknowledged() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "soak.py"), "--duration", "30", "--disk-mib", "256"],
                          capture_output=True, text=True, env=env, timeout=600)
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.stderr[-3000:]
    assert report["chaos"], "no fault was injected"
    for name, counts in report["protocols"].items():
        assert counts["acked"] > 0, f"{name}: nothing was acknowledged"
        assert counts["missing"] == 0, f"{name}: acknowledged messages missing: {counts['missing_sample']}"
    assert report["fds_after_load"] < report["fds_at_start"] + 50  # the floods' descriptors were released
