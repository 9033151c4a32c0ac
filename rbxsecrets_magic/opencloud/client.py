"""A client for the Roblox Open Cloud secrets store, on ``requests``.

One method per API operation (:meth:`SecretsClient.public_key`, :meth:`~SecretsClient.list`,
:meth:`~SecretsClient.create`, :meth:`~SecretsClient.update`, :meth:`~SecretsClient.delete`,
and :meth:`~SecretsClient.restart_servers`, which makes a change reach running game servers,
with Server Management's :meth:`~SecretsClient.forecast_restart`,
:meth:`~SecretsClient.launch_restart`, :meth:`~SecretsClient.restart_status` and
:meth:`~SecretsClient.wait_for_restart`, in :mod:`rbxsecrets_magic.opencloud.server_management`),
plus the two things careful callers need: :meth:`~SecretsClient.set`, a create-or-update that
never changes a domain it was not asked to change, and :meth:`~SecretsClient.set_many`, which
lists once, fetches the key once, paces itself to the rate limit and reports per secret.

Input is validated before anything is sent (:mod:`rbxsecrets_magic.validation`); values are
sealed with the universe's cached public key (:mod:`rbxsecrets_magic.crypto`); configuration
(credentials, safe URLs, defaults) comes from :mod:`rbxsecrets_magic.settings`, and everything
about HTTP (redirects, retries, pacing, which error an answer becomes) is in
:mod:`rbxsecrets_magic.sending`.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Self

import requests

from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RbxSecretsError,
    WaitTooLongError,
)
from ..settings import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
    MAX_CONCURRENCY,
    MAX_PAGE_SIZE,
    MAX_SECRETS,
    check_base_url,
    chosen_base_url,
    pick_credential,
)
from .crypto import seal
from .pacing import Pacer
from .sending import Call, Sender
from .server_management import SERVER_MANAGEMENT_RATE_LIMIT, RestartMethods, ServerManagement
from .validation import (
    validate_bleed_off_minutes,
    validate_domain,
    validate_place_ids,
    validate_secret_id,
    validate_universe_id,
    validate_value,
)

__all__ = ["RESTART_RATE_LIMIT", "PublicKey", "SecretInfo", "SecretsClient", "SetResult"]

#: Roblox's rate limit for restarting servers, per key owner: a bucket of its own.
RESTART_RATE_LIMIT = (30, 60.0)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A universe's public key for sealing values.

    Attributes
    ----------
    key_id:
        The id to send back with every value sealed with this key.
    key:
        Standard base64 of the 32-byte X25519 public key (not a secret).
    """

    key_id: str
    key: str


@dataclass(frozen=True, slots=True)
class SecretInfo:
    """What the API tells about a secret: everything but its value.

    Attributes
    ----------
    id:
        The secret's name.
    domain:
        Where in-game ``HttpService`` may send it (``"*"``, ``"*.example.com"``,
        ``"api.example.com"``); ``None`` when private.
    key_id:
        Id of the public key the value was sealed with.
    create_time, update_time:
        Timezone-aware UTC timestamps, or ``None`` when the server did not send them.
    """

    id: str
    domain: str | None
    key_id: str | None
    create_time: datetime | None
    update_time: datetime | None


@dataclass(frozen=True, slots=True)
class SetResult:
    """The outcome of setting one secret.

    Attributes
    ----------
    secret_id:
        The secret's name, as given.
    action:
        ``"created"`` or ``"updated"`` when the server confirmed the write; ``"failed"``
        when it did not: the write failed, or its outcome is unknown (see
        :attr:`outcome_unknown`).
    info:
        The secret's metadata after the write (``None`` when it failed).
    error:
        Why it failed (``None`` when it did not).
    """

    secret_id: str
    action: Literal["created", "updated", "failed"]
    info: SecretInfo | None = None
    error: RbxSecretsError | None = None

    @property
    def ok(self) -> bool:
        """Whether the server confirmed the write."""
        return self.action != "failed"

    @property
    def outcome_unknown(self) -> bool:
        """Whether the write, though not confirmed, may have happened or may still happen.

        Its request was sent without an answer (or an attempt failed after it may have taken
        effect): it may land later, so check the listing's update time before writing
        another value to this secret. The error says so too.
        """
        return self.error is not None and self.error.outcome_unknown


# What to check before writing again when a write's outcome is unknown (it may land late).
_WRITE_ADVICE = (
    "Before writing another value, check the listing (the secret's update time) to see "
    "whether it landed."
)
_DELETE_ADVICE = "Before creating it again, check the listing to see whether it is gone."
_RESTART_ADVICE = (
    "Check the game servers before restarting again: a second restart would disconnect the "
    "players of the servers the first one started."
)


def _parse_time(value: object) -> datetime | None:
    """Parse an RFC 3339 timestamp (any fraction length, ``Z`` or offset) to aware UTC."""
    if not isinstance(value, str):
        return None
    match = re.fullmatch(
        r"(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(\.\d+)?([Zz]|[+-]\d{2}:?\d{2})?",
        value.strip(),
    )
    if match is None:
        return None
    day, clock, fraction, zone = match.groups()
    # datetime keeps microseconds; .NET writes up to seven fractional digits.
    fraction = (fraction or "")[:7]
    zone = "+00:00" if zone in (None, "Z", "z") else zone
    try:
        return datetime.fromisoformat(f"{day}T{clock}{fraction}{zone}").astimezone(UTC)
    except ValueError:
        return None


def _secret_info(item: object, *, secret_id: str = "", domain: str | None = None) -> SecretInfo:
    """Build a :class:`SecretInfo` from a response item; both timestamp spellings work.

    ``secret_id`` and ``domain`` fill in for a write whose response carried no item.
    """
    data: Mapping[str, Any] = item if isinstance(item, Mapping) else {}
    found_id = data.get("id")
    found_domain = data.get("domain", domain)
    key_id = data.get("key_id")
    return SecretInfo(
        id=found_id if isinstance(found_id, str) and found_id else secret_id,
        domain=found_domain if isinstance(found_domain, str) and found_domain else None,
        key_id=str(key_id) if isinstance(key_id, (str, int)) and key_id != "" else None,
        create_time=_parse_time(
            data.get("create_time", data.get("created", data.get("createTime")))
        ),
        update_time=_parse_time(
            data.get("update_time", data.get("updated", data.get("updateTime")))
        ),
    )


def _check_rate_limit(rate_limit: object) -> None:
    """Raise unless ``rate_limit`` is None or ``(requests >= 1, window_seconds > 0)``."""
    if rate_limit is None:
        return
    if isinstance(rate_limit, tuple) and len(rate_limit) == 2:
        limit, window = rate_limit
        numbers = all(
            isinstance(n, (int, float)) and not isinstance(n, bool) for n in (limit, window)
        )
        if numbers and limit >= 1 and 0 < window < float("inf"):
            return
    raise InvalidInputError(
        "Invalid rate_limit: give (requests, window_seconds), such as (120, 60.0), "
        "with at least 1 request per positive window; or None."
    )


def _names_key_id(detail: str | None) -> bool:
    """Whether a 400's detail blames the key id (the key was rotated since we fetched it)."""
    if not detail:
        return False
    lowered = detail.lower()
    return "key_id" in lowered or "key id" in lowered or "keyid" in lowered


class SecretsClient(RestartMethods):
    """Reads and writes one universe's secrets through Open Cloud.

    Parameters
    ----------
    universe_id:
        The experience's Universe ID (``int`` or a string of digits).
    api_key, oauth_token:
        The credential; at most one. Defaults to ``RBX_API_KEY``, then ``RBX_OAUTH_TOKEN``.
        An API key needs the ``secret-store`` API system with read and write for the universe.
    base_url:
        Defaults to ``RBX_OPEN_CLOUD_URL``, then ``https://apis.roblox.com``. Plain
        ``http://`` is accepted only for loopback addresses.
    session:
        A ``requests.Session`` to use (reused for keep-alive). When its adapter for the base
        URL is a stock ``HTTPAdapter``, the client mounts its own for that URL only, which
        never retries by itself, never prints ``http.client`` debug output, and holds each
        request to ``timeout`` as a whole. A custom adapter (such as ``fakeserver``'s
        ``fake.mount``, or a caller's ``HTTPAdapter`` subclass) is left in place: every retry
        is still the client's own, but the client cannot reach that adapter's connections.
        If it talks through ``http.client`` and ``http.client.HTTPConnection.debuglevel`` is
        above 0, it would print the API key, so the client refuses to send
        (:class:`~rbxsecrets_magic.errors.InvalidInputError`): turn debug output off, or let
        the client use its own adapter for the base URL. Such an adapter also bounds each
        read by ``timeout`` rather than the whole request.
    timeout:
        Seconds one attempt of a request may take in all: connecting, sending and reading
        the whole answer, however slowly the server sends it.
    rate_limit:
        ``(requests, window_seconds)`` to pace to until the server's ``x-ratelimit-*``
        headers say otherwise; ``None`` to pace only when the server sends them. Not used
        when ``pacer`` is given.
    max_retries:
        Retries per request after a 429, a 5xx or a dropped connection. A write whose
        request may still be in flight (sent, then no answer) is never sent again: it is
        reported with ``outcome_unknown``, since a late copy landing after a newer write
        would undo that write. A refused connection to loopback is final at once.
    pacer:
        A :class:`~rbxsecrets_magic.pacing.Pacer` to share with other clients. Roblox's rate
        limit is per API key owner, not per universe: clients for several universes that use
        one credential should share one pacer, e.g.
        ``Pacer((120, 60.0))``, so that together they stay within it; they then share the
        restart limit's bucket too (see :meth:`Pacer.sibling`). ``None``: a pacer of this
        client's own, built from ``rate_limit``, ``clock`` and ``sleep``.
    clock, sleep:
        Monotonic time source and sleep function used for pacing and waits (for tests).

    Raises
    ------
    InvalidInputError
        For an invalid universe id, a missing or malformed credential, or an unsafe URL.

    Examples
    --------
    >>> client = SecretsClient(6930499524)          # doctest: +SKIP
    >>> client.set("stripe_key", value, domain="*.stripe.com").action   # doctest: +SKIP
    'created'
    """

    def __init__(
        self,
        universe_id: int | str,
        *,
        api_key: str | None = None,
        oauth_token: str | None = None,
        base_url: str | None = None,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        rate_limit: tuple[int, float] | None = DEFAULT_RATE_LIMIT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        pacer: Pacer | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """Validate the configuration; nothing is sent until the first call."""
        self.universe_id = validate_universe_id(universe_id)
        credential = pick_credential(api_key, oauth_token)
        url = check_base_url(chosen_base_url(base_url))
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InvalidInputError("Invalid timeout: give a positive number of seconds.")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise InvalidInputError("Invalid max_retries: give a whole number, 0 or more.")
        _check_rate_limit(rate_limit)
        if pacer is not None and not isinstance(pacer, Pacer):
            raise InvalidInputError(
                "Invalid pacer: give a rbxsecrets_magic.Pacer to share between clients, or None."
            )
        shared = pacer if pacer is not None else Pacer(rate_limit, clock=clock, sleep=sleep)
        self._sender = Sender(
            base_url=url,
            credential=credential,
            session=session,
            universe_id=self.universe_id,
            timeout=float(timeout),
            max_retries=max_retries,
            pacer=shared,
            sleep=sleep,
        )
        self._request = self._sender.request
        # Restarts have their own rate limit (30/min per key owner), so their own bucket, on
        # the same session; a sibling of the shared pacer, so clients sharing one share it too.
        self._restart_sender = Sender(
            base_url=url,
            credential=credential,
            session=self._sender.session,
            universe_id=self.universe_id,
            timeout=float(timeout),
            max_retries=max_retries,
            pacer=shared.sibling("restart_servers", RESTART_RATE_LIMIT),
            sleep=sleep,
        )
        # Server Management: 100/min per key owner, one more sibling bucket.
        self._server_management = ServerManagement(
            Sender(
                base_url=url,
                credential=credential,
                session=self._sender.session,
                universe_id=self.universe_id,
                timeout=float(timeout),
                max_retries=max_retries,
                pacer=shared.sibling("server_management", SERVER_MANAGEMENT_RATE_LIMIT),
                sleep=sleep,
            ),
            self.universe_id,
            clock=clock,
            sleep=sleep,
            parse_time=_parse_time,
        )
        self._path = f"/cloud/v2/universes/{self.universe_id}/secrets"
        self._key: PublicKey | None = None
        self._key_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        """The Open Cloud base URL requests go to, without a trailing slash."""
        return self._sender.base_url

    def __repr__(self) -> str:
        """Show the universe, URL and kind of credential, never the credential."""
        return (
            f"SecretsClient(universe_id={self.universe_id}, base_url={self.base_url!r}, "
            f"credential={self._sender.credential!r})"
        )

    def close(self) -> None:
        """Close the session if the client created it."""
        self._sender.close()

    def __enter__(self) -> Self:
        """Use the client as a context manager that closes its session."""
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Close the session if the client created it."""
        self.close()

    # -- API operations -------------------------------------------------------------------

    def public_key(self) -> PublicKey:
        """Fetch the universe's public key (and remember it for sealing).

        Raises
        ------
        ApiError, TransportError
            When Roblox refuses or cannot be reached.
        """
        with self._key_lock:
            self._key = self._fetch_key()
            return self._key

    def list(self, *, page_size: int = MAX_PAGE_SIZE) -> list[SecretInfo]:
        """Return the metadata of every secret in the universe, following all pages.

        Parameters
        ----------
        page_size:
            Secrets per request, 1-500.

        Raises
        ------
        ApiError, TransportError
            When Roblox refuses or cannot be reached.
        """
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise InvalidInputError(
                f"Invalid page_size: give a whole number from 1 to {MAX_PAGE_SIZE}."
            )
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise InvalidInputError(f"Invalid page_size {page_size}: give 1 to {MAX_PAGE_SIZE}.")
        doing = f"listing secrets in universe {self.universe_id}"
        found: list[SecretInfo] = []
        cursor: str | None = None
        seen: set[str] = set()
        # A universe holds at most MAX_SECRETS: that many pages, and an empty last one.
        max_pages = -(-MAX_SECRETS // page_size) + 1
        for _ in range(max_pages):
            params: dict[str, str | int] = {"limit": page_size}
            if cursor:
                params["cursor"] = cursor
            call = Call("GET", self._path, doing, params=params)
            items, next_cursor = self._page(call, self._request(call))
            found.extend(items)
            if next_cursor is None:
                return found
            if next_cursor in seen:
                raise self._sender.unexpected(call, "the listing repeated a page cursor")
            seen.add(next_cursor)
            cursor = next_cursor
        raise self._sender.unexpected(
            call,
            f"the listing did not end after {max_pages} pages of {page_size}, more than "
            f"{MAX_SECRETS} secrets can fill",
        )

    def _page(self, call: Call, body: Any) -> tuple[builtins.list[SecretInfo], str | None]:
        """The secrets and next cursor of one page of a listing, or an error for any other
        shape (``{"secrets": 5}``, an item without an id, an HTML page)."""
        if not isinstance(body, Mapping):
            raise self._sender.unexpected(call, "a page of the listing is not a JSON object")
        items = body.get("secrets")
        if items is None:
            items = []
        if not isinstance(items, builtins.list):
            raise self._sender.unexpected(call, "'secrets' is not a list")
        if any(
            not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]
            for item in items
        ):
            raise self._sender.unexpected(call, "an item of 'secrets' is not a secret with an id")
        next_cursor = body.get("nextPageCursor")
        if next_cursor is not None and not isinstance(next_cursor, str):
            raise self._sender.unexpected(call, "'nextPageCursor' is not a string")
        return [_secret_info(item) for item in items], next_cursor or None

    def create(
        self, secret_id: str, value: str | bytes, *, domain: str | None = None
    ) -> SecretInfo:
        """Create a secret; fail if one with that id exists.

        Parameters
        ----------
        secret_id:
            1-64 ASCII letters, digits or underscores, not starting with a digit.
        value:
            1-1,024 characters; sealed with the universe's public key before sending.
        domain:
            ``"*"``, ``"*.example.com"`` or ``"api.example.com"``; ``None`` or ``""`` for a
            private secret.

        Raises
        ------
        InvalidInputError
            Before sending, for an invalid id, value or domain.
        ConflictError
            If the secret exists (:meth:`set` updates it instead).
        ApiError, TransportError
            When Roblox refuses or cannot be reached.
        """
        secret_id = validate_secret_id(secret_id)
        text = validate_value(value)
        domain = validate_domain(domain)
        body = self._create(secret_id, text, domain)
        return _secret_info(body, secret_id=secret_id, domain=domain)

    def update(
        self, secret_id: str, value: str | bytes | None = None, *, domain: str | None = None
    ) -> SecretInfo:
        """Change an existing secret's value, domain, or both.

        Parameters
        ----------
        secret_id:
            The secret to change.
        value:
            The new value; ``None`` keeps the current one.
        domain:
            The new domain; ``None`` keeps the current one and ``""`` makes it private.

        Raises
        ------
        InvalidInputError
            Before sending, for an invalid id, value or domain, or nothing to change.
        NotFoundError
            If the secret does not exist.
        ApiError, TransportError
            When Roblox refuses or cannot be reached.
        """
        secret_id = validate_secret_id(secret_id)
        text = validate_value(value) if value is not None else None
        domain = validate_domain(domain)
        if text is None and domain is None:
            raise InvalidInputError("Nothing to update: pass a new value, a domain, or both.")
        body = self._update(secret_id, text, domain)
        return _secret_info(body, secret_id=secret_id, domain=domain)

    def delete(self, secret_id: str) -> None:
        """Delete a secret.

        Raises
        ------
        NotFoundError
            If the secret does not exist.
        ApiError, TransportError
            When Roblox refuses or cannot be reached.
        """
        secret_id = validate_secret_id(secret_id)
        call = Call(
            "DELETE",
            f"{self._path}/{secret_id}",
            self._doing("deleting", secret_id),
            write=True,
            advice=_DELETE_ADVICE,
        )
        try:
            self._written(call, self._request(call), secret_id)
        except NotFoundError as err:
            # A 404 after an attempt that got no answer means that attempt deleted it.
            if not err.outcome_unknown:
                raise

    def restart_servers(
        self,
        *,
        place_ids: Iterable[int | str] | None = None,
        bleed_off_minutes: int | None = None,
    ) -> None:
        """Restart the universe's game servers, so that they load the secrets as they are now.

        Running servers keep the secrets they started with; only a restart brings a change to
        them. The request always sends ``closeAllVersions: true``: without it Roblox restarts
        only servers running an older version of their place, and a secrets change publishes
        no version, so such a restart silently restarts nothing.

        Parameters
        ----------
        place_ids:
            Restart only these places' servers; ``None`` (default) restarts every place.
        bleed_off_minutes:
            Let old servers run for 1 to 60 minutes, taking no new players, before they shut
            down; ``None`` (default) shuts them down at once. 0 is invalid.

        Restarting has a rate limit of its own (30 per minute per key owner), paced separately
        from the secret-store calls, in one bucket for every client that shares this one's
        ``pacer``. It needs the *universe* API system with write permission
        (OAuth scope ``universe:write``), which the secret-store permissions do not include.

        Raises
        ------
        InvalidInputError
            For bad place ids or a bleed-off outside 1-60, before anything is sent.
        PermissionDeniedError
            When the credential lacks the universe write permission; the hint says so.
        ApiError, TransportError
            When Roblox refuses or cannot be reached. A 5xx or a lost answer is not retried,
            since a second restart would restart the new servers too: the error says the
            outcome is unknown instead. A 429 or a connection never made is retried.

        Examples
        --------
        >>> client.set("api_token", new_value)                  # doctest: +SKIP
        >>> client.restart_servers(bleed_off_minutes=10)        # doctest: +SKIP
        """
        places = validate_place_ids(place_ids)
        minutes = validate_bleed_off_minutes(bleed_off_minutes)
        body: dict[str, Any] = {"closeAllVersions": True}
        if places is not None:
            body["placeIds"] = list(places)
        if minutes is not None:
            body["bleedOffServers"] = True
            body["bleedOffDurationMinutes"] = minutes
        doing = f"restarting the servers of universe {self.universe_id}"
        # Not repeatable: a second restart after one that may have happened would restart the
        # servers that replaced the first round, disconnecting their players again.
        call = Call(
            "POST",
            f"/cloud/v2/universes/{self.universe_id}:restartServers",
            doing,
            write=True,
            body=body,
            repeatable=False,
            advice=_RESTART_ADVICE,
        )
        denied: PermissionDeniedError | None = None
        try:
            self._restart_sender.request(call)
        except PermissionDeniedError as err:
            denied = err
        if denied is not None:
            # The generic 403 hint names the secret-store permissions, which are not the ones.
            raise PermissionDeniedError(
                denied.status,
                denied.detail,
                doing=denied.doing,
                hint=PermissionDeniedError.restart_hint(self.universe_id),
                outcome_unknown=denied.outcome_unknown,
                server=denied.server,
            )

    # -- upsert and bulk ------------------------------------------------------------------

    def set(
        self,
        secret_id: str,
        value: str | bytes,
        *,
        domain: str | None = None,
        exists: bool | None = None,
    ) -> SetResult:
        """Create the secret, or update it if it exists; report which.

        A domain of ``None`` leaves an existing secret's domain alone (and creates a private
        one); ``""`` makes it private; anything else sets it. ``exists`` is a hint, e.g. from
        an earlier listing: ``True`` tries the update first, saving the request a create
        would spend on a 409. A wrong hint costs one request, never a wrong result.

        Returns
        -------
        SetResult
            With ``action`` ``"created"`` or ``"updated"``.

        Raises
        ------
        InvalidInputError
            Before sending, for an invalid id, value or domain.
        ApiError, TransportError
            When Roblox refuses or cannot be reached.
        """
        secret_id = validate_secret_id(secret_id)
        text = validate_value(value)
        domain = validate_domain(domain)
        return self._upsert(secret_id, text, domain, exists=exists)

    def set_many(  # noqa: C901 - one fan-out whose steps share the fatal-error stop
        self,
        values: Mapping[str, str | bytes],
        *,
        domain: str | None = None,
        concurrency: int = 1,
        progress: Callable[[SetResult], None] | None = None,
    ) -> builtins.list[SetResult]:
        """Set many secrets: list once, fetch the key once, pace to the rate limit.

        Each secret gets a result; a failure does not stop the others (except that after a
        401, a 403, a 429 that waiting did not cure, or a rate limit too slow to wait for,
        the rest fail with the same error unsent, since they would too). A secret whose
        write may still be in flight is ``"failed"`` with ``outcome_unknown`` set: it was
        not sent again.

        Parameters
        ----------
        values:
            Secret ids mapped to values.
        domain:
            As in :meth:`set`, applied to every secret.
        concurrency:
            Requests in flight at once (1-16). Pacing still holds the total to the rate
            limit, so more threads help only when the limit allows more than one connection
            can carry.
        progress:
            Called with each :class:`SetResult` as it completes, in the caller's thread.

        Returns
        -------
        list[SetResult]
            One per secret, in the order of ``values``.

        Raises
        ------
        InvalidInputError
            For an invalid domain or concurrency (invalid ids and values fail per secret).
        ApiError, TransportError
            If listing the secrets or fetching the public key fails.
        """
        domain = validate_domain(domain)
        if isinstance(concurrency, bool) or not isinstance(concurrency, int):
            raise InvalidInputError(
                f"Invalid concurrency: give a whole number from 1 to {MAX_CONCURRENCY}."
            )
        if not 1 <= concurrency <= MAX_CONCURRENCY:
            raise InvalidInputError(
                f"Invalid concurrency {concurrency}: give 1 to {MAX_CONCURRENCY}."
            )
        order = list(values)
        results: dict[str, SetResult] = {}

        def record(result: SetResult) -> None:
            results[result.secret_id] = result
            if progress is not None:
                progress(result)

        todo: list[tuple[str, str]] = []
        for secret_id, value in values.items():
            try:
                todo.append((validate_secret_id(secret_id), validate_value(value)))
            except InvalidInputError as err:
                record(SetResult(secret_id, "failed", error=err))
        if not todo:
            return [results[secret_id] for secret_id in order]

        existing = {info.id for info in self.list()}
        self._current_key()
        fatal: list[RbxSecretsError] = []

        def run(secret_id: str, text: str) -> SetResult:
            if fatal:
                return SetResult(secret_id, "failed", error=fatal[0])
            try:
                return self._upsert(secret_id, text, domain, exists=secret_id in existing)
            except (
                AuthenticationError,
                PermissionDeniedError,
                RateLimitedError,
                WaitTooLongError,
            ) as err:
                fatal.append(err)
                return SetResult(secret_id, "failed", error=err)
            except RbxSecretsError as err:
                return SetResult(secret_id, "failed", error=err)

        if concurrency == 1 or len(todo) == 1:
            for secret_id, text in todo:
                record(run(secret_id, text))
        else:
            pool = ThreadPoolExecutor(
                max_workers=min(concurrency, len(todo)), thread_name_prefix="rbxsecrets"
            )
            try:
                futures: list[Future[SetResult]] = [
                    pool.submit(run, secret_id, text) for secret_id, text in todo
                ]
                for future in as_completed(futures):
                    record(future.result())
            finally:
                # On an error or Ctrl-C, unsent secrets are dropped, not sent in the background.
                pool.shutdown(wait=True, cancel_futures=True)
        return [results[secret_id] for secret_id in order]

    def _upsert(
        self, secret_id: str, text: str, domain: str | None, *, exists: bool | None
    ) -> SetResult:
        """Create or update one validated secret.

        ``exists`` is what a listing said (None: unknown, so try creating first). A secret
        created or deleted by someone else in between only changes which write comes next.
        """
        use_update = bool(exists)
        ours = False
        for _ in range(4):
            if use_update:
                try:
                    body = self._update(secret_id, text, domain)
                except NotFoundError:
                    use_update = False
                    continue
                info = _secret_info(body, secret_id=secret_id, domain=domain)
                return SetResult(secret_id, "created" if ours else "updated", info)
            try:
                body = self._create(secret_id, text, domain)
            except ConflictError as err:
                # Listed as absent, then a 409 after a create attempt that failed with a 5xx
                # (it may have stored it): the secret is our own create, which the update
                # below only confirms. A create that may still be in flight never gets here:
                # it is not resent, its TransportError ends the upsert.
                ours = err.outcome_unknown and exists is False
                use_update = True
                continue
            info = _secret_info(body, secret_id=secret_id, domain=domain)
            return SetResult(secret_id, "created", info)
        raise ConflictError(
            409,
            None,
            doing=self._doing("setting", secret_id),
            hint="It kept being created and deleted meanwhile; is another client changing it?",
        )

    # -- writes ---------------------------------------------------------------------------

    def _create(self, secret_id: str, text: str, domain: str | None) -> Any:
        """POST a new secret; return the answer's body (a 409 raises ConflictError)."""

        def body(key: PublicKey) -> dict[str, str]:
            fields = {"id": secret_id, "secret": seal(text, key.key), "key_id": key.key_id}
            if domain:
                fields["domain"] = domain
            return fields

        return self._write("POST", self._path, self._doing("creating", secret_id), body, text)

    def _update(self, secret_id: str, text: str | None, domain: str | None) -> Any:
        """PATCH a secret's value and/or domain; return the body (a 404 raises NotFoundError).

        ``domain`` None is left out of the body, so the server keeps the current one.
        """

        def body(key: PublicKey | None) -> dict[str, str]:
            fields: dict[str, str] = {}
            if text is not None and key is not None:
                fields["secret"] = seal(text, key.key)
                fields["key_id"] = key.key_id
            if domain is not None:
                fields["domain"] = domain
            return fields

        return self._write(
            "PATCH", f"{self._path}/{secret_id}", self._doing("updating", secret_id), body, text
        )

    def _write(
        self,
        method: str,
        path: str,
        doing: str,
        make_body: Callable[[Any], dict[str, str]],
        text: str | None,
    ) -> Any:
        """Send a write; if it is rejected for its key_id, refetch the key and retry once.

        Returns the answer's body (``None`` when empty), checked to be the secret written.
        """
        secret_id = path.rpartition("/")[2] if method != "POST" else None

        def send(key: PublicKey | None) -> Any:
            body = make_body(key)
            redact = (text, body.get("secret"))
            call = Call(
                method, path, doing, write=True, body=body, redact=redact, advice=_WRITE_ADVICE
            )
            return self._written(call, self._request(call), secret_id or body.get("id"))

        key = self._current_key() if text is not None else None
        try:
            return send(key)
        except BadRequestError as err:
            if key is None or not _names_key_id(err.detail):
                raise
            stale = key
        logger.info("key_id %s was refused while %s; fetching the key again", stale.key_id, doing)
        return send(self._refresh_key(stale))

    def _written(self, call: Call, body: Any, secret_id: str | None) -> Any:
        """``body`` if it can be the answer to a write of ``secret_id``, else an error.

        An empty answer is accepted (nothing to read); anything else must be a JSON object
        about that secret. An HTML page or another secret's item is never a success.
        """
        if body is None:
            return None
        if not isinstance(body, Mapping):
            raise self._sender.unexpected(call, "the answer to the write is not a JSON object")
        found = body.get("id")
        if found is not None and (not isinstance(found, str) or found != secret_id):
            raise self._sender.unexpected(call, "the answer to the write is about another secret")
        return body

    # -- public key cache -----------------------------------------------------------------

    def _current_key(self) -> PublicKey:
        """The cached public key, fetched on first use."""
        with self._key_lock:
            if self._key is None:
                self._key = self._fetch_key()
            return self._key

    def _refresh_key(self, stale: PublicKey) -> PublicKey:
        """Fetch the key again, unless another thread already replaced ``stale``."""
        with self._key_lock:
            if self._key is None or self._key.key_id == stale.key_id:
                self._key = self._fetch_key()
            return self._key

    def _fetch_key(self) -> PublicKey:
        """GET the public key (lock held by the caller)."""
        doing = f"getting the public key of universe {self.universe_id}"
        call = Call("GET", f"{self._path}/public-key", doing)
        body = self._request(call)
        data = body if isinstance(body, Mapping) else {}
        key, key_id = data.get("secret"), data.get("key_id")
        if not isinstance(key, str) or not isinstance(key_id, (str, int)) or key_id == "":
            raise self._sender.unexpected(call, "the public key answer lacks secret or key_id")
        try:
            raw = base64.b64decode(key, validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            raise self._sender.unexpected(call, "the public key is not 32 bytes of base64")
        return PublicKey(key_id=str(key_id), key=key)

    def _doing(self, verb: str, secret_id: str) -> str:
        """Describe an operation on one secret for messages."""
        return f"{verb} secret {secret_id!r} in universe {self.universe_id}"
