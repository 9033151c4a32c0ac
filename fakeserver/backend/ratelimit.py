"""A token bucket, and the ``x-ratelimit-*`` headers it reports.

The bucket holds ``limit`` tokens and refills continuously at ``limit / window`` tokens per
second, so a client that paces itself at the documented rate never sees a 429. Time comes from
an injectable clock so tests can compress a minute into milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Callable

__all__ = ["Decision", "TokenBucket", "checked_rate_limit", "format_seconds"]

_RATE_LIMIT_RULE = (
    "a rate limit needs a whole number of requests >= 1 and a window of seconds > 0, both finite"
)


def checked_rate_limit(limit: float, window: float) -> tuple[int, float]:
    """Return ``(limit, window)`` as ``(int, float)``, or raise ``ValueError`` naming the rule.

    ``limit`` must be a whole number >= 1 (``3.0`` is taken as ``3``; ``2.5`` is refused) and
    ``window`` a number of seconds > 0; both, and the refill rate ``limit / window``, must be
    finite and positive. An infinite window used to pass a plain ``window > 0`` check and then
    turn every request into a 500 (a zero refill rate divides by zero).
    """
    try:
        count = float(limit)
        seconds = float(window)
        rate = count / seconds
    except (TypeError, ValueError, OverflowError, ZeroDivisionError):
        raise ValueError(_RATE_LIMIT_RULE) from None
    if isinstance(limit, bool) or not (
        math.isfinite(count)
        and count >= 1
        and count.is_integer()
        and math.isfinite(seconds)
        and seconds > 0
        and math.isfinite(rate)
        and rate > 0
    ):
        raise ValueError(_RATE_LIMIT_RULE)
    return (limit if isinstance(limit, int) else int(count)), seconds


def format_seconds(seconds: float) -> str:
    """Format a duration for a header: whole numbers bare, else up to three decimals."""
    if seconds <= 0:
        return "0"
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"


class Decision:
    """The outcome of asking a bucket for one token.

    Attributes
    ----------
    allowed:
        Whether a token was taken.
    headers:
        ``x-ratelimit-*`` headers (and ``Retry-After`` when refused) for the response.
    retry_after:
        Whole seconds until a token will be available, rounded up; 0 when allowed.
    """

    __slots__ = ("allowed", "headers", "retry_after")

    def __init__(self, allowed: bool, headers: list[tuple[str, str]], retry_after: int) -> None:
        """Store the outcome."""
        self.allowed = allowed
        self.headers = headers
        self.retry_after = retry_after

    def __repr__(self) -> str:
        """Show whether the request was allowed and the wait."""
        return f"Decision(allowed={self.allowed}, retry_after={self.retry_after})"


class TokenBucket:
    """A continuously refilled token bucket; not thread-safe (the backend's lock guards it).

    Parameters
    ----------
    limit:
        Capacity, and the number of tokens refilled per ``window``.
    window:
        Seconds to refill the whole bucket.
    clock:
        Monotonic time source in seconds.
    """

    __slots__ = ("_clock", "_limit_header", "_rate", "_stamp", "_tokens", "limit", "window")

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        """Start full."""
        self.limit, self.window = checked_rate_limit(limit, window)
        self._clock = clock
        self._rate = self.limit / self.window
        self._tokens = float(self.limit)
        self._stamp = clock()
        # Roblox documents the IETF draft form "N, N;w=SECONDS".
        self._limit_header = f"{self.limit}, {self.limit};w={format_seconds(self.window)}"

    def take(self) -> Decision:
        """Take one token if there is one, and report the headers either way."""
        now = self._clock()
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(float(self.limit), self._tokens + elapsed * self._rate)
        self._stamp = now
        # A client pacing itself exactly at the rate must not lose to float rounding.
        allowed = self._tokens >= 1.0 - 1e-9
        if allowed:
            self._tokens = max(0.0, self._tokens - 1.0)
            retry_after = 0
        else:
            retry_after = max(1, math.ceil((1.0 - self._tokens) / self._rate))
        headers = [
            ("x-ratelimit-limit", self._limit_header),
            ("x-ratelimit-remaining", str(int(self._tokens))),
            ("x-ratelimit-reset", format_seconds((self.limit - self._tokens) / self._rate)),
        ]
        if not allowed:
            headers.append(("Retry-After", str(retry_after)))
        return Decision(allowed, headers, retry_after)

    def __repr__(self) -> str:
        """Show the configuration and current fill."""
        return f"TokenBucket(limit={self.limit}, window={self.window}, tokens={self._tokens:.2f})"
