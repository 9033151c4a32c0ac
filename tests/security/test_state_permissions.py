"""A state folder or fingerprint key that others can read or write is refused, as ssh does.

The key sits beside the fingerprints: whoever can read both can try every short value offline
(a 6-digit one in about a second). An existing folder or key with loose permissions used to be
used silently; now the state verifies nothing, every write to it fails, and the one-line reason
names the path and the ``chmod`` that fixes it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rbxsecrets_magic.secrets_as_code.state import StateError, StateStore

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")

API = "https://apis.roblox.com"
VALUE = "482913"  # short enough to brute-force from its fingerprint with the key
WHEN = datetime(2026, 11, 27, 7, 15, 1, 809123, tzinfo=UTC)


def record(store: StateStore, secret_id: str = "PIN") -> None:
    store.record(API, 1, secret_id, VALUE, domain=None, key_id="1", update_time=WHEN)


def made(tmp_path: Path) -> Path:
    directory = tmp_path / "state"
    record(StateStore(directory))
    return directory


@pytest.mark.parametrize("loose", [0o755, 0o750, 0o730, 0o703, 0o777], ids=oct)
def test_a_folder_others_can_enter_is_refused_with_the_chmod_that_fixes_it(
    tmp_path: Path, loose: int
) -> None:
    directory = made(tmp_path)
    directory.chmod(loose)
    store = StateStore(directory)
    assert store.get(API, 1, "PIN") is None  # verifies nothing
    assert store.problem is not None
    assert "\n" not in store.problem
    assert str(directory) in store.problem
    assert f"chmod 700 {directory}" in store.problem
    assert f"{loose:04o}" in store.problem
    with pytest.raises(StateError) as caught:
        record(store, "OTHER")
    assert f"chmod 700 {directory}" in str(caught.value)
    # Nothing was added beside the fingerprints while the folder was open.
    directory.chmod(0o700)
    fixed = StateStore(directory)
    assert fixed.problem is None
    assert fixed.get(API, 1, "PIN") is not None
    assert fixed.get(API, 1, "OTHER") is None


@pytest.mark.parametrize("loose", [0o644, 0o640, 0o620, 0o604, 0o666], ids=oct)
def test_a_key_others_can_read_or_write_is_refused(tmp_path: Path, loose: int) -> None:
    directory = made(tmp_path)
    key = directory / "fingerprint.key"
    key.chmod(loose)
    store = StateStore(directory)
    assert store.get(API, 1, "PIN") is None
    assert store.problem is not None
    assert f"chmod 600 {key}" in store.problem
    with pytest.raises(StateError) as caught:
        record(store, "OTHER")
    assert f"chmod 600 {key}" in str(caught.value)
    assert "\n" not in str(caught.value)
    key.chmod(0o600)
    assert StateStore(directory).get(API, 1, "PIN") is not None


def test_a_key_that_is_a_symlink_is_refused(tmp_path: Path) -> None:
    directory = made(tmp_path)
    key = directory / "fingerprint.key"
    elsewhere = tmp_path / "elsewhere.key"
    key.rename(elsewhere)
    key.symlink_to(elsewhere)
    store = StateStore(directory)
    assert store.problem is not None and str(key) in store.problem
    assert store.get(API, 1, "PIN") is None


def test_the_state_file_of_a_loose_folder_is_not_even_read(tmp_path: Path) -> None:
    directory = made(tmp_path)
    directory.chmod(0o777)
    (directory / "applied.json").write_text("[1, 2")  # would be another problem if read
    store = StateStore(directory)
    assert store.problem is not None and "chmod 700" in store.problem


def test_a_fifo_planted_at_the_key_is_refused_without_hanging(tmp_path: Path) -> None:
    directory = made(tmp_path)
    key = directory / "fingerprint.key"
    key.unlink()
    os.mkfifo(key, 0o600)
    store = StateStore(directory)  # would block in open() if it waited for a writer
    assert store.problem is not None and "is not a file" in store.problem
