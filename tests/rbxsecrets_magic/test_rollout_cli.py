"""``rbx-secrets restart``, ``check`` and ``--restart``: exit codes and the confirm rule.

Against the fake over HTTP, with two universes (staging and production) and a game server in
each. Exit codes: restart 0 done, 1 failed / declined / nothing could ask without --yes, 2
usage error; check 0 yes, 1 no, 2 usage error.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, Terminal, rbx

ROOT = Path(__file__).resolve().parents[2]
URL = "https://discord.com/api/webhooks/1/abc"


def restarts(cloud: Any) -> list[str]:
    return [e.operation for e in cloud.fake.journal if e.operation == "restart_servers"]


@pytest.fixture
def servers(cloud: Any) -> dict[int, Any]:
    """One running game server per universe, started before any change."""
    return {u: cloud.fake.start_server(u) for u in (STAGING, PRODUCTION)}


def test_restart_with_yes_restarts_each_universe_once(cloud: Any, servers: dict[int, Any]) -> None:
    result = rbx(
        "restart",
        "--legacy",
        "--universe",
        "staging,production",
        "--bleed-off",
        "10",
        "--yes",
        "--json",
    )
    assert result.code == 0, result.err
    assert [(r["universe"], r["result"]) for r in result.json["restarts"]] == [
        (STAGING, "done"),
        (PRODUCTION, "done"),
    ]
    assert result.err.splitlines()[:2] == [
        f"Servers of every place in universe {STAGING} (staging) stop taking players now and "
        "shut down in 10 minutes.",
        f"Servers of every place in universe {PRODUCTION} (production) stop taking players "
        "now and shut down in 10 minutes.",
    ]
    assert all(s.state == "draining" for s in servers.values())
    assert len(restarts(cloud)) == 2


def test_restart_without_yes_and_no_terminal_restarts_nothing(
    cloud: Any, servers: dict[int, Any]
) -> None:
    result = rbx("restart", "--legacy", "--universe", "staging")  # stdin: a pipe, not a terminal
    assert result.code == 1
    assert "nothing was restarted" in result.err and "--yes" in result.err
    assert restarts(cloud) == []
    assert servers[STAGING].accepting_players


@pytest.mark.parametrize(("typed", "code"), [("y\n", 0), ("yes\n", 0), ("n\n", 1), ("\n", 1)])
def test_restart_asks_on_a_terminal(
    cloud: Any, servers: dict[int, Any], typed: str, code: int
) -> None:
    result = rbx("restart", "--legacy", "--universe", "production", stdin=Terminal(typed))
    assert result.code == code, result.err
    assert "Restart them? Players on them are disconnected. [y/N]" in result.err
    assert servers[PRODUCTION].running is (code == 1)
    if code == 1:
        assert "restart not confirmed; nothing was restarted" in result.err
        assert restarts(cloud) == []


def test_restart_in_a_process_without_a_terminal(cloud: Any, servers: dict[int, Any]) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "rbxsecrets_magic", "restart", "--legacy", "--universe", "staging"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "nothing was restarted" in done.stderr
    assert restarts(cloud) == [] and servers[STAGING].accepting_players


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--bleed-off", "0"], "--bleed-off 0 is not a bleed-off"),
        (["--bleed-off", "61"], "1 to 60"),
        (["--bleed-off", "x"], "1 to 60"),
        (["--places", "1,two"], "--places takes place ids"),
        (["--places", "1", "--universe", "staging,production"], "one universe"),
        (["--universe", "nowhere"], ""),
    ],
)
def test_restart_bad_input_exits_2_before_any_request(
    cloud: Any, argv: list[str], words: str
) -> None:
    if "--universe" not in argv:
        argv = [*argv, "--universe", "staging"]
    result = rbx("restart", "--legacy", *argv, "--yes")
    assert result.code == 2, result.err
    assert words in result.err and len(result.err.strip().splitlines()) == 1
    assert list(cloud.fake.journal) == []


def test_restart_with_no_universe_exits_2(cloud: Any, tmp_path: Path) -> None:
    (tmp_path / "rbxsecrets.toml").unlink()
    result = rbx("restart", "--legacy", "--yes")
    assert result.code == 2
    assert "no universe to act on" in result.err


def test_restart_failure_and_unknown_outcome_exit_1(cloud: Any, servers: dict[int, Any]) -> None:
    cloud.fake.inject_fault("restart_servers", status=503)
    result = rbx("restart", "--legacy", "--universe", "staging,production", "--yes", "--json")
    assert result.code == 1
    assert [r["result"] for r in result.json["restarts"]] == ["unknown", "done"]
    assert f"Restart outcome unknown in universe {STAGING} (staging)" in result.err
    assert len(restarts(cloud)) == 2  # one each, the unknown one never sent again


def test_set_restart_rolls_out_to_every_universe_written(
    cloud: Any, servers: dict[int, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK", URL)
    result = rbx(
        "set",
        "DISCORD_WEBHOOK",
        "--from-env",
        "HOOK",
        "--domain",
        "discord.com",
        "--universe",
        "staging,production",
        "--restart",
        "--legacy",
        "--yes",
    )
    assert result.code == 0, result.err
    for universe, old in servers.items():
        assert not old.running
        (new,) = cloud.fake.servers(universe)
        request = new.http_request(new.get_secret("DISCORD_WEBHOOK"))
        assert request.url == URL


def test_set_restart_without_yes_and_no_terminal_changes_nothing(
    cloud: Any, servers: dict[int, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK", URL)
    result = rbx(
        "set",
        "DISCORD_WEBHOOK",
        "--from-env",
        "HOOK",
        "--universe",
        "staging",
        "--restart",
        "--legacy",
    )
    assert result.code == 1
    assert "nothing was changed and nothing was restarted" in result.err
    assert list(cloud.fake.journal) == []


def test_set_restart_skips_the_universe_whose_write_failed(
    cloud: Any, servers: dict[int, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOOK", URL)
    cloud.fake.inject_fault("create_secret", status=400)  # staging's write, the first
    result = rbx(
        "set",
        "DISCORD_WEBHOOK",
        "--from-env",
        "HOOK",
        "--universe",
        "staging,production",
        "--restart",
        "--legacy",
        "--yes",
        "--json",
    )
    assert result.code == 1
    assert [r["result"] for r in result.json["results"]] == ["failed", "done"]
    assert [r["universe"] for r in result.json["restarts"]] == [PRODUCTION]
    assert (
        f"Not restarting universe {STAGING} (staging): a write there failed; fix it "
        "first, then restart."
    ) in result.err
    assert servers[STAGING].accepting_players and not servers[PRODUCTION].running


def test_delete_restart(cloud: Any, servers: dict[int, Any]) -> None:
    cloud.fake.put_secret(STAGING, "OLD_KEY", "v")
    result = rbx(
        "delete",
        "OLD_KEY",
        "--universe",
        "staging",
        "--restart",
        "--legacy",
        "--bleed-off",
        "2",
        "--yes",
    )
    assert result.code == 0, result.err
    assert servers[STAGING].state == "draining" and servers[PRODUCTION].accepting_players


def test_apply_restart_restarts_only_universes_that_changed(
    cloud: Any, servers: dict[int, Any]
) -> None:
    first = rbx("apply", "--env-file", ".env", "--restart", "--legacy", "--yes", "--json")
    assert first.code == 0, first.err
    assert sorted(r["universe"] for r in first.json["restarts"]) == [STAGING, PRODUCTION]
    assert not any(s.running for s in servers.values())
    again = rbx("apply", "--env-file", ".env", "--restart", "--legacy", "--yes", "--json")
    assert again.code == 0, again.err
    assert "restarts" not in again.json
    assert "nothing changed there" in again.err
    assert len(restarts(cloud)) == 2


def test_bleed_off_needs_restart(cloud: Any) -> None:
    result = rbx("set", "X", "--from-env", "HOME", "--universe", "staging", "--bleed-off", "5")
    assert result.code == 2 and "--bleed-off works only with --restart" in result.err


# ------------------------------------------------------------------------------ check


@pytest.fixture
def webhook(cloud: Any) -> None:
    cloud.fake.put_secret(STAGING, "DISCORD_WEBHOOK", URL, domain="discord.com")
    cloud.fake.put_secret(PRODUCTION, "DISCORD_WEBHOOK", URL, domain="*.discord.com")


def test_check_yes_exits_0(cloud: Any, webhook: None) -> None:
    result = rbx("check", "DISCORD_WEBHOOK", "https://discord.com/api", "--universe", "staging")
    assert result.code == 0, result.err
    assert result.out.startswith("Yes: a game server can send DISCORD_WEBHOOK to discord.com")


def test_check_no_exits_1_and_names_the_domain(cloud: Any, webhook: None) -> None:
    result = rbx(
        "check",
        "DISCORD_WEBHOOK",
        "https://discord.com/api",
        "--universe",
        "staging,production",
        "--json",
    )
    assert result.code == 1
    checks = {c["universe"]: c for c in result.json["checks"]}
    assert checks[STAGING]["allowed"] and not checks[PRODUCTION]["allowed"]
    assert checks[PRODUCTION]["suggestions"] == ["discord.com"]
    assert (
        f"Universe {PRODUCTION} (production): No: the domain '*.discord.com' of "
        "DISCORD_WEBHOOK does not allow discord.com."
    ) in result.err


def test_check_a_missing_secret_is_one_line_exit_1(cloud: Any) -> None:
    result = rbx("check", "NOPE", "https://api.example.com/", "--universe", "staging")
    assert result.code == 1
    assert result.out.strip() == (
        f"No secret named 'NOPE' in universe {STAGING} (staging): a game server there cannot "
        'send it anywhere (GetSecret fails with "Can\'t find secret with given key"); set it '
        "with --domain api.example.com to allow api.example.com."
    )


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["DISCORD_WEBHOOK", "discord.com/api"], "Invalid URL: it has no host"),
        (["DISCORD_WEBHOOK", "https://"], "Invalid URL: it has no host"),
        (["not a name", "https://discord.com"], "NAME is not a valid secret id"),
        (["DISCORD_WEBHOOK"], "required"),
    ],
)
def test_check_usage_errors_exit_2_before_any_request(
    cloud: Any, argv: list[str], words: str
) -> None:
    result = rbx("check", *argv, "--universe", "staging")
    assert result.code == 2
    assert words in result.err and len(result.err.strip().splitlines()) == 1
    assert list(cloud.fake.journal) == []


def test_check_json_on_stdout_only(cloud: Any, webhook: None) -> None:
    result = rbx(
        "check",
        "DISCORD_WEBHOOK",
        "https://x.discord.com/",
        "--universe",
        "production",
        "--json",
        stdin=io.StringIO(),
    )
    assert result.code == 0
    assert json.loads(result.out)["checks"][0]["host"] == "x.discord.com"
