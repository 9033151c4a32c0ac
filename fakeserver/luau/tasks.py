"""Roblox's ``task`` library on the fake's clock: threads wake in time order, nobody sleeps.

``task.wait(n)`` parks the running thread until the clock reaches ``now + n``; when every
thread is parked, :meth:`Scheduler.run_until_done` moves the clock forward (the fake's own
``advance``, so rate limits and bleed-off deadlines move with it) to the earliest wake-up.
``task.spawn`` runs a function at once, ``task.defer`` after the current thread yields,
``task.delay`` after ``n`` seconds, ``task.cancel`` forgets a thread.

An error no ``pcall`` catches, in any thread, ends the run with pluau's ``RuntimeError`` (its
message and Luau's stack traceback), which the game turns into one line (on Roblox it would
only print; in a test it must fail).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

from .values import type_name
from .vm import pluau_module as _pluau

if TYPE_CHECKING:
    import pluau

__all__ = ["Scheduler"]


class Scheduler:
    """The threads waiting for the clock, and the ``task`` functions game code calls."""

    def __init__(self, clock: Callable[[], float], advance: Callable[[float], None]) -> None:
        """Read time from ``clock``; move it with ``advance(seconds)``."""
        self._clock = clock
        self._advance = advance
        self._queue: list[tuple[float, int, pluau.Thread, tuple[object, ...]]] = []
        self._order = itertools.count()
        self._cancelled: set[int] = set()
        #: The first error of a thread resumed from inside Luau (task.spawn): raised by the run.
        self.failure: RuntimeError | None = None

    def now(self) -> float:
        """The clock's time now."""
        return self._clock()

    def clear(self) -> None:
        """Forget every waiting thread (the game is closing)."""
        self._queue.clear()
        self._cancelled.clear()

    def pending(self) -> int:
        """How many threads are waiting to be resumed."""
        return len(self._queue)

    # ----------------------------------------------------------------- driving

    def resume(self, thread: pluau.Thread, *args: object) -> list[object]:
        """Resume ``thread``; a Luau error in it raises ``RuntimeError``."""
        results = list(thread.resume(*args))  # a Luau error: pluau's RuntimeError
        self.raise_failure()
        return results

    def raise_failure(self) -> None:
        """Raise the error a spawned thread hit, if any."""
        failure, self.failure = self.failure, None
        if failure is not None:
            raise failure

    def run_until_done(self, main: pluau.Thread, first: list[object]) -> list[object]:
        """Resume waiting threads, moving the clock, until ``main`` finishes; return its results.

        Raises
        ------
        RuntimeError
            If a thread fails, or ``main`` is parked with nothing left that could wake it.
        """
        results = first
        while not _finished(main):
            if not self._queue:
                raise RuntimeError(
                    "runtime error: the script yielded and nothing will resume it "
                    "(coroutine.yield outside a coroutine, or a signal that never fires)"
                )
            done = self._step(None)
            if done is not None and done[0] == main:
                results = done[1]
        self.run_due()
        return results

    def run_due(self, until: float | None = None) -> None:
        """Resume every thread due by ``until`` (default: now), moving the clock up to it."""
        target = self._clock() if until is None else until
        while self._queue and self._queue[0][0] <= target:
            self._step(target)
        now = self._clock()
        if target > now:
            self._advance(target - now)

    def _step(self, limit: float | None) -> tuple[pluau.Thread, list[object]] | None:
        wake, order, thread, args = heapq.heappop(self._queue)
        if order in self._cancelled:
            self._cancelled.discard(order)
            return None
        now = self._clock()
        if wake > now and (limit is None or wake <= limit):
            self._advance(wake - now)
        return thread, self.resume(thread, *args)

    # ----------------------------------------------------------------- task.*

    def park(self, thread: pluau.Thread, seconds: float, args: tuple[object, ...] = ()) -> int:
        """Wake ``thread`` with ``args`` in ``seconds``; returns a ticket for :meth:`cancel`."""
        order = next(self._order)
        heapq.heappush(self._queue, (self._clock() + max(seconds, 0.0), order, thread, args))
        return order

    def wait(self, lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
        """``task.wait(n)``: park the calling thread for ``n`` seconds (default 0)."""
        seconds = _seconds(args[0] if args else None, "task.wait")
        # The thread wakes with the time it waited, which is what task.wait returns.
        self.park(lua.current_thread(), seconds, (max(seconds, 0.0),))
        lua.yield_with()
        return []

    def spawn(self, lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
        """``task.spawn(f, ...)``: run ``f`` (or resume a thread) now, until it yields."""
        thread = self._thread(lua, args, "task.spawn")
        try:
            list(thread.resume(*args[1:]))
        except RuntimeError as exc:
            # The spawned thread failed, not its caller: the run raises it once control is
            # back in Python (on Roblox it would only be printed; a test must fail).
            self.failure = self.failure or exc
        return [thread]

    def defer(self, lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
        """``task.defer(f, ...)``: run ``f`` once the current thread yields."""
        thread = self._thread(lua, args, "task.defer")
        self.park(thread, 0.0, args[1:])
        return [thread]

    def delay(self, lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
        """``task.delay(n, f, ...)``: run ``f`` in ``n`` seconds."""
        seconds = _seconds(args[0] if args else None, "task.delay")
        thread = self._thread(lua, args[1:], "task.delay")
        self.park(thread, seconds, args[2:])
        return [thread]

    def cancel(self, lua: pluau.Lua, args: tuple[object, ...]) -> list[object]:
        """``task.cancel(thread)``: it will not be resumed."""
        pluau = _pluau()
        thread = args[0] if args else None
        if not isinstance(thread, pluau.Thread):
            raise pluau.RawError(f"task.cancel expects a thread, got {type_name(thread)}")
        for _, order, queued, _ in self._queue:
            if queued == thread:
                self._cancelled.add(order)
        return []

    @staticmethod
    def _thread(lua: pluau.Lua, args: tuple[object, ...], who: str) -> pluau.Thread:
        pluau = _pluau()
        target = args[0] if args else None
        if isinstance(target, pluau.Thread):
            return target
        if isinstance(target, pluau.Function):
            return lua.create_thread(target)
        raise pluau.RawError(f"{who} expects a function or a thread, got {type_name(target)}")


def _finished(thread: pluau.Thread) -> bool:
    pluau = _pluau()
    return thread.status in (pluau.ThreadState.Finished, pluau.ThreadState.Error)


def _seconds(value: object, who: str) -> float:
    pluau = _pluau()
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise pluau.RawError(f"{who} expects a number of seconds, got {type_name(value)}")
    return float(value)
