"""Other real clients: redis-cli (subprocess) and redis-py's asyncio client."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from typing import Any

import pytest
import redis.asyncio as aioredis

pytestmark = pytest.mark.skipif(shutil.which("redis-cli") is None, reason="redis-tools not installed")


def cli(port: int, *args: str, stdin: str | None = None) -> str:
    out = subprocess.run(
        ["redis-cli", "-p", str(port), *args], input=stdin, capture_output=True, text=True, timeout=20, check=False
    )
    return out.stdout + out.stderr


def test_redis_cli_commands_and_errors(resp_server: Any) -> None:
    """redis-cli sends COMMAND DOCS on start in interactive mode; one-shot commands work."""
    port = resp_server.redis_port
    assert cli(port, "PING").strip() == "PONG"
    assert cli(port, "XADD", "s", "1-0", "f", "v").strip() == "1-0"
    assert cli(port, "XRANGE", "s", "-", "+").split() == ["1-0", "f", "v"]
    assert cli(port, "XADD", "s", "1-0", "f", "v").strip() == (
        "ERR The ID specified in XADD is equal or smaller than the target stream top item"
    )
    assert cli(port, "NOPE", "x").strip() == "ERR unknown command 'NOPE', with args beginning with: 'x'"
    assert cli(port, "-3", "HELLO").split()[:2] == ["server", "redis"]  # RESP3 map, non-tty output


def test_redis_cli_pipe_mode_of_inline_commands(resp_server: Any) -> None:
    """Lines on stdin (redis-cli reads each as a command)."""
    out = cli(resp_server.redis_port, stdin="XADD p 1-0 a 1\nXADD p 2-0 a 2\nXLEN p\n")
    assert out.split() == ["1-0", "2-0", "2"]


@pytest.mark.parametrize("protocol", [2, 3])
def test_asyncio_client_pubsub_and_blocking_read(resp_server: Any, protocol: int) -> None:
    """redis.asyncio (RESP2 and RESP3): pattern messages and XREAD BLOCK woken by XADD."""

    async def main() -> None:
        sub = aioredis.Redis(port=resp_server.redis_port, protocol=protocol)
        pub = aioredis.Redis(port=resp_server.redis_port, protocol=protocol)
        ps = sub.pubsub()
        await ps.psubscribe("ev.*")
        assert (await ps.get_message(timeout=2))["type"] == "psubscribe"
        assert await pub.publish("ev.1", "hi") == 1
        msg = None
        while msg is None:
            msg = await ps.get_message(timeout=2, ignore_subscribe_messages=True)
        assert msg["data"] == b"hi" and msg["pattern"] == b"ev.*"
        await ps.aclose()

        reader = aioredis.Redis(port=resp_server.redis_port, protocol=protocol)
        task = asyncio.create_task(reader.xread({"q": "$"}, block=0))
        while (await pub.info("clients"))["blocked_clients"] < 1:
            await asyncio.sleep(0.01)
        new_id = await pub.xadd("q", {"x": "1"})
        result = await asyncio.wait_for(task, 10)
        rows = result[b"q"][0] if isinstance(result, dict) else result[0][1]
        assert rows[0][0] == new_id
        for c in (sub, pub, reader):
            await c.aclose()

    asyncio.run(main())
