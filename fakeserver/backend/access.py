"""Who may call, and what a call has learned: credentials, rate limits, receipts.

:class:`Credentials` holds the API keys and OAuth tokens the fake accepts and their owners'
rate-limit buckets; :meth:`Credentials.admit` is the first two stages of every operation (401,
then 429) of the contract's section 8. :class:`Call` collects what an operation learns on the
way (credential, key, sequence, rate-limit headers) and becomes the :class:`Receipt` of its
result or of the error it raises. Both share the backend's one lock: the backend holds it while
it calls :meth:`~Credentials.admit` and :meth:`~Credentials.clear`; every other method takes it.
"""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import TypeVar

from ..errors import ApiProblem, TooManyRequests, Unauthorized
from .models import (
    FAKE_OPERATIONS,
    READ_SCOPE,
    SERVER_MANAGEMENT_OPERATIONS,
    WRITE_SCOPE,
    ApiKey,
    AuthHeaders,
    Credential,
    OAuthToken,
    Receipt,
    UniverseState,
    bucket_key,
    frozen_ids,
)
from .ratelimit import TokenBucket, checked_rate_limit
from .rules import check_credential_text

__all__ = ["RESTART_RATE", "SERVER_MANAGEMENT_RATE", "Call", "Credentials"]

_C = TypeVar("_C", ApiKey, OAuthToken)

#: Restarting servers has a rate limit of its own: 30 per minute per key owner (reference).
RESTART_RATE = (30, 60.0)
#: Server Management's rate limit: 100 per minute per key owner, one bucket for its operations.
SERVER_MANAGEMENT_RATE = (100, 60.0)
#: Operations with a rate-limit bucket of their own: the bucket's name and its rate.
_OWN_BUCKETS = {
    "restart_servers": ("restart_servers", RESTART_RATE),
    **dict.fromkeys(SERVER_MANAGEMENT_OPERATIONS, ("server_management", SERVER_MANAGEMENT_RATE)),
}


class Call:
    """What one operation has learned so far; the backend's own, never handed out.

    It becomes the :class:`Receipt` of the result, or of the error the operation raises.
    """

    __slots__ = ("credential_id", "headers", "key_id", "sequence", "universe")

    def __init__(self) -> None:
        """Nothing known yet."""
        self.credential_id: str | None = None
        self.universe: UniverseState | None = None
        self.headers: tuple[tuple[str, str], ...] = ()
        self.key_id: str | None = None
        self.sequence: int | None = None

    def receipt(self) -> Receipt:
        """The receipt for what is known now."""
        return Receipt(self.credential_id, self.key_id, self.sequence, self.headers)

    def __enter__(self) -> Call:
        """Run a stage of the operation; see ``__exit__``."""
        return self

    def __exit__(self, kind: object, error: BaseException | None, traceback: object) -> None:
        """Let an ``ApiProblem`` carry the receipt, and the headers in front of its own."""
        if isinstance(error, ApiProblem):
            error.receipt = self.receipt()
            if self.headers:
                error.headers[:0] = self.headers


class Credentials:
    """The credentials a fake accepts, and the rate-limit buckets of their owners.

    Parameters
    ----------
    lock:
        The backend's lock, which guards these tables too.
    clock:
        The backend's clock, which the rate-limit buckets refill by.
    """

    def __init__(self, lock: threading.Lock, clock: Callable[[], float]) -> None:
        """Accept no credential yet, with rate limiting off."""
        self._lock = lock
        self._clock = clock
        self._api_keys: dict[str, ApiKey] = {}
        self._tokens: dict[str, OAuthToken] = {}
        self._rate: tuple[int, float] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._credential_numbers = itertools.count(1)

    def count(self) -> int:
        """How many credentials there are (the caller holds the lock)."""
        return len(self._api_keys) + len(self._tokens)

    def add_api_key(
        self,
        *,
        read: bool = True,
        write: bool = True,
        universe_ids: Iterable[int] | None = None,
        key: str | None = None,
        owner: str | None = None,
        universe_write: bool = True,
        universe_read: bool = True,
    ) -> ApiKey:
        """Add an API key with ``read``/``write`` on the secrets store.

        Parameters
        ----------
        universe_write:
            Whether the key also carries the universe API system's write permission, which
            restarting servers needs (Roblox keys have it only when it was added to them).
        universe_read:
            Whether it carries the universe API system's read permission, which forecasting
            and watching restarts (Server Management) need.
        universe_ids:
            Limit the key to these universes; ``None`` = every universe.
        key:
            The key string; a random one is generated when omitted.
        owner:
            Credentials with the same owner share a rate-limit bucket; default: their own.

        Raises
        ------
        ValueError
            If ``key`` is not header-safe or is already in use.
        """
        secret = _credential_text(key, "key")
        ids = frozen_ids(universe_ids)
        return self._register(
            self._api_keys,
            secret,
            "API key",
            "apikey",
            lambda cid: ApiKey(
                secret,
                cid,
                bool(read),
                bool(write),
                ids,
                owner or cid,
                bool(universe_write),
                bool(universe_read),
            ),
        )

    def add_oauth_token(
        self,
        *,
        scopes: Iterable[str] = (READ_SCOPE, WRITE_SCOPE),
        universe_ids: Iterable[int] | None = None,
        token: str | None = None,
        owner: str | None = None,
    ) -> OAuthToken:
        """Add an OAuth 2.0 access token with ``scopes``.

        ``universe.secret:read``/``universe.secret:write`` (the default) reach the secrets
        store; restarting servers needs ``universe:write``, and forecasting and watching
        restarts ``universe:read``, which the default leaves out.

        Raises
        ------
        ValueError
            If ``token`` is not header-safe or is already in use.
        """
        secret = _credential_text(token, "token")
        scope_set, ids = frozenset(scopes), frozen_ids(universe_ids)
        return self._register(
            self._tokens,
            secret,
            "OAuth token",
            "oauth",
            lambda cid: OAuthToken(secret, cid, scope_set, ids, owner or cid),
        )

    def _register(
        self,
        table: dict[str, _C],
        secret: str,
        what: str,
        prefix: str,
        build: Callable[[str], _C],
    ) -> _C:
        """Number a new credential ``prefix-N``, build it and file it under ``secret``."""
        with self._lock:
            if secret in table:
                raise ValueError(f"that {what} is already in use")
            credential = build(f"{prefix}-{next(self._credential_numbers)}")
            table[secret] = credential
            return credential

    def set_rate_limit(self, limit: int | None, window_seconds: float = 60.0) -> None:
        """Turn rate limiting on (``limit`` requests per ``window_seconds``) or off (``None``).

        Every bucket starts full again.
        """
        rate = None if limit is None else checked_rate_limit(limit, window_seconds)
        with self._lock:
            self._rate = rate
            self._buckets = {}

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """The current ``(limit, window_seconds)``, or ``None`` when off."""
        return self._rate

    def clear(self) -> None:
        """Drop every credential and bucket; ids start over (the caller holds the lock).

        The rate limit setting is kept.
        """
        self._credential_numbers = itertools.count(1)
        self._api_keys = {}
        self._tokens = {}
        self._buckets = {}

    def admit(self, call: Call, operation: str, auth: AuthHeaders) -> Credential:
        """Stages 401 and 429 of ``operation``: the credential, then its owner's bucket.

        The caller holds the lock. Raises ``Unauthorized`` or ``TooManyRequests``.
        """
        api_key, authorization = auth.api_key, auth.authorization
        credential: Credential | None
        if api_key:
            credential = self._api_keys.get(api_key)
        elif authorization and authorization[:7].lower() == "bearer ":
            credential = self._tokens.get(authorization[7:].strip())
        else:
            credential = None
        if credential is None:
            raise Unauthorized()
        call.credential_id = credential.credential_id
        # The oracle endpoints are the test's, not the client's: they must not eat its budget.
        if self._rate is not None and operation not in FAKE_OPERATIONS:
            self._take_token(call, credential, operation)
        return credential

    def _take_token(self, call: Call, credential: Credential, operation: str) -> None:
        """Spend one token of the owner's bucket for ``operation`` (the caller holds the lock).

        The secrets store's operations share one bucket at the configured rate; restarting
        servers has its own at :data:`RESTART_RATE`, and Server Management's operations one
        at :data:`SERVER_MANAGEMENT_RATE`, as Roblox documents.
        """
        assert self._rate is not None
        owner = bucket_key(credential)
        limit, window = self._rate
        own = _OWN_BUCKETS.get(operation)
        if own is not None:
            owner, (limit, window) = f"{owner} {own[0]}", own[1]
        bucket = self._buckets.get(owner)
        if bucket is None:
            bucket = TokenBucket(limit, window, self._clock)
            self._buckets[owner] = bucket
        decision = bucket.take()
        call.headers = tuple(decision.headers)
        if not decision.allowed:
            # decision.headers (in the receipt) already carry Retry-After.
            raise TooManyRequests(
                f"rate limit of {limit} requests per {window:g} seconds exceeded; retry after "
                f"{decision.retry_after} s"
            )


def _credential_text(given: str | None, what: str) -> str:
    """The credential a test asked for, checked, or a fresh random one."""
    text = given if given is not None else secrets.token_urlsafe(48)
    check_credential_text(text, what)
    return text
