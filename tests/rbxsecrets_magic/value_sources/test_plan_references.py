"""Plan and apply with values from sops, AWS Secrets Manager and the keyring, on real parts.

Two universes on the fake (staging and production): DISCORD_WEBHOOK comes from one
sops-encrypted dotenv file (age), STRIPE_KEY from one AWS Secrets Manager secret (moto's
server) in production, ANALYTICS_KEY from the keyring (gnome-keyring) for production and from
the same sops file for staging. What the fake decrypted is checked through its oracle.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import keyring
import pytest

from rbxsecrets_magic.credentials import store as credential_store
from rbxsecrets_magic.secrets_as_code.apply import apply_plan
from rbxsecrets_magic.secrets_as_code.desired import desired_state
from rbxsecrets_magic.secrets_as_code.manifest import load_manifest
from rbxsecrets_magic.secrets_as_code.plan import Plan, make_plan
from rbxsecrets_magic.secrets_as_code.state import StateStore
from rbxsecrets_magic.secrets_as_code.sync import close_clients, open_clients
from rbxsecrets_magic.secrets_as_code.value_from import parse_value_from
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING
from tests.rbxsecrets_magic.value_sources.real_parts import (
    AwsSecretsManager,
    SecretService,
    Sops,
)

WEBHOOK = "https://discord.com/api/webhooks/1/from-sops"
STAGING_ANALYTICS = "staging-analytics-from-sops"
STRIPE = "sk_live_51HqFromAwsSecretsManager"
PROD_ANALYTICS = "production-analytics-from-the-keyring"
REFERENCES = {
    "DISCORD_WEBHOOK": '"sops:secrets.enc.env#DISCORD_WEBHOOK"',
    "STRIPE_KEY": '{ production = "aws-sm:prod/stripe#key" }',
    "ANALYTICS_KEY": (
        '{ staging = "sops:secrets.enc.env#ANALYTICS", production = "keyring:analytics/prod" }'
    ),
}


@pytest.fixture
def sources(
    cloud: Any,
    sops: Sops,
    aws_sm: AwsSecretsManager,
    secret_service: SecretService,
    tmp_path: Path,
) -> tuple[Sops, AwsSecretsManager]:
    """The three real sources holding the values, next to the cloud fixture's manifest."""
    encrypted = sops.encrypt(
        "secrets.enc.env", f"DISCORD_WEBHOOK={WEBHOOK}\nANALYTICS={STAGING_ANALYTICS}\n"
    )
    encrypted.rename(tmp_path / "secrets.enc.env")  # beside the manifest
    aws_sm.put("prod/stripe", {"key": STRIPE, "unused": "another-value"})
    keyring.set_password("analytics", "prod", PROD_ANALYTICS)
    (tmp_path / ".env").unlink()  # no value comes from a plaintext file
    return sops, aws_sm


def _run(*, apply: bool) -> Plan:
    import tomllib

    manifest = load_manifest("rbxsecrets.toml")
    references = {
        name: parse_value_from(tomllib.loads(f"from = {text}")["from"], manifest.environments)
        for name, text in REFERENCES.items()
    }
    desired = desired_state(manifest, env_file=None, references=references)
    clients = open_clients(desired.targets)
    try:
        state = StateStore()
        plan = make_plan(desired, clients, state)
        if apply:
            report = apply_plan(plan, clients, state)
            assert report.ok, [o.error for o in report.outcomes]
    finally:
        close_clients(clients)
    return plan


def _rows(plan: Plan) -> dict[tuple[int, str], str]:
    return {(c.universe, c.id): c.action for c in plan.changes}


def test_apply_replan_and_a_changed_aws_value(
    cloud: Any, sources: tuple[Sops, AwsSecretsManager]
) -> None:
    sops, aws_sm = sources
    first = _run(apply=True)
    assert set(_rows(first).values()) == {"create"}
    snapshot = cloud.fake.snapshot()
    assert snapshot[STAGING]["DISCORD_WEBHOOK"] == ("discord.com", WEBHOOK)
    assert snapshot[STAGING]["ANALYTICS_KEY"] == (None, STAGING_ANALYTICS)
    assert snapshot[PRODUCTION]["DISCORD_WEBHOOK"] == ("discord.com", WEBHOOK)
    assert snapshot[PRODUCTION]["STRIPE_KEY"] == ("*.stripe.com", STRIPE)
    assert snapshot[PRODUCTION]["ANALYTICS_KEY"] == (None, PROD_ANALYTICS)
    # One sops call for the file and one AWS call for the secret id, in a run of five rows.
    assert len(sops.calls()) == 1 and aws_sm.calls("GetSecretValue") == 1
    # The state folder holds fingerprints, and its key is in the keyring, not beside them.
    state_dir = Path(os.environ["RBX_SECRETS_STATE_DIR"])
    assert (state_dir / "applied.json").exists()
    assert not (state_dir / "fingerprint.key").exists()
    assert credential_store.load_fingerprint_key(state_dir) is not None

    again = _run(apply=False)
    assert set(_rows(again).values()) == {"unchanged"}
    assert len(sops.calls()) == 2 and aws_sm.calls("GetSecretValue") == 2

    aws_sm.put("prod/stripe", {"key": STRIPE + "-rotated", "unused": "another-value"})
    changed = _run(apply=True)
    assert {k: v for k, v in _rows(changed).items() if v != "unchanged"} == {
        (PRODUCTION, "STRIPE_KEY"): "update"
    }
    assert cloud.fake.snapshot()[PRODUCTION]["STRIPE_KEY"] == ("*.stripe.com", STRIPE + "-rotated")


def test_an_unresolvable_reference_fails_its_secret_alone(
    cloud: Any, sources: tuple[Sops, AwsSecretsManager]
) -> None:
    keyring.delete_password("analytics", "prod")
    plan = _run(apply=False)
    errors = {(c.universe, c.id): c.reason for c in plan.changes if c.action == "error"}
    assert errors == {
        (PRODUCTION, "ANALYTICS_KEY"): (
            "the value cannot be read: keyring:analytics/prod: the system keyring has no entry "
            "for service analytics and user prod"
        )
    }
    assert {c.action for c in plan.changes if c.action != "error"} == {"create"}
