"""The engine surface besides HttpService: task on the fake's clock, game's ids, services,
signals, BindToClose, and a one-line error for anything not emulated."""

from __future__ import annotations

import re

import pytest
import requests

from fakeserver.luau import LuauError, LuauGame
from fakeserver.pytest_plugin import FakeOpenCloudHandle, LuauGameFactory


def test_task_wait_moves_the_fakes_clock_not_the_wall_clock(luau_game: LuauGame) -> None:
    cloud = luau_game.cloud
    assert cloud is not None
    before = cloud.fake.backend.clock()
    waited = luau_game.run("local a = task.wait(30) local b = task.wait() return a, b")
    assert waited == (30, 0)
    assert cloud.fake.backend.clock() - before == pytest.approx(30, abs=0.5)


def test_spawn_defer_delay_and_cancel_run_in_roblox_order(luau_game: LuauGame) -> None:
    order = luau_game.run(
        """
        local order = {}
        local function log(x) table.insert(order, x) end
        task.defer(log, "defer")
        task.spawn(function() log("spawn") task.wait(1) log("spawn after 1s") end)
        task.delay(2, log, "delay 2s")
        local cancelled = task.delay(1.5, log, "cancelled")
        task.cancel(cancelled)
        log("main")
        task.wait(3)
        return order
        """
    )
    assert order == ["spawn", "main", "defer", "spawn after 1s", "delay 2s"]


def test_tasks_still_waiting_run_when_the_test_advances(luau_game: LuauGame) -> None:
    luau_game.run(
        """
        task.spawn(function()
            while true do
                task.wait(60)
                print("heartbeat")
            end
        end)
        """
    )
    assert luau_game.output == []
    luau_game.advance(150)
    assert luau_game.output == ["heartbeat", "heartbeat"]


def test_an_error_in_a_spawned_thread_fails_the_run(luau_game: LuauGame) -> None:
    with pytest.raises(LuauError, match=r"^Spawner:1: boom$"):
        luau_game.run("task.spawn(function() error('boom') end)", name="Spawner")


def test_task_arguments_are_checked(luau_game: LuauGame) -> None:
    with pytest.raises(LuauError, match="task.wait expects a number of seconds, got string"):
        luau_game.run("task.wait('soon')")
    with pytest.raises(LuauError, match="task.spawn expects a function or a thread, got nil"):
        luau_game.run("task.spawn(nil)")


@pytest.mark.fake_open_cloud(universes=[4_300_000_001])
def test_game_ids_are_the_servers(luau_game: LuauGame) -> None:
    server = luau_game.server
    assert luau_game.run("return game.JobId, game.PlaceId, game.GameId, game.PlaceVersion") == (
        server.id,
        server.place_id,
        4_300_000_001,
        1,
    )


def test_services_and_players(luau_game: LuauGame) -> None:
    assert luau_game.run(
        """
        local Players = game:GetService("Players")
        local RunService = game:GetService("RunService")
        local fired = false
        Players.PlayerAdded:Connect(function() fired = true end)
        return #Players:GetPlayers(), Players.LocalPlayer, RunService:IsServer(),
            RunService:IsStudio(), game:GetService("ServerStorage").ClassName,
            game.HttpService == game:GetService("HttpService"), fired,
            game:IsA("ServiceProvider"), script:IsA("BaseScript")
        """
    ) == (0, None, True, False, "ServerStorage", True, False, True, True)


def test_a_method_called_with_a_dot_is_roblox_s_error(luau_game: LuauGame) -> None:
    with pytest.raises(LuauError, match="Expected ':' not '.' calling member function GetService"):
        luau_game.run("return game.GetService('HttpService')")


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("return game:GetService('RunService').Heartbeat", "Heartbeat is not a valid member of"),
        ("game.Name = 'x'", "Name of Game cannot be assigned to in the fake"),
        ("return Enum.KeyCode", "KeyCode is not a valid member of Enum (not emulated"),
        (
            "return Enum.HttpContentType.Nope",
            'Nope is not a valid member of "Enum.HttpContentType"',
        ),
        ("return Instance.new('Part')", "Instance is not emulated by the fake's Luau sandbox"),
    ],
)
def test_what_the_fake_does_not_emulate_is_named(
    luau_game: LuauGame, source: str, message: str
) -> None:
    with pytest.raises(LuauError, match=re.escape(message)):
        luau_game.run(source)


def test_enums(luau_game: LuauGame) -> None:
    assert luau_game.run(
        "local e = Enum.CloseReason.DeveloperUpdate\n"
        "return tostring(e), e.Name, typeof(e), e.EnumType == Enum.CloseReason"
    ) == ("Enum.CloseReason.DeveloperUpdate", "DeveloperUpdate", "EnumItem", True)


def test_bind_to_close_runs_when_the_game_shuts_down(luau_game: LuauGame) -> None:
    luau_game.run("game:BindToClose(function() task.wait(1) print('saved') end)")
    assert luau_game.output == []
    luau_game.shut_down()
    assert luau_game.output == ["saved"]


def test_server_restart_scheduled_reaches_connected_handlers(luau_game: LuauGame) -> None:
    from fakeserver.backend.occupancy import RestartScheduled

    luau_game.run(
        """
        game.ServerRestartScheduled:Connect(function(restartTime, reason, attributes)
            print(restartTime, reason, attributes.why)
        end)
        """
    )
    notice = RestartScheduled(1_800_000_000, "DeveloperUpdate", {"why": "rotate keys"})
    luau_game.server.notify_restart_scheduled(notice)
    assert luau_game.output == []  # delivered when the game next runs, in the test's thread
    luau_game.advance(0)
    assert luau_game.output == ["1800000000 Enum.CloseReason.DeveloperUpdate rotate keys"]


def test_a_server_management_launch_reaches_the_game_code(
    fake_open_cloud: FakeOpenCloudHandle, luau_game: LuauGame
) -> None:
    luau_game.respond_with(204)
    luau_game.run(
        """
        game.ServerRestartScheduled:Connect(function(restartTime, reason, attributes)
            print(reason.Name, attributes.ticket, restartTime - os.time() > 500)
        end)
        game:BindToClose(function() print("closing") end)
        """
    )
    launched = requests.post(
        f"{fake_open_cloud.url}/server-management/v1/universes/"
        f"{fake_open_cloud.universe_id}/restarts",
        json={"bleedOffDurationMinutes": 10, "attributes": {"ticket": "OPS-7"}},
        headers=fake_open_cloud.headers,
        timeout=10,
    )
    assert launched.status_code == 200, launched.text
    luau_game.advance(11 * 60)
    assert luau_game.output == ["DeveloperUpdate OPS-7 true", "closing"]
    assert luau_game.server.state == "closed"


def test_a_closed_game_runs_nothing(luau_game: LuauGame) -> None:
    luau_game.close()
    luau_game.close()  # twice is fine
    with pytest.raises(RuntimeError, match="closed"):
        luau_game.run("return 1")


def test_output_formats_like_roblox(luau_game: LuauGame) -> None:
    luau_game.run("print('a', 1, nil, true, 2.5) warn('careful', 3) print()")
    assert luau_game.output == ["a 1 nil true 2.5", "[warn] careful 3", ""]


def test_luau_game_factory_games_are_separate(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
) -> None:
    one: LuauGame = luau_game_factory()
    two: LuauGame = luau_game_factory()
    assert one.server.id != two.server.id
    one.run("x = 1")
    assert two.run("return x") is None


def test_a_game_outside_pytest_closes_with_with() -> None:
    from fakeserver import FakeOpenCloud

    fake = FakeOpenCloud()
    universe = fake.add_universe().universe_id
    with LuauGame(fake.start_server(universe), fake=fake) as game:
        assert game.run("return game:GetService('RunService'):IsServer()") is True
    with pytest.raises(RuntimeError, match="closed"):
        game.run("return 1")


def test_bind_to_close_runs_before_a_restart_closes_the_server(
    fake_open_cloud: FakeOpenCloudHandle,
    luau_game_factory: LuauGameFactory,
) -> None:
    fake = fake_open_cloud.fake
    fake.put_secret(
        fake_open_cloud.universe_id, "HOOK", "https://hooks.example.com/t0k", domain="*"
    )
    game: LuauGame = luau_game_factory()
    game.respond_with(204)
    game.run(
        """
        local Http = game:GetService("HttpService")
        game:BindToClose(function()
            Http:PostAsync(Http:GetSecret("HOOK"), "{}")
            print("said goodbye")
        end)
        """
    )
    # A restart with a 10-minute bleed-off, as Roblox's :restartServers takes it.
    answer = requests.post(
        f"{fake_open_cloud.url}/cloud/v2/universes/{fake_open_cloud.universe_id}:restartServers",
        json={"closeAllVersions": True, "bleedOffServers": True, "bleedOffDurationMinutes": 10},
        headers=fake_open_cloud.headers,
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    assert game.server.state == "draining"
    game.advance(9 * 60)
    assert game.output == []
    game.advance(2 * 60)
    assert game.output == ["said goodbye"]
    assert [r.url for r in game.requests] == ["https://hooks.example.com/t0k"]
    assert game.server.state == "closed"
    game.shut_down()  # once only
    assert game.output == ["said goodbye"]


@pytest.mark.fake_open_cloud(universes=[4_300_000_002], http_enabled=False)
def test_the_fake_open_cloud_marker_carries_game_options(luau_game: LuauGame) -> None:
    assert luau_game.run("return game.GameId, game:GetService('HttpService').HttpEnabled") == (
        4_300_000_002,
        False,
    )


@pytest.mark.fake_open_cloud(http_enabled=False)
@pytest.mark.luau_game(http_enabled=True)
def test_the_luau_game_marker_wins(luau_game: LuauGame) -> None:
    assert luau_game.run("return game:GetService('HttpService').HttpEnabled") is True


def test_a_bug_in_the_fake_keeps_its_python_traceback(
    luau_game: LuauGame, monkeypatch: pytest.MonkeyPatch
) -> None:
    from fakeserver.luau import http

    def broken(rt: object, inst: object, args: tuple[object, ...]) -> list[object]:
        raise ZeroDivisionError("a bug in the fake")

    monkeypatch.setitem(http.METHODS, "UrlEncode", broken)
    from fakeserver.luau import members

    monkeypatch.setitem(members._METHODS, ("HttpService", "UrlEncode"), broken)
    with pytest.raises(ZeroDivisionError, match="a bug in the fake"):
        luau_game.run("return game:GetService('HttpService'):UrlEncode('x')")
    # Even when game code catches the error Luau saw.
    with pytest.raises(ZeroDivisionError):
        luau_game.run("return pcall(function() game:GetService('HttpService'):UrlEncode('x') end)")


def test_luau_game_runs_under_the_plugins_network_guard(luau_game: LuauGame) -> None:
    import socket

    from fakeserver.errors import NetworkBlockedError

    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("example.com", 443), timeout=1)
    assert luau_game.cloud is not None


def test_the_docstring_example_works() -> None:
    import builtins
    import doctest

    from fakeserver.luau import game

    # doctest shows results through sys.displayhook, which sets builtins._ for good; an
    # IPython shell later in the session (tests/test_readme.py) would read that stale `_`.
    missing = object()
    saved = getattr(builtins, "_", missing)
    try:
        assert doctest.testmod(game).failed == 0
    finally:
        if saved is missing:
            vars(builtins).pop("_", None)
        else:
            builtins._ = saved  # type: ignore[attr-defined]
