"""The words and records of a Server Management restart, shared by both front ends."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from fakeserver import FakeOpenCloud
from rbxsecrets_magic.errors import InvalidInputError
from rbxsecrets_magic.opencloud.server_management import (
    PlaceForecast,
    RestartForecast,
    RestartNotFinishedError,
)
from rbxsecrets_magic.operations.server_restarts import (
    default_timeout,
    describe_forecast,
    follow_restart,
    forecast_json,
    nothing_running,
    parse_timeout,
    states_json,
    summarize_restart,
)
from tests.rbxsecrets_magic.support import client_for


def test_the_forecast_sentence_is_the_issues_wording() -> None:
    forecast = RestartForecast(
        111, (PlaceForecast(1818, 30, 2, 30, 2), PlaceForecast(1819, 11, 1, 11, 1))
    )
    assert describe_forecast("111 (staging)", forecast, 10) == (
        "Restart 3 servers (41 players) in universe 111 (staging): places 1818 (2 servers, "
        "30 players) and 1819 (1 server, 11 players); they stop taking players now and shut "
        "down in 10 minutes."
    )
    one = RestartForecast(5, (PlaceForecast(7, 1, 1), PlaceForecast(8, 0, 0)))
    assert describe_forecast("5", one, None) == (
        "Restart 1 server (1 player) in universe 5: place 7 (1 server, 1 player); they shut "
        "down now."
    )
    three = RestartForecast(5, tuple(PlaceForecast(p, 2, 1) for p in (1, 2, 3)))
    assert "places 1 (1 server, 2 players), 2 (1 server, 2 players) and 3 (" in (
        describe_forecast("5", three, 1)
    )
    assert describe_forecast("5", three, 1).endswith("shut down in 1 minute.")


def test_nothing_running() -> None:
    assert nothing_running("111 (staging)") == (
        "No servers are running in universe 111 (staging): nothing to restart."
    )
    assert nothing_running("5", (7, 8)) == (
        "No servers are running in places 7, 8 in universe 5: nothing to restart."
    )


@pytest.mark.parametrize("given", ["0", "-1", "abc", "", "inf", "nan", 0])
def test_bad_timeouts_are_refused(given: Any) -> None:
    with pytest.raises(InvalidInputError, match="--timeout takes a positive number"):
        parse_timeout(given)


def test_timeouts() -> None:
    assert parse_timeout(None) is None
    assert parse_timeout("90") == 90.0
    assert default_timeout(None) == 600.0
    assert default_timeout(5) == 900.0


class Bar:
    def __init__(self) -> None:
        self.steps: list[float] = []
        self.postfixes: list[str] = []

    def update(self, n: float | None = 1) -> bool | None:
        self.steps.append(n or 0)
        return None

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfixes.append(s)


def test_follow_counts_servers_and_ends_with_one_line(fake_open_cloud: Any) -> None:
    fake: FakeOpenCloud = fake_open_cloud.fake
    uid = fake_open_cloud.universe_id
    client = client_for(fake_open_cloud, clock=fake.clock, sleep=fake.advance)
    for place, players in ((1818, 20), (1818, 10), (1819, 11)):
        fake.start_server(uid, place, players=players)
    launched = client.launch_restart(bleed_off_minutes=5)
    bars: list[tuple[int, str, Bar]] = []

    @contextmanager
    def progress(total: int, description: str) -> Iterator[Bar]:
        bar = Bar()
        bars.append((total, description, bar))
        yield bar

    final = follow_restart(client, launched, timeout=900, progress=progress, label="9 (x)")
    ((total, description, bar),) = bars
    assert (total, description, sum(bar.steps)) == (3, "Restarting universe 9 (x)", 3)
    assert bar.postfixes[0] == "41 players, 3 servers left"
    assert bar.postfixes[-1] == "0 players, 0 servers left"
    assert summarize_restart("9 (x)", final) == (
        "Restart of universe 9 (x) succeeded: 3 servers in 2 places "
        "restarted (41 players moved to new servers)."
    )
    assert states_json(final) == {
        "1818": {"state": "SUCCEEDED", "remaining_players": 0, "remaining_instances": 0},
        "1819": {"state": "SUCCEEDED", "remaining_players": 0, "remaining_instances": 0},
    }
    # The new servers took their players over.
    assert forecast_json(client.forecast_restart())["1818"]["players_impacted"] == 30
    again = client.launch_restart(bleed_off_minutes=10)
    with pytest.raises(RestartNotFinishedError):
        follow_restart(client, again, timeout=60, progress=progress, label="9")
