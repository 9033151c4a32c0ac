"""Restarting game servers so that a secret change goes live: say what, ask, restart, report.

A running game server keeps the secrets it started with; only a restart brings a new value to
it. Restarts go through Roblox's Server Management API by default (forecast, launch, watch:
:mod:`rbxsecrets_magic.opencloud.server_management`), or, with ``legacy``, through the older
``:restartServers`` (``SecretsClient.restart_servers`` explains its ``closeAllVersions`` trap),
for keys that have only the universe write permission. Restarting disconnects players, so every
way in (``%rbx_servers_restart``, ``rbx-secrets restart`` and the ``--restart`` option of the
writing commands) follows one rule, kept here:

1. say what will happen, per universe: the forecast's players and servers per place
   (:func:`~.server_restarts.describe_forecast`); a universe with no server running is said
   so and dropped, and when none is left nothing is asked or restarted; with ``legacy``, what
   the options say (:func:`describe_restart`). A forecast that fails stops everything before
   the question, with its reason;
2. ask first, by the one confirmation rule of :func:`~.interaction.confirm`: ``yes`` answers
   for the user; where nothing can ask and ``yes`` is missing, or the answer is no, nothing is
   restarted (:func:`confirm_restart` raises :class:`NotConfirmedError`, which each front end
   words: exit 1 or ``UsageError``). Where a restart follows writes, the operations ask
   before the first write (:mod:`.writes`, :mod:`.sync`), so a refusal changes nothing;
3. restart once per universe and report each as done, failed or outcome unknown
   (:func:`restart_universes`); a restart whose outcome is unknown is never sent again, since a
   second one would disconnect the players of the servers that replaced the first round.
   With ``wait``, each launched restart is followed to ``SUCCEEDED`` with a progress bar and
   a one-line summary; one still running at the timeout is ``unfinished``, and says what is
   still running.

After writes, :func:`restart_targets_after_writes` picks the universes to restart: those where
at least one write was done and none failed or has an unknown outcome. The callers pass in what
only they know: how to ask, how to print, and a client per universe. Nothing here imports
IPython or reads the terminal.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

from ..errors import InvalidInputError, RbxSecretsError
from ..opencloud.validation import validate_bleed_off_minutes, validate_place_ids
from .interaction import Interaction, confirm, no_progress
from .server_restarts import (
    Progress,
    default_timeout,
    describe_forecast,
    follow_restart,
    forecast_json,
    nothing_running,
    parse_timeout,
    states_json,
    summarize_restart,
)

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..opencloud.server_management import LaunchedRestart, RestartForecast, RestartStatus

__all__ = [
    "RestartOptions",
    "RestartOutcome",
    "RestartTarget",
    "check_places_fit",
    "confirm_restart",
    "describe_restart",
    "parse_bleed_off",
    "parse_place_ids",
    "parse_restart_options",
    "restart_targets_after_writes",
    "restart_universes",
    "roll_out",
    "summarize_failures",
]

#: ``done``, ``failed`` (not restarted), ``unknown`` (it may have happened) or ``unfinished``
#: (launched, but not seen to finish: the wait ended, or reading the status failed).
RestartResult = Literal["done", "failed", "unknown", "unfinished"]

_PLACES_RULE = (
    "--places takes place ids (positive whole numbers, the place's ID in Creator Hub), "
    "separated by commas"
)
_LEGACY_MAX_BLEED_OFF = 60
_MAX_BLEED_OFF = 240


def _bleed_off_rule(maximum: int) -> str:
    legacy = " with --legacy" if maximum == _LEGACY_MAX_BLEED_OFF else ""
    return (
        f"--bleed-off takes whole minutes from 1 to {maximum}, Roblox's limit{legacy} (leave "
        "it out to shut servers down at once)"
    )


@dataclass(frozen=True)
class RestartOptions:
    """What to restart in each universe: some places or every one, and how.

    Attributes
    ----------
    place_ids:
        The places whose servers restart; ``None`` for every place.
    bleed_off_minutes:
        Minutes (1-240, or 1-60 with ``legacy``) old servers keep running without taking
        players; ``None`` shuts them down at once.
    legacy:
        Restart through ``:restartServers`` (with ``closeAllVersions``) instead of Server
        Management: no forecast, no status.
    wait:
        Follow each restart to ``SUCCEEDED`` (Server Management only).
    timeout:
        Seconds to wait; ``None`` for the bleed-off plus ten minutes.
    """

    place_ids: tuple[int, ...] | None = None
    bleed_off_minutes: int | None = None
    legacy: bool = False
    wait: bool = False
    timeout: float | None = None

    def __post_init__(self) -> None:
        """Refuse what the options cannot do together, before any request."""
        if self.legacy and self.wait:
            raise InvalidInputError(
                "--wait follows a Server Management restart, and --legacy has no status to "
                "follow; drop one of them"
            )
        if self.timeout is not None and not self.wait:
            raise InvalidInputError("--timeout works only with --wait")


@dataclass(frozen=True)
class RestartTarget:
    """A universe to restart, with how to name it to the user (``"123 (staging)"``), and the
    forecast shown before asking (``None`` with ``legacy``)."""

    universe_id: int
    label: str
    forecast: RestartForecast | None = field(default=None, compare=False)


@dataclass(frozen=True)
class RestartOutcome:
    """What happened to one universe's restart.

    Attributes
    ----------
    target:
        The universe.
    result:
        See :data:`RestartResult`: ``done`` when Roblox accepted the restart (and, when waited
        for, it succeeded everywhere).
    error:
        The one-line reason when not done.
    launched:
        The Server Management restart Roblox accepted (``None`` with ``legacy`` or when none
        was).
    final:
        The last status read while waiting (``None`` without ``wait``).
    """

    target: RestartTarget
    result: RestartResult
    error: str | None = None
    launched: LaunchedRestart | None = None
    final: RestartStatus | None = None

    def to_json(self) -> dict[str, object]:
        """The row as in ``rbx-secrets restart --json``: with Server Management, the forecast,
        the restart id and the final states too."""
        row: dict[str, object] = {
            "universe": self.target.universe_id,
            "action": "restart",
            "result": self.result,
            "error": self.error,
        }
        if self.target.forecast is not None:
            row["forecast"] = forecast_json(self.target.forecast)
            row["restart_id"] = None if self.launched is None else self.launched.restart_id
            row["states"] = None if self.final is None else states_json(self.final)
        return row


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


def parse_bleed_off(given: str | int | None, *, legacy: bool = False) -> int | None:
    """Read ``--bleed-off`` into minutes (1-240, or 1-60 with ``legacy``); ``None`` if not
    given.

    Raises
    ------
    InvalidInputError
        For 0, a number outside the range or anything but a whole number.
    """
    maximum = _LEGACY_MAX_BLEED_OFF if legacy else _MAX_BLEED_OFF
    if given is None:
        return None
    if isinstance(given, str):
        text = given.strip()
        if not (text.isascii() and text.isdigit()):
            raise InvalidInputError(_bleed_off_rule(maximum))
        given = int(text)
    if given == 0:
        raise InvalidInputError(
            f"--bleed-off 0 is not a bleed-off: give 1 to {maximum} minutes, or "
            "leave it out to shut servers down at once"
        )
    try:
        return validate_bleed_off_minutes(given, maximum=maximum)
    except InvalidInputError:
        raise InvalidInputError(_bleed_off_rule(maximum)) from None


def parse_restart_options(
    *,
    places: str | Sequence[str] | None = None,
    bleed_off: str | int | None = None,
    legacy: bool = False,
    wait: bool = False,
    timeout: str | float | None = None,
) -> RestartOptions:
    """The restart options as both front ends read them from their lines, every rule checked
    before any request (``--places``, ``--bleed-off``, ``--legacy``, ``--wait``,
    ``--timeout``).

    Raises
    ------
    InvalidInputError
        The first rule broken, in the options' terms.
    """
    return RestartOptions(
        place_ids=parse_place_ids(places),
        bleed_off_minutes=parse_bleed_off(bleed_off, legacy=legacy),
        legacy=legacy,
        wait=wait,
        timeout=parse_timeout(timeout),
    )


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
    client_for: Callable[[int], SecretsClient] | None = None,
) -> list[RestartTarget]:
    """Say what will happen to each universe, then ask, unless ``yes`` (see :func:`confirm`);
    return the universes to restart, each with its forecast.

    With Server Management (not ``legacy``) each universe's forecast is read first, through
    ``client_for``: one with no server running is said so and left out; when none is left,
    nothing is asked and the list is empty.

    Raises
    ------
    NotConfirmedError
        When the answer is no, or nothing can ask and ``yes`` is false.
    RbxSecretsError
        When a forecast fails (its message says why); nothing was asked or restarted.
    """
    if options.legacy or client_for is None:
        for target in targets:
            interaction.say(describe_restart(target, options))
        what = "them" if len(targets) == 1 else f"the servers of {len(targets)} universes"
        question = f"Restart {what}? Players on them are disconnected. [y/N] "
        confirm(question, action="restart", yes=yes, interaction=interaction)
        return list(targets)
    confirmed: list[RestartTarget] = []
    for target in targets:
        forecast = client_for(target.universe_id).forecast_restart(options.place_ids)
        if forecast.instances_impacted == 0:
            interaction.say(nothing_running(target.label, options.place_ids))
            continue
        interaction.say(describe_forecast(target.label, forecast, options.bleed_off_minutes))
        confirmed.append(replace(target, forecast=forecast))
    if confirmed:
        several = "" if len(confirmed) == 1 else f" the servers of {len(confirmed)} universes"
        confirm(f"Restart{several}? [y/N] ", action="restart", yes=yes, interaction=interaction)
    return confirmed


def restart_universes(
    targets: Sequence[RestartTarget],
    options: RestartOptions,
    client_for: Callable[[int], SecretsClient],
    *,
    say: Callable[[str], None],
    progress: Progress = no_progress,
) -> list[RestartOutcome]:
    """Restart each universe once, saying how each went; return the outcomes in order.

    A failure in one universe does not stop the others: they are independent, and each
    outcome is reported for what it is. Nothing is retried here (the client retries only
    what cannot have restarted anything). With ``wait``, each launched restart is followed
    (``progress`` draws the bar).
    """
    outcomes: list[RestartOutcome] = []
    for target in targets:
        client = client_for(target.universe_id)
        launched: LaunchedRestart | None = None
        try:
            if options.legacy:
                client.restart_servers(
                    place_ids=options.place_ids, bleed_off_minutes=options.bleed_off_minutes
                )
            else:
                launched = client.launch_restart(
                    place_ids=options.place_ids, bleed_off_minutes=options.bleed_off_minutes
                )
        except RbxSecretsError as exc:
            result: RestartResult = "unknown" if exc.outcome_unknown else "failed"
            outcome = RestartOutcome(target, result, _one_line(exc))
        else:
            outcome = RestartOutcome(target, "done", launched=launched)
        say(_describe_outcome(outcome, options))
        if options.wait and launched is not None:
            outcome = _follow(outcome, launched, client, options, say, progress)
        outcomes.append(outcome)
    return outcomes


def _follow(
    outcome: RestartOutcome,
    launched: LaunchedRestart,
    client: SecretsClient,
    options: RestartOptions,
    say: Callable[[str], None],
    progress: Progress,
) -> RestartOutcome:
    """Wait for a launched restart; the outcome with its final status, or ``unfinished``."""
    from ..opencloud.server_management import RestartNotFinishedError

    label = outcome.target.label
    timeout = options.timeout or default_timeout(options.bleed_off_minutes)
    try:
        final = follow_restart(client, launched, timeout=timeout, progress=progress, label=label)
    except RestartNotFinishedError as exc:
        say(str(exc))
        return replace(outcome, result="unfinished", error=_one_line(exc), final=exc.status)
    except RbxSecretsError as exc:
        error = f"launched restart {launched.restart_id}, but following it failed: {exc}"
        say(" ".join(error.split()))
        return replace(outcome, result="unfinished", error=" ".join(error.split()))
    say(summarize_restart(label, final))
    return replace(outcome, final=final)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


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
    if outcome.launched is not None:
        return (
            f"Launched restart {outcome.launched.restart_id} in universe {label}: new servers "
            f"load the secrets as they are now ({old})."
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
    confirmed = confirm_restart(
        targets, options, yes=yes, interaction=interaction, client_for=client_for
    )
    return restart_universes(
        confirmed, options, client_for, say=interaction.say, progress=interaction.progress
    )


def summarize_failures(outcomes: Sequence[RestartOutcome]) -> str | None:
    """One line about the restarts that were not done, or ``None`` when all were."""
    bad = [o for o in outcomes if o.result != "done"]
    if not bad:
        return None
    words = {"unknown": "outcome unknown", "unfinished": "not finished"}
    parts = [f"{words.get(o.result, 'failed')} in universe {o.target.label}" for o in bad]
    return "restart " + "; ".join(parts) + " (see above)"
