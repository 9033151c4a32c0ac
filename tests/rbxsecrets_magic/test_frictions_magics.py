"""Frictions a new user met (issue 18 D), through the magics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, VALUES, write_env
from tests.rbxsecrets_magic.test_magics_sync import sync_shell  # noqa: F401 (a fixture)

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell


def test_sync_says_when_the_state_cannot_be_used(sync_shell: MagicShell, tmp_path: Path) -> None:  # noqa: F811
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    (state / "applied.json").write_text("{not json", encoding="utf-8")
    sync_shell.ok("%rbx_secret_sync --env-file .env --environment staging --dry-run")
    lines = sync_shell.last_output.splitlines()
    notes = [line for line in lines if "values cannot be verified" in line]
    assert len(notes) == 1, sync_shell.last_output
    assert str(state) in notes[0]


def test_sync_atomic_writes_nothing_when_a_row_has_an_error(
    sync_shell: MagicShell,  # noqa: F811
    tmp_path: Path,
) -> None:
    cloud = sync_shell.cloud  # type: ignore[attr-defined]
    write_env(tmp_path, {k: v for k, v in VALUES.items() if k != "ANALYTICS_KEY"})
    message = sync_shell.usage_error("%rbx_secret_sync --env-file .env --atomic")
    assert "failed" in message
    assert "--atomic writes all or nothing; nothing was changed" in sync_shell.last_output
    assert cloud.fake.secret_ids(STAGING) == [] and cloud.fake.secret_ids(PRODUCTION) == []
    write_env(tmp_path, VALUES)
    sync_shell.ok("%rbx_secret_sync --env-file .env --atomic")
    assert cloud.plaintext("ANALYTICS_KEY", PRODUCTION) == VALUES["ANALYTICS_KEY"]


def test_sync_says_which_environments_the_configured_universe_left_out(
    sync_shell: MagicShell,  # noqa: F811
) -> None:
    sync_shell.ok(f"%config RbxSecretsMagics.universe_id = {STAGING}")
    sync_shell.ok("%rbx_secret_sync --env-file .env --dry-run")
    assert (
        "note: the configured universe (RbxSecretsMagics.universe_id or RBX_UNIVERSE_ID) "
        f"narrows this run to universe {STAGING} (staging); left out: production "
        f"({PRODUCTION}); to include them, give --environment staging,production"
    ) in sync_shell.last_output


@pytest.mark.parametrize(
    "line",
    [
        "%rbx_secret_set --env-file missing.env",
        "%rbx_secret_set --env-file ./config/.env.local",
        "%rbx_secret_set api_token --from-file ~/.secrets/api_token.txt",
    ],
)
def test_a_missing_path_is_named_and_kept_in_history(cloud_shell: MagicShell, line: str) -> None:
    path = line.rsplit(" ", 1)[-1]
    message = cloud_shell.usage_error(line)
    assert message.endswith(f"does not exist: {path}") or f"does not exist: {path}" in message
    assert "redacted" not in message and "not repeated" not in message
    assert f"--{line.split(' --', 1)[1]}" in cloud_shell.ip.user_ns["In"][-1]
    assert path in cloud_shell.history_text()


def test_a_word_that_may_be_a_value_is_still_masked(cloud_shell: MagicShell) -> None:
    typed = "Hunter2-typed-as-the-source"
    message = cloud_shell.usage_error(f"%rbx_secret_set --env-file {typed}")
    assert typed not in message
    cloud_shell.assert_nowhere(typed)


def test_ctrl_c_at_the_sync_deletion_prompt_says_nothing_was_changed(
    sync_shell: MagicShell,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import builtins

    cloud = sync_shell.cloud  # type: ignore[attr-defined]
    cloud.fake.put_secret(STAGING, "OLD", "x")

    def ctrl_c(_prompt: str = "") -> str:
        raise KeyboardInterrupt

    monkeypatch.setattr(builtins, "input", ctrl_c)
    message = sync_shell.usage_error("%rbx_secret_sync --env-file .env --universe staging --prune")
    assert "not confirmed" in message and "nothing was changed" in message
    assert "may have been made" not in message
    assert cloud.fake.secret_ids(STAGING) == ["OLD"]
