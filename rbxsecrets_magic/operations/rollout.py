"""Restarting game servers so that a secret change goes live: say what, ask, restart, report.

A running game server keeps the secrets it started with; only a restart brings a new value to
it (``SecretsClient.restart_servers`` explains the ``closeAllVersions`` trap). Restarting
disconnects players, so every way in (``%rbx_servers_restart``, ``rbx-secrets restart`` and the
``--restart`` option of the writing commands) follows one rule, kept here:

1. say what will happen, per universe (:func:`describe_restart`);
2. ask first, by the one confirmation rule of :func:`~.interaction.confirm`: ``yes`` answers
   for the user; where nothing can ask and ``yes`` is missing, or the answer is no, nothing is
   restarted (:func:`confirm_restart` raises :class:`NotConfirmedError`, which each front end
   words: exit 1 or ``UsageError``). Where a restart follows writes, the operations ask
   before the first write (:mod:`.writes`, :mod:`.sync`), so a refusal changes nothing;
3. restart once per universe and report each as done, failed or outcome unknown
   (:func:`restart_universes`); a restart whose outcome is unknown is never sent again, since a
   second one would disconnect the players of the servers that replaced the first round.

After writes, :func:`restart_targets_after_writes` picks the universes to restart: those where
at least one write was done and none failed or has an unknown outcome. The callers pass in what
only they know: how to ask, how to print, and a client per universe. Nothing here imports
IPython or reads the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..errors import InvalidInputError, RbxSecretsError
from ..opencloud.validation import validate_bleed_off_minutes, validate_place_ids
from .interaction import Interaction, confirm

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient

__all__ = [
    "RestartOptions",
    "RestartOutcome",
    "RestartTarget",
    "check_places_fit",
    "confirm_restart",
    "describe_restart",
    "parse_bleed_off",
    "parse_place_ids",
    "restart_targets_after_writes",
    "restart_universes",
    "roll_out",
    "summarize_failures",
]

RestartResult = Literal["done", "failed", "unknown"]

_PLACES_RULE = (
    "--places takes place ids (positive whole numbers, the place's ID in Creator Hub), "
    "separated by commas"
)
_BLEED_OFF_RULE = (
    "--bleed-off takes whole minutes from 1 to 60, Roblox's limit (leave it out to shut servers "
    "down at once)"
)


@dataclass(frozen=True)
class RestartOptions:
    """What to restart in each universe: some places or every one, and how.

    Attributes
    ----------
    place_ids:
        The places whose servers restart; ``None`` for every place.
    bleed_off_minutes:
        Minutes (1-60) old servers keep running without taking players; ``None`` shuts them
        down at once.
    """

    place_ids: tuple[int, ...] | None = None
    bleed_off_minutes: int | None = None


@dataclass(frozen=True)
class RestartTarget:
    """A universe to restart, with how to name it to the user (``"123 (staging)"``)."""

    universe_id: int
    label: str


@dataclass(frozen=True)
class RestartOutcome:
    """What happened to one universe's restart.

    Attributes
    ----------
    target:
        The universe.
    result:
        ``done`` (Roblox accepted the restart), ``failed`` (it did not happen) or ``unknown``
        (no usable answer: it may have happened).
    error:
        The one-line reason when not done.
    """

    target: RestartTarget
    result: RestartResult
    error: str | None = None

    def to_json(self) -> dict[str, object]:
        """The row as in ``rbx-secrets restart --json``."""
        return {
            "universe": self.target.universe_id,
            "action": "restart",
            "result": self.result,
            "error": self.error,
        }


def parse_place_ids(given: str | Sequence[str] | None) -> tuple[int, ...] | None:
    """Read ``--places`` (comma lists, possibly repeated) into place ids; ``None`` if not given.

    Raises
    ------
    InvalidInputError
        For anything but positive whole numbers. The message does not repeat what was typed.
    """
    if given is None:
        return None
    items = [given] if isinstance(given, str) else list(given)
    if not items:
        return None
    pieces = [piece.strip() for item in items for piece in item.split(",")]
    if not pieces or any(not (p.isascii() and p.isdigit()) for p in pieces):
        raise InvalidInputError(_PLACES_RULE)
    try:
        return validate_place_ids(pieces)
    except InvalidInputError:
        raise InvalidInputError(_PLACES_RULE) from None


def parse_bleed_off(given: str | int | None) -> int | None:
    """Read ``--bleed-off`` into minutes (1-60); ``None`` if not given.

    Raises
    ------
    InvalidInputError
        For 0, a number outside 1-60 or anything but a whole number.
    """
    if given is None:
        return None
    if isinstance(given, str):
        text = given.strip()
        if not (text.isascii() and text.isdigit()):
            raise InvalidInputError(_BLEED_OFF_RULE)
        given = int(text)
    if given == 0:
        raise InvalidInputError(
            "--bleed-off 0 is not a bleed-off: give 1 to 60 minutes, or "
            "leave it out to shut servers down at once"
        )
    try:
        return validate_bleed_off_minutes(given)
    except InvalidInputError:
        raise InvalidInputError(_BLEED_OFF_RULE) from None


def check_places_fit(options: RestartOptions, targets: Sequence[RestartTarget]) -> None:
    """Refuse ``--places`` with several universes: a place belongs to one universe.

    Raises
    ------
    InvalidInputError
        When place ids are given for more than one universe.
    """
    if options.place_ids is not None and len(targets) > 1:
        raise InvalidInputError(
            "--places names places of one universe; give a single --universe with it"
        )


def describe_restart(target: RestartTarget, options: RestartOptions) -> str:
    """One sentence saying what a restart of ``target`` will do to its players.

    Examples
    --------
    >>> describe_restart(RestartTarget(1, "1"), RestartOptions(bleed_off_minutes=10))
    'Servers of every place in universe 1 stop taking players now and shut down in 10 minutes.'
    >>> describe_restart(RestartTarget(1, "1"), RestartOptions(place_ids=(5, 6)))
    'Servers of places 5, 6 in universe 1 shut down now.'
    """
    if options.place_ids is None:
        which = "every place"
    else:
        noun = "place" if len(options.place_ids) == 1 else "places"
        which = f"{noun} {', '.join(map(str, options.place_ids))}"
    minutes = options.bleed_off_minutes
    if minutes is None:
        fate = "shut down now"
    else:
        unit = "minute" if minutes == 1 else "minutes"
        fate = f"stop taking players now and shut down in {minutes} {unit}"
    return f"Servers of {which} in universe {target.label} {fate}."


def confirm_restart(
    targets: Sequence[RestartTarget],
    options: RestartOptions,
    *,
    yes: bool,
    interaction: Interaction,
) -> None:
    """Say what will happen to each universe, then ask, unless ``yes`` (see :func:`confirm`).

    Raises
    ------
    NotConfirmedError
        When the answer is no, or nothing can ask and ``yes`` is false.
    """
    for target in targets:
        interaction.say(describe_restart(target, options))
    what = "them" if len(targets) == 1 else f"the servers of {len(targets)} universes"
    question = f"Restart {what}? Players on them are disconnected. [y/N] "
    confirm(question, action="restart", yes=yes, interaction=interaction)


def restart_universes(
    targets: Sequence[RestartTarget],
    options: RestartOptions,
    client_for: Callable[[int], SecretsClient],
    *,
    say: Callable[[str], None],
) -> list[RestartOutcome]:
    """Restart each universe once, saying how each went; return the outcomes in order.

    A failure in one universe does not stop the others: they are independent, and each
    outcome is reported for what it is. Nothing is retried here (the client retries only
    what cannot have restarted anything).
    """
    outcomes: list[RestartOutcome] = []
    for target in targets:
        try:
            client_for(target.universe_id).restart_servers(
                place_ids=options.place_ids, bleed_off_minutes=options.bleed_off_minutes
            )
        except RbxSecretsError as exc:
            unknown = exc.outcome_unknown
            error = " ".join(str(exc).split())
            outcome = RestartOutcome(target, "unknown" if unknown else "failed", error)
        else:
            outcome = RestartOutcome(target, "done")
        say(_describe_outcome(outcome, options))
        outcomes.append(outcome)
    return outcomes


def _describe_outcome(outcome: RestartOutcome, options: RestartOptions) -> str:
    label = outcome.target.label
    if outcome.result == "failed":
        return f"Restart failed in universe {label}; nothing was restarted there: {outcome.error}"
    if outcome.result == "unknown":
        return (
            f"Restart outcome unknown in universe {label}: it may have happened; "
            f"not sent again, since a second restart would disconnect the players of "
            f"the new servers too: {outcome.error}"
        )
    minutes = options.bleed_off_minutes
    old = (
        "old ones shut down now"
        if minutes is None
        else f"old ones drain for {minutes} minute{'' if minutes == 1 else 's'}"
    )
    return (
        f"Restarted the servers of universe {label}: new servers load the secrets as "
        f"they are now ({old})."
    )


def restart_targets_after_writes(
    results: Iterable[tuple[int, str]],
    labels: Mapping[int, str] | None = None,
) -> tuple[list[RestartTarget], list[str]]:
    """Which universes ``--restart`` restarts after writes, and a note for each it skips.

    ``results`` holds one ``(universe_id, result)`` per write, with result ``done``,
    ``failed``, ``unknown`` or ``skipped``. A universe is restarted when at least one write
    there was done and none failed or has an unknown outcome: restarting after a failed write
    would roll out a half-made change.
    """
    labels = labels or {}
    seen: dict[int, list[str]] = {}
    for universe, result in results:
        seen.setdefault(universe, []).append(result)
    targets: list[RestartTarget] = []
    notes: list[str] = []
    for universe, found in seen.items():
        label = labels.get(universe, str(universe))
        if "failed" in found or "unknown" in found:
            why = (
                "a write there failed"
                if "failed" in found
                else "a write there has an unknown outcome"
            )
            notes.append(f"Not restarting universe {label}: {why}; fix it first, then restart.")
        elif "done" not in found:
            notes.append(f"Not restarting universe {label}: nothing changed there.")
        else:
            targets.append(RestartTarget(universe, label))
    return targets, notes


def roll_out(
    targets: Sequence[RestartTarget],
    options: RestartOptions,
    client_for: Callable[[int], SecretsClient],
    *,
    yes: bool,
    interaction: Interaction,
) -> list[RestartOutcome]:
    """Describe, confirm (see :func:`confirm_restart`) and restart each of ``targets``.

    Raises
    ------
    NotConfirmedError
        When not confirmed; nothing was restarted.
    InvalidInputError
        For places with several universes, before anything is asked or sent.
    """
    check_places_fit(options, targets)
    if not targets:
        return []
    confirm_restart(targets, options, yes=yes, interaction=interaction)
    return restart_universes(targets, options, client_for, say=interaction.say)


def summarize_failures(outcomes: Sequence[RestartOutcome]) -> str | None:
    """One line about the restarts that were not done, or ``None`` when all were."""
    bad = [o for o in outcomes if o.result != "done"]
    if not bad:
        return None
    parts = [
        f"{'outcome unknown' if o.result == 'unknown' else 'failed'} in universe {o.target.label}"
        for o in bad
    ]
    return "restart " + "; ".join(parts) + " (see above)"
