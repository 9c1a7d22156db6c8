"""Eager coroutine start: run a coroutine's first step now, a Task only if it suspends.

Why: AMQP requires that the effects of methods on one channel happen in the order the
frames arrived (a publish is in its queue before a following Basic.Get or Queue.Purge
runs), while confirms for many publishes are awaited concurrently. Running the first
step synchronously (Python 3.12's eager tasks, done by hand for 3.11) gives both: the
core appends during that step, and only the wait for durability is deferred. It also
saves creating a Task on the hot path when the coroutine completes without waiting.

Concurrency: call on the event loop thread only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

_UNSET = object()


def start(
    coro: Coroutine[Any, Any, Any],
    done: Callable[[Any, BaseException | None], None],
) -> asyncio.Task[Any] | None:
    """Run `coro` until its first suspension; `done(result, exc)` is called on finish.

    Returns the Task that carries the rest, or None when it finished synchronously.
    """
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        done(stop.value, None)
        return None
    except BaseException as exc:  # noqa: BLE001 - handed to the callback
        done(None, exc)
        return None
    return asyncio.ensure_future(_resume(coro, yielded, done))


async def _resume(
    coro: Coroutine[Any, Any, Any], yielded: Any, done: Callable[[Any, BaseException | None], None]
) -> None:
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                await _wait(yielded)
        except asyncio.CancelledError:
            try:
                yielded = coro.throw(asyncio.CancelledError())
            except StopIteration as stop:
                done(stop.value, None)
                return
            except BaseException as exc:  # noqa: BLE001
                done(None, exc)
                return
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as stop:
            done(stop.value, None)
            return
        except BaseException as exc:  # noqa: BLE001
            done(None, exc)
            return


async def _wait(fut: Any) -> None:
    """Wait for a future the coroutine yielded, without consuming its exception."""
    waiter = asyncio.get_running_loop().create_future()

    def wake(_: Any) -> None:
        if not waiter.done():
            waiter.set_result(None)

    fut.add_done_callback(wake)
    try:
        await waiter
    finally:
        fut.remove_done_callback(wake)
