"""Frictions a new user met (issue 18 D), each as the user met it.

A mistyped command gets a guess; prompts, notes and error rows read once and plainly;
``--json`` rows name the environment; a manifest run says which environments it left out.
"""

from __future__ import annotations

import getpass
from typing import Any

import pytest

from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, Terminal, rbx


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
