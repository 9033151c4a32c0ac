"""Issue 8, B7: reading a value or a .env file is bounded in memory, time and kind of file.

``--from-file`` reads at most what a valid value can take plus one byte; a device, a FIFO or a
directory is refused without being opened for a blocking read; a .env file over the size no
valid file reaches, or with more entries than a universe holds, is refused; a valid file of 500
entries of the longest form is still read. Reads that could hang run in a subprocess with a
deadline, so a regression fails instead of hanging the suite.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from rbxsecrets_magic.errors import ValueSourceError
from rbxsecrets_magic.values import (
    MAX_ENV_FILE_BYTES,
    MAX_ENV_FILE_ENTRIES,
    read_env_file,
    read_value,
)

REPO = Path(__file__).parents[2]


def _read_in_subprocess(option: str, path: str) -> str:
    """Run read_value or read_env_file on ``path`` in a child with 512 MiB of memory at most."""
    code = (
        "import resource, sys\n"
        "resource.setrlimit(resource.RLIMIT_AS, (512 << 20, 512 << 20))\n"
        "from rbxsecrets_magic.values import read_env_file, read_value\n"
        "from rbxsecrets_magic.errors import ValueSourceError\n"
        "try:\n"
        f"    if {option!r} == 'env': read_env_file(sys.argv[1])\n"
        "    else: read_value(from_file=sys.argv[1])\n"
        "except ValueSourceError as exc:\n"
        "    print('REFUSED:', exc)\n"
        "else:\n"
        "    print('READ')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code, path], capture_output=True, text=True, timeout=30, env=env
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"reading {path} did not finish in 30 s")
    return done.stdout + done.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")
@pytest.mark.parametrize("option", ["value", "env"])
def test_a_device_is_refused(option: str) -> None:
    output = _read_in_subprocess(option, "/dev/zero")
    assert output.startswith("REFUSED:") and "not a regular file" in output, output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
@pytest.mark.parametrize("option", ["value", "env"])
def test_a_fifo_is_refused_without_blocking(tmp_path: Path, option: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    output = _read_in_subprocess(option, str(fifo))
    assert output.startswith("REFUSED:") and "not a regular file" in output, output


def test_a_huge_value_file_is_not_read_whole(tmp_path: Path) -> None:
    big = tmp_path / "big"
    with big.open("wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MiB of NULs without using the disk
    tracemalloc.start()
    try:
        with pytest.raises(ValueSourceError, match="longer than"):
            read_value(from_file=str(big))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_the_longest_valid_value_file_is_read(tmp_path: Path) -> None:
    # 1,024 four-byte characters, a byte order mark and a CRLF: the most a valid file holds.
    value = "\U0001f512" * 1024
    (tmp_path / "v").write_bytes(b"\xef\xbb\xbf" + value.encode() + b"\r\n")
    assert read_value(from_file=str(tmp_path / "v")).reveal() == value
    (tmp_path / "w").write_bytes(value.encode() + b"x")
    assert len(read_value(from_file=str(tmp_path / "w"))) == 1025  # validate says


def test_an_env_file_over_the_cap_is_refused_before_reading(tmp_path: Path) -> None:
    env = tmp_path / "big.env"
    with env.open("w") as file:
        line = "# " + "c" * 97 + "\n"
        file.write(line * (MAX_ENV_FILE_BYTES // len(line) + 1))
    tracemalloc.start()
    try:
        with pytest.raises(ValueSourceError, match="larger than"):
            read_env_file(str(env))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


def test_an_env_file_with_more_entries_than_a_universe_holds_is_refused(tmp_path: Path) -> None:
    # 100,000 short lines, 1.3 MB: under the size cap, but no universe holds that many.
    env = tmp_path / "many.env"
    env.write_text("".join(f"K{i}=v{i}\n" for i in range(100_000)))
    with pytest.raises(ValueSourceError, match=f"more than {MAX_ENV_FILE_ENTRIES}"):
        read_env_file(str(env))


def test_the_largest_valid_env_file_is_read(tmp_path: Path) -> None:
    # 500 entries of the longest form: export, a 64-character name, a quoted value of
    # 1,024 four-byte characters, CRLF. The cap must leave room for it (and comments).
    value = "\U0001f512" * 1024
    lines = [f'export S{i:03d}{"x" * 60}="{value}"\r\n' for i in range(500)]
    text = "".join(lines)
    assert len(text.encode()) <= MAX_ENV_FILE_BYTES // 2
    env = tmp_path / "full.env"
    env.write_bytes(text.encode())
    values = read_env_file(str(env))
    assert len(values) == 500 and set(values.values()) == {value}


class _EndlessPipe(io.StringIO):
    """A pipe that never ends (like `yes |` or /dev/zero): a read without a size never returns."""

    def isatty(self) -> bool:
        return False

    def read(self, size: int | None = -1) -> str:
        if size is None or size < 0:
            raise AssertionError("read the whole endless stream")
        return "y" * size


def test_cli_stdin_reads_at_most_one_value_and_refuses_a_longer_one(
    fake_open_cloud: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rbxsecrets_magic.cli.app import Console, main

    monkeypatch.setenv("RBX_API_KEY", fake_open_cloud.api_key)
    monkeypatch.setenv("RBX_OPEN_CLOUD_URL", fake_open_cloud.url)
    err = io.StringIO()
    console = Console(stdout=io.StringIO(), stderr=err, stdin=_EndlessPipe())
    universe = str(fake_open_cloud.universe_id)
    code = main(["set", "API_TOKEN", "--stdin", "--universe", universe], console)
    assert code == 2
    assert "longer than 1024 characters" in err.getvalue()
    assert "yyyyyyyy" not in err.getvalue()
    assert fake_open_cloud.fake.secret_ids(fake_open_cloud.universe_id) == []
