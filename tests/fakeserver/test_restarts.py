"""Server Management's restarts computed from a fleet: forecast, launch, status, notices."""

from __future__ import annotations

from typing import Any

import pytest

from fakeserver.backend.fleet import Fleet
from fakeserver.backend.occupancy import RestartScheduled
from fakeserver.backend.restarts import (
    MAX_KEPT_RESTARTS,
    LaunchRequest,
    PlaceFilter,
    RestartBook,
    rfc3339,
)
from fakeserver.errors import BadRequest
from tests.fakeserver.support import FakeClock

START = 1818
OTHER = 1819
UNIVERSE = 111
WALL = 1_800_000_000.0 - 1000.0  # the fake clock's 1000.0 is this Unix time


@pytest.fixture
def fleet(clock: FakeClock) -> Fleet:
    return Fleet(START, clock)


@pytest.fixture
def book() -> RestartBook:
    return RestartBook(UNIVERSE, WALL)


def secrets(value: str) -> dict[str, tuple[str, str | None]]:
    return {"TOKEN": (value, "api.example.com")}


def token(server: Any) -> str:
    sent = server.http_request("https://api.example.com/", {"T": server.get_secret("TOKEN")})
    return str(sent.headers["T"])


def two_places(fleet: Fleet) -> list[Any]:
    return [
        fleet.start_server(secrets("v1"), START, players=20),
        fleet.start_server(secrets("v1"), START, players=10),
        fleet.start_server(secrets("v1"), OTHER, players=11),
    ]


def test_forecast_counts_players_and_instances_per_place_and_version(
    fleet: Fleet, book: RestartBook
) -> None:
    assert book.forecast(fleet) == {"placeForecasts": {}}
    two_places(fleet)
    fleet.publish_place(START)
    fleet.start_server(secrets("v1"), START, players=4)
    forecast = book.forecast(fleet)["placeForecasts"]
    assert forecast == {
        str(START): {
            "playersImpacted": 34,
            "totalPlayers": 34,
            "instancesImpacted": 3,
            "totalInstances": 3,
            "latestPlaceVersion": "2",
            "isNotInUniverse": False,
            "playersPerVersion": {"1": 30, "2": 4},
            "instancesPerVersion": {"1": 2, "2": 1},
        },
        str(OTHER): {
            "playersImpacted": 11,
            "totalPlayers": 11,
            "instancesImpacted": 1,
            "totalInstances": 1,
            "latestPlaceVersion": "1",
            "isNotInUniverse": False,
            "playersPerVersion": {"1": 11},
            "instancesPerVersion": {"1": 1},
        },
    }


def test_a_bleed_off_launch_delays_then_restarts_for_one_read_then_succeeds(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    old = two_places(fleet)
    answer, notices = book.launch(
        fleet, secrets("v2"), LaunchRequest(bleed_off_minutes=5, attributes={"k": 1}), clock()
    )
    assert answer == {"id": answer["id"], "playersImpacted": 41, "instancesImpacted": 3}
    notice = RestartScheduled(
        restart_time=WALL + 1000.0 + 300.0, source="DeveloperUpdate", attributes={"k": 1}
    )
    assert notices == [(server, notice) for server in old]
    # Old servers drain: no new players, still running, still on v1; replacements have v2.
    assert all(s.state == "draining" and token(s) == "v1" for s in old)
    new = [s.replaced_by for s in old]
    assert all(s is not None and s.accepting_players and token(s) == "v2" for s in new)
    assert book.forecast(fleet)["placeForecasts"][str(START)]["playersImpacted"] == 0

    status = book.statuses(clock())["restartStatuses"][answer["id"]]
    assert status["universeId"] == str(UNIVERSE)
    assert status["scheduledTime"] == rfc3339(WALL + 1000.0)
    assert status["startTime"] == rfc3339(WALL + 1300.0)
    place = status["placeRestartStatuses"][str(START)]
    assert place == {
        "state": "DELAYING",
        "startTime": rfc3339(WALL + 1300.0),
        "endTime": None,
        "totalPlayers": 30,
        "totalInstances": 2,
        "remainingPlayers": 30,
        "remainingInstances": 2,
        "filter": {"versions": None, "excludeCurrentVersion": False},
        "latestVersion": "1",
    }
    clock.advance(299)
    assert _states(book, clock, answer["id"]) == {START: "DELAYING", OTHER: "DELAYING"}
    clock.advance(1)
    status = book.statuses(clock())["restartStatuses"][answer["id"]]
    place = status["placeRestartStatuses"][str(START)]
    assert (place["state"], place["remainingPlayers"], place["remainingInstances"]) == (
        "RESTARTING",
        0,
        0,
    )
    assert not any(s.running for s in old)
    # The players moved to the replacements.
    assert [s.players for s in fleet.servers()] == [20, 10, 11]
    clock.advance(1)
    status = book.statuses(clock())["restartStatuses"][answer["id"]]
    place = status["placeRestartStatuses"][str(START)]
    assert (place["state"], place["endTime"]) == ("SUCCEEDED", rfc3339(WALL + 1301.0))
    assert _states(book, clock, answer["id"]) == {START: "SUCCEEDED", OTHER: "SUCCEEDED"}


def _states(book: RestartBook, clock: FakeClock, restart_id: str) -> dict[int, str]:
    places = book.statuses(clock())["restartStatuses"][restart_id]["placeRestartStatuses"]
    return {int(place): status["state"] for place, status in places.items()}


def test_an_immediate_launch_closes_at_once_and_restarts_for_one_read(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    old = two_places(fleet)
    answer, _ = book.launch(fleet, secrets("v2"), LaunchRequest(), clock())
    assert not any(s.running for s in old)
    assert sorted(s.players for s in fleet.servers()) == [10, 11, 20]
    assert all(token(s) == "v2" for s in fleet.servers())
    assert _states(book, clock, answer["id"]) == {START: "RESTARTING", OTHER: "RESTARTING"}
    assert _states(book, clock, answer["id"]) == {START: "SUCCEEDED", OTHER: "SUCCEEDED"}


def test_filters_pick_places_and_versions(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    on_v1 = fleet.start_server(secrets("v1"), START, players=3)
    fleet.publish_place(START)
    on_v2 = fleet.start_server(secrets("v1"), START, players=4)
    other = fleet.start_server(secrets("v1"), OTHER, players=5)
    order = LaunchRequest(places={START: PlaceFilter(exclude_current_version=True)})
    answer, notices = book.launch(fleet, secrets("v2"), order, clock())
    assert (answer["playersImpacted"], answer["instancesImpacted"]) == (3, 1)
    assert [server for server, _ in notices] == [on_v1]
    assert (on_v1.running, on_v2.running, other.running) == (False, True, True)
    status = book.statuses(clock())["restartStatuses"][answer["id"]]
    assert list(status["placeRestartStatuses"]) == [str(START)]
    assert status["placeRestartStatuses"][str(START)]["latestVersion"] == "2"
    order = LaunchRequest(
        places={START: PlaceFilter(versions=frozenset({2})), OTHER: PlaceFilter()}
    )
    answer, _ = book.launch(fleet, secrets("v2"), order, clock())
    # Version 2 now runs on_v2 and on_v1's replacement, which took over its 3 players.
    assert (answer["playersImpacted"], answer["instancesImpacted"]) == (4 + 3 + 5, 3)


def test_an_unknown_place_is_a_400_and_changes_nothing(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    server = fleet.start_server(secrets("v1"), players=2)
    with pytest.raises(BadRequest, match=f"place 77 is not a place of universe {UNIVERSE}"):
        book.launch(fleet, secrets("v2"), LaunchRequest(places={77: PlaceFilter()}), clock())
    assert server.accepting_players
    assert book.statuses(clock()) == {"restartStatuses": {}}


def test_a_draining_server_is_left_to_the_restart_that_drains_it(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    server = fleet.start_server(secrets("v1"), players=2)
    first, _ = book.launch(fleet, secrets("v2"), LaunchRequest(bleed_off_minutes=10), clock())
    second, notices = book.launch(fleet, secrets("v3"), LaunchRequest(), clock())
    # The second launch restarts the replacement only; the draining server keeps its deadline.
    assert (second["instancesImpacted"], second["playersImpacted"]) == (1, 0)
    assert server.running and server.closes_at == clock() + 600
    assert [s for s, _ in notices] == [server.replaced_by]


def test_a_launch_with_nothing_running_restarts_nothing(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    answer, notices = book.launch(fleet, secrets("v2"), LaunchRequest(), clock())
    assert (answer["playersImpacted"], answer["instancesImpacted"], notices) == (0, 0, [])
    assert book.statuses(clock())["restartStatuses"][answer["id"]]["placeRestartStatuses"] == {}


def test_the_book_keeps_the_latest_restarts(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    ids = [book.launch(fleet, {}, LaunchRequest(), clock())[0]["id"] for _ in range(105)]
    kept = list(book.statuses(clock())["restartStatuses"])
    assert kept == ids[-MAX_KEPT_RESTARTS:]


def test_rfc3339() -> None:
    assert rfc3339(0.0) == "1970-01-01T00:00:00.000Z"
    assert rfc3339(1.9996) == "1970-01-01T00:00:01.999Z"
    assert rfc3339(1_800_000_000.25) == "2027-01-15T08:00:00.250Z"


def test_players_follow_replacements_down_a_chain_without_any_call(
    fleet: Fleet, book: RestartBook, clock: FakeClock
) -> None:
    first = fleet.start_server(secrets("v1"), players=6)
    book.launch(fleet, secrets("v2"), LaunchRequest(bleed_off_minutes=10), clock())
    second = first.replaced_by
    assert second is not None and (first.players, second.players) == (6, 0)
    second.players = 2  # two new players joined the new server
    book.launch(fleet, secrets("v3"), LaunchRequest(bleed_off_minutes=20), clock())
    third = second.replaced_by
    assert third is not None
    clock.advance(10 * 60)  # first closes: its 6 players land on second, still up
    assert (first.players, second.players, third.players) == (0, 8, 0)
    clock.advance(10 * 60)  # second closes: all 8 on third
    assert (second.players, third.players) == (0, 8)
    with pytest.raises(ValueError, match="whole number"):
        third.players = -1
    third.players = 3  # set: what it has now, the players it took over included
    assert third.players == 3
