"""A state file of the right version and key, but the wrong shape, verifies nothing.

A list where a universe table should be used to pass the reading checks: ``plan`` ran, ``apply``
wrote the secret, then died with ``TypeError`` while recording it, before reporting done. Now
the shape is checked when the state is read, before any write: the plan says "value not
verifiable", and the next record replaces the malformed file.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.secrets_as_code.state import StateStore
from tests.rbxsecrets_magic.sync_helpers import STAGING, rbx

API = "https://apis.roblox.com"
WHEN = datetime(2026, 11, 27, 7, 15, 1, 809123, tzinfo=UTC)

SHAPES: dict[str, Any] = {
    "api is a list": lambda api: {api: []},
    "api is a string": lambda api: {api: "x"},
    "universe is a list": lambda api: {api: {str(STAGING): []}},
    "universe is a number": lambda api: {api: {str(STAGING): 3}},
    "record is a list": lambda api: {api: {str(STAGING): {"ANALYTICS_KEY": []}}},
    "fingerprint is a number": lambda api: {
        api: {str(STAGING): {"ANALYTICS_KEY": {"fingerprint": 5}}}
    },
    "domain is a table": lambda api: {
        api: {str(STAGING): {"ANALYTICS_KEY": {"fingerprint": "ab", "domain": {}}}}
    },
}


def corrupt(directory: Path, api: str, shape: str) -> None:
    """Keep the file's version and key check, give its records the broken shape."""
    path = directory / "applied.json"
    data = json.loads(path.read_text())
    data["secrets"] = SHAPES[shape](api)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize("shape", SHAPES)
def test_a_malformed_state_verifies_nothing_and_is_rewritten(tmp_path: Path, shape: str) -> None:
    store = StateStore(tmp_path)
    store.record(API, STAGING, "OTHER", "v", domain=None, key_id="1", update_time=WHEN)
    corrupt(tmp_path, API, shape)
    again = StateStore(tmp_path)
    assert again.get(API, STAGING, "ANALYTICS_KEY") is None
    assert again.get(API, STAGING, "OTHER") is None
    assert again.problem is not None
    assert "malformed" in again.problem and str(again.path) in again.problem
    # Recording and forgetting work, and leave a well-formed file.
    again.record(API, STAGING, "ANALYTICS_KEY", "v", domain=None, key_id="1", update_time=WHEN)
    again.forget(API, STAGING, "NOT_THERE")
    fresh = StateStore(tmp_path)
    assert fresh.problem is None
    assert fresh.get(API, STAGING, "ANALYTICS_KEY") is not None


@pytest.mark.parametrize("shape", ["universe is a list", "record is a list"])
def test_apply_on_a_malformed_state_reports_every_write(cloud: Any, shape: str) -> None:
    assert rbx("apply", "--env-file", ".env", "--environment", "staging", "--yes").code == 0
    directory = Path(os.environ["RBX_SECRETS_STATE_DIR"])
    corrupt(directory, cloud.url, shape)
    plan = rbx("plan", "--env-file", ".env", "--environment", "staging", "--json")
    assert plan.code == 0, plan.err
    assert {r["reason"] for r in plan.json["changes"]} == {"value not verifiable"}
    assert "malformed" in plan.err and plan.err.count("\n") == plan.err.count("Planning") + 1
    applied = rbx("apply", "--env-file", ".env", "--environment", "staging", "--yes", "--json")
    assert applied.code == 0, applied.err
    assert {r["result"] for r in applied.json["changes"]} == {"done"}
    assert {r["error"] for r in applied.json["changes"]} == {None}
    after = rbx("plan", "--env-file", ".env", "--environment", "staging", "--json")
    assert {r["action"] for r in after.json["changes"]} == {"unchanged"}
