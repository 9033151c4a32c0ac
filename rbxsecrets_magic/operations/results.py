"""The typed results of the operations: one row per secret written, and what a run did.

Rows hold ids, actions, results and one-line errors; never a value (a set keeps only the
value's length). Each front end words and renders them (:mod:`rbxsecrets_magic.render`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from ..opencloud.client import SecretInfo
    from ..secrets_as_code.manifest import Target
    from .rollout import RestartOutcome

__all__ = ["Result", "WriteReport", "WriteRow"]

#: ``done``, ``failed`` (not made), ``unknown`` (sent without an answer: it may have been
#: made) or ``skipped`` (nothing to do: a missing secret with missing-ok).
Result = Literal["done", "failed", "unknown", "skipped"]


@dataclass(frozen=True)
class WriteRow:
    """What happened to one secret in one universe.

    Attributes
    ----------
    target:
        The universe, with its environment name when the manifest gives one.
    id:
        The secret.
    action:
        ``created``, ``updated`` or ``set`` (not known which: it failed) for a set;
        ``delete`` for a deletion.
    result:
        See :data:`Result`.
    error:
        The one-line reason when not done; ``"not found"`` for a skipped deletion.
    exc:
        The error itself, for a front end that words it in its own terms.
    info:
        The secret's metadata after a set, when the server returned it.
    length:
        The value's length in characters (sets only).
    """

    target: Target
    id: str
    action: str
    result: Result
    error: str | None = None
    exc: Exception | None = field(default=None, compare=False, repr=False)
    info: SecretInfo | None = None
    length: int = 0

    @property
    def universe(self) -> int:
        """The universe id."""
        return self.target.universe_id

    def to_json(self) -> dict[str, object]:
        """The row as in ``rbx-secrets --json``."""
        return {
            "universe": self.universe,
            "environment": self.target.environment,
            "id": self.id,
            "action": self.action,
            "result": self.result,
            "error": self.error,
        }


@dataclass(frozen=True)
class WriteReport:
    """The rows of a set or delete, and the restarts that followed (``--restart``).

    Attributes
    ----------
    rows:
        One per secret and universe, in order.
    restarts:
        One per universe restarted.
    notes:
        Why a universe was not restarted (a write failed there, or nothing changed).
    """

    rows: list[WriteRow]
    restarts: list[RestartOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[WriteRow]:
        """The rows not made for sure: failed, or with an unknown outcome."""
        return [row for row in self.rows if row.result in ("failed", "unknown")]

    @property
    def ok(self) -> bool:
        """Whether every write and every restart was done (or had nothing to do)."""
        return not self.failed and all(r.result == "done" for r in self.restarts)

    def to_json(self) -> dict[str, object]:
        """``{"results": [...], "restarts": [...]}`` (restarts only when there were any)."""
        document: dict[str, object] = {"results": [row.to_json() for row in self.rows]}
        if self.restarts:
            document["restarts"] = [outcome.to_json() for outcome in self.restarts]
        return document
