"""The fake's state: universes, keys, credentials, secrets, under one lock.

:class:`FakeOpenCloud` is both the thing a test configures (universes, credentials, switches,
faults, rate limit) and asks (the oracle: :meth:`~FakeOpenCloud.plaintext`, the journal), and the
backend the WSGI app in :mod:`fakeserver.app` calls. The app only parses and serializes; the
contract's rules (``shared/docs/secrets-api.md``) are pure functions in :mod:`fakeserver.rules`
and the records live in :mod:`fakeserver.models`; this module orders the stages and owns the
state, enforcing both by raising the typed errors of :mod:`fakeserver.errors`.

Each request goes through the stages of the contract's section 8, in order: credential (401),
rate limit (429), universe id (400), permission (403), body and query (400), state (404/409).
Opening the sealed box is the slow step, so it runs outside the lock; the commit then re-checks
under the lock that the key it used is still accepted, which keeps every operation atomic.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from .keys import KeyPair, UnsealError, new_key_id
from .models import (
    NEEDS,
    OPERATIONS,
    READ_SCOPE,
    WRITE_SCOPE,
    ApiKey,
    Call,
    Credential,
    Fault,
    JournalEntry,
    OAuthToken,
    StoredSecret,
    Universe,
    UniverseState,
    bucket_key,
    frozen_ids,
)
from .ratelimit import TokenBucket
from .rules import (
    INT64_MAX,
    MAX_SECRETS,
    check_credential_text,
    decode_secret,
    make_cursor,
    missing_secret,
    normalize_domain,
    parse_page_size,
    parse_universe_id,
    read_cursor,
    read_fields,
    safe_key_id,
    valid_secret_id,
    validate_value,
)

if TYPE_CHECKING:
    from .app import SecretsApp
    from .server import FakeServer

__all__ = [
    "OPERATIONS",
    "ApiKey",
    "Call",
    "FakeOpenCloud",
    "JournalEntry",
    "OAuthToken",
    "Universe",
    "normalize_domain",
    "parse_universe_id",
    "valid_secret_id",
    "validate_value",
]

_C = TypeVar("_C", ApiKey, OAuthToken)

_second_prefix: tuple[int, str] = (0, "1970-01-01T00:00:00")


def _timestamp() -> str:
    """Now as RFC 3339 UTC with milliseconds, e.g. ``2026-11-27T07:15:01.809Z``."""
    global _second_prefix
    now = time.time()
    whole = int(now)
    second, prefix = _second_prefix
    if second != whole:
        # Formatting the date is most of the cost; within one second it never changes.
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second_prefix = (whole, prefix)
    return f"{prefix}.{int((now - whole) * 1000):03d}Z"


# --------------------------------------------------------------------------- the fake


class FakeOpenCloud:
    """A faithful, decrypting fake of the Open Cloud secrets store.

    Parameters
    ----------
    problem_status_as_number:
        Write ProblemDetails ``status`` as a number instead of the schema's string.
    null_domain_clears:
        On update, ``{"domain": null}`` makes the secret private instead of keeping the domain.
    rate_limit:
        ``(requests, window_seconds)`` per credential owner; ``None`` (default) turns it off.
    key_grace_seconds:
        How long the previous key stays accepted after :meth:`rotate_key` (default 0).
    clock:
        Monotonic time source for rate limiting and key grace; tests pass a fake clock.
    expose_plaintext:
        Serve ``GET /_fake/universes/{u}/secrets/{s}/plaintext`` (demos and scripts only).
    journal_limit:
        Keep at most this many journal entries (oldest dropped first); ``None`` = no limit.

    Examples
    --------
    >>> fake = FakeOpenCloud()
    >>> universe = fake.add_universe()
    >>> key = fake.add_api_key(universe_ids=[universe.universe_id])
    >>> fake.secret_ids(universe.universe_id)
    []
    """

    def __init__(
        self,
        *,
        problem_status_as_number: bool = False,
        null_domain_clears: bool = False,
        rate_limit: tuple[int, float] | None = None,
        key_grace_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        expose_plaintext: bool = False,
        journal_limit: int | None = 100_000,
    ) -> None:
        """Create an empty fake: no universes, no credentials."""
        self.problem_status_as_number = problem_status_as_number
        self.null_domain_clears = null_domain_clears
        self.key_grace_seconds = float(key_grace_seconds)
        self.clock = clock
        self.expose_plaintext = expose_plaintext
        self._lock = threading.Lock()
        self._universes: dict[int, UniverseState] = {}
        self._api_keys: dict[str, ApiKey] = {}
        self._tokens: dict[str, OAuthToken] = {}
        self._faults: dict[str, deque[Fault]] = {}
        self._rate: tuple[int, float] | None = None
        self._buckets: dict[str, TokenBucket] = {}
        self._journal: deque[JournalEntry] = deque(maxlen=journal_limit)
        self._listeners: list[Callable[[JournalEntry], None]] = []
        self._sequence = itertools.count(1)
        self._credential_numbers = itertools.count(1)
        self._next_universe_id = 4_000_000_001
        # Signs list cursors, so a cursor the fake did not issue is recognised as such.
        self._cursor_key = secrets.token_bytes(32)
        if rate_limit is not None:
            self.set_rate_limit(*rate_limit)
        from .app import SecretsApp

        self._app = SecretsApp(self)

    def __repr__(self) -> str:
        """Show counts only: never keys, tokens or values."""
        with self._lock:
            secrets_count = sum(len(u.secrets) for u in self._universes.values())
            return (
                f"FakeOpenCloud(universes={len(self._universes)}, "
                f"credentials={len(self._api_keys) + len(self._tokens)}, secrets={secrets_count})"
            )

    # ----------------------------------------------------------------- transports

    @property
    def app(self) -> SecretsApp:
        """The WSGI application ``(environ, start_response)`` serving this fake; thread-safe."""
        return self._app

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> FakeServer:
        """Serve this fake over loopback HTTP/1.1; see :class:`fakeserver.server.FakeServer`."""
        from .server import FakeServer

        return FakeServer(self, host, port)

    def mount(self, session: Any, base_url: str = "https://apis.roblox.com") -> None:
        """Route a ``requests.Session``'s traffic for ``base_url`` to this fake, in process."""
        from .transports import mount

        mount(self, session, base_url)

    def respx_route(self, base_url: str = "https://apis.roblox.com") -> Any:
        """A context manager sending httpx traffic for ``base_url`` to this fake (respx)."""
        from .transports import respx_route

        return respx_route(self, base_url)

    # ----------------------------------------------------------------- setup

    def add_universe(self, universe_id: int | None = None) -> Universe:
        """Add a universe with a fresh X25519 keypair; the id is generated when omitted.

        Raises
        ------
        ValueError
            If the id is not a positive int64 or already exists.
        """
        with self._lock:
            if universe_id is None:
                while self._next_universe_id in self._universes:
                    self._next_universe_id += 1
                universe_id = self._next_universe_id
                self._next_universe_id += 1
            universe_id = int(universe_id)
            if not 0 < universe_id <= INT64_MAX:
                raise ValueError("universe_id must be a positive 64-bit integer")
            if universe_id in self._universes:
                raise ValueError(f"universe {universe_id} already exists")
            state = UniverseState(universe_id, KeyPair(new_key_id()))
            self._universes[universe_id] = state
            return state.public()

    def add_api_key(
        self,
        *,
        read: bool = True,
        write: bool = True,
        universe_ids: Iterable[int] | None = None,
        key: str | None = None,
        owner: str | None = None,
    ) -> ApiKey:
        """Add an API key with ``read``/``write`` on the secrets store.

        Parameters
        ----------
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
            self._api_keys, secret, "API key", "apikey",
            lambda cid: ApiKey(secret, cid, bool(read), bool(write), ids, owner or cid),
        )

    def add_oauth_token(
        self,
        *,
        scopes: Iterable[str] = (READ_SCOPE, WRITE_SCOPE),
        universe_ids: Iterable[int] | None = None,
        token: str | None = None,
        owner: str | None = None,
    ) -> OAuthToken:
        """Add an OAuth 2.0 access token with ``scopes`` (``universe.secret:read``/``:write``).

        Raises
        ------
        ValueError
            If ``token`` is not header-safe or is already in use.
        """
        secret = _credential_text(token, "token")
        scope_set, ids = frozenset(scopes), frozen_ids(universe_ids)
        return self._register(
            self._tokens, secret, "OAuth token", "oauth",
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
        if limit is not None and (int(limit) < 1 or not window_seconds > 0):
            raise ValueError("rate limit needs limit >= 1 and window_seconds > 0")
        with self._lock:
            self._rate = None if limit is None else (int(limit), float(window_seconds))
            self._buckets = {}

    @property
    def rate_limit(self) -> tuple[int, float] | None:
        """The current ``(limit, window_seconds)``, or ``None`` when off."""
        return self._rate

    def inject_fault(
        self,
        operation: str,
        *,
        status: int | None = None,
        latency: float = 0.0,
        drop_connection: bool = False,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Script a fault for the next ``times`` calls of ``operation`` (or ``"*"``: any).

        The fault fires as soon as the call is routed, before authentication. ``latency`` is
        slept first (outside the lock); then the connection is dropped, or ``status`` is
        answered (with ``Retry-After`` if given), or, with latency alone, the call proceeds
        normally. Faults queue: each runs out before the next one applies.

        Raises
        ------
        ValueError
            For an unknown operation, a status outside 400-599, or a fault that does nothing.
        """
        if operation != "*" and operation not in OPERATIONS:
            raise ValueError(f"unknown operation {operation!r}; expected one of {OPERATIONS}")
        if status is not None and not 400 <= int(status) <= 599:
            raise ValueError("status must be an HTTP error status (400-599)")
        if latency < 0 or times < 1:
            raise ValueError("latency must be >= 0 and times >= 1")
        if retry_after is not None and retry_after < 0:
            raise ValueError("retry_after must be >= 0")
        if status is None and not drop_connection and latency == 0:
            raise ValueError("a fault needs a status, a latency or drop_connection")
        fault = Fault(
            None if status is None else int(status), float(latency), drop_connection,
            int(times), retry_after,
        )
        with self._lock:
            self._faults.setdefault(operation, deque()).append(fault)

    def clear_faults(self) -> None:
        """Drop every scripted fault."""
        with self._lock:
            self._faults.clear()

    def rotate_key(self, universe_id: int, *, grace_seconds: float | None = None) -> str:
        """Give the universe a new keypair and return its key id.

        The previous key stays accepted for ``grace_seconds`` (default: the fake's
        ``key_grace_seconds``) as measured by the fake's clock; older keys never are.

        Raises
        ------
        KeyError
            If the universe does not exist.
        """
        grace = self.key_grace_seconds if grace_seconds is None else float(grace_seconds)
        with self._lock:
            state = self._universes[universe_id]
            key = KeyPair(new_key_id(state.issued))
            state.issued.add(key.key_id)
            state.previous = state.key
            state.previous_until = self.clock() + grace
            state.key = key
            return key.key_id

    def reset(self) -> None:
        """Drop universes, credentials, secrets, faults, rate-limit buckets and the journal.

        Switches (``problem_status_as_number``, ``null_domain_clears``, the rate limit setting,
        key grace) are kept. Generated universe ids and credential ids start over, so a fake
        reused across tests hands out the same ids each time.
        """
        with self._lock:
            self._next_universe_id = 4_000_000_001
            self._credential_numbers = itertools.count(1)
            self._universes = {}
            self._api_keys = {}
            self._tokens = {}
            self._faults = {}
            self._buckets = {}
            self._journal.clear()

    # ----------------------------------------------------------------- oracle

    def universe(self, universe_id: int) -> Universe:
        """The universe's current public key (a fresh snapshot). Raises ``KeyError``."""
        with self._lock:
            return self._universes[universe_id].public()

    @property
    def universes(self) -> list[Universe]:
        """Every universe, by id."""
        with self._lock:
            return [self._universes[u].public() for u in sorted(self._universes)]

    def plaintext(self, universe_id: int, secret_id: str) -> str:
        """The decrypted value of a secret, for assertions. Raises ``KeyError`` if absent."""
        with self._lock:
            return self._universes[universe_id].secrets[secret_id].value

    def secret_ids(self, universe_id: int) -> list[str]:
        """The ids of a universe's secrets, sorted. Raises ``KeyError`` for an unknown universe."""
        with self._lock:
            return sorted(self._universes[universe_id].secrets)

    def secret_items(self, universe_id: int) -> list[dict[str, Any]]:
        """A universe's secrets as the list endpoint shows them (metadata, no values), by id."""
        with self._lock:
            secrets_ = self._universes[universe_id].secrets
            return [secrets_[s].item(s) for s in sorted(secrets_)]

    def snapshot(self) -> dict[int, dict[str, tuple[str | None, str]]]:
        """Every secret as ``{universe_id: {secret_id: (domain, plaintext)}}``, for assertions."""
        with self._lock:
            return {
                uid: {sid: (s.domain, s.value) for sid, s in state.secrets.items()}
                for uid, state in self._universes.items()
            }

    def put_secret(
        self, universe_id: int, secret_id: str, value: str, *, domain: str | None = None
    ) -> dict[str, Any]:
        """Store a secret directly (no HTTP, no encryption), replacing any with that id.

        For seeding tests, e.g. filling a universe up to the 500-secret limit. The same rules
        as the API apply to the id, the domain and the value; the limit does not.

        Raises
        ------
        KeyError
            If the universe does not exist.
        ValueError
            If the id, domain or value breaks a rule.
        """
        if not valid_secret_id(secret_id):
            raise ValueError("invalid secret id")
        try:
            folded = normalize_domain(domain) if domain is not None else None
            validate_value(value)
        except BadRequest as exc:
            raise ValueError(exc.detail) from None
        with self._lock:
            state = self._universes[universe_id]
            stamp = _timestamp()
            old = state.secrets.get(secret_id)
            record = StoredSecret(folded, state.key.key_id, stamp, value)
            if old is not None:
                record.create_time = old.create_time
            state.secrets[secret_id] = record
            return record.item(secret_id)

    # ----------------------------------------------------------------- journal

    @property
    def journal(self) -> list[JournalEntry]:
        """Every request so far, in the order their outcomes took effect."""
        with self._lock:
            entries = list(self._journal)
        entries.sort(key=_by_sequence)
        return entries

    def clear_journal(self) -> None:
        """Forget the journal."""
        with self._lock:
            self._journal.clear()

    def add_listener(self, callback: Callable[[JournalEntry], None]) -> None:
        """Call ``callback(entry)`` for every journal entry as it is recorded (any thread)."""
        with self._lock:
            self._listeners = [*self._listeners, callback]

    def remove_listener(self, callback: Callable[[JournalEntry], None]) -> None:
        """Stop calling ``callback``; no error if it was not registered."""
        with self._lock:
            self._listeners = [c for c in self._listeners if c != callback]

    # ----------------------------------------------------------------- stages, used by the app

    def _take_fault(self, operation: str) -> Fault | None:
        """Consume one firing of the next scripted fault for ``operation``, if any."""
        if not self._faults:
            return None
        with self._lock:
            queue = self._faults.get(operation)
            if not queue and operation in NEEDS and operation != "get_plaintext":
                queue = self._faults.get("*")
            if not queue:
                return None
            fault = queue[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                queue.popleft()
            return fault

    def _authorize(
        self, call: Call, api_key: str | None, authorization: str | None, universe_text: str
    ) -> None:
        """Stages 401, 429, 400 (universe id) and 403; fills ``call`` in.

        Raises
        ------
        Unauthorized, TooManyRequests, BadRequest, Forbidden
            In that order of precedence.
        """
        with self._lock:
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
            # The oracle endpoint is the test's, not the client's: it must not eat its budget.
            if self._rate is not None and call.operation != "get_plaintext":
                owner = bucket_key(credential)
                bucket = self._buckets.get(owner)
                if bucket is None:
                    bucket = TokenBucket(self._rate[0], self._rate[1], self.clock)
                    self._buckets[owner] = bucket
                decision = bucket.take()
                call.headers = decision.headers
                if not decision.allowed:
                    # decision.headers (in call.headers) already carry Retry-After.
                    raise TooManyRequests(
                        f"rate limit of {self._rate[0]} requests per "
                        f"{self._rate[1]:g} seconds exceeded; retry after "
                        f"{decision.retry_after} s"
                    )
            universe_id = parse_universe_id(universe_text)
            need = NEEDS[call.operation or ""]
            if not credential.allows(need):
                raise Forbidden(f"the credential lacks {need} permission on the secrets store")
            state = self._universes.get(universe_id)
            if state is None or (
                credential.universe_ids is not None and universe_id not in credential.universe_ids
            ):
                raise Forbidden(f"the credential has no access to universe {universe_id}")
            call.universe = state

    def _live(self, call: Call) -> UniverseState:
        """The call's universe, as long as it still exists (reset() may have dropped it)."""
        state = call.universe
        if state is None or self._universes.get(state.universe_id) is not state:
            raise Forbidden("the universe no longer exists")
        return state

    def _unseal(self, call: Call, key_id: str, secret_text: str) -> tuple[str, str]:
        """Open the sealed value sent with ``key_id``; return ``(plaintext, key_id)``."""
        state = call.universe
        assert state is not None
        ciphertext = decode_secret(secret_text)
        with self._lock:
            key = state.accepted_key(key_id, self.clock())
            current = state.key.key_id
        if key is None:
            raise _stale_key(state.universe_id, current)
        try:
            plain = key.open(ciphertext)
        except UnsealError:
            raise BadRequest(
                f"'secret' is not a sealed box that opens with key_id {key_id}"
            ) from None
        try:
            value = plain.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest("secret value is not valid UTF-8") from None
        validate_value(value)
        return value, key_id

    def _key_still_accepted(self, state: UniverseState, key_id: str) -> None:
        # Called under the lock: the key may have rotated while the box was being opened.
        if state.accepted_key(key_id, self.clock()) is None:
            raise _stale_key(state.universe_id, state.key.key_id)

    def _get_public_key(self, call: Call) -> dict[str, Any]:
        with self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            key = state.key
        call.key_id = key.key_id
        return {"id": "public-key", "secret": key.public_key, "key_id": key.key_id}

    def _list_secrets(
        self, call: Call, limit: str | None, max_page_size: str | None, cursor: str | None
    ) -> dict[str, Any]:
        state = call.universe
        assert state is not None
        size = parse_page_size(limit, max_page_size)
        position = read_cursor(self._cursor_key, state.universe_id, cursor) if cursor else None
        with self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            ids = sorted(state.secrets)
            if position is None:
                start, end = 0, min(size, len(ids))
            elif position[0] == "N":
                start = bisect.bisect_left(ids, position[1])
                end = min(start + size, len(ids))
            else:
                end = bisect.bisect_right(ids, position[1])
                start = max(0, end - size)
            items = [state.secrets[s].item(s) for s in ids[start:end]]
        uid, key = state.universe_id, self._cursor_key
        return {
            "secrets": items,
            "nextPageCursor": make_cursor(key, uid, "N", ids[end]) if end < len(ids) else None,
            "previousPageCursor": (
                make_cursor(key, uid, "P", ids[start - 1]) if start > 0 else None
            ),
        }

    def _create_secret(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        state = call.universe
        assert state is not None
        fields = read_fields(body)
        call.key_id = safe_key_id(fields["key_id"])
        secret_id = fields["id"]
        if secret_id is None:
            raise BadRequest("'id' is required")
        if not valid_secret_id(secret_id):
            raise BadRequest(
                "'id' must be 1-64 letters, digits or underscores, not starting with a digit"
            )
        secret_text, key_id = fields["secret"], fields["key_id"]
        if secret_text is None or key_id is None:
            raise BadRequest("'secret' and 'key_id' are both required")
        domain_text = fields["domain"]
        domain = normalize_domain(domain_text) if domain_text is not None else None
        value, key_id = self._unseal(call, key_id, secret_text)
        with self._lock:
            state = self._live(call)
            self._key_still_accepted(state, key_id)
            call.sequence = next(self._sequence)
            if secret_id in state.secrets:
                raise Conflict(f"secret '{secret_id}' already exists")
            if len(state.secrets) >= MAX_SECRETS:
                raise BadRequest(f"universe already holds the maximum of {MAX_SECRETS} secrets")
            record = StoredSecret(domain, key_id, _timestamp(), value)
            state.secrets[secret_id] = record
            return record.item(secret_id)

    def _update_secret(self, call: Call, secret_id: str, body: dict[str, Any]) -> dict[str, Any]:
        state = call.universe
        assert state is not None
        fields = read_fields(body)
        call.key_id = safe_key_id(fields["key_id"])
        if fields["id"] is not None and fields["id"] != secret_id:
            raise BadRequest("'id' in the body differs from the secret id in the path")
        secret_text, key_id = fields["secret"], fields["key_id"]
        if (secret_text is None) != (key_id is None):
            raise BadRequest("'secret' and 'key_id' must be sent together")
        domain_text = fields["domain"]
        change_domain = domain_text is not None or (
            self.null_domain_clears and "domain" in body
        )
        domain = normalize_domain(domain_text) if domain_text is not None else None
        if secret_text is None and not change_domain:
            raise BadRequest("nothing to update: send 'secret' with 'key_id', or 'domain'")
        value = None
        if secret_text is not None and key_id is not None:
            value, key_id = self._unseal(call, key_id, secret_text)
        with self._lock:
            state = self._live(call)
            if value is not None and key_id is not None:
                self._key_still_accepted(state, key_id)
            call.sequence = next(self._sequence)
            record = state.secrets.get(secret_id)
            if record is None:
                raise NotFound(missing_secret(secret_id))
            if value is not None and key_id is not None:
                record.value = value
                record.key_id = key_id
            if change_domain:
                record.domain = domain
            record.update_time = _timestamp()
            return record.item(secret_id)

    def _delete_secret(self, call: Call, secret_id: str) -> None:
        with self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            if state.secrets.pop(secret_id, None) is None:
                raise NotFound(missing_secret(secret_id))

    def _read_plaintext(self, call: Call, secret_id: str) -> dict[str, Any]:
        with self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            record = state.secrets.get(secret_id)
            if record is None:
                raise NotFound(missing_secret(secret_id))
            return {"id": secret_id, "value": record.value}

    def _record(
        self,
        method: str,
        path: str,
        call: Call,
        status: int | None,
        request_bytes: int,
        response_bytes: int,
    ) -> None:
        """Append the journal entry for a finished request and tell the listeners."""
        sequence = call.sequence if call.sequence is not None else next(self._sequence)
        entry = JournalEntry(
            method, path, call.operation, status, call.credential_id, call.key_id,
            request_bytes, response_bytes, time.time(), sequence,
        )
        with self._lock:
            self._journal.append(entry)
            listeners = self._listeners
        for listener in listeners:
            listener(entry)


def _by_sequence(entry: JournalEntry) -> int:
    return entry.sequence


def _stale_key(universe_id: int, current: str) -> BadRequest:
    """The 400 for a box sealed with a key the universe no longer accepts."""
    return BadRequest(
        f"key_id is not the current key of universe {universe_id} "
        f"(current: {current}); fetch the public key again and reseal"
    )


def _credential_text(given: str | None, what: str) -> str:
    """The credential a test asked for, checked, or a fresh random one."""
    text = given if given is not None else secrets.token_urlsafe(48)
    check_credential_text(text, what)
    return text
