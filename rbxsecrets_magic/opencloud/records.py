"""What the client returns, never a value: records of secrets and keys, and set_many's results.

:class:`PublicKey`, :class:`SecretInfo` and :class:`SetResult` are public (re-exported by
``rbxsecrets_magic``); :func:`secret_info`, :func:`page_from` and :func:`public_key_from` read
them from answers. :func:`set_many` is the fan-out behind
:meth:`SecretsClient.set_many <rbxsecrets_magic.opencloud.client.SecretsClient.set_many>`: list
once, fetch the key once, then one upsert per secret, each ending in a :class:`SetResult`; after
an error that would fail every other write too (a 401, a 403, a 429 waiting did not cure, a rate
limit too slow to wait for) the rest fail with it, unsent.
"""

from __future__ import annotations

import base64
import binascii
import builtins
import re
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

from ..errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
    RateLimitedError,
    RbxSecretsError,
    WaitTooLongError,
)
from ..settings import MAX_CONCURRENCY
from .validation import validate_secret_id, validate_value

__all__ = [
    "PublicKey",
    "SecretInfo",
    "SetResult",
    "Upserter",
    "check_concurrency",
    "page_from",
    "parse_time",
    "public_key_from",
    "secret_info",
    "set_many",
    "write_problem",
]


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


def parse_time(value: object) -> datetime | None:
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


def secret_info(item: object, *, secret_id: str = "", domain: str | None = None) -> SecretInfo:
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
        create_time=parse_time(
            data.get("create_time", data.get("created", data.get("createTime")))
        ),
        update_time=parse_time(
            data.get("update_time", data.get("updated", data.get("updateTime")))
        ),
    )


def page_from(body: object) -> tuple[list[SecretInfo], str | None] | str:
    """The secrets and next cursor of one page of a listing, else what is wrong with it.

    Any other shape (``{"secrets": 5}``, an item without an id, an HTML page) is refused.
    """
    if not isinstance(body, Mapping):
        return "a page of the listing is not a JSON object"
    items = body.get("secrets")
    if items is None:
        items = []
    if not isinstance(items, list):
        return "'secrets' is not a list"
    if any(
        not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"]
        for item in items
    ):
        return "an item of 'secrets' is not a secret with an id"
    next_cursor = body.get("nextPageCursor")
    if next_cursor is not None and not isinstance(next_cursor, str):
        return "'nextPageCursor' is not a string"
    return [secret_info(item) for item in items], next_cursor or None


def public_key_from(body: object) -> PublicKey | str:
    """The public key an answer holds, else what is wrong with it."""
    data = body if isinstance(body, Mapping) else {}
    key, key_id = data.get("secret"), data.get("key_id")
    if not isinstance(key, str) or not isinstance(key_id, (str, int)) or key_id == "":
        return "the public key answer lacks secret or key_id"
    try:
        raw = base64.b64decode(key, validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != 32:
        return "the public key is not 32 bytes of base64"
    return PublicKey(key_id=str(key_id), key=key)


def write_problem(body: object, secret_id: str | None) -> str | None:
    """What is wrong with ``body`` as the answer to a write of ``secret_id``; None if nothing.

    An empty answer is accepted (nothing to read); anything else must be a JSON object about
    that secret. An HTML page or another secret's item is never a success.
    """
    if body is None:
        return None
    if not isinstance(body, Mapping):
        return "the answer to the write is not a JSON object"
    found = body.get("id")
    if found is not None and (not isinstance(found, str) or found != secret_id):
        return "the answer to the write is about another secret"
    return None


# ------------------------------------------------------------------------- set_many

#: Errors after which every other write would fail too: the rest are not sent.
FATAL = (AuthenticationError, PermissionDeniedError, RateLimitedError, WaitTooLongError)


class Upserter(Protocol):
    """What :func:`set_many` needs of a client (a ``SecretsClient`` has it)."""

    def list(self) -> builtins.list[SecretInfo]: ...

    def _current_key(self) -> PublicKey: ...

    def _upsert(
        self, secret_id: str, text: str, domain: str | None, *, exists: bool | None
    ) -> SetResult: ...


def check_concurrency(concurrency: object) -> int:
    """``concurrency`` as requests in flight at once, 1 to ``MAX_CONCURRENCY``, else raise."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int):
        raise InvalidInputError(
            f"Invalid concurrency: give a whole number from 1 to {MAX_CONCURRENCY}."
        )
    if not 1 <= concurrency <= MAX_CONCURRENCY:
        raise InvalidInputError(f"Invalid concurrency {concurrency}: give 1 to {MAX_CONCURRENCY}.")
    return concurrency


def set_many(
    client: Upserter,
    values: Mapping[str, str | bytes],
    *,
    domain: str | None,
    concurrency: int,
    progress: Callable[[SetResult], None] | None,
) -> builtins.list[SetResult]:
    """One result per secret of ``values``, in its order (``domain`` already validated)."""
    results: dict[str, SetResult] = {}

    def record(result: SetResult) -> None:
        results[result.secret_id] = result
        if progress is not None:
            progress(result)

    todo = _validated(values, record)
    if todo:
        existing = {info.id for info in client.list()}
        client._current_key()
        _fan_out(_runner(client, domain, existing), todo, concurrency, record)
    return [results[secret_id] for secret_id in values]


def _validated(
    values: Mapping[str, str | bytes], record: Callable[[SetResult], None]
) -> builtins.list[tuple[str, str]]:
    """The valid ids and values; each invalid one is recorded as failed, unsent."""
    todo: builtins.list[tuple[str, str]] = []
    for secret_id, value in values.items():
        try:
            todo.append((validate_secret_id(secret_id), validate_value(value)))
        except InvalidInputError as err:
            record(SetResult(secret_id, "failed", error=err))
    return todo


def _runner(
    client: Upserter, domain: str | None, existing: set[str]
) -> Callable[[str, str], SetResult]:
    """One upsert per call; after a fatal error, every later call fails with it, unsent."""
    fatal: builtins.list[RbxSecretsError] = []

    def run(secret_id: str, text: str) -> SetResult:
        if fatal:
            return SetResult(secret_id, "failed", error=fatal[0])
        try:
            return client._upsert(secret_id, text, domain, exists=secret_id in existing)
        except FATAL as err:
            fatal.append(err)
            return SetResult(secret_id, "failed", error=err)
        except RbxSecretsError as err:
            return SetResult(secret_id, "failed", error=err)

    return run


def _fan_out(
    run: Callable[[str, str], SetResult],
    todo: builtins.list[tuple[str, str]],
    concurrency: int,
    record: Callable[[SetResult], None],
) -> None:
    """Run every item, ``concurrency`` at once; results are recorded in the caller's thread."""
    if concurrency == 1 or len(todo) == 1:
        for secret_id, text in todo:
            record(run(secret_id, text))
        return
    pool = ThreadPoolExecutor(
        max_workers=min(concurrency, len(todo)), thread_name_prefix="rbxsecrets"
    )
    try:
        futures: builtins.list[Future[SetResult]] = [
            pool.submit(run, secret_id, text) for secret_id, text in todo
        ]
        for future in as_completed(futures):
            record(future.result())
    finally:
        # On an error or Ctrl-C, unsent secrets are dropped, not sent in the background.
        pool.shutdown(wait=True, cancel_futures=True)
