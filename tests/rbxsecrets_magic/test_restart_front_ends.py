"""Issue 16's rollout through both front ends, against the fake over HTTP.

Two places, three game servers with players: the confirmation shows the forecast the fake
computed; ``--yes --wait --bleed-off 5`` follows the restart to SUCCEEDED (the fake's clock is
moved by the test the moment the launch lands, so nothing sleeps out the bleed-off); the old
servers are gone and the new ones send the new value (the oracle decrypts it, ``http_request``
shows what a game server sends). Also: nothing running, a timeout, a forecast refused for
its permission, bad input, and a legacy restart during a Server Management one.
"""

from __future__ import annotations

import io
from typing import Any

import pytest

from fakeserver import FakeOpenCloud
from fakeserver.backend.models import JournalEntry
from tests.rbxsecrets_magic.support import MagicShell
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, Terminal, rbx

A, B = 1818, 1819
OLD, NEW = "pk_live_old_0000", "pk_live_new_1111"
URL = "https://api.example.com/v1/charge"
FORECAST = (
    "Restart 3 servers (41 players) in universe {u}: places 1818 (2 servers, 30 players) and "
    "1819 (1 server, 11 players); they stop taking players now and shut down in 5 minutes."
)


def sends(server: Any) -> str:
    token = server.get_secret("PAYMENTS_KEY").add_prefix("Bearer ")
    return str(server.http_request(URL, {"Authorization": token}).headers["Authorization"])


def three_servers(fake: FakeOpenCloud, universe: int) -> list[Any]:
    fake.put_secret(universe, "PAYMENTS_KEY", OLD, domain="api.example.com")
    return [
        fake.start_server(universe, A, players=20),
        fake.start_server(universe, A, players=10),
        fake.start_server(universe, B, players=11),
    ]


def fast_forward(fake: FakeOpenCloud, minutes: float) -> None:
    """Move the fake's clock past the bleed-off as soon as a launch is answered."""

    def listener(entry: JournalEntry) -> None:
        if entry.operation == "launch_restart" and entry.status == 200:
            fake.advance(minutes * 60)

    fake.add_listener(listener)


def operations(fake: FakeOpenCloud) -> list[str | None]:
    return [entry.operation for entry in fake.journal]


def rolled_out(fake: FakeOpenCloud, universe: int, old: list[Any]) -> None:
    """The old servers drained and closed; every server now sends the new value."""
    assert not any(server.running for server in old)
    assert fake.plaintext(universe, "PAYMENTS_KEY") == NEW
    servers = fake.servers(universe)
    assert len(servers) == 3 and [sends(s) for s in servers] == [f"Bearer {NEW}"] * 3
    assert sorted(s.players for s in servers) == [10, 11, 20]  # the players moved over
    assert all(s.restart_scheduled is not None for s in old)


# --------------------------------------------------------------------------- rbx-secrets


def test_cli_set_restart_wait(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake: FakeOpenCloud = cloud.fake
    old = three_servers(fake, STAGING)
    fast_forward(fake, 5)
    monkeypatch.setenv("PAY_NEW", NEW)
    result = rbx(
        "set", "PAYMENTS_KEY", "--from-env", "PAY_NEW", "--universe", "staging",
        "--restart", "--bleed-off", "5", "--yes", "--wait", "--json",
    )  # fmt: skip
    assert result.code == 0, result.err
    label = f"{STAGING} (staging)"
    assert FORECAST.format(u=label) in result.err.splitlines()
    (restart,) = result.json["restarts"]
    assert restart["result"] == "done"
    assert restart["forecast"]["1818"]["players_impacted"] == 30
    assert restart["forecast"]["1819"]["instances_impacted"] == 1
    assert restart["states"] == {
        "1818": {"state": "SUCCEEDED", "remaining_players": 0, "remaining_instances": 0},
        "1819": {"state": "SUCCEEDED", "remaining_players": 0, "remaining_instances": 0},
    }
    summary = result.err.strip().splitlines()[-1]
    assert summary == (
        f"Restart of universe {label} succeeded: 3 servers in 2 "
        "places restarted (41 players moved to new servers)."
    )
    rolled_out(fake, STAGING, old)
    assert operations(fake).count("launch_restart") == 1
    assert "restart_servers" not in operations(fake)


def test_cli_restart_asks_with_the_forecast(cloud: Any) -> None:
    fake: FakeOpenCloud = cloud.fake
    three_servers(fake, PRODUCTION)
    result = rbx("restart", "--universe", "production", "--bleed-off", "5", stdin=Terminal("n\n"))
    assert result.code == 1
    assert FORECAST.format(u=f"{PRODUCTION} (production)") + "\nRestart? [y/N]" in result.err
    assert "restart not confirmed; nothing was restarted" in result.err
    assert "launch_restart" not in operations(fake)


def test_cli_with_nothing_running_says_so_and_asks_nothing(cloud: Any) -> None:
    result = rbx("restart", "--universe", "production", "--json")  # no terminal, no --yes
    assert result.code == 0, result.err
    assert result.err.strip() == (
        f"No servers are running in universe {PRODUCTION} (production): nothing to restart."
    )
    assert result.json == {"restarts": []}
    assert operations(cloud.fake) == ["forecast_restart"]


def test_cli_timeout_says_what_is_still_running(cloud: Any) -> None:
    fake: FakeOpenCloud = cloud.fake
    three_servers(fake, STAGING)
    result = rbx(
        "restart", "--universe", "staging", "--bleed-off", "10", "--yes", "--wait",
        "--timeout", "0.5", "--json",
    )  # fmt: skip
    assert result.code == 1
    (restart,) = result.json["restarts"]
    assert restart["result"] == "unfinished"
    assert (
        "did not finish within 0.5 s: place 1818 DELAYING (2 servers, 30 players left); "
        "place 1819 DELAYING (1 server, 11 players left)"
    ) in result.err
    assert restart["states"]["1818"]["state"] == "DELAYING"


def test_cli_a_refused_forecast_launches_nothing_and_names_the_permission(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake: FakeOpenCloud = cloud.fake
    servers = three_servers(fake, STAGING)
    monkeypatch.setenv("RBX_API_KEY", fake.add_api_key(universe_read=False).key)
    result = rbx("restart", "--universe", "staging", "--yes")
    assert result.code == 1
    assert f"Forecasting a restart in universe {STAGING} failed: Permission denied" in result.err
    assert "universe:read" in result.err and "--legacy" in result.err
    assert "launch_restart" not in operations(fake)
    assert all(s.accepting_players for s in servers)
    # The older endpoint still works with that key.
    assert rbx("restart", "--universe", "staging", "--yes", "--legacy").code == 0
    assert all(not s.accepting_players for s in servers)


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--bleed-off", "241"], "--bleed-off takes whole minutes from 1 to 240"),
        (["--bleed-off", "61", "--legacy"], "from 1 to 60, Roblox's limit with --legacy"),
        (["--wait", "--timeout", "0"], "--timeout takes a positive number of seconds"),
        (["--wait", "--timeout", "soon"], "--timeout takes a positive number of seconds"),
        (["--timeout", "5"], "--timeout works only with --wait"),
        (["--wait", "--legacy"], "--legacy has no status to follow"),
    ],
)
def test_cli_bad_input_is_one_line_before_any_request(
    cloud: Any, argv: list[str], words: str
) -> None:
    result = rbx("restart", "--universe", "staging", "--yes", *argv)
    assert result.code == 2
    assert words in result.err and len(result.err.strip().splitlines()) == 1
    assert cloud.fake.journal == []
    for writing in (["set", "X", "--from-env", "NOPE"], ["delete", "X", "--yes"]):
        extra = rbx(*writing, "--universe", "staging", "--restart", *argv)
        assert extra.code == 2 and words in extra.err
    assert cloud.fake.journal == []


def test_a_legacy_restart_during_a_server_management_one(cloud: Any) -> None:
    # Section 9: the legacy restart (closeAllVersions) restarts servers of every version; a
    # server already draining is not replaced twice, and its deadline only moves forward.
    fake: FakeOpenCloud = cloud.fake
    old = three_servers(fake, STAGING)
    assert rbx("restart", "--universe", "staging", "--bleed-off", "30", "--yes").code == 0
    first = [server.replaced_by for server in old]
    deadlines = [server.closes_at for server in old]
    fake.put_secret(STAGING, "PAYMENTS_KEY", NEW, domain="api.example.com")
    legacy = rbx("restart", "--universe", "staging", "--legacy", "--bleed-off", "5", "--yes")
    assert legacy.code == 0, legacy.err
    assert "Servers of every place in universe" in legacy.err  # the legacy wording: no forecast
    assert [server.replaced_by for server in old] == first  # not replaced twice
    assert all(s.closes_at < d for s, d in zip(old, deadlines, strict=True))  # brought forward
    assert all(s is not None and not s.accepting_players for s in first)  # restarted too
    fake.advance(5 * 60)
    assert not any(s.running for s in old) and not any(s.running for s in first if s)
    assert [sends(s) for s in fake.servers(STAGING)] == [f"Bearer {NEW}"] * 3
    assert operations(fake).count("restart_servers") == 1


# --------------------------------------------------------------------------- the magics


@pytest.fixture
def shell(cloud_shell: MagicShell) -> MagicShell:
    cloud = cloud_shell.cloud  # type: ignore[attr-defined]
    cloud_shell.old = three_servers(cloud.fake, cloud.universe_id)  # type: ignore[attr-defined]
    return cloud_shell


def test_magic_set_restart_wait(shell: MagicShell, monkeypatch: pytest.MonkeyPatch) -> None:
    cloud = shell.cloud  # type: ignore[attr-defined]
    fast_forward(cloud.fake, 5)
    monkeypatch.setenv("PAY_NEW", NEW)
    shell.ok("%rbx_secret_set PAYMENTS_KEY --from-env PAY_NEW --restart --bleed-off 5 --yes --wait")
    printed = shell.last_output
    assert FORECAST.format(u=cloud.universe_id) in printed
    assert f"of universe {cloud.universe_id} succeeded: 3 servers in 2 places restarted" in printed
    rolled_out(cloud.fake, cloud.universe_id, shell.old)  # type: ignore[attr-defined]


def test_magic_restart_asks_with_the_forecast(
    shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    import builtins

    cloud = shell.cloud  # type: ignore[attr-defined]
    asked: list[str] = []

    def answer(prompt: str = "") -> str:
        asked.append(prompt)
        return "y"

    monkeypatch.setattr(builtins, "input", answer)
    fast_forward(cloud.fake, 5)
    cloud.fake.put_secret(cloud.universe_id, "PAYMENTS_KEY", NEW, domain="api.example.com")
    shell.ok("%rbx_servers_restart --bleed-off 5 --wait")
    assert asked == ["Restart? [y/N] "]
    assert FORECAST.format(u=cloud.universe_id) in shell.last_output
    rolled_out(cloud.fake, cloud.universe_id, shell.old)  # type: ignore[attr-defined]


def test_magic_bad_input_is_one_line(shell: MagicShell) -> None:
    cloud = shell.cloud  # type: ignore[attr-defined]
    before = len(cloud.fake.journal)
    for line, words in (
        ("%rbx_servers_restart --bleed-off 241", "from 1 to 240"),
        ("%rbx_servers_restart --legacy --bleed-off 61", "from 1 to 60"),
        ("%rbx_servers_restart --wait --timeout -1", "--timeout takes a positive number"),
        ("%rbx_secret_set PAYMENTS_KEY --wait", "--wait works only with --restart"),
    ):
        message = shell.usage_error(line)
        assert words in message and "\n" not in message
    assert len(cloud.fake.journal) == before


def test_magic_timeout_fails_with_what_is_still_running(shell: MagicShell) -> None:
    message = shell.usage_error("%rbx_servers_restart --yes --wait --timeout 0.5 --bleed-off 9")
    assert "not finished in universe" in message
    assert "DELAYING (2 servers, 30 players left)" in shell.last_output


def test_progress_bar_on_a_terminal(cloud: Any) -> None:
    from rbxsecrets_magic.cli.app import Console, main

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    fake: FakeOpenCloud = cloud.fake
    three_servers(fake, STAGING)
    fast_forward(fake, 1)
    err = Tty()
    argv = ["restart", "--universe", "staging", "--bleed-off", "1", "--yes", "--wait"]
    assert main(argv, Console(stdout=io.StringIO(), stderr=err, stdin=io.StringIO())) == 0
    assert f"Restarting universe {STAGING} (staging)" in err.getvalue()
    assert "3/3" in err.getvalue() and "server" in err.getvalue()
    assert "0 players, 0 servers left" in err.getvalue()  # the bleed-off was skipped


def test_magic_takes_the_whole_bleed_off_range(shell: MagicShell) -> None:
    cloud = shell.cloud  # type: ignore[attr-defined]
    shell.ok("%rbx_servers_restart --bleed-off 240 --yes")
    assert "shut down in 240 minutes." in shell.last_output
    assert "launch_restart" in operations(cloud.fake)


def test_magic_a_refused_forecast_is_one_line_and_launches_nothing(
    shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    cloud = shell.cloud  # type: ignore[attr-defined]
    key = cloud.fake.add_api_key(universe_read=False).key
    monkeypatch.setenv("RBX_API_KEY", key)
    message = shell.usage_error("%rbx_servers_restart --yes")
    assert "Forecasting a restart in universe" in message and "universe:read" in message
    assert "--legacy" in message and key not in message
    assert "launch_restart" not in operations(cloud.fake)
    shell.ok("%rbx_servers_restart --yes --legacy")
    assert "restart_servers" in operations(cloud.fake)
