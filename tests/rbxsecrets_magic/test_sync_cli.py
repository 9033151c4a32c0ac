"""``rbx-secrets`` set, list and delete, usage errors and exit codes, against the fake over HTTP."""

from __future__ import annotations

import getpass
import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.cli.app import COMMANDS, build_parser
from tests.rbxsecrets_magic.sync_helpers import (
    PRODUCTION,
    STAGING,
    Terminal,
    rbx,
)

ROOT = Path(__file__).resolve().parents[2]


def test_set_from_stdin_drops_one_newline_in_every_universe(cloud: Any) -> None:
    result = rbx(
        "set",
        "API_TOKEN",
        "--stdin",
        "--universe",
        "staging,production",
        "--domain",
        "*.example.com",
        "--json",
        stdin=io.StringIO("tok3n-value\n\n"),
    )
    assert result.code == 0, result.err
    assert [(r["universe"], r["action"], r["result"]) for r in result.json["results"]] == [
        (STAGING, "created", "done"),
        (PRODUCTION, "created", "done"),
    ]
    for universe in (STAGING, PRODUCTION):
        assert cloud.plaintext("API_TOKEN", universe) == "tok3n-value\n"
    assert "tok3n" not in result.out + result.err


def test_set_records_the_state_so_a_plan_agrees(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANALYTICS_KEY", "a-value")
    monkeypatch.setenv("DISCORD_WEBHOOK", "d-value")
    assert (
        rbx("set", "ANALYTICS_KEY", "--from-env", "ANALYTICS_KEY", "--universe", "staging").code
        == 0
    )
    rows = {r["id"]: r for r in rbx("plan", "--environment", "staging", "--json").json["changes"]}
    assert rows["ANALYTICS_KEY"]["action"] == "unchanged"
    assert rows["DISCORD_WEBHOOK"]["action"] == "create"


def test_set_from_file(cloud: Any, tmp_path: Path) -> None:
    (tmp_path / "token.txt").write_text("from-a-file\n")
    result = rbx("set", "FILE_TOKEN", "--from-file", "token.txt", "--universe", str(STAGING))
    assert result.code == 0, result.err
    assert result.out.startswith(f"Created secret 'FILE_TOKEN' in universe {STAGING}")
    assert cloud.plaintext("FILE_TOKEN", STAGING) == "from-a-file"


def test_set_prompts_without_echo_on_a_terminal(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return "typed-value"

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    result = rbx("set", "TYPED", "--universe", "staging", stdin=Terminal())
    assert result.code == 0, result.err
    assert asked == [f"Value for TYPED (universe {STAGING}, staging): "]
    assert cloud.plaintext("TYPED", STAGING) == "typed-value"


def test_set_refuses_a_terminal_that_cannot_hide_input(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def echoing_getpass(prompt: str = "") -> str:
        import warnings

        warnings.warn("Can not control echo on the terminal.", getpass.GetPassWarning, stacklevel=2)
        return "would-be-echoed"

    monkeypatch.setattr(getpass, "getpass", echoing_getpass)
    cloud.fake.clear_journal()
    result = rbx("set", "TYPED", "--universe", "staging", stdin=Terminal())
    assert result.code == 2
    assert "cannot hide" in result.err
    assert [e for e in cloud.fake.journal if e.method != "GET"] == []


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["set", "X", "--universe", "staging"], io.StringIO(""), "stdin is not a terminal"),
        (["set", "X", "--stdin", "--universe", "staging"], Terminal("v\n"), "--stdin reads a pipe"),
        (["set", "X", "--stdin", "--universe", "staging"], io.StringIO("\n"), "nothing came"),
        (
            ["set", "X", "--from-env", "NOT_SET_ANYWHERE", "--universe", "staging"],
            None,
            "--from-env is not set",
        ),
        (["set", "X"], None, "no universe to act on"),
    ],
)
def test_set_usage_errors(
    cloud: Any, argv: list[str], stdin: io.StringIO | None, message: str
) -> None:
    result = rbx(*argv, stdin=stdin)
    assert result.code == 2
    assert message in result.err
    assert result.err.count("\n") == 1
    assert cloud.fake.secret_ids(STAGING) == []


def test_list_json_shape_and_stale(cloud: Any) -> None:
    cloud.fake.put_secret(STAGING, "OLD", "v", domain="x.com")
    cloud.fake.rotate_key(STAGING)
    cloud.fake.put_secret(STAGING, "NEW", "v")
    result = rbx("list", "--universe", "staging", "--json")
    assert result.code == 0
    rows = result.json["secrets"]
    assert [set(r) for r in rows] == [
        {"universe", "environment", "id", "domain", "key_id", "stale", "create_time", "update_time"}
    ] * 2
    by_id = {r["id"]: r for r in rows}
    assert by_id["OLD"]["stale"] is True and by_id["OLD"]["domain"] == "x.com"
    assert by_id["NEW"]["stale"] is False and by_id["NEW"]["domain"] is None
    assert by_id["NEW"]["update_time"].endswith("Z")
    text = rbx("list", "--universe", "staging")
    assert "stale" in text.out and "OLD" in text.out


def test_delete_needs_yes_without_a_terminal(cloud: Any) -> None:
    cloud.fake.put_secret(STAGING, "GONE", "v")
    cloud.fake.put_secret(STAGING, "STAYS", "v")
    refused = rbx("delete", "GONE", "--universe", "staging")
    assert refused.code == 1 and "--yes" in refused.err
    missing = rbx("delete", "GONE", "NOPE", "--universe", "staging", "--yes")
    assert missing.code == 2 and "--missing-ok" in missing.err
    assert cloud.fake.secret_ids(STAGING) == ["GONE", "STAYS"]
    done = rbx("delete", "GONE", "NOPE", "--missing-ok", "--universe", "staging", "--yes", "--json")
    assert done.code == 0, done.err
    assert [(r["id"], r["result"]) for r in done.json["results"]] == [
        ("GONE", "done"),
        ("NOPE", "skipped"),
    ]
    assert cloud.fake.secret_ids(STAGING) == ["STAYS"]
    asked = rbx("delete", "STAYS", "--universe", "staging", stdin=Terminal("y\n"))
    assert asked.code == 0
    assert cloud.fake.secret_ids(STAGING) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["plan", "sk_live_typed_by_mistake"],
        ["set", "NAME", "sk_live_typed_by_mistake"],
        ["sk_live_typed_by_mistake"],
        ["set", "sk-live-typed-by-mistake", "--stdin"],
        ["delete", "sk-live-typed-by-mistake", "--yes"],
        ["list", "--universe", "sk_live_typed_by_mistake"],
    ],
)
def test_usage_errors_never_repeat_a_stray_word(cloud: Any, argv: list[str]) -> None:
    result = rbx(*argv, stdin=io.StringIO("x"))
    assert result.code == 2
    assert result.err.startswith("rbx-secrets: error: ")
    assert result.err.count("\n") == 1
    assert "typed" not in result.err
    assert "Traceback" not in result.err


def test_missing_credential_is_a_usage_error(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RBX_API_KEY")
    result = rbx("list", "--universe", "staging")
    assert result.code == 2
    assert "RBX_API_KEY" in result.err
    # The Python client's advice (pass api_key=) means nothing on a command line.
    assert "api_key=" not in result.err
    assert rbx("plan", "--env-file", ".env").err == result.err


def test_a_refused_credential_exits_1(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RBX_API_KEY", "wrong-key-" + "x" * 20)
    result = rbx("list", "--universe", "staging")
    assert result.code == 1
    assert "wrong-key" not in result.err
    assert result.err.count("\n") == 1


def test_every_command_has_help_and_the_documented_options() -> None:
    parser = build_parser()
    assert [c.name for c in COMMANDS] == [
        "plan",
        "apply",
        "set",
        "list",
        "delete",
        "restart",
        "check",
        "login",
        "logout",
        "whoami",
    ]
    sub = next(a for a in parser._actions if a.dest == "command")
    options = {
        name: {o for a in p._actions for o in a.option_strings} for name, p in sub.choices.items()
    }  # type: ignore[attr-defined]
    plan_options = {
        "--manifest",
        "--env-file",
        "--universe",
        "--environment",
        "--prune",
        "--protect",
        "--domain",
        "--json",
        "--base-url",
    }
    assert plan_options <= options["plan"]
    assert plan_options | {"--yes"} <= options["apply"]
    assert {"--domain", "--from-env", "--from-file", "--stdin", "--from", "--universe"} <= options[
        "set"
    ]
    assert {"--stdin", "--oauth", "--universe", "--manifest", "--base-url"} <= options["login"]
    assert {"--base-url"} <= options["logout"] and {"--base-url"} <= options["whoami"]
    assert {"--universe", "--json"} <= options["list"]
    assert {"--missing-ok", "--yes", "--universe"} <= options["delete"]
    restart = {"--restart", "--bleed-off"}
    assert restart <= options["apply"] and restart | {"--yes"} <= options["set"]
    assert restart <= options["delete"]
    assert {"--places", "--bleed-off", "--universe", "--yes", "--json"} <= options["restart"]
    assert {"--universe", "--json"} <= options["check"]
    assert not any("key" in o or "token" in o for opts in options.values() for o in opts)


def test_python_dash_m_runs_the_same_command(cloud: Any) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    cloud.fake.put_secret(STAGING, "VIA_M", "v")
    done = subprocess.run(
        [sys.executable, "-m", "rbxsecrets_magic", "list", "--universe", "staging", "--json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [r["id"] for r in json.loads(done.stdout)["secrets"]] == ["VIA_M"]
    usage = subprocess.run(
        [sys.executable, "-m", "rbxsecrets_magic", "frobnicate"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert usage.returncode == 2
    assert usage.stderr.startswith("rbx-secrets: error: unknown command")


def test_help_tells_a_newcomer_where_to_start() -> None:
    parser = build_parser()
    main_help = parser.format_help()
    for needed in (
        "getting started",
        "RBX_API_KEY",
        "RBX_UNIVERSE_ID",
        "RBX_OPEN_CLOUD_URL",
        "RBX_SECRETS_STATE_DIR",
        "exit codes: 0",
        "rbx-secrets plan --env-file",
    ):
        assert needed in main_help
    sub = next(a for a in parser._actions if a.dest == "command")
    helps = {name: p.format_help() for name, p in sub.choices.items()}  # type: ignore[attr-defined]
    for command in ("plan", "apply"):
        assert "environment variables named like the secrets" in helps[command]
        assert "examples:" in helps[command]
    assert "+ create, ~ update" in helps["plan"] and "value not verifiable" in helps["plan"]
    assert "--yes where no terminal can ask" in helps["apply"]
    assert "echo" in helps["set"] and "stale" in helps["list"] and "--yes" in helps["delete"]
