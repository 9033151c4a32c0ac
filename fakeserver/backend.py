"""The fake's state and rules: universes, keys, credentials, secrets, under one lock.

:class:`FakeOpenCloud` is both the thing a test configures (universes, credentials, switches,
faults, rate limit) and asks (the oracle: :meth:`~FakeOpenCloud.plaintext`, the journal), and the
backend the WSGI app in :mod:`fakeserver.app` calls. The app only parses and serializes; every
rule of the contract (``shared/docs/secrets-api.md``) lives here and is enforced by raising the
typed errors of :mod:`fakeserver.errors`.

Each request goes through the stages of the contract's section 8, in order: credential (401),
rate limit (429), universe id (400), permission (403), body and query (400), state (404/409).
Opening the sealed box is the slow step, so it runs outside the lock; the commit then re-checks
under the lock that the key it used is still accepted, which keeps every operation atomic.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import hmac
import itertools
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from .keys import SEAL_OVERHEAD, KeyPair, UnsealError, new_key_id
from .ratelimit import TokenBucket

if TYPE_CHECKING:
    from .app import SecretsApp
    from .server import FakeServer

__all__ = [
    "OPERATIONS",
    "ApiKey",
    "FakeOpenCloud",
    "JournalEntry",
    "OAuthToken",
    "Universe",
]

#: The five API operations, the names ``inject_fault`` and the journal use.
OPERATIONS = (
    "get_public_key",
    "list_secrets",
    "create_secret",
    "update_secret",
    "delete_secret",
)
# Which permission each operation needs ("get_plaintext" is the fake's own oracle endpoint).
_NEEDS = {
    "get_public_key": "read",
    "list_secrets": "read",
    "create_secret": "write",
    "update_secret": "write",
    "delete_secret": "write",
    "get_plaintext": "read",
}
READ_SCOPE = "universe.secret:read"
WRITE_SCOPE = "universe.secret:write"
_SCOPE_FOR = {"read": READ_SCOPE, "write": WRITE_SCOPE}

MAX_SECRETS = 500
MAX_VALUE_CHARS = 1024
DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 500
_INT64_MAX = 2**63 - 1
# A value of 1,024 code points is at most 4,096 UTF-8 bytes; anything longer cannot be valid.
_MAX_CIPHERTEXT = MAX_VALUE_CHARS * 4 + SEAL_OVERHEAD

_ID_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_KEY_ID_RE = re.compile(r"[0-9]{1,20}")
_FIELD_NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,31}")
_FIELDS = frozenset(("id", "secret", "key_id", "domain", "create_time", "update_time"))


# --------------------------------------------------------------------------- public records


@dataclass(frozen=True)
class Universe:
    """A universe as a test sees it: its id and its current public key.

    A snapshot: after :meth:`FakeOpenCloud.rotate_key`, ask :meth:`FakeOpenCloud.universe`
    for the new one.
    """

    universe_id: int
    key_id: str
    public_key: str


@dataclass(frozen=True)
class ApiKey:
    """An API key of the fake: ``key`` is the secret string sent as ``x-api-key``.

    ``credential_id`` is a safe name for logs and the journal; ``universe_ids`` of ``None``
    means every universe.
    """

    key: str = field(repr=False)
    credential_id: str
    read: bool = True
    write: bool = True
    universe_ids: frozenset[int] | None = None
    owner: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that authenticate with this key."""
        return {"x-api-key": self.key}

    def allows(self, need: str) -> bool:
        """Whether the key carries ``need`` (``"read"`` or ``"write"``)."""
        return self.read if need == "read" else self.write


@dataclass(frozen=True)
class OAuthToken:
    """An OAuth 2.0 access token of the fake, sent as ``Authorization: Bearer <token>``."""

    token: str = field(repr=False)
    credential_id: str
    scopes: frozenset[str] = frozenset((READ_SCOPE, WRITE_SCOPE))
    universe_ids: frozenset[int] | None = None
    owner: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """The request headers that authenticate with this token."""
        return {"Authorization": f"Bearer {self.token}"}

    def allows(self, need: str) -> bool:
        """Whether the token carries the scope for ``need`` (``"read"`` or ``"write"``)."""
        return _SCOPE_FOR[need] in self.scopes


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One request as the journal records it: never a value, ciphertext or credential.

    Attributes
    ----------
    method, path:
        The HTTP method and path (no query string).
    operation:
        One of :data:`OPERATIONS`, ``"get_plaintext"``, or ``None`` for an unknown path.
    status:
        The status answered, or ``None`` when an injected fault dropped the connection.
    credential_id:
        The safe id of the credential that authenticated (``None`` if none did).
    key_id:
        The key id the request sealed with, or the one a public-key answer returned.
    request_bytes, response_bytes:
        Body sizes.
    timestamp:
        Wall-clock seconds since the epoch when the answer was ready.
    sequence:
        Position in the journal; for requests that read or changed state, the order in which
        they took effect.
    """

    method: str
    path: str
    operation: str | None
    status: int | None
    credential_id: str | None
    key_id: str | None
    request_bytes: int
    response_bytes: int
    timestamp: float
    sequence: int


# --------------------------------------------------------------------------- internal records

Credential = ApiKey | OAuthToken


class _Secret:
    """A stored secret. The plaintext is kept for the oracle only and never shown in a repr."""

    __slots__ = ("create_time", "domain", "key_id", "update_time", "value")

    def __init__(self, domain: str | None, key_id: str, stamp: str, value: str) -> None:
        """A new secret, created and updated at ``stamp``."""
        self.domain = domain
        self.key_id = key_id
        self.create_time = stamp
        self.update_time = stamp
        self.value = value

    def item(self, secret_id: str) -> dict[str, Any]:
        """The secret as list, create and update answers show it (never its value)."""
        return {
            "id": secret_id,
            "domain": self.domain,
            "key_id": self.key_id,
            "create_time": self.create_time,
            "update_time": self.update_time,
        }

    def __repr__(self) -> str:
        """Metadata only."""
        return f"_Secret(domain={self.domain!r}, key_id={self.key_id!r})"


class _UniverseState:
    """A universe: its keys (current, and previous during a grace period) and its secrets."""

    __slots__ = ("issued", "key", "previous", "previous_until", "secrets", "universe_id")

    def __init__(self, universe_id: int, key: KeyPair) -> None:
        """A universe with its first key and no secrets."""
        self.universe_id = universe_id
        self.key = key
        self.previous: KeyPair | None = None
        self.previous_until = 0.0
        self.issued = {key.key_id}
        self.secrets: dict[str, _Secret] = {}

    def accepted_key(self, key_id: str, now: float) -> KeyPair | None:
        """The key a request may seal with under ``key_id`` at time ``now``, if any."""
        if key_id == self.key.key_id:
            return self.key
        previous = self.previous
        if previous is not None and key_id == previous.key_id and now < self.previous_until:
            return previous
        return None

    def public(self) -> Universe:
        """A snapshot for tests: id and current public key."""
        return Universe(self.universe_id, self.key.key_id, self.key.public_key)


class _Fault:
    """A scripted fault, fired for the next ``remaining`` calls of its operation."""

    __slots__ = ("drop_connection", "latency", "remaining", "retry_after", "status")

    def __init__(
        self, status: int | None, latency: float, drop: bool, times: int, retry_after: int | None
    ) -> None:
        """Store what the fault does and how many more calls it applies to."""
        self.status = status
        self.latency = latency
        self.drop_connection = drop
        self.remaining = times
        self.retry_after = retry_after

    def __repr__(self) -> str:
        """Show the whole fault."""
        return (
            f"_Fault(status={self.status}, latency={self.latency}, "
            f"drop_connection={self.drop_connection}, remaining={self.remaining})"
        )


class Call:
    """What the backend learns about one request while handling it (internal to the package).

    The app creates one per request and hands it to each stage; stages fill in who called,
    which universe, the rate-limit headers to send, the key id involved and the sequence
    number under which the outcome took effect.
    """

    __slots__ = ("credential_id", "headers", "key_id", "operation", "sequence", "universe")

    def __init__(self, operation: str | None) -> None:
        """Start with nothing known but the operation (``None`` until routed)."""
        self.operation = operation
        self.credential_id: str | None = None
        self.universe: _UniverseState | None = None
        self.headers: list[tuple[str, str]] = []
        self.key_id: str | None = None
        self.sequence: int | None = None

    def __repr__(self) -> str:
        """Show the operation and the safe credential id."""
        return f"Call({self.operation!r}, credential_id={self.credential_id!r})"


# --------------------------------------------------------------------------- validation rules


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


def parse_universe_id(text: str) -> int:
    """Parse a universe id from a path segment (a positive int64 in decimal).

    Raises
    ------
    BadRequest
        If it is not a plain decimal int64.
    """
    if not (0 < len(text) <= 19 and text.isascii() and text.isdigit()):
        raise BadRequest("universeId must be a decimal integer")
    value = int(text)
    if value > _INT64_MAX:
        raise BadRequest("universeId must be a 64-bit integer")
    return value


def valid_secret_id(secret_id: object) -> bool:
    """Whether ``secret_id`` is a valid secret name (``^[A-Za-z_][A-Za-z0-9_]{0,63}$``)."""
    return isinstance(secret_id, str) and _ID_RE.fullmatch(secret_id) is not None


def normalize_domain(domain: str) -> str | None:
    """Validate a domain and fold it to lower case; ``""`` becomes ``None`` (private).

    Accepted: ``*``, a host name (labels of ``a-z0-9-`` of 1-63 characters, not starting or
    ending with a hyphen, 253 characters at most, no trailing dot), optionally prefixed by
    ``*.``. No scheme, port, path or user.

    Raises
    ------
    BadRequest
        If the domain has any other form.
    """
    if domain == "":
        return None
    if domain == "*":
        return domain
    # Fold ASCII only: str.lower() maps some non-ASCII letters (the Kelvin sign) onto ASCII.
    if not domain.isascii():
        raise BadRequest("domain must be '*', a host name, or '*.' followed by a host name")
    folded = domain.lower()
    host = folded.removeprefix("*.")
    if len(host) > 253 or _HOST_RE.fullmatch(host) is None:
        raise BadRequest(
            "domain must be '*', a host name like 'api.example.com', or '*.example.com' "
            "(no scheme, port or path)"
        )
    return folded


def validate_value(value: str) -> None:
    """Check a plaintext value: 1 to 1,024 code points.

    Raises
    ------
    BadRequest
        If it is empty or too long.
    """
    if not value:
        raise BadRequest("secret value must not be empty")
    if len(value) > MAX_VALUE_CHARS:
        raise BadRequest(f"secret value is longer than {MAX_VALUE_CHARS} characters")


def _safe_key_id(key_id: object) -> str | None:
    """The key id if it has the shape of one (safe to log), else ``None``."""
    if isinstance(key_id, str) and _KEY_ID_RE.fullmatch(key_id):
        return key_id
    return None


def _read_fields(body: dict[str, Any]) -> dict[str, str | None]:
    """Check a request body's fields: known names and string-or-null types.

    Returns every known field, ``None`` when absent or null (null means absent). Client-sent
    ``create_time``/``update_time`` are accepted and ignored.
    """
    fields: dict[str, str | None] = dict.fromkeys(_FIELDS)
    for name, value in body.items():
        if name not in _FIELDS:
            if _FIELD_NAME_RE.fullmatch(name):
                raise BadRequest(
                    f"unknown field '{name}'; allowed: id, secret, key_id, domain"
                )
            raise BadRequest("unknown field in request body; allowed: id, secret, key_id, domain")
        if value is not None and not isinstance(value, str):
            raise BadRequest(f"'{name}' must be a JSON string")
        fields[name] = value
    return fields


def _decode_secret(text: str) -> bytes:
    """Decode the ``secret`` field: standard, padded, canonical base64 of a sealed box."""
    if not text.isascii():
        raise BadRequest("'secret' must be standard base64 with padding")
    raw = text.encode("ascii")
    try:
        data = binascii.a2b_base64(raw, strict_mode=True)
    except binascii.Error:
        raise BadRequest("'secret' must be standard base64 with padding") from None
    if binascii.b2a_base64(data, newline=False) != raw:
        raise BadRequest("'secret' must be standard base64 with padding")
    if len(data) <= SEAL_OVERHEAD:
        raise BadRequest("'secret' is too short to be a sealed box of a non-empty value")
    if len(data) > _MAX_CIPHERTEXT:
        raise BadRequest(f"secret value is longer than {MAX_VALUE_CHARS} characters")
    return data


def _make_bucket_key(credential: Credential) -> str:
    return credential.owner or credential.credential_id


def _frozen_ids(universe_ids: Iterable[int] | None) -> frozenset[int] | None:
    if universe_ids is None:
        return None
    ids = frozenset(int(u) for u in universe_ids)
    return ids


def _check_credential_text(text: str, what: str) -> None:
    # A credential becomes a header value; refuse what no HTTP client could send.
    if not text or not text.isascii() or not text.isprintable() or text != text.strip():
        raise ValueError(f"{what} must be non-empty printable ASCII without surrounding spaces")


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
        self._universes: dict[int, _UniverseState] = {}
        self._api_keys: dict[str, ApiKey] = {}
        self._tokens: dict[str, OAuthToken] = {}
        self._faults: dict[str, deque[_Fault]] = {}
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
            if not 0 < universe_id <= _INT64_MAX:
                raise ValueError("universe_id must be a positive 64-bit integer")
            if universe_id in self._universes:
                raise ValueError(f"universe {universe_id} already exists")
            state = _UniverseState(universe_id, KeyPair(new_key_id()))
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
        key = key if key is not None else secrets.token_urlsafe(48)
        _check_credential_text(key, "key")
        with self._lock:
            if key in self._api_keys:
                raise ValueError("that API key is already in use")
            credential_id = f"apikey-{next(self._credential_numbers)}"
            api_key = ApiKey(
                key, credential_id, bool(read), bool(write), _frozen_ids(universe_ids),
                owner or credential_id,
            )
            self._api_keys[key] = api_key
            return api_key

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
        token = token if token is not None else secrets.token_urlsafe(48)
        _check_credential_text(token, "token")
        with self._lock:
            if token in self._tokens:
                raise ValueError("that OAuth token is already in use")
            credential_id = f"oauth-{next(self._credential_numbers)}"
            oauth = OAuthToken(
                token, credential_id, frozenset(scopes), _frozen_ids(universe_ids),
                owner or credential_id,
            )
            self._tokens[token] = oauth
            return oauth

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
        fault = _Fault(
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
            record = _Secret(folded, state.key.key_id, stamp, value)
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

    def _take_fault(self, operation: str) -> _Fault | None:
        """Consume one firing of the next scripted fault for ``operation``, if any."""
        if not self._faults:
            return None
        with self._lock:
            queue = self._faults.get(operation)
            if not queue and operation in _NEEDS and operation != "get_plaintext":
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
                owner = _make_bucket_key(credential)
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
            need = _NEEDS[call.operation or ""]
            if not credential.allows(need):
                raise Forbidden(f"the credential lacks {need} permission on the secrets store")
            state = self._universes.get(universe_id)
            if state is None or (
                credential.universe_ids is not None and universe_id not in credential.universe_ids
            ):
                raise Forbidden(f"the credential has no access to universe {universe_id}")
            call.universe = state

    def _live(self, call: Call) -> _UniverseState:
        """The call's universe, as long as it still exists (reset() may have dropped it)."""
        state = call.universe
        if state is None or self._universes.get(state.universe_id) is not state:
            raise Forbidden("the universe no longer exists")
        return state

    def _unseal(self, call: Call, key_id: str, secret_text: str) -> tuple[str, str]:
        """Open the sealed value sent with ``key_id``; return ``(plaintext, key_id)``."""
        state = call.universe
        assert state is not None
        ciphertext = _decode_secret(secret_text)
        with self._lock:
            key = state.accepted_key(key_id, self.clock())
            current = state.key.key_id
        if key is None:
            raise BadRequest(
                f"key_id is not the current key of universe {state.universe_id} "
                f"(current: {current}); fetch the public key again and reseal"
            )
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

    def _key_still_accepted(self, state: _UniverseState, key_id: str) -> None:
        # Called under the lock: the key may have rotated while the box was being opened.
        if state.accepted_key(key_id, self.clock()) is None:
            raise BadRequest(
                f"key_id is not the current key of universe {state.universe_id} "
                f"(current: {state.key.key_id}); fetch the public key again and reseal"
            )

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
        # When both are sent, `limit` wins (contract section 8).
        size_text = limit if limit is not None else max_page_size
        if size_text is None:
            size = DEFAULT_PAGE_SIZE
        else:
            if not (0 < len(size_text) <= 6 and size_text.isascii() and size_text.isdigit()):
                raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
            size = int(size_text)
            if not 1 <= size <= MAX_PAGE_SIZE:
                raise BadRequest(f"limit must be an integer from 1 to {MAX_PAGE_SIZE}")
        position = self._read_cursor(state.universe_id, cursor) if cursor else None
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
        uid = state.universe_id
        return {
            "secrets": items,
            "nextPageCursor": self._cursor(uid, "N", ids[end]) if end < len(ids) else None,
            "previousPageCursor": self._cursor(uid, "P", ids[start - 1]) if start > 0 else None,
        }

    def _cursor(self, universe_id: int, direction: str, bound: str) -> str:
        """An opaque cursor: ``N`` lists ids >= bound onwards, ``P`` the page ending at bound."""
        payload = f"{direction}{bound}"
        mac = hmac.new(self._cursor_key, f"{universe_id}:{payload}".encode(), hashlib.sha256)
        encoded = base64.urlsafe_b64encode(payload.encode("ascii")).rstrip(b"=").decode("ascii")
        signature = base64.urlsafe_b64encode(mac.digest()[:12]).decode("ascii")
        return f"{encoded}.{signature}"

    def _read_cursor(self, universe_id: int, cursor: str) -> tuple[str, str]:
        """Check and decode a cursor this fake issued for this universe."""
        encoded, _, signature = cursor.partition(".")
        try:
            payload = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode("ascii")
        except (ValueError, UnicodeError):
            payload = ""
        expected = ""
        if payload[:1] in ("N", "P") and valid_secret_id(payload[1:]):
            mac = hmac.new(self._cursor_key, f"{universe_id}:{payload}".encode(), hashlib.sha256)
            expected = base64.urlsafe_b64encode(mac.digest()[:12]).decode("ascii")
        given = signature.encode("utf-8", "replace")
        if not expected or not hmac.compare_digest(expected.encode("ascii"), given):
            raise BadRequest("cursor is not one this server issued for this universe")
        return payload[0], payload[1:]

    def _create_secret(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
        state = call.universe
        assert state is not None
        fields = _read_fields(body)
        call.key_id = _safe_key_id(fields["key_id"])
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
            record = _Secret(domain, key_id, _timestamp(), value)
            state.secrets[secret_id] = record
            return record.item(secret_id)

    def _update_secret(self, call: Call, secret_id: str, body: dict[str, Any]) -> dict[str, Any]:
        state = call.universe
        assert state is not None
        fields = _read_fields(body)
        call.key_id = _safe_key_id(fields["key_id"])
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
                raise NotFound(_missing(secret_id))
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
                raise NotFound(_missing(secret_id))

    def _read_plaintext(self, call: Call, secret_id: str) -> dict[str, Any]:
        with self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            record = state.secrets.get(secret_id)
            if record is None:
                raise NotFound(_missing(secret_id))
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


def _missing(secret_id: str) -> str:
    # Echo the id only when it is a valid name: a malformed path segment could be anything.
    if valid_secret_id(secret_id):
        return f"secret '{secret_id}' does not exist"
    return "secret does not exist"
