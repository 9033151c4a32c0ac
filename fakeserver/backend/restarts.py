"""Server Management's restarts of one universe: forecast, launch and status, computed from
the game servers the fake runs (the contract's section 10).

:class:`RestartBook` is plain state, like :class:`~fakeserver.backend.fleet.Fleet`: it never sleeps,
starts no thread and takes no lock (the backend's lock guards it), and reads time from the
``now`` it is given (the fake's one clock). Its answers are the bodies of Roblox's
``ForecastRestartResponse``, ``LaunchRestartResponse`` and ``ListRestartStatusesResponse``.

- **Forecast**: per place with running servers, players and instances, per version too. A
  launch without filters restarts every server not already draining, so those are the
  "impacted" ones; a draining server (an earlier restart's) is counted in the totals only.
- **Launch**: the targeted servers (those its filters select, not already draining) stop
  taking players at once and close when the bleed-off
  ends (at once without one); each is replaced by a server with the secrets as they are now
  (:meth:`Fleet.close_where`), which takes over its players when it closes. Each targeted
  server receives ``ServerRestartScheduled``
  (:class:`~fakeserver.backend.occupancy.RestartScheduled`, source ``DeveloperUpdate``, the
  launch's attributes): the backend delivers them once its lock is released, so a listener
  may call the fake.
- **Status** (choices*): each place of a restart is ``DELAYING`` until the clock reaches the
  end of the bleed-off, then ``RESTARTING`` for one tick, then ``SUCCEEDED``. A tick is one
  read of the statuses: the read that first finds the deadline passed shows ``RESTARTING``,
  the next one ``SUCCEEDED`` with its ``endTime``. A launch without bleed-off is
  ``RESTARTING`` at its first read. Remaining players and instances are those of the
  targeted servers still running. The book keeps the latest 100 restarts.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import BadRequest
from .occupancy import RestartScheduled

if TYPE_CHECKING:
    from .fleet import Fleet
    from .gameservers import GameServer, SecretSnapshot

__all__ = [
    "MAX_KEPT_RESTARTS",
    "LaunchRequest",
    "PlaceFilter",
    "PlaceRestart",
    "Restart",
    "RestartBook",
    "rfc3339",
]

#: How many restarts a universe's book keeps for the status answer (oldest dropped first).
MAX_KEPT_RESTARTS = 100
#: ``Enum.CloseReason.DeveloperUpdate``: the source of a restart launched through this API.
SOURCE = "DeveloperUpdate"

_SECONDS_PER_MINUTE = 60.0


@dataclass(frozen=True)
class PlaceFilter:
    """Which versions of one place a launch restarts.

    Attributes
    ----------
    versions:
        Restart only servers on these versions; ``None`` for no such limit.
    exclude_current_version:
        Restart every version but the place's latest published one.
    """

    versions: frozenset[int] | None = None
    exclude_current_version: bool = False

    def selects(self, version: int, latest: int) -> bool:
        """Whether a server on ``version`` of a place whose latest is ``latest`` restarts."""
        if self.versions is not None:
            return version in self.versions
        return not (self.exclude_current_version and version >= latest)

    def describe(self) -> dict[str, Any]:
        """The filter as Roblox's ``PlaceFilter`` object, as a status answer shows it."""
        if self.versions is not None:
            return {"versions": sorted(self.versions), "excludeCurrentVersion": None}
        return {"versions": None, "excludeCurrentVersion": self.exclude_current_version}


@dataclass(frozen=True)
class LaunchRequest:
    """A valid launch request.

    Attributes
    ----------
    bleed_off_minutes:
        Minutes targeted servers keep running, taking no new players; ``None`` = close now.
    places:
        The places to restart, each with its filter; ``None`` for every place.
    attributes:
        The JSON object handed to game servers with ``ServerRestartScheduled``, or ``None``.
    """

    bleed_off_minutes: int | None = None
    places: Mapping[int, PlaceFilter] | None = None
    attributes: Mapping[str, Any] | None = None


_EVERY_VERSION = PlaceFilter()


def rfc3339(unix_seconds: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. ``2026-11-27T07:15:01.809Z``."""
    whole = int(unix_seconds // 1)
    millis = min(999, int(round((unix_seconds - whole) * 1000)))
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole))}.{millis:03d}Z"


class PlaceRestart:
    """One place of a restart: the servers it targeted and where it stands."""

    __slots__ = (
        "end",
        "filter",
        "latest_version",
        "place_id",
        "servers",
        "state",
        "total_instances",
        "total_players",
    )

    def __init__(
        self,
        place_id: int,
        place_filter: PlaceFilter,
        servers: list[GameServer],
        latest: int,
        players: int,
    ) -> None:
        """Start ``DELAYING`` with the targeted ``servers``, which had ``players`` players."""
        self.place_id = place_id
        self.filter = place_filter
        self.servers = servers
        self.total_players = players
        self.total_instances = len(servers)
        self.latest_version = latest
        self.state = "DELAYING"
        self.end: float | None = None

    def __repr__(self) -> str:
        """Place, state and counts."""
        return (
            f"PlaceRestart(place_id={self.place_id}, state={self.state}, "
            f"instances={self.total_instances})"
        )

    def remaining(self) -> tuple[int, int]:
        """``(players, instances)`` on the targeted servers still running."""
        running = [server for server in self.servers if server.running]
        return sum(server.players for server in running), len(running)


class Restart:
    """One launched restart: when it was scheduled, when its servers close, and its places."""

    __slots__ = ("places", "restart_id", "scheduled_at", "starts_at")

    def __init__(self, scheduled_at: float, starts_at: float, places: list[PlaceRestart]):
        """A restart scheduled at ``scheduled_at`` whose servers close at ``starts_at``."""
        self.restart_id = str(uuid.uuid4())
        self.scheduled_at = scheduled_at
        self.starts_at = starts_at
        self.places = places

    def __repr__(self) -> str:
        """Id and places."""
        return f"Restart({self.restart_id!r}, places={[p.place_id for p in self.places]})"

    def tick(self, now: float) -> None:
        """Move each place one step: past the deadline ``DELAYING`` becomes ``RESTARTING``,
        and ``RESTARTING`` (shown once) becomes ``SUCCEEDED``."""
        for place in self.places:
            if place.state == "RESTARTING":
                place.state, place.end = "SUCCEEDED", now
            elif place.state == "DELAYING" and now >= self.starts_at:
                place.state = "RESTARTING"

    def describe(self, universe_id: int, wall_offset: float) -> dict[str, Any]:
        """Roblox's ``RestartStatus``; ``wall_offset`` turns the fake's clock into Unix time."""
        start = rfc3339(self.starts_at + wall_offset)
        statuses: dict[str, Any] = {}
        for place in self.places:
            players, instances = place.remaining()
            statuses[str(place.place_id)] = {
                "state": place.state,
                "startTime": start,
                "endTime": None if place.end is None else rfc3339(place.end + wall_offset),
                "totalPlayers": place.total_players,
                "totalInstances": place.total_instances,
                "remainingPlayers": players,
                "remainingInstances": instances,
                "filter": place.filter.describe(),
                "latestVersion": str(place.latest_version),
            }
        return {
            "universeId": str(universe_id),
            "scheduledTime": rfc3339(self.scheduled_at + wall_offset),
            "startTime": start,
            "placeRestartStatuses": statuses,
        }


class _Selection:
    """The servers of one place a launch restarts: selected by its filter, not draining."""

    __slots__ = ("filter", "latest", "place_id")

    def __init__(self, place_id: int, place_filter: PlaceFilter, latest: int) -> None:
        """Select servers of ``place_id`` by ``place_filter``, ``latest`` its latest version."""
        self.place_id = place_id
        self.filter = place_filter
        self.latest = latest

    def __call__(self, server: GameServer) -> bool:
        """Whether the launch restarts ``server``."""
        return (
            server.place_id == self.place_id
            and server.accepting_players
            and self.filter.selects(server.place_version, self.latest)
        )


class RestartBook:
    """The restarts of one universe; not thread-safe (the backend's lock is).

    Parameters
    ----------
    universe_id:
        The universe, as status answers name it.
    wall_offset:
        Seconds to add to the fake's clock to get Unix time, fixed when the universe is made,
        so that times in answers move with :meth:`~fakeserver.backend.state.SecretsBackend.advance`.
    """

    def __init__(self, universe_id: int, wall_offset: float) -> None:
        """An empty book."""
        self.universe_id = universe_id
        self.wall_offset = wall_offset
        self._restarts: dict[str, Restart] = {}

    def __repr__(self) -> str:
        """Count only."""
        return f"RestartBook(restarts={len(self._restarts)})"

    def forecast(self, fleet: Fleet) -> dict[str, Any]:
        """Roblox's ``ForecastRestartResponse`` for the servers ``fleet`` runs now."""
        forecasts: dict[str, Any] = {}
        for place_id in fleet.place_ids():
            servers = fleet.servers(place_id)
            if not servers:
                continue
            impacted = [server for server in servers if server.accepting_players]
            players: dict[str, int] = {}
            instances: dict[str, int] = {}
            for server in servers:
                version = str(server.place_version)
                players[version] = players.get(version, 0) + server.players
                instances[version] = instances.get(version, 0) + 1
            forecasts[str(place_id)] = {
                "playersImpacted": sum(server.players for server in impacted),
                "totalPlayers": sum(server.players for server in servers),
                "instancesImpacted": len(impacted),
                "totalInstances": len(servers),
                "latestPlaceVersion": str(max(server.place_version for server in servers)),
                "isNotInUniverse": False,
                "playersPerVersion": players,
                "instancesPerVersion": instances,
            }
        return {"placeForecasts": forecasts}

    def launch(
        self, fleet: Fleet, secrets: SecretSnapshot, order: LaunchRequest, now: float
    ) -> tuple[dict[str, Any], list[tuple[GameServer, RestartScheduled]]]:
        """Launch the restart ``order`` asks for; its ``LaunchRestartResponse``, and the
        ``ServerRestartScheduled`` events to deliver once the lock is released.

        Raises
        ------
        BadRequest
            If ``order`` names a place the universe does not have; nothing changed.
        """
        known = fleet.place_ids()
        if order.places is None:
            filters = dict.fromkeys(known, _EVERY_VERSION)
        else:
            unknown = sorted(set(order.places) - set(known))
            if unknown:
                raise BadRequest(
                    f"place {unknown[0]} is not a place of universe {self.universe_id}"
                )
            filters = dict(order.places)
        deadline = now
        if order.bleed_off_minutes is not None:
            deadline += order.bleed_off_minutes * _SECONDS_PER_MINUTE
        # Players as they were: servers closed at once have handed theirs on already.
        players = {id(server): server.players for server in fleet.servers()}
        places: list[PlaceRestart] = []
        for place_id, place_filter in filters.items():
            latest = fleet.place_version(place_id)
            targeted = fleet.close_where(
                secrets, _Selection(place_id, place_filter, latest), deadline
            )
            if targeted or order.places is not None:
                count = sum(players[id(server)] for server in targeted)
                places.append(PlaceRestart(place_id, place_filter, targeted, latest, count))
        restart = Restart(now, deadline, places)
        self._keep(restart)
        event = RestartScheduled(
            restart_time=deadline + self.wall_offset,
            source=SOURCE,
            attributes=dict(order.attributes) if order.attributes is not None else {},
        )
        events = [(server, event) for place in places for server in place.servers]
        answer = {
            "id": restart.restart_id,
            "playersImpacted": sum(place.total_players for place in places),
            "instancesImpacted": sum(place.total_instances for place in places),
        }
        return answer, events

    def statuses(self, now: float) -> dict[str, Any]:
        """Roblox's ``ListRestartStatusesResponse``: every kept restart, after one tick."""
        for restart in self._restarts.values():
            restart.tick(now)
        return {
            "restartStatuses": {
                restart_id: restart.describe(self.universe_id, self.wall_offset)
                for restart_id, restart in self._restarts.items()
            }
        }

    def restarts(self) -> Iterable[Restart]:
        """The kept restarts, oldest first (for assertions)."""
        return list(self._restarts.values())

    def _keep(self, restart: Restart) -> None:
        """File ``restart``, dropping the oldest beyond :data:`MAX_KEPT_RESTARTS`."""
        self._restarts[restart.restart_id] = restart
        while len(self._restarts) > MAX_KEPT_RESTARTS:
            del self._restarts[next(iter(self._restarts))]
