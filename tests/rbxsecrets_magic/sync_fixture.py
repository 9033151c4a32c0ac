"""The ``cloud`` fixture: two universes on the fake, the environment pointed at it.

A pytest plugin: ``pytest_plugins = ["tests.rbxsecrets_magic.sync_fixture"]``. Values and
the manifest are written in the test's own working directory; the state goes to a directory of
its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rbxsecrets_magic.sync_helpers import MANIFEST, PRODUCTION, STAGING, VALUES, write_env


@pytest.fixture
def cloud(fake_open_cloud_factory: Any, monkeypatch: pytest.MonkeyPatch,
          tmp_path: Path) -> Iterator[Any]:
    handle = fake_open_cloud_factory(universes=[STAGING, PRODUCTION])
    for name in ("RBX_UNIVERSE_ID", "RBX_OAUTH_TOKEN", *VALUES):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RBX_API_KEY", handle.api_key)
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", handle.url)
    monkeypatch.setenv("RBX_SECRETS_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "rbxsecrets.toml").write_text(MANIFEST, encoding="utf-8")
    write_env(tmp_path, VALUES)
    yield handle
