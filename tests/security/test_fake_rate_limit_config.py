"""Issue 8, item 14: a rate limit whose count or window is not a finite positive number is refused.

``--rate-limit 1/inf`` used to be accepted and then made every request a 500 (a zero refill
rate divides by zero); the refusal now comes at construction, or as a usage error (exit 2).
"""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import fakeserver
from fakeserver import FakeOpenCloud

ROOT = Path(fakeserver.__file__).resolve().parents[1]

BAD_PAIRS = [
    (1, math.inf),
    (1, -math.inf),
    (1, math.nan),
    (1, 0),
    (1, -1.0),
    (0, 60.0),
    (-3, 60.0),
    (math.inf, 60.0),
    (math.nan, 60.0),
    (2.5, 60.0),
    (10**400, 60.0),
    (1, 1e308 * 10),
    (10**300, 1e-300),  # a refill rate that is not a finite number
]


IDS = [
    f"{type(limit).__name__}-{window}"
    if isinstance(limit, int) and limit > 10**6
    else f"{limit}-{window}"
    for limit, window in BAD_PAIRS
]


@pytest.mark.parametrize(("limit", "window"), BAD_PAIRS, ids=IDS)
def test_fake_open_cloud_refuses_a_bad_rate_limit(limit: object, window: object) -> None:
    with pytest.raises(ValueError, match="rate limit"):
        FakeOpenCloud(rate_limit=(limit, window))  # type: ignore[arg-type]


@pytest.mark.parametrize(("limit", "window"), BAD_PAIRS, ids=IDS)
def test_set_rate_limit_refuses_and_keeps_the_previous_one(limit: object, window: object) -> None:
    fake = FakeOpenCloud(rate_limit=(5, 60.0))
    with pytest.raises(ValueError, match="rate limit"):
        fake.set_rate_limit(limit, window)  # type: ignore[arg-type]
    assert fake.rate_limit == (5, 60.0)


@pytest.mark.parametrize(("limit", "window"), [(1, 1e-9), (10**6, 1e6), (120, 60), (3.0, 1)])
def test_edge_rate_limits_that_are_fine_still_answer(limit: float, window: float) -> None:
    fake = FakeOpenCloud(rate_limit=(limit, window))  # type: ignore[arg-type]
    universe = fake.add_universe()
    key = fake.add_api_key()
    with fake.serve() as server:
        url = f"{server.url}/cloud/v2/universes/{universe.universe_id}/secrets/public-key"
        statuses = {requests.get(url, headers=key.headers, timeout=10).status_code for _ in "ab"}
    assert statuses <= {200, 429}
    assert 200 in statuses


@pytest.mark.parametrize(
    "text", ["1/inf", "1/Infinity", "1/nan", "1/1e999", "1/0", "0/60", "1/-5", "inf/60", "1", "x/y"]
)
def test_cli_refuses_a_bad_rate_limit_with_a_usage_error(text: str) -> None:
    # A subprocess, so that a refusal that does not happen shows as a server that keeps
    # running (killed after the timeout) instead of hanging the test run.
    try:
        done = subprocess.run(
            [sys.executable, "-m", "fakeserver", "--rate-limit", text],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"--rate-limit {text} was accepted: the fake started serving")
    assert done.returncode == 2
    assert done.stdout == ""
    assert "--rate-limit" in done.stderr
    assert "Traceback" not in done.stderr
