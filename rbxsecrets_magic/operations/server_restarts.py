"""The words and the record of a restart through Server Management: forecast, launch, wait.

Pure pieces the rollout (:mod:`rbxsecrets_magic.operations.rollout`) puts together for both
front ends, so that the magics and ``rbx-secrets`` say the same thing:

- :func:`describe_forecast`: the sentence before the question, from the numbers the forecast
  returned ("Restart 3 servers (41 players) in universe 111 (staging): places 1818 (2 servers,
  30 players) and 1819 (1 server, 11 players); they stop taking players now and shut down in
  10 minutes."); :func:`nothing_running` when there is nothing to restart;
- :func:`follow_restart`: waits for the restart with a progress bar counting servers
  restarted, and :func:`summarize_restart`: the one line that ends it;
- :func:`forecast_json` and :func:`states_json`: what ``--json`` carries of them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from ..errors import InvalidInputError
from .interaction import ProgressBar

if TYPE_CHECKING:
    from ..opencloud.client import SecretsClient
    from ..opencloud.server_management import (
        LaunchedRestart,
        RestartForecast,
        RestartStatus,
    )

__all__ = [
    "Progress",
    "default_timeout",
    "describe_forecast",
    "follow_restart",
    "forecast_json",
    "nothing_running",
    "parse_timeout",
    "states_json",
    "summarize_restart",
]

#: Seconds a wait lasts beyond the bleed-off unless ``--timeout`` says otherwise.
_WAIT_MARGIN = 10 * 60
_TIMEOUT_RULE = "--timeout takes a positive number of seconds to wait for the restart"


#: ``progress(total, description)``: a context manager yielding a bar, as
#: :attr:`~.interaction.Interaction.progress` is.
Progress = Callable[[int, str], AbstractContextManager[ProgressBar]]


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _joined(parts: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if len(parts) <= 1:
        return "".join(parts)
    return f"{', '.join(parts[:-1])} and {parts[-1]}"


def _fate(bleed_off_minutes: int | None) -> str:
    if bleed_off_minutes is None:
        return "they shut down now"
    return f"they stop taking players now and shut down in {_count(bleed_off_minutes, 'minute')}"


def describe_forecast(label: str, forecast: RestartForecast, bleed_off_minutes: int | None) -> str:
    """The sentence that says what a restart of universe ``label`` will hit, and when.

    Examples
    --------
    >>> from rbxsecrets_magic.opencloud.server_management import PlaceForecast, RestartForecast
    >>> forecast = RestartForecast(111, (PlaceForecast(1818, 30, 2), PlaceForecast(1819, 11, 1)))
    >>> describe_forecast("111 (staging)", forecast, 10)  # doctest: +NORMALIZE_WHITESPACE
    'Restart 3 servers (41 players) in universe 111 (staging): places 1818 (2 servers, 30
    players) and 1819 (1 server, 11 players); they stop taking players now and shut down in 10
    minutes.'
    """
    hit = [place for place in forecast.places if place.instances_impacted]
    noun = "place" if len(hit) == 1 else "places"
    places = _joined(
        [
            f"{place.place_id} ({_count(place.instances_impacted, 'server')}, "
            f"{_count(place.players_impacted, 'player')})"
            for place in hit
        ]
    )
    return (
        f"Restart {_count(forecast.instances_impacted, 'server')} "
        f"({_count(forecast.players_impacted, 'player')}) in universe {label}: {noun} "
        f"{places}; {_fate(bleed_off_minutes)}."
    )


def nothing_running(label: str, place_ids: Sequence[int] | None = None) -> str:
    """What to say when the forecast finds no server to restart (nothing is asked or sent)."""
    where = "" if place_ids is None else f" in {'place' if len(place_ids) == 1 else 'places'} "
    where += ", ".join(map(str, place_ids or ()))
    return f"No servers are running{where} in universe {label}: nothing to restart."


def default_timeout(bleed_off_minutes: int | None) -> float:
    """How long ``--wait`` waits without ``--timeout``: the bleed-off plus ten minutes."""
    return float((bleed_off_minutes or 0) * 60 + _WAIT_MARGIN)


def parse_timeout(given: str | float | None) -> float | None:
    """Read ``--timeout`` into seconds; ``None`` if not given.

    Raises
    ------
    InvalidInputError
        For zero, a negative number, or anything but a number.
    """
    if given is None:
        return None
    try:
        seconds = float(given)
    except (TypeError, ValueError):
        raise InvalidInputError(_TIMEOUT_RULE) from None
    if not 0 < seconds < float("inf"):
        raise InvalidInputError(_TIMEOUT_RULE)
    return seconds


def follow_restart(
    client: SecretsClient,
    launched: LaunchedRestart,
    *,
    timeout: float,
    progress: Progress,
    label: str,
) -> RestartStatus:
    """Wait for ``launched`` to succeed everywhere, a bar counting the servers restarted and
    saying the players and servers left.

    Raises
    ------
    RestartNotFinishedError
        When ``timeout`` seconds pass first (the restart goes on).
    """
    total = launched.instances_impacted
    shown = 0

    with progress(total, f"Restarting universe {label}") as bar:

        def advance(status: RestartStatus) -> None:
            nonlocal shown
            done = status.total_instances - status.remaining_instances
            if status.done:
                done = status.total_instances
            if done > shown:
                bar.update(done - shown)
                shown = done
            bar.set_postfix_str(
                f"{_count(status.remaining_players, 'player')}, "
                f"{_count(status.remaining_instances, 'server')} left"
            )

        return client.wait_for_restart(launched.restart_id, timeout=timeout, progress=advance)


def summarize_restart(label: str, status: RestartStatus) -> str:
    """The one line that ends a followed restart (its id was said when it was launched)."""
    places = len(status.places)
    return (
        f"Restart of universe {label} succeeded: "
        f"{_count(status.total_instances, 'server')} in {_count(places, 'place')} restarted "
        f"({_count(status.total_players, 'player')} moved to new servers)."
    )


def forecast_json(forecast: RestartForecast) -> dict[str, Any]:
    """A forecast as ``--json`` carries it: per place id, players and servers (per version)."""
    return {
        str(place.place_id): {
            "players_impacted": place.players_impacted,
            "instances_impacted": place.instances_impacted,
            "total_players": place.total_players,
            "total_instances": place.total_instances,
            "players_per_version": dict(place.players_per_version),
            "instances_per_version": dict(place.instances_per_version),
        }
        for place in forecast.places
    }


def states_json(status: RestartStatus) -> dict[str, Any]:
    """A restart's states as ``--json`` carries them: per place id, state and what is left."""
    return {
        str(place.place_id): {
            "state": place.state,
            "remaining_players": place.remaining_players,
            "remaining_instances": place.remaining_instances,
        }
        for place in status.places
    }
