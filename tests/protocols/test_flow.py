"""Flow control written once (protocols/flow.py, transport.Connection): named pause
reasons that do not lift each other, and credit with high- and low-water marks.

Driven over a real TCP socket through `transport.listen`: what a paused connection
does not read stays in the kernel, and arrives once the last reason is lifted.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from mqlite.protocols.flow import Credit, Pause
from mqlite.protocols.transport import Connection, ConnectionRegistry, listen


class Recorder(Connection):
    """Keeps what it reads; tells the test when each read happens."""

    opened: asyncio.Queue[Recorder]

    def __init__(self, registry: ConnectionRegistry) -> None:
        super().__init__(registry)
        self.received = bytearray()
        self.arrived = asyncio.Event()

    def on_connect(self) -> None:
        self.opened.put_nowait(self)

    def on_data(self, data: bytes) -> None:
        self.received += data
        self.arrived.set()


async def _serve() -> tuple[object, asyncio.Queue[Recorder]]:
    opened: asyncio.Queue[Recorder] = asyncio.Queue()

    def factory(registry: ConnectionRegistry) -> Recorder:
        conn = Recorder(registry)
        conn.opened = opened
        return conn

    return await listen("flow-test", "127.0.0.1", 0, factory), opened


def test_a_lifted_reason_does_not_resume_reading_while_another_holds() -> None:
    """Rule: reading resumes only when no reason is left (the resource alarm is not
    lifted by the end of a credit pause: AMQP once shared one anonymous reason)."""

    async def scenario() -> None:
        listener, opened = await _serve()
        client = socket.create_connection(("127.0.0.1", listener.port))  # type: ignore[attr-defined]
        try:
            conn = await opened.get()
            conn.pause_reading(Pause.RESOURCE_ALARM)
            conn.pause_reading(Pause.CREDIT)
            conn.resume_reading(Pause.CREDIT)
            assert conn.reading_paused_for == {Pause.RESOURCE_ALARM}
            client.sendall(b"held by the kernel")
            conn.resume_reading(Pause.CREDIT)  # not held: a no-op
            assert conn.reading_paused_for == {Pause.RESOURCE_ALARM}
            assert bytes(conn.received) == b""
            conn.resume_reading(Pause.RESOURCE_ALARM)
            assert conn.reading_paused_for == frozenset()
            while len(conn.received) < len(b"held by the kernel"):
                conn.arrived.clear()
                await conn.arrived.wait()
            assert bytes(conn.received) == b"held by the kernel"
        finally:
            client.close()
            await listener.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_credit_pauses_at_the_high_mark_and_resumes_below_the_low_mark() -> None:
    """Rule (flow.Credit): pause once level >= high, resume once level < low; levels
    in between change nothing (hysteresis, so reading does not flap)."""

    async def scenario() -> None:
        listener, opened = await _serve()
        client = socket.create_connection(("127.0.0.1", listener.port))  # type: ignore[attr-defined]
        try:
            conn = await opened.get()
            credit = conn.credit(high=4, low=2)
            seen = []
            for level in (1, 3, 4, 5, 3, 2, 1, 3):
                credit.update(level)
                seen.append(Pause.CREDIT in conn.reading_paused_for)
            assert seen == [False, False, True, True, True, True, False, False]
        finally:
            client.close()
            await listener.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_a_client_that_does_not_read_pauses_reading_only_when_asked() -> None:
    """Rule: `pause_while_client_buffer_full` pauses (Pause.CLIENT_BUFFER) only while
    the transport's write buffer is over its high-water mark, and `resume_writing`
    lifts it; without the write buffer full it does nothing."""

    async def scenario() -> None:
        listener, opened = await _serve()
        client = socket.create_connection(("127.0.0.1", listener.port))  # type: ignore[attr-defined]
        try:
            conn = await opened.get()
            conn.pause_while_client_buffer_full()
            assert conn.reading_paused_for == frozenset()
            assert conn.transport is not None
            conn.transport.set_write_buffer_limits(high=1024)
            while not conn.write_blocked:  # the client reads nothing: the buffer fills
                conn.send(b"x" * 65536)
                await asyncio.sleep(0)
            conn.pause_while_client_buffer_full()
            assert conn.reading_paused_for == {Pause.CLIENT_BUFFER}
            client.setblocking(False)
            while conn.write_blocked:  # now the client reads everything
                try:
                    client.recv(1 << 20)
                except BlockingIOError:
                    pass
                await asyncio.sleep(0)
            assert conn.reading_paused_for == frozenset()
        finally:
            client.close()
            await listener.close()  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_credit_refuses_marks_that_cannot_work() -> None:
    async def scenario() -> None:
        with pytest.raises(ValueError, match="0 < low <= high"):
            Credit(Recorder(ConnectionRegistry()), high=1, low=2)

    asyncio.run(scenario())
