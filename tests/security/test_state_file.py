"""The apply state under a permissive umask and with symlinks planted where its files go.

Files were already 0600 and the state directory 0700, but ``mkdir(parents=True)`` made the
missing parents (``~/.local/state`` on a fresh machine) 0777 minus the umask: under ``umask
0`` anyone could swap the state directory out. And the lock was opened following symlinks, so
a symlink planted at ``applied.lock`` made every run create the file it points to.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rbxsecrets_magic.secrets_as_code.state import StateStore

VALUE = "v4lue-S3CRET-in-state"
WHEN = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture
def permissive_umask() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def record(store: StateStore) -> None:
    store.record(
        "https://apis.roblox.com", 1, "TOKEN", VALUE, domain=None, key_id="1", update_time=WHEN
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def test_every_file_and_directory_made_is_private_under_umask_0(
    tmp_path: Path, permissive_umask: None
) -> None:
    home = tmp_path / "home"
    directory = home / ".local" / "state" / "rbxsecrets-magic"
    record(StateStore(directory))
    made = [home, home / ".local", home / ".local" / "state", directory]
    assert {str(p.relative_to(tmp_path)): mode(p) for p in made} == {
        str(p.relative_to(tmp_path)): 0o700 for p in made
    }
    files = sorted(directory.iterdir())
    assert [f.name for f in files] == ["applied.json", "applied.lock", "fingerprint.key"]
    assert all(mode(f) == 0o600 for f in files)
    assert all(VALUE not in f.read_text() for f in files)
    assert StateStore(directory).verifies(
        StateStore(directory).get("https://apis.roblox.com", 1, "TOKEN"),  # type: ignore[arg-type]
        "https://apis.roblox.com",
        1,
        "TOKEN",
        VALUE,
    )


def test_a_symlink_planted_at_the_state_file_is_replaced_not_followed(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (directory / "applied.json").symlink_to(victim)
    store = StateStore(directory)
    assert store.problem == f"the state file {directory / 'applied.json'} is not valid JSON"
    record(store)
    assert victim.read_text() == "keep me"
    assert not (directory / "applied.json").is_symlink()
    assert mode(directory / "applied.json") == 0o600


def test_a_symlink_planted_at_the_lock_is_not_followed(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    directory.mkdir(mode=0o700)
    target = tmp_path / "created-through-the-link"
    (directory / "applied.lock").symlink_to(target)
    with pytest.raises(OSError):  # the callers treat it as "state not recorded"
        record(StateStore(directory))
    assert not target.exists()
    assert not (directory / "applied.json").exists()
