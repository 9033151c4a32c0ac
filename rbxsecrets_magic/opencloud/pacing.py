"""Pacing requests to Open Cloud's rate limit, from its ``x-ratelimit-*`` headers.

Roblox allows 120 requests per minute per API key owner and says so on every response::

    x-ratelimit-limit: 120, 120;w=60     # the IETF draft form: quota N per w seconds
    x-ratelimit-remaining: 117
    x-ratelimit-reset: 1.5               # seconds until the bucket is full again

:class:`Pacer` keeps a client-side token bucket in step with those headers. Every request takes
a token before it is sent and sleeps when there is none, so a long run proceeds at exactly the
server's rate instead of bursting into 429s and waiting out whole-second ``Retry-After`` values.
With several threads the tokens are reserved under a lock, which keeps concurrent senders within
the same budget. Time and sleep are injectable, so tests run a minute of pacing in no time.

The pacer never waits longer than ``max_wait`` (Roblox's documented window, 60 s) for a token
without saying so: a server announcing ``x-ratelimit-limit: 1, 1;w=86400`` would otherwise
make the next request sleep a day. :meth:`Pacer.acquire` raises
:class:`~rbxsecrets_magic.errors.WaitTooLongError`, stating the wait, instead. An error rather
than a long visible wait, because the client has no display of its own, the caller learns at
once what is going on, and nothing is left blocked; the caller can try again later.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping

from ..errors import WaitTooLongError
from ..settings import DEFAULT_RATE_LIMIT, MAX_SILENT_WAIT

__all__ = ["Pacer", "RateLimit", "parse_rate_limit"]

logger = logging.getLogger(__name__)


class RateLimit:
    """What one response said about the rate limit.

    Attributes
    ----------
    limit, window:
        The quota: ``limit`` requests per ``window`` seconds (``None`` when not sent).
    remaining:
        Whole requests left, as the server counted them (``None`` when not sent).
    reset:
        Seconds until the bucket is full again (``None`` when not sent).
    """

    __slots__ = ("limit", "remaining", "reset", "window")

    def __init__(
        self,
        limit: int | None,
        window: float | None,
        remaining: float | None,
        reset: float | None,
    ) -> None:
        """Store the parsed values."""
        self.limit = limit
        self.window = window
        self.remaining = remaining
        self.reset = reset

    def __repr__(self) -> str:
        """Show the parsed values."""
        return (
            f"RateLimit(limit={self.limit}, window={self.window}, "
            f"remaining={self.remaining}, reset={self.reset})"
        )


def _number(text: str | None) -> float | None:
    """Parse a non-negative finite number, or return None."""
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value >= 0 else None


def _parse_limit(text: str) -> tuple[int, float | None] | None:
    """Parse ``x-ratelimit-limit``: ``"N"``, ``"N;w=S"`` or ``"N, N;w=S, M;w=T"``.

    With several policies, the one with the lowest rate governs a long run, so it wins.
    """
    bare: int | None = None
    best: tuple[int, float] | None = None
    for item in text.split(","):
        parts = [p.strip() for p in item.split(";")]
        count = _number(parts[0])
        if count is None or count < 1:
            continue
        window = None
        for param in parts[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "w":
                window = _number(value.strip().strip('"'))
        if window is None or window <= 0:
            bare = int(count) if bare is None else bare
        elif best is None or count / window < best[0] / best[1]:
            best = (int(count), window)
    if best is not None:
        return best
    return (bare, None) if bare is not None else None


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimit | None:
    """Read the ``x-ratelimit-*`` headers of a response; None when it sent none.

    ``headers`` must look names up case-insensitively (``requests`` headers do).
    """
    limit_text = headers.get("x-ratelimit-limit")
    remaining = _number(headers.get("x-ratelimit-remaining"))
    reset = _number(headers.get("x-ratelimit-reset"))
    parsed = _parse_limit(limit_text) if limit_text else None
    if parsed is None and remaining is None:
        return None
    limit, window = parsed if parsed is not None else (None, None)
    return RateLimit(limit, window, remaining, reset)


class Pacer:
    """A token bucket that paces requests and follows the server's rate-limit headers.

    Parameters
    ----------
    default:
        ``(requests, window_seconds)`` assumed until the server says otherwise (by default
        Roblox's documented 120 per 60 s); ``None`` means no pacing until it does. The bucket
        starts full, as the server's does.
    clock, sleep:
        Monotonic time source and sleep function (injectable for tests).
    max_wait:
        The longest wait for a token, in seconds; a longer one raises
        :class:`~rbxsecrets_magic.errors.WaitTooLongError` instead. Defaults to Roblox's
        documented window, 60 s. Waits a 429 asked for (:meth:`hold`) are bounded by the
        client before they get here.

    Use :meth:`acquire` before sending and :meth:`release` with the response headers after.
    """

    def __init__(
        self,
        default: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = MAX_SILENT_WAIT,
    ) -> None:
        """Start with the ``default`` quota and a full bucket."""
        if not 0 < max_wait < float("inf"):
            raise ValueError("max_wait must be a positive number of seconds")
        self._clock = clock
        self._sleep = sleep
        self._max_wait = float(max_wait)
        self._lock = threading.Lock()
        self._capacity = 0.0
        self._rate: float | None = None
        self._tokens = 0.0
        self._stamp = clock()
        self._not_before = 0.0
        self._in_flight: set[int] = set()
        self._next_ticket = 0
        self._quota: tuple[int, float] | None = None
        self._from_server = False
        self._siblings: dict[str, Pacer] = {}
        if default is not None:
            limit, window = default
            if limit < 1 or not window > 0:
                raise ValueError("rate_limit needs at least 1 request per positive window")
            self._configure(int(limit), float(window))
            self._tokens = self._capacity

    @property
    def quota(self) -> tuple[int, float] | None:
        """The quota currently paced to, as ``(requests, window_seconds)``; None if unpaced."""
        return self._quota

    def sibling(self, name: str, default: tuple[int, float]) -> Pacer:
        """The pacer for another rate limit of the same key owner, made once per ``name``.

        Some operations have a bucket of their own beside the shared one (restarting servers:
        30 per minute per key owner). Clients that share this pacer share its siblings too, so
        together they stay within each limit. A sibling starts with ``default`` and uses this
        pacer's clock, sleep and ``max_wait``; a later ``default`` for the same name is ignored.
        """
        with self._lock:
            sibling = self._siblings.get(name)
            if sibling is None:
                sibling = Pacer(
                    default, clock=self._clock, sleep=self._sleep, max_wait=self._max_wait
                )
                self._siblings[name] = sibling
            return sibling

    def _configure(self, limit: int, window: float) -> None:
        """Pace to ``limit`` requests per ``window`` seconds (lock held or during init)."""
        self._quota = (limit, window)
        self._capacity = float(limit)
        self._rate = limit / window

    def _refill(self, now: float) -> None:
        """Add the tokens earned since the last update (lock held)."""
        if self._rate is not None and now > self._stamp:
            self._tokens = min(self._capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = max(self._stamp, now)

    def acquire(self) -> int:
        """Wait until a request may be sent, and return a ticket for :meth:`release`.

        Tokens are reserved under the lock and the wait happens outside it, so concurrent
        callers queue up in order without blocking one another's bookkeeping.

        Raises
        ------
        WaitTooLongError
            When the wait for a token would be longer than ``max_wait``; nothing is reserved.
        """
        with self._lock:
            now = self._clock()
            wait = self._not_before - now
            if self._rate is not None:
                self._refill(now)
                if self._tokens < 1.0:
                    paced = (1.0 - self._tokens) / self._rate
                    if paced > self._max_wait:
                        raise self._too_long(paced)
                    wait = max(wait, paced)
                self._tokens -= 1.0
            ticket = self._next_ticket
            self._next_ticket += 1
            self._in_flight.add(ticket)
        if wait > 0:
            logger.debug("pacing: waiting %.3f s before the next request", wait)
            self._sleep(wait)
        return ticket

    def _too_long(self, wait: float) -> WaitTooLongError:
        """The error for a token ``wait`` seconds away (lock held)."""
        limit, window = self._quota if self._quota is not None else (0, 0.0)
        source = "the server announced" if self._from_server else "set"
        return WaitTooLongError(
            f"pacing to the rate limit {source} ({limit} per {window:g} s) would "
            f"wait {wait:.0f} s before the next request, longer than the {self._max_wait:g} s "
            "the client waits; nothing more was sent. Try again later.",
            wait=wait,
        )

    def release(self, ticket: int, headers: Mapping[str, str] | None) -> None:
        """Mark ``ticket``'s request done and learn from its response ``headers``.

        ``headers`` is None when no response arrived. The server's ``remaining`` is trusted
        outright when no other request is in flight (nothing can have raced it); otherwise it
        can only lower the local estimate, since responses may arrive out of order.
        """
        info = parse_rate_limit(headers) if headers is not None else None
        with self._lock:
            self._in_flight.discard(ticket)
            if info is None:
                return
            now = self._clock()
            self._refill(now)
            changed = False
            if info.limit is not None:
                window = info.window
                if window is None:
                    window = self._quota[1] if self._quota is not None else 60.0
                changed = self._quota != (info.limit, window) or not self._from_server
                if changed:
                    logger.debug("pacing: server quota is %d per %g s", info.limit, window)
                    self._configure(info.limit, window)
                self._from_server = True
            if info.remaining is None or self._rate is None:
                return
            estimate = self._server_tokens(info) - len(self._in_flight)
            if changed or not self._in_flight:
                self._tokens = estimate
            else:
                self._tokens = min(self._tokens, estimate)

    def _server_tokens(self, info: RateLimit) -> float:
        """The server's token count, as precisely as its headers allow (lock held).

        ``remaining`` is whole tokens; a token bucket's ``reset`` also gives the fraction.
        The fraction is used only when it agrees with ``remaining``, so a server that counts
        differently (a fixed window) is read from ``remaining`` alone.
        """
        remaining = float(info.remaining or 0.0)
        if info.reset is not None and self._rate is not None:
            exact = self._capacity - info.reset * self._rate
            if math.floor(exact + 1e-9) == remaining:
                return max(exact, remaining)
        return remaining

    def hold(self, seconds: float) -> None:
        """Send nothing for ``seconds`` (after a 429), and spend any tokens we believed in."""
        with self._lock:
            now = self._clock()
            self._not_before = max(self._not_before, now + seconds)
            self._refill(now)
            self._tokens = min(self._tokens, 0.0)
