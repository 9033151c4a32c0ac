"""The fleet: place versions, the closeAllVersions trap, bleed-off on the fake's clock."""

from __future__ import annotations

import pytest

from fakeserver.backend.fleet import Fleet, Replacement
from fakeserver.backend.gameservers import GameServerError

START = 101
OTHER = 202
URL = "https://api.example.com/"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fleet(clock: Clock) -> Fleet:
    return Fleet(START, clock)


def secrets(value: str) -> dict[str, tuple[str, str | None]]:
    return {"TOKEN": (value, "api.example.com")}


def sent_token(server: object) -> str:
    request = server.http_request(URL, headers={"T": server.get_secret("TOKEN")})  # type: ignore[attr-defined]
    return str(request.headers["T"])


def test_servers_start_on_the_start_place_at_version_1(fleet: Fleet) -> None:
    server = fleet.start_server(secrets("v1"))
    assert (server.place_id, server.place_version) == (START, 1)
    assert fleet.servers() == [server]
    assert fleet.place_ids() == [START]
    assert fleet.server(server.id) is server
    assert fleet.server("nope") is None
    assert len({fleet.start_server({}).id for _ in range(5)}) == 5


def test_publish_bumps_one_place_and_running_servers_keep_their_version(fleet: Fleet) -> None:
    old = fleet.start_server(secrets("v1"))
    other = fleet.start_server(secrets("v1"), OTHER)
    assert fleet.publish_place() == 2
    assert fleet.publish_place(START) == 3
    assert fleet.place_version(START) == 3
    assert fleet.place_version(OTHER) == 1
    assert (old.place_version, other.place_version) == (1, 1)
    assert fleet.start_server({}).place_version == 3
    assert fleet.place_ids() == [START, OTHER]


def test_publish_of_an_unknown_place_adds_it(fleet: Fleet) -> None:
    assert fleet.publish_place(999) == 2
    assert fleet.start_server({}, 999).place_version == 2


def test_the_trap_a_default_restart_after_a_secrets_only_change_restarts_nothing(
    fleet: Fleet,
) -> None:
    server = fleet.start_server(secrets("v1"))
    # The store changed (v2) but nothing was published.
    assert fleet.restart(secrets("v2")) == []
    assert fleet.servers() == [server]
    assert server.accepting_players
    assert sent_token(server) == "v1"


def test_close_all_versions_restarts_every_server_with_the_current_secrets(
    fleet: Fleet,
) -> None:
    a = fleet.start_server(secrets("v1"))
    b = fleet.start_server(secrets("v1"), OTHER)
    replaced = fleet.restart(secrets("v2"), close_all_versions=True)
    assert [r.old for r in replaced] == [a, b]
    assert all(isinstance(r, Replacement) for r in replaced)
    assert not a.running and not b.running
    with pytest.raises(GameServerError, match="has shut down"):
        sent_token(a)
    news = [r.new for r in replaced]
    assert fleet.servers() == news
    assert [s.place_id for s in news] == [START, OTHER]
    assert [sent_token(s) for s in news] == ["v2", "v2"]


def test_a_default_restart_after_publish_restarts_only_older_versions(fleet: Fleet) -> None:
    old = fleet.start_server(secrets("v1"))
    untouched_place = fleet.start_server(secrets("v1"), OTHER)
    fleet.publish_place(START)
    current = fleet.start_server(secrets("v1"))
    replaced = fleet.restart(secrets("v2"))
    assert [r.old for r in replaced] == [old]
    new = replaced[0].new
    assert (new.place_id, new.place_version) == (START, 2)
    assert fleet.servers() == [untouched_place, current, new]
    assert sent_token(new) == "v2"
    assert sent_token(current) == "v1"


def test_place_ids_limit_the_restart(fleet: Fleet) -> None:
    a = fleet.start_server(secrets("v1"))
    b = fleet.start_server(secrets("v1"), OTHER)
    replaced = fleet.restart(secrets("v2"), place_ids=[OTHER, 12345], close_all_versions=True)
    assert [r.old for r in replaced] == [b]
    assert a.running and not b.running
    # An empty list means every place, like None.
    assert len(fleet.restart(secrets("v3"), place_ids=[], close_all_versions=True)) == 2


def test_bleed_off_keeps_old_servers_until_the_deadline(fleet: Fleet, clock: Clock) -> None:
    old = fleet.start_server(secrets("v1"))
    (replacement,) = fleet.restart(secrets("v2"), close_all_versions=True, bleed_off_minutes=10)
    new = replacement.new
    assert old.closes_at == clock.now + 600
    assert (old.running, old.accepting_players, old.state) == (True, False, "draining")
    assert (new.accepting_players, new.state) == (True, "running")
    assert fleet.servers() == [old, new]
    assert sent_token(old) == "v1"
    assert sent_token(new) == "v2"
    clock.now += 599.5
    assert old.running
    clock.now += 0.5
    assert not old.running
    assert fleet.servers() == [new]
    assert fleet.server(old.id) is None


def test_a_draining_server_is_not_replaced_twice_and_its_deadline_only_moves_forward(
    fleet: Fleet, clock: Clock
) -> None:
    old = fleet.start_server(secrets("v1"))
    first = fleet.restart(secrets("v2"), close_all_versions=True, bleed_off_minutes=30)
    deadline = old.closes_at
    second = fleet.restart(secrets("v3"), close_all_versions=True, bleed_off_minutes=60)
    # The second restart replaces the first replacement only; `old` keeps its deadline.
    assert [r.old for r in second] == [first[0].new]
    assert old.closes_at == deadline
    third = fleet.restart(secrets("v4"), place_ids=[START], close_all_versions=True)
    assert not old.running
    assert len(third) == 1  # only second[0].new was still taking players
    assert [sent_token(s) for s in fleet.servers()] == ["v4"]


def test_restart_rejects_a_bleed_off_outside_1_to_60(fleet: Fleet) -> None:
    server = fleet.start_server({})
    for minutes in (0, 61, -1):
        with pytest.raises(ValueError, match="1 to 60"):
            fleet.restart({}, close_all_versions=True, bleed_off_minutes=minutes)
    assert server.accepting_players


@pytest.mark.parametrize("bad", [0, -5, True, "7", 1.5])
def test_place_ids_are_checked(fleet: Fleet, bad: object) -> None:
    with pytest.raises(ValueError, match="positive integer"):
        fleet.start_server({}, bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        fleet.publish_place(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive integer"):
        fleet.restart({}, place_ids=[bad])  # type: ignore[list-item]


def test_repr_shows_counts(fleet: Fleet) -> None:
    fleet.start_server(secrets("v1"))
    assert repr(fleet) == "Fleet(places=1, servers=1)"
