"""Settings and fixtures shared by the whole suite.

Hypothesis runs derandomized in CI. The shell fixtures serve the magics' tests and the security
tests alike: ``shell`` is a fresh ``InteractiveShell`` with ``%load_ext rbxsecrets_magic`` done
and no ``RBX_*`` configuration (history kept in SQLite under ``tmp_path``, outputs too);
``cloud_shell`` is the same shell pointed at a served fake; ``cloud`` is two universes on the
fake (the manifest's staging and production) with the environment pointed at it, for the
secrets-as-code tests: values and the manifest are written in the test's own working directory,
the state goes to a directory of its own. The classes behind them are in
``tests/rbxsecrets_magic/support.py``.
"""

from __future__ import annotations

import atexit
import getpass
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

from rbxsecrets_magic.settings import ENV_VARS
from tests.rbxsecrets_magic.support import MagicShell, Prompt
from tests.rbxsecrets_magic.sync_helpers import MANIFEST, PRODUCTION, STAGING, VALUES, write_env
from tests.rbxsecrets_magic.value_sources.fixtures import (  # noqa: F401 - fixtures, registered
    _aws_server,
    _secret_service,
    aws_sm,
    no_keyring,
    secret_service,
    sops,
)

# No test reaches a developer's real system keyring (logins, the state's fingerprint key): the
# keyring library's own "no keyring" backend, unless a test's secret_service fixture (a private
# gnome-keyring) or no_keyring fixture (keyring's own detection, without D-Bus) says otherwise.
os.environ.setdefault("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")

# CI must give the same verdict on every run: derandomized examples, no example database
# carried between runs. Locally, Hypothesis explores new examples each time.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture
def shell(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Iterator[MagicShell]:
    """A fresh InteractiveShell with the extension loaded and no RBX_* configuration."""
    for var in ENV_VARS:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    prompt = Prompt()
    monkeypatch.setattr(getpass, "getpass", prompt)
    config = Config()
    config.HistoryManager.hist_file = str(tmp_path / "history.sqlite")
    config.HistoryManager.db_log_output = True
    InteractiveShell.clear_instance()
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "rbxsecrets_magic")
    capsys.readouterr()
    yield MagicShell(ip, prompt, capsys)
    # Close history (stops its saving thread) now rather than at interpreter exit.
    atexit.unregister(ip.atexit_operations)
    ip.atexit_operations()
    ip.cleanup()
    InteractiveShell.clear_instance()


@pytest.fixture
def cloud_shell(
    shell: MagicShell, fake_open_cloud: Any, monkeypatch: pytest.MonkeyPatch
) -> MagicShell:
    """``shell`` configured against the served fake: universe, URL, API key in the env."""
    monkeypatch.setenv("RBX_API_KEY", fake_open_cloud.api_key)
    shell.ok(f"%config RbxSecretsMagics.base_url = {fake_open_cloud.url!r}")
    shell.ok(f"%config RbxSecretsMagics.universe_id = {fake_open_cloud.universe_id}")
    shell.ok("%config RbxSecretsMagics.max_retries = 1")
    shell.cloud = fake_open_cloud  # type: ignore[attr-defined]
    return shell


@pytest.fixture
def cloud(
    fake_open_cloud_factory: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Any]:
    """Two universes on a served fake, with RBX_* and the working directory set up for them."""
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
