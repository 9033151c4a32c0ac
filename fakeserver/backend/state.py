"""The fake's state: universes, keys, credentials, secrets, under one lock.

:class:`SecretsBackend` is the state and the lock, with one public method per API operation
(:meth:`~SecretsBackend.get_public_key`, :meth:`~SecretsBackend.list_secrets`,
:meth:`~SecretsBackend.create_secret`, :meth:`~SecretsBackend.update_secret`,
:meth:`~SecretsBackend.delete_secret`, :meth:`~SecretsBackend.restart_servers`, Server
Management's :meth:`~SecretsBackend.forecast_restart`,
:meth:`~SecretsBackend.launch_restart` and :meth:`~SecretsBackend.list_restarts` (mixed in from
:mod:`fakeserver.backend.server_management`), and the
``/_fake/`` oracle's :meth:`~SecretsBackend.get_plaintext`,
:meth:`~SecretsBackend.create_game_server`, :meth:`~SecretsBackend.list_game_servers` and
:meth:`~SecretsBackend.resolve_game_request`),
each of which authorizes itself, returns a plain :class:`~fakeserver.backend.models.Result`
and raises the typed errors of :mod:`fakeserver.errors`. It knows nothing of HTTP or WSGI: the
app in :mod:`fakeserver.web.app` parses requests and encodes answers, and
:class:`fakeserver.cloud.FakeOpenCloud` puts the two together for tests. The contract's rules
(``shared/docs/secrets-api.md``) are pure functions in :mod:`fakeserver.backend.rules` and the
records live in :mod:`fakeserver.backend.models`; this module orders the stages and owns the
state.

Each operation goes through the stages of the contract's section 8, in order: credential (401),
rate limit (429), universe id (400), permission (403), body and query (400), state (404/409).
The credentials and their rate limits (the first two stages) are
:class:`~fakeserver.backend.access.Credentials`, held here and sharing the lock.
Opening the sealed box is the slow step, so it runs outside the lock; the commit then re-checks
under the lock that the key it used is still accepted, which keeps every operation atomic.

Time comes from one monotonic ``clock`` that the backend owns: rate-limit buckets, key grace
periods and game servers' bleed-off deadlines all read it, so a test that passes a fake clock,
or calls :meth:`~SecretsBackend.advance`, controls them all. Each universe's places and game
servers are a :class:`~fakeserver.backend.fleet.Fleet` held under the same lock.
"""

from __future__ import annotations

import bisect
import itertools
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

from ..errors import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
)
from .access import Call, Credentials
from .fleet import Fleet
from .gameservers import GameServer, GameServerError, resolve_json
from .keys import KeyPair, UnsealError, new_key_id
from .models import (
    NEEDS,
    AuthHeaders,
    BodyReader,
    Result,
    StoredSecret,
    Universe,
    UniverseState,
)
from .restart_rules import parse_restart_body
from .restarts import RestartBook
from .rules import (
    INT64_MAX,
    MAX_SECRETS,
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
from .server_management import ServerManagementOperations

__all__ = ["BodyReader", "SecretsBackend"]

_second_prefix: tuple[int, str] = (0, "1970-01-01T00:00:00")

_FIRST_UNIVERSE_ID = 4_000_000_001
_FIRST_PLACE_ID = 9_000_000_001
_PERMISSION = {
    "read": "read permission on the secrets store",
    "write": "write permission on the secrets store",
    "universe_read": "read permission on the universe API system (scope universe:read)",
    "universe_write": "write permission on the universe API system (scope universe:write)",
}


def _timestamp() -> str:
    """Now as RFC 3339 UTC with microseconds, e.g. ``2026-11-27T07:15:01.809123Z``.

    Microseconds, as Roblox's timestamps have (milliseconds made two writes of one secret in
    the same millisecond indistinguishable to a client comparing ``update_time``).
    """
    global _second_prefix
    now = time.time_ns()
    whole, micros = divmod(now // 1000, 1_000_000)
    second, prefix = _second_prefix
    if second != whole:
        # Formatting the date is most of the cost; within one second it never changes.
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second_prefix = (whole, prefix)
    return f"{prefix}.{micros:06d}Z"


# --------------------------------------------------------------------------- the backend


class SecretsBackend(ServerManagementOperations):
    """The secrets store's state under one lock, and its operations.

    Parameters
    ----------
    null_domain_clears:
        On update, ``{"domain": null}`` makes the secret private instead of keeping the domain.
    rate_limit:
        ``(requests, window_seconds)`` per credential owner; ``None`` (default) turns it off.
    key_grace_seconds:
        How long the previous key stays accepted after :meth:`rotate_key` (default 0).
    clock:
        Monotonic time source for rate limiting, key grace and bleed-off; tests pass a fake
        clock, or move this one with :meth:`advance`.

    Thread-safe: every method takes the lock for as long as it reads or changes the state.
    """

    def __init__(
        self,
        *,
        null_domain_clears: bool = False,
        rate_limit: tuple[int, float] | None = None,
        key_grace_seconds: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Create an empty store: no universes, no credentials."""
        self.null_domain_clears = null_domain_clears
        self.key_grace_seconds = float(key_grace_seconds)
        self._clock_source = clock
        self._clock_offset = 0.0
        # Turns the fake's clock into Unix time for Server Management's timestamps.
        self._wall_offset = time.time() - clock()
        self._lock = threading.Lock()
        self._universes: dict[int, UniverseState] = {}
        #: The API keys and OAuth tokens the fake accepts, and their rate limits.
        self.credentials = Credentials(self._lock, self.clock)
        self._sequence = itertools.count(1)
        self._next_universe_id = _FIRST_UNIVERSE_ID
        self._next_place_id = _FIRST_PLACE_ID
        # Signs list cursors, so a cursor the fake did not issue is recognised as such.
        self._cursor_key = secrets.token_bytes(32)
        if rate_limit is not None:
            self.credentials.set_rate_limit(*rate_limit)

    def __repr__(self) -> str:
        """Show counts only: never keys, tokens or values."""
        return f"SecretsBackend({self.summary()})"

    def summary(self) -> str:
        """Counts of universes, credentials and secrets, e.g. for a repr; never their contents."""
        with self._lock:
            secrets_count = sum(len(u.secrets) for u in self._universes.values())
            return (
                f"universes={len(self._universes)}, "
                f"credentials={self.credentials.count()}, secrets={secrets_count}"
            )

    def clock(self) -> float:
        """The fake's one clock: the ``clock`` it was given, plus every :meth:`advance`."""
        return self._clock_source() + self._clock_offset

    def advance(self, seconds: float) -> None:
        """Move the fake's clock forward by ``seconds``: rate-limit buckets refill, key grace
        periods run out and bled-off game servers close, with no test sleeping.

        Raises
        ------
        ValueError
            If ``seconds`` is negative (a monotonic clock never goes back).
        """
        if not seconds >= 0:
            raise ValueError("the fake's clock only moves forward: seconds must be >= 0")
        with self._lock:
            self._clock_offset += float(seconds)

    def next_sequence(self) -> int:
        """A sequence number after every outcome so far (for journal entries of other calls)."""
        return next(self._sequence)

    # ----------------------------------------------------------------- setup

    def add_universe(self, universe_id: int | None = None) -> Universe:
        """Add a universe with a fresh X25519 keypair; the id is generated when omitted.

        Its start place (``Universe.start_place_id``, where game servers start by default)
        gets a generated id.

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
            fleet = Fleet(self._next_place_id, self.clock)
            self._next_place_id += 1
            restarts = RestartBook(universe_id, self._wall_offset)
            state = UniverseState(universe_id, KeyPair(new_key_id()), fleet, restarts)
            self._universes[universe_id] = state
            return state.public()

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
        """Drop universes, credentials, secrets and rate-limit buckets.

        Switches (``null_domain_clears``, the rate limit setting, key grace) are kept.
        Generated universe ids and credential ids start over, so a fake reused across tests
        hands out the same ids each time.
        """
        with self._lock:
            self._next_universe_id = _FIRST_UNIVERSE_ID
            self._next_place_id = _FIRST_PLACE_ID
            self._universes = {}
            self.credentials.clear()

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

    # ----------------------------------------------------------------- game servers

    def start_server(
        self, universe_id: int, place_id: int | None = None, players: int = 0
    ) -> GameServer:
        """Start a game server of ``place_id`` (default: the start place) with ``players``
        players and the universe's secrets as they are now. Raises ``KeyError`` for an
        unknown universe, ``ValueError`` for a place id that is not a positive integer or a
        negative player count."""
        with self._lock:
            state = self._universes[universe_id]
            return state.fleet.start_server(state.server_secrets(), place_id, players)

    def servers(self, universe_id: int) -> list[GameServer]:
        """The universe's running game servers (draining ones included), oldest first."""
        with self._lock:
            return self._universes[universe_id].fleet.servers()

    def publish_place(self, universe_id: int, place_id: int | None = None) -> int:
        """Publish a new version of ``place_id`` (default: the start place); return it.

        Servers already running stay on their version, so a restart without
        ``closeAllVersions`` now restarts them.
        """
        with self._lock:
            return self._universes[universe_id].fleet.publish_place(place_id)

    # ----------------------------------------------------------------- operations
    # One method per route of the API (and the oracle's), named as the route table names them.

    def get_public_key(self, *, auth: AuthHeaders, universe_id: str) -> Result:
        """The universe's current public key: ``{"id", "secret", "key_id"}``."""
        call = self._authorize("get_public_key", auth, universe_id)
        with call:
            with self._lock:
                state = self._live(call)
                call.sequence = next(self._sequence)
                key = state.key
            call.key_id = key.key_id
            body = {"id": "public-key", "secret": key.public_key, "key_id": key.key_id}
        return Result(body, call.receipt())

    def list_secrets(
        self,
        *,
        auth: AuthHeaders,
        universe_id: str,
        limit: str | None = None,
        max_page_size: str | None = None,
        cursor: str | None = None,
    ) -> Result:
        """One page of the universe's secrets (metadata only), with the cursors around it."""
        call = self._authorize("list_secrets", auth, universe_id)
        with call:
            body = self._list_page(call, limit, max_page_size, cursor)
        return Result(body, call.receipt())

    def create_secret(self, *, auth: AuthHeaders, universe_id: str, body: BodyReader) -> Result:
        """Open the sealed value in ``body`` and store it as a new secret; its metadata."""
        call = self._authorize("create_secret", auth, universe_id)
        with call:
            item = self._create(call, body())
        return Result(item, call.receipt())

    def update_secret(
        self, *, auth: AuthHeaders, universe_id: str, secret_id: str, body: BodyReader
    ) -> Result:
        """Change a secret's value and/or domain as ``body`` says; its metadata."""
        call = self._authorize("update_secret", auth, universe_id)
        with call:
            item = self._update(call, secret_id, body())
        return Result(item, call.receipt())

    def delete_secret(self, *, auth: AuthHeaders, universe_id: str, secret_id: str) -> Result:
        """Delete a secret; the body is ``{}``."""
        call = self._authorize("delete_secret", auth, universe_id)
        with call, self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            if state.secrets.pop(secret_id, None) is None:
                raise NotFound(missing_secret(secret_id))
        return Result({}, call.receipt())

    def get_plaintext(self, *, auth: AuthHeaders, universe_id: str, secret_id: str) -> Result:
        """The oracle: ``{"id", "value"}`` with the decrypted value (never rate limited)."""
        call = self._authorize("get_plaintext", auth, universe_id)
        with call, self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            record = state.secrets.get(secret_id)
            if record is None:
                raise NotFound(missing_secret(secret_id))
            body = {"id": secret_id, "value": record.value}
        return Result(body, call.receipt())

    def restart_servers(self, *, auth: AuthHeaders, universe_id: str, body: BodyReader) -> Result:
        """Restart the universe's game servers as ``body`` asks; the body is ``{}``.

        With ``closeAllVersions`` false or absent only servers on an older place version are
        restarted, so after a secrets-only change nothing is (the contract's section 9).
        """
        call = self._authorize("restart_servers", auth, universe_id)
        with call:
            order = parse_restart_body(body())
            with self._lock:
                state = self._live(call)
                call.sequence = next(self._sequence)
                state.fleet.restart(
                    state.server_secrets(),
                    place_ids=order.place_ids,
                    close_all_versions=order.close_all_versions,
                    bleed_off_minutes=order.bleed_off_minutes,
                )
        return Result({}, call.receipt())

    def create_game_server(
        self, *, auth: AuthHeaders, universe_id: str, body: BodyReader
    ) -> Result:
        """The oracle: start a game server (body ``{}``, or with ``"placeId": N`` and
        ``"players": N``); describe it."""
        call = self._authorize("create_game_server", auth, universe_id)
        with call:
            fields = body()
            unknown = sorted(set(fields) - {"placeId", "players"})
            if unknown:
                raise BadRequest("unknown field in request body; allowed: placeId, players")
            place, players = fields.get("placeId"), fields.get("players")
            if place is not None and not _whole(place, 1, INT64_MAX):
                raise BadRequest("'placeId' must be a positive 64-bit integer")
            if players is not None and not _whole(players, 0, _MAX_PLAYERS):
                raise BadRequest(f"'players' must be a whole number from 0 to {_MAX_PLAYERS}")
            with self._lock:
                state = self._live(call)
                call.sequence = next(self._sequence)
                try:
                    server = state.fleet.start_server(state.server_secrets(), place, players or 0)
                except ValueError as full:  # the cap (MAX_GAME_SERVERS): the rest is valid
                    raise BadRequest(str(full)) from None
                described = server.describe()
        return Result(described, call.receipt())

    def list_game_servers(self, *, auth: AuthHeaders, universe_id: str) -> Result:
        """The oracle: ``{"servers": [...]}``, the running game servers, oldest first."""
        call = self._authorize("list_game_servers", auth, universe_id)
        with call, self._lock:
            state = self._live(call)
            call.sequence = next(self._sequence)
            listed = [server.describe() for server in state.fleet.servers()]
        return Result({"servers": listed}, call.receipt())

    def resolve_game_request(
        self, *, auth: AuthHeaders, universe_id: str, server_id: str, body: BodyReader
    ) -> Result:
        """The oracle: the request game server ``server_id`` would send, values filled in.

        The body describes the request (see :func:`fakeserver.backend.gameservers.resolve_json`); a
        request the game server refuses is a 400 whose detail says why, never with a value.
        """
        call = self._authorize("resolve_game_request", auth, universe_id)
        with call:
            spec = body()
            with self._lock:
                state = self._live(call)
                call.sequence = next(self._sequence)
                server = state.fleet.server(server_id)
            if server is None:
                raise NotFound("no running game server with that id in this universe")
            try:
                sent = resolve_json(server, spec)
            except GameServerError as exc:
                refusal = str(exc)
            else:
                return Result(
                    {"url": sent.url, "headers": sent.headers, "body": sent.body},
                    call.receipt(),
                )
            # Raised outside the except block: no frame of the refused request stays attached.
            raise BadRequest(f"the game server refused the request: {refusal}")

    # ----------------------------------------------------------------- stages

    def _authorize(self, operation: str, auth: AuthHeaders, universe_text: str) -> Call:
        """Stages 401, 429, 400 (universe id) and 403 of ``operation``.

        Raises
        ------
        Unauthorized, TooManyRequests, BadRequest, Forbidden
            In that order of precedence, carrying the receipt of what was learned.
        """
        call = Call()
        with call:
            self._check_credential(call, operation, auth, universe_text)
        return call

    def _check_credential(
        self, call: Call, operation: str, auth: AuthHeaders, universe_text: str
    ) -> None:
        with self._lock:
            credential = self.credentials.admit(call, operation, auth)
            universe_id = parse_universe_id(universe_text)
            need = NEEDS[operation]
            if not credential.allows(need):
                raise Forbidden(f"the credential lacks {_PERMISSION[need]}")
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

    def _list_page(
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

    def _create(self, call: Call, body: dict[str, Any]) -> dict[str, Any]:
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

    def _update(self, call: Call, secret_id: str, body: dict[str, Any]) -> dict[str, Any]:
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
        change_domain = domain_text is not None or (self.null_domain_clears and "domain" in body)
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


_MAX_PLAYERS = 1_000_000


def _whole(value: object, low: int, high: int) -> bool:
    """Whether a decoded JSON value is an integer (not a boolean) from ``low`` to ``high``."""
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _stale_key(universe_id: int, current: str) -> BadRequest:
    """The 400 for a box sealed with a key the universe no longer accepts."""
    return BadRequest(
        f"key_id is not the current key of universe {universe_id} "
        f"(current: {current}); fetch the public key again and reseal"
    )
