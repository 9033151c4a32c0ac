"""``%rbx_secret_sync``'s logic (``sync_magic.run_sync``) and manifest-aware ``--universe``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic import SecretsClient
from rbxsecrets_magic.errors import DeclinedError
from rbxsecrets_magic.ipython.sync_magic import (
    SyncOptions,
    manifest_for_magics,
    resolve_universe_option,
    run_sync,
)
from rbxsecrets_magic.operations.interaction import Interaction
from rbxsecrets_magic.operations.sync import SyncReport
from rbxsecrets_magic.secrets_as_code.apply import ApplyReport
from rbxsecrets_magic.secrets_as_code.manifest import Manifest, ManifestError, Target
from rbxsecrets_magic.secrets_as_code.plan import Plan
from tests.rbxsecrets_magic.sync_helpers import PRODUCTION, STAGING, VALUES


class Bar:
    def __init__(self) -> None:
        self.count = 0

    def update(self, n: int) -> None:
        self.count += n


def sync(
    cloud: Any, options: SyncOptions, *, answer: bool | None = None, default: int | None = None
) -> tuple[Plan | SyncReport, list[Any], list[Bar]]:
    shown: list[Any] = []
    bars: list[Bar] = []

    @contextmanager
    def progress_bar(total: int, desc: str) -> Iterator[Bar]:
        bar = Bar()
        bars.append(bar)
        yield bar

    def client_for(universe: int) -> SecretsClient:
        return SecretsClient(universe, api_key=cloud.api_key, base_url=cloud.url)

    result = run_sync(
        options,
        configured_manifest="",
        default_universe=default,
        client_for=client_for,
        show=shown.append,
        interaction=Interaction(ask=lambda _q: answer, progress=progress_bar),
    )
    return result, shown, bars


def test_dry_run_shows_the_plan_and_writes_nothing(cloud: Any) -> None:
    result, shown, bars = sync(cloud, SyncOptions(env_file=".env", dry_run=True))
    assert isinstance(result, Plan) and shown == [result]
    assert [c.action for c in result.changes] == ["create"] * 5
    assert cloud.fake.secret_ids(STAGING) == [] and bars == []


def test_sync_applies_with_a_progress_bar_then_nothing_to_do(cloud: Any) -> None:
    result, shown, bars = sync(cloud, SyncOptions(env_file=".env", environment="production"))
    assert isinstance(result, SyncReport) and result.ok
    assert [type(s) for s in shown] == [Plan, ApplyReport]
    assert bars[0].count == 3
    assert {k: v for k, (_d, v) in cloud.fake.snapshot()[PRODUCTION].items()} == VALUES
    again, _shown, bars = sync(cloud, SyncOptions(env_file=".env", environment="production"))
    assert isinstance(again, Plan) and not again.pending and bars == []


def test_deletions_need_a_yes(cloud: Any) -> None:
    cloud.fake.put_secret(STAGING, "OLD", "x")
    options = SyncOptions(env_file=".env", universe="staging", prune=True)
    # The operations never name an option: the magic adds "add --yes" (test_magics_sync.py).
    with pytest.raises(DeclinedError, match="nothing can ask"):
        sync(cloud, options, answer=None)
    with pytest.raises(DeclinedError, match="not confirmed"):
        sync(cloud, options, answer=False)
    assert cloud.fake.secret_ids(STAGING) == ["OLD"]
    result, _shown, _bars = sync(cloud, options, answer=True)
    assert isinstance(result, SyncReport) and result.ok
    assert cloud.fake.secret_ids(STAGING) == ["ANALYTICS_KEY", "DISCORD_WEBHOOK"]


def test_the_configured_universe_is_the_default(cloud: Any) -> None:
    result, _shown, _bars = sync(cloud, SyncOptions(env_file=".env", dry_run=True), default=STAGING)
    assert isinstance(result, Plan)
    assert {c.universe for c in result.changes} == {STAGING}


def test_universe_option_takes_names_and_comma_lists(tmp_path: Path, cloud: Any) -> None:
    manifest = manifest_for_magics("")
    assert manifest is not None
    assert resolve_universe_option("staging, 99", manifest, None) == [
        Target(STAGING, "staging"),
        Target(99, None),
    ]
    assert resolve_universe_option(None, manifest, PRODUCTION) == [Target(PRODUCTION, "production")]
    assert resolve_universe_option(None, None, None) == []
    assert resolve_universe_option("5,6", None, None) == [Target(5), Target(6)]
    with pytest.raises(ManifestError):
        resolve_universe_option("staging", Manifest(path=None), None)
