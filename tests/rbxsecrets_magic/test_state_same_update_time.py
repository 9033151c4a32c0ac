"""Two writes of one secret that Roblox answers with the same ``update_time``.

The state matches a secret by its ``update_time``; two writes in the same tick share it, so when
their records landed in the opposite order (two ``rbx-secrets set`` at once), the state vouched
for the value that lost: ``plan`` said ``unchanged`` and ``apply`` skipped it. Now a record that
meets another of the same ``update_time`` and a different fingerprint makes the secret "value
not verifiable", and an older record never replaces a newer one.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rbxsecrets_magic.opencloud.client import SecretsClient
from rbxsecrets_magic.secrets_as_code.state import StateStore
from tests.rbxsecrets_magic.sync_helpers import STAGING, VALUES, rbx

API = "https://apis.roblox.com"
WHEN = datetime(2026, 11, 27, 7, 15, 1, 809123, tzinfo=UTC)


def record(store: StateStore, value: str, when: datetime) -> None:
    store.record(API, 1, "TOKEN", value, domain=None, key_id="1", update_time=when)


def verified(store: StateStore, value: str, when: datetime) -> bool:
    applied = store.get(API, 1, "TOKEN")
    return (
        applied is not None
        and applied.matches(None, "1", when)
        and store.verifies(applied, API, 1, "TOKEN", value)
    )


def test_two_values_with_one_update_time_verify_neither(tmp_path: Path) -> None:
    for first, second in (("won", "lost"), ("lost", "won")):
        store = StateStore(tmp_path / first)
        record(store, first, WHEN)
        record(StateStore(tmp_path / first), second, WHEN)
        again = StateStore(tmp_path / first)
        assert again.problem is None
        assert not verified(again, "won", WHEN)
        assert not verified(again, "lost", WHEN)
        # A later write settles it.
        record(again, "later", WHEN + timedelta(microseconds=1))
        assert verified(StateStore(tmp_path / first), "later", WHEN + timedelta(microseconds=1))


def test_the_same_value_twice_with_one_update_time_still_verifies(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    record(store, "same", WHEN)
    record(store, "same", WHEN)
    assert verified(StateStore(tmp_path), "same", WHEN)


def test_an_older_record_landing_late_never_replaces_a_newer_one(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    record(store, "newer", WHEN + timedelta(milliseconds=1))
    record(store, "older", WHEN)  # its run was slower to record
    again = StateStore(tmp_path)
    assert verified(again, "newer", WHEN + timedelta(milliseconds=1))
    assert not verified(again, "older", WHEN)


def test_plan_never_calls_the_losing_value_unchanged(cloud: Any) -> None:
    """Two runs wrote ANALYTICS_KEY at once: the server kept the other run's value."""
    desired = VALUES["ANALYTICS_KEY"]
    with SecretsClient(STAGING, api_key=cloud.api_key, base_url=cloud.url) as client:
        client.set("ANALYTICS_KEY", desired)
        result = client.set("ANALYTICS_KEY", "the-other-runs-value")
    info = result.info
    assert info is not None and info.update_time is not None
    assert cloud.plaintext("ANALYTICS_KEY", STAGING) == "the-other-runs-value"
    # Both writes were answered in the same tick; the records landed winner first.
    state = StateStore(os.environ["RBX_SECRETS_STATE_DIR"])
    for value in ("the-other-runs-value", desired):
        state.record(
            cloud.url,
            STAGING,
            "ANALYTICS_KEY",
            value,
            domain=info.domain,
            key_id=info.key_id,
            update_time=info.update_time,
        )
    plan = rbx("plan", "--env-file", ".env", "--environment", "staging", "--json")
    assert plan.rows()[(STAGING, "ANALYTICS_KEY")]["action"] == "update"
    assert plan.rows()[(STAGING, "ANALYTICS_KEY")]["reason"] == "value not verifiable"
    assert rbx("apply", "--env-file", ".env", "--environment", "staging", "--yes").code == 0
    assert cloud.plaintext("ANALYTICS_KEY", STAGING) == desired
