"""``keyring:`` references and the credential store, on a real Secret Service (gnome-keyring)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import keyring
import pytest

from rbxsecrets_magic.credentials import store as credential_store
from rbxsecrets_magic.credentials import system_keyring
from rbxsecrets_magic.errors import KeyringEntryError, KeyringUnavailableError
from rbxsecrets_magic.settings import Credential
from rbxsecrets_magic.value_sources import ResolutionContext
from tests.rbxsecrets_magic.value_sources.real_parts import SecretService

VALUE = "keyring-held-value-0123456789"
API_KEY = "rbx-api-key-AbCdEf0123456789xyz"


def test_a_keyring_reference_reads_the_secret_service(secret_service: SecretService) -> None:
    assert system_keyring.backend_name() == "SecretService"
    keyring.set_password("stripe", "prod/live", VALUE)
    context = ResolutionContext()
    assert context.resolve("keyring:stripe/prod/live").reveal() == VALUE
    assert {"service": "stripe", "username": "prod/live"}.items() <= secret_service.items()[
        0
    ].items()


def test_a_missing_entry_names_service_and_user(secret_service: SecretService) -> None:
    with pytest.raises(KeyringEntryError) as caught:
        ResolutionContext().resolve("keyring:stripe/nobody")
    assert str(caught.value) == (
        "keyring:stripe/nobody: the system keyring has no entry for service stripe and user nobody"
    )
    assert (caught.value.service, caught.value.username) == ("stripe", "nobody")
    with pytest.raises(KeyringEntryError, match="write keyring:SERVICE/USERNAME"):
        ResolutionContext().resolve("keyring:stripe")


def test_without_a_keyring_a_reference_says_so_in_one_line(no_keyring: None) -> None:
    with pytest.raises(KeyringEntryError) as caught:
        ResolutionContext().resolve("keyring:stripe/prod")
    message = str(caught.value)
    assert message.startswith("keyring:stripe/prod: no system keyring is available here")
    assert "env:" in message and "\n" not in message


def test_a_login_is_kept_per_base_url_and_removed(secret_service: SecretService) -> None:
    url = "https://apis.roblox.com/"
    assert credential_store.load_login(url) is None
    credential_store.save_login(url, Credential("api key", API_KEY))
    credential_store.save_login("http://127.0.0.1:8080", Credential("OAuth token", "oauth-tok"))
    found = credential_store.load_login("https://APIS.roblox.com")
    assert found is not None and (found.kind, found.secret) == ("api key", API_KEY)
    other = credential_store.load_login("http://127.0.0.1:8080/")
    assert other is not None and other.kind == "OAuth token"
    accounts = sorted(item["username"] for item in secret_service.items())
    assert accounts == ["http://127.0.0.1:8080", "https://apis.roblox.com"]
    assert {item["service"] for item in secret_service.items()} == {"rbxsecrets-magic"}
    # The entry names its kind; what is stored for one URL never answers for another.
    assert json.loads(keyring.get_password("rbxsecrets-magic", "https://apis.roblox.com"))[
        "kind"
    ] == ("api_key")
    assert credential_store.delete_login(url) is True
    assert credential_store.delete_login(url) is False
    assert credential_store.load_login(url) is None
    assert credential_store.load_login("http://127.0.0.1:8080") is not None


def test_a_malformed_entry_is_no_login(secret_service: SecretService) -> None:
    keyring.set_password("rbxsecrets-magic", "https://apis.roblox.com", "not json")
    assert credential_store.load_login("https://apis.roblox.com") is None


def test_without_a_keyring_logins_say_so_and_suggest_the_environment(no_keyring: None) -> None:
    for call in (
        lambda: credential_store.save_login("https://apis.roblox.com", Credential("api key", "k")),
        lambda: credential_store.load_login("https://apis.roblox.com"),
        lambda: credential_store.delete_login("https://apis.roblox.com"),
    ):
        with pytest.raises(KeyringUnavailableError) as caught:
            call()
        message = str(caught.value)
        assert message.startswith("no system keyring is available here")
        assert "set RBX_API_KEY (or RBX_OAUTH_TOKEN) in the environment instead" in message
        assert "\n" not in message


def test_no_keyring_is_detected_in_a_fresh_process_without_d_bus(tmp_path: Path) -> None:
    # What a container or CI gets: keyring's own detection, no stand-in backend.
    code = (
        "from rbxsecrets_magic.credentials import store as credential_store\n"
        "try:\n"
        "    credential_store.load_login('https://apis.roblox.com')\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "XDG_RUNTIME_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.startswith("KeyringUnavailableError no system keyring is available here")


def test_the_fingerprint_key_is_kept_per_state_folder(
    secret_service: SecretService, tmp_path: Path
) -> None:
    key = bytes(range(32))
    assert credential_store.load_fingerprint_key(tmp_path / "state") is None
    credential_store.save_fingerprint_key(tmp_path / "state", key)
    assert credential_store.load_fingerprint_key(tmp_path / "state") == key
    assert credential_store.load_fingerprint_key(tmp_path / "other") is None
    (item,) = secret_service.items()
    assert item["username"] == f"fingerprint-key {(tmp_path / 'state').resolve()}"
    with pytest.raises(ValueError, match="32 bytes"):
        credential_store.save_fingerprint_key(tmp_path / "state", b"short")


def test_a_new_state_folder_keeps_its_fingerprint_key_in_the_keyring(
    secret_service: SecretService, tmp_path: Path
) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    seam = credential_store.keyring_fingerprint_key
    assert seam(folder, create=False, has_file=False) is None
    key = seam(folder, create=True, has_file=False)
    assert key is not None and len(key) == 32
    assert seam(folder, create=False, has_file=False) == key
    assert credential_store.load_fingerprint_key(folder) == key
    assert sorted(p.name for p in folder.iterdir()) == ["keyring-key.lock"]  # no key file
    # Opting out, or a folder that already has a key file, uses the file.
    assert (
        seam(folder, create=True, has_file=False, environ={"RBX_SECRETS_KEY_STORE": "file"}) is None
    )
    other = tmp_path / "old-state"
    other.mkdir(mode=0o700)
    assert seam(other, create=True, has_file=True) is None
    assert credential_store.load_fingerprint_key(other) is None


def test_first_runs_at_once_agree_on_one_key(secret_service: SecretService, tmp_path: Path) -> None:
    folder = tmp_path / "state"
    folder.mkdir(mode=0o700)
    code = (
        "import sys\n"
        "from rbxsecrets_magic.credentials import store\n"
        "print(store.keyring_fingerprint_key(sys.argv[1], create=True, has_file=False).hex())\n"
    )
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(folder)], stdout=subprocess.PIPE, text=True
        )
        for _ in range(4)
    ]
    keys = {run.communicate(timeout=60)[0].strip() for run in runs}
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert len(secret_service.items()) == 1


def test_without_a_keyring_the_state_uses_its_file(no_keyring: None, tmp_path: Path) -> None:
    assert credential_store.keyring_fingerprint_key(tmp_path, create=True, has_file=False) is None
