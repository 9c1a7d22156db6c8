"""The blocking, thread-safe flavour of the embedded API: `mqlite.Broker`.

`Broker` runs a private event-loop thread (a stdlib selector loop) with its own
`BrokerCore`. Core objects are single-threaded by contract; here that is kept by a
*core lock*: the loop thread holds it except while it is parked in `select()`, and a
facade call (`Queue`, `Stream`, `Group`, `Topic`) takes it, marks the broker's loop as
running in the calling thread and runs the call's coroutine right there. Most calls
(a send, a receive without wait, a delete under an fsync interval) finish in that step
and never cross threads; a call that has to wait (a long poll, an fsync under
`always`) is handed to the loop thread as a Task and the caller waits on a lock
(`_Call`). Anything the inline step scheduled (a woken long poll, a timer) wakes the
loop thread. So any number of threads may share one `Broker`; calls are serialised by
the core lock. Each facade wraps the async facade of the same name (`embedded.aio`),
which holds the semantics.

Invariants: after `close()` (idempotent) the core is closed, the loop thread has ended,
and every further call raises RuntimeError("the broker is closed"). A call made from
the broker's own loop thread raises instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import selectors
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Self, TypeVar

from mqlite.core.broker import BrokerCore
from mqlite.core.clock import Clock
from mqlite.core.config import CoreConfig
from mqlite.core.message import Message
from mqlite.embedded.aio import (
    AsyncBroker,
    AsyncGroup,
    AsyncQueue,
    AsyncStream,
    AsyncTopic,
)
from mqlite.storage.recordbatch import Record

T = TypeVar("T")

__all__ = ["Broker", "Group", "Queue", "Stream", "Topic"]


async def _as_coroutine(awaitable: Awaitable[T]) -> T:
    return await awaitable


class _Call:
    """One blocking call in flight: the caller waits on `lock` (taken at creation), the
    loop sets `value` or `error` and releases it. Cheaper than a concurrent Future (no
    Condition, no callbacks): the hop is one call_soon_threadsafe and one lock."""

    __slots__ = ("error", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lock.acquire()
        self.value: Any = None
        self.error: BaseException | None = None

    def finish(self, value: Any, error: BaseException | None) -> None:
        self.value = value
        self.error = error
        self.lock.release()


async def _resume(coro: Coroutine[Any, Any, Any], yielded: Any, call: _Call) -> None:
    """Drive a coroutine that suspended in its inline first step, as a Task would."""
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                await _settled(yielded)
        except asyncio.CancelledError:  # the loop is shutting down: pass it in
            try:
                yielded = coro.throw(asyncio.CancelledError())
            except StopIteration as stop:
                call.finish(stop.value, None)
                return
            except BaseException as exc:  # noqa: BLE001
                call.finish(None, exc)
                return
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            call.finish(stop.value, None)
            return
        except BaseException as exc:  # noqa: BLE001
            call.finish(None, exc)
            return


async def _settled(waited: Any) -> None:
    """Wait until a future the coroutine yielded is done, without consuming its result
    (the coroutine reads it when resumed)."""
    waiter = asyncio.get_running_loop().create_future()

    def wake(_: Any) -> None:
        if not waiter.done():
            waiter.set_result(None)

    waited.add_done_callback(wake)
    try:
        await waiter
    finally:
        waited.remove_done_callback(wake)


class _UnlockingSelector(selectors.DefaultSelector):
    """The loop thread holds the core lock at all times except while it blocks in
    `select()`: that is when a caller thread may run a call inline."""

    def __init__(self, core_lock: Any) -> None:
        super().__init__()
        self._core_lock = core_lock

    def select(self, timeout: float | None = None) -> list[tuple[Any, int]]:
        self._core_lock.release()
        try:
            return super().select(timeout)
        finally:
            self._core_lock.acquire()


class _Loop(asyncio.SelectorEventLoop):
    """Notes whether anything was scheduled, so an inline call knows to wake the loop
    thread (a Task, a timer, a future's callbacks: all go through these two)."""

    touched = False

    def call_soon(  # type: ignore[override]
        self, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.Handle:
        self.touched = True
        return super().call_soon(callback, *args, context=context)

    def call_at(  # type: ignore[override]
        self, when: float, callback: Any, *args: Any, context: Any = None
    ) -> asyncio.TimerHandle:
        self.touched = True
        return super().call_at(when, callback, *args, context=context)


def _noop() -> None:
    pass


def _hand_over(coro: Coroutine[Any, Any, Any], yielded: Any, call: _Call) -> None:
    asyncio.ensure_future(_resume(coro, yielded, call))


class _LoopThread:
    """The broker's loop thread and the core lock. A blocking call takes the core lock
    (the loop thread is then parked in select), marks the loop as running in the calling
    thread and runs the call's coroutine right there; most calls finish in that step and
    never cross threads. A call that has to wait (a long poll, an fsync) is handed to the
    loop thread as a Task and the caller waits on its `_Call`. Anything the inline step
    scheduled wakes the loop thread."""

    def __init__(self) -> None:
        self.core_lock = threading.Lock()
        self.core_lock.acquire()  # the loop thread's until it parks in select
        self.loop = _Loop(_UnlockingSelector(self.core_lock))
        self.closed = False
        self.inline_owner: int | None = None  # the thread running a call inline
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(self.loop)
            self.loop.call_soon(ready.set)
            try:
                self.loop.run_forever()
                self.loop.run_until_complete(self.loop.shutdown_asyncgens())
                self.loop.close()
            finally:
                self.closed = True
                self.core_lock.release()

        self.thread = threading.Thread(target=run, name="mqlite-broker", daemon=True)
        self.thread.start()
        ready.wait()

    def run(self, awaitable: Awaitable[T]) -> T:
        me = threading.get_ident()
        if threading.current_thread() is self.thread or self.inline_owner == me:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("a blocking Broker call from inside its own loop would deadlock")
        coro = awaitable if asyncio.iscoroutine(awaitable) else _as_coroutine(awaitable)
        loop = self.loop
        lock = self.core_lock
        lock.acquire()
        self.inline_owner = me
        call: _Call | None = None
        try:
            if self.closed:
                coro.close()
                raise RuntimeError("the broker is closed")
            outer = asyncio._get_running_loop()
            asyncio._set_running_loop(loop)
            loop.touched = False
            try:
                yielded = coro.send(None)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            finally:
                asyncio._set_running_loop(outer)
            call = _Call()
            loop.call_soon(_hand_over, coro, yielded, call)
        finally:
            touched = loop.touched
            self.inline_owner = None
            lock.release()
            if touched and not self.closed:
                with contextlib.suppress(RuntimeError):  # closed meanwhile
                    loop.call_soon_threadsafe(_noop)  # wake it: work was scheduled
        wait = call.lock
        while not wait.acquire(timeout=0.5):  # poll, so a call racing close() cannot hang
            if not self.thread.is_alive():
                raise RuntimeError("the broker is closed") from None
        if call.error is not None:
            raise call.error
        return call.value  # type: ignore[no-any-return]

    def stop(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join()


class Queue:
    """Blocking facade of `AsyncQueue` (same names, same arguments)."""

    def __init__(self, broker: Broker, inner: AsyncQueue) -> None:
        self._run = broker._run
        self._inner = inner
        self.name = inner.name

    def send(
        self,
        body: bytes | str,
        attributes: Mapping[str, Any] | None = None,
        delay: float = 0,
        group_id: str | None = None,
        dedup_id: str | None = None,
    ) -> str:
        return self._run(self._inner.send(body, attributes, delay, group_id, dedup_id))

    def send_batch(self, bodies: Iterable[bytes | str | Mapping[str, Any]]) -> list[str]:
        return self._run(self._inner.send_batch(list(bodies)))

    def receive(
        self, max_messages: int = 1, wait: float = 0, visibility_timeout: float | None = None
    ) -> list[Message]:
        return self._run(self._inner.receive(max_messages, wait, visibility_timeout))

    def delete(self, receipt: str) -> None:
        self._run(self._inner.delete(receipt))

    def delete_batch(self, receipts: Iterable[str]) -> None:
        self._run(self._inner.delete_batch(list(receipts)))

    def change_visibility(self, receipt: str, seconds: float) -> None:
        self._run(self._inner.change_visibility(receipt, seconds))

    def purge(self) -> None:
        self._run(self._inner.purge())

    def counts(self) -> Any:
        return self._run(self._inner.counts())


class Group:
    """Blocking facade of `AsyncGroup`."""

    def __init__(self, run: Callable[[Awaitable[Any]], Any], inner: AsyncGroup) -> None:
        self._run = run
        self._inner = inner
        self.name = inner.name

    def commit(self, partition: int, offset: int, metadata: str = "") -> None:
        self._run(self._inner.commit(partition, offset, metadata))

    def committed(self, partition: int) -> int | None:
        offset: int | None = self._run(self._inner.committed(partition))
        return offset

    def lag(self) -> dict[int, int]:
        lag: dict[int, int] = self._run(self._inner.lag())
        return lag


class Stream:
    """Blocking facade of `AsyncStream` (same names, same arguments)."""

    def __init__(self, broker: Broker, inner: AsyncStream) -> None:
        self._run = broker._run
        self._inner = inner
        self.name = inner.name

    @property
    def partitions(self) -> int:
        return self._run(self._partitions())

    async def _partitions(self) -> int:
        return self._inner.partitions

    def append(
        self,
        value: bytes | str | None,
        key: bytes | str | None = None,
        headers: Mapping[str, bytes | str | None] | Iterable[tuple[str, Any]] | None = None,
        partition: int | None = None,
    ) -> tuple[int, int]:
        return self._run(self._inner.append(value, key, headers, partition))

    def append_batch(
        self, values: Sequence[bytes | str | tuple[Any, ...]], partition: int | None = None
    ) -> list[tuple[int, int]]:
        return self._run(self._inner.append_batch(values, partition))

    def read(
        self, partition: int, offset: int, max_records: int = 100, wait: float = 0
    ) -> list[Record]:
        return self._run(self._inner.read(partition, offset, max_records, wait))

    def earliest(self, partition: int = 0) -> int:
        return self._run(self._inner.earliest(partition))

    def latest(self, partition: int = 0) -> int:
        return self._run(self._inner.latest(partition))

    def offset_for_time(self, partition: int, ts: int) -> int | None:
        return self._run(self._inner.offset_for_time(partition, ts))

    def group(self, name: str) -> Group:
        return Group(self._run, self._inner.group(name))


class Topic:
    """Blocking facade of `AsyncTopic`."""

    def __init__(self, broker: Broker, inner: AsyncTopic) -> None:
        self._run = broker._run
        self._inner = inner
        self.name = inner.name

    def subscribe(self, target: Any, filter: Mapping[str, Any] | None = None) -> str:
        return self._run(self._inner.subscribe(target, filter))

    def unsubscribe(self, subscription_id: str) -> bool:
        return self._run(self._inner.unsubscribe(subscription_id))

    def publish(self, body: bytes | str, attributes: Mapping[str, Any] | None = None) -> int:
        return self._run(self._inner.publish(body, attributes))


class Broker:
    """Blocking, thread-safe broker: `mqlite.Broker(path)` on disk, `mqlite.Broker()` in
    memory. A context manager; `close()` flushes and stops its loop thread."""

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        fsync: str = "1000",
        config: CoreConfig | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._async = AsyncBroker(path, fsync=fsync, config=config, clock=clock)
        self.path = self._async.path
        self._thread: _LoopThread | None = _LoopThread()
        try:
            self._run(self._async.start())
        except BaseException:
            self._thread.stop()
            self._thread = None
            raise
        self._close_lock = threading.Lock()

    def _run(self, awaitable: Awaitable[T]) -> T:
        thread = self._thread
        if thread is None:
            if asyncio.iscoroutine(awaitable):
                awaitable.close()
            raise RuntimeError("the broker is closed")
        return thread.run(awaitable)

    @property
    def core(self) -> BrokerCore:
        """The core (use only from the broker's loop, e.g. via `call`)."""
        return self._async.core

    def call(self, fn: Callable[[BrokerCore], Any]) -> Any:
        """Run `fn(core)` on the broker's loop (awaiting it if it returns an awaitable)."""

        async def runner() -> Any:
            result = fn(self._async.core)
            if inspect.isawaitable(result):
                result = await result
            return result

        return self._run(runner())

    def queue(self, name: str, **attributes: Any) -> Queue:
        """Get or create a queue."""
        return Queue(self, self._run(self._async.queue(name, **attributes)))

    def stream(self, name: str, partitions: int = 1) -> Stream:
        """Get or create a stream."""
        return Stream(self, self._run(self._async.stream(name, partitions)))

    def topic(self, name: str) -> Topic:
        """Get or create a publish/subscribe topic."""
        return Topic(self, self._run(self._async.topic(name)))

    def delete_queue(self, name: str) -> None:
        self._run(self._async.delete_queue(name))

    def delete_stream(self, name: str) -> None:
        self._run(self._async.delete_stream(name))

    def list_queues(self, prefix: str = "") -> list[str]:
        return self._run(self._async.list_queues(prefix))

    def list_streams(self, prefix: str = "") -> list[str]:
        return self._run(self._async.list_streams(prefix))

    def close(self) -> None:
        with self._close_lock:
            thread = self._thread
            if thread is None:
                return
            try:
                thread.run(self._async.close())
            finally:
                self._thread = None
                thread.stop()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:  # a forgotten close() must not leave a thread running
        thread = getattr(self, "_thread", None)
        if thread is not None:
            try:
                thread.loop.call_soon_threadsafe(thread.loop.stop)
            except RuntimeError:
                pass
