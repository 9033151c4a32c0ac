"""Frictions a new user met (issue 18 D), each as the user met it.

A mistyped command gets a guess; prompts, notes and error rows read once and plainly;
``--json`` rows name the environment; a manifest run says which environments it left out.
"""

from __future__ import annotations

import contextlib
import getpass
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.cli.app import Console, main
from tests.rbxsecrets_magic.sync_helpers import (
    PRODUCTION,
    STAGING,
    VALUES,
    Terminal,
    rbx,
    write_env,
)

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def _env(name: str, value: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(name, value)
        yield


def test_a_mistyped_command_gets_a_guess() -> None:
    run = rbx("plna")
    assert run.code == 2
    assert "did you mean plan?" in run.err
    assert "plna" not in run.err  # the word typed is never repeated
    assert "did you mean" not in rbx("zzzzzz").err


def test_the_prompt_names_universes_without_nested_parentheses(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def fake_getpass(prompt: str = "") -> str:
        asked.append(prompt)
        return "typed-value"

    monkeypatch.setattr(getpass, "getpass", fake_getpass)
    run = rbx("set", "TYPED", "--universe", f"staging,{PRODUCTION}", stdin=Terminal())
    assert run.code == 0, run.err
    assert asked == [f"Value for TYPED (universes {STAGING}, staging; {PRODUCTION}, production): "]
    assert cloud.plaintext("TYPED", PRODUCTION) == "typed-value"


class _CtrlC(Terminal):
    """A terminal at which the user presses Ctrl-C."""

    def readline(self, size: int | None = -1) -> str:
        raise KeyboardInterrupt


def test_ctrl_c_at_the_deletion_prompt_says_nothing_was_changed(cloud: Any) -> None:
    cloud.fake.put_secret(STAGING, "OLD_ONE", "v")
    run = rbx("apply", "--environment", "staging", "--prune", stdin=_CtrlC())
    assert run.code == 1
    assert "deletion not confirmed; nothing was changed" in run.err
    assert "in flight" not in run.err
    assert cloud.fake.secret_ids(STAGING) == ["OLD_ONE"]


def test_set_stdin_with_stdin_closed_is_one_usage_line(cloud: Any) -> None:
    out, err = io.StringIO(), io.StringIO()
    code = main(
        ["set", "X", "--stdin", "--universe", "staging"],
        Console(stdout=out, stderr=err, stdin=None),
    )
    assert code == 2
    assert err.getvalue() == (
        "rbx-secrets: error: --stdin was given but stdin is closed; pipe the value in\n"
    )


def test_set_stdin_closed_in_a_real_process(cloud: Any) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rbxsecrets_magic", "set", "X", "--stdin", "--universe", "staging"],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.close(0),
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    assert "stdin is closed" in done.stderr


def test_the_state_note_names_its_path_once(cloud: Any, tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "applied.json").write_text("{not json", encoding="utf-8")
    run = rbx("plan", "--environment", "staging", "--env-file", ".env")
    assert run.code == 0, run.err
    notes = [line for line in run.err.splitlines() if "values cannot be verified" in line]
    assert len(notes) == 1, run.err
    assert notes[0].count(str(state)) == 1, notes[0]


def test_set_says_when_the_state_cannot_be_saved(cloud: Any, tmp_path: Path) -> None:
    (tmp_path / "state").write_text("a file where the state folder goes", encoding="utf-8")
    cloud.fake.put_secret(STAGING, "X", "old")
    with _env("X_VALUE", "new-value"):
        run = rbx("set", "X", "--from-env", "X_VALUE", "--universe", "staging")
    assert run.code == 0, run.err
    assert cloud.plaintext("X", STAGING) == "new-value"
    notes = [line for line in run.err.splitlines() if "not recorded in the state" in line]
    assert len(notes) == 1 and str(tmp_path / "state") in notes[0], run.err


def test_an_error_row_says_its_message_once(cloud: Any, tmp_path: Path) -> None:
    write_env(tmp_path, {k: v for k, v in VALUES.items() if k != "ANALYTICS_KEY"})
    run = rbx("apply", "--environment", "staging", "--env-file", ".env")
    assert run.code == 1
    report = run.out.splitlines()
    rows = [line for line in report if "ANALYTICS_KEY" in line]
    assert len(rows) == 1, run.out
    assert rows[0].count("is not set in") == 1, rows[0]


def test_json_rows_name_the_environment(cloud: Any) -> None:
    plan = rbx("plan", "--env-file", ".env", "--json")
    assert {(r["universe"], r["environment"]) for r in plan.json["changes"]} == {
        (STAGING, "staging"),
        (PRODUCTION, "production"),
    }
    apply = rbx("apply", "--env-file", ".env", "--environment", "staging", "--json")
    assert {r["environment"] for r in apply.json["changes"]} == {"staging"}
    listed = rbx("list", "--universe", "staging", "--json")
    assert {r["environment"] for r in listed.json["secrets"]} == {"staging"}
    with _env("V", "a-value"):
        done = rbx("set", "X", "--from-env", "V", "--universe", f"staging,{PRODUCTION}", "--json")
    assert [r["environment"] for r in done.json["results"]] == ["staging", "production"]
    gone = rbx("delete", "X", "--universe", str(STAGING), "--yes", "--json")
    assert [r["environment"] for r in gone.json["results"]] == ["staging"]
    check = rbx("check", "X", "https://a.example.com/", "--universe", "production", "--json")
    assert [r["environment"] for r in check.json["checks"]] == ["production"]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.stripe.com/v1?key=abc",
        "https://api.stripe.com/v1#abc",
        "https://user:abc@api.stripe.com/v1",
    ],
)
def test_check_refuses_a_url_with_a_token_as_the_magic_does(cloud: Any, url: str) -> None:
    cloud.fake.put_secret(STAGING, "PAY", "v", domain="*.stripe.com")
    cloud.fake.clear_journal()
    run = rbx("check", "PAY", url, "--universe", "staging")
    assert run.code == 2, run.out + run.err
    assert "only its host matters" in run.err
    assert "abc" not in run.out + run.err
    assert list(cloud.fake.journal) == []  # refused before any request
    assert rbx("check", "PAY", "https://api.stripe.com/v1", "--universe", "staging").code == 0


def test_apply_atomic_writes_nothing_when_a_row_has_an_error(cloud: Any, tmp_path: Path) -> None:
    write_env(tmp_path, {k: v for k, v in VALUES.items() if k != "ANALYTICS_KEY"})
    run = rbx("apply", "--env-file", ".env", "--atomic", "--json")
    assert run.code == 1
    assert cloud.fake.secret_ids(STAGING) == [] and cloud.fake.secret_ids(PRODUCTION) == []
    assert [e.method for e in cloud.fake.journal if e.method != "GET"] == []
    results = {(r["environment"], r["id"]): r["result"] for r in run.json["changes"]}
    assert results[("staging", "ANALYTICS_KEY")] == "failed"
    assert results[("production", "STRIPE_KEY")] == "skipped"
    assert "--atomic writes all or nothing; nothing was changed" in run.err
    partial = rbx("apply", "--env-file", ".env")  # without --atomic: what can be written is
    assert partial.code == 1
    assert cloud.plaintext("STRIPE_KEY", PRODUCTION) == VALUES["STRIPE_KEY"]
    write_env(tmp_path, VALUES)
    whole = rbx("apply", "--env-file", ".env", "--atomic")
    assert whole.code == 0, whole.err
    assert cloud.plaintext("ANALYTICS_KEY", STAGING) == VALUES["ANALYTICS_KEY"]


def test_an_exported_universe_never_narrows_a_manifest_run_silently(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RBX_UNIVERSE_ID", str(STAGING))
    for command in ("plan", "apply"):
        run = rbx(command, "--env-file", ".env")
        assert run.code == 0, run.err
        assert (
            f"rbx-secrets: note: RBX_UNIVERSE_ID narrows this run to universe {STAGING} "
            f"(staging); left out: production ({PRODUCTION}); to include them, give "
            "--environment staging,production"
        ) in run.err.splitlines()
    assert cloud.fake.secret_ids(PRODUCTION) == []  # narrowed, as said
    named = rbx("plan", "--env-file", ".env", "--environment", "staging")
    assert "narrows" not in named.err  # chosen on the command line: nothing left out silently
    every = rbx("apply", "--env-file", ".env", "--environment", "staging,production")
    assert every.code == 0 and "narrows" not in every.err
    assert cloud.plaintext("STRIPE_KEY", PRODUCTION) == VALUES["STRIPE_KEY"]
