"""The applied-state file: keyed fingerprints only, 0600, atomic, and useless without its key."""

from __future__ import annotations

import hashlib
import os
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rbxsecrets_magic.secrets_as_code.state import StateStore, default_state_dir

API = "https://apis.roblox.com"
WHEN = datetime(2026, 11, 27, 7, 15, 1, 809000, tzinfo=UTC)
VALUE = "sk_live_very_secret_value"


def record(store: StateStore, secret_id: str = "STRIPE_KEY", value: str = VALUE) -> None:
    store.record(
        API, 1234567, secret_id, value, domain="*.stripe.com", key_id="1", update_time=WHEN
    )


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_default_directory(tmp_path: Path) -> None:
    assert default_state_dir({"RBX_SECRETS_STATE_DIR": str(tmp_path)}) == tmp_path
    assert default_state_dir({"XDG_STATE_HOME": "/x/state"}) == Path("/x/state/rbxsecrets-magic")
    assert default_state_dir({}) == Path.home() / ".local/state/rbxsecrets-magic"
    # A relative XDG_STATE_HOME is invalid per the spec and ignored.
    assert default_state_dir({"XDG_STATE_HOME": "rel"}) == (
        Path.home() / ".local/state/rbxsecrets-magic"
    )


@pytest.mark.skipif(os.name != "posix", reason="POSIX permissions")
def test_files_are_private_and_hold_no_value(tmp_path: Path) -> None:
    # Even with a umask that would leave everything open, the files end up private.
    old = os.umask(0)
    try:
        store = StateStore(tmp_path / "state")
        record(store)
    finally:
        os.umask(old)
    directory = tmp_path / "state"
    assert mode(directory) == 0o700
    assert mode(directory / "applied.json") == 0o600
    assert mode(directory / "fingerprint.key") == 0o600
    text = (directory / "applied.json").read_text()
    assert VALUE not in text
    # No unkeyed hash of the value either.
    for digest in (hashlib.sha256, hashlib.sha1, hashlib.md5, hashlib.sha512):
        assert digest(VALUE.encode()).hexdigest() not in text
    assert [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


def test_a_fresh_store_verifies_what_was_recorded(tmp_path: Path) -> None:
    record(StateStore(tmp_path))
    again = StateStore(tmp_path)
    applied = again.get(API, 1234567, "STRIPE_KEY")
    assert applied is not None
    assert applied.matches("*.stripe.com", "1", WHEN)
    assert not applied.matches("*.stripe.com", "2", WHEN)
    assert not applied.matches("*.stripe.com", "1", WHEN.replace(microsecond=810000))
    assert again.verifies(applied, API, 1234567, "STRIPE_KEY", VALUE)
    assert not again.verifies(applied, API, 1234567, "STRIPE_KEY", VALUE + "x")
    # Bound to where it was applied: the same value elsewhere has another fingerprint.
    assert again.get(API, 7654321, "STRIPE_KEY") is None
    assert again.get("http://127.0.0.1:8000", 1234567, "STRIPE_KEY") is None


def test_fingerprints_differ_per_universe_for_the_same_value(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    store.record(API, 1, "A", VALUE, domain=None, key_id="1", update_time=WHEN)
    store.record(API, 2, "A", VALUE, domain=None, key_id="1", update_time=WHEN)
    one, two = store.get(API, 1, "A"), store.get(API, 2, "A")
    assert one is not None and two is not None
    assert one.fingerprint != two.fingerprint


def test_a_lost_key_makes_the_state_verify_nothing(tmp_path: Path) -> None:
    record(StateStore(tmp_path))
    (tmp_path / "fingerprint.key").unlink()
    store = StateStore(tmp_path)
    assert store.get(API, 1234567, "STRIPE_KEY") is None
    assert store.problem is not None and "another fingerprint key" in store.problem
    # Writing again starts a new key and a new state, which then verifies.
    record(store, "OTHER")
    fresh = StateStore(tmp_path)
    assert fresh.problem is None
    assert fresh.get(API, 1234567, "STRIPE_KEY") is None
    assert fresh.get(API, 1234567, "OTHER") is not None


@pytest.mark.parametrize("content", ["{broken", '{"version": 99}', '["a"]', ""])
def test_unreadable_state_verifies_nothing(tmp_path: Path, content: str) -> None:
    record(StateStore(tmp_path))
    (tmp_path / "applied.json").write_text(content)
    store = StateStore(tmp_path)
    assert store.get(API, 1234567, "STRIPE_KEY") is None
    assert store.problem


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = StateStore(tmp_path)
    record(store, "FIRST")
    before = (tmp_path / "applied.json").read_bytes()

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        record(store, "SECOND")
    monkeypatch.undo()
    assert (tmp_path / "applied.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_two_stores_do_not_lose_each_others_records(tmp_path: Path) -> None:
    first, second = StateStore(tmp_path), StateStore(tmp_path)
    record(first, "A")
    record(second, "B")
    record(first, "C")
    merged = StateStore(tmp_path)
    assert all(merged.get(API, 1234567, s) is not None for s in "ABC")


def test_forget_drops_a_record(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    record(store, "A")
    record(store, "B")
    store.forget(API, 1234567, "A")
    again = StateStore(tmp_path)
    assert again.get(API, 1234567, "A") is None
    assert again.get(API, 1234567, "B") is not None
    StateStore(tmp_path / "nothing-here").forget(API, 1, "A")  # no state: nothing to do
    assert not (tmp_path / "nothing-here").exists()


def test_repr_shows_no_key(tmp_path: Path) -> None:
    store = StateStore(tmp_path)
    record(store)
    key = (tmp_path / "fingerprint.key").read_text().strip()
    assert key not in repr(store)
