"""The magics: ``--from REF``, ``%rbx_secret_login --save``, ``%rbx_secret_sync`` with from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.credentials import store
from tests.rbxsecrets_magic.support import MagicShell
from tests.rbxsecrets_magic.value_sources.real_parts import (
    AwsSecretsManager,
    SecretService,
    Sops,
)

STRIPE = "sk_live_51HqFromAwsForTheMagic"
WEBHOOK = "whsec_from_sops_for_the_magic"


def test_set_from_aws_and_sops_keeps_the_reference_in_the_history(
    cloud_shell: MagicShell, aws_sm: AwsSecretsManager, sops: Sops
) -> None:
    s = cloud_shell
    aws_sm.put("prod/stripe", {"key": STRIPE})
    s.ok("%rbx_secret_set stripe_key --from aws-sm:prod/stripe#key")
    assert s.cloud.plaintext("stripe_key") == STRIPE
    assert "Created secret 'stripe_key'" in s.last_output
    path = sops.encrypt("hooks.enc.env", f"WEBHOOK={WEBHOOK}\n")
    s.ok(f"%rbx_secret_set webhook --from sops:{path}#WEBHOOK")
    assert s.cloud.plaintext("webhook") == WEBHOOK
    assert "aws-sm:prod/stripe#key" in s.history_text()  # a reference is no value
    s.assert_nowhere(STRIPE, WEBHOOK)


def test_a_value_after_from_is_refused_and_redacted(cloud_shell: MagicShell) -> None:
    s = cloud_shell
    message = s.usage_error("%rbx_secret_set stripe_key --from sk_live_51HqTypedHere")
    assert "not a value reference" in message
    assert s.cloud.fake.journal == []
    s.assert_nowhere("sk_live_51HqTypedHere")


def test_an_unresolvable_reference_is_one_line_and_writes_nothing(
    cloud_shell: MagicShell, aws_sm: AwsSecretsManager
) -> None:
    message = cloud_shell.usage_error("%rbx_secret_set stripe_key --from aws-sm:prod/nope#key")
    assert message.startswith("%rbx_secret_set: aws-sm:prod/nope#key: AWS Secrets Manager has no")
    assert not [e for e in cloud_shell.cloud.fake.journal if e.method != "GET"]


def test_login_save_keeps_the_key_for_rbx_secrets_and_later_sessions(
    cloud_shell: MagicShell, secret_service: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = cloud_shell
    monkeypatch.delenv("RBX_API_KEY")
    s.prompt.answers = [s.cloud.api_key]
    s.ok("%rbx_secret_login --save")
    assert "kept in the system keyring (SecretService)" in s.last_output
    kept = store.load_login(s.cloud.url)
    assert kept is not None and kept.secret == s.cloud.api_key
    s.ok("%rbx_secret_logout")  # the session's key is gone; the keyring's is used now
    assert "the key kept in the system keyring (%rbx_secret_login --save) is used now" in (
        s.last_output
    )
    s.ok("%rbx_secret_list")
    s.assert_nowhere(s.cloud.api_key)


def test_login_save_without_a_keyring_asks_for_nothing(
    cloud_shell: MagicShell, no_keyring: None
) -> None:
    message = cloud_shell.usage_error("%rbx_secret_login --save")
    assert "No system keyring is available here" in message and "RBX_API_KEY" in message
    assert cloud_shell.prompt.prompts == []


def test_without_any_credential_the_magics_say_what_to_do(
    cloud_shell: MagicShell, secret_service: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RBX_API_KEY")
    message = cloud_shell.usage_error("%rbx_secret_list")
    assert "%rbx_secret_login" in message and "RBX_API_KEY" in message


def test_sync_resolves_the_manifests_references(
    shell: MagicShell,
    fake_open_cloud_factory: Any,
    sops: Sops,
    aws_sm: AwsSecretsManager,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING

    cloud = fake_open_cloud_factory(universes=[STAGING, PRODUCTION])
    monkeypatch.delenv("RBX_UNIVERSE_ID")
    monkeypatch.setenv("RBX_SECRETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    sops.encrypt("hooks.enc.env", f"WEBHOOK={WEBHOOK}\n").rename(tmp_path / "hooks.enc.env")
    aws_sm.put("prod/stripe", {"key": STRIPE})
    (tmp_path / "rbxsecrets.toml").write_text(
        f"""
[environments]
staging = {STAGING}
production = {PRODUCTION}

[secrets.WEBHOOK]
from = "sops:hooks.enc.env#WEBHOOK"

[secrets.STRIPE_KEY]
environments = ["production"]
from.production = "aws-sm:prod/stripe#key"
""",
        encoding="utf-8",
    )
    shell.ok(f"%config RbxSecretsMagics.base_url = {cloud.url!r}")
    shell.ok("%config RbxSecretsMagics.progress = False")
    shell.ok("%rbx_secret_sync")
    assert "Applied: 3 done, 0 failed, 0 unknown" in shell.last_output
    snapshot = cloud.fake.snapshot()
    assert snapshot[STAGING] == {"WEBHOOK": (None, WEBHOOK)}
    assert snapshot[PRODUCTION] == {"WEBHOOK": (None, WEBHOOK), "STRIPE_KEY": (None, STRIPE)}
    shell.ok("%rbx_secret_sync --dry-run")
    assert "3 unchanged" in shell.last_output
    shell.assert_nowhere(WEBHOOK, STRIPE)
