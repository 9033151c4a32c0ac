"""Plan and apply across two universes against the fake over HTTP, checked through its oracle.

Every test drives ``rbx-secrets`` in-process (``cli.main``) with real HTTP to the fake, and
asserts on what the fake decrypted and on its journal of requests.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic import SecretsClient
from rbxsecrets_magic.opencloud.pacing import Pacer
from rbxsecrets_magic.secrets_as_code.apply import apply_plan
from rbxsecrets_magic.secrets_as_code.plan import make_plan
from rbxsecrets_magic.secrets_as_code.state import StateStore
from rbxsecrets_magic.secrets_as_code.sync import close_clients, load_desired, open_clients
from tests.rbxsecrets_magic.sync_helpers import (
    MANIFEST,
    PRODUCTION,
    STAGING,
    VALUES,
    Terminal,
    rbx,
    write_env,
)

WRITES = ("POST", "PATCH", "DELETE")


def writes(cloud: Any) -> list[tuple[str, str]]:
    return [(e.method, e.path) for e in cloud.fake.journal if e.method in WRITES]


def assert_store_matches(cloud: Any, values: dict[str, str]) -> None:
    """The oracle: every desired secret holds its value and domain, in the right universes."""
    snapshot = cloud.fake.snapshot()
    assert snapshot[STAGING]["DISCORD_WEBHOOK"] == ("discord.com", values["DISCORD_WEBHOOK"])
    assert snapshot[STAGING]["ANALYTICS_KEY"] == (None, values["ANALYTICS_KEY"])
    assert "STRIPE_KEY" not in snapshot[STAGING]
    assert snapshot[PRODUCTION]["DISCORD_WEBHOOK"] == ("discord.com", values["DISCORD_WEBHOOK"])
    assert snapshot[PRODUCTION]["STRIPE_KEY"] == ("*.stripe.com", values["STRIPE_KEY"])
    assert snapshot[PRODUCTION]["ANALYTICS_KEY"] == (None, values["ANALYTICS_KEY"])


def test_plan_apply_replan_and_an_apply_that_writes_nothing(cloud: Any) -> None:
    plan = rbx("plan", "--env-file", ".env", "--json")
    assert plan.code == 0, plan.err
    assert plan.rows() == {
        (STAGING, "DISCORD_WEBHOOK"): {
            "universe": STAGING,
            "environment": "staging",
            "id": "DISCORD_WEBHOOK",
            "action": "create",
            "reason": "",
        },
        (STAGING, "ANALYTICS_KEY"): {
            "universe": STAGING,
            "environment": "staging",
            "id": "ANALYTICS_KEY",
            "action": "create",
            "reason": "",
        },
        (PRODUCTION, "DISCORD_WEBHOOK"): {
            "universe": PRODUCTION,
            "environment": "production",
            "id": "DISCORD_WEBHOOK",
            "action": "create",
            "reason": "",
        },
        (PRODUCTION, "STRIPE_KEY"): {
            "universe": PRODUCTION,
            "environment": "production",
            "id": "STRIPE_KEY",
            "action": "create",
            "reason": "",
        },
        (PRODUCTION, "ANALYTICS_KEY"): {
            "universe": PRODUCTION,
            "environment": "production",
            "id": "ANALYTICS_KEY",
            "action": "create",
            "reason": "",
        },
    }
    assert writes(cloud) == []  # a plan never writes

    applied = rbx("apply", "--env-file", ".env", "--json")
    assert applied.code == 0, applied.err
    assert {(r["action"], r["result"], r["error"]) for r in applied.json["changes"]} == {
        ("create", "done", None)
    }
    assert_store_matches(cloud, VALUES)

    again = rbx("plan", "--env-file", ".env", "--json")
    assert {r["action"] for r in again.json["changes"]} == {"unchanged"}

    cloud.fake.clear_journal()
    noop = rbx("apply", "--env-file", ".env", "--json")
    assert noop.code == 0
    assert {r["result"] for r in noop.json["changes"]} == {"skipped"}
    assert writes(cloud) == []
    # Two requests per universe: one listing, one public key.
    assert sorted(e.operation for e in cloud.fake.journal) == [
        "get_public_key",
        "get_public_key",
        "list_secrets",
        "list_secrets",
    ]


def test_text_plan_has_terraform_markers_and_no_values(cloud: Any) -> None:
    rbx("apply", "--env-file", ".env")
    write_env(Path.cwd(), {**VALUES, "ANALYTICS_KEY": "n3w-v4lue"})
    cloud.fake.put_secret(STAGING, "OLD_TOKEN", "old-v4lue")
    shown = rbx("plan", "--env-file", ".env", "--prune")
    assert shown.code == 0
    lines = shown.out.splitlines()
    assert f"Universe {STAGING} (staging):" in lines
    assert any(line.split()[:3] == ["~", "ANALYTICS_KEY", "update"] for line in lines)
    assert any(line.split()[:3] == ["-", "OLD_TOKEN", "delete"] for line in lines)
    assert any(line.split()[:3] == ["=", "DISCORD_WEBHOOK", "unchanged"] for line in lines)
    assert lines[-1] == ("Plan: 0 to create, 2 to update, 1 to delete, 3 unchanged, 0 kept.")
    for value in (*VALUES.values(), "n3w-v4lue", "old-v4lue"):
        assert value not in shown.out + shown.err


def test_one_value_change_writes_exactly_one_secret_per_universe(cloud: Any) -> None:
    assert rbx("apply", "--env-file", ".env").code == 0
    changed = {**VALUES, "DISCORD_WEBHOOK": "https://discord.com/api/webhooks/2/xyz"}
    write_env(Path.cwd(), changed)
    plan = rbx("plan", "--env-file", ".env", "--json")
    updates = {k: r["reason"] for k, r in plan.rows().items() if r["action"] != "unchanged"}
    assert updates == {
        (STAGING, "DISCORD_WEBHOOK"): "value changed",
        (PRODUCTION, "DISCORD_WEBHOOK"): "value changed",
    }
    cloud.fake.clear_journal()
    assert rbx("apply", "--env-file", ".env").code == 0
    assert writes(cloud) == [
        ("PATCH", f"/cloud/v2/universes/{STAGING}/secrets/DISCORD_WEBHOOK"),
        ("PATCH", f"/cloud/v2/universes/{PRODUCTION}/secrets/DISCORD_WEBHOOK"),
    ]
    assert_store_matches(cloud, changed)


def test_values_from_the_environment_like_ci(cloud: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in VALUES.items():
        monkeypatch.setenv(name, value)
    result = rbx("apply", "--environment", "production", "--json")
    assert result.code == 0, result.err
    assert {r["universe"] for r in result.json["changes"]} == {PRODUCTION}
    assert cloud.fake.secret_ids(STAGING) == []
    snapshot = cloud.fake.snapshot()[PRODUCTION]
    assert {k: v for k, (_d, v) in snapshot.items()} == VALUES


def test_drift_after_a_change_made_with_the_plain_client(cloud: Any) -> None:
    assert rbx("apply", "--env-file", ".env").code == 0
    with SecretsClient(STAGING, api_key=cloud.api_key, base_url=cloud.url) as plain:
        plain.set("ANALYTICS_KEY", "changed-by-hand")
    plan = rbx("plan", "--env-file", ".env", "--json")
    pending = {k: r["reason"] for k, r in plan.rows().items() if r["action"] != "unchanged"}
    assert pending == {(STAGING, "ANALYTICS_KEY"): "changed outside this tool since the last apply"}
    cloud.fake.clear_journal()
    assert rbx("apply", "--env-file", ".env").code == 0
    assert writes(cloud) == [("PATCH", f"/cloud/v2/universes/{STAGING}/secrets/ANALYTICS_KEY")]
    assert cloud.plaintext("ANALYTICS_KEY", STAGING) == VALUES["ANALYTICS_KEY"]


def test_domain_change_and_key_rotation_are_reasons(cloud: Any) -> None:
    assert rbx("apply", "--env-file", ".env").code == 0
    Path("rbxsecrets.toml").write_text(MANIFEST.replace('"discord.com"', '"*.discord.com"'))
    cloud.fake.rotate_key(PRODUCTION)
    rows = rbx("plan", "--env-file", ".env", "--json").rows()
    assert rows[(STAGING, "DISCORD_WEBHOOK")]["reason"] == "domain changed"
    assert rows[(PRODUCTION, "DISCORD_WEBHOOK")]["reason"] == (
        "domain changed, sealed with an old key"
    )
    assert rows[(PRODUCTION, "STRIPE_KEY")]["reason"] == "sealed with an old key"
    listed = rbx("list", "--universe", "production,staging", "--json")
    stale = {(r["universe"], r["id"]): r["stale"] for r in listed.json["secrets"]}
    assert stale[(PRODUCTION, "STRIPE_KEY")] is True
    assert stale[(STAGING, "ANALYTICS_KEY")] is False
    assert rbx("apply", "--env-file", ".env").code == 0
    new_key = cloud.fake.universe(PRODUCTION).key_id
    items = {i["id"]: i for i in cloud.fake.secret_items(PRODUCTION)}
    assert {i["key_id"] for i in items.values()} == {new_key}
    assert items["DISCORD_WEBHOOK"]["domain"] == "*.discord.com"
    assert {r["action"] for r in rbx("plan", "--env-file", ".env", "--json").json["changes"]} == {
        "unchanged"
    }


def test_prune_deletes_only_unprotected_extras(cloud: Any) -> None:
    assert rbx("apply", "--env-file", ".env").code == 0
    cloud.fake.put_secret(STAGING, "LEGACY_TOKEN", "legacy")
    cloud.fake.put_secret(STAGING, "OLD_KEY", "old")
    cloud.fake.put_secret(STAGING, "STRIPE_KEY", "production only")
    cloud.fake.put_secret(PRODUCTION, "KEEP_ME", "kept by --protect")
    without = rbx("plan", "--env-file", ".env", "--json").rows()
    assert without[(STAGING, "OLD_KEY")]["action"] == "keep"
    assert without[(STAGING, "OLD_KEY")]["reason"] == "not managed"
    assert without[(STAGING, "LEGACY_TOKEN")]["reason"] == "protected"

    cloud.fake.clear_journal()
    refused = rbx("apply", "--env-file", ".env", "--prune", "--protect", "KEEP_*")
    assert refused.code == 1
    assert "pass --yes" in refused.err
    assert writes(cloud) == []

    declined = rbx(
        "apply", "--env-file", ".env", "--prune", "--protect", "KEEP_*", stdin=Terminal("n\n")
    )
    assert declined.code == 1
    assert writes(cloud) == []

    done = rbx(
        "apply", "--env-file", ".env", "--prune", "--protect", "KEEP_*", stdin=Terminal("yes\n")
    )
    assert done.code == 0, done.err
    assert sorted(writes(cloud)) == [
        ("DELETE", f"/cloud/v2/universes/{STAGING}/secrets/OLD_KEY"),
        ("DELETE", f"/cloud/v2/universes/{STAGING}/secrets/STRIPE_KEY"),
    ]
    assert cloud.fake.secret_ids(STAGING) == ["ANALYTICS_KEY", "DISCORD_WEBHOOK", "LEGACY_TOKEN"]
    assert "KEEP_ME" in cloud.fake.secret_ids(PRODUCTION)
    assert_store_matches(cloud, VALUES)


def test_missing_state_means_not_verifiable_never_unchanged(cloud: Any, tmp_path: Path) -> None:
    assert rbx("apply", "--env-file", ".env").code == 0
    shutil.rmtree(tmp_path / "state")
    rows = rbx("plan", "--env-file", ".env", "--json").json["changes"]
    assert {(r["action"], r["reason"]) for r in rows} == {("update", "value not verifiable")}
    (tmp_path / "state").mkdir(mode=0o700)
    (tmp_path / "state" / "applied.json").write_text("{not json")
    shown = rbx("plan", "--env-file", ".env", "--json")
    assert {r["reason"] for r in shown.json["changes"]} == {"value not verifiable"}
    assert "not valid JSON" in shown.err


def test_a_secret_without_a_value_fails_alone(cloud: Any) -> None:
    write_env(Path.cwd(), {k: v for k, v in VALUES.items() if k != "STRIPE_KEY"})
    plan = rbx("plan", "--env-file", ".env", "--json")
    assert plan.code == 1
    row = plan.rows()[(PRODUCTION, "STRIPE_KEY")]
    assert row["action"] == "error"
    assert "STRIPE_KEY is not set" in row["reason"]
    applied = rbx("apply", "--env-file", ".env", "--json")
    assert applied.code == 1
    results = {k: r["result"] for k, r in applied.rows().items()}
    assert results.pop((PRODUCTION, "STRIPE_KEY")) == "failed"
    assert set(results.values()) == {"done"}
    assert "STRIPE_KEY" not in cloud.fake.secret_ids(PRODUCTION)


def test_an_invalid_value_is_named_and_never_shown(
    cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    (Path.cwd() / ".env").unlink()
    monkeypatch.setenv("DISCORD_WEBHOOK", "w" * 1100)
    monkeypatch.setenv("ANALYTICS_KEY", "ok-value")
    plan = rbx("plan", "--environment", "staging", "--json")
    assert plan.code == 1
    row = plan.rows()[(STAGING, "DISCORD_WEBHOOK")]
    assert row["action"] == "error" and "DISCORD_WEBHOOK" in row["reason"]
    assert "w" * 30 not in plan.out + plan.err
    assert plan.rows()[(STAGING, "ANALYTICS_KEY")]["action"] == "create"


def test_outcome_unknown_is_never_done_and_not_recorded(cloud: Any, tmp_path: Path) -> None:
    assert rbx("apply", "--env-file", ".env").code == 0
    write_env(tmp_path, {**VALUES, "ANALYTICS_KEY": "second"})
    desired = load_desired(None, env_file=".env", environments=["staging"])
    clients = open_clients(desired.targets, max_retries=0)
    try:
        state = StateStore()
        plan = make_plan(desired, clients, state)
        cloud.fake.inject_fault("update_secret", drop_connection=True)
        report = apply_plan(plan, clients, state)
    finally:
        close_clients(clients)
    (outcome,) = [o for o in report.outcomes if o.change.action == "update"]
    assert outcome.result == "unknown"
    assert not report.ok
    assert StateStore().get(plan.api, STAGING, "ANALYTICS_KEY") is None
    rows = rbx("plan", "--env-file", ".env", "--environment", "staging", "--json").rows()
    assert rows[(STAGING, "ANALYTICS_KEY")]["reason"] == "value not verifiable"


def test_an_interrupted_apply_keeps_what_it_finished(cloud: Any) -> None:
    desired = load_desired(None, env_file=".env")
    clients = open_clients(desired.targets)
    finished: list[str] = []

    def stop_after_two(outcome: Any) -> None:
        finished.append(outcome.change.id)
        if len(finished) == 2:
            raise KeyboardInterrupt

    try:
        state = StateStore()
        with pytest.raises(KeyboardInterrupt):
            apply_plan(make_plan(desired, clients, state), clients, state, progress=stop_after_two)
    finally:
        close_clients(clients)
    rows = rbx("plan", "--env-file", ".env", "--json").json["changes"]
    assert [r["action"] for r in rows] == ["unchanged", "unchanged", "create", "create", "create"]


def test_no_manifest_env_file_alone_with_domain_for_all(cloud: Any) -> None:
    Path("rbxsecrets.toml").unlink()
    result = rbx(
        "apply",
        "--env-file",
        ".env",
        "--universe",
        str(STAGING),
        "--domain",
        "*.example.com",
        "--json",
    )
    assert result.code == 0, result.err
    snapshot = cloud.fake.snapshot()[STAGING]
    assert snapshot == {k: ("*.example.com", v) for k, v in VALUES.items()}
    assert cloud.fake.secret_ids(PRODUCTION) == []


def test_a_bad_manifest_fails_before_any_request(cloud: Any) -> None:
    Path("rbxsecrets.toml").write_text(MANIFEST + "\n[secrets.EXTRA]\nenvironments = ['qa']\n")
    cloud.fake.clear_journal()
    result = rbx("plan", "--env-file", ".env")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "rbxsecrets.toml: [secrets.EXTRA]: unknown environment 'qa'" in result.err
    assert cloud.fake.journal == []


def test_plan_and_report_render_as_html_without_values(cloud: Any) -> None:
    desired = load_desired(None, env_file=".env")
    clients = open_clients(desired.targets)
    try:
        state = StateStore()
        plan = make_plan(desired, clients, state)
        page = plan._repr_html_()
        assert page.startswith("<table>")
        assert f"Universe {STAGING} (staging)" in page and "&#x27;" not in page
        assert page.count("<td style='text-align:left'>+</td>") == 5
        report = apply_plan(plan, clients, state)
    finally:
        close_clients(clients)
    assert report.ok
    assert "<td style='text-align:left'>done</td>" in report._repr_html_()
    for value in VALUES.values():
        assert value not in page + report._repr_html_() + repr(report) + repr(plan)


class FakeTime:
    """One clock for the fake's rate limiter and the client's pacer; sleeping advances it."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept = 0.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept += max(seconds, 0.0)
        self.now += max(seconds, 0.0)


@pytest.mark.parametrize("shared", [True, False])
def test_one_pacer_keeps_all_universes_within_the_shared_limit(
    fake_open_cloud_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shared: bool
) -> None:
    time = FakeTime()
    cloud = fake_open_cloud_factory(
        universes=[STAGING, PRODUCTION], rate_limit=(6, 60.0), clock=time.clock
    )
    monkeypatch.setenv("RBX_API_KEY", cloud.api_key)
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", cloud.url)
    monkeypatch.setenv("RBX_SECRETS_STATE_DIR", str(tmp_path / "state"))
    values = {f"S{i}": f"value-{i}" for i in range(4)}
    write_env(tmp_path, values)
    desired = load_desired(
        None, env_file=str(tmp_path / ".env"), universes=[f"{STAGING},{PRODUCTION}"]
    )
    if shared:
        clients = open_clients(
            desired.targets, pacer=Pacer((6, 60.0), clock=time.clock, sleep=time.sleep)
        )
    else:  # the control: a pacer per client, each believing it has the whole budget
        clients = {
            t.universe_id: SecretsClient(
                t.universe_id, rate_limit=(6, 60.0), clock=time.clock, sleep=time.sleep
            )
            for t in desired.targets
        }
    try:
        state = StateStore()
        report = apply_plan(make_plan(desired, clients, state), clients, state)
    finally:
        close_clients(clients)
    assert report.ok
    for universe in (STAGING, PRODUCTION):
        assert {s: cloud.plaintext(s, universe) for s in values} == values
    throttled = [e for e in cloud.fake.journal if e.status == 429]
    assert len(cloud.fake.journal) - len(throttled) == 2 * (2 + len(values))
    if shared:
        assert throttled == []
        # 12 requests, a burst of 6, then one per 10 s of the fake clock.
        assert time.slept == pytest.approx(60.0, abs=1.0)
    else:
        assert throttled


def test_a_bad_value_in_the_env_file_fails_only_that_secret(cloud: Any) -> None:
    too_long = "q" * 1025
    write_env(Path("."), {**VALUES, "STRIPE_KEY": too_long})
    result = rbx("apply", "--env-file", ".env", "--json")
    assert result.code == 1
    rows = result.rows()
    assert rows[(PRODUCTION, "STRIPE_KEY")]["action"] == "error"
    assert rows[(PRODUCTION, "STRIPE_KEY")]["result"] == "failed"
    assert "STRIPE_KEY" in rows[(PRODUCTION, "STRIPE_KEY")]["reason"]
    assert "q" * 20 not in result.out + result.err
    assert cloud.fake.secret_ids(PRODUCTION) == ["ANALYTICS_KEY", "DISCORD_WEBHOOK"]
    assert cloud.plaintext("DISCORD_WEBHOOK", PRODUCTION) == VALUES["DISCORD_WEBHOOK"]


def test_the_deletion_question_names_at_most_ten_secrets() -> None:
    from rbxsecrets_magic.secrets_as_code.plan import Change, Plan

    rows = [Change(STAGING, f"OLD_{i:02d}", "delete") for i in range(12)]
    rows.append(Change(STAGING, "KEPT", "keep", "protected"))
    question = Plan(rows, (), "").deletion_question()
    assert question.startswith(f"Delete 12 secret(s): OLD_00 ({STAGING}), OLD_01 ({STAGING}),")
    assert question.endswith(f"OLD_09 ({STAGING}) and 2 more?")
    assert "OLD_10" not in question and "KEPT" not in question
