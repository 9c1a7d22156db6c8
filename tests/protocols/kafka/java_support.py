"""The Java harness for the Kafka tests: Apache Kafka's jars, javac, and running them.

The jars come from `scripts/java/pom.xml` through `scripts/install-test-deps.sh`
(`mvn dependency:copy-dependencies` into `MQLITE_KAFKA_JARS`, default
`~/.cache/mqlite/kafka-jars`). The Java sources beside this module (`java/*.java`) are
compiled once per test session with `javac` against those jars. Tests that use
`java_classes` skip cleanly where there is no JDK or no jars, so the rest of the suite
runs anywhere. `kafka_tool(cls, ...)` runs one of Kafka's command-line tools (the class
that `bin/kafka-*.sh` runs) from the same jars.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

JAVA_SRC = Path(__file__).parent / "java"
JARS = Path(os.environ.get("MQLITE_KAFKA_JARS") or Path.home() / ".cache" / "mqlite" / "kafka-jars")

# The classes behind Kafka's bin/ scripts (Apache Kafka 4.x)
TOPICS = "org.apache.kafka.tools.TopicCommand"
CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
PRODUCER_PERF = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERF = "org.apache.kafka.tools.ConsumerPerformance"
TRANSACTIONS = "org.apache.kafka.tools.TransactionsCommand"


def missing() -> str | None:
    """Why the Java tests cannot run here, or None."""
    if shutil.which("java") is None or shutil.which("javac") is None:
        return "no JDK (java and javac) on PATH"
    if not (JARS / ".complete").is_file():
        return f"no Kafka jars in {JARS} (scripts/install-test-deps.sh)"
    return None


def classpath(*extra: Path) -> str:
    return os.pathsep.join([*(str(p) for p in extra), str(JARS / "*")])


def run_java(main: str, *args: str, classes: Path | None = None, input: str | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run `main` (a class from the jars or from `classes`) to completion."""
    cp = classpath(classes) if classes is not None else classpath()
    # a small heap and no JIT tiers beyond C1: these are short runs on a 2-core machine
    cmd = ["java", "-Xmx256m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-cp", cp, main, *args]
    return subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout, check=False)


def kafka_tool(cls: str, *args: str, input: str | None = None, timeout: float = 120) -> str:
    """Run one of Kafka's command-line tools; its stdout (fails the test on exit != 0)."""
    out = run_java(cls, *args, input=input, timeout=timeout)
    assert out.returncode == 0, f"{cls} {' '.join(args)} exited {out.returncode}:\n{out.stderr}\n{out.stdout}"
    return out.stdout


@pytest.fixture(scope="session")
def java_classes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`java/*.java` compiled against Kafka's jars (skips where Java or the jars are absent)."""
    why = missing()
    if why is not None:
        pytest.skip(why)
    out = tmp_path_factory.mktemp("java-classes")
    sources = sorted(str(p) for p in JAVA_SRC.glob("*.java"))
    done = subprocess.run(["javac", "-nowarn", "-d", str(out), "-cp", classpath(), *sources],
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    return out


def lines(stdout: str) -> dict[str, str]:
    """The `key=value` lines a Java test program prints, as a dict (the client's own log
    lines, which log4j2 also writes to stdout, are left out: e.g. the KIP-848 consumer's
    "Reconciliation failed" when it is closed during a rebalance)."""
    found = (re.match(r"([a-z][a-z0-9_-]*)=(.*)$", line) for line in stdout.splitlines())
    return {m.group(1): m.group(2) for m in found if m}
