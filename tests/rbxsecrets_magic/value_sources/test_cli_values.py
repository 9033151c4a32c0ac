"""``rbx-secrets`` with values from sops, AWS Secrets Manager, the keyring and a plugin.

Real parts throughout (``real_parts.py``): the manifest's ``from`` references a sops file
encrypted for an age key the test made, a secret in moto's server, an entry in gnome-keyring;
the fake's oracle says what arrived. ``rbx-secrets login`` keeps the API key in the same
keyring, and ``apply`` then runs with no ``RBX_API_KEY``.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import keyring
import pytest

from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, rbx
from tests.rbxsecrets_magic.value_sources.plugin_package import install
from tests.rbxsecrets_magic.value_sources.real_parts import (
    AwsSecretsManager,
    SecretService,
    Sops,
)

WEBHOOK = "https://discord.com/api/webhooks/1/from-sops"
STAGING_ANALYTICS = "staging-analytics-from-sops"
STRIPE = "sk_live_51HqFromAwsSecretsManager"
PROD_ANALYTICS = "production-analytics-from-the-keyring"
MANIFEST = f"""
[environments]
staging = {STAGING}
production = {PRODUCTION}

[secrets.DISCORD_WEBHOOK]
domain = "discord.com"
from = "sops:secrets.enc.env#DISCORD_WEBHOOK"

[secrets.STRIPE_KEY]
domain = "*.stripe.com"
environments = ["production"]
from.production = "aws-sm:prod/stripe#key"

[secrets.ANALYTICS_KEY]
from.staging = "sops:secrets.enc.env#ANALYTICS"
from.production = "keyring:analytics/prod"
"""


@pytest.fixture
def sources(
    cloud: Any,
    sops: Sops,
    aws_sm: AwsSecretsManager,
    secret_service: SecretService,
    tmp_path: Path,
) -> tuple[Sops, AwsSecretsManager]:
    """The manifest above, its three real sources, and no plaintext .env file."""
    (tmp_path / "rbxsecrets.toml").write_text(MANIFEST, encoding="utf-8")
    encrypted = sops.encrypt(
        "secrets.enc.env", f"DISCORD_WEBHOOK={WEBHOOK}\nANALYTICS={STAGING_ANALYTICS}\n"
    )
    encrypted.rename(tmp_path / "secrets.enc.env")
    aws_sm.put("prod/stripe", {"key": STRIPE, "unused": "another-value"})
    keyring.set_password("analytics", "prod", PROD_ANALYTICS)
    (tmp_path / ".env").unlink()
    return sops, aws_sm


def _actions(run: Any) -> dict[tuple[int, str], str]:
    return {key: row["action"] for key, row in run.rows().items()}


def test_plan_apply_over_two_environments_from_sops_aws_and_the_keyring(
    cloud: Any, sources: tuple[Sops, AwsSecretsManager]
) -> None:
    sops, aws_sm = sources
    plan = rbx("plan", "--json")
    assert plan.code == 0, plan.err
    assert set(_actions(plan).values()) == {"create"} and len(_actions(plan)) == 5
    # One run: one sops call for the file, one AWS call for the secret id, for five rows.
    assert len(sops.calls()) == 1 and aws_sm.calls("GetSecretValue") == 1

    applied = rbx("apply", "--json")
    assert applied.code == 0, applied.err
    assert len(sops.calls()) == 2 and aws_sm.calls("GetSecretValue") == 2
    snapshot = cloud.fake.snapshot()
    assert snapshot[STAGING] == {
        "DISCORD_WEBHOOK": ("discord.com", WEBHOOK),
        "ANALYTICS_KEY": (None, STAGING_ANALYTICS),
    }
    assert snapshot[PRODUCTION] == {
        "DISCORD_WEBHOOK": ("discord.com", WEBHOOK),
        "STRIPE_KEY": ("*.stripe.com", STRIPE),
        "ANALYTICS_KEY": (None, PROD_ANALYTICS),
    }
    for value in (WEBHOOK, STAGING_ANALYTICS, STRIPE, PROD_ANALYTICS):
        assert value not in plan.out + plan.err + applied.out + applied.err

    again = rbx("plan", "--json")
    assert set(_actions(again).values()) == {"unchanged"}

    aws_sm.put("prod/stripe", {"key": STRIPE + "-rotated", "unused": "another-value"})
    rotated = rbx("plan", "--json")
    assert {k: a for k, a in _actions(rotated).items() if a != "unchanged"} == {
        (PRODUCTION, "STRIPE_KEY"): "update"
    }
    assert rbx("apply", "--json").code == 0
    assert cloud.fake.snapshot()[PRODUCTION]["STRIPE_KEY"] == ("*.stripe.com", STRIPE + "-rotated")


def test_an_unresolvable_reference_is_an_error_row_of_its_secret(
    cloud: Any, sources: tuple[Sops, AwsSecretsManager]
) -> None:
    keyring.delete_password("analytics", "prod")
    plan = rbx("plan", "--json")
    assert plan.code == 1
    rows = plan.rows()
    assert rows[(PRODUCTION, "ANALYTICS_KEY")]["action"] == "error"
    assert rows[(PRODUCTION, "ANALYTICS_KEY")]["reason"] == (
        "the value cannot be read: keyring:analytics/prod: the system keyring has no entry for "
        "service analytics and user prod"
    )
    assert {r["action"] for k, r in rows.items() if k != (PRODUCTION, "ANALYTICS_KEY")} == {
        "create"
    }


def test_a_value_in_from_refuses_the_manifest_without_repeating_it(
    cloud: Any, tmp_path: Path
) -> None:
    (tmp_path / "rbxsecrets.toml").write_text(
        MANIFEST.replace("aws-sm:prod/stripe#key", "sk_live_51HqPastedValue0123"),
        encoding="utf-8",
    )
    plan = rbx("plan", "--json")
    assert plan.code == 2
    assert "from.production" in plan.err and "not a value reference" in plan.err
    assert "sk_live_51HqPastedValue0123" not in plan.err + plan.out
    assert cloud.fake.journal == []


def test_login_apply_whoami_logout(
    cloud: Any, secret_service: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = cloud.api_key
    monkeypatch.delenv("RBX_API_KEY")
    login = rbx("login", "--stdin", stdin=io.StringIO(key + "\n"))
    assert login.code == 0, login.err
    assert login.out.startswith(
        f"API key accepted for universe {STAGING} (staging), {PRODUCTION} (production); kept in "
        "the system keyring (SecretService)"
    )
    assert key not in login.out + login.err

    whoami = rbx("whoami")
    assert whoami.code == 0
    assert whoami.out.strip() == f"Using the API key from the system keyring for {cloud.url}."
    assert key not in whoami.out + whoami.err

    applied = rbx("apply", "--env-file", ".env", "--json")
    assert applied.code == 0, applied.err
    assert cloud.fake.snapshot()[PRODUCTION]["STRIPE_KEY"][1] == "sk_test_51HxYz"

    monkeypatch.setenv("RBX_API_KEY", "env-key-wins-over-the-keyring")
    assert rbx("whoami").out.strip() == f"Using the API key from RBX_API_KEY for {cloud.url}."
    monkeypatch.delenv("RBX_API_KEY")

    logout = rbx("logout")
    assert logout.code == 0 and logout.out.startswith("Removed the credential")
    failed = rbx("apply", "--env-file", ".env")
    assert failed.code == 2
    assert failed.err.strip() == (
        "rbx-secrets: error: No credential: run rbx-secrets login, or set RBX_API_KEY (or "
        "RBX_OAUTH_TOKEN) to an Open Cloud API key with the secret-store API system."
    )
    assert rbx("whoami").code == 1


def test_login_without_a_keyring_says_so_and_suggests_the_variable(
    cloud: Any, no_keyring: None
) -> None:
    login = rbx("login", "--stdin", stdin=io.StringIO(cloud.api_key))
    assert login.code == 1
    assert login.err.count("\n") == 1
    assert "no system keyring is available here" in login.err
    assert "set RBX_API_KEY (or RBX_OAUTH_TOKEN) in the environment instead" in login.err
    assert cloud.fake.journal == []


def test_set_from_a_reference(cloud: Any, aws_sm: AwsSecretsManager) -> None:
    aws_sm.put("prod/stripe", {"key": STRIPE})
    done = rbx("set", "STRIPE_KEY", "--from", "aws-sm:prod/stripe#key", "--universe", "production")
    assert done.code == 0, done.err
    assert cloud.fake.snapshot()[PRODUCTION]["STRIPE_KEY"][1] == STRIPE
    refused = rbx("set", "STRIPE_KEY", "--from", "sk_live_51HqTypedValue", "--universe", "staging")
    assert refused.code == 2
    assert "sk_live_51HqTypedValue" not in refused.err and "not a value reference" in refused.err
    assert (
        STAGING not in cloud.fake.snapshot() or "STRIPE_KEY" not in cloud.fake.snapshot()[STAGING]
    )


def test_a_plugin_scheme_from_an_installed_package_is_used_by_plan(
    cloud: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(install(tmp_path / "site")))
    vault = tmp_path / "vault.json"
    vault.write_text('{"stripe": "sk_from_the_plugin_0123"}', encoding="utf-8")
    monkeypatch.setenv("TESTVAULT_FILE", str(vault))
    (tmp_path / "rbxsecrets.toml").write_text(
        f"""
[environments]
production = {PRODUCTION}

[secrets.STRIPE_KEY]
from = "testvault:stripe"
""",
        encoding="utf-8",
    )
    plan = rbx("plan", "--json")
    assert plan.code == 0, plan.err
    assert _actions(plan) == {(PRODUCTION, "STRIPE_KEY"): "create"}
    assert rbx("apply", "--json").code == 0
    assert cloud.fake.snapshot()[PRODUCTION]["STRIPE_KEY"][1] == "sk_from_the_plugin_0123"
    assert set(_actions(rbx("plan", "--json")).values()) == {"unchanged"}


def test_login_at_the_prompt_and_with_an_oauth_token(
    cloud: Any, secret_service: SecretService, monkeypatch: pytest.MonkeyPatch
) -> None:
    import getpass

    from tests.rbxsecrets_magic.sync_helpers import Terminal

    prompts: list[str] = []

    def typed(prompt: str = "", stream: Any = None) -> str:
        prompts.append(prompt)
        return cloud.api_key

    monkeypatch.setattr(getpass, "getpass", typed)
    login = rbx("login", "--universe", "staging", stdin=Terminal())
    assert login.code == 0, login.err
    assert prompts == ["Open Cloud API key: "]
    assert login.out.startswith(f"API key accepted for universe {STAGING} (staging); kept")
    token = cloud.fake.add_oauth_token().token
    oauth = rbx("login", "--oauth", "--stdin", stdin=io.StringIO(token))
    assert oauth.code == 0, oauth.err
    assert oauth.out.startswith("OAuth token accepted for universe")
    monkeypatch.delenv("RBX_API_KEY")
    assert rbx("whoami").out.strip() == (
        f"Using the OAuth token from the system keyring for {cloud.url}."
    )


def test_a_login_outlives_its_process(cloud: Any, secret_service: SecretService) -> None:
    """``rbx-secrets login`` in one process, ``apply`` in the next, with no RBX_API_KEY."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "RBX_API_KEY"}
    command = [sys.executable, "-m", "rbxsecrets_magic"]
    login = subprocess.run(
        [*command, "login", "--stdin"],
        input=cloud.api_key,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert login.returncode == 0, login.stderr
    applied = subprocess.run(
        [*command, "apply", "--env-file", ".env"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert applied.returncode == 0, applied.stderr
    assert cloud.fake.snapshot()[PRODUCTION]["STRIPE_KEY"][1] == "sk_test_51HxYz"
    assert cloud.api_key not in login.stdout + login.stderr + applied.stdout + applied.stderr
