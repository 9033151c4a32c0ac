"""Frictions a new user met (issue 18 D), each as the user met it.

A mistyped command gets a guess; prompts, notes and error rows read once and plainly;
``--json`` rows name the environment; a manifest run says which environments it left out.
"""

from __future__ import annotations

from typing import Any

from tests.rbxsecrets_magic.sync_helpers import rbx


def test_a_mistyped_command_gets_a_guess() -> None:
    run = rbx("plna")
    assert run.code == 2
    assert "did you mean plan?" in run.err
    assert "plna" not in run.err  # the word typed is never repeated
    assert "did you mean" not in rbx("zzzzzz").err
