"""The fingerprint key: made whole or not at all, durably, and a broken one is named.

It used to be created (``O_EXCL``), then written, never fsynced: a second run starting at the
same moment read it empty and lost its record, and a crash could leave it empty for good, after
which every apply rewrote everything and reported only ``(OSError)``.
"""

from __future__ import annotations

import multiprocessing
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.secrets_as_code.state import StateError, StateStore
from tests.rbxsecrets_magic.sync_helpers import STAGING, VALUES, rbx

API = "https://apis.roblox.com"
WHEN = datetime(2026, 11, 27, 7, 15, 1, 809123, tzinfo=UTC)
RUNS = 6
ROUNDS = 4


def record(store: StateStore, secret_id: str) -> None:
    store.record(API, 1, secret_id, "v-" + secret_id, domain=None, key_id="1", update_time=WHEN)


def _first_run(directory: str, secret_id: str, barrier: object, failures: object) -> None:
    store = StateStore(directory)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        record(store, secret_id)
    except OSError as exc:
        failures.put(f"{secret_id}: {exc}")  # type: ignore[attr-defined]


@pytest.mark.skipif(os.name != "posix", reason="fork start method")
def test_first_runs_at_once_all_keep_their_records(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    for round_ in range(ROUNDS):
        directory = tmp_path / f"state-{round_}"
        barrier, failures = context.Barrier(RUNS), context.Queue()
        names = [f"S{i}" for i in range(RUNS)]
        runs = [
            context.Process(target=_first_run, args=(str(directory), name, barrier, failures))
            for name in names
        ]
        for run in runs:
            run.start()
        for run in runs:
            run.join(30)
        errors = []
        while not failures.empty():
            errors.append(failures.get())
        assert errors == []
        merged = StateStore(directory)
        assert merged.problem is None
        assert [n for n in names if merged.get(API, 1, n) is None] == []
        assert [p.name for p in directory.iterdir() if p.name.endswith(".tmp")] == []


def test_the_key_is_fsynced_before_it_appears_and_its_folder_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    if not Path("/proc/self/fd").is_dir():
        pytest.skip("needs /proc to name file descriptors")
    monkeypatch.setattr(os, "fsync", spy)
    directory = tmp_path / "state"
    record(StateStore(directory), "A")
    key = str(directory / "fingerprint.key")
    # The key's bytes are synced under a temporary name (so nobody ever sees it half
    # written), then the folder is, so the name survives a crash.
    temp = [i for i, p in enumerate(synced) if Path(p).name.startswith(".fingerprint-")]
    folder = [i for i, p in enumerate(synced) if p == str(directory)]
    assert temp and folder and temp[0] < folder[0]
    assert key not in synced[: temp[0]]


@pytest.mark.parametrize(
    ("content", "reason"),
    [("", "is empty"), ("abc123\n", "is not a key"), ("zz" * 32, "is not a key")],
)
def test_a_broken_key_is_named_with_what_to_do(tmp_path: Path, content: str, reason: str) -> None:
    directory = tmp_path / "state"
    record(StateStore(directory), "A")
    key = directory / "fingerprint.key"
    key.write_text(content)
    store = StateStore(directory)
    assert store.get(API, 1, "A") is None
    assert store.problem is not None
    assert str(key) in store.problem and reason in store.problem
    assert "delete it" in store.problem
    with pytest.raises(StateError) as caught:
        record(store, "B")
    message = str(caught.value)
    assert str(key) in message and reason in message and "\n" not in message
    assert key.read_text() == content  # never replaced behind the user's back


def test_a_state_that_cannot_be_saved_names_the_path_and_the_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    directory = tmp_path / "state"
    store = StateStore(directory)
    record(store, "A")

    def full(src: object, dst: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(StateError) as caught:
        record(store, "B")
    assert str(directory) in str(caught.value)
    assert "No space left on device" in str(caught.value)


def test_apply_with_a_broken_key_names_it_on_every_row(cloud: Any) -> None:
    """Every row is written and says why its state was not saved, not ``(OSError)``."""
    directory = Path(os.environ["RBX_SECRETS_STATE_DIR"])
    directory.mkdir(mode=0o700)
    key = directory / "fingerprint.key"
    key.write_text("")  # what a crash between create and write used to leave
    key.chmod(0o600)
    result = rbx("apply", "--env-file", ".env", "--yes", "--json")
    assert result.code == 0, result.err
    rows = result.json["changes"]
    assert {r["result"] for r in rows} == {"done"}
    for row in rows:
        assert str(key) in row["error"] and "is empty" in row["error"], row["error"]
    assert cloud.plaintext("ANALYTICS_KEY", STAGING) == VALUES["ANALYTICS_KEY"]
