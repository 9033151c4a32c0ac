"""%rbx_secret_sync and manifest-aware --universe through a real IPython shell, two universes."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from IPython.core.error import StdinNotImplementedError

from tests.rbxsecrets_magic.sync_helpers import MANIFEST, PRODUCTION, STAGING, VALUES, write_env

if TYPE_CHECKING:
    from tests.rbxsecrets_magic.support import MagicShell


@pytest.fixture
def sync_shell(
    shell: MagicShell, fake_open_cloud_factory: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> MagicShell:
    """The shell, a fake with staging and production, the issue's manifest and a .env here."""
    cloud = fake_open_cloud_factory(universes=[STAGING, PRODUCTION])
    # The plugin exports the first universe; these tests target the manifest's environments.
    monkeypatch.delenv("RBX_UNIVERSE_ID")
    monkeypatch.setenv("RBX_API_KEY", cloud.api_key)
    monkeypatch.setenv("RBX_SECRETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rbxsecrets.toml").write_text(MANIFEST, encoding="utf-8")
    write_env(tmp_path, VALUES)
    shell.ok(f"%config RbxSecretsMagics.base_url = {cloud.url!r}")
    shell.ok("%config RbxSecretsMagics.progress = False")
    shell.cloud = cloud  # type: ignore[attr-defined]
    return shell


def writes(cloud: Any) -> list[str]:
    return [e.method for e in cloud.fake.journal if e.method != "GET"]


def test_sync_plans_applies_and_then_writes_nothing(sync_shell: MagicShell) -> None:
    s = sync_shell
    cloud = s.cloud  # type: ignore[attr-defined]
    s.ok("%rbx_secret_sync --env-file .env --dry-run")
    assert "Plan: 5 to create" in s.last_output
    assert writes(cloud) == []
    s.ok("%rbx_secret_sync --env-file .env")
    assert "Applied: 5 done, 0 failed, 0 unknown" in s.last_output
    snapshot = cloud.fake.snapshot()
    assert snapshot[STAGING] == {
        "DISCORD_WEBHOOK": ("discord.com", VALUES["DISCORD_WEBHOOK"]),
        "ANALYTICS_KEY": (None, VALUES["ANALYTICS_KEY"]),
    }
    assert {k: v for k, (_d, v) in snapshot[PRODUCTION].items()} == VALUES
    cloud.fake.clear_journal()
    s.ok("%rbx_secret_sync --env-file .env")
    assert "Plan: 0 to create, 0 to update, 0 to delete, 5 unchanged" in s.last_output
    assert writes(cloud) == []
    s.assert_nowhere(*VALUES.values())


def test_sync_one_environment_by_name(sync_shell: MagicShell) -> None:
    s = sync_shell
    s.ok("%rbx_secret_sync --env-file .env --environment production")
    assert s.cloud.fake.secret_ids(STAGING) == []  # type: ignore[attr-defined]
    assert s.cloud.fake.secret_ids(PRODUCTION) == sorted(VALUES)  # type: ignore[attr-defined]


def test_sync_asks_before_deleting(sync_shell: MagicShell, monkeypatch: pytest.MonkeyPatch) -> None:
    s = sync_shell
    cloud = s.cloud  # type: ignore[attr-defined]
    cloud.fake.put_secret(STAGING, "OLD", "x")
    cloud.fake.put_secret(STAGING, "LEGACY_TOKEN", "x")

    def headless(_prompt: str = "") -> str:
        raise StdinNotImplementedError("no frontend stdin")

    monkeypatch.setattr(builtins, "input", headless)
    message = s.usage_error("%rbx_secret_sync --env-file .env --universe staging --prune")
    assert "add --yes" in message
    assert writes(cloud) == []
    monkeypatch.setattr(builtins, "input", lambda _prompt="": "n")
    assert "not confirmed" in s.usage_error(
        "%rbx_secret_sync --env-file .env --universe staging --prune"
    )
    asked: list[str] = []
    monkeypatch.setattr(builtins, "input", lambda prompt="": asked.append(prompt) or "y")
    s.ok("%rbx_secret_sync --env-file .env --universe staging --prune")
    assert asked == [f"Delete 1 secret(s): OLD ({STAGING})? [y/N] "]
    assert cloud.fake.secret_ids(STAGING) == ["ANALYTICS_KEY", "DISCORD_WEBHOOK", "LEGACY_TOKEN"]


def test_sync_reports_a_secret_without_value(sync_shell: MagicShell) -> None:
    s = sync_shell
    write_env(Path.cwd(), {k: v for k, v in VALUES.items() if k != "STRIPE_KEY"})
    message = s.usage_error("%rbx_secret_sync --env-file .env")
    assert "1 change(s) failed" in message
    assert "STRIPE_KEY is not set" in s.last_output
    cloud = s.cloud  # type: ignore[attr-defined]
    assert cloud.fake.secret_ids(STAGING) == ["ANALYTICS_KEY", "DISCORD_WEBHOOK"]


def test_sync_with_a_broken_manifest_is_one_line(sync_shell: MagicShell) -> None:
    Path("rbxsecrets.toml").write_text("[secrets.A]\ndomian = 'x.com'\n")
    message = sync_shell.usage_error("%rbx_secret_sync --env-file .env")
    assert "rbxsecrets.toml: [secrets.A]: unknown key 'domian'" in message


def test_universe_takes_environment_names_and_lists_on_every_magic(
    sync_shell: MagicShell,
) -> None:
    s = sync_shell
    cloud = s.cloud  # type: ignore[attr-defined]
    s.ip.user_ns["token"] = "tok-value-for-both"
    s.ok("%rbx_secret_set API_TOKEN --from-var token --universe staging,production")
    assert (
        cloud.plaintext("API_TOKEN", STAGING)
        == cloud.plaintext("API_TOKEN", PRODUCTION)
        == "tok-value-for-both"
    )
    s.ok("x = %rbx_secret_list --universe production")
    assert s.ip.user_ns["x"].universe_id == PRODUCTION
    s.ok(f"%rbx_secret_list --universe staging,{PRODUCTION}")
    assert f"universe {STAGING}" in s.last_output and f"universe {PRODUCTION}" in s.last_output
    s.ok("%rbx_secret_delete API_TOKEN --universe staging,production --yes")
    assert cloud.fake.secret_ids(STAGING) == cloud.fake.secret_ids(PRODUCTION) == []
    message = s.usage_error("%rbx_secret_list --universe qa")
    assert "environment" in message and "staging, production" in message
    s.assert_nowhere("tok-value-for-both")


def test_delete_across_universes_checks_every_one_first(sync_shell: MagicShell) -> None:
    s = sync_shell
    cloud = s.cloud  # type: ignore[attr-defined]
    cloud.fake.put_secret(STAGING, "ONLY_HERE", "x")
    message = s.usage_error("%rbx_secret_delete ONLY_HERE --universe staging,production")
    assert f"in universe {PRODUCTION}" in message and "nothing was deleted" in message
    assert cloud.fake.secret_ids(STAGING) == ["ONLY_HERE"]


def test_list_marks_stale_secrets(sync_shell: MagicShell) -> None:
    s = sync_shell
    cloud = s.cloud  # type: ignore[attr-defined]
    cloud.fake.put_secret(STAGING, "OLD", "x")
    cloud.fake.rotate_key(STAGING)
    cloud.fake.put_secret(STAGING, "NEW", "x")
    s.ok("x = %rbx_secret_list --universe staging")
    table = s.ip.user_ns["x"]
    assert table.stale == ["OLD"]
    lines = repr(table).splitlines()
    assert lines[1].split() == ["id", "domain", "key_id", "stale", "created", "updated"]
    old = next(line for line in lines if line.startswith("OLD"))
    new = next(line for line in lines if line.startswith("NEW"))
    assert "stale" in old and "stale" not in new
    assert "<td style='text-align:left'>stale</td>" in table._repr_html_()


def test_completion_offers_environment_names_and_sync_options(sync_shell: MagicShell) -> None:
    from rbxsecrets_magic.ipython.completion import MagicCompleter

    completer = MagicCompleter(sync_shell.magics)
    assert completer.complete("%rbx_secret_sync --environment ") == ["staging", "production"]
    assert {"staging", "production"} <= set(completer.complete("%rbx_secret_list --universe "))
    assert {"--prune", "--yes", "--dry-run", "--manifest"} <= set(
        completer.complete("%rbx_secret_sync --")
    )
    Path("rbxsecrets.toml").write_text("[broken")
    assert completer.complete("%rbx_secret_sync --environment ") == []


def test_a_manifest_error_shows_the_file_name_as_given(sync_shell: MagicShell) -> None:
    Path("broken.toml").write_text("[secrets.A]\ndomian = 'x.com'\n")
    message = sync_shell.usage_error("%rbx_secret_sync --manifest broken.toml --dry-run")
    assert "%rbx_secret_sync: broken.toml: [secrets.A]: unknown key 'domian'" in message


def test_a_missing_configured_manifest_names_the_setting(sync_shell: MagicShell) -> None:
    s = sync_shell
    s.ok("%config RbxSecretsMagics.manifest = 'missing.toml'")
    for line in (
        "%rbx_secret_sync --env-file .env --dry-run",
        "%rbx_secret_list --universe staging",
    ):
        message = s.usage_error(line)
        assert "%config RbxSecretsMagics.manifest does not exist" in message
        assert "--manifest" not in message
    s.ok("%config RbxSecretsMagics.manifest = 'rbxsecrets.toml'")
    s.ok("%rbx_secret_list --universe staging")


def test_login_and_logout_take_environment_names_and_lists(
    sync_shell: MagicShell, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = sync_shell
    cloud = s.cloud  # type: ignore[attr-defined]
    monkeypatch.setenv("SESSION_KEY", cloud.api_key)
    monkeypatch.delenv("RBX_API_KEY")
    cloud.fake.clear_journal()
    s.ok("%rbx_secret_login --from-env SESSION_KEY --universe staging,production")
    assert f"accepted for universe {STAGING}, {PRODUCTION}" in s.last_output
    assert [e.path for e in cloud.fake.journal] == [
        f"/cloud/v2/universes/{u}/secrets/public-key" for u in (STAGING, PRODUCTION)
    ]
    s.ok("%rbx_secret_list --universe staging,production")
    s.ok("%rbx_secret_logout --universe production")
    assert f"Forgot the session API key for universe {PRODUCTION}" in s.last_output
    s.ok("%rbx_secret_list --universe staging")
    assert "RBX_API_KEY" in s.usage_error("%rbx_secret_list --universe production")
    s.ok("%rbx_secret_logout --universe staging,production")
    assert f"Forgot the session API key for universe {STAGING}, {PRODUCTION}" in s.last_output
    s.assert_nowhere(cloud.api_key)
