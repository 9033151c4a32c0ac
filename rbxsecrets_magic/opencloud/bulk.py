"""Setting many secrets at once: list once, fetch the key once, then one upsert each.

:meth:`SecretsClient.set_many <rbxsecrets_magic.opencloud.client.SecretsClient.set_many>`
calls :func:`set_many`. Each secret gets a :class:`~rbxsecrets_magic.opencloud.records.SetResult`;
after an error that would fail every other write too (a 401, a 403, a 429 waiting did not cure,
a rate limit too slow to wait for) the rest fail with it, unsent.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Protocol

from ..errors import (
    AuthenticationError,
    InvalidInputError,
    PermissionDeniedError,
    RateLimitedError,
    RbxSecretsError,
    WaitTooLongError,
)
from ..settings import MAX_CONCURRENCY
from .records import PublicKey, SecretInfo, SetResult
from .validation import validate_secret_id, validate_value

__all__ = ["Upserter", "check_concurrency", "set_many"]

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
