"""Fixtures for the value-source tests, on real parts (see ``real_parts.py``).

Registered for the whole suite by ``tests/conftest.py`` (the security tests use them too).

``sops``: an age key and the sops program, with ``SOPS_AGE_KEY_FILE`` set and
``RBX_SECRETS_SOPS`` pointing at the counting wrapper. ``aws_sm``: moto's server (one per
session, emptied for each test) with the AWS environment pointing at it and fake credentials, so
nothing real is reached. ``secret_service``: gnome-keyring-daemon on a private D-Bus session
(one per session, emptied for each test), with ``DBUS_SESSION_BUS_ADDRESS`` set for the test
and the keyring library made to choose its backend again. ``no_keyring``: the environment of
a container: no D-Bus session, so the keyring library finds no backend.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rbxsecrets_magic.value_sources.real_parts import (
    AwsSecretsManager,
    SecretService,
    Sops,
    require_module,
    reset_keyring_library,
)


@pytest.fixture
def sops(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sops:
    """sops with a fresh age key; decryptions go through the counting wrapper."""
    folder = tmp_path / "sops"
    folder.mkdir()
    parts = Sops(folder)
    for var in ("SOPS_AGE_KEY", "SOPS_AGE_KEY_CMD", "SOPS_AGE_SSH_PRIVATE_KEY_FILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SOPS_AGE_KEY_FILE", str(parts.key_file))
    monkeypatch.setenv("RBX_SECRETS_SOPS", str(parts.wrapper))
    return parts


@pytest.fixture(scope="session")
def _aws_server() -> Iterator[AwsSecretsManager]:
    require_module("moto", "moto[server], in the test extra")
    server = AwsSecretsManager()
    yield server
    server.stop()


@pytest.fixture
def aws_sm(
    _aws_server: AwsSecretsManager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AwsSecretsManager:
    """moto's Secrets Manager, empty, and this test's AWS environment pointing only at it."""
    for var in (
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL_SECRETS_MANAGER",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
    ):
        monkeypatch.delenv(var, raising=False)
    for var, value in _aws_server.environment(tmp_path).items():
        monkeypatch.setenv(var, value)
    _aws_server.reset()
    return _aws_server


@pytest.fixture(scope="session")
def _secret_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecretService]:
    service = SecretService(tmp_path_factory.mktemp("secret-service"))
    yield service
    service.stop()


@pytest.fixture
def secret_service(_secret_service: SecretService) -> Iterator[SecretService]:
    """An empty Secret Service that the keyring library (and child processes) use."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DBUS_SESSION_BUS_ADDRESS", _secret_service.address)
        patch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME"):
            patch.setenv(var, _secret_service.env[var])
        _secret_service.clear()
        reset_keyring_library()
        yield _secret_service
        _secret_service.clear()
    reset_keyring_library()


@pytest.fixture
def no_keyring(tmp_path: Path) -> Iterator[None]:
    """A process environment without any keyring: no D-Bus session, as in a container."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
        patch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
        patch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
        patch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "no-runtime"))
        reset_keyring_library()
        yield
    reset_keyring_library()
