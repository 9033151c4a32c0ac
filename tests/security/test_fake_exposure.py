"""The fake's command line keeps its API key off the process list.

``ps`` shows every local user each process's command line, so ``--api-key demo-key`` hands the
key that reads plaintexts from ``/_fake/`` to all of them: the key comes from a file or the
environment, and the option still works but says so on stderr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from fakeserver.cli import ENV_API_KEY, main

KEY = "exposure-test-key-0123456789abcdefghij"
pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="reads /proc/PID/cmdline")


class Running:
    """A ``python -m fakeserver`` process, its first line and its command line as ``ps`` sees it."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "fakeserver", "--expose-plaintext", "--universe-id", "7", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**{k: v for k, v in os.environ.items() if k != ENV_API_KEY}, **env},
        )
        assert self.proc.stdout is not None
        self.ready: dict[str, Any] = json.loads(self.proc.stdout.readline())
        self.cmdline = Path(f"/proc/{self.proc.pid}/cmdline").read_bytes().decode()

    def status(self, key: str) -> int:
        url = f"{self.ready['url']}/_fake/universes/7/servers"
        return requests.get(url, headers={"x-api-key": key}, timeout=5).status_code

    def stop(self) -> str:
        """Stop it; return its stderr."""
        self.proc.send_signal(signal.SIGTERM)
        _, err = self.proc.communicate(timeout=10)
        return err


@pytest.fixture
def start() -> Iterator[Any]:
    started: list[Running] = []

    def run(args: list[str], env: dict[str, str] | None = None) -> Running:
        started.append(Running(args, env or {}))
        return started[-1]

    yield run
    for running in started:
        if running.proc.poll() is None:
            running.proc.kill()
            running.proc.communicate()


def test_key_from_a_file_is_not_on_the_command_line(start: Any, tmp_path: Path) -> None:
    path = tmp_path / "fake-key"
    path.write_text(KEY + "\n")
    path.chmod(0o600)
    fake = start(["--api-key-file", str(path)])
    assert KEY not in fake.cmdline and str(path) in fake.cmdline
    assert fake.ready["api_key"] == KEY  # its line ending dropped
    assert fake.status(KEY) == 200
    assert fake.status("some-other-key-0123456789abcdefghij") == 401
    assert fake.stop() == ""


def test_key_from_the_environment(start: Any) -> None:
    fake = start([], {ENV_API_KEY: KEY})
    assert KEY not in fake.cmdline
    assert fake.status(KEY) == 200
    assert fake.stop() == ""


def test_key_on_the_command_line_warns(start: Any) -> None:
    fake = start(["--api-key", KEY])
    assert fake.status(KEY) == 200
    warning = fake.stop().strip().splitlines()
    assert len(warning) == 1 and "--api-key-file" in warning[0] and ENV_API_KEY in warning[0]
    assert KEY not in warning[0]


def test_unreadable_key_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no-such-key"
    assert main(["--api-key-file", str(missing)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.strip().splitlines() == [
        f"rbx-fakeserver: cannot read --api-key-file {missing}: No such file or directory"
    ]


def test_a_file_and_the_option_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--api-key-file", "k", "--api-key", KEY])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
