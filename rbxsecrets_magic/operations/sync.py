"""Plan and apply: secrets as code, with the same confirmation rules as every other write.

:func:`plan` lists each universe once and classifies every secret; :func:`apply` confirms
the plan's deletions (:func:`~.interaction.confirm`) and, with a restart, the restart, both
before the first write; then it writes with a progress bar and restarts each universe
whose changes were all done.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .interaction import Interaction, confirm
from .writes import RestartRequest, prepare_restart, restart_after

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..secrets_as_code.apply import ApplyReport, Outcome
    from ..secrets_as_code.desired import DesiredState
    from ..secrets_as_code.manifest import Target
    from ..secrets_as_code.plan import Plan
    from ..secrets_as_code.state import StateStore
    from .rollout import RestartOutcome

__all__ = ["SyncReport", "apply", "plan", "sync_results"]


@dataclass(frozen=True)
class SyncReport:
    """What an apply did: the apply report, and the restarts that followed."""

    plan: Plan
    report: ApplyReport
    restarts: list[RestartOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def failed(self) -> list[Outcome]:
        """The changes that failed or have an unknown outcome."""
        return self.report.failed

    @property
    def ok(self) -> bool:
        """Whether every change and every restart was done."""
        return self.report.ok and all(r.result == "done" for r in self.restarts)

    def to_json(self) -> dict[str, object]:
        """The apply report's document, plus the restarts."""
        document = self.report.to_json()
        if self.restarts:
            document["restarts"] = [outcome.to_json() for outcome in self.restarts]
        return document


def plan(
    desired: DesiredState,
    clients: Mapping[int, SecretsClient],
    state: StateStore,
    *,
    prune: bool = False,
    protect: Sequence[str] = (),
) -> Plan:
    """List each target once, fetch its key once, and classify every secret (no writes).

    A state that cannot be used is one of the plan's notes (it names its own path), for every
    front end to say.
    """
    from dataclasses import replace

    from ..secrets_as_code.plan import make_plan

    made = make_plan(desired, clients, state, prune=prune, protect=protect)
    if state.problem:
        note = f"{state.problem}; values cannot be verified"
        made = replace(made, notes=(note, *made.notes))
    return made


def _universes_changed(planned: Plan) -> list[Target]:
    pending = {change.universe for change in planned.pending}
    return [t for t in planned.targets if t.universe_id in pending]


def apply(
    planned: Plan,
    clients: Mapping[int, SecretsClient],
    state: StateStore,
    *,
    yes: bool = False,
    atomic: bool = False,
    restart: RestartRequest | None = None,
    interaction: Interaction | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> SyncReport:
    """Confirm, write what the plan does not show as unchanged, then restart.

    Without ``atomic``, the rows that can be written are, and each error row fails alone.
    With it, every value was already read and checked while planning, so one error row means
    nothing is asked, written or restarted; a write refused by the server once writing began
    still fails its own row only (what was written stays written, and is reported).

    Raises
    ------
    NotConfirmedError
        The deletions or the restart were not confirmed; nothing was written.
    """
    from ..secrets_as_code.apply import apply_plan

    interaction = interaction or Interaction()
    if atomic and planned.errors:
        return _refused_whole(planned, interaction)
    if planned.deletions:
        question = f"{planned.deletion_question()} [y/N] "
        confirm(question, action="delete", yes=yes, interaction=interaction)
    confirmed = prepare_restart(
        restart, _universes_changed(planned), interaction, clients.__getitem__
    )
    with interaction.progress(len(planned.pending), "applying") as bar:

        def advance(outcome: Outcome) -> None:
            bar.update(1)
            if on_outcome is not None:
                on_outcome(outcome)

        report = apply_plan(planned, clients, state, progress=advance)
    if restart is None:
        return SyncReport(planned, report)
    labels = {t.universe_id: t.label for t in planned.targets}
    outcomes, notes = restart_after(
        restart, sync_results(report), labels, clients.__getitem__, interaction, confirmed
    )
    return SyncReport(planned, report, outcomes, notes)


def _refused_whole(planned: Plan, interaction: Interaction) -> SyncReport:
    """The report of an atomic apply that wrote nothing: every error row, every row not sent."""
    from ..secrets_as_code.apply import ApplyReport, Outcome

    count = len(planned.errors)
    why = (
        f"not written: {count} secret{'s' if count != 1 else ''} had errors and "
        "--atomic writes all or nothing"
    )
    outcomes = [
        Outcome(c, "failed", c.reason)
        if c.action == "error"
        else Outcome(c, "skipped", why if c.writes else None)
        for c in planned.changes
    ]
    note = f"{why}; nothing was changed"
    interaction.say(note)
    return SyncReport(planned, ApplyReport(planned, outcomes), notes=[note])


def sync_results(report: ApplyReport) -> list[tuple[int, str]]:
    """``(universe_id, result)`` per row of an apply, for the restart that follows.

    A row skipped unsent after an error counts as failed: its universe did not get the whole
    change. Every target counts once as ``skipped``, so a universe with nothing to do is
    named in the notes.
    """
    rows: list[tuple[int, str]] = []
    for outcome in report.outcomes:
        skipped_by_error = outcome.result == "skipped" and outcome.error
        rows.append((outcome.change.universe, "failed" if skipped_by_error else outcome.result))
    rows += [(target.universe_id, "skipped") for target in report.plan.targets]
    return rows
