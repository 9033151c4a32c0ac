"""Applying a plan: write only what is not unchanged, delete only what the plan says, report each.

:func:`apply_plan` sends one request per ``create``, ``update`` and ``delete`` row, through the
clients the plan was made with (so the public keys fetched while planning are reused), and
records each successful write in the state at once, so a run interrupted half way keeps what it
finished. Each row ends ``done``, ``failed``, ``unknown`` (the client could not tell whether a
write happened; its state is then dropped, never recorded as applied) or ``skipped`` (nothing to
do, or not attempted after an error that would fail it too).

Asking before deletions is the caller's job (the command line and the magic do it), since only
the caller knows whether anyone can answer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import (
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    RbxSecretsError,
    WaitTooLongError,
)
from ..render.sync_view import render_html, render_text
from .plan import Change, Plan
from .state import StateStore

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient

__all__ = ["ApplyReport", "Outcome", "Result", "apply_plan"]

Result = Literal["done", "failed", "unknown", "skipped"]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What happened to one row of the plan.

    Attributes
    ----------
    change:
        The plan's row.
    result:
        ``done``, ``failed``, ``unknown`` or ``skipped``.
    error:
        Why it failed, is unknown or was skipped, in one line; None otherwise (or a note
        on a ``done`` row whose state could not be saved).
    """

    change: Change
    result: Result
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """The row as in ``rbx-secrets apply --json``."""
        return {**self.change.to_json(), "result": self.result, "error": self.error}


@dataclass
class ApplyReport:
    """Every row's outcome; renders as text and HTML, and as JSON rows."""

    plan: Plan
    outcomes: list[Outcome]

    @property
    def failed(self) -> list[Outcome]:
        """Rows that failed or whose outcome is unknown."""
        return [o for o in self.outcomes if o.result in ("failed", "unknown")]

    @property
    def ok(self) -> bool:
        """Whether every row is done or had nothing to do."""
        return not self.failed

    def counts(self) -> dict[str, int]:
        """How many rows ended with each result."""
        counts = dict.fromkeys(("done", "failed", "unknown", "skipped"), 0)
        for outcome in self.outcomes:
            counts[outcome.result] += 1
        return counts

    def summary(self) -> str:
        """One line: ``Applied: 3 done, 0 failed, 0 unknown, 5 skipped.``"""
        n = self.counts()
        return (
            f"Applied: {n['done']} done, {n['failed']} failed, {n['unknown']} unknown, "
            f"{n['skipped']} skipped."
        )

    def to_json(self) -> dict[str, object]:
        """``{"changes": [{"universe", "id", "action", "reason", "result", "error"}]}``."""
        return {"changes": [o.to_json() for o in self.outcomes]}

    def _results(self) -> dict[int, tuple[str, str]]:
        return {i: (o.result, o.error or "") for i, o in enumerate(self.outcomes)}

    def __repr__(self) -> str:
        """The report as aligned text."""
        rows = [o.change for o in self.outcomes]
        return render_text(self.plan.targets, rows, self.summary(), self._results())

    def _repr_pretty_(self, p: object, cycle: bool) -> None:
        p.text(repr(self))  # type: ignore[attr-defined]

    def _repr_html_(self) -> str:
        """The report as an HTML table (Jupyter)."""
        rows = [o.change for o in self.outcomes]
        return render_html(self.plan.targets, rows, self.summary(), self._results())


def apply_plan(
    plan: Plan,
    clients: Mapping[int, SecretsClient],
    state: StateStore,
    *,
    progress: Callable[[Outcome], None] | None = None,
) -> ApplyReport:
    """Send the plan's writes and deletions, recording each success in ``state`` at once.

    A failure fails its row only, except that after a 401 or a 429 that waiting did not cure
    every later write is skipped unsent (it would fail the same way; the key and the rate
    limit are shared by all universes), and after a 403 the rest of that universe is.

    Parameters
    ----------
    plan:
        From :func:`~rbxsecrets_magic.secrets_as_code.plan.make_plan` with the same ``clients``.
    clients:
        The clients the plan was made with, by universe id (ideally sharing one pacer).
    state:
        Where successful writes are recorded.
    progress:
        Called with each write's :class:`Outcome` as it completes.
    """
    outcomes: list[Outcome] = []
    fatal: str | None = None
    denied: dict[int, str] = {}
    for change in plan.changes:
        if not change.writes:
            outcomes.append(_without_request(change))
            continue
        stop = fatal or denied.get(change.universe)
        if stop is not None:
            outcome = Outcome(change, "skipped", f"not attempted: {stop}")
        else:
            try:
                outcome = _write(plan, change, clients[change.universe], state)
            except (AuthenticationError, RateLimitedError, WaitTooLongError) as err:
                fatal = str(err)
                outcome = Outcome(change, "failed", str(err))
            except PermissionDeniedError as err:
                denied[change.universe] = str(err)
                outcome = Outcome(change, "failed", str(err))
            except RbxSecretsError as err:
                unknown = err.outcome_unknown
                if unknown and change.action != "delete":
                    _forget(state, plan.api, change)
                outcome = Outcome(change, "unknown" if unknown else "failed", str(err))
        outcomes.append(outcome)
        if progress is not None:
            progress(outcome)
    return ApplyReport(plan, outcomes)


def _forget(state: StateStore, api: str, change: Change) -> None:
    # Not safety-critical: a stale record of a secret rewritten since no longer matches its
    # update_time, so the next plan updates it either way.
    with contextlib.suppress(OSError):
        state.forget(api, change.universe, change.id)


def _without_request(change: Change) -> Outcome:
    if change.action == "error":
        return Outcome(change, "failed", change.reason)
    return Outcome(change, "skipped")


def _write(plan: Plan, change: Change, client: SecretsClient, state: StateStore) -> Outcome:
    """Send one row's request; raises the client's errors."""
    if change.action == "delete":
        with contextlib.suppress(NotFoundError):  # gone already: what the plan wanted
            client.delete(change.id)
        _forget(state, plan.api, change)
        return Outcome(change, "done")
    value = plan.value_for(change.universe, change.id).reveal()
    exists = (change.universe, change.id) in plan.listed
    result = client.set(change.id, value, domain=change.domain, exists=exists)
    if not result.ok or result.info is None:
        error = str(result.error) if result.error is not None else "the write failed"
        return Outcome(change, "failed", error)
    info = result.info
    try:
        state.record(
            plan.api,
            change.universe,
            change.id,
            value,
            domain=info.domain,
            key_id=info.key_id,
            update_time=info.update_time,
        )
    except OSError as exc:  # a StateError names the path and the reason
        reason = str(exc) or type(exc).__name__
        return Outcome(change, "done", f"written, but not recorded in the state: {reason}")
    return Outcome(change, "done")
