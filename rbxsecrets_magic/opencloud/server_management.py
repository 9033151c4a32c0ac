"""Server Management v1: forecast, launch and watch a restart of a universe's game servers.

The newer way to restart (the contract's section 10, ``shared/reference/
server-management.v1.json``, BETA): a forecast says how many players and servers a restart
would hit, per place and version; a launch restarts every version by default (no
``closeAllVersions`` trap) with a bleed-off of up to 240 minutes and attributes handed to game
servers; a status per place says ``DELAYING``, ``RESTARTING`` or ``SUCCEEDED``.

:class:`ServerManagement` speaks the three operations through a
:class:`~rbxsecrets_magic.opencloud.sending.Sender` of its own, whose pacer is the
``server_management`` sibling of the client's (100 requests per minute per key owner, shared by
every client that shares the pacer). :class:`~rbxsecrets_magic.opencloud.client.SecretsClient`
offers it as ``forecast_restart``, ``launch_restart``, ``restart_status`` and
``wait_for_restart`` (:class:`RestartMethods`, mixed into the client).

- Input is checked before anything is sent: place ids, bleed-off 1-240, attributes a JSON
  object of at most 500 bytes (compact UTF-8).
- A launch is never sent twice: after an attempt that may have taken effect (no answer, a
  5xx) it is reported with ``outcome_unknown``; a second launch would restart the servers
  the first one started. Look at :meth:`ServerManagement.restarts` first.
- A 403 names the permission: ``universe:read`` for forecast and status, ``universe:write``
  for a launch, and the legacy restart for keys that have only the older permission.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from ..errors import (
    ApiError,
    BadRequestError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RbxSecretsError,
)
from ..settings import server_name
from .sending import Call, Sender
from .validation import validate_bleed_off_minutes, validate_place_ids

__all__ = [
    "ATTRIBUTES_MAX_BYTES",
    "SERVER_MANAGEMENT_RATE_LIMIT",
    "LaunchedRestart",
    "PlaceForecast",
    "PlaceRestartStatus",
    "RestartForecast",
    "RestartMethods",
    "RestartNotFinishedError",
    "RestartStatus",
    "ServerManagement",
    "validate_attributes",
]

#: Roblox's rate limit for Server Management, per key owner: a bucket of its own.
SERVER_MANAGEMENT_RATE_LIMIT = (100, 60.0)
#: The largest ``attributes`` object a launch may hand to game servers (compact UTF-8 JSON).
ATTRIBUTES_MAX_BYTES = 500
#: The longest bleed-off Server Management allows, in minutes.
MAX_BLEED_OFF_MINUTES = 240
#: Seconds between two status reads while waiting: 30 a minute, well within 100.
DEFAULT_POLL_INTERVAL = 2.0

RestartState = Literal["DELAYING", "RESTARTING", "SUCCEEDED"]
_STATES = ("DELAYING", "RESTARTING", "SUCCEEDED")

_LAUNCH_ADVICE = (
    "Look at the restarts (restart_status, or the list Roblox keeps) before launching again: "
    "a second restart would disconnect the players of the servers the first one started."
)
_LEGACY = (
    "A key with only the older universe write permission can still restart through the "
    "legacy endpoint (restart_servers; --legacy in the magics and the CLI)."
)


def _read_hint(universe_id: int) -> str:
    return (
        "Forecasting and watching restarts need the universe API system with read permission "
        f"for universe {universe_id} (OAuth: scope universe:read). {_LEGACY}"
    )


def _write_hint(universe_id: int) -> str:
    # No --legacy here: the older endpoint needs the same write permission.
    return (
        "Launching a restart needs the universe API system with write permission for "
        f"universe {universe_id} (OAuth: scope universe:write), as the legacy restart does."
    )


_BAD_REQUEST_HINT = "Check the place ids, the bleed-off (1-240 minutes) and the attributes."


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class PlaceForecast:
    """What restarting one place would hit now.

    Attributes
    ----------
    place_id:
        The place.
    players_impacted, instances_impacted:
        Players who would be disconnected, and servers that would close.
    total_players, total_instances:
        Players and servers of the place now, including those a restart would not hit.
    latest_version:
        The most recent place version any of its servers runs (``None`` if not told).
    players_per_version, instances_per_version:
        The same counts per place version (keys as Roblox writes them, e.g. ``"12"``).
    """

    place_id: int
    players_impacted: int = 0
    instances_impacted: int = 0
    total_players: int = 0
    total_instances: int = 0
    latest_version: str | None = None
    players_per_version: Mapping[str, int] = field(default_factory=dict)
    instances_per_version: Mapping[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RestartForecast:
    """A forecast of a restart of a universe: one :class:`PlaceForecast` per place, by id."""

    universe_id: int
    places: tuple[PlaceForecast, ...]

    @property
    def players_impacted(self) -> int:
        """Players a restart would disconnect, over every place."""
        return sum(place.players_impacted for place in self.places)

    @property
    def instances_impacted(self) -> int:
        """Servers a restart would close, over every place."""
        return sum(place.instances_impacted for place in self.places)


@dataclass(frozen=True, slots=True)
class LaunchedRestart:
    """A restart Roblox accepted: its id, and the players and servers it hits."""

    restart_id: str
    players_impacted: int
    instances_impacted: int


@dataclass(frozen=True, slots=True)
class PlaceRestartStatus:
    """Where one place of a restart stands.

    Attributes
    ----------
    place_id:
        The place.
    state:
        ``"DELAYING"`` (bleed-off running), ``"RESTARTING"`` or ``"SUCCEEDED"``.
    start_time, end_time:
        When the place's restart started and ended (``None`` while running, or if not told).
    total_players, total_instances:
        Players and servers the restart set out to restart.
    remaining_players, remaining_instances:
        Those still on servers that have not restarted yet.
    latest_version:
        The place's latest version when the restart was launched.
    """

    place_id: int
    state: RestartState
    start_time: datetime | None = None
    end_time: datetime | None = None
    total_players: int = 0
    total_instances: int = 0
    remaining_players: int = 0
    remaining_instances: int = 0
    latest_version: str | None = None


@dataclass(frozen=True, slots=True)
class RestartStatus:
    """Where a restart stands: one :class:`PlaceRestartStatus` per place, by id."""

    restart_id: str
    universe_id: int
    scheduled_time: datetime | None
    start_time: datetime | None
    places: tuple[PlaceRestartStatus, ...]

    @property
    def done(self) -> bool:
        """Whether every place has ``SUCCEEDED`` (true for a restart that hit no place)."""
        return all(place.state == "SUCCEEDED" for place in self.places)

    @property
    def remaining_players(self) -> int:
        """Players still on servers that have not restarted, over every place."""
        return sum(place.remaining_players for place in self.places)

    @property
    def remaining_instances(self) -> int:
        """Servers that have not restarted yet, over every place."""
        return sum(place.remaining_instances for place in self.places)

    @property
    def total_players(self) -> int:
        """Players the restart set out to restart, over every place."""
        return sum(place.total_players for place in self.places)

    @property
    def total_instances(self) -> int:
        """Servers the restart set out to restart, over every place."""
        return sum(place.total_instances for place in self.places)

    def describe_places(self) -> str:
        """One line per place joined by ``; ``: ``place 1818 RESTARTING (1 server, 11
        players left)``, or ``no place`` for a restart that hit none."""
        if not self.places:
            return "no place"
        return "; ".join(
            f"place {place.place_id} {place.state}"
            + (
                f" ({_count(place.remaining_instances, 'server')}, "
                f"{_count(place.remaining_players, 'player')} left)"
                if place.state != "SUCCEEDED"
                else ""
            )
            for place in self.places
        )


class RestartNotFinishedError(RbxSecretsError):
    """A restart did not reach ``SUCCEEDED`` everywhere within the time waited.

    The restart goes on; ``status`` is the last one read, which the message describes.
    """

    def __init__(self, status: RestartStatus, timeout: float) -> None:
        """Say which places are still running after ``timeout`` seconds."""
        self.status = status
        self.timeout = timeout
        super().__init__(
            f"Restart {status.restart_id} of universe {status.universe_id} did not finish "
            f"within {timeout:g} s: {status.describe_places()}. It goes on; wait again "
            "with its id to follow it."
        )


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


# --------------------------------------------------------------------------- input


def validate_attributes(attributes: object) -> dict[str, Any] | None:
    """Return the attributes to hand to game servers as a plain dict, or ``None``.

    Rule: ``None``, or a mapping with string keys that serializes to JSON (no NaN or
    infinity) in at most 500 bytes of compact UTF-8, as Roblox counts them.

    Raises
    ------
    InvalidInputError
        Naming the rule that failed.
    """
    if attributes is None:
        return None
    if not isinstance(attributes, Mapping):
        raise InvalidInputError(
            "Invalid attributes: give a JSON object (a dict), such as "
            '{"reason": "secret rotation"}, or None.'
        )
    try:
        # json.dumps would turn a key such as 1 into "1" silently: refuse it instead.
        if not _string_keys(attributes):
            raise TypeError("a key is not a string")
        text = json.dumps(
            dict(attributes), separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
    except (TypeError, ValueError, RecursionError):
        raise InvalidInputError(
            "Invalid attributes: every key must be a string and every value JSON "
            "(strings, numbers, booleans, null, lists and objects; no NaN or infinity)."
        ) from None
    size = len(text.encode("utf-8"))
    if size > ATTRIBUTES_MAX_BYTES:
        raise InvalidInputError(
            f"Invalid attributes: {size} bytes as JSON; Roblox allows at most "
            f"{ATTRIBUTES_MAX_BYTES}."
        )
    parsed: dict[str, Any] = json.loads(text)
    return parsed


def _string_keys(value: object) -> bool:
    """Whether every mapping in ``value`` (at any depth) has only string keys."""
    pending = [value]
    seen = 0
    while pending:
        item = pending.pop()
        seen += 1
        if seen > 10_000:
            return False  # far beyond what 500 bytes can hold
        if isinstance(item, Mapping):
            if not all(isinstance(key, str) for key in item):
                return False
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return True


def _validate_restart_id(restart_id: object) -> str:
    """A restart id as a launch returned it: a non-empty string of safe characters."""
    if (
        not isinstance(restart_id, str)
        or not 0 < len(restart_id) <= 100
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_.") for ch in restart_id)
    ):
        raise InvalidInputError(
            "Invalid restart id: give the id a launch returned (letters, digits and '-')."
        )
    return restart_id


def _seconds(given: object, name: str) -> float:
    """``given`` as a positive, finite number of seconds."""
    if isinstance(given, bool) or not isinstance(given, (int, float)):
        raise InvalidInputError(f"Invalid {name}: give a positive number of seconds.")
    if not (math.isfinite(given) and given > 0):
        raise InvalidInputError(f"Invalid {name}: give a positive number of seconds.")
    return float(given)


# --------------------------------------------------------------------------- the client


class ServerManagement:
    """The three Server Management operations for one universe, over one :class:`Sender`.

    Parameters
    ----------
    sender:
        Sends the calls; its pacer is the Server Management bucket.
    universe_id:
        The universe whose servers to forecast, restart and watch.
    clock, sleep:
        Monotonic time and sleep for :meth:`wait` (the client's, for tests).
    parse_time:
        Turns an RFC 3339 text into an aware ``datetime`` (``None`` when it is not one).
    """

    def __init__(
        self,
        sender: Sender,
        universe_id: int,
        *,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        parse_time: Callable[[object], datetime | None],
    ) -> None:
        """Nothing is sent until the first call."""
        self._sender = sender
        self.universe_id = universe_id
        self._clock = clock
        self._sleep = sleep
        self._parse_time = parse_time
        self._path = f"/server-management/v1/universes/{universe_id}/restarts"

    def __repr__(self) -> str:
        """The universe only."""
        return f"ServerManagement(universe_id={self.universe_id})"

    def forecast(self, place_ids: Iterable[int | str] | None = None) -> RestartForecast:
        """What a restart would hit now: players and servers per place (and version).

        ``place_ids`` keeps those places only (a place without servers is listed with zeros);
        ``None`` keeps every place that has servers.
        """
        places = validate_place_ids(place_ids)
        call = Call("GET", f"{self._path}:forecast", self._doing("forecasting a restart"))
        body = self._request(call, write=False)
        forecasts = self._object(call, body, "placeForecasts")
        found: dict[int, PlaceForecast] = {}
        for key, item in forecasts.items():
            place_id = self._place_key(call, key)
            data = self._mapping(call, item, "a place forecast")
            found[place_id] = PlaceForecast(
                place_id=place_id,
                players_impacted=self._int(call, data, "playersImpacted"),
                instances_impacted=self._int(call, data, "instancesImpacted"),
                total_players=self._int(call, data, "totalPlayers"),
                total_instances=self._int(call, data, "totalInstances"),
                latest_version=self._text(call, data, "latestPlaceVersion"),
                players_per_version=self._counts(call, data, "playersPerVersion"),
                instances_per_version=self._counts(call, data, "instancesPerVersion"),
            )
        if places is not None:
            found = {place: found.get(place, PlaceForecast(place)) for place in places}
        return RestartForecast(self.universe_id, tuple(found[p] for p in sorted(found)))

    def launch(
        self,
        *,
        place_ids: Iterable[int | str] | None = None,
        bleed_off_minutes: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> LaunchedRestart:
        """Restart every version of the places' servers (every place when ``None``).

        With ``bleed_off_minutes`` (1-240) the servers stop taking players now and shut down
        when it ends; without, at once. ``attributes`` (a JSON object of at most 500 bytes)
        reach game servers with ``ServerRestartScheduled``. Never sent twice: see the module.
        """
        places = validate_place_ids(place_ids)
        minutes = validate_bleed_off_minutes(bleed_off_minutes, maximum=MAX_BLEED_OFF_MINUTES)
        given = validate_attributes(attributes)
        body: dict[str, Any] = {}
        if places is not None:
            body["places"] = {str(place): {} for place in places}
        if minutes is not None:
            body["bleedOffDurationMinutes"] = minutes
        if given is not None:
            body["attributes"] = given
        call = Call(
            "POST",
            self._path,
            self._doing("launching a restart"),
            write=True,
            body=body,
            repeatable=False,
            advice=_LAUNCH_ADVICE,
        )
        answer = self._mapping(call, self._request(call, write=True), "the launch answer")
        restart_id = answer.get("id")
        if not isinstance(restart_id, str) or not restart_id:
            raise self._sender.unexpected(call, "the launch answer has no restart id")
        return LaunchedRestart(
            restart_id=restart_id,
            players_impacted=self._int(call, answer, "playersImpacted"),
            instances_impacted=self._int(call, answer, "instancesImpacted"),
        )

    def restarts(self) -> list[RestartStatus]:
        """Every restart Roblox keeps for the universe, each with its places' states."""
        call = Call("GET", self._path, self._doing("reading the restarts"))
        body = self._request(call, write=False)
        statuses = self._object(call, body, "restartStatuses")
        return [self._status(call, key, item) for key, item in statuses.items()]

    def status(self, restart_id: str) -> RestartStatus:
        """Where restart ``restart_id`` (as :meth:`launch` returned it) stands.

        Raises
        ------
        NotFoundError
            If Roblox does not list it (a wrong id, or a restart it no longer keeps).
        """
        wanted = _validate_restart_id(restart_id)
        for status in self.restarts():
            if status.restart_id == wanted:
                return status
        raise NotFoundError(
            404,
            None,
            doing=self._doing(f"reading restart {wanted}"),
            hint="Roblox does not list it: check the id a launch returned.",
            server=server_name(self._sender.base_url),
        )

    def wait(
        self,
        restart_id: str,
        *,
        timeout: float,
        progress: Callable[[RestartStatus], None] | None = None,
        interval: float = DEFAULT_POLL_INTERVAL,
    ) -> RestartStatus:
        """Read the restart's status every ``interval`` seconds until every place SUCCEEDED.

        ``progress`` is called with each status read (the first one at once). Reads go through
        the Server Management bucket, so waiting never outruns the rate limit.

        Raises
        ------
        RestartNotFinishedError
            When ``timeout`` seconds pass first; the restart goes on.
        """
        wanted = _validate_restart_id(restart_id)
        seconds, pause = _seconds(timeout, "timeout"), _seconds(interval, "interval")
        deadline = self._clock() + seconds
        while True:
            status = self.status(wanted)
            if progress is not None:
                progress(status)
            if status.done:
                return status
            left = deadline - self._clock()
            if left <= 0:
                raise RestartNotFinishedError(status, seconds)
            self._sleep(min(pause, left))

    # ----------------------------------------------------------------- answers

    def _request(self, call: Call, *, write: bool) -> Any:
        """Send ``call``; a 403 or 400 gets a hint about Server Management, not secrets."""
        try:
            return self._sender.request(call)
        except (PermissionDeniedError, BadRequestError) as err:
            refused: ApiError = err
        if isinstance(refused, PermissionDeniedError):
            hint = _write_hint(self.universe_id) if write else _read_hint(self.universe_id)
        else:
            hint = _BAD_REQUEST_HINT
        # Raised outside the except block: the message is rebuilt, the first error dropped.
        raise type(refused)(
            refused.status,
            refused.detail,
            doing=refused.doing,
            hint=hint,
            outcome_unknown=refused.outcome_unknown,
            server=refused.server,
        )

    def _status(self, call: Call, restart_id: object, item: object) -> RestartStatus:
        data = self._mapping(call, item, "a restart status")
        places = self._object(call, data, "placeRestartStatuses")
        parsed = []
        for key, entry in places.items():
            place = self._mapping(call, entry, "a place restart status")
            state = place.get("state")
            if state not in _STATES:
                raise self._sender.unexpected(call, "a place restart state is not one Roblox lists")
            parsed.append(
                PlaceRestartStatus(
                    place_id=self._place_key(call, key),
                    state=state,
                    start_time=self._parse_time(place.get("startTime")),
                    end_time=self._parse_time(place.get("endTime")),
                    total_players=self._int(call, place, "totalPlayers"),
                    total_instances=self._int(call, place, "totalInstances"),
                    remaining_players=self._int(call, place, "remainingPlayers"),
                    remaining_instances=self._int(call, place, "remainingInstances"),
                    latest_version=self._text(call, place, "latestVersion"),
                )
            )
        return RestartStatus(
            restart_id=str(restart_id),
            universe_id=self.universe_id,
            scheduled_time=self._parse_time(data.get("scheduledTime")),
            start_time=self._parse_time(data.get("startTime")),
            places=tuple(sorted(parsed, key=lambda p: p.place_id)),
        )

    def _mapping(self, call: Call, value: object, what: str) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            raise self._sender.unexpected(call, f"{what} is not a JSON object")
        return value

    def _object(self, call: Call, body: object, name: str) -> Mapping[str, Any]:
        """``body[name]``: a JSON object (null or absent reads as empty)."""
        found = self._mapping(call, body, "the answer").get(name)
        if found is None:
            return {}
        return self._mapping(call, found, f"'{name}'")

    def _int(self, call: Call, data: Mapping[str, Any], name: str) -> int:
        """A count: a non-negative JSON integer (absent reads as 0)."""
        value = data.get(name, 0)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise self._sender.unexpected(call, f"'{name}' is not a count")
        return value

    def _text(self, call: Call, data: Mapping[str, Any], name: str) -> str | None:
        value = data.get(name)
        if value is None:
            return None
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise self._sender.unexpected(call, f"'{name}' is not a version")
        return str(value)

    def _counts(self, call: Call, data: Mapping[str, Any], name: str) -> dict[str, int]:
        found = data.get(name)
        if found is None:
            return {}
        counts = self._mapping(call, found, f"'{name}'")
        return {str(version): self._int(call, counts, version) for version in counts}

    def _place_key(self, call: Call, key: object) -> int:
        text = str(key)
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**63:
            raise self._sender.unexpected(call, "a place id in the answer is not a number")
        return int(text)

    def _doing(self, what: str) -> str:
        return f"{what} in universe {self.universe_id}"


class RestartMethods:
    """The Server Management methods of :class:`~rbxsecrets_magic.opencloud.client.SecretsClient`.

    Mixed into the client, which builds ``_server_management`` (its own sender and bucket).
    """

    _server_management: ServerManagement

    def forecast_restart(self, place_ids: Iterable[int | str] | None = None) -> RestartForecast:
        """What restarting the universe's servers would hit now: players and servers per place.

        ``place_ids`` keeps only those places (one without servers is listed with zeros).
        Needs the universe API system with read permission (OAuth scope ``universe:read``).
        See :meth:`ServerManagement.forecast`.
        """
        return self._server_management.forecast(place_ids)

    def launch_restart(
        self,
        *,
        place_ids: Iterable[int | str] | None = None,
        bleed_off_minutes: int | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> LaunchedRestart:
        """Restart every version of the places' servers (all places by default) through
        Server Management, so they load the secrets as they are now; return its id and counts.

        ``bleed_off_minutes`` (1-240) lets servers run, taking no new players, before they
        shut down; ``attributes`` (a JSON object of at most 500 bytes) reach game servers
        with ``ServerRestartScheduled``. Both are checked before sending. Needs scope
        ``universe:write``. Never sent twice: an attempt that may have taken effect is
        reported with ``outcome_unknown``. See :meth:`ServerManagement.launch`.
        """
        return self._server_management.launch(
            place_ids=place_ids, bleed_off_minutes=bleed_off_minutes, attributes=attributes
        )

    def restart_status(self, restart_id: str) -> RestartStatus:
        """Where a launched restart stands, per place (``DELAYING``, ``RESTARTING``,
        ``SUCCEEDED``) with the players and servers left. Needs scope ``universe:read``."""
        return self._server_management.status(restart_id)

    def wait_for_restart(
        self,
        restart_id: str,
        *,
        timeout: float,
        progress: Callable[[RestartStatus], None] | None = None,
        interval: float = DEFAULT_POLL_INTERVAL,
    ) -> RestartStatus:
        """Follow a restart until every place ``SUCCEEDED``, reading its status every
        ``interval`` seconds within the rate limit; ``progress`` gets each status read.

        Raises :class:`RestartNotFinishedError` (with the last status) when ``timeout``
        seconds pass first.
        """
        return self._server_management.wait(
            restart_id, timeout=timeout, progress=progress, interval=interval
        )
